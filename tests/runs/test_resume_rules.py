"""Resume re-queues only what is missing and in no live chunk, from every entry point (the
services, `generate --resume`, `judge --resume`, the pages): a chunk at work or queued is never
queued a second time, and resuming a healthy running run says so instead."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from inference.models import GenerationRun, Response
from inference.services import generation_run_resume
from judging.models import Judge, JudgeRun, Verdict
from judging.services import judge_run_resume
from runs import chunks
from runs.errors import NothingToResume
from runs.models import Chunk, ChunkState, RunStatus
from tests.annotate.builders import run_with_responses
from tests.factories import BenchmarkFactory, PromptFactory
from tests.processes import REPO
from tests.workers import worker_env

FRESH = timedelta(seconds=0)
DEAD = timedelta(minutes=10)  # longer than DEMUR_STALL_SECONDS (2 min)


@pytest.fixture(autouse=True)
def rung(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []
    monkeypatch.setattr(chunks, "ring", lambda queue, **kwargs: sent.append(queue))
    return sent


def running_run(prompts: int, answered: int = 0) -> tuple[GenerationRun, list[int]]:
    """A run a worker is on: ``answered`` of its prompts have a response, none of its chunks
    made yet."""
    benchmark = BenchmarkFactory.create()
    ids = [PromptFactory.create(benchmark=benchmark).pk for _ in range(prompts)]
    run = GenerationRun.objects.create(
        benchmark=benchmark,
        model_name="m",
        model_snapshot={"backend": "openai", "settings": {}},
        status=RunStatus.RUNNING,
        total=prompts,
        started_at=timezone.now(),
    )
    Response.objects.bulk_create(Response(run=run, prompt_id=pk, text="!") for pk in ids[:answered])
    return run, ids


def chunk(kind: str, job_id: int, items: list[int], state: str, beat_age: timedelta) -> Chunk:
    working = state != ChunkState.QUEUED
    return Chunk.objects.create(
        kind=kind,
        job_id=job_id,
        queue="default",
        item_ids=items,
        state=state,
        started_at=timezone.now() - beat_age if working else None,
        heartbeat_at=timezone.now() - beat_age if working else None,
    )


def chunk_items() -> list[list[int]]:
    return [list(c.item_ids) for c in Chunk.objects.order_by("pk")]


@pytest.mark.django_db
class TestGenerationRunResume:
    def test_a_healthy_running_run_is_not_queued_again(self) -> None:
        run, ids = running_run(5, answered=1)
        chunk("generation", run.pk, ids[1:3], ChunkState.WORKING, FRESH)
        chunk("generation", run.pk, ids[3:], ChunkState.QUEUED, FRESH)
        with pytest.raises(NothingToResume) as refused:
            generation_run_resume(run=run)
        assert str(refused.value) == f"Run {run.pk} is running and not stalled; nothing to resume."
        assert chunk_items() == [ids[1:3], ids[3:]]
        assert GenerationRun.objects.get(pk=run.pk).status == RunStatus.RUNNING

    def test_a_chunk_waiting_for_its_retry_counts_as_under_way(self) -> None:
        run, ids = running_run(2)
        waiting = chunk("generation", run.pk, ids, ChunkState.RETRY_WAIT, FRESH)
        Chunk.objects.filter(pk=waiting.pk).update(
            heartbeat_at=timezone.now() + timedelta(seconds=8)  # when the retry is due
        )
        with pytest.raises(NothingToResume):
            generation_run_resume(run=run)
        assert chunk_items() == [ids]

    def test_only_the_dead_chunks_prompts_are_queued_again(
        self, rung: list[str], django_capture_on_commit_callbacks: Any
    ) -> None:
        run, ids = running_run(6, answered=1)
        alive = chunk("generation", run.pk, ids[1:3], ChunkState.WORKING, FRESH)
        chunk("generation", run.pk, ids[3:5], ChunkState.WORKING, DEAD)  # its worker died
        # ids[5]: its chunk is gone altogether (lost with a worker that failed to requeue it).
        with django_capture_on_commit_callbacks(execute=True):
            assert generation_run_resume(run=run)
        assert chunk_items() == [ids[1:3], ids[3:6]]
        assert Chunk.objects.filter(pk=alive.pk, state=ChunkState.WORKING).exists()
        assert Chunk.objects.exclude(pk=alive.pk).get().state == ChunkState.QUEUED
        assert rung == ["default"]
        assert GenerationRun.objects.get(pk=run.pk).status == RunStatus.RUNNING

    def test_a_running_run_with_every_response_in_is_finished(self) -> None:
        run, _ = running_run(3, answered=3)
        assert generation_run_resume(run=run)
        assert GenerationRun.objects.get(pk=run.pk).status == RunStatus.DONE
        assert not Chunk.objects.exists()

    def test_a_cancelled_run_still_starts_over(
        self, django_capture_on_commit_callbacks: Any
    ) -> None:
        run, ids = running_run(4, answered=1)
        GenerationRun.objects.filter(pk=run.pk).update(status=RunStatus.CANCELLED)
        with django_capture_on_commit_callbacks(execute=True):
            assert generation_run_resume(run=run)
        assert chunk_items() == [ids[1:]]
        assert GenerationRun.objects.get(pk=run.pk).status == RunStatus.RUNNING


def running_judge_run(responses: int, judged: int = 0) -> tuple[JudgeRun, list[int]]:
    run = run_with_responses(responses)
    judge, _ = Judge.objects.get_or_create(name="keyword", defaults={"kind": "keyword"})
    judge_run = JudgeRun.objects.create(
        judge=judge, run=run, total=responses, status=RunStatus.RUNNING, started_at=timezone.now()
    )
    ids = list(run.responses.order_by("pk").values_list("pk", flat=True))
    Verdict.objects.bulk_create(
        Verdict(judge_run=judge_run, response_id=pk, label="complied") for pk in ids[:judged]
    )
    return judge_run, ids


@pytest.mark.django_db
class TestJudgeRunResume:
    def test_a_healthy_running_judge_run_is_not_queued_again(self) -> None:
        judge_run, ids = running_judge_run(4, judged=1)
        chunk("judging", judge_run.pk, ids[1:], ChunkState.WORKING, FRESH)
        with pytest.raises(NothingToResume) as refused:
            judge_run_resume(judge_run=judge_run)
        assert str(refused.value) == (
            f"Judge run {judge_run.pk} is running and not stalled; nothing to resume."
        )
        assert chunk_items() == [ids[1:]]

    def test_only_the_dead_chunks_responses_are_queued_again(
        self, django_capture_on_commit_callbacks: Any
    ) -> None:
        judge_run, ids = running_judge_run(5)
        chunk("judging", judge_run.pk, ids[:2], ChunkState.QUEUED, FRESH)
        chunk("judging", judge_run.pk, ids[2:], ChunkState.WORKING, DEAD)
        with django_capture_on_commit_callbacks(execute=True):
            assert judge_run_resume(judge_run=judge_run)
        assert chunk_items() == [ids[:2], ids[2:]]
        assert list(Chunk.objects.values_list("state", flat=True)) == [ChunkState.QUEUED] * 2


def manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_generate_resume_of_a_healthy_running_run_is_refused(tmp_path: Path) -> None:
    run, ids = running_run(3)
    chunk("generation", run.pk, ids, ChunkState.WORKING, FRESH)
    result = manage(["generate", "--resume", str(run.pk)], worker_env(tmp_path))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"CommandError: Run {run.pk} is running and not stalled; nothing to resume."
    ]
    assert chunk_items() == [ids]
    assert Chunk.objects.get().state == ChunkState.WORKING


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_judge_resume_of_a_healthy_running_judge_run_is_refused(tmp_path: Path) -> None:
    judge_run, ids = running_judge_run(3)
    chunk("judging", judge_run.pk, ids, ChunkState.WORKING, FRESH)
    result = manage(["judge", "--resume", str(judge_run.pk)], worker_env(tmp_path))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"CommandError: Judge run {judge_run.pk} is running and not stalled; nothing to resume."
    ]
    assert chunk_items() == [ids]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_generate_resume_finishes_a_running_run_that_has_every_response(tmp_path: Path) -> None:
    # Nothing to queue, so no broker is needed: the run only needed marking done.
    run, _ = running_run(2, answered=2)
    result = manage(["generate", "--resume", str(run.pk)], worker_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"Run {run.pk} resumed."
    assert GenerationRun.objects.get(pk=run.pk).status == RunStatus.DONE
