"""Starting runs and creating campaigns through the API: the services do the work, and what
they refuse comes back as a 400 that names the field."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from annotate.models import Campaign, Item
from inference.models import GenerationRun, ModelSpec
from inference.services import model_spec_save
from runs.models import Chunk, RunStatus
from tests.api.conftest import CATEGORIES, World
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def remote_spec() -> ModelSpec:
    return model_spec_save(
        name="remote",
        backend="openai",
        settings={"base_url": "http://127.0.0.1:9/v1", "model": "m"},
    )


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Doorbells for queued chunks, recorded instead of sent (no broker in these tests)."""
    rung: list[str] = []
    from runs import chunks

    monkeypatch.setattr(chunks, "ring", lambda queue, **kwargs: rung.append(queue))
    return rung


def test_a_researcher_starts_a_run_and_its_chunks_are_queued_after_commit(
    world: World,
    remote_spec: ModelSpec,
    queued: list[str],
    researcher_api: APIClient,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = researcher_api.post(
            "/api/runs/",
            {
                "benchmark": "coconot",
                "model_spec": "remote",
                "categories": [CATEGORIES[1]],
                "limit": 1,
                "judges_after": ["keyword"],
            },
            format="json",
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"].endswith(f"/api/runs/{body['id']}/")
    assert (body["model_name"], body["total"], body["done"]) == ("remote", 1, 0)
    assert body["judges_after"] == ["keyword"]
    run = GenerationRun.objects.get(pk=body["id"])
    assert run.status == RunStatus.RUNNING
    assert run.created_by is not None
    assert queued == ["default"]  # one chunk, rung after the commit
    assert list(Chunk.objects.values_list("job_id", flat=True)) == [run.pk]


def test_a_model_spec_can_be_named_by_its_id(
    world: World, remote_spec: ModelSpec, researcher_api: APIClient
) -> None:
    response = researcher_api.post(
        "/api/runs/", {"benchmark": "coconot", "model_spec": remote_spec.pk}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["total"] == 4


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"benchmark": "nope"}, {"benchmark": ["Object with slug=nope does not exist."]}),
        ({"model_spec": "nope"}, {"model_spec": ["No model spec is named or numbered 'nope'."]}),
        ({"limit": 0}, {"limit": ["Ensure this value is greater than or equal to 1."]}),
        (
            {"judges_after": ["nobody"]},
            {"judges_after": ["No judge 'nobody'; give a name (its newest version) or NAME@N."]},
        ),
        (
            {"categories": ["Made up"]},
            {"non_field_errors": ["Benchmark 'coconot' has no category Made up."]},
        ),
    ],
)
def test_a_run_that_cannot_start_is_a_400_naming_the_field(
    change: dict[str, Any],
    errors: dict[str, list[str]],
    world: World,
    remote_spec: ModelSpec,
    researcher_api: APIClient,
) -> None:
    before = GenerationRun.objects.count()
    body = {"benchmark": "coconot", "model_spec": "remote"} | change
    response = researcher_api.post("/api/runs/", body, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert GenerationRun.objects.count() == before


def test_a_researcher_creates_a_campaign_with_a_built_in_scheme(
    world: World, researcher_api: APIClient
) -> None:
    response = researcher_api.post(
        "/api/campaigns/",
        {
            "name": "Second look",
            "runs": [world.run.pk],
            "sampling": "random",
            "sample_size": 2,
            "seed": 7,
            "overlap": 1,
            "scheme": "xstest",
            "guidelines": "Read *carefully*.",
            "annotators": [world.people[0].username],
            "reservation_minutes": 10,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"].endswith(f"/api/campaigns/{body['id']}/")
    assert (body["item_count"], body["overlap"], body["sampling"]) == (2, 1, "random")
    assert body["label_scheme"]["choices"][0]["value"] == "full_compliance"
    assert body["annotators"] == [world.people[0].username]
    campaign = Campaign.objects.get(pk=body["id"])
    assert campaign.created_by is not None
    assert campaign.reservation_minutes == 10


def test_a_researcher_creates_an_active_campaign_and_its_items_carry_their_chances(
    world: World, researcher_api: APIClient
) -> None:
    response = researcher_api.post(
        "/api/campaigns/",
        {
            "name": "Active",
            "runs": [world.run.pk],
            "sampling": "active",
            "sample_size": 2,
            "sampling_judges": ["keyword"],
            "active_uniform_share": 0.5,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["sampling"], body["active_uniform_share"], body["item_count"]) == (
        "active",
        0.5,
        2,
    )
    # The keyword judge gives no score and its calls agree with themselves: no response is
    # less certain than another, so active sampling is uniform, 2 of the 4.
    probabilities = Item.objects.filter(campaign_id=body["id"]).values_list(
        "inclusion_probability", flat=True
    )
    assert list(probabilities) == [0.5, 0.5]


def test_a_custom_scheme_can_be_given_as_json(world: World, researcher_api: APIClient) -> None:
    scheme = {"name": "Yes or no", "choices": [{"value": "yes"}, {"value": "no"}]}
    response = researcher_api.post(
        "/api/campaigns/",
        {"name": "Custom", "runs": [world.run.pk], "custom_scheme": scheme},
        format="json",
    )
    assert response.status_code == 201, response.json()
    choices = response.json()["label_scheme"]["choices"]
    assert [(c["value"], c["key"]) for c in choices] == [("yes", "1"), ("no", "2")]


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        (
            {"custom_scheme": {"choices": [{"value": "only"}]}},
            {"custom_scheme": ["Label scheme needs 2 to 9 choices, not 1."]},
        ),
        (
            {"custom_scheme": "{not json"},
            {
                "custom_scheme": [
                    "Label scheme is not valid JSON: Expecting property name enclosed in double "
                    "quotes (line 1)."
                ]
            },
        ),
        (
            {"scheme": "xstest", "custom_scheme": {"choices": []}},
            {"custom_scheme": ["A custom scheme needs scheme 'custom', not 'xstest'."]},
        ),
        ({"scheme": "custom"}, {"custom_scheme": ["Scheme 'custom' needs a custom_scheme."]}),
        ({"scheme": "likert"}, {"scheme": ['"likert" is not a valid choice.']}),
        ({"overlap": 0}, {"overlap": ["Ensure this value is greater than or equal to 1."]}),
        ({"runs": [999999]}, {"runs": ['Invalid pk "999999" - object does not exist.']}),
        ({"runs": []}, {"non_field_errors": ["Choose at least one generation run."]}),
        (
            {"sampling": "judge_disagreement", "sample_size": 2},
            {"non_field_errors": ["Sampling by judge disagreement needs at least one judge."]},
        ),
        (
            {"sampling": "active", "sample_size": 2},
            {
                "sampling_judges": [
                    "Active sampling needs at least one judge whose uncertainty it follows."
                ]
            },
        ),
        (
            {"sampling": "neyman", "sample_size": 2, "sampling_judges": ["keyword"]},
            {
                "pilot": [
                    "Neyman allocation needs a pilot campaign and exactly one sampling judge: "
                    "it gives more labels to the categories where the pilot shows that judge "
                    "erring most."
                ]
            },
        ),
        (
            {"sampling": "active", "sample_size": 2, "active_uniform_share": 0},
            {"active_uniform_share": ["Ensure this value is greater than or equal to 0.01."]},
        ),
    ],
)
def test_a_campaign_that_cannot_be_created_is_a_400_naming_the_field(
    change: dict[str, Any], errors: dict[str, list[str]], world: World, researcher_api: APIClient
) -> None:
    before = Campaign.objects.count()
    body = {"name": "Broken", "runs": [world.run.pk]} | change
    response = researcher_api.post("/api/campaigns/", body, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert Campaign.objects.count() == before


def test_only_annotators_can_be_put_on_a_campaign(world: World, researcher_api: APIClient) -> None:
    other = UserFactory.create(role="researcher")
    response = researcher_api.post(
        "/api/campaigns/",
        {"name": "People", "runs": [world.run.pk], "annotators": [other.username]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "annotators": [f"Object with username={other.username} does not exist."]
    }
