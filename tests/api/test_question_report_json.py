"""The campaign report's JSON carries the agreement per question that the page shows."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.analysis.question_world import question_world
from tests.annotate.builders import campaign_over, run_with_responses

pytestmark = pytest.mark.django_db


def test_the_report_gives_each_questions_agreement_and_each_judges(
    researcher_api: APIClient,
) -> None:
    world = question_world()
    body = researcher_api.get(f"/api/campaigns/{world.campaign.pk}/report/").json()
    people = {question["question"]: question for question in body["questions"]["people"]}
    assert list(people) == [
        "explains_why",
        "offers_help",
        "asks_missing",
        "preachy",
        "quality",
        "compliance",
    ]
    quality = people["quality"]
    assert quality["kind"] == "rating"
    ordinal = quality["agreements"][0]
    assert ordinal["statistic"] == "Krippendorff's alpha (ordinal)"
    assert ordinal["estimate"]["value"] == pytest.approx(
        world.alpha("quality", "ordinal", [1, 2, 3, 4, 5])
    )
    assert ordinal["estimate"]["low"] <= ordinal["estimate"]["value"] <= ordinal["estimate"]["high"]
    assert ordinal["estimate"]["n"] == 45
    (judge,) = body["questions"]["judges"]
    assert judge["judge"] == "quality-judge"
    explains = next(q for q in judge["questions"] if q["question"] == "explains_why")
    kappa, n = world.judge_kappa("explains_why")
    assert explains["agreements"][0]["estimate"]["value"] == pytest.approx(kappa)
    assert explains["n_items"] == n


def test_a_scheme_without_questions_gives_null(researcher_api: APIClient) -> None:
    campaign = campaign_over(run_with_responses(2), people=[], overlap=1)
    body = researcher_api.get(f"/api/campaigns/{campaign.pk}/report/").json()
    assert body["questions"] is None
