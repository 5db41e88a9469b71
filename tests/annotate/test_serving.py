"""Serving items: each annotator sees an item once, no item gets more than k labels, expired
reservations go back to the pool, and the cost per request does not grow with the campaign."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from annotate.models import Assignment, AssignmentStatus, Item, Label
from annotate.services.labels import label_submit
from annotate.services.serving import assignment_next, assignment_skip
from annotate.tickets import served_ticket
from tests.annotate.builders import annotators, campaign_over, label_all, run_with_responses

pytestmark = pytest.mark.django_db


def test_an_annotator_never_gets_an_item_twice() -> None:
    people = annotators(1)
    campaign = campaign_over(run_with_responses(12), people=people, overlap=3)
    seen = label_all(campaign, people[0])
    assert len(seen) == 12
    assert len(set(seen)) == 12


def test_no_item_collects_more_than_overlap_labels() -> None:
    people = annotators(5)
    campaign = campaign_over(run_with_responses(6), people=people, overlap=2)
    served = sum(len(label_all(campaign, person)) for person in people)
    assert served == 12  # 6 items x 2, and then nothing is left for anyone
    per_item = [item.assignments.count() for item in campaign.items.all()]
    assert per_item == [2] * 6
    assert Label.objects.count() == 12


def test_items_are_served_in_position_order() -> None:
    people = annotators(1)
    campaign = campaign_over(run_with_responses(5), people=people, overlap=1)
    expected = list(campaign.items.order_by("position").values_list("pk", flat=True))
    assert label_all(campaign, people[0]) == expected


def test_a_held_reservation_is_served_again_before_a_new_item() -> None:
    people = annotators(1)
    campaign = campaign_over(run_with_responses(5), people=people, overlap=1)
    first = assignment_next(campaign=campaign, user=people[0])
    again = assignment_next(campaign=campaign, user=people[0])
    assert first is not None and again is not None
    assert again.pk == first.pk
    other = assignment_next(campaign=campaign, user=people[0], exclude=[first.pk])
    assert other is not None and other.item_id != first.item_id


def test_a_skipped_item_goes_to_someone_else_and_never_back() -> None:
    me, other = annotators(2)
    campaign = campaign_over(run_with_responses(1), people=[me, other], overlap=1)
    mine = assignment_next(campaign=campaign, user=me)
    assert mine is not None
    assert assignment_next(campaign=campaign, user=other) is None  # held by me
    assignment_skip(campaign=campaign, user=me, assignment_id=mine.pk)
    theirs = assignment_next(campaign=campaign, user=other)
    assert theirs is not None and theirs.item_id == mine.item_id
    assert assignment_next(campaign=campaign, user=me) is None


def test_expired_reservations_go_back_to_the_pool() -> None:
    me, other = annotators(2)
    campaign = campaign_over(run_with_responses(1), people=[me, other], overlap=1)
    mine = assignment_next(campaign=campaign, user=me)
    assert mine is not None
    Assignment.objects.filter(pk=mine.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    theirs = assignment_next(campaign=campaign, user=other)
    assert theirs is not None and theirs.item_id == mine.item_id
    assert Item.objects.get(pk=mine.item_id).slots_left == 0


def test_a_label_after_expiry_is_kept_when_a_slot_is_still_free() -> None:
    me, other = annotators(2)
    campaign = campaign_over(run_with_responses(1), people=[me, other], overlap=2)
    mine = assignment_next(campaign=campaign, user=me)
    assert mine is not None
    Assignment.objects.filter(pk=mine.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert assignment_next(campaign=campaign, user=other) is not None  # sweeps mine away
    ticket = served_ticket(assignment_id=mine.pk, item_id=mine.item_id, annotator_id=me.pk)
    label_submit(
        campaign=campaign,
        user=me,
        assignment_id=mine.pk,
        item_id=mine.item_id,
        value="neither",
        ticket=ticket,  # the screen's proof that the swept reservation was mine
    )
    assert Item.objects.get(pk=mine.item_id).slots_left == 0
    assert Assignment.objects.filter(annotator=me, status=AssignmentStatus.DONE).count() == 1
