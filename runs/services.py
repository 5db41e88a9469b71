"""How any run is dispatched, finished, cancelled and resumed. The run model says what its items
are (``missing_item_ids``, ``items_done``) and where its chunks go (``chunk_queue``); the app
that owns the model says how a chunk is done (runs.chunks.run_kind_register)."""

from __future__ import annotations

from django.db import transaction

from runs.chunks import chunks_queue, chunks_top_up
from runs.errors import NothingToResume
from runs.models import Run, RunStatus
from runs.signals import run_finished


def run_dispatch(model: type[Run], run_id: int) -> int:
    """Claim a pending run and queue its missing items as chunks; returns how many."""
    if not model.objects.claim(run_id):
        return 0
    run = model.objects.get(pk=run_id)
    missing = run.missing_item_ids()
    chunks_queue(kind=model.chunk_kind, job_id=run_id, queue=run.chunk_queue(), item_ids=missing)
    if not missing:
        run_finish_if_complete(model, run_id)
    return len(missing)


def run_dispatch_on_commit(run: Run) -> None:
    """Dispatch once the transaction that created or reopened the run commits: a worker must
    find the rows its chunks name."""
    model, run_id = type(run), run.pk
    transaction.on_commit(lambda: run_dispatch(model, run_id))


def run_finish_if_complete(model: type[Run], run_id: int) -> bool:
    """Mark the run done when every item has its row; ``run_finished`` is sent once, by the
    process whose conditional update won."""
    run = model.objects.get(pk=run_id)
    finished = run.items_done() >= run.total and model.objects.finish(run_id)
    if finished:
        run_finished.send(sender=model, run_id=run_id)
    return finished


def run_cancel(run: Run) -> bool:
    """Workers check the status before each chunk, so queued chunks of the run do nothing."""
    return type(run).objects.cancel(run.pk)


def run_resume(run: Run) -> bool:
    """Queue again what a run still lacks; what exists is kept. A failed or cancelled run starts
    over from pending. A running one keeps running and gets only the items that have no row and
    are in no live chunk (its worker died, or the chunk was lost), so work under way is never
    done twice; when there are none, NothingToResume says so. False: the run is pending or done,
    nothing to resume."""
    model = type(run)
    with transaction.atomic():
        # Locked while deciding: a worker failing or finishing the run waits for the decision.
        running = model.objects.select_for_update().filter(pk=run.pk, status=RunStatus.RUNNING)
        locked = running.first()
        if locked is None:
            reopened = model.objects.reopen(run.pk)
            if reopened:
                run_dispatch_on_commit(run)
            return reopened
        top_up = chunks_top_up(
            kind=model.chunk_kind,
            job_id=run.pk,
            queue=locked.chunk_queue(),
            missing=locked.missing_item_ids,
        )
        if top_up.queued:
            return True
        if not top_up.under_way:
            # Nothing missing at all: its last worker stopped before marking it done.
            return run_finish_if_complete(model, run.pk)
    raise NothingToResume(f"{locked.title} is running and not stalled; nothing to resume.")
