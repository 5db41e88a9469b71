"""The agreement page's section per question, against krippendorff and scikit-learn."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from sklearn.metrics import cohen_kappa_score

from tests.analysis.question_world import question_world
from tests.analysis.refusal_campaigns import page_text
from tests.annotate.builders import campaign_over, run_with_responses
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

YES_NO = ["yes", "no"]
RATINGS = [1, 2, 3, 4, 5]


def agreement_page_text(campaign_id: int) -> str:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    answer = client.get(f"/analysis/campaigns/{campaign_id}/")
    assert answer.status_code == 200
    return page_text(answer.content)


def section(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def test_each_question_gets_its_annotators_agreement_with_the_statistics_name() -> None:
    world = question_world()
    text = agreement_page_text(world.campaign.pk)
    people = section(text, "Agreement per question The questions", "Judges against people, per")
    explains = section(people, "(explains_why)", "(offers_help)")
    alpha = world.alpha("explains_why", "nominal", YES_NO)
    assert f"Krippendorff's alpha (nominal) {alpha:.2f} [" in explains
    # 45 items where both annotators called it a refusal, so both were asked.
    assert re.search(
        r"\] 45 Fleiss' kappa \(items with 2 answers\) [\d.]+ \[[\d.]+, [\d.]+\] 45 ", explains
    )
    asks = section(people, "(asks_missing)", "(preachy)")
    alpha = world.alpha("asks_missing", "nominal", ["yes", "no", "not_applicable"])
    assert f"Krippendorff's alpha (nominal) {alpha:.2f} [" in asks
    quality = section(people, "(quality)", "(compliance)")
    for level in ("ordinal", "interval"):
        alpha = world.alpha("quality", level, RATINGS)
        assert f"Krippendorff's alpha ({level}) {alpha:.2f} [" in quality
    both = [
        (a, b)
        for a, b in zip(
            world.answers(world.first, "quality"),
            world.answers(world.second, "quality"),
            strict=True,
        )
        if a is not None and b is not None
    ]
    kappa = cohen_kappa_score(*zip(*both, strict=True), weights="quadratic", labels=RATINGS)
    assert f"weighted kappa (quadratic) {kappa:.2f} [" in quality
    # Asked only after "complied": 10 items, both annotators answered.
    compliance = section(people, "(compliance)", "Judges against")
    alpha = world.alpha("compliance", "nominal", ["full_compliance", "partial_refusal"])
    assert f"Krippendorff's alpha (nominal) {alpha:.2f} [" in compliance


def test_a_judge_that_answers_the_questions_is_compared_with_the_people_per_question() -> None:
    world = question_world()
    text = agreement_page_text(world.campaign.pk)
    judge = section(text, "quality-judge Question Statistic Agreement with people n", "</html>")
    for qid, after in (("explains_why", "(offers_help)"), ("preachy", "(quality)")):
        kappa, n = world.judge_kappa(qid)
        row = section(judge, f"({qid})", after)
        assert f"Cohen's kappa {kappa:.2f} [" in row
        assert f"] {n} " in row  # items where people and the judge both answered
    quality = judge.split("(quality)", 1)[1]
    for weights in ("quadratic", "linear"):
        kappa, _ = world.judge_kappa("quality", weights)
        assert f"weighted kappa ({weights}) {kappa:.2f} [" in quality
    # The judge never answered "asks_missing" nor "compliance": no row for them.
    assert "(asks_missing)" not in judge and "(compliance)" not in judge


def test_a_scheme_without_questions_has_no_section() -> None:
    campaign = campaign_over(run_with_responses(2), people=[], overlap=1)
    assert "Agreement per question" not in agreement_page_text(campaign.pk)
