"""The read endpoints: what each list shows, its filters, its pages, and what a page costs."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from annotate.models import GoldLabel, Label
from inference.models import Response
from judging.models import Verdict
from tests.api.conftest import CATEGORIES, World, build_world

pytestmark = pytest.mark.django_db


def ids(page: dict[str, Any]) -> list[int]:
    return [row["id"] for row in page["results"]]


def test_benchmarks_list_with_prompt_counts_and_open_by_slug(
    world: World, researcher_api: APIClient
) -> None:
    page = researcher_api.get("/api/benchmarks/").json()
    assert page["count"] == 1
    assert page["results"][0]["slug"] == "coconot"
    assert page["results"][0]["prompt_count"] == 4
    detail = researcher_api.get("/api/benchmarks/coconot/").json()
    assert detail["expected_behaviour"] == "not_comply"
    assert researcher_api.get("/api/benchmarks/no-such-thing/").status_code == 404


def test_prompts_filter_by_benchmark_category_and_subcategory(
    world: World, researcher_api: APIClient
) -> None:
    build_world(size=2, slug="other")
    assert len(ids(researcher_api.get("/api/prompts/").json())) == 6
    by_benchmark = researcher_api.get("/api/prompts/", {"benchmark": "coconot"}).json()
    assert {row["benchmark"] for row in by_benchmark["results"]} == {"coconot"}
    assert len(by_benchmark["results"]) == 4
    humanizing = researcher_api.get(
        "/api/prompts/", {"benchmark": "coconot", "category": CATEGORIES[1]}
    ).json()
    assert [row["category"] for row in humanizing["results"]] == [CATEGORIES[1]] * 2
    personal = researcher_api.get("/api/prompts/", {"subcategory": "personal questions"}).json()
    assert len(personal["results"]) == 3


def test_runs_show_their_progress_counted_from_responses(
    world: World, researcher_api: APIClient
) -> None:
    run = researcher_api.get(f"/api/runs/{world.run.pk}/").json()
    assert (run["benchmark"], run["total"], run["done"], run["status"]) == ("coconot", 4, 4, "done")


def test_responses_filter_by_run_and_category(world: World, researcher_api: APIClient) -> None:
    other = build_world(size=2, slug="other")
    page = researcher_api.get("/api/responses/", {"run": other.run.pk}).json()
    assert ids(page) == sorted(other.run.responses.values_list("pk", flat=True))
    page = researcher_api.get(
        "/api/responses/", {"run": str(world.run.pk), "category": CATEGORIES[0]}
    ).json()
    expected = Response.objects.filter(run=world.run, prompt__category=CATEGORIES[0])
    assert ids(page) == sorted(expected.values_list("pk", flat=True))
    assert page["results"][0]["category"] == CATEGORIES[0]


def test_verdicts_filter_by_run_judge_label_and_category(
    world: World, researcher_api: APIClient
) -> None:
    build_world(size=2, slug="other")
    complied = researcher_api.get(
        "/api/verdicts/", {"run": str(world.run.pk), "judge": "keyword", "label": "complied"}
    ).json()
    assert [(row["judge"], row["label"]) for row in complied["results"]] == [
        ("keyword", "complied")
    ] * 2
    by_category = researcher_api.get("/api/verdicts/", {"category": CATEGORIES[1]}).json()
    assert len(by_category["results"]) == 3
    by_judge_run = researcher_api.get("/api/verdicts/", {"judge_run": world.judge_run.pk}).json()
    assert len(by_judge_run["results"]) == 4
    assert researcher_api.get("/api/verdicts/", {"judge": "nobody"}).json()["results"] == []


def test_labels_name_their_annotator_and_filter_by_campaign_and_value(
    world: World, researcher_api: APIClient
) -> None:
    other = build_world(size=2, slug="other")
    page = researcher_api.get("/api/labels/", {"campaign": world.campaign.pk}).json()
    assert len(page["results"]) == 8
    assert {row["annotator"] for row in page["results"]} == {p.username for p in world.people}
    disagreeing = researcher_api.get(
        "/api/labels/", {"campaign": str(world.campaign.pk), "label": "not_complied"}
    ).json()
    assert [row["annotator"] for row in disagreeing["results"]] == [world.people[1].username] * 2
    assert len(researcher_api.get("/api/labels/").json()["results"]) == Label.objects.count()
    assert other.campaign.pk not in {row["campaign"] for row in page["results"]}


def test_gold_labels_filter_by_campaign_value_and_source(
    world: World, researcher_api: APIClient
) -> None:
    build_world(size=2, slug="other")
    page = researcher_api.get("/api/gold-labels/", {"campaign": world.campaign.pk}).json()
    # Two even items the annotators agreed on, one odd item a researcher settled.
    assert sorted((row["value"], row["source"]) for row in page["results"]) == [
        ("complied", "majority"),
        ("complied", "majority"),
        ("not_complied", "adjudicated"),
    ]
    settled = researcher_api.get(
        "/api/gold-labels/", {"campaign": str(world.campaign.pk), "source": "adjudicated"}
    ).json()["results"]
    assert [(row["decided_by"], row["reason"]) for row in settled] == [
        (world.researcher.username, "A clarifying question.")
    ]
    assert len(
        researcher_api.get("/api/gold-labels/", {"label": "complied"}).json()["results"]
    ) == (GoldLabel.objects.filter(value="complied").count())


def test_labels_and_gold_labels_filter_by_run_and_category(
    world: World, researcher_api: APIClient
) -> None:
    other = build_world(size=2, slug="other")

    def values(path: str, **query: str | int) -> list[str]:
        return sorted(row["value"] for row in researcher_api.get(path, query).json()["results"])

    assert len(values("/api/labels/", run=world.run.pk)) == 8
    assert len(values("/api/labels/", run=other.run.pk)) == 4
    # Odd responses are the humanizing ones: the first annotator said complied, the second not.
    humanizing = values("/api/labels/", run=world.run.pk, category="Humanizing requests")
    assert humanizing == ["complied", "complied", "not_complied", "not_complied"]
    assert values("/api/gold-labels/", run=world.run.pk, category="Incomplete requests") == [
        "complied",
        "complied",
    ]
    assert values("/api/gold-labels/", run=world.run.pk, category="Humanizing requests") == [
        "not_complied"
    ]
    assert values("/api/gold-labels/", run=world.run.pk, category="No such category") == []
    refused = researcher_api.get("/api/gold-labels/", {"run": "two"})
    assert refused.status_code == 400
    assert refused.json() == {"run": ["run must be an id (a positive whole number), not 'two'."]}


def test_campaigns_show_their_settings_people_and_size(
    world: World, researcher_api: APIClient
) -> None:
    campaign = researcher_api.get(f"/api/campaigns/{world.campaign.pk}/").json()
    assert campaign["runs"] == [world.run.pk]
    assert campaign["item_count"] == 4
    assert sorted(campaign["annotators"]) == sorted(p.username for p in world.people)
    assert campaign["label_scheme"]["choices"][0]["value"] == "not_complied"


def test_judges_list_by_name(world: World, researcher_api: APIClient) -> None:
    names = [row["name"] for row in researcher_api.get("/api/judges/").json()["results"]]
    assert "keyword" in names
    assert names == sorted(names)


@pytest.mark.parametrize(
    ("url", "query", "message"),
    [
        ("/api/responses/", "run=abc", "run must be an id (a positive whole number), not 'abc'."),
        ("/api/verdicts/", "run=-3", "run must be an id (a positive whole number), not '-3'."),
        (
            "/api/labels/",
            "campaign=1.5",
            "campaign must be an id (a positive whole number), not '1.5'.",
        ),
        (
            "/api/verdicts/",
            "label=maybe",
            "label must be one of complied, not_complied, neither, unparseable, error, "
            "not 'maybe'.",
        ),
        (
            "/api/gold-labels/",
            "source=vote",
            "source must be one of majority, adjudicated, not 'vote'.",
        ),
        (
            "/api/prompts/",
            "category=a%00b",
            "The field 'category' contains a NUL character (\\u0000), which cannot be stored.",
        ),
        (
            "/api/verdicts/",
            "page_size=0",
            "page_size must be a whole number from 1 to 1000, not '0'.",
        ),
        (
            "/api/responses/",
            "run=99999999999999999999",
            "run must be an id (a positive whole number), not '99999999999999999999'.",
        ),
    ],
)
def test_a_bad_filter_value_is_a_400_with_one_sentence(
    url: str, query: str, message: str, world: World, researcher_api: APIClient
) -> None:
    response = researcher_api.get(f"{url}?{query}")
    assert response.status_code == 400
    assert response.json() == {query.split("=")[0]: [message]}


def test_a_cursor_walks_every_row_once_in_id_order(world: World, researcher_api: APIClient) -> None:
    seen: list[int] = []
    url: str | None = "/api/verdicts/?page_size=3"
    while url:
        page = researcher_api.get(url).json()
        seen += ids(page)
        url = page["next"]
    assert seen == sorted(Verdict.objects.values_list("pk", flat=True))
    assert len(seen) == 4


@pytest.mark.parametrize("cursor", ["not-a-cursor", "cD1hYmM=", "cD0tMQ=="])  # p=abc, p=-1
def test_a_made_up_cursor_is_a_404(cursor: str, world: World, researcher_api: APIClient) -> None:
    response = researcher_api.get("/api/verdicts/", {"cursor": cursor})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid cursor"}


def test_an_unknown_path_is_a_json_404_and_a_missing_slash_still_redirects(
    world: World, researcher_api: APIClient
) -> None:
    response = researcher_api.get("/api/benchmarks/coconot/extra/")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
    redirect = researcher_api.get("/api/benchmarks")
    assert (redirect.status_code, redirect["Location"]) == (301, "/api/benchmarks/")


def test_a_page_past_the_end_is_a_404(world: World, researcher_api: APIClient) -> None:
    assert researcher_api.get("/api/runs/", {"page": 9}).status_code == 404


LISTS = [
    "/api/benchmarks/",
    "/api/prompts/",
    "/api/runs/",
    "/api/responses/",
    "/api/judges/",
    "/api/verdicts/",
    "/api/campaigns/",
    "/api/labels/",
    "/api/gold-labels/",
]


@pytest.mark.parametrize("url", LISTS)
def test_a_list_page_costs_the_same_queries_however_many_rows_it_holds(
    url: str, world: World, researcher_api: APIClient
) -> None:
    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = researcher_api.get(url)
        assert response.status_code == 200
        return len(captured), len(response.json()["results"])

    few, few_rows = queries()
    for n in range(3):
        build_world(size=6, slug=f"more-{n}")
    many, many_rows = queries()
    assert many_rows > few_rows
    assert many == few
