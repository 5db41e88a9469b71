from __future__ import annotations

from django.apps import AppConfig


class JudgingConfig(AppConfig):
    name = "judging"
    verbose_name = "Judging"

    def ready(self) -> None:
        from inference.signals import generation_run_finished
        from judging.services import judge_runs_after_generation

        generation_run_finished.connect(
            judge_runs_after_generation, dispatch_uid="judging.judges_after"
        )
