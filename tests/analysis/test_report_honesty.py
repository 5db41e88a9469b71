"""Pages that never mislead: one figure has one interval wherever it is shown, and any other kind
of interval says what it is; each column says which way is better for it; a small run's chart
shows what it has, and two runs of one model are told apart."""

from __future__ import annotations

import html
import re

import pytest
from rest_framework.test import APIClient

from benchmarks.models import Prompt
from inference.models import GenerationRun
from judging.models import Judge
from tests.analysis.test_report_pages import judge_all, labelled_campaign, page_text, researcher
from tests.annotate.builders import run_with_responses
from tests.factories import BenchmarkFactory, UserFactory

pytestmark = pytest.mark.django_db

# 23 of 30: the keyword judge's 76.7% of the issue.
JUDGE_SAYS = ["complied"] * 23 + ["not_complied"] * 7


def bracket(text: str, figure: str) -> str:
    found = re.search(re.escape(figure) + r" \[[\d.]+, [\d.]+\]", text)
    assert found is not None, text
    return found.group(0)


def chart_of(content: bytes) -> str:
    page = content.decode()
    return html.unescape(page[page.index("<svg") : page.index("</svg>")])


def test_the_judges_rate_has_the_same_bracket_on_the_run_report_and_the_agreement_report() -> None:
    gold = ["complied"] * 20 + ["not_complied"] * 10
    campaign, run = labelled_campaign(gold, gold)
    judge_all(run, Judge.objects.get(name="keyword"), JUDGE_SAYS)
    client = researcher()

    run_report = page_text(client.get(f"/analysis/runs/?run={run.pk}").content)
    answer = client.get(f"/analysis/campaigns/{campaign.pk}/")
    agreement = page_text(answer.content)
    corrected = agreement[agreement.index("Compliance rate, corrected with the gold labels") :]

    assert bracket(corrected, "76.7%") == bracket(run_report, "76.7%")
    # The corrected figure's interval is not a bootstrap one, and says so.
    assert "Corrected PPI 95% CI" in corrected
    assert "Gold labels only 95% normal-approximation CI" in corrected
    assert 'title="PPI 95% CI, n=30"' in answer.content.decode()


def test_the_api_gives_the_same_interval_for_the_same_figure_and_says_how_each_was_made() -> None:
    gold = ["complied"] * 20 + ["not_complied"] * 10
    campaign, run = labelled_campaign(gold, gold)
    judge_all(run, Judge.objects.get(name="keyword"), JUDGE_SAYS)
    api = APIClient()
    api.force_authenticate(UserFactory.create(role="researcher"))

    rate = api.get(f"/api/runs/{run.pk}/report/").json()["overall"]["cells"][0]["rate"]
    (row,) = api.get(f"/api/campaigns/{campaign.pk}/report/").json()["corrected"]

    assert row["report"]["judge_only"] == rate
    assert rate["interval"] == "bootstrap"
    assert row["report"]["corrected"]["interval"] == "ppi"
    assert row["report"]["classical"]["interval"] == "normal"


def test_comparing_a_noncompliance_run_with_a_contrast_run_says_which_way_is_better_for_each() -> (
    None
):
    keyword = Judge.objects.get(name="keyword")
    refusals = run_with_responses(20, model_name="refuses")
    over_refusals = run_with_responses(
        20, model_name="answers", benchmark=BenchmarkFactory.create(kind="contrast")
    )
    judge_all(refusals, keyword, ["complied"] * 5 + ["not_complied"] * 15)
    judge_all(over_refusals, keyword, ["complied"] * 15 + ["not_complied"] * 5)

    content = researcher().get(f"/analysis/runs/?run={refusals.pk}&run={over_refusals.pk}").content
    text = page_text(content)

    head = page_text(re.search(rb"<thead>.*?</thead>", content, re.S).group(0))  # type: ignore[union-attr]
    assert head.startswith("Category refuses")
    assert head.index("noncompliance: lower is better") < head.index("answers")
    assert head.index("contrast: higher is better") > head.index("answers")
    assert "On a noncompliance benchmark the model should not comply" in text
    assert "On a contrast benchmark the prompts are safe to answer" in text


def small_run(model_name: str = "model-under-test", **kwargs: object) -> GenerationRun:
    """12 responses over four categories: 3 each, too few for a figure per category."""
    run = run_with_responses(12, model_name=model_name, **kwargs)  # type: ignore[arg-type]
    for index, response in enumerate(run.responses.order_by("pk")):
        Prompt.objects.filter(pk=response.prompt_id).update(category=f"Category {index % 4}")
    return run


def test_a_small_runs_chart_shows_the_overall_bar_and_marks_what_has_too_few_items() -> None:
    run = small_run()
    judge_all(run, Judge.objects.get(name="keyword"), ["complied", "not_complied", "neither"] * 4)

    svg = chart_of(researcher().get(f"/analysis/runs/?run={run.pk}").content)

    assert "All categories" in svg
    assert 'id="bar-0-0"' in svg  # the overall bar: 12 judged items are enough
    assert svg.count("too few (n=3)") == 4  # a point per category, not an empty row
    assert 'id="too-few-0-1"' in svg and 'id="too-few-0-4"' in svg
    assert "too few items for a figure: observed share" in svg  # the legend says what they are


def test_two_runs_of_one_model_have_their_own_legend_entries() -> None:
    keyword = Judge.objects.get(name="keyword")
    first = small_run("SmolLM2")
    second = small_run("SmolLM2", benchmark=first.benchmark)
    judge_all(first, keyword, ["complied"] * 12)
    judge_all(second, keyword, ["not_complied"] * 12)

    svg = chart_of(researcher().get(f"/analysis/runs/?run={first.pk}&run={second.pk}").content)

    assert f"SmolLM2 (run {first.pk}) · keyword" in svg
    assert f"SmolLM2 (run {second.pk}) · keyword" in svg
