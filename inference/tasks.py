"""Celery tasks of inference. They take ids, skip what exists and call services (DESIGN.md 4).

``run_next_chunk`` is the one task that does work: its message is a doorbell for a queue, and
it takes the oldest queued chunk there, of a generation run or a judge run
(inference/chunks.py). Local models run on workers of the `gpu` queue, HTTP backends on
`default`.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from inference.chunks import (
    DEFAULT_QUEUE,
    GPU_QUEUE,
    JobKind,
    chunk_claim,
    chunk_execute,
    chunks_queue,
)
from inference.models import GenerationRun
from inference.services import generation_run_fail, generation_run_generate_chunk

JOB_KIND = JobKind(
    name="generation",
    model=GenerationRun,
    work=lambda run_id, prompt_ids: generation_run_generate_chunk(
        run_id=run_id, prompt_ids=prompt_ids
    ),
    fail=lambda run_id, reason: generation_run_fail(run_id=run_id, reason=reason),
)


@shared_task(bind=True, acks_late=True, name="inference.tasks.run_next_chunk")
def run_next_chunk(self: Any, queue: str, chunk_id: int | None = None, attempts: int = 0) -> None:
    worker = str(self.request.hostname or "")
    chunk = chunk_claim(queue=queue, worker=worker, chunk_id=chunk_id, attempts=attempts)
    if chunk is not None:
        chunk_execute(chunk)


# Messages of the previous design (one per chunk, carrying the ids), still in a queue when
# Demur is upgraded: their ids join the chunk queue instead of being lost.
@shared_task(name="inference.tasks.generate_chunk_local")
def generate_chunk_local(run_id: int, prompt_ids: list[int]) -> None:
    chunks_queue(kind="generation", job_id=run_id, queue=GPU_QUEUE, item_ids=prompt_ids)


@shared_task(name="inference.tasks.generate_chunk_remote")
def generate_chunk_remote(run_id: int, prompt_ids: list[int]) -> None:
    chunks_queue(kind="generation", job_id=run_id, queue=DEFAULT_QUEUE, item_ids=prompt_ids)
