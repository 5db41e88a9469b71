"""Celery tasks of inference. Generation is done by the chunk queue's one task
(runs/tasks.py), which calls inference.services.generation_run_generate_chunk; what is left here
are the messages of the previous design."""

from __future__ import annotations

from celery import shared_task

from inference.models import GenerationRun
from runs.chunks import DEFAULT_QUEUE, GPU_QUEUE, chunks_queue

KIND = GenerationRun.chunk_kind


# Messages of the previous design (one per chunk, carrying the ids), still in a queue when
# Demur is upgraded: their ids join the chunk queue instead of being lost.
@shared_task(name="inference.tasks.generate_chunk_local")
def generate_chunk_local(run_id: int, prompt_ids: list[int]) -> None:
    chunks_queue(kind=KIND, job_id=run_id, queue=GPU_QUEUE, item_ids=prompt_ids)


@shared_task(name="inference.tasks.generate_chunk_remote")
def generate_chunk_remote(run_id: int, prompt_ids: list[int]) -> None:
    chunks_queue(kind=KIND, job_id=run_id, queue=DEFAULT_QUEUE, item_ids=prompt_ids)
