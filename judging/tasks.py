"""Celery tasks of judging; the same shape as inference's (DESIGN.md 4)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from inference.chunks import execute_chunk
from judging.services import judge_run_fail, judge_run_judge_chunk


def _judge(task: Any, judge_run_id: int, response_ids: list[int]) -> None:
    execute_chunk(
        task,
        work=lambda: judge_run_judge_chunk(judge_run_id=judge_run_id, response_ids=response_ids),
        fail=lambda reason: judge_run_fail(judge_run_id=judge_run_id, reason=reason),
    )


@shared_task(bind=True, acks_late=True, name="judging.tasks.judge_chunk_local")
def judge_chunk_local(self: Any, judge_run_id: int, response_ids: list[int]) -> None:
    _judge(self, judge_run_id, response_ids)


@shared_task(bind=True, acks_late=True, name="judging.tasks.judge_chunk_remote")
def judge_chunk_remote(self: Any, judge_run_id: int, response_ids: list[int]) -> None:
    _judge(self, judge_run_id, response_ids)
