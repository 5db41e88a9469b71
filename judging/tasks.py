"""How the chunk queue (inference/chunks.py) judges: the work of a judge run's chunk."""

from __future__ import annotations

from celery import shared_task

from inference.chunks import DEFAULT_QUEUE, GPU_QUEUE, JobKind, chunks_queue
from judging.models import JudgeRun
from judging.services import judge_run_fail, judge_run_judge_chunk

JOB_KIND = JobKind(
    name="judging",
    model=JudgeRun,
    work=lambda judge_run_id, response_ids: judge_run_judge_chunk(
        judge_run_id=judge_run_id, response_ids=response_ids
    ),
    fail=lambda judge_run_id, reason: judge_run_fail(judge_run_id=judge_run_id, reason=reason),
)


# Messages of the previous design (one per chunk, carrying the ids), still in a queue when
# Demur is upgraded: their ids join the chunk queue instead of being lost.
@shared_task(name="judging.tasks.judge_chunk_local")
def judge_chunk_local(judge_run_id: int, response_ids: list[int]) -> None:
    chunks_queue(kind="judging", job_id=judge_run_id, queue=GPU_QUEUE, item_ids=response_ids)


@shared_task(name="judging.tasks.judge_chunk_remote")
def judge_chunk_remote(judge_run_id: int, response_ids: list[int]) -> None:
    chunks_queue(kind="judging", job_id=judge_run_id, queue=DEFAULT_QUEUE, item_ids=response_ids)
