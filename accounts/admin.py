"""The admin for researchers: every data model, never users and groups (those stay with admins)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from accounts.roles import user_is_researcher
from accounts.validation import StorableJSONFormField


class ResearcherAdmin(admin.ModelAdmin):
    """Researchers get full access to Demur's data; Django's per-model permissions are not used,
    so nobody has to tick boxes after adding a researcher."""

    # JSON typed into the admin meets the API's limits (accounts/validation.py).
    formfield_overrides = {models.JSONField: {"form_class": StorableJSONFormField}}

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
