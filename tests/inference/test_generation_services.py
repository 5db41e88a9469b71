"""Generation services in-process with the tiny model: what a chunk task does, minus Celery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backends import registry
from benchmarks.models import Benchmark
from inference.models import GenerationRun
from inference.services import (
    generation_run_cancel,
    generation_run_create,
    generation_run_generate_chunk,
    generation_run_resume,
    model_spec_save,
)
from runs import chunks
from runs.errors import RunError
from runs.models import Chunk, RunStatus
from runs.services import run_dispatch
from tests.factories import BenchmarkFactory, PromptFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def benchmark() -> Benchmark:
    benchmark = BenchmarkFactory.create()
    for category in ("Incomplete requests", "Humanizing requests"):
        for _ in range(3):
            PromptFactory.create(benchmark=benchmark, category=category)
    return benchmark


@pytest.fixture
def tiny_spec(tiny_model_dir: Path) -> Any:
    return model_spec_save(
        name="tiny",
        backend="transformers",
        settings={"path": str(tiny_model_dir), "max_new_tokens": 4, "batch_size": 2},
    )


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Doorbells recorded instead of sent: these tests run the chunks here."""
    rung: list[str] = []
    monkeypatch.setattr(chunks, "ring", lambda queue, **kwargs: rung.append(queue))
    return rung


def queued_chunks() -> list[tuple[int, list[int]]]:
    """(run id, prompt ids) of every outstanding chunk, oldest first."""
    return [(chunk.job_id, chunk.item_ids) for chunk in Chunk.objects.order_by("pk")]


def start(benchmark: Benchmark, spec: Any, queued: list, **options: Any) -> GenerationRun:
    run = generation_run_create(benchmark=benchmark, model_spec=spec, **options)
    run_dispatch(GenerationRun, run.pk)  # what on_commit does after the request
    run.refresh_from_db()
    return run


def test_a_run_covers_the_chosen_categories_and_limit(
    benchmark: Benchmark, tiny_spec: Any, queued: list
) -> None:
    run = start(benchmark, tiny_spec, queued, categories=["Humanizing requests"], limit=2)
    assert (run.status, run.total) == (RunStatus.RUNNING, 2)
    assert run.model_snapshot["settings"]["max_new_tokens"] == 4
    assert [len(ids) for _, ids in queued_chunks()] == [2]


def test_a_chunk_writes_one_response_per_prompt_even_when_run_twice(
    benchmark: Benchmark, tiny_spec: Any, queued: list
) -> None:
    run = start(benchmark, tiny_spec, queued)
    ((run_id, ids),) = queued_chunks()
    generation_run_generate_chunk(run_id=run_id, prompt_ids=ids)
    generation_run_generate_chunk(run_id=run_id, prompt_ids=ids)  # a redelivered message
    run.refresh_from_db()
    assert run.responses.count() == 6
    assert run.status == RunStatus.DONE
    response = run.responses.first()
    assert response is not None
    assert response.finish_reason in {"stop", "length"}
    assert response.completion_tokens and response.prompt_tokens and response.latency_ms


def test_chunks_of_a_cancelled_run_do_nothing(
    benchmark: Benchmark, tiny_spec: Any, queued: list
) -> None:
    run = start(benchmark, tiny_spec, queued)
    ((_, ids),) = queued_chunks()
    assert generation_run_cancel(run=run)
    assert queued_chunks() == []  # the run forgets its outstanding chunks
    generation_run_generate_chunk(run_id=run.pk, prompt_ids=ids)
    assert run.responses.count() == 0
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED


def test_resume_queues_only_what_is_missing(
    benchmark: Benchmark, tiny_spec: Any, queued: list, django_capture_on_commit_callbacks: Any
) -> None:
    run = start(benchmark, tiny_spec, queued)
    generation_run_generate_chunk(run_id=run.pk, prompt_ids=queued_chunks()[0][1][:4])
    generation_run_cancel(run=run)
    with django_capture_on_commit_callbacks(execute=True):
        assert generation_run_resume(run=run)
    assert [len(ids) for _, ids in queued_chunks()] == [2]
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING


def test_one_failing_item_is_recorded_and_the_rest_carry_on(
    benchmark: Benchmark, tiny_spec: Any, queued: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = start(benchmark, tiny_spec, queued)
    backend = registry.backend_for("transformers", tiny_spec.settings)
    real_batch = backend._generate_batch  # type: ignore[attr-defined]
    poison = benchmark.prompts.order_by("pk")[2].text

    def flaky(prompts: list[str]) -> Any:
        if any(poison in p for p in prompts):
            raise RuntimeError("CUDA error: device-side assert triggered")
        return real_batch(prompts)

    monkeypatch.setattr(backend, "_generate_batch", flaky)
    generation_run_generate_chunk(run_id=run.pk, prompt_ids=queued_chunks()[0][1])
    errors = list(run.responses.exclude(error="").values_list("prompt__text", "error"))
    assert errors == [(poison, "RuntimeError: CUDA error: device-side assert triggered")]
    assert run.responses.filter(error="").count() == 5


def test_a_bad_request_is_refused_with_a_sentence(benchmark: Benchmark, tiny_spec: Any) -> None:
    with pytest.raises(RunError, match="has no category Nonsense"):
        generation_run_create(benchmark=benchmark, model_spec=tiny_spec, categories=["Nonsense"])
    empty = BenchmarkFactory.create()
    with pytest.raises(RunError, match="has no prompts to run"):
        generation_run_create(benchmark=empty, model_spec=tiny_spec)


def test_judges_asked_for_start_when_the_last_response_is_in(
    benchmark: Benchmark, tiny_spec: Any, queued: list
) -> None:
    from judging.models import JudgeRun

    run = start(benchmark, tiny_spec, queued, judges_after=["keyword"])
    assert not JudgeRun.objects.exists()
    generation_run_generate_chunk(run_id=run.pk, prompt_ids=queued_chunks()[0][1][:3])
    assert not JudgeRun.objects.exists()  # half done: not yet
    generation_run_generate_chunk(run_id=run.pk, prompt_ids=queued_chunks()[0][1])
    judge_run = JudgeRun.objects.get()
    assert (judge_run.judge.name, judge_run.run_id, judge_run.total) == ("keyword", run.pk, 6)
