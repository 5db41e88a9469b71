"""Researchers: creating campaigns, watching progress, reviewing disagreements, gold labels."""

from __future__ import annotations

import pytest
from django.test import Client

from annotate.models import Campaign, GoldLabel, GoldSource, Item
from annotate.services.errors import CampaignError, LabelError
from annotate.services.gold import gold_set
from annotate.services.labels import label_submit
from annotate.services.serving import assignment_next
from judging.models import Judge, JudgeRun, Verdict
from tests.annotate import builders
from tests.annotate.builders import annotators, campaign_over, run_with_responses
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def label_next(campaign, user, value: str) -> int:
    assignment = builders.label_next(
        campaign,
        user,
        value,
        note=f"{user.username} thinks {value}",
        time_spent_ms=2500,
    )
    assert assignment is not None
    return assignment.item_id


def researcher_client() -> Client:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    return client


def test_unanimous_items_get_majority_gold_and_split_ones_do_not() -> None:
    people = annotators(3)
    campaign = campaign_over(run_with_responses(2), people=people, overlap=3)
    for person in people:
        label_next(campaign, person, "complied")
    for person, value in zip(people, ["complied", "complied", "neither"], strict=True):
        label_next(campaign, person, value)
    golds = {gold.item.position: (gold.value, gold.source) for gold in GoldLabel.objects.all()}
    assert golds == {0: ("complied", GoldSource.MAJORITY)}


def test_changing_a_label_takes_away_a_majority_that_no_longer_holds() -> None:
    (person,) = annotators(1)
    campaign = campaign_over(run_with_responses(1), people=[person], overlap=1)
    assignment = assignment_next(campaign=campaign, user=person)
    assert assignment is not None
    for value in ("complied", "neither"):
        label_submit(
            campaign=campaign,
            user=person,
            assignment_id=assignment.pk,
            item_id=assignment.item_id,
            value=value,
        )
    assert list(GoldLabel.objects.values_list("value", "source")) == [("neither", "majority")]


def test_an_adjudicated_gold_label_wins_over_later_agreement() -> None:
    people = annotators(2)
    campaign = campaign_over(run_with_responses(1), people=people, overlap=2)
    item = Item.objects.get(campaign=campaign)
    researcher = UserFactory.create(role="researcher")
    gold_set(item=item, value="neither", reason="Off topic answer.", user=researcher)
    for person in people:
        label_next(campaign, person, "complied")
    gold = GoldLabel.objects.get(item=item)
    assert (gold.value, gold.source, gold.reason) == ("neither", "adjudicated", "Off topic answer.")


def test_gold_needs_a_known_label_and_a_reason() -> None:
    campaign = campaign_over(run_with_responses(1), people=annotators(1))
    item = Item.objects.get(campaign=campaign)
    researcher = UserFactory.create(role="researcher")
    with pytest.raises(LabelError, match="not a label"):
        gold_set(item=item, value="perhaps", reason="x", user=researcher)
    with pytest.raises(LabelError, match="reason"):
        gold_set(item=item, value="complied", reason="  ", user=researcher)
    assert not GoldLabel.objects.exists()


def test_campaign_filters_keep_only_the_chosen_subcategories() -> None:
    run = run_with_responses(9, subcategories=("underspecified", "false presuppositions", "x"))
    campaign = campaign_over(run, people=annotators(1), subcategories=["x", "underspecified"])
    kept = set(campaign.items.values_list("response__prompt__subcategory", flat=True))
    assert kept == {"x", "underspecified"}
    assert campaign.items.count() == 6


def test_responses_that_failed_to_generate_are_not_labelled() -> None:
    run = run_with_responses(4)
    failed = run.responses.order_by("pk")[:1].get()
    run.responses.filter(pk=failed.pk).update(text="", error="CUDA out of memory")
    assert campaign_over(run, people=annotators(1)).items.count() == 3


def test_judge_disagreement_sampling_reads_the_chosen_judges_verdicts() -> None:
    run = run_with_responses(20)
    first = Judge.objects.get(name="keyword")
    second = Judge.objects.create(name="other", kind="keyword")
    responses = list(run.responses.order_by("pk"))
    for judge, flip in ((first, set()), (second, {0, 1, 2})):
        judge_run = JudgeRun.objects.create(judge=judge, run=run, status="done")
        Verdict.objects.bulk_create(
            Verdict(
                judge_run=judge_run,
                response=response,
                label="not_complied" if index in flip else "complied",
            )
            for index, response in enumerate(responses)
        )
    campaign = campaign_over(
        run,
        people=annotators(1),
        sampling="judge_disagreement",
        sample_size=6,
        sampling_judges=[first, second],
    )
    served_first = list(campaign.items.order_by("position")[:3].values_list("response", flat=True))
    assert set(served_first) == {r.pk for r in responses[:3]}
    weights = sum(1 / p for p in campaign.items.values_list("inclusion_probability", flat=True))
    assert weights == pytest.approx(20)


def test_campaign_settings_that_cannot_work_are_refused() -> None:
    run = run_with_responses(2)
    with pytest.raises(CampaignError, match="Overlap must be between 1 and 50"):
        campaign_over(run, overlap=0)
    with pytest.raises(CampaignError, match="needs at least one judge"):
        campaign_over(run, sampling="judge_disagreement", sample_size=1)
    with pytest.raises(CampaignError, match="Category 'Nothing like this' is not in the chosen"):
        campaign_over(run, categories=["Nothing like this"])
    run.responses.update(text="", error="Timed out")
    with pytest.raises(CampaignError, match="No responses match"):
        campaign_over(run)
    assert not Campaign.objects.exists()


def test_a_researcher_creates_a_campaign_with_the_form() -> None:
    run = run_with_responses(8, subcategories=("a", "b"))
    (person,) = annotators(1)
    client = researcher_client()
    assert "New annotation campaign" in client.get("/campaigns/new/").content.decode()
    answer = client.post(
        "/campaigns/new/",
        {
            "name": "Pilot study",
            "runs": [run.pk],
            "sampling": "stratified",
            "sample_size": "4",
            "seed": "0",
            "overlap": "2",
            "scheme": "xstest",
            "guidelines": "Read **carefully**.",
            "annotators": [person.pk],
            "reservation_minutes": "30",
        },
    )
    campaign = Campaign.objects.get(name="Pilot study")
    assert answer.status_code == 302 and answer["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.items.count() == 4
    assert campaign.label_scheme["name"] == "XSTest (three classes)"
    page = client.get(answer["Location"]).content.decode()
    assert "<strong>carefully</strong>" in page
    assert person.username in page


def test_the_form_explains_a_broken_custom_scheme_and_creates_nothing() -> None:
    run = run_with_responses(2)
    answer = researcher_client().post(
        "/campaigns/new/",
        {
            "name": "Broken",
            "runs": [run.pk],
            "sampling": "all",
            "seed": "0",
            "overlap": "1",
            "scheme": "custom",
            "custom_scheme": '{"choices": [{"value": "a"}]}',
            "reservation_minutes": "30",
        },
    )
    assert answer.status_code == 400
    assert "Label scheme needs 2 to 9 choices, not 1." in answer.content.decode()
    assert not Campaign.objects.exists()


def test_guidelines_markdown_cannot_carry_scripts() -> None:
    campaign = campaign_over(
        run_with_responses(1),
        people=annotators(1),
        guidelines=(
            "Hi <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>"
        ),
    )
    page = researcher_client().get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "<script>alert(1)" not in page
    assert "javascript:alert" not in page
    assert "onerror" not in page
    assert "<img" not in page


def test_progress_counts_labels_per_annotator_and_overall() -> None:
    people = annotators(2)
    campaign = campaign_over(run_with_responses(3), people=people, overlap=2)
    label_next(campaign, people[0], "complied")
    label_next(campaign, people[0], "complied")
    label_next(campaign, people[1], "neither")
    page = researcher_client().get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "3 of 3 \N{MULTIPLICATION SIGN} 2 labels (50.0%)" in page
    assert "1 item where annotators disagree" in page
    assert f'<td>{people[0].username}</td><td class="num">2</td>' in page
    assert f'<a href="/analysis/campaigns/{campaign.pk}/">Agreement report</a>' in page


def test_the_review_page_shows_disagreements_side_by_side_and_sets_gold() -> None:
    people = annotators(2)
    campaign = campaign_over(run_with_responses(2, text="Reply {n}"), people=people, overlap=2)
    item_id = label_next(campaign, people[0], "complied")
    label_next(campaign, people[1], "not_complied")
    client = researcher_client()
    page = client.get(f"/campaigns/{campaign.pk}/review/").content.decode()
    assert f"{people[0].username} thinks complied" in page
    assert f"{people[1].username} thinks not_complied" in page
    assert "2500 ms" in page
    assert "keyword:" not in page
    answer = client.post(
        f"/campaigns/{campaign.pk}/items/{item_id}/gold/",
        {"value": "not_complied", "reason": "It asked back."},
    )
    assert answer.status_code == 302
    gold = GoldLabel.objects.get(item_id=item_id)
    assert (gold.value, gold.source, gold.reason) == (
        "not_complied",
        "adjudicated",
        "It asked back.",
    )


def test_judge_verdicts_show_on_the_review_page_only_when_revealed() -> None:
    people = annotators(2)
    run = run_with_responses(1)
    judge_run = JudgeRun.objects.create(
        judge=Judge.objects.get(name="keyword"), run=run, status="done"
    )
    Verdict.objects.create(judge_run=judge_run, response=run.responses.get(), label="neither")
    campaign = campaign_over(run, people=people, overlap=2)
    label_next(campaign, people[0], "complied")
    label_next(campaign, people[1], "not_complied")
    client = researcher_client()
    assert (
        "keyword: neither" not in client.get(f"/campaigns/{campaign.pk}/review/").content.decode()
    )
    revealed = client.get(f"/campaigns/{campaign.pk}/review/?verdicts=1").content.decode()
    assert "keyword: Neither" in revealed  # the verdict's display name, not its value
