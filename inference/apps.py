from __future__ import annotations

from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
    verbose_name = "Inference"

    def ready(self) -> None:
        from inference.models import GenerationRun
        from inference.services import generation_run_generate_chunk
        from runs.chunks import run_kind_register

        run_kind_register(GenerationRun, generation_run_generate_chunk)
