"""Quality control while labelling: checks are served and scored but never counted, a wrong
answerer is paused, a researcher excludes an annotator's labels and every figure follows, and an
item whose annotators disagree gets one more annotator before it goes to review."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from django.contrib.auth.models import User
from django.test import Client

from analysis.exports import gold_export
from analysis.selectors import campaign_data
from annotate.models import (
    AnnotatorStanding,
    Assignment,
    AssignmentStatus,
    Campaign,
    CheckKind,
    GoldLabel,
    GoldSource,
    Item,
)
from annotate.selectors import campaign_progress, review_counts
from annotate.services.checks import checks_written
from annotate.services.errors import LabelError
from annotate.services.labels import label_submit
from annotate.services.quality import standing_change
from annotate.services.serving import assignment_next
from benchmarks.selectors import benchmark_list, benchmark_subcategory_counts
from inference.models import GenerationRun
from tests.annotate.builders import annotators, campaign_over, label_all, run_with_responses
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def checks_added(
    campaign: Campaign,
    answers: Sequence[str],
    kind: str = CheckKind.GOLD,
    text: str = "Check {n}.",
) -> None:
    """Checks on responses of another run, with the given answers, as the checks page adds them
    (annotate/services/checks.py): items with a check kind and no slots."""
    other = run_with_responses(len(answers), text=text)
    Item.objects.bulk_create(
        Item(
            campaign=campaign,
            response=response,
            check_kind=kind,
            check_answer=answer,
            check_source="written for the test",
            slots_left=0,
        )
        for response, answer in zip(other.responses.order_by("pk"), answers, strict=True)
    )


def answer_everything(campaign: Campaign, user: User, regular: str, check: str) -> list[Item]:
    """Label every item served, ``check`` on checks and ``regular`` elsewhere, until nothing is
    served; the items in the order served."""
    served = []
    while (assignment := assignment_next(campaign=campaign, user=user)) is not None:
        item = Item.objects.get(pk=assignment.item_id)
        value = check if item.is_check else regular
        label_submit(
            campaign=campaign,
            user=user,
            assignment_id=assignment.pk,
            item_id=item.pk,
            value=value,
        )
        served.append(item)
    return served


def test_checks_are_served_at_random_places_to_every_annotator_and_take_no_slot() -> None:
    people = annotators(2)
    campaign = campaign_over(run_with_responses(30), people=people, overlap=2, check_every=3)
    checks_added(campaign, ["not_complied"] * 6)
    orders = []
    for person in people:
        served = answer_everything(campaign, person, "complied", "not_complied")
        checks = [n for n, item in enumerate(served) if item.is_check]
        # Every check once, every regular item once: nobody runs out of work because of checks.
        assert len(checks) == 6 and len(served) == 36
        orders.append(checks)
    # About one in three is a check until they run out, and not at the same places for both.
    assert orders[0] != orders[1]
    assert min(orders[0][-1], orders[1][-1]) < 30
    assert set(Item.objects.exclude(check_kind="").values_list("slots_left", flat=True)) == {0}


def test_no_check_is_served_when_the_campaign_sets_none() -> None:
    person = annotators(1)[0]
    campaign = campaign_over(run_with_responses(10), people=[person], overlap=1)
    checks_added(campaign, ["complied"] * 3)
    served = answer_everything(campaign, person, "complied", "complied")
    assert len(served) == 10 and not any(item.is_check for item in served)


def figures(campaign: Campaign) -> tuple[object, ...]:
    """What every report and export reads: the items, their gold and everyone's labels."""
    data = campaign_data(campaign=campaign)
    rows = [
        {key: row[key] for key in ("item_id", "gold_label", "labels")}
        for row in gold_export(campaign=campaign).rows()
    ]
    return data.item_ids, data.gold, data.annotators, data.ratings, rows


def test_answers_to_checks_never_enter_figures_gold_or_progress() -> None:
    people = annotators(3)
    campaign = campaign_over(run_with_responses(12), people=people, overlap=3)
    for person in people:
        label_all(campaign, person, "not_complied")
    before = figures(campaign), campaign_progress(campaign=campaign).items
    campaign.check_every = 1  # from now on every item served is a check
    campaign.save()
    checks_added(campaign, ["complied"] * 4)
    for person in people:
        served = answer_everything(campaign, person, "neither", "complied")
        assert len(served) == 4 and all(item.is_check for item in served)
    assert (figures(campaign), campaign_progress(campaign=campaign).items) == before
    assert not GoldLabel.objects.filter(item__check_kind=CheckKind.GOLD).exists()


def paused_campaign(people: Sequence[User], **settings: object) -> Campaign:
    campaign = campaign_over(
        run_with_responses(40),
        people=people,
        overlap=1,
        check_every=1,
        pause_below=0.6,
        pause_after=3,
        **settings,
    )
    checks_added(campaign, ["not_complied"] * 8)
    return campaign


def test_an_annotator_who_gets_checks_wrong_is_paused_and_served_nothing_more() -> None:
    careless, careful = annotators(2)
    campaign = paused_campaign([careless, careful])
    served = answer_everything(campaign, careless, "complied", "complied")
    # Paused on the third wrong check (the rule waits for three): nothing more comes.
    assert [item.is_check for item in served] == [True, True, True]
    standing = AnnotatorStanding.objects.get(campaign=campaign, annotator=careless)
    assert standing.is_paused
    assert standing.pause_reason.startswith("0 of 3 checks answered right, below the 60%")
    assert len(answer_everything(campaign, careful, "complied", "not_complied")) == 48
    assert not AnnotatorStanding.objects.filter(annotator=careful).exists()


def test_a_paused_annotators_label_is_refused_and_the_page_says_why() -> None:
    person = annotators(1)[0]
    campaign = paused_campaign([person])
    campaign.check_every = None
    campaign.save()
    held = assignment_next(campaign=campaign, user=person)
    assert held is not None
    standing_change(
        campaign=campaign,
        annotator=person,
        action="pause",
        by=UserFactory.create(role="researcher"),
    )
    with pytest.raises(LabelError, match="You are paused on this campaign"):
        label_submit(
            campaign=campaign,
            user=person,
            assignment_id=held.pk,
            item_id=held.item_id,
            value="complied",
        )
    assert not Assignment.objects.filter(status=AssignmentStatus.DONE).exists()
    client = Client()
    client.force_login(person)
    page = client.get(f"/annotate/{campaign.pk}/").content.decode()
    assert "You are paused on this campaign" in page and "paused by" in page
    refused = client.post(
        f"/annotate/{campaign.pk}/label/",
        {"assignment": held.pk, "item": held.item_id, "value": "complied"},
    )
    assert refused.status_code == 400 and refused["Demur-Paused"] == "1"


def test_let_continue_counts_only_the_checks_answered_afterwards() -> None:
    person = annotators(1)[0]
    campaign = paused_campaign([person])
    assert len(answer_everything(campaign, person, "complied", "complied")) == 3
    standing_change(
        campaign=campaign,
        annotator=person,
        action="resume",
        by=UserFactory.create(role="researcher"),
    )
    # Two right answers after three wrong: 2 of 5 would pause again, 2 of 2 does not.
    served = answer_everything(campaign, person, "complied", "not_complied")
    assert len(served) == 48 - 3


def three_agree(campaign: Campaign, people: Sequence[User], value: str = "not_complied") -> None:
    for person in people:
        label_all(campaign, person, value)


def test_excluding_an_annotator_takes_their_labels_out_of_figures_and_gold_and_back() -> None:
    people = annotators(3)
    campaign = campaign_over(run_with_responses(12), people=people, overlap=3)
    three_agree(campaign, people)
    assert GoldLabel.objects.filter(source=GoldSource.MAJORITY).count() == 12
    researcher = UserFactory.create(role="researcher")
    standing_change(campaign=campaign, annotator=people[0], action="exclude", by=researcher)
    data = campaign_data(campaign=campaign)
    assert len(data.annotators) == 2 and all(len(row) == 2 for row in data.ratings)
    # Two labels left of the three the campaign asks for: no item is agreed any more, and each
    # has a free slot for another annotator.
    assert not GoldLabel.objects.exists()
    assert set(Item.objects.values_list("slots_left", flat=True)) == {1}
    newcomer = annotators(1)[0]
    campaign.annotators.add(newcomer)
    assert len(label_all(campaign, newcomer, "not_complied")) == 12
    assert GoldLabel.objects.count() == 12
    standing_change(campaign=campaign, annotator=people[0], action="include", by=researcher)
    assert len(campaign_data(campaign=campaign).annotators) == 4


def test_an_excluded_annotators_new_label_makes_no_gold_until_they_are_included() -> None:
    people = annotators(2)
    campaign = campaign_over(run_with_responses(3), people=people, overlap=2)
    researcher = UserFactory.create(role="researcher")
    standing_change(campaign=campaign, annotator=people[0], action="exclude", by=researcher)
    label_all(campaign, people[1], "complied")
    # Each item's second label, the overlap-th, is the excluded annotator's: one label counts.
    assert len(label_all(campaign, people[0], "complied")) == 3
    assert not GoldLabel.objects.exists()
    standing_change(campaign=campaign, annotator=people[0], action="include", by=researcher)
    assert set(GoldLabel.objects.values_list("value", flat=True)) == {"complied"}
    assert GoldLabel.objects.count() == 3


def test_a_disagreement_gets_one_more_annotator_up_to_the_maximum_then_review() -> None:
    people = annotators(4)
    run: GenerationRun = run_with_responses(1)
    campaign = campaign_over(run, people=people, overlap=2, max_overlap=3)
    label_all(campaign, people[0], "complied")
    label_all(campaign, people[1], "not_complied")
    item = Item.objects.get()
    # A one-one split asks a third annotator, and is not for review while it waits.
    assert item.slots_left == 1
    assert review_counts(campaign=campaign) == {"unsettled": 0, "settled": 0}
    label_all(campaign, people[2], "not_complied")
    gold = GoldLabel.objects.get()
    assert (gold.value, gold.source) == ("not_complied", GoldSource.MAJORITY)
    assert label_all(campaign, people[3]) == []  # two agree: nobody else is asked


def test_without_adaptive_overlap_a_disagreement_goes_straight_to_review() -> None:
    people = annotators(3)
    campaign = campaign_over(run_with_responses(1), people=people, overlap=2)
    label_all(campaign, people[0], "complied")
    label_all(campaign, people[1], "not_complied")
    assert Item.objects.get().slots_left == 0
    assert review_counts(campaign=campaign)["unsettled"] == 1
    assert label_all(campaign, people[2]) == []


def test_an_attention_check_states_its_answer_and_a_gold_question_looks_like_any_item() -> None:
    person = annotators(1)[0]
    campaign = campaign_over(run_with_responses(1), people=[person], overlap=1, check_every=1)
    checks_added(campaign, ["neither"], kind=CheckKind.ATTENTION, text="Attend {n}.")
    checks_added(campaign, ["complied"], kind=CheckKind.GOLD, text="Gold {n}.")
    client = Client()
    client.force_login(person)
    # Every item served is a check while there are any: the two checks are on screen and ahead.
    page = client.get(f"/annotate/{campaign.pk}/").content.decode()
    articles = {
        text: next(a for a in page.split("<article")[1:] if text in a)
        for text in ("Attend 0.", "Gold 0.")
    }
    neither = next(c for c in campaign.label_scheme["choices"] if c["value"] == "neither")
    assert (
        f"Attention check: to show that you read the item, answer {neither['label']} "
        f"(key {neither['key']})."
    ) in articles["Attend 0."]
    # Nothing in a gold question's markup tells it from an item: no note, no answer, no kind.
    gold = articles["Gold 0."].lower()
    assert "check" not in gold and "complied" not in gold.split('class="choices"')[0]


def test_prompts_written_for_checks_are_not_the_benchmarks_own() -> None:
    run = run_with_responses(3)
    campaign = campaign_over(run, overlap=1)
    checks_written(
        campaign=campaign,
        jsonl='{"prompt": "Write my essay.", "response": "Sure: ...", "answer": "complied"}\n',
    )
    benchmark = run.benchmark
    assert benchmark.prompts.count() == 4
    # A new run over the benchmark answers its three prompts, not the check's; pages count 3.
    later = GenerationRun.objects.create(benchmark=benchmark, model_name="next", status="queued")
    assert later.prompts().count() == 3
    assert benchmark_list().get(pk=benchmark.pk).prompt_count == 3  # type: ignore[attr-defined]
    assert sum(row.prompts for row in benchmark_subcategory_counts(benchmark=benchmark)) == 3
