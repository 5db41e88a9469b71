"""Campaigns over conversations through the API (issue 16): ``turns`` is a setting of campaign
creation and shows on the campaign."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from annotate.models import Campaign, Turns
from tests.annotate.builders import annotators, campaign_over, label_all
from tests.annotate.conversation_builders import run_with_conversations
from tests.api.conftest import World

pytestmark = pytest.mark.django_db


def test_a_campaign_of_every_turn_is_created_and_read_back(
    world: World, researcher_api: APIClient
) -> None:
    run = run_with_conversations(3, turns=2, singles=1, benchmark=world.benchmark)
    body = {"name": "Turns", "runs": [run.pk], "overlap": 1, "turns": "every"}
    created = researcher_api.post("/api/campaigns/", body, format="json")
    assert created.status_code == 201, created.json()
    campaign = Campaign.objects.get(pk=created.json()["id"])
    assert (campaign.turns, campaign.items.count(), campaign.pool_size) == (Turns.EVERY, 7, 4)
    read = researcher_api.get(f"/api/campaigns/{campaign.pk}/").json()
    assert (read["turns"], read["item_count"]) == ("every", 7)


def test_a_campaign_labels_the_last_answers_unless_told(
    world: World, researcher_api: APIClient
) -> None:
    run = run_with_conversations(3, turns=2, benchmark=world.benchmark)
    body = {"name": "Last", "runs": [run.pk], "overlap": 1}
    created = researcher_api.post("/api/campaigns/", body, format="json").json()
    assert (created["turns"], created["item_count"]) == ("last", 3)


def test_an_unknown_turns_setting_is_a_400_naming_the_field(
    world: World, researcher_api: APIClient
) -> None:
    body = {"name": "Bad", "runs": [world.run.pk], "turns": "all"}
    refused = researcher_api.post("/api/campaigns/", body, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"turns": ['"all" is not a valid choice.']}


def test_prompts_responses_verdicts_labels_and_gold_say_which_turn(
    world: World, researcher_api: APIClient
) -> None:
    """What the exports carry, the API lists carry too: a prompt's conversation, and the turn
    each response, label and gold label is about."""
    run = run_with_conversations(2, turns=3, benchmark=world.benchmark)
    people = annotators(1)
    campaign = campaign_over(run, people=people, overlap=1, turns=Turns.EVERY)
    label_all(campaign, people[0], "not_complied")
    prompt = run.responses.order_by("pk").first().prompt  # type: ignore[union-attr]

    listed = researcher_api.get(f"/api/prompts/{prompt.pk}/").json()
    assert (listed["user_turns"], listed["messages"]) == (prompt.user_turns, [])

    responses = researcher_api.get(f"/api/responses/?run={run.pk}").json()["results"]
    by_id = {r["id"]: r for r in responses}
    for response in run.responses.all():
        assert by_id[response.pk]["turn"] == response.turn
        assert by_id[response.pk]["messages"] == response.messages
    assert sorted(r["turn"] for r in responses) == [1, 1, 2, 2, 3, 3]

    turn_of = {response.pk: response.turn for response in run.responses.all()}
    labels = researcher_api.get(f"/api/labels/?campaign={campaign.pk}").json()["results"]
    assert len(labels) == 6
    assert all(label["turn"] == turn_of[label["response"]] for label in labels)
    gold = researcher_api.get(f"/api/gold-labels/?campaign={campaign.pk}").json()["results"]
    assert len(gold) == 6  # overlap 1: each label is the item's gold label
    assert all(row["turn"] == turn_of[row["response"]] for row in gold)
