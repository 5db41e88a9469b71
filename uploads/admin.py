from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.admin import ResearcherAdmin
from uploads.models import Upload


@admin.register(Upload)
class UploadAdmin(ResearcherAdmin):
    """Uploads and what came of them, for looking into one that went wrong. Read only: an
    upload is made by sending a file, and its row is the worker's to change."""

    list_display = ["id", "kind", "status", "created_by", "created_at", "finished_at"]
    list_filter = ["kind", "status"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
