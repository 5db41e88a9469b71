from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API: serializers and views over the other apps' services and selectors. It has
    no tables of its own."""

    name = "api"
    verbose_name = "API"
