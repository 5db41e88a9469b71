"""What the run pages say about where a run is: queued, running, stalled (with Resume), the
progress of its judges, and how many of its responses were cut off at the length limit."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from inference.models import FinishReason, GenerationRun
from judging.models import Judge, JudgeRun
from judging.services import judge_run_create
from runs import chunks
from runs.models import Chunk, ChunkState, RunStatus
from tests.annotate.builders import run_with_responses
from tests.factories import PromptFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def researcher() -> Client:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    return client


@pytest.fixture(autouse=True)
def rung(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []
    monkeypatch.setattr(chunks, "ring", lambda queue, **kwargs: sent.append(queue))
    return sent


def text_of(html: str) -> str:
    """The page as a person reads it: tags dropped, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def dispatched_run(responses: int, total: int) -> GenerationRun:
    """A running run with some responses in and the rest queued as one chunk."""
    run = run_with_responses(responses)
    prompts = [PromptFactory.create(benchmark=run.benchmark).pk for _ in range(total - responses)]
    GenerationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        total=total,
        started_at=timezone.now(),
        model_snapshot={"backend": "transformers", "settings": {"path": "tiny"}},
    )
    run.refresh_from_db()
    chunks.chunks_queue(kind="generation", job_id=run.pk, queue="gpu", item_ids=prompts)
    return run


def runs_row(client: Client, run: GenerationRun) -> str:
    page = client.get("/runs/").content.decode()
    row = re.search(rf'<tr>\s*<td><a href="/runs/{run.pk}/">.*?</tr>', page, re.S)
    assert row is not None
    return text_of(row.group(0))


def test_a_run_no_worker_has_started_reads_queued_not_running(researcher: Client) -> None:
    run = dispatched_run(responses=0, total=3)
    assert "Queued" in runs_row(researcher, run)
    assert "Running" not in runs_row(researcher, run)
    page = text_of(researcher.get(f"/runs/{run.pk}/").content.decode())
    assert "0 / 3 responses (0%) Queued" in page
    assert "Waiting for a worker" in page
    Chunk.objects.update(state=ChunkState.WORKING, heartbeat_at=timezone.now())  # a worker took it
    assert "Running" in runs_row(researcher, run)
    page = text_of(researcher.get(f"/runs/{run.pk}/progress/").content.decode())
    assert "0 / 3 responses (0%) Running" in page


def test_the_runs_page_shows_each_judges_progress(
    researcher: Client, django_capture_on_commit_callbacks: Any
) -> None:
    run = run_with_responses(3)
    with django_capture_on_commit_callbacks(execute=True):
        judge_run = judge_run_create(judge=Judge.objects.get(name="keyword"), run=run)
    assert "keyword 0/3 Queued" in runs_row(researcher, run)
    chunks.chunk_execute(chunks.chunk_claim(queue="default", worker="w") or Chunk())
    assert JudgeRun.objects.get(pk=judge_run.pk).status == RunStatus.DONE
    row = runs_row(researcher, run)
    assert "keyword 3/3" in row
    assert "Queued" not in row and "Running" not in row


def test_a_run_whose_worker_died_reads_stalled_and_resumes_with_one_click(
    researcher: Client, rung: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    run = dispatched_run(responses=1, total=3)
    long_ago = timezone.now() - timedelta(minutes=10)
    GenerationRun.objects.filter(pk=run.pk).update(started_at=long_ago)
    run.responses.update(created_at=long_ago)
    Chunk.objects.update(state=ChunkState.WORKING, started_at=long_ago, heartbeat_at=long_ago)
    assert "stalled: no progress for 10 min" in runs_row(researcher, run)
    page = researcher.get(f"/runs/{run.pk}/").content.decode()
    assert "stalled: no progress for 10 min" in text_of(page)
    assert f'action="/runs/{run.pk}/resume/"' in page
    assert "csrfmiddlewaretoken" in page

    rung.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = researcher.post(f"/runs/{run.pk}/resume/")
    assert response.status_code == 302
    queued = Chunk.objects.get()
    assert (queued.state, len(queued.item_ids)) == (ChunkState.QUEUED, 2)  # only what is missing
    assert rung == ["gpu"]
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    assert "stalled" not in text_of(researcher.get(f"/runs/{run.pk}/").content.decode())


def test_resume_is_refused_for_a_run_that_is_not_stalled_and_for_annotators(
    researcher: Client,
) -> None:
    run = dispatched_run(responses=1, total=3)
    response = researcher.post(f"/runs/{run.pk}/resume/")
    assert response.status_code == 400
    assert (
        response.content.decode() == f"Run {run.pk} is running and not stalled; nothing to resume."
    )
    annotator = Client()
    annotator.force_login(UserFactory.create(role="annotator"))
    assert annotator.post(f"/runs/{run.pk}/resume/").status_code == 403
    assert Chunk.objects.get().state == ChunkState.QUEUED  # untouched


def test_a_stalled_judge_run_reads_stalled_and_resumes(
    researcher: Client, django_capture_on_commit_callbacks: Any
) -> None:
    run = run_with_responses(3)
    with django_capture_on_commit_callbacks(execute=True):
        judge_run = judge_run_create(judge=Judge.objects.get(name="keyword"), run=run)
    long_ago = timezone.now() - timedelta(minutes=7)
    JudgeRun.objects.filter(pk=judge_run.pk).update(started_at=long_ago)
    Chunk.objects.update(state=ChunkState.WORKING, started_at=long_ago, heartbeat_at=long_ago)
    page = researcher.get(f"/judging/runs/{run.pk}/").content.decode()
    assert "stalled: no progress for 7 min" in text_of(page)
    assert f'action="/judging/judge-runs/{judge_run.pk}/resume/"' in page
    assert "keyword 0/3 Stalled stalled: no progress for 7 min" in runs_row(researcher, run)
    with django_capture_on_commit_callbacks(execute=True):
        response = researcher.post(f"/judging/judge-runs/{judge_run.pk}/resume/")
    assert response.status_code == 302
    assert Chunk.objects.get().state == ChunkState.QUEUED


def test_truncated_responses_are_counted_on_the_run_pages(researcher: Client) -> None:
    run = run_with_responses(5)
    cut = list(run.responses.order_by("pk")[:3].values_list("pk", flat=True))
    run.responses.filter(pk__in=cut).update(finish_reason=FinishReason.LENGTH)
    run.responses.exclude(pk__in=cut).update(finish_reason=FinishReason.STOP)
    assert "5 / 5 3 truncated" in runs_row(researcher, run)
    page = text_of(researcher.get(f"/runs/{run.pk}/").content.decode())
    assert "5 / 5 responses (100%) Done 3 truncated" in page
    assert page.count(" truncated ") == 1 + 3  # the count, then a mark on each cut-off row
