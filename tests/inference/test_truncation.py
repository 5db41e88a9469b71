"""Responses cut off at max_new_tokens: recorded as "length", counted for researchers and
marked for annotators on the labeling screen."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from annotate.models import Item
from benchmarks.files import InputFileError
from inference.models import FinishReason, GenerationRun
from inference.services import generation_run_generate_chunk, model_spec_save, responses_import
from runs.models import RunStatus
from tests.annotate.builders import annotators, campaign_over
from tests.factories import BenchmarkFactory, PromptFactory, UserFactory

pytestmark = pytest.mark.django_db
CUT_OFF = "This response was cut off at the length limit"


@pytest.fixture
def tiny_run(tiny_model_dir: Path) -> GenerationRun:
    """Four prompts answered by the tiny random model with room for two tokens only."""
    benchmark = BenchmarkFactory.create()
    prompts = [PromptFactory.create(benchmark=benchmark) for _ in range(4)]
    spec = model_spec_save(
        name="tiny-short",
        backend="transformers",
        settings={"path": str(tiny_model_dir), "max_new_tokens": 2, "batch_size": 4},
    )
    run = GenerationRun.objects.create(
        model_spec=spec,
        model_name=spec.name,
        model_snapshot={"backend": spec.backend, "settings": spec.settings},
        benchmark=benchmark,
        total=4,
        status=RunStatus.RUNNING,
    )
    generation_run_generate_chunk(run_id=run.pk, prompt_ids=[p.pk for p in prompts])
    run.refresh_from_db()
    return run


def test_generation_stopped_by_max_new_tokens_is_recorded_as_truncated(
    tiny_run: GenerationRun,
) -> None:
    assert tiny_run.status == RunStatus.DONE
    responses = list(tiny_run.responses.all())
    # A random model almost never ends its answer within two tokens.
    assert [r.finish_reason for r in responses].count(FinishReason.LENGTH) >= 3
    for response in responses:
        assert response.is_truncated == (response.finish_reason == FinishReason.LENGTH)
        if response.is_truncated:
            assert response.completion_tokens == 2


def test_researchers_see_how_many_responses_were_cut_off(tiny_run: GenerationRun) -> None:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    truncated = tiny_run.responses.filter(finish_reason=FinishReason.LENGTH).count()
    page = client.get(f"/runs/{tiny_run.pk}/").content.decode()
    assert f"{truncated} truncated" in page
    assert f"{truncated} truncated" in client.get("/runs/").content.decode()


def test_annotators_see_a_cut_off_response_marked_on_the_labeling_screen(
    tiny_run: GenerationRun,
) -> None:
    person = annotators(1)[0]
    campaign = campaign_over(tiny_run, people=[person], overlap=1)
    client = Client()
    client.force_login(person)
    html = client.get(f"/annotate/{campaign.pk}/").content.decode()
    shown = [int(pk) for pk in re.findall(r'data-item="(\d+)"', html)]
    assert shown
    cut = [Item.objects.get(pk=pk).response.is_truncated for pk in shown]
    assert html.count(CUT_OFF) == sum(cut) >= 1


def test_a_complete_response_has_no_marker(tiny_run: GenerationRun) -> None:
    tiny_run.responses.update(finish_reason=FinishReason.STOP)
    person = annotators(1)[0]
    campaign = campaign_over(tiny_run, people=[person], overlap=1)
    client = Client()
    client.force_login(person)
    assert CUT_OFF not in client.get(f"/annotate/{campaign.pk}/").content.decode()


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_imported_responses_may_say_how_they_ended(tmp_path: Path) -> None:
    benchmark = BenchmarkFactory.create()
    for external_id in ("a", "b", "c"):
        PromptFactory.create(benchmark=benchmark, external_id=external_id)
    path = write_jsonl(
        tmp_path / "responses.jsonl",
        [
            {"id": "a", "response": "Sure, the first step is", "finish_reason": "length"},
            {"id": "b", "response": "No.", "finish_reason": "stop"},
            {"id": "c", "response": "Fine."},  # unknown: not marked either way
        ],
    )
    run = responses_import(path=path, benchmark=benchmark, model_name="elsewhere").run
    reasons = dict(run.responses.values_list("prompt__external_id", "finish_reason"))
    assert reasons == {"a": "length", "b": "stop", "c": ""}
    assert [r.prompt.external_id for r in run.responses.all() if r.is_truncated] == ["a"]


def test_an_unknown_finish_reason_is_refused_naming_the_line(tmp_path: Path) -> None:
    benchmark = BenchmarkFactory.create()
    PromptFactory.create(benchmark=benchmark, external_id="a")
    path = write_jsonl(
        tmp_path / "bad.jsonl", [{"id": "a", "response": "x", "finish_reason": "cut"}]
    )
    with pytest.raises(InputFileError, match="Field 'finish_reason' on line 1 must be one of"):
        responses_import(path=path, benchmark=benchmark, model_name="elsewhere")
    assert not GenerationRun.objects.exists()
