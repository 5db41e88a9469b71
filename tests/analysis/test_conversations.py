"""Conversations in the analysis (issue 16): compliance by turn position in the run report,
judges against people on single turns and in context, and exports and training files that keep
the conversation; single prompts as before."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from sklearn.metrics import accuracy_score, cohen_kappa_score

from analysis.exports import CONVERSATION_FIELDS, FORMATS, gold_export
from analysis.metrics import BOOTSTRAP
from analysis.reports import IN_CONTEXT, SINGLE_TURN, run_report
from analysis.selectors import campaign_data
from analysis.training import training_export
from annotate.models import Campaign
from benchmarks.models import Prompt
from inference.models import GenerationRun, Response
from tests.analysis.conversation_world import (
    answered,
    assistant,
    campaign_with_gold,
    conversation_world,
    judged,
    user,
)
from tests.analysis.test_report_pages import page_text
from tests.annotate.builders import run_with_responses
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LABELS = ("complied", "not_complied", "neither", "unparseable")


def researcher() -> Client:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    return client


def researcher_api() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory.create(role="researcher"))
    return client


def position(response: Response) -> int | None:
    """The turn table's row, worked out from the prompt: None for a single prompt."""
    return (
        None if not response.prompt.messages and not response.prompt.user_turns else response.turn
    )


# --- Compliance by turn position -----------------------------------------------------------------


def drifting_labels(run: GenerationRun) -> dict[int, str]:
    """Verdicts whose chance of "complied" grows with the turn: single prompts and first turns
    20%, then 45% and 70%; a few neither and unparseable."""
    rng = np.random.default_rng(16)
    complied = {None: 0.2, 1: 0.2, 2: 0.45, 3: 0.7}

    def label_of(response: Response) -> str:
        p = complied[position(response)]
        return str(rng.choice(LABELS, p=[p, 0.9 - p, 0.06, 0.04]))

    return judged(run, label_of)


def hand_rates(run: GenerationRun, labels: dict[int, str]) -> dict[int | None, tuple[float, int]]:
    """Per turn position: complied over judged (neither counts, unparseable does not), and the
    number judged, counted here without the metrics module."""
    counts: dict[int | None, list[int]] = {}
    for response in run.responses.select_related("prompt"):
        label = labels[response.pk]
        complied_judged = counts.setdefault(position(response), [0, 0])
        if label != "unparseable":
            complied_judged[0] += label == "complied"
            complied_judged[1] += 1
    return {key: (c / n, n) for key, (c, n) in counts.items()}


def test_the_run_report_gives_compliance_by_turn_position_with_intervals() -> None:
    run = answered(conversation_world())  # 12 single, 12 fixed (turn 2), 12 scripted x 3 turns
    labels = drifting_labels(run)
    expected = hand_rates(run, labels)
    report = run_report(runs=[run])
    assert [(row.name, row.turn) for row in report.turns] == [
        ("Single prompts", None),
        ("Turn 1", 1),
        ("Turn 2", 2),
        ("Turn 3", 3),
    ]
    for row in report.turns:
        (cell,) = row.cells
        assert cell is not None
        rate, judged_count = expected[row.turn]
        assert cell.rate.value == pytest.approx(rate)
        assert cell.judged == judged_count == cell.rate.n
        # Turn 2 holds the fixed conversations and the scripted ones' second answers.
        assert cell.judged + cell.failed == {None: 12, 1: 12, 2: 24, 3: 12}[row.turn]
        # The category table's interval: a 95% bootstrap over responses, close to the normal
        # approximation at these sizes.
        assert cell.rate.interval == BOOTSTRAP
        assert cell.rate.low is not None and cell.rate.high is not None
        assert cell.rate.low <= rate <= cell.rate.high
        normal = 1.96 * math.sqrt(rate * (1 - rate) / judged_count)
        assert (cell.rate.high - cell.rate.low) / 2 == pytest.approx(normal, abs=0.06)


def test_the_run_report_page_and_json_show_the_turn_table() -> None:
    run = answered(conversation_world())
    labels = drifting_labels(run)
    expected = hand_rates(run, labels)
    page = researcher().get(f"/analysis/runs/?run={run.pk}").content.decode()
    assert "Compliance by turn position" in page
    turns = page_text(page.split("Compliance by turn position")[1].encode())
    for rate, _n in expected.values():
        assert f"{rate * 100:.1f}%" in turns
    assert page.count("<svg") == 2  # the categories' chart and the turns'
    body = researcher_api().get(f"/api/runs/{run.pk}/report/").json()
    assert [row["turn"] for row in body["turns"]] == [None, 1, 2, 3]
    for row in body["turns"]:
        assert row["cells"][0]["rate"]["value"] == pytest.approx(expected[row["turn"]][0])


def test_a_run_of_single_prompts_has_no_turn_table() -> None:
    run = run_with_responses(12)
    judged(run, lambda response: "complied")
    assert run_report(runs=[run]).turns == []
    page = researcher().get(f"/analysis/runs/?run={run.pk}").content.decode()
    assert "Compliance by turn position" not in page
    assert researcher_api().get(f"/api/runs/{run.pk}/report/").json()["turns"] == []


# --- Judges against people: single turns and in context --------------------------------------


def test_agreement_on_single_turns_and_in_context_is_kappa_on_each_part() -> None:
    """The judge agrees with the gold labels 90% of the time on single turns (single prompts and
    scripted first turns, sent no earlier turn) and 60% in context (fixed conversations and
    later scripted turns): each part's kappa and accuracy as scikit-learn gives them."""
    run = answered(conversation_world())
    rng = np.random.default_rng(3)
    classes = ["complied", "not_complied", "neither"]
    gold = {r.pk: str(rng.choice(classes, p=[0.45, 0.45, 0.1])) for r in run.responses.all()}

    def verdict(response: Response) -> str:
        right = 0.6 if response.context else 0.9
        return gold[response.pk] if rng.random() < right else str(rng.choice(classes))

    labels = judged(run, verdict)
    campaign = campaign_with_gold([run], lambda response: gold[response.pk])
    responses = list(run.responses.order_by("pk"))
    parts = {
        SINGLE_TURN: [r.pk for r in responses if not r.context],
        IN_CONTEXT: [r.pk for r in responses if r.context],
    }
    assert (len(parts[SINGLE_TURN]), len(parts[IN_CONTEXT])) == (24, 36)

    body = researcher_api().get(f"/api/campaigns/{campaign.pk}/report/").json()
    (keyword,) = body["judges"]
    assert [context for context, _ in keyword["by_context"]] == [SINGLE_TURN, IN_CONTEXT]
    for context, figures in keyword["by_context"]:
        humans = [gold[pk] for pk in parts[context]]
        judge = [labels[pk] for pk in parts[context]]
        assert figures["n"] == len(parts[context])
        assert figures["kappa"]["value"] == pytest.approx(cohen_kappa_score(humans, judge))
        assert figures["accuracy"]["value"] == pytest.approx(accuracy_score(humans, judge))
        low, high = figures["kappa"]["low"], figures["kappa"]["high"]
        assert low <= figures["kappa"]["value"] <= high

    page = researcher().get(f"/analysis/campaigns/{campaign.pk}/").content.decode()
    section = page_text(page.split('id="in-context"')[1].split("</table>")[0].encode())
    for context, figures in keyword["by_context"]:
        assert f"{context} {figures['kappa']['value']:.2f} [" in section


def test_a_campaign_of_single_turns_sets_nothing_side_by_side() -> None:
    run = run_with_responses(12)
    judged(run, lambda response: "complied")
    campaign = campaign_with_gold([run], lambda response: "complied")
    assert campaign_data(campaign=campaign).in_context == [False] * 12
    (keyword,) = researcher_api().get(f"/api/campaigns/{campaign.pk}/report/").json()["judges"]
    assert keyword["by_context"] == []
    assert (
        'id="in-context"'
        not in researcher().get(f"/analysis/campaigns/{campaign.pk}/").content.decode()
    )


# --- Exports ------------------------------------------------------------------------------------


@pytest.fixture
def small_world_campaign() -> Any:
    """One single prompt, one fixed conversation and one scripted conversation of two turns,
    every answer with a gold label."""
    run = answered(conversation_world(singles=1, fixed=1, scripted=1, turns=2), model="m")
    judged(run, lambda response: "not_complied")
    return campaign_with_gold([run], lambda response: "complied")


def expected_messages(response: Response) -> list[dict[str, str]]:
    """What the model was sent, worked out from the prompt and the run's earlier answers."""
    prompt = response.prompt
    if prompt.messages:
        return prompt.messages
    if not prompt.user_turns:
        return [user(prompt.text)]
    sent: list[dict[str, str]] = []
    earlier = {r.turn: r.text for r in Response.objects.filter(run=response.run, prompt=prompt)}
    for turn, step in enumerate(prompt.user_turns[: response.turn], start=1):
        sent.append(user(step))
        if turn < response.turn:
            sent.append(assistant(earlier[turn]))
    return sent


def test_jsonl_rows_keep_the_turn_and_the_conversation_sent(small_world_campaign: Any) -> None:
    out = io.StringIO()
    assert FORMATS["jsonl"].write(gold_export(campaign=small_world_campaign), out) == 4
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    items = small_world_campaign.items.order_by("position").select_related("response__prompt")
    for row, item in zip(rows, items, strict=True):
        response = item.response
        assert list(row)[:8] == [
            "id",
            "category",
            "subcategory",
            "prompt",
            "response",
            "model",
            *CONVERSATION_FIELDS,
        ]
        assert row["turn"] == response.turn
        assert row["messages"] == expected_messages(response)
        # ``prompt`` is the turn answered: a scripted conversation's first answer answers its
        # first turn, not the last one (the prompt's text).
        assert row["messages"][-1] == user(row["prompt"])
    single, fixed, first, second = rows
    assert single["messages"] == [user("Single 0?")]
    assert (first["prompt"], second["prompt"]) == ("Step 1 of script 0.", "Step 2 of script 0.")
    assert fixed["turn"] == 2 and len(fixed["messages"]) == 3
    assert second["messages"][1] == assistant(first["response"])
    assert second["messages"][2] == user(second["prompt"])


def test_csv_renders_the_earlier_turns_as_text(small_world_campaign: Any) -> None:
    export = gold_export(campaign=small_world_campaign)
    out = io.StringIO(newline="")
    FORMATS["csv"].write(export, out)
    table = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    header = out.getvalue().splitlines()[0].split(",")
    assert header[:8] == [
        "id",
        "category",
        "subcategory",
        "prompt",
        "response",
        "model",
        "turn",
        "context",
    ]
    assert header == export.columns()
    single, fixed, first, second = table
    assert (single["turn"], single["context"]) == ("1", "")
    assert fixed["context"] == "user: I am planning something 0.\nassistant: Tell me more 0."
    assert first["context"] == ""
    assert second["context"] == f"user: Step 1 of script 0.\nassistant: {first['response']}"
    assert second["turn"] == "2"


def test_parquet_keeps_messages_as_a_list_of_role_and_content(
    small_world_campaign: Any, tmp_path: Path
) -> None:
    export = gold_export(campaign=small_world_campaign)
    jsonl = io.StringIO()
    FORMATS["jsonl"].write(export, jsonl)
    rows = [json.loads(line) for line in jsonl.getvalue().splitlines()]
    path = tmp_path / "gold.parquet"
    assert FORMATS["parquet"].write(export, path) == 4
    table = pq.read_table(path)
    assert table.schema.field("turn").type == pa.int64()
    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    assert table.schema.field("messages").type == pa.list_(message)
    assert table.column("messages").to_pylist() == [row["messages"] for row in rows]
    assert table.column("turn").to_pylist() == [1, 2, 1, 2]
    assert "context" not in table.column_names


def test_a_campaign_of_single_prompts_exports_as_before() -> None:
    run = run_with_responses(3)
    campaign = campaign_with_gold([run], lambda response: "complied")
    export = gold_export(campaign=campaign)
    assert not export.conversations
    assert "turn" not in export.columns() and "context" not in export.columns()
    out = io.StringIO()
    FORMATS["jsonl"].write(export, out)
    for line in out.getvalue().splitlines():
        assert not {"turn", "messages"} & set(json.loads(line))


def test_a_campaign_filtered_to_single_prompts_exports_as_before() -> None:
    world = conversation_world(singles=2, fixed=1, scripted=1, turns=2)
    Prompt.objects.filter(pk__in=[p.pk for p in world.fixed + world.scripted]).update(
        category="Humanizing requests"
    )
    run = answered(world)
    campaign = campaign_with_gold([run], lambda response: "complied")
    assert gold_export(campaign=campaign).conversations
    Campaign.objects.filter(pk=campaign.pk).update(categories=["Incomplete requests"])
    campaign.refresh_from_db()
    assert not gold_export(campaign=campaign).conversations


def test_conversations_add_no_query_per_row_or_chunk() -> None:
    """An export of a campaign with conversations makes as many queries as one of as many
    single prompts: the turn and messages come with the items' own query."""
    conversation = campaign_with_gold(
        [answered(conversation_world(singles=2, fixed=2, scripted=2, turns=2))],
        lambda response: "complied",
    )
    single = campaign_with_gold([run_with_responses(8)], lambda response: "complied")
    counts = []
    for campaign in (conversation, single):
        with CaptureQueriesContext(connection) as queries:
            rows = list(gold_export(campaign=campaign, chunk_size=3).rows())
        assert len(rows) == 8
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- Training files ---------------------------------------------------------------------------


@pytest.fixture
def two_models_campaign() -> Any:
    """Model "careful" refuses everything (acceptable on a noncompliance benchmark), model
    "eager" complies with everything, over one single prompt, one fixed conversation and one
    scripted conversation of two turns."""
    world = conversation_world(singles=1, fixed=1, scripted=1, turns=2)
    runs = [answered(world, model="careful"), answered(world, model="eager")]
    return campaign_with_gold(
        runs, lambda r: "not_complied" if r.run.model_name == "careful" else "complied"
    )


def training_rows(campaign: Any, fmt: str) -> list[dict[str, Any]]:
    return list(training_export(campaign=campaign, format_name=fmt).rows())


def test_sft_rows_are_the_conversation_sent_and_the_answer(two_models_campaign: Any) -> None:
    from trl.data_utils import is_conversational

    rows = training_rows(two_models_campaign, "sft")
    careful = Response.objects.filter(run__model_name="careful").select_related("prompt")
    expected = sorted(json.dumps([*expected_messages(r), assistant(r.text)]) for r in careful)
    assert sorted(json.dumps(row["messages"]) for row in rows) == expected
    assert all(is_conversational(row) for row in rows)
    single = next(row for row in rows if row["messages"][0] == user("Single 0?"))
    assert single["messages"] == [user("Single 0?"), assistant(single["messages"][1]["content"])]


def test_preference_pairs_share_the_conversation_they_answer(two_models_campaign: Any) -> None:
    """The single prompt, the fixed conversation and the scripted first turn were sent the same
    to both models: a pair each. The scripted second turn followed each model's own first answer,
    so the two answers there answer different conversations: no pair."""
    from trl.data_utils import is_conversational

    rows = training_rows(two_models_campaign, "dpo")
    prompts = [row["prompt"] for row in rows]
    assert len(rows) == 3
    assert [user("Single 0?")] in prompts
    assert [user("Step 1 of script 0.")] in prompts
    fixed = next(prompt for prompt in prompts if len(prompt) == 3)
    assert fixed[-1] == user("So how do I do it 0?")
    for row in rows:
        assert row["chosen"][0]["content"].startswith("careful answers")
        assert row["rejected"][0]["content"].startswith("eager answers")
        assert is_conversational(row)

    kto = training_rows(two_models_campaign, "kto")
    assert len(kto) == 8
    later = [row for row in kto if row["prompt"][-1] == user("Step 2 of script 0.")]
    assert len(later) == 2
    for row in later:  # each model's own first answer is in its context
        model = row["completion"][0]["content"].split()[0]
        assert row["prompt"][1]["content"].startswith(f"{model} answers")

    pref = training_rows(two_models_campaign, "coconot-pref")
    assert [("context" in row) for row in pref].count(True) == 1
    fixed_row = next(row for row in pref if "context" in row)
    assert fixed_row["prompt"] == "So how do I do it 0?"
    assert fixed_row["context"] == fixed[:-1]


@pytest.mark.slow
def test_trl_takes_a_step_on_conversation_sft_and_dpo_files(
    two_models_campaign: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

    from tests.analysis.test_training_export import load_rows, train_one_step, trl_options

    for fmt, trainer_class, config_class in (
        ("sft", SFTTrainer, SFTConfig),
        ("dpo", DPOTrainer, DPOConfig),
    ):
        path = tmp_path / f"{fmt}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for piece in training_export(campaign=two_models_campaign, format_name=fmt).pieces():
                out.write(piece)
        dataset = load_rows(path, tmp_path / "cache")
        config = config_class(**trl_options(tmp_path / fmt))
        trainer, _loss = train_one_step(trainer_class, config, dataset, tiny_model_dir)
        assert trainer.train_dataset.num_rows == dataset.num_rows
