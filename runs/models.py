"""The abstract run and the chunk queue, shared by generation runs (inference) and judge runs
(judging).

Every status change is one conditional UPDATE on the status, so two workers (or a worker and a
person pressing Cancel) can race without either overwriting the other's outcome. A run that ends
or starts over forgets its outstanding chunks, so their doorbells do nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django.conf import settings
from django.db import models
from django.utils import timezone


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_STATUSES = (RunStatus.DONE, RunStatus.FAILED, RunStatus.CANCELLED)
UNFINISHED_STATUSES = (RunStatus.PENDING, RunStatus.RUNNING)
# Runs that start over from pending. A running run is resumed in place instead
# (runs.chunks.chunks_top_up): starting it over would forget its live chunks, and the work under
# way in them would be queued and done a second time.
RESTARTABLE_STATUSES = (RunStatus.FAILED, RunStatus.CANCELLED)


class RunQuerySet(models.QuerySet[Any]):
    """The status changes of a run; each returns False when the run was not in a state to take
    it (another process changed it first)."""

    def claim(self, pk: int) -> bool:
        """pending -> running."""
        now = timezone.now()
        moved = self.filter(pk=pk, status=RunStatus.PENDING).update(
            status=RunStatus.RUNNING, started_at=now, error=""
        )
        return bool(moved)

    def finish(self, pk: int) -> bool:
        """running -> done."""
        moved = self.filter(pk=pk, status=RunStatus.RUNNING).update(
            status=RunStatus.DONE, finished_at=timezone.now()
        )
        return self.forget_chunks_if(moved, pk)

    def fail(self, pk: int, reason: str) -> bool:
        """pending or running -> failed, with one sentence for the person watching."""
        moved = self.filter(pk=pk, status__in=UNFINISHED_STATUSES).update(
            status=RunStatus.FAILED, error=reason, finished_at=timezone.now()
        )
        return self.forget_chunks_if(moved, pk)

    def cancel(self, pk: int) -> bool:
        """pending or running -> cancelled; workers check the status before each chunk."""
        moved = self.filter(pk=pk, status__in=UNFINISHED_STATUSES).update(
            status=RunStatus.CANCELLED, finished_at=timezone.now()
        )
        return self.forget_chunks_if(moved, pk)

    def reopen(self, pk: int) -> bool:
        """failed or cancelled -> pending, to be claimed and dispatched again; the dispatch
        queues what is missing afresh."""
        moved = self.filter(pk=pk, status__in=RESTARTABLE_STATUSES).update(
            status=RunStatus.PENDING, finished_at=None
        )
        return self.forget_chunks_if(moved, pk)

    def forget_chunks_if(self, moved: int, pk: int) -> bool:
        if moved:
            kind = cast(type[Run], self.model).chunk_kind
            Chunk.objects.filter(kind=kind, job_id=pk).delete()
        return bool(moved)


class Run(models.Model):
    """A job of many items done in chunks by workers: a generation run (one response per
    prompt) or a judge run (one verdict per response). Progress is counted from the item rows,
    never kept in a counter."""

    # The ``Chunk.kind`` of this model's chunks.
    chunk_kind: ClassVar[str]
    # The reverse relation whose rows are the items done ("responses", "verdicts").
    items_relation: ClassVar[str]
    # The foreign key to the run whose output this run works on ("run" for a judge run), so a
    # page listing runs can show the runs that follow each; empty for a run that follows none.
    follows: ClassVar[str] = ""
    # What a list of these runs selects along with each (for ``label``).
    list_related: ClassVar[tuple[str, ...]] = ()
    # What sentences call one ("Run 3", "Judge run 7").
    noun: ClassVar[str] = "Run"

    status = models.CharField(
        max_length=20, choices=RunStatus.choices, default=RunStatus.PENDING, db_index=True
    )
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    # The concrete model's ``total`` field: how many items the run covers, fixed at creation.
    total: Any

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def is_restartable(self) -> bool:
        """Failed or cancelled: Resume starts it over (what exists is kept)."""
        return self.status in RESTARTABLE_STATUSES

    @property
    def title(self) -> str:
        return f"{self.noun} {self.pk}"

    @property
    def label(self) -> str:
        """What a list of the runs that follow another shows for this one."""
        return self.title

    def items_done(self) -> int:
        return int(getattr(self, self.items_relation).count())

    def chunk_queue(self) -> str:
        """The worker queue its chunks go to (``gpu`` or ``default``)."""
        raise NotImplementedError

    def missing_item_ids(self) -> list[int]:
        """The items with no row yet, in a fixed order: what a resumed run still has to do."""
        raise NotImplementedError


class ChunkState(models.TextChoices):
    QUEUED = "queued", "Queued"
    WORKING = "working", "Working"
    RETRY_WAIT = "retry_wait", "Waiting to retry"


class Chunk(models.Model):
    """A chunk of a run that is not done yet.

    The rows are the work queue: broker messages only say "take the oldest queued chunk of this
    queue", so the order of work is the order of these rows (first come, first served) whatever
    order the broker delivers in. A worker on a chunk beats ``heartbeat_at``; a chunk whose
    worker stopped beating is queued again by the sweeper. The row is deleted when the chunk is
    done, so what is left is what is outstanding.
    """

    # The run model's ``chunk_kind`` ("generation", "judging"); ``job_id`` is a plain id, not a
    # foreign key, so this app knows no concrete run model.
    kind = models.CharField(max_length=20)
    job_id = models.PositiveIntegerField()
    queue = models.CharField(max_length=50)
    item_ids = models.JSONField(default=list)
    state = models.CharField(max_length=20, choices=ChunkState.choices, default=ChunkState.QUEUED)
    # Failed or abandoned tries so far; past MAX_RETRIES the job fails with the reason.
    attempts = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # While working: the worker's last beat. While waiting to retry: when the retry is due.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["queue", "state"], name="chunk_queue_state"),
            models.Index(fields=["kind", "job_id"], name="chunk_job"),
        ]

    def __str__(self) -> str:
        return f"Chunk {self.pk} of {self.kind} {self.job_id} ({self.state})"
