from __future__ import annotations

from django.apps import AppConfig


class RunsConfig(AppConfig):
    """What generation runs and judge runs share: the abstract run model and its status changes,
    the chunk queue that workers take work from, the phases a person watches, one error base."""

    name = "runs"
    verbose_name = "Runs"
