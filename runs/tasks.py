"""The one task that does work: a doorbell for a queue. It takes the oldest queued chunk there,
of any kind of run, and does it with the service its app registered (runs/chunks.py)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from runs.chunks import NEXT_CHUNK_TASK, chunk_claim, chunk_execute


@shared_task(bind=True, acks_late=True, name=NEXT_CHUNK_TASK)
def run_next_chunk(self: Any, queue: str, chunk_id: int | None = None, attempts: int = 0) -> None:
    worker = str(self.request.hostname or "")
    chunk = chunk_claim(queue=queue, worker=worker, chunk_id=chunk_id, attempts=attempts)
    if chunk is not None:
        chunk_execute(chunk)
