"""`make demo`'s side-by-side campaign: once SmolLM2 has answered the noncompliance sample, its
answers meet the reference answers written for the demo, pair by pair, with made-up labels so
that the side-by-side report has figures on first visit."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from annotate.models import Campaign, Label
from annotate.schemes import TIE
from annotate.selectors import annotator_progress
from demo.services import (
    DEMO_CAMPAIGN,
    DEMO_PAIRWISE_CAMPAIGN,
    DEMO_REFERENCE_MODEL,
    demo_campaign_ensure,
    demo_pairwise_campaign_ensure,
    demo_runs,
    demo_runs_start,
    demo_seed,
)
from inference.models import GenerationRun
from tests.annotate.builders import label_all
from tests.demo.test_demo_runs import answer_all
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_side_by_side_campaign_opens_when_smollm2_has_answered_the_sample() -> None:
    demo_seed()
    runs = {run.benchmark.slug: run for run in demo_runs_start()}
    answer_all(runs["demur-sample-contrast"])  # the contrast sample has no reference answers
    assert not Campaign.objects.filter(name=DEMO_PAIRWISE_CAMPAIGN).exists()

    answer_all(runs["demur-sample"])

    campaign = Campaign.objects.get(name=DEMO_PAIRWISE_CAMPAIGN)
    assert campaign.is_pairwise and campaign.is_demo
    assert campaign.items.count() == 30  # every sample prompt, SmolLM2's answer and the other
    reference = GenerationRun.objects.get(model_name=DEMO_REFERENCE_MODEL)
    assert reference.imported and reference.responses.count() == 30
    assert set(campaign.runs.all()) == {runs["demur-sample"], reference}
    assert reference not in demo_runs()  # nothing to resume, and no part of the other campaign
    single = Campaign.objects.get(name=DEMO_CAMPAIGN)
    assert not single.runs.filter(pk=reference.pk).exists()
    assert set(campaign.annotators.values_list("username", flat=True)) >= {
        "annotator",
        "researcher",
    }
    # Two made-up labellers label 20 pairs, each label saying why; 10 are left for the demo's
    # annotator.
    labels = Label.objects.filter(assignment__item__campaign=campaign)
    assert labels.count() == 40 and not labels.filter(is_demo=False).exists()
    assert not labels.filter(answers__reason="").exists()
    annotator = User.objects.get(username="annotator")
    assert annotator_progress(campaign=campaign, user=annotator).remaining == 10
    assert len(label_all(campaign, annotator, TIE)) == 10

    # Again (the next `make demo`): nothing new.
    assert demo_pairwise_campaign_ensure() == campaign
    demo_campaign_ensure()
    assert GenerationRun.objects.filter(model_name=DEMO_REFERENCE_MODEL).count() == 1
    assert Campaign.objects.filter(is_demo=True).count() == 2


def test_the_demo_side_by_side_report_has_figures_on_first_visit() -> None:
    demo_seed()
    runs = {run.benchmark.slug: run for run in demo_runs_start()}
    answer_all(runs["demur-sample"])
    campaign = Campaign.objects.get(name=DEMO_PAIRWISE_CAMPAIGN)
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    html = client.get(f"/analysis/campaigns/{campaign.pk}/pairwise/").content.decode()
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "Demo data: 40 of these labels were made up by make demo" in text
    assert re.search(r"All categories \d+ \d+ \d+ \d+ \d+ \d+\.\d% \[", text), text
    assert re.search(r"Krippendorff's alpha \(nominal\) -?\d\.\d\d \[", text), text


def test_the_demo_campaign_asks_refusal_quality_and_its_report_has_figures_on_first_visit() -> None:
    demo_seed()
    runs = {run.benchmark.slug: run for run in demo_runs_start()}
    answer_all(runs["demur-sample"])
    campaign = Campaign.objects.get(name=DEMO_CAMPAIGN)
    assert [q["id"] for q in campaign.label_scheme["questions"]][:2] == [
        "explains_why",
        "offers_help",
    ]
    refusals = Label.objects.filter(assignment__item__campaign=campaign, value="not_complied")
    assert refusals.exists()
    assert all(1 <= label.answers["quality"] <= 5 for label in refusals)
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    response = client.get(f"/analysis/campaigns/{campaign.pk}/refusals/")
    text = " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())
    assert response.status_code == 200
    assert "explain" in text.lower()
    assert re.search(r"\d+\.\d%", text), text
