"""Status changes shared by generation runs and judge runs.

Every change is one conditional UPDATE on the status, so two workers (or a worker and a person
pressing Cancel) can race without either overwriting the other's outcome.
"""

from __future__ import annotations

from django.db.models import Model
from django.utils import timezone

from inference.models import RunStatus

UNFINISHED = (RunStatus.PENDING, RunStatus.RUNNING)
RESUMABLE = (RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.RUNNING)


def status_claim(model: type[Model], pk: int) -> bool:
    """pending -> running; False when another process claimed it first."""
    return bool(
        model._default_manager.filter(pk=pk, status=RunStatus.PENDING).update(
            status=RunStatus.RUNNING, started_at=timezone.now(), error=""
        )
    )


def status_finish(model: type[Model], pk: int) -> bool:
    return bool(
        model._default_manager.filter(pk=pk, status=RunStatus.RUNNING).update(
            status=RunStatus.DONE, finished_at=timezone.now()
        )
    )


def status_fail(model: type[Model], pk: int, reason: str) -> bool:
    return bool(
        model._default_manager.filter(pk=pk, status__in=UNFINISHED).update(
            status=RunStatus.FAILED, error=reason, finished_at=timezone.now()
        )
    )


def status_cancel(model: type[Model], pk: int) -> bool:
    return bool(
        model._default_manager.filter(pk=pk, status__in=UNFINISHED).update(
            status=RunStatus.CANCELLED, finished_at=timezone.now()
        )
    )


def status_reopen(model: type[Model], pk: int) -> bool:
    """failed / cancelled / stalled running -> pending, to be claimed and dispatched again."""
    return bool(
        model._default_manager.filter(pk=pk, status__in=RESUMABLE).update(
            status=RunStatus.PENDING, finished_at=None
        )
    )
