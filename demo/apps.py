from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """`make demo`'s seed data (`seed_demo`) and the handler that opens its annotation campaign.
    The handler acts only on runs the demo started itself, as its own account, so a deployment
    that never runs `make demo` sees nothing of it."""

    name = "demo"
    verbose_name = "Demo"

    def ready(self) -> None:
        from demo.services import demo_campaign_on_run_finished
        from inference.models import GenerationRun
        from runs.signals import run_finished

        # The demo's annotation campaign opens as soon as SmolLM2 has answered.
        run_finished.connect(
            demo_campaign_on_run_finished,
            sender=GenerationRun,
            dispatch_uid="demo_campaign_on_run_finished",
        )
