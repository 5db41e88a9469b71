from __future__ import annotations

from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
    verbose_name = "Inference"

    def ready(self) -> None:
        from inference.models import GenerationRun
        from inference.services import generation_run_generate_chunk
        from inference.uploads import RESPONSES_UPLOAD_KIND
        from runs.chunks import run_kind_register
        from uploads.registry import upload_kind_register

        run_kind_register(GenerationRun, generation_run_generate_chunk)
        upload_kind_register(RESPONSES_UPLOAD_KIND)
