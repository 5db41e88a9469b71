"""A real worker on Redis generates with the tiny model, then judges with keyword and rubric."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db.models import Count

from benchmarks.models import Benchmark
from benchmarks.services import benchmark_import
from inference.models import GenerationRun
from inference.services import generation_run_create, model_spec_save
from judging.models import Judge, JudgeRun
from judging.services import judge_run_create, judge_save
from runs.models import RunStatus
from tests.processes import Background, manage
from tests.workers import celery_worker, purge_broker, worker_env

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]
CANONICAL = {"complied", "not_complied", "neither", "unparseable", "error"}


@pytest.fixture(autouse=True)
def keyword_judge() -> None:
    """Transactional tests empty every table afterwards, rows made by migrations included."""
    Judge.objects.get_or_create(name="keyword", defaults={"kind": "keyword"})


def wait_until(condition: Callable[[], bool], *, timeout: float, worker: Background) -> None:
    worker.wait_for(condition, timeout=timeout, what="the awaited state", interval=0.5)


def finished(model: type[GenerationRun] | type[JudgeRun], pk: int) -> Callable[[], bool]:
    return lambda: model.objects.get(pk=pk).is_finished


def sample_benchmark(samples_dir: Path) -> Benchmark:
    return benchmark_import(
        source=str(samples_dir / "demur_sample.jsonl"),
        slug="sample",
        kind="noncompliance",
        rubric_path=samples_dir / "demur_rubric.json",
    ).benchmark


def test_a_worker_generates_then_judges_with_keyword_and_rubric(
    tmp_path: Path, samples_dir: Path, tiny_model_dir: Path
) -> None:
    purge_broker()
    benchmark = sample_benchmark(samples_dir)
    spec = model_spec_save(
        name="tiny",
        backend="transformers",
        settings={"path": str(tiny_model_dir), "max_new_tokens": 8, "batch_size": 8},
    )
    with celery_worker(worker_env(tmp_path)) as worker:
        run = generation_run_create(benchmark=benchmark, model_spec=spec)
        wait_until(finished(GenerationRun, run.pk), timeout=600, worker=worker)
        run.refresh_from_db()
        assert run.status == RunStatus.DONE, run.error
        assert run.responses.count() == benchmark.prompts.count() == 30
        assert not run.responses.exclude(error="").exists()
        assert all(r.completion_tokens for r in run.responses.all())

        rubric_judge = judge_save(name="tiny-rubric", kind="coconot_rubric", model_spec=spec)
        judge_runs = [
            judge_run_create(judge=Judge.objects.get(name="keyword"), run=run),
            judge_run_create(judge=rubric_judge, run=run),
        ]
        for judge_run in judge_runs:
            wait_until(finished(JudgeRun, judge_run.pk), timeout=600, worker=worker)

    keyword_run, rubric_run = (JudgeRun.objects.get(pk=j.pk) for j in judge_runs)
    for judge_run in (keyword_run, rubric_run):
        assert judge_run.status == RunStatus.DONE, judge_run.error
        assert judge_run.verdicts.count() == 30
        assert set(judge_run.verdicts.values_list("label", flat=True)) <= CANONICAL
    # A random 2-layer model writes no <label> tag: every verdict says so, none is guessed.
    rubric_verdicts = rubric_run.verdicts.all()
    assert {v.label for v in rubric_verdicts} == {"unparseable"}
    assert all(v.raw_output and v.judge_prompt_id and v.rubric_id for v in rubric_verdicts)
    sample = rubric_verdicts.select_related("judge_prompt", "response__prompt").first()
    assert sample is not None and sample.judge_prompt is not None
    assert sample.response.prompt.text in sample.judge_prompt.text
    assert not keyword_run.verdicts.filter(judge_prompt__isnull=False).exists()


def test_a_worker_killed_mid_run_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, samples_dir: Path, tiny_model_dir: Path
) -> None:
    purge_broker()
    benchmark = sample_benchmark(samples_dir)
    # Enough prompts for several chunks of 32, slow enough to be killed in the middle.
    prompts = list(benchmark.prompts.all())
    for copy in range(3):
        for prompt in prompts:
            prompt.pk = None
            prompt.external_id = f"{prompt.external_id}-copy{copy}"
            prompt.save()
    spec = model_spec_save(
        name="tiny-slow",
        backend="transformers",
        settings={"path": str(tiny_model_dir), "max_new_tokens": 48, "batch_size": 2},
    )
    env = worker_env(tmp_path, DEMUR_STALL_SECONDS="4")  # the dead chunk is swept quickly
    with celery_worker(env, name="first") as first:
        run = generation_run_create(benchmark=benchmark, model_spec=spec)
        wait_until(lambda: run.responses.count() > 0, timeout=600, worker=first)
        first.kill()  # SIGKILL: no warm shutdown, the chunk in hand is not acknowledged
    killed_at = run.responses.count()
    assert killed_at < run.total
    with celery_worker(env, name="second") as second:
        wait_until(finished(GenerationRun, run.pk), timeout=600, worker=second)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    per_prompt = run.responses.values("prompt").annotate(n=Count("pk"))
    assert per_prompt.count() == run.total == 120
    assert {row["n"] for row in per_prompt} == {1}


def test_the_cli_waits_with_a_progress_bar_and_reports_the_outcome(
    tmp_path: Path, samples_dir: Path, tiny_model_dir: Path
) -> None:
    purge_broker()
    sample_benchmark(samples_dir)
    model_spec_save(
        name="tiny-cli",
        backend="transformers",
        settings={"path": str(tiny_model_dir), "max_new_tokens": 4},
    )
    env = worker_env(tmp_path)
    with celery_worker(env):
        generated = manage(
            "generate", "--benchmark", "sample", "--model", "tiny-cli", "--limit", "5",
            "--then-judge", "keyword", "--wait", env=env,
        )  # fmt: skip
        assert generated.returncode == 0, generated.stderr
        run = GenerationRun.objects.get()
        assert f"Run {run.pk} done: 5 responses." in generated.stdout
        assert "5/5" in generated.stderr  # tqdm's bar at the end
        judged = manage("judge", "--run", str(run.pk), "--judge", "keyword", "--wait", env=env)
    assert judged.returncode == 0, judged.stderr
    assert re.search(r"Judge run \d+ done: .*\d", judged.stdout)
    # --then-judge started one keyword run already; the command started a second.
    assert JudgeRun.objects.filter(run=run, judge__name="keyword").count() == 2


def test_the_cli_refuses_unknown_names_with_one_sentence(tmp_path: Path) -> None:
    env = worker_env(tmp_path)
    result = manage("generate", "--benchmark", "nope", "--model", "x", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: No benchmark 'nope'."
    result = manage("judge", "--run", "999999", "--judge", "keyword", env=env)
    assert result.stderr.strip() == "CommandError: No generation run 999999."
