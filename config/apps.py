from __future__ import annotations

from django.apps import AppConfig


class DemurConfig(AppConfig):
    """The project package as an app, so that its system checks are registered."""

    name = "config"
    verbose_name = "Demur"

    def ready(self) -> None:
        from config import checks  # noqa: F401 - registers the deployment checks
