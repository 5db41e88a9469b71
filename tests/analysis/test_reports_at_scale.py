"""What lets the reports answer for a million responses (issue 17, bench/million.py): rates from
counts the database makes, the agreement report reading only the items someone labelled, and a
finished judge run's counts read once. Each must give the figures the slow way gives."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from analysis import metrics
from analysis.reports import agreement_report
from analysis.selectors import campaign_data
from annotate.models import Campaign
from judging.models import Judge, JudgeRun, Verdict
from runs.models import RunStatus
from tests.analysis.test_report_pages import judge_all, page_text, researcher
from tests.annotate.builders import (
    annotators,
    by_response,
    campaign_over,
    label_all,
    run_with_responses,
)

pytestmark = pytest.mark.django_db

LABELS = ("complied", "not_complied", "neither", "unparseable", "error")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("higher_is_compliance", [True, False])
def test_a_rate_from_counts_is_the_rate_of_the_labels_counted(
    seed: int, higher_is_compliance: bool
) -> None:
    rng = random.Random(seed)
    labels = rng.choices(LABELS, weights=(30, 50, 10, 5, 5), k=rng.choice((3, 40, 2000)))
    rng.shuffle(labels)
    from_labels = metrics.compliance_rate(labels, higher_is_compliance=higher_is_compliance)
    from_counts = metrics.compliance_rate_of_counts(
        Counter(labels), higher_is_compliance=higher_is_compliance
    )
    # The same counts, estimate, interval (the same bootstrap draws) and reason.
    assert repr(from_counts) == repr(from_labels)


def test_a_count_of_an_unknown_label_is_refused_as_the_label_is() -> None:
    with pytest.raises(ValueError, match="labels outside"):
        metrics.compliance_rate_of_counts({"complied": 12, "maybe": 1})
    assert metrics.compliance_rate_of_counts({"complied": 12, "maybe": 0}).complied == 12


def partly_labelled() -> tuple[Campaign, list[str]]:
    """60 responses, two judges (one scoring) on all of them; two annotators label the first
    40 served (disagreeing on some), a third 5 more alone; the rest nobody labels."""
    rng = random.Random(7)
    classes = ["complied", "not_complied", "neither"]
    truth = rng.choices(classes, weights=(40, 50, 10), k=60)
    run = run_with_responses(60, subcategories=("underspecified", "false premise", "privacy"))
    keyword = Judge.objects.get(name="keyword")
    judge_all(run, keyword, [t if rng.random() < 0.8 else rng.choice(classes) for t in truth])
    scorer = Judge.objects.create(name="scorer", kind="label_scoring")
    scored = JudgeRun.objects.create(judge=scorer, run=run, status="done")
    Verdict.objects.bulk_create(
        Verdict(judge_run=scored, response=response, label=label, score=score)
        for response, label, score in (
            (r, t, (0.8 if t == "not_complied" else 0.3) + rng.uniform(-0.2, 0.2))
            for r, t in zip(run.responses.order_by("pk"), truth, strict=True)
        )
    )
    first, second, third = annotators(3)
    campaign = campaign_over(run, people=[first, second, third], overlap=2)
    other = [t if rng.random() < 0.85 else rng.choice(classes) for t in truth]
    label_all(campaign, first, by_response(run, truth), limit=40)
    label_all(campaign, second, by_response(run, other), limit=40)
    label_all(campaign, third, by_response(run, truth), limit=5)
    return campaign, truth


def test_the_agreement_report_of_the_labelled_items_has_every_figure_of_all_items() -> None:
    campaign, _ = partly_labelled()
    run_labels = {run.pk: run.model_name for run in campaign.runs.all()}
    every = campaign_data(campaign=campaign)
    labelled = campaign_data(campaign=campaign, labelled_only=True)
    assert len(every.item_ids) == 60 and labelled.item_count == every.item_count == 60
    assert len(labelled.item_ids) == 45  # 40 by two annotators, 5 by one
    full = agreement_report(data=every, run_labels=run_labels)
    fast = agreement_report(data=labelled, run_labels=run_labels)
    assert fast.gold_items == full.gold_items > 0
    assert sorted(j.judge for j in fast.judges) == ["keyword", "scorer"]
    for name in (
        "judges",
        "corrected",
        "comparisons",
        "calibrations",
        "unsettled",
        "annotator_pairs",
        "versions",
    ):
        assert repr(getattr(fast, name)) == repr(getattr(full, name)), name
    assert repr(fast.misses) == repr(full.misses)
    assert fast.policy_comparison is not None and full.policy_comparison is not None
    assert repr(fast.policy_comparison.rows) == repr(full.policy_comparison.rows)
    # Among annotators: the same figures; only the count of items with fewer than two labels
    # leaves out the 15 nobody labelled.
    assert repr(dataclasses.replace(fast.annotators, n_single=0)) == repr(
        dataclasses.replace(full.annotators, n_single=0)
    )
    assert full.annotators.n_single - fast.annotators.n_single == 15


def test_the_agreement_page_counts_every_item_of_the_campaign() -> None:
    campaign, _ = partly_labelled()
    text = page_text(researcher().get(f"/analysis/campaigns/{campaign.pk}/").content)
    gold = campaign.items.filter(gold__isnull=False).count()
    assert f"{gold} of 60 items have a gold label" in text


def verdict_queries(client: Client, url: str) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        answer = client.get(url)
    assert answer.status_code == 200
    return page_text(answer.content), sum("judging_verdict" in q["sql"] for q in queries)


def test_a_finished_judge_runs_counts_are_read_once_and_anew_when_it_finishes_again() -> None:
    run = run_with_responses(40)
    judge_all(run, Judge.objects.get(name="keyword"), ["complied"] * 10 + ["not_complied"] * 30)
    judge_run = JudgeRun.objects.get(run=run)
    JudgeRun.objects.filter(pk=judge_run.pk).update(status=RunStatus.RUNNING)
    assert JudgeRun.objects.finish(judge_run.pk)  # done, with the time it finished
    url, client = f"/analysis/runs/?run={run.pk}", researcher()
    first, read = verdict_queries(client, url)
    assert "25.0%" in first and read == 1
    again, read = verdict_queries(client, url)
    assert again == first and read == 0
    # A run that runs and finishes again (its verdicts may have changed meanwhile) is read
    # afresh: the counts are kept for the time it finished.
    Verdict.objects.filter(judge_run=judge_run, label="complied")[:1].get().delete()
    JudgeRun.objects.filter(pk=judge_run.pk).update(status=RunStatus.RUNNING)
    assert JudgeRun.objects.finish(judge_run.pk)
    after, read = verdict_queries(client, url)
    assert "23.1%" in after and read == 1  # 9 of 39
