"""Reports through the API: the same figures as the pages, as JSON."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient
from sklearn.metrics import cohen_kappa_score

from benchmarks.models import Prompt
from inference.models import Response
from judging.models import Judge, JudgeRun, Verdict
from tests.annotate.builders import (
    annotators,
    by_response,
    campaign_over,
    label_all,
    run_with_responses,
)

pytestmark = pytest.mark.django_db


def judge_all(run, labels: list[str]) -> None:
    judge_run = JudgeRun.objects.create(
        judge=Judge.objects.get(name="keyword"), run=run, status="done"
    )
    Verdict.objects.bulk_create(
        Verdict(judge_run=judge_run, response=response, label=label)
        for response, label in zip(run.responses.order_by("pk"), labels, strict=True)
    )


def test_a_runs_report_gives_its_compliance_rate_per_category(researcher_api: APIClient) -> None:
    run = run_with_responses(20)
    judge_all(run, ["complied"] * 5 + ["not_complied"] * 14 + ["unparseable"])
    body = researcher_api.get(f"/api/runs/{run.pk}/report/").json()
    assert body["columns"] == [{"run": run.pk, "judge": "keyword"}]
    overall = body["overall"]["cells"][0]
    assert overall["rate"]["value"] == pytest.approx(5 / 19)
    assert (overall["judged"], overall["failed"]) == (19, 1)
    assert [row["name"] for row in body["categories"]] == ["Incomplete requests"]


def test_a_campaigns_report_gives_each_judges_kappa(researcher_api: APIClient) -> None:
    (person,) = annotators(1)
    run = run_with_responses(30)
    judge = ["complied", "not_complied", "neither"] * 10
    human = ["complied"] * 12 + ["not_complied"] * 12 + ["neither"] * 6
    judge_all(run, judge)
    campaign = campaign_over(run, people=[person], overlap=1)
    label_all(campaign, person, by_response(run, human))
    body = researcher_api.get(f"/api/campaigns/{campaign.pk}/report/").json()
    assert body["gold_items"] == 30
    (keyword,) = body["judges"]
    assert keyword["judge"] == "keyword"
    assert keyword["overall"]["kappa"]["value"] == pytest.approx(cohen_kappa_score(human, judge))
    assert keyword["overall"]["confusion"]["labels"][:3] == ["complied", "not_complied", "neither"]
    misses = body["judge_misses"]
    differing = sum(h != j for h, j in zip(human, judge, strict=True))
    assert misses["total"] == len(misses["rows"]) == differing
    assert all(row["verdicts"][0][1] for row in misses["rows"])  # [label, differs from gold]


def test_annotators_get_no_reports(client_for: Callable[[str], APIClient]) -> None:
    campaign = campaign_over(run_with_responses(1), people=annotators(1))
    assert client_for("annotator").get(f"/api/campaigns/{campaign.pk}/report/").status_code == 403


def test_the_corrected_rate_speaks_for_the_responses_the_campaign_could_draw(
    researcher_api: APIClient,
) -> None:
    """Failed generations and responses outside the campaign's category filter are not part
    of the population the labelled sample stands for; the judge's mean leaves them out too."""
    (person,) = annotators(1)
    run = run_with_responses(40, subcategories=("underspecified", "personal questions"))
    responses = list(run.responses.order_by("pk"))
    Response.objects.filter(pk__in=[r.pk for r in responses[30:]]).update(error="timed out")
    Prompt.objects.filter(subcategory="personal questions").update(category="Humanizing requests")
    # A perfect judge: complied on the first 15 responses, not complied after; failures: error.
    judge = ["complied"] * 15 + ["not_complied"] * 15 + ["error"] * 10
    judge_all(run, judge)
    campaign = campaign_over(run, people=[person], overlap=1, categories=["Incomplete requests"])
    label_all(campaign, person, by_response(run, judge))
    (corrected,) = researcher_api.get(f"/api/campaigns/{campaign.pk}/report/").json()["corrected"]
    drawable = [
        label
        for response, label in zip(responses, judge, strict=True)
        if response.prompt.subcategory == "underspecified" and label != "error"
    ]
    report = corrected["report"]
    assert report["n_all"] == report["n_labelled"] == len(drawable) == 15
    assert report["failed_all"] == 0
    expected = drawable.count("complied") / len(drawable)
    assert report["corrected"]["value"] == pytest.approx(expected)
    assert report["judge_only"]["value"] == pytest.approx(expected)


def test_the_corrected_rate_is_the_judges_rate_plus_the_mean_error_on_the_sample(
    researcher_api: APIClient,
) -> None:
    """PPI by hand: mean of the judge's complied over all 30 responses, plus the mean of
    (gold complied - judge complied) over the 12 drawn at random and labelled."""
    (person,) = annotators(1)
    run = run_with_responses(30)
    judge = ["complied"] * 20 + ["not_complied"] * 10
    human = ["complied"] * 14 + ["not_complied"] * 16  # the judge is wrong on responses 14-19
    judge_all(run, judge)
    campaign = campaign_over(run, people=[person], overlap=1, sampling="random", sample_size=12)
    label_all(campaign, person, by_response(run, human))
    order = list(run.responses.order_by("pk").values_list("pk", flat=True))
    drawn = [order.index(r) for r in campaign.items.values_list("response_id", flat=True)]
    rectifier = [(human[i] == "complied") - (judge[i] == "complied") for i in drawn]
    expected = judge.count("complied") / 30 + sum(rectifier) / len(drawn)
    (corrected,) = researcher_api.get(f"/api/campaigns/{campaign.pk}/report/").json()["corrected"]
    assert corrected["report"]["n_labelled"] == 12
    assert corrected["report"]["corrected"]["value"] == pytest.approx(expected)
    assert corrected["report"]["judge_only"]["value"] == pytest.approx(20 / 30)
