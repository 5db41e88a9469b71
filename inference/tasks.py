"""Celery tasks of inference. They take ids, skip what exists and call services (DESIGN.md 4).

Two names for one body, so that settings route them: models loaded in the worker go to the
`gpu` queue, HTTP backends to `default`.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from inference.chunks import execute_chunk
from inference.services import generation_run_fail, generation_run_generate_chunk


def _generate(task: Any, run_id: int, prompt_ids: list[int]) -> None:
    execute_chunk(
        task,
        work=lambda: generation_run_generate_chunk(run_id=run_id, prompt_ids=prompt_ids),
        fail=lambda reason: generation_run_fail(run_id=run_id, reason=reason),
    )


@shared_task(bind=True, acks_late=True, name="inference.tasks.generate_chunk_local")
def generate_chunk_local(self: Any, run_id: int, prompt_ids: list[int]) -> None:
    _generate(self, run_id, prompt_ids)


@shared_task(bind=True, acks_late=True, name="inference.tasks.generate_chunk_remote")
def generate_chunk_remote(self: Any, run_id: int, prompt_ids: list[int]) -> None:
    _generate(self, run_id, prompt_ids)
