"""The run and verdict pages as a researcher sees them (no worker: rows are made directly)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from inference.models import GenerationRun, ModelSpec, Response
from judging.models import Judge, JudgeRun, Verdict
from runs.models import RunStatus
from tests.factories import BenchmarkFactory, PromptFactory, UserFactory

pytestmark = pytest.mark.django_db
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def client_() -> Client:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    return client


@pytest.fixture
def run() -> GenerationRun:
    benchmark = BenchmarkFactory.create(slug="b")
    run = GenerationRun.objects.create(
        benchmark=benchmark, model_name="m", status=RunStatus.RUNNING, total=4
    )
    for text in ("Sure, here it is.", XSS):
        Response.objects.create(run=run, prompt=PromptFactory.create(benchmark=benchmark),
                                text=text, finish_reason="stop")  # fmt: skip
    return run


def test_the_run_page_shows_progress_and_polls_until_the_run_ends(
    client_: Client, run: GenerationRun
) -> None:
    page = client_.get(f"/runs/{run.pk}/").content.decode()
    assert '<progress max="4" value="2">' in page
    assert "2 / 4 responses (50%)" in page
    assert f'hx-get="/runs/{run.pk}/progress/"' in page
    assert client_.get(f"/runs/{run.pk}/progress/").status_code == 200
    run.status = RunStatus.DONE
    run.save()
    partial = client_.get(f"/runs/{run.pk}/progress/", headers={"HX-Request": "true"})
    assert partial.status_code == 286  # htmx stops polling
    assert "hx-get" not in partial.content.decode()
    assert "<html" not in partial.content.decode()


def test_model_output_is_shown_as_text(client_: Client, run: GenerationRun) -> None:
    page = client_.get(f"/runs/{run.pk}/").content.decode()
    assert XSS not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_cancel_stops_a_running_run(client_: Client, run: GenerationRun) -> None:
    assert client_.post(f"/runs/{run.pk}/cancel/").status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED


def test_the_start_form_refuses_a_bad_limit_with_the_reason(client_: Client) -> None:
    BenchmarkFactory.create(slug="b2")
    spec = ModelSpec.objects.create(name="x", backend="transformers", settings={"path": "p"})
    response = client_.post("/runs/start/", {"benchmark": "b2", "model_spec": spec.pk, "limit": 0})
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 1" in response.content.decode()
    assert not GenerationRun.objects.exists()


def test_the_start_form_creates_a_run_and_opens_its_page(
    client_: Client, django_capture_on_commit_callbacks: Any
) -> None:
    benchmark = BenchmarkFactory.create(slug="b3")
    PromptFactory.create(benchmark=benchmark)
    spec = ModelSpec.objects.create(name="x", backend="transformers", settings={"path": "p"})
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_.post(
            "/runs/start/", {"benchmark": "b3", "model_spec": spec.pk, "judges_after": ["keyword"]}
        )
    run = GenerationRun.objects.get()
    assert response["Location"] == f"/runs/{run.pk}/"
    assert (run.total, run.model_name, len(callbacks)) == (1, "x", 1)
    assert run.judges_after == ["keyword"]


def test_the_verdict_page_counts_labels_and_shows_raw_output_as_text(
    client_: Client, run: GenerationRun
) -> None:
    judge = Judge.objects.get(name="keyword")
    judge_run = JudgeRun.objects.create(judge=judge, run=run, status=RunStatus.DONE, total=2)
    first, second = run.responses.order_by("pk")
    Verdict.objects.create(judge_run=judge_run, response=first, label="complied")
    Verdict.objects.create(judge_run=judge_run, response=second, label="unparseable",
                           raw_output=XSS)  # fmt: skip
    page = client_.get(f"/judging/runs/{run.pk}/").content.decode()
    assert XSS not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "50%" in page  # one of two verdicts is no verdict at all
    assert page.count('class="label-unparseable"') == 1


def test_the_run_page_shows_each_turn_with_its_context_folded(client_: Client) -> None:
    benchmark = BenchmarkFactory.create(slug="conv")
    script = ["Hello, planning a trip.", "Book it for me now."]
    prompt = PromptFactory.create(benchmark=benchmark, user_turns=script, text=script[-1])
    run = GenerationRun.objects.create(
        benchmark=benchmark, model_name="m", status=RunStatus.DONE, total=2
    )
    first = [{"role": "user", "content": script[0]}]
    second = [
        *first,
        {"role": "assistant", "content": "Where to?"},
        {"role": "user", "content": script[1]},
    ]
    Response.objects.create(run=run, prompt=prompt, turn=2, messages=second, text="I can't.")
    Response.objects.create(run=run, prompt=prompt, turn=1, messages=first, text="Where to?")
    page = client_.get(f"/runs/{run.pk}/").content.decode()
    assert page.index("turn 1 of 2") < page.index("turn 2 of 2")  # in turn order
    assert "2 earlier messages (context)" in page
    assert "<strong>Assistant:</strong> Where to?" in page
    # Each answer's row names the turn it answers, not the prompt's last one.
    row_one = page[page.index("turn 1 of 2") : page.index("turn 2 of 2")]
    assert script[0] in row_one and script[1] not in row_one
