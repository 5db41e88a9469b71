"""Status changes shared by generation runs and judge runs.

Every change is one conditional UPDATE on the status, so two workers (or a worker and a person
pressing Cancel) can race without either overwriting the other's outcome. A run that ends or
starts over forgets its outstanding chunks, so their doorbells do nothing.
"""

from __future__ import annotations

from django.db.models import Model
from django.utils import timezone

from inference.models import Chunk, RunStatus

UNFINISHED = (RunStatus.PENDING, RunStatus.RUNNING)
# Runs that start over from pending. A running run is resumed in place instead
# (inference.chunks.chunks_top_up): starting it over would forget its live chunks, and the work
# under way in them would be queued and done a second time.
RESUMABLE = (RunStatus.FAILED, RunStatus.CANCELLED)

# The kind of chunk each job model queues (inference.chunks.JOB_KIND_MODULES).
CHUNK_KINDS = {"inference.generationrun": "generation", "judging.judgerun": "judging"}


def chunk_kind(model: type[Model]) -> str:
    return CHUNK_KINDS[model._meta.label_lower]


def forget_chunks(model: type[Model], pk: int) -> None:
    Chunk.objects.filter(kind=chunk_kind(model), job_id=pk).delete()


def status_claim(model: type[Model], pk: int) -> bool:
    """pending -> running; False when another process claimed it first."""
    return bool(
        model._default_manager.filter(pk=pk, status=RunStatus.PENDING).update(
            status=RunStatus.RUNNING, started_at=timezone.now(), error=""
        )
    )


def status_finish(model: type[Model], pk: int) -> bool:
    finished = bool(
        model._default_manager.filter(pk=pk, status=RunStatus.RUNNING).update(
            status=RunStatus.DONE, finished_at=timezone.now()
        )
    )
    if finished:
        forget_chunks(model, pk)
    return finished


def status_fail(model: type[Model], pk: int, reason: str) -> bool:
    failed = bool(
        model._default_manager.filter(pk=pk, status__in=UNFINISHED).update(
            status=RunStatus.FAILED, error=reason, finished_at=timezone.now()
        )
    )
    if failed:
        forget_chunks(model, pk)
    return failed


def status_cancel(model: type[Model], pk: int) -> bool:
    cancelled = bool(
        model._default_manager.filter(pk=pk, status__in=UNFINISHED).update(
            status=RunStatus.CANCELLED, finished_at=timezone.now()
        )
    )
    if cancelled:
        forget_chunks(model, pk)
    return cancelled


def status_reopen(model: type[Model], pk: int) -> bool:
    """failed / cancelled -> pending, to be claimed and dispatched again; the dispatch queues
    what is missing afresh."""
    reopened = bool(
        model._default_manager.filter(pk=pk, status__in=RESUMABLE).update(
            status=RunStatus.PENDING, finished_at=None
        )
    )
    if reopened:
        forget_chunks(model, pk)
    return reopened
