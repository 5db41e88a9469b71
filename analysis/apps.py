from __future__ import annotations

from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "analysis"
    verbose_name = "Analysis"

    def ready(self) -> None:
        from analysis.demo import demo_campaign_on_run_finished
        from inference.signals import generation_run_finished

        # The demo's annotation campaign opens as soon as SmolLM2 has answered.
        generation_run_finished.connect(
            demo_campaign_on_run_finished, dispatch_uid="demo_campaign_on_run_finished"
        )
