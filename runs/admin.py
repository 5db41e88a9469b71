from __future__ import annotations

from django.contrib import admin

from accounts.admin import ResearcherAdmin
from runs.models import Chunk


@admin.register(Chunk)
class ChunkAdmin(ResearcherAdmin):
    """The outstanding work queue, for looking into a stuck run; a done chunk's row is gone."""

    list_display = ["id", "kind", "job_id", "queue", "state", "attempts", "worker", "heartbeat_at"]
    list_filter = ["kind", "queue", "state"]
    search_fields = ["worker"]
