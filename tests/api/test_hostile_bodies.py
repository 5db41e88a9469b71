"""Bodies an attacker sends to the API: deeply nested JSON, NUL characters, lone surrogates
and integers too big for their columns. Each is a 400 with one sentence naming the field, and
nothing is written (a 500 before: RecursionError, or PostgreSQL refusing the value)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.numbers import MAX_INT
from annotate.models import Campaign
from inference.models import GenerationRun, ModelSpec
from inference.services import model_spec_save
from tests.api.conftest import World

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000


def post_json(client: APIClient, url: str, text: str) -> Any:
    return client.generic("POST", url, text, content_type="application/json")


def test_deep_json_to_the_token_endpoint_is_a_400_for_anyone(
    client_for: Any,
) -> None:
    response = post_json(client_for("anonymous"), "/api/token/", DEEP)
    assert response.status_code == 400
    assert response.json() == {"detail": "The request body is JSON nested deeper than 32 levels."}


def test_deep_json_inside_a_campaign_is_a_400(world: World, researcher_api: APIClient) -> None:
    body = f'{{"name": "Deep", "runs": [{world.run.pk}], "custom_scheme": {DEEP}}}'
    before = Campaign.objects.count()
    response = post_json(researcher_api, "/api/campaigns/", body)
    assert response.status_code == 400
    assert "nested deeper than 32 levels" in response.json()["detail"]
    assert Campaign.objects.count() == before


@pytest.mark.parametrize(
    ("change", "sentence"),
    [
        (
            {"name": "Pilot\u0000"},
            "The field 'name' contains a NUL character (\\u0000), which cannot be stored.",
        ),
        (
            {"custom_scheme": {"name": "x", "choices": [{"value": "a"}, {"value": "b\ud800"}]}},
            "The field 'custom_scheme.choices.1.value' contains a lone surrogate (such as "
            "\\ud800), which is not valid Unicode.",
        ),
        (
            {"categories": ["Incomplete\u0000"]},
            "The field 'categories.0' contains a NUL character (\\u0000), which cannot be stored.",
        ),
    ],
)
def test_text_the_database_cannot_hold_is_a_400_naming_the_field(
    change: dict[str, Any], sentence: str, world: World, researcher_api: APIClient
) -> None:
    before = Campaign.objects.count()
    body = json.dumps({"name": "Pilot", "runs": [world.run.pk]} | change)  # \u escapes
    response = post_json(researcher_api, "/api/campaigns/", body)
    assert response.status_code == 400
    assert response.json() == {"detail": sentence}
    assert Campaign.objects.count() == before


def test_a_custom_scheme_given_as_a_string_with_an_escaped_nul_is_refused(
    world: World, researcher_api: APIClient
) -> None:
    # The body itself is clean; the NUL appears only once custom_scheme's own JSON is read.
    scheme = '{"name": "n", "choices": [{"value": "a", "help": "\\u0000"}, {"value": "b"}]}'
    body = {"name": "Pilot", "runs": [world.run.pk], "custom_scheme": scheme}
    response = researcher_api.post("/api/campaigns/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "custom_scheme": [
            "The field 'choices.0.help' contains a NUL character (\\u0000), which cannot be stored."
        ]
    }
    assert not Campaign.objects.filter(name="Pilot").exists()


@pytest.mark.parametrize("field", ["seed", "sample_size"])
def test_campaign_integers_above_the_column_are_refused(
    field: str, world: World, researcher_api: APIClient
) -> None:
    body = {"name": "Big", "runs": [world.run.pk], "sampling": "random", "sample_size": 1}
    response = researcher_api.post("/api/campaigns/", body | {field: MAX_INT + 1}, format="json")
    assert response.status_code == 400
    assert response.json() == {field: [f"Ensure this value is less than or equal to {MAX_INT}."]}
    assert not Campaign.objects.filter(name="Big").exists()


def test_a_run_limit_above_the_column_is_refused(world: World, researcher_api: APIClient) -> None:
    spec: ModelSpec = model_spec_save(
        name="remote",
        backend="openai",
        settings={"base_url": "http://127.0.0.1:9/v1", "model": "m"},
    )
    before = GenerationRun.objects.count()
    body = {"benchmark": world.benchmark.slug, "model_spec": spec.name, "limit": 2**31}
    response = researcher_api.post("/api/runs/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"limit": [f"Ensure this value is less than or equal to {MAX_INT}."]}
    assert GenerationRun.objects.count() == before


def test_a_nul_in_a_lookup_value_is_a_400_not_a_database_error(
    world: World, researcher_api: APIClient
) -> None:
    body = json.dumps({"benchmark": "coco\u0000not", "model_spec": "m\u0000"})
    response = post_json(researcher_api, "/api/runs/", body)
    assert response.status_code == 400
    assert "contains a NUL character" in response.json()["detail"]


def test_a_nul_in_a_query_string_is_a_400(world: World, researcher_api: APIClient) -> None:
    response = researcher_api.get("/api/prompts/?benchmark=coco%00not")
    assert response.status_code == 400
    assert response.json() == {
        "benchmark": [
            "The field 'benchmark' contains a NUL character (\\u0000), which cannot be stored."
        ]
    }


def test_nan_which_json_does_not_have_is_a_400(world: World, researcher_api: APIClient) -> None:
    body = f'{{"name": "NaN", "runs": [{world.run.pk}], "custom_scheme": {{"a": NaN}}}}'
    response = post_json(researcher_api, "/api/campaigns/", body)
    assert response.status_code == 400
    assert response.json() == {"detail": "NaN is not a JSON value; send a number or null."}
    assert not Campaign.objects.filter(name="NaN").exists()
