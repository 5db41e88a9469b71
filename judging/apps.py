from __future__ import annotations

from django.apps import AppConfig


class JudgingConfig(AppConfig):
    name = "judging"
    verbose_name = "Judging"

    def ready(self) -> None:
        from inference.models import GenerationRun
        from judging.models import JudgeRun
        from judging.services import judge_run_judge_chunk, judge_runs_after_generation
        from judging.uploads import VERDICTS_UPLOAD_KIND
        from runs.chunks import run_kind_register
        from runs.signals import run_finished
        from uploads.registry import upload_kind_register

        run_kind_register(JudgeRun, judge_run_judge_chunk)
        upload_kind_register(VERDICTS_UPLOAD_KIND)
        run_finished.connect(
            judge_runs_after_generation, sender=GenerationRun, dispatch_uid="judging.judges_after"
        )
