from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from annotate.models import Assignment, AssignmentStatus, Campaign, Item
from inference.models import GenerationRun, Response
from tests.factories import BenchmarkFactory, PromptFactory, UserFactory

pytestmark = pytest.mark.django_db


def make_campaign(items: int, overlap: int) -> Campaign:
    benchmark = BenchmarkFactory.create()
    run = GenerationRun.objects.create(benchmark=benchmark, model_name="m", status="done")
    campaign = Campaign.objects.create(name="Pilot", overlap=overlap, label_scheme={})
    for _ in range(items):
        response = Response.objects.create(
            run=run, prompt=PromptFactory.create(benchmark=benchmark)
        )
        Item.objects.create(campaign=campaign, response=response)
    return campaign


def serve(item: Item, user: User, status: str) -> None:
    Assignment.objects.create(
        item=item, annotator=user, status=status, expires_at=timezone.now() + dt.timedelta(hours=1)
    )


def test_the_list_counts_what_is_left_for_this_annotator() -> None:
    me, first, second = (UserFactory.create(role="annotator") for _ in range(3))
    campaign = make_campaign(items=4, overlap=2)
    campaign.annotators.add(me, first, second)
    items = list(campaign.items.order_by("pk"))
    serve(items[0], me, AssignmentStatus.DONE)  # mine: done, not left
    serve(items[1], first, AssignmentStatus.DONE)  # one label of two: still left for me
    serve(items[2], first, AssignmentStatus.DONE)  # two labels of two: full, not left
    serve(items[2], second, AssignmentStatus.RESERVED)
    client = Client()
    client.force_login(me)
    page = client.get("/annotate/").content.decode()
    cells = [cell.strip() for cell in page.split('<td class="num">')[1:4]]
    assert [cell.split("<")[0] for cell in cells] == ["4", "1", "2"]


def test_campaigns_of_other_annotators_are_not_listed() -> None:
    campaign = make_campaign(items=1, overlap=1)
    campaign.annotators.add(UserFactory.create(role="annotator"))
    client = Client()
    client.force_login(UserFactory.create(role="annotator"))
    assert "Pilot" not in client.get("/annotate/").content.decode()
