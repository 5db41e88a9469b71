"""Annotators label what they were served: a label is stored only for the sender's own
assignment (held, done or skipped), or, once an expired reservation was swept away, with the
ticket the screen carried for it. Guessing another item's id is refused with a sentence."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from annotate.models import Assignment, AssignmentStatus, Item, Label
from annotate.services.labels import MAX_TIME_SPENT_MS
from annotate.services.serving import assignment_next
from tests.annotate.builders import annotators, campaign_over, run_with_responses

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def screen_items(html: str) -> list[dict[str, str]]:
    return [
        {"assignment": assignment, "item": item, "ticket": ticket}
        for assignment, item, ticket in re.findall(
            r'data-assignment="(\d+)" data-item="(\d+)" data-ticket="([^"]+)"', html
        )
    ]


def test_an_item_never_served_to_the_annotator_is_refused() -> None:
    person = annotators(1)[0]
    campaign = campaign_over(run_with_responses(5), people=[person], overlap=1)
    client = logged_in(person)
    served = screen_items(client.get(f"/annotate/{campaign.pk}/").content.decode())
    served_ids = {int(one["item"]) for one in served}
    never_served = Item.objects.filter(campaign=campaign).exclude(pk__in=served_ids).first()
    assert never_served is not None
    slots_before = never_served.slots_left
    answer = client.post(
        f"/annotate/{campaign.pk}/label/",
        {"assignment": served[0]["assignment"], "item": never_served.pk, "value": "complied"},
    )
    assert answer.status_code == 400
    assert answer.content.decode() == "This item was not served to you; your label was not stored."
    assert not Label.objects.exists()
    assert not Assignment.objects.filter(item=never_served).exists()
    assert Item.objects.get(pk=never_served.pk).slots_left == slots_before


def test_a_forged_ticket_does_not_make_an_item_served() -> None:
    person = annotators(1)[0]
    campaign = campaign_over(run_with_responses(5), people=[person], overlap=1)
    client = logged_in(person)
    served = screen_items(client.get(f"/annotate/{campaign.pk}/").content.decode())
    never_served = (
        Item.objects.filter(campaign=campaign)
        .exclude(pk__in=[int(one["item"]) for one in served])
        .first()
    )
    assert never_served is not None
    # A real ticket, but for another item: it proves nothing about this one.
    form = {**served[0], "item": never_served.pk, "value": "complied"}
    answer = client.post(f"/annotate/{campaign.pk}/label/", form)
    assert answer.status_code == 400
    assert not Label.objects.exists()


def test_the_served_item_is_labelled_through_the_page() -> None:
    person = annotators(1)[0]
    campaign = campaign_over(run_with_responses(3), people=[person], overlap=1)
    client = logged_in(person)
    served = screen_items(client.get(f"/annotate/{campaign.pk}/").content.decode())
    answer = client.post(f"/annotate/{campaign.pk}/label/", {**served[0], "value": "complied"})
    assert answer.status_code == 200
    assert Label.objects.get().assignment_id == int(served[0]["assignment"])


def test_an_expired_and_swept_reservation_is_still_labelled_with_its_ticket() -> None:
    me, other = annotators(2)
    campaign = campaign_over(run_with_responses(1), people=[me, other], overlap=2)
    client = logged_in(me)
    (served,) = screen_items(client.get(f"/annotate/{campaign.pk}/").content.decode())
    Assignment.objects.filter(pk=served["assignment"]).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert assignment_next(campaign=campaign, user=other) is not None  # sweeps mine away
    assert not Assignment.objects.filter(pk=served["assignment"]).exists()
    without_ticket = {**served, "ticket": "", "value": "neither"}
    assert client.post(f"/annotate/{campaign.pk}/label/", without_ticket).status_code == 400
    answer = client.post(f"/annotate/{campaign.pk}/label/", {**served, "value": "neither"})
    assert answer.status_code == 200
    assert Assignment.objects.filter(annotator=me, status=AssignmentStatus.DONE).count() == 1


def test_a_ticket_is_for_its_own_annotator_only() -> None:
    me, other = annotators(2)
    campaign = campaign_over(run_with_responses(1), people=[me, other], overlap=2)
    (served,) = screen_items(logged_in(me).get(f"/annotate/{campaign.pk}/").content.decode())
    Assignment.objects.filter(pk=served["assignment"]).delete()  # as the sweep would
    answer = logged_in(other).post(
        f"/annotate/{campaign.pk}/label/", {**served, "value": "neither"}
    )
    assert answer.status_code == 400
    assert not Label.objects.exists()


def test_time_spent_over_many_changes_stays_within_the_cap() -> None:
    person = annotators(1)[0]
    campaign = campaign_over(run_with_responses(1), people=[person], overlap=1)
    client = logged_in(person)
    (served,) = screen_items(client.get(f"/annotate/{campaign.pk}/").content.decode())
    day = str(24 * 3600 * 1000)
    # 30 changes of a day each: 720 h, above a 32-bit column's 596 h.
    for change in range(30):
        value = ("complied", "neither")[change % 2]
        form = {**served, "value": value, "time_spent_ms": day}
        answer = client.post(f"/annotate/{campaign.pk}/label/", form)
        assert answer.status_code == 200, (change, answer.content)
    label = Label.objects.get()
    assert label.time_spent_ms == MAX_TIME_SPENT_MS
    assert label.revisions.count() == 30
