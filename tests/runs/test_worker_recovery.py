"""A worker killed with SIGKILL mid-chunk: another worker takes the chunk over within a minute,
long before the broker's visibility timeout (an hour), and writes one row per item.

The minute is the takeover (the sweeper queueing the dead chunk again), not the work after it:
on a busy machine loading the model and generating can take longer than that by itself."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Count, QuerySet

from benchmarks.models import Benchmark
from benchmarks.services import benchmark_import
from inference.models import GenerationRun
from inference.services import generation_run_create, model_spec_save
from judging.models import JudgeRun
from judging.services import judge_run_create, judge_save
from runs import chunks
from runs.models import Chunk, ChunkState, RunStatus
from tests.annotate.builders import run_with_responses
from tests.workers import celery_worker, purge_broker, worker_env

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def sample_benchmark(samples_dir: Path) -> Benchmark:
    return benchmark_import(
        source=str(samples_dir / "demur_sample.jsonl"),
        slug="sample",
        kind="noncompliance",
        rubric_path=samples_dir / "demur_rubric.json",
    ).benchmark


def finished(job: GenerationRun | JudgeRun) -> Callable[[], bool]:
    return lambda: type(job).objects.get(pk=job.pk).is_finished


TAKEN_OVER = "had no heartbeat; queued again"
TAKEOVER_SECONDS = 60
# Doing the work once taken over: generous, since a busy machine is slow, not broken.
FINISH_SECONDS = 600


def taken_over_within_a_minute(second: Any, job: GenerationRun | JudgeRun) -> None:
    started = time.monotonic()
    second.wait_for(lambda: TAKEN_OVER in second.text, timeout=TAKEOVER_SECONDS,
                    what="the dead chunk queued again")  # fmt: skip
    assert time.monotonic() - started < TAKEOVER_SECONDS
    second.wait_for(finished(job), timeout=FINISH_SECONDS, what="the run finished", interval=0.5)


def mid_run(rows: QuerySet[Any]) -> Callable[[], bool]:
    """A chunk at work (taken, beating) while the job still lacks rows. The chunk may still be
    loading the model: a worker can die then too. Requiring a finished chunk first made the test
    race the worker on a fast machine (three tiny chunks can finish between two polls)."""
    return lambda: Chunk.objects.filter(state=ChunkState.WORKING).exists() and rows.count() < 12


def test_a_killed_workers_chunk_is_taken_over_within_a_minute(
    tmp_path: Path, samples_dir: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    purge_broker()
    monkeypatch.setattr(chunks, "CHUNK_SIZE", 4)  # 12 prompts: three chunks
    benchmark = sample_benchmark(samples_dir)
    spec = model_spec_save(
        name="tiny-slow",
        backend="transformers",
        settings={"path": str(tiny_model_dir), "max_new_tokens": 200, "batch_size": 1},
    )
    # The broker's own redelivery stays at its default hour: only the heartbeat can help here.
    env = worker_env(tmp_path, DEMUR_STALL_SECONDS="4")
    env.pop("DEMUR_BROKER_VISIBILITY_TIMEOUT", None)
    with celery_worker(env, name="first") as first:
        run = generation_run_create(benchmark=benchmark, model_spec=spec, limit=12)
        first.wait_for(mid_run(run.responses.all()), timeout=120, what="a chunk at work")
        first.kill()
    # The dead worker's chunk: taken, unacknowledged, its heartbeat stopped.
    assert Chunk.objects.filter(state=ChunkState.WORKING).exists()
    assert run.responses.count() < run.total == 12
    with celery_worker(env, name="second") as second:
        taken_over_within_a_minute(second, run)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    per_prompt = run.responses.values("prompt").annotate(n=Count("pk"))
    assert per_prompt.count() == run.total
    assert {row["n"] for row in per_prompt} == {1}
    assert not Chunk.objects.exists()
    assert TAKEN_OVER in second.text, second.text[-3000:]


def test_a_killed_workers_judge_chunk_is_taken_over_within_a_minute(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    purge_broker()
    monkeypatch.setattr(chunks, "CHUNK_SIZE", 4)
    run = run_with_responses(12)
    spec = model_spec_save(
        name="tiny-judge",
        backend="transformers",
        settings={"path": str(tiny_model_dir), "max_new_tokens": 200, "batch_size": 1},
    )
    judge = judge_save(name="tiny-rubric", kind="coconot_rubric", model_spec=spec)
    env = worker_env(tmp_path, DEMUR_STALL_SECONDS="4")
    with celery_worker(env, name="first") as first:
        judge_run = judge_run_create(judge=judge, run=run)
        first.wait_for(mid_run(judge_run.verdicts.all()), timeout=120, what="a chunk at work")
        first.kill()
    assert Chunk.objects.filter(state=ChunkState.WORKING).exists()
    assert judge_run.verdicts.count() < 12
    with celery_worker(env, name="second") as second:
        taken_over_within_a_minute(second, judge_run)
    judge_run.refresh_from_db()
    assert judge_run.status == RunStatus.DONE, judge_run.error
    per_response = judge_run.verdicts.values("response").annotate(n=Count("pk"))
    assert per_response.count() == 12
    assert {row["n"] for row in per_response} == {1}
    assert TAKEN_OVER in second.text, second.text[-3000:]
