"""A side-by-side campaign's files: the gold export carries both responses, the side each was
shown on and what the gold label says about the two models; the training export makes a
preference pair of each decided item, never across items."""

from __future__ import annotations

import csv
import io

import pytest

from analysis.exports import export_format, gold_export
from analysis.training import training_export
from annotate.models import Campaign, Item
from annotate.services.gold import gold_set
from tests.annotate.builders import (
    campaign_over,
    pairwise_over,
    run_with_responses,
    runs_on_the_same_prompts,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# The gold label of each prompt's pair, as an annotator saw it.
GOLD = ["left_better", "right_better", "tie"]


def settled(models: tuple[str, ...] = ("alpha", "beta")) -> Campaign:
    campaign = pairwise_over(runs_on_the_same_prompts(3, models=models))
    researcher = UserFactory.create(role="researcher")
    items = campaign.items.order_by("response__prompt_id", "pk")
    for item, value in zip(items, GOLD, strict=True):
        gold_set(item=item, value=value, reason="Read both.", user=researcher)
    return campaign


def better_model(item: Item) -> str | None:
    """The model whose answer the gold label prefers, worked out here from the screen's sides."""
    shown = {"left_better": item.left, "right_better": item.right}.get(item.gold.value)
    return shown.run.model_name if shown is not None else None


def test_the_gold_csv_says_which_model_won_through_the_side_each_was_shown_on() -> None:
    campaign = settled()
    export = gold_export(campaign=campaign)
    text = "".join(export_format("csv").pieces(export))
    rows = list(csv.DictReader(io.StringIO(text)))
    # After the item's fields, before the answer to the scheme's question (the reason).
    assert list(rows[0])[-5:] == ["response_b", "model_b", "swapped", "outcome", "q_reason"]
    for row in rows:
        item = Item.objects.select_related("gold", "response_b").get(pk=row["item_id"])
        assert item.response_b is not None
        assert row["response_b"] == item.response_b.text
        assert row["swapped"] == str(item.swapped)
        winner = better_model(item)
        expected = {
            None: "tie",
            row["model"]: "a_wins",
            row["model_b"]: "b_wins",
        }[winner]
        assert row["outcome"] == expected
        assert row["gold_label"] == item.gold.value  # as the annotators saw it


def test_a_single_campaign_export_has_no_side_by_side_columns() -> None:
    export = gold_export(campaign=campaign_over(run_with_responses(2)))
    assert "response_b" not in export.columns()


def test_each_decided_pair_is_one_preference_row_and_a_tie_none() -> None:
    campaign = settled()
    export = training_export(campaign=campaign, format_name="dpo")
    rows = list(export.rows())
    assert len(rows) == 2
    for row in rows:
        item = Item.objects.select_related("gold").get(pk=row["chosen_item_id"])
        left, right = item.left, item.right
        assert right is not None
        better, worse = (left, right) if item.gold.value == "left_better" else (right, left)
        assert row["chosen"][0]["content"] == better.text
        assert row["rejected"][0]["content"] == worse.text
        assert row["prompt"][0]["content"] == item.response.prompt.text
    assert "tie 1" in export.summary("x")
    kto = list(training_export(campaign=campaign, format_name="kto").rows())
    assert sorted(row["label"] for row in kto) == [False, False, True, True]


def test_three_models_on_one_prompt_are_never_paired_across_items() -> None:
    campaign = pairwise_over(runs_on_the_same_prompts(1, models=("alpha", "beta", "gamma")))
    researcher = UserFactory.create(role="researcher")
    for item in campaign.items.all():
        gold_set(item=item, value="left_better", reason="Read both.", user=researcher)
    rows = list(training_export(campaign=campaign, format_name="dpo").rows())
    assert len(rows) == 3  # one per pair of models, not every winner with every loser
    assert all(row["chosen"] != row["rejected"] for row in rows)
