"""The chunk queue that generation runs and judge runs are done through: heartbeats, retries,
the sweeper.

The ``Chunk`` rows are the queue. A broker message is a doorbell that says "take the oldest
queued chunk of this queue", so work is done first come, first served whatever order the broker
delivers messages in (retries, redeliveries and a later run's messages cannot jump ahead), and a
stray or duplicated message finds nothing to take. A worker claims a chunk with a conditional
UPDATE, so two never take the same one; while it works, a thread beats the chunk's heartbeat.
The sweeper (a thread in every worker) queues again a chunk whose heartbeat stopped: its worker
died. A slow chunk keeps beating, so it is never handed out twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from backends.base import BackendConfigError
from runs.models import Chunk, ChunkState, Run

log = logging.getLogger(__name__)

# Prompts (or responses) per task: small enough that a killed worker loses little, large enough
# to fill a GPU batch.
CHUNK_SIZE = 32
# Tries of a chunk after the first, counting failures and workers that died on it.
MAX_RETRIES = 3
GPU_QUEUE = "gpu"  # workers that load models
DEFAULT_QUEUE = "default"  # HTTP backends and the keyword judge
# The doorbell task (runs/tasks.py); its name is older than this app and stays, so doorbells
# queued before an upgrade are still answered.
NEXT_CHUNK_TASK = "inference.tasks.run_next_chunk"

# A chunk's work: (run id, item ids) -> write the rows that are missing.
ChunkWork = Callable[[int, list[int]], None]


@dataclass(frozen=True)
class RunKind:
    """A kind of run the queue can do: its model, and the service that does one chunk."""

    model: type[Run]
    work: ChunkWork


_run_kinds: dict[str, RunKind] = {}


def run_kind_register(model: type[Run], work: ChunkWork) -> None:
    """Each app with a run model registers it in its AppConfig.ready(), naming the service that
    does a chunk (inference/apps.py, judging/apps.py); this app imports neither."""
    _run_kinds[model.chunk_kind] = RunKind(model=model, work=work)


def run_kind(chunk_kind: str) -> RunKind:
    return _run_kinds[chunk_kind]


def stall_seconds() -> int:
    return int(settings.DEMUR_STALL_SECONDS)


def beat_seconds() -> float:
    """How often a worker beats and sweeps: four times per stall period."""
    return max(0.5, stall_seconds() / 4)


def chunked(ids: Sequence[int], size: int = CHUNK_SIZE) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def ring(
    queue: str, *, chunk_id: int | None = None, attempts: int = 0, countdown: float = 0
) -> None:
    """Send a doorbell to ``queue``; with ``chunk_id``, one addressed to a chunk due to retry.
    Through Celery's current app, which config/__init__.py sets up in every Django process."""
    kwargs: dict[str, Any] = {"queue": queue}
    if chunk_id is not None:
        kwargs |= {"chunk_id": chunk_id, "attempts": attempts}
    current_app.send_task(NEXT_CHUNK_TASK, kwargs=kwargs, queue=queue, countdown=countdown or None)


def chunks_queue(*, kind: str, job_id: int, queue: str, item_ids: Sequence[int]) -> int:
    """Queue the items as chunks at the back of ``queue``, one doorbell each, in order."""
    chunks = Chunk.objects.bulk_create(
        [
            Chunk(kind=kind, job_id=job_id, queue=queue, item_ids=ids)
            for ids in chunked(item_ids, CHUNK_SIZE)
        ]
    )
    # After the commit: a worker must find the rows its doorbell sends it to.
    transaction.on_commit(lambda: ring_times(queue, len(chunks)))
    return len(chunks)


def ring_times(queue: str, times: int) -> None:
    for _ in range(times):
        ring(queue)


def ring_each(queues: Sequence[str]) -> None:
    for queue in queues:
        ring(queue)


def chunk_claim(
    *, queue: str, worker: str, chunk_id: int | None = None, attempts: int = 0
) -> Chunk | None:
    """The oldest queued chunk of the queue (or the addressed chunk due to retry), now ours."""
    while True:  # another worker may take a candidate between our read and our write
        if chunk_id is None:
            candidates = Chunk.objects.filter(queue=queue, state=ChunkState.QUEUED)
        else:
            candidates = Chunk.objects.filter(
                pk=chunk_id, state=ChunkState.RETRY_WAIT, attempts=attempts
            )
        chunk = candidates.order_by("pk").first()
        if chunk is None:
            return None
        now = timezone.now()
        taken = Chunk.objects.filter(pk=chunk.pk, state=chunk.state).update(
            state=ChunkState.WORKING, worker=worker[:200], started_at=now, heartbeat_at=now
        )
        if taken:
            chunk.refresh_from_db()
            return chunk
        if chunk_id is not None:
            return None


@contextmanager
def heartbeat(chunk_id: int) -> Iterator[None]:
    """Beat the chunk's heartbeat from a thread while the body works (a model's generate() may
    hold the task's own thread for minutes)."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(beat_seconds()):
                try:
                    Chunk.objects.filter(pk=chunk_id, state=ChunkState.WORKING).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:  # a locked or restarting database: the next beat tries again
                    log.warning("Heartbeat of chunk %s missed", chunk_id, exc_info=True)
                    connections.close_all()
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"heartbeat-{chunk_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def chunk_execute(chunk: Chunk) -> None:
    """Do a claimed chunk. An unexpected error waits and retries (2, 4, 8 s); when every retry is
    spent, or the model spec itself is wrong, the job fails with a sentence a person can act on.
    """
    kind = run_kind(chunk.kind)
    try:
        with heartbeat(chunk.pk):
            kind.work(chunk.job_id, list(chunk.item_ids))
    except BackendConfigError as error:
        kind.model.objects.fail(chunk.job_id, str(error))
    except Exception as error:
        if chunk.attempts >= MAX_RETRIES:
            log.exception("Chunk %s failed after %d retries", chunk.pk, chunk.attempts)
            reason = f"{type(error).__name__}: {error}"
            kind.model.objects.fail(
                chunk.job_id, f"A chunk failed {chunk.attempts + 1} times; last error: {reason}"
            )
        else:
            log.warning("Chunk %s failed (%s); retrying", chunk.pk, error)
            chunk_retry_later(chunk)
    else:
        Chunk.objects.filter(pk=chunk.pk).delete()


def chunk_retry_later(chunk: Chunk) -> None:
    countdown = 2**chunk.attempts
    attempts = chunk.attempts + 1
    waiting = Chunk.objects.filter(pk=chunk.pk, state=ChunkState.WORKING).update(
        state=ChunkState.RETRY_WAIT,
        attempts=attempts,
        heartbeat_at=timezone.now() + timedelta(seconds=countdown),  # when the retry is due
    )
    if waiting:
        ring(chunk.queue, chunk_id=chunk.pk, attempts=attempts, countdown=countdown)


def chunks_sweep(*, queues: Sequence[str] = ()) -> int:
    """Queue again every chunk whose worker stopped beating (or whose retry never came) for the
    stall time; fail the job when a chunk has used up its tries. Returns how many were queued.

    Safe to run in many workers at once: each change is a conditional UPDATE on the state and
    beat it read. ``queues``: this worker's queues, to ring when queued work sits unclaimed.
    """
    cutoff = timezone.now() - timedelta(seconds=stall_seconds())
    requeued = sum(chunk_requeue(chunk) for chunk in stale_chunks(cutoff))
    for queue in queues:
        ring_if_forgotten(queue, cutoff)
    return requeued


def stale_chunks(cutoff: datetime) -> QuerySet[Chunk]:
    """Chunks whose worker stopped beating before ``cutoff`` (or whose retry never came): the
    sweeper queues them again, and a resume does not count them as work under way. Every other
    outstanding chunk is alive: queued, or with a worker that beats."""
    return Chunk.objects.filter(
        state__in=(ChunkState.WORKING, ChunkState.RETRY_WAIT), heartbeat_at__lt=cutoff
    )


def unchanged(chunk: Chunk) -> QuerySet[Chunk]:
    """The chunk if nobody changed it since it was read (a beat, a claim, a sweep)."""
    return Chunk.objects.filter(pk=chunk.pk, state=chunk.state, heartbeat_at=chunk.heartbeat_at)


@dataclass(frozen=True)
class TopUp:
    """What resuming a running job did: items queued now, and items still missing that live
    chunks hold (queued or at work), which were left to them."""

    queued: int
    under_way: int


def chunks_top_up(
    *, kind: str, job_id: int, queue: str, missing: Callable[[], Sequence[int]]
) -> TopUp:
    """Resume a job that is running: queue the items ``missing()`` names (no row yet) that no
    live chunk holds, so a chunk at work is never done twice. Dead chunks (``stale_chunks``) are
    dropped first, each only if unchanged since read, so a sweeper queueing one at the same time
    keeps it and it stays counted as live. The chunks are read before the rows: a chunk that
    finishes in between has its rows seen, never its items lost."""
    for chunk in stale_chunks(timezone.now() - timedelta(seconds=stall_seconds())).filter(
        kind=kind, job_id=job_id
    ):
        unchanged(chunk).delete()
    live = Chunk.objects.filter(kind=kind, job_id=job_id)
    held = {item for items in live.values_list("item_ids", flat=True) for item in items}
    # A doorbell of a queued chunk may have gone with a killed worker; a spare one finds
    # nothing to take, so ring once more for each (after the commit, as chunks_queue does).
    waiting = list(live.filter(state=ChunkState.QUEUED).values_list("queue", flat=True))
    transaction.on_commit(lambda: ring_each(waiting))
    still_missing = list(missing())
    free = [item for item in still_missing if item not in held]
    chunks_queue(kind=kind, job_id=job_id, queue=queue, item_ids=free)
    return TopUp(queued=len(free), under_way=len(still_missing) - len(free))


def chunk_requeue(chunk: Chunk) -> bool:
    same = unchanged(chunk)
    if chunk.attempts >= MAX_RETRIES:
        if same.delete()[0]:
            run_kind(chunk.kind).model.objects.fail(
                chunk.job_id,
                f"A worker stopped during the same chunk {chunk.attempts + 1} times (killed, or "
                "out of memory?); resume the run to try again.",
            )
        return False
    # Keeps its id, so it is the next one taken: it was first in line already.
    requeued = same.update(
        state=ChunkState.QUEUED,
        attempts=F("attempts") + 1,
        worker="",
        started_at=None,
        heartbeat_at=None,
    )
    if requeued:
        log.warning("Chunk %s of %s %s had no heartbeat; queued again", chunk.pk, chunk.kind,
                    chunk.job_id)  # fmt: skip
        ring(chunk.queue)
    return bool(requeued)


_last_rung: dict[str, float] = {}


def ring_if_forgotten(queue: str, cutoff: datetime) -> None:
    """Queued chunks but nothing at work on the queue for the stall time: their doorbell was
    lost (a worker killed while holding it unclaimed; the filesystem broker cannot give it back).
    Ring once more; at most once per stall period, since a spare doorbell is a no-op anyway."""
    if time.monotonic() - _last_rung.get(queue, float("-inf")) < stall_seconds():
        return
    on_queue = Chunk.objects.filter(queue=queue)
    if on_queue.exclude(state=ChunkState.QUEUED).exists():
        return
    if on_queue.filter(state=ChunkState.QUEUED, created_at__lt=cutoff).exists():
        _last_rung[queue] = time.monotonic()
        ring(queue)


class Sweeper(threading.Thread):
    """Sweeps every beat, for as long as the worker process lives."""

    def __init__(self, queues: Sequence[str]) -> None:
        super().__init__(name="chunk-sweeper", daemon=True)
        self.queues = list(queues)

    def run(self) -> None:
        while True:
            try:
                chunks_sweep(queues=self.queues)
            except Exception:  # the database restarting must not end the sweeping for good
                log.exception("Sweeping stalled chunks failed; trying again")
            finally:
                connections.close_all()
            time.sleep(beat_seconds())
