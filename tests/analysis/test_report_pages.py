"""The run report and the agreement report, as a researcher sees them, with figures checked
against scikit-learn and krippendorff."""

from __future__ import annotations

import html
import re

import krippendorff
import numpy as np
import pytest
from django.test import Client
from sklearn.metrics import cohen_kappa_score, f1_score

from annotate.models import GoldLabel, Label
from annotate.services.gold import gold_set
from benchmarks.models import Prompt
from demo.services import demo_labels_seed
from inference.models import GenerationRun
from judging.models import Judge, JudgeRun, Verdict
from tests.annotate.builders import (
    annotators,
    by_response,
    campaign_over,
    label_all,
    run_with_responses,
)
from tests.factories import BenchmarkFactory, UserFactory

pytestmark = pytest.mark.django_db


def researcher() -> Client:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    return client


def judge_all(run: GenerationRun, judge: Judge, labels: list[str]) -> None:
    judge_run = JudgeRun.objects.create(judge=judge, run=run, status="done")
    responses = run.responses.order_by("pk")
    Verdict.objects.bulk_create(
        Verdict(judge_run=judge_run, response=response, label=label)
        for response, label in zip(responses, labels, strict=True)
    )


def page_text(content: bytes) -> str:
    """The page as a person reads it: no tags, single spaces."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", content.decode())).split())


def test_the_run_report_shows_each_runs_compliance_rate_per_category_and_subcategory() -> None:
    keyword = Judge.objects.get(name="keyword")
    first = run_with_responses(40, subcategories=("underspecified", "false premise"))
    second = run_with_responses(40, model_name="other-model", benchmark=first.benchmark)
    judge_all(first, keyword, ["complied"] * 10 + ["not_complied"] * 30)
    judge_all(second, keyword, ["complied"] * 30 + ["neither"] * 8 + ["unparseable"] * 2)
    answer = researcher().get(f"/analysis/runs/?run={first.pk}&run={second.pk}")
    text = page_text(answer.content)
    assert answer.status_code == 200
    assert "25.0%" in text  # 10 of 40
    assert "78.9%" in text  # 30 of 38 judged: neither counts, unparseable does not
    assert "2 without verdict" in text
    assert "underspecified" in text and "false premise" in text
    assert "<svg" in answer.content.decode()


def test_a_subcategory_with_too_few_responses_says_so() -> None:
    keyword = Judge.objects.get(name="keyword")
    run = run_with_responses(12, subcategories=("big",) * 11 + ("tiny",))
    judge_all(run, keyword, ["complied"] * 12)
    text = page_text(researcher().get(f"/analysis/runs/?run={run.pk}").content)
    assert "too few items" in text


def labelled_campaign(gold: list[str], second_opinion: list[str]):
    """Two annotators label every item; a researcher settles the disagreements with ``gold``."""
    people = annotators(2)
    run = run_with_responses(len(gold))
    campaign = campaign_over(run, people=people, overlap=2)
    response_ids = list(run.responses.order_by("pk").values_list("pk", flat=True))
    for person, values in zip(people, (gold, second_opinion), strict=True):
        label_all(campaign, person, by_response(run, values))
    boss = UserFactory.create(role="researcher")
    for item in campaign.items.filter(gold__isnull=True):
        index = response_ids.index(item.response_id)
        gold_set(item=item, value=gold[index], reason="settled", user=boss)
    return campaign, run


def test_the_agreement_report_gives_the_judges_kappa_as_scikit_learn_does() -> None:
    rng = np.random.default_rng(4)
    classes = ["complied", "not_complied", "neither"]
    gold = list(rng.choice(classes, size=60, p=[0.5, 0.4, 0.1]))
    judge = [g if rng.random() < 0.75 else str(rng.choice(classes)) for g in gold]
    second = [g if rng.random() < 0.8 else str(rng.choice(classes)) for g in gold]
    campaign, run = labelled_campaign(gold, second)
    judge_all(run, Judge.objects.get(name="keyword"), judge)
    answer = researcher().get(f"/analysis/campaigns/{campaign.pk}/")
    assert answer.status_code == 200
    text = page_text(answer.content)
    kappa = cohen_kappa_score(gold, judge)
    assert f"{kappa:.2f} [" in text
    alpha = krippendorff.alpha(
        reliability_data=[[classes.index(v) for v in gold], [classes.index(v) for v in second]],
        level_of_measurement="nominal",
    )
    assert f"{alpha:.2f} [" in text
    assert "60 of 60 items have a gold label" in text
    assert "Corrected" in text and "Prediction-powered inference" in text
    assert answer.content.decode().count("<svg") == 1  # one judge, one confusion heat map


# How the page marks a subcategory row (a right-pointing angle quote).
SUBCATEGORY_MARK = "\u203a"


def figures_of(text: str, subcategory: str) -> str:
    """The figures on a subcategory's row of the by-place table."""
    return text.split(f"{SUBCATEGORY_MARK} {subcategory}")[1].split(SUBCATEGORY_MARK)[0]


def test_each_judge_gets_every_figure_per_category_and_subcategory() -> None:
    rng = np.random.default_rng(7)
    people = annotators(1)
    subcategories = ("underspecified", "false presuppositions", "personal questions")
    run = run_with_responses(90, subcategories=subcategories)
    Prompt.objects.filter(subcategory="personal questions").update(category="Humanizing requests")
    gold = [str(rng.choice(["complied", "not_complied"])) for _ in range(90)]
    wrong = {"complied": "neither", "not_complied": "complied"}
    judge = [g if rng.random() < 0.8 else wrong[g] for g in gold]
    judge_all(run, Judge.objects.get(name="keyword"), judge)
    campaign = campaign_over(run, people=people, overlap=1)
    label_all(campaign, people[0], by_response(run, gold))
    text = page_text(researcher().get(f"/analysis/campaigns/{campaign.pk}/").content)
    for n, subcategory in enumerate(subcategories):
        rows = range(n, 90, 3)  # run_with_responses deals subcategories out in turn
        g, j = [gold[i] for i in rows], [judge[i] for i in rows]
        kappa = cohen_kappa_score(g, j)
        accuracy = 100 * np.mean([a == b for a, b in zip(g, j, strict=True)])
        f1 = f1_score(g, j, labels=["not_complied"], average="macro")
        figures = figures_of(text, subcategory)
        assert figures.startswith(f" {kappa:.2f} [")
        assert f" {accuracy:.1f}% [" in figures and f" {f1:.2f} [" in figures
    incomplete = [i for i in range(90) if i % 3 != 2]
    kappa = cohen_kappa_score([gold[i] for i in incomplete], [judge[i] for i in incomplete])
    assert f"Incomplete requests {kappa:.2f} [" in text


def test_two_judges_are_compared_on_the_same_gold_items() -> None:
    gold = ["complied", "not_complied"] * 15
    campaign, run = labelled_campaign(gold, gold)
    judge_all(run, Judge.objects.get(name="keyword"), gold)  # perfect
    worse = Judge.objects.create(name="coin", kind="keyword")
    judge_all(run, worse, ["complied"] * 30)
    text = page_text(researcher().get(f"/analysis/campaigns/{campaign.pk}/").content)
    assert "keyword is better" in text


def test_items_where_a_judge_differs_from_gold_are_listed_and_open_on_the_review_page() -> None:
    gold = ["complied", "not_complied"] * 15  # both annotators agree: majority gold everywhere
    campaign, run = labelled_campaign(gold, gold)
    keyword = list(gold)
    keyword[4] = "neither"  # the only item keyword gets wrong
    judge_all(run, Judge.objects.get(name="keyword"), keyword)
    judge_all(run, Judge.objects.create(name="coin", kind="keyword"), ["complied"] * 30)
    client = researcher()
    page = client.get(f"/analysis/campaigns/{campaign.pk}/").content.decode()
    # coin misses the 15 "not_complied" items, keyword one "complied" item: 16 in all.
    assert "16 of 30 gold items have a judge saying something else" in page_text(page.encode())
    links = re.findall(
        rf'href="(/campaigns/{campaign.pk}/review/\?item=(\d+)&amp;verdicts=1)"', page
    )
    assert len(links) == 16
    misses = page.split('id="misses"')[1].split("</table>")[0]
    assert ">Did not comply <span" in misses and ">Neither</td>" in misses  # names, not values
    assert "not_complied<" not in misses and ">neither<" not in misses
    missed_by_keyword = campaign.items.get(response=run.responses.order_by("pk")[4])
    url = html.unescape({int(item): url for url, item in links}[missed_by_keyword.pk])
    review = page_text(client.get(url).content)
    assert f"Item {missed_by_keyword.pk}" in review
    assert "keyword: Neither" in review and "coin: Complied" in review
    assert "Gold: Complied (Annotators agreed)" in review


def test_the_review_page_does_not_open_another_campaigns_item() -> None:
    mine = campaign_over(run_with_responses(2), people=annotators(1))
    theirs = campaign_over(run_with_responses(2), people=annotators(1))
    other_item = theirs.items.get(position=0)
    answer = researcher().get(f"/campaigns/{mine.pk}/review/?item={other_item.pk}")
    assert answer.status_code == 404


def test_demo_labels_fill_the_report_which_says_they_are_demo_and_what_is_unsettled() -> None:
    run = run_with_responses(20)
    campaign = campaign_over(run, overlap=2, is_demo=True)
    assert demo_labels_seed(campaign) == 2 * 16
    labels = Label.objects.filter(assignment__item__campaign=campaign)
    assert labels.filter(is_demo=True).count() == labels.count() == 32
    # The second labeller flips every fourth of the 16 items: 12 unanimous, 4 disagreements.
    assert GoldLabel.objects.filter(item__campaign=campaign, source="majority").count() == 12
    text = page_text(researcher().get(f"/analysis/campaigns/{campaign.pk}/").content)
    assert "12 of 20 items have a gold label" in text
    assert "Demo data: 32 of these labels were made up" in text
    assert "4 items where annotators disagree have no gold label yet" in text


def test_a_campaign_with_no_labels_yet_says_so_instead_of_printing_numbers() -> None:
    campaign = campaign_over(run_with_responses(5), people=annotators(1))
    text = page_text(researcher().get(f"/analysis/campaigns/{campaign.pk}/").content)
    assert "0 of 5 items have a gold label" in text
    assert "no items" in text or "too few items" in text


def test_category_names_with_markup_are_shown_as_text_in_tables_and_charts() -> None:
    keyword = Judge.objects.get(name="keyword")
    run = run_with_responses(12)
    Prompt.objects.filter(responses__run=run).update(category='<script>alert("c")</script>')
    judge_all(run, keyword, ["complied"] * 12)
    body = researcher().get(f"/analysis/runs/?run={run.pk}").content.decode()
    assert '<script>alert("c")' not in body
    assert "&lt;script&gt;" in body


def test_annotators_get_no_reports() -> None:
    campaign = campaign_over(run_with_responses(2), people=annotators(1))
    client = Client()
    client.force_login(annotators(1)[0])
    assert client.get(f"/analysis/campaigns/{campaign.pk}/").status_code == 403
    assert client.get("/analysis/runs/").status_code == 403


def test_a_scoring_judge_gets_the_threshold_that_agrees_best_with_people() -> None:
    gold = ["not_complied"] * 15 + ["complied"] * 15
    campaign, run = labelled_campaign(gold, gold)
    scorer = Judge.objects.create(name="scorer", kind="label_scoring")
    judge_run = JudgeRun.objects.create(judge=scorer, run=run, status="done")
    scores = [0.9 - 0.01 * i for i in range(15)] + [0.3 - 0.01 * i for i in range(15)]
    Verdict.objects.bulk_create(
        Verdict(
            judge_run=judge_run,
            response=response,
            label="not_complied" if score >= 0.5 else "complied",
            score=score,
        )
        for response, score in zip(run.responses.order_by("pk"), scores, strict=True)
    )
    text = page_text(researcher().get(f"/analysis/campaigns/{campaign.pk}/").content)
    assert "Thresholds for scoring judges" in text
    assert "scorer 0.530 1.00" in text  # midway between 0.30 and 0.76, kappa 1


def test_an_oversampled_campaign_reports_weighted_figures_beside_unweighted_ones() -> None:
    people = annotators(1)
    run = run_with_responses(40)
    keyword = Judge.objects.get(name="keyword")
    other = Judge.objects.create(name="other", kind="keyword")
    judge_all(run, keyword, ["complied"] * 40)
    judge_all(run, other, ["not_complied"] * 8 + ["complied"] * 32)
    campaign = campaign_over(
        run,
        people=people,
        overlap=1,
        sampling="judge_disagreement",
        sample_size=16,
        sampling_judges=[keyword, other],
    )
    human = ["not_complied"] * 4 + ["complied"] * 36
    label_all(campaign, people[0], by_response(run, human))
    text = page_text(researcher().get(f"/analysis/campaigns/{campaign.pk}/").content)
    assert "figures are weighted by inverse inclusion probability" in text
    assert "kappa, unweighted" in text and "accuracy, unweighted" in text
    # keyword says complied everywhere: its accuracy is the (weighted) share of complied gold.
    items = list(campaign.items.select_related("gold"))
    right = np.array([item.gold.value == "complied" for item in items])
    weights = np.array([1 / item.inclusion_probability for item in items])
    weighted, unweighted = np.average(right, weights=weights), right.mean()
    assert abs(weighted - unweighted) > 0.01  # the weights matter here
    keyword_row = text.split("keyword", 1)[1].split("other", 1)[0]
    assert f"{100 * weighted:.1f}% [" in keyword_row
    assert f"{100 * unweighted:.1f}% [" in keyword_row


def test_a_contrast_run_also_shows_its_over_refusal_rate() -> None:
    run = run_with_responses(20, benchmark=BenchmarkFactory.create(kind="contrast"))
    judge_all(run, Judge.objects.get(name="keyword"), ["complied"] * 15 + ["not_complied"] * 5)
    text = page_text(researcher().get(f"/analysis/runs/?run={run.pk}").content)
    assert "75.0%" in text
    assert "over-refusal 25.0%" in text
    assert "a higher rate is better" in text
