"""The admin for researchers: every data model, never users and groups (those stay with admins)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from config.roles import user_is_researcher


class ResearcherAdmin(admin.ModelAdmin):
    """Researchers get full access to Demur's data; Django's per-model permissions are not used,
    so nobody has to tick boxes after adding a researcher."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return user_is_researcher(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return user_is_researcher(request.user)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return user_is_researcher(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return user_is_researcher(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return user_is_researcher(request.user)
