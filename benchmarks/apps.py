from __future__ import annotations

from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    name = "benchmarks"
    verbose_name = "Benchmarks"

    def ready(self) -> None:
        from benchmarks.uploads import BENCHMARK_UPLOAD_KIND
        from uploads.registry import upload_kind_register

        upload_kind_register(BENCHMARK_UPLOAD_KIND)
