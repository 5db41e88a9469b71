"""The chunk queue in-process: first come first served, heartbeats, the sweeper, retries.

Doorbells are recorded instead of sent; each test rings them here by calling the task's body,
as a worker would on receiving the message.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Count
from django.utils import timezone

from inference.models import GenerationRun
from judging import services as judging_services
from judging.models import Judge, JudgeRun
from judging.services import judge_run_create
from runs import chunks
from runs.models import Chunk, ChunkState, RunStatus
from runs.tasks import run_next_chunk
from tests.annotate.builders import run_with_responses

pytestmark = pytest.mark.django_db


@pytest.fixture
def rung(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every doorbell sent, with its queue and (for a retry) the chunk it is addressed to."""
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(
        chunks, "ring", lambda queue, **kwargs: sent.append({"queue": queue, **kwargs})
    )
    monkeypatch.setattr(chunks, "CHUNK_SIZE", 2)
    return sent


@pytest.fixture
def generation_run() -> GenerationRun:
    return run_with_responses(4, text="Sure, here is {n}.")


def keyword_run(run: GenerationRun, django_capture_on_commit_callbacks: Any) -> JudgeRun:
    with django_capture_on_commit_callbacks(execute=True):
        judge_run = judge_run_create(judge=Judge.objects.get(name="keyword"), run=run)
    judge_run.refresh_from_db()
    return judge_run


def ring_once(queue: str = "default") -> None:
    run_next_chunk(queue=queue)  # what a worker does with one doorbell of the queue


def verdicts(judge_run: JudgeRun) -> int:
    return judge_run.verdicts.count()


def test_doorbells_take_the_oldest_chunk_so_a_later_run_never_overtakes(
    rung: list[dict[str, Any]],
    generation_run: GenerationRun,
    django_capture_on_commit_callbacks: Any,
) -> None:
    first = keyword_run(generation_run, django_capture_on_commit_callbacks)
    later = keyword_run(generation_run, django_capture_on_commit_callbacks)
    assert [bell["queue"] for bell in rung] == ["default"] * 4  # two chunks of two, per run
    # Whichever message the broker hands out first, the earlier run's chunks are done first.
    ring_once()
    ring_once()
    assert (verdicts(first), verdicts(later)) == (4, 0)
    ring_once()
    assert (verdicts(first), verdicts(later)) == (4, 2)
    ring_once()
    ring_once()  # a spare doorbell (a redelivered message) finds nothing to do
    first.refresh_from_db()
    later.refresh_from_db()
    assert (first.status, later.status) == (RunStatus.DONE, RunStatus.DONE)
    assert verdicts(later) == 4
    assert not Chunk.objects.exists()


def test_the_sweeper_requeues_a_chunk_whose_worker_stopped_beating_and_not_a_slow_one(
    rung: list[dict[str, Any]],
    generation_run: GenerationRun,
    django_capture_on_commit_callbacks: Any,
) -> None:
    judge_run = keyword_run(generation_run, django_capture_on_commit_callbacks)
    dead, slow = Chunk.objects.order_by("pk")
    long_ago = timezone.now() - timedelta(minutes=10)
    Chunk.objects.filter(pk=dead.pk).update(
        state=ChunkState.WORKING, worker="killed@host", started_at=long_ago, heartbeat_at=long_ago
    )
    Chunk.objects.filter(pk=slow.pk).update(  # started long ago, still beating
        state=ChunkState.WORKING, worker="slow@host", started_at=long_ago,
        heartbeat_at=timezone.now(),
    )  # fmt: skip
    rung.clear()
    assert chunks.chunks_sweep() == 1
    dead.refresh_from_db()
    slow.refresh_from_db()
    assert (dead.state, dead.attempts, dead.worker) == (ChunkState.QUEUED, 1, "")
    assert (slow.state, slow.worker) == (ChunkState.WORKING, "slow@host")
    assert rung == [{"queue": "default"}]
    ring_once()  # the doorbell the sweeper rang: the dead worker's chunk is done again
    judging_services.judge_run_judge_chunk(judge_run_id=judge_run.pk, response_ids=slow.item_ids)
    judge_run.refresh_from_db()
    assert judge_run.status == RunStatus.DONE
    per_response = judge_run.verdicts.values("response").annotate(n=Count("pk"))
    assert sorted(row["n"] for row in per_response) == [1, 1, 1, 1]


def test_a_chunk_that_keeps_killing_its_worker_fails_the_run_with_a_sentence(
    rung: list[dict[str, Any]],
    generation_run: GenerationRun,
    django_capture_on_commit_callbacks: Any,
) -> None:
    judge_run = keyword_run(generation_run, django_capture_on_commit_callbacks)
    long_ago = timezone.now() - timedelta(minutes=10)
    Chunk.objects.filter(pk=Chunk.objects.order_by("pk")[0].pk).update(
        state=ChunkState.WORKING, heartbeat_at=long_ago, attempts=chunks.MAX_RETRIES
    )
    assert chunks.chunks_sweep() == 0
    judge_run.refresh_from_db()
    assert judge_run.status == RunStatus.FAILED
    assert judge_run.error.startswith("A worker stopped during the same chunk 4 times")
    assert not Chunk.objects.exists()  # the failed run's other chunk is dropped too


def test_a_failing_chunk_waits_and_retries_through_a_doorbell_addressed_to_it(
    rung: list[dict[str, Any]],
    generation_run: GenerationRun,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    judge_run = keyword_run(generation_run, django_capture_on_commit_callbacks)
    real = judging_services.judge_run_judge_chunk
    failures = iter([RuntimeError("database went away")])

    def flaky(judge_run_id: int, response_ids: list[int]) -> None:
        error = next(failures, None)
        if error:
            raise error
        real(judge_run_id, response_ids)

    # The queue calls the service judging registered; this test registers a flaky one instead,
    # in a copy of the registry that the test's end throws away.
    monkeypatch.setattr(chunks, "_run_kinds", dict(chunks._run_kinds))
    chunks.run_kind_register(JudgeRun, flaky)
    rung.clear()
    ring_once()
    waiting = Chunk.objects.get(state=ChunkState.RETRY_WAIT)
    assert rung == [{"queue": "default", "chunk_id": waiting.pk, "attempts": 1, "countdown": 1}]
    ring_once()  # the other chunk is not held up by the one waiting
    assert verdicts(judge_run) == 2
    run_next_chunk(queue="default", chunk_id=waiting.pk, attempts=1)
    judge_run.refresh_from_db()
    assert (judge_run.status, verdicts(judge_run)) == (RunStatus.DONE, 4)


def test_a_doorbell_for_a_cancelled_run_finds_nothing(
    rung: list[dict[str, Any]],
    generation_run: GenerationRun,
    django_capture_on_commit_callbacks: Any,
) -> None:
    judge_run = keyword_run(generation_run, django_capture_on_commit_callbacks)
    judging_services.judge_run_cancel(judge_run=judge_run)
    ring_once()
    assert verdicts(judge_run) == 0
    assert not Chunk.objects.exists()
