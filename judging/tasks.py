"""Celery tasks of judging. Judging is done by the chunk queue's one task (runs/tasks.py), which
calls judging.services.judge_run_judge_chunk; what is left here are the messages of the
previous design."""

from __future__ import annotations

from celery import shared_task

from judging.models import JudgeRun
from runs.chunks import DEFAULT_QUEUE, GPU_QUEUE, chunks_queue

KIND = JudgeRun.chunk_kind


# Messages of the previous design (one per chunk, carrying the ids), still in a queue when
# Demur is upgraded: their ids join the chunk queue instead of being lost.
@shared_task(name="judging.tasks.judge_chunk_local")
def judge_chunk_local(judge_run_id: int, response_ids: list[int]) -> None:
    chunks_queue(kind=KIND, job_id=judge_run_id, queue=GPU_QUEUE, item_ids=response_ids)


@shared_task(name="judging.tasks.judge_chunk_remote")
def judge_chunk_remote(judge_run_id: int, response_ids: list[int]) -> None:
    chunks_queue(kind=KIND, job_id=judge_run_id, queue=DEFAULT_QUEUE, item_ids=response_ids)
