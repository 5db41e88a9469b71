"""Deleting assignments or items in the admin keeps each annotator's label count (the progress
bar's ``AnnotatorCount``) equal to their labels, as the label path keeps it."""

from __future__ import annotations

import pytest
from django.contrib.admin import helpers
from django.test import Client

from annotate.models import AnnotatorCount, Assignment, AssignmentStatus
from tests.annotate.builders import annotators, campaign_over, label_all, run_with_responses
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def labelled(campaign, person) -> int:
    return Assignment.objects.filter(
        item__campaign=campaign, annotator=person, status=AssignmentStatus.DONE
    ).count()


def counted(campaign, person) -> int:
    return AnnotatorCount.objects.get(campaign=campaign, annotator=person).labelled


def delete_selected(model: str, ids: list[int]) -> None:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    answer = client.post(
        f"/admin/annotate/{model}/",
        {"action": "delete_selected", helpers.ACTION_CHECKBOX_NAME: ids, "post": "yes"},
    )
    assert answer.status_code == 302, answer.content[:300]


def test_deleting_assignments_and_items_in_the_admin_counts_again() -> None:
    first, second = annotators(2)
    campaign = campaign_over(run_with_responses(6), people=[first, second], overlap=2)
    label_all(campaign, first)
    label_all(campaign, second)
    assert counted(campaign, first) == labelled(campaign, first) == 6

    theirs = Assignment.objects.filter(item__campaign=campaign, annotator=first)
    delete_selected("assignment", list(theirs.values_list("pk", flat=True)[:2]))
    assert counted(campaign, first) == labelled(campaign, first) == 4
    assert counted(campaign, second) == 6

    an_item = Assignment.objects.filter(annotator=second).values_list("item_id", flat=True)[0]
    delete_selected("item", [an_item])
    assert counted(campaign, second) == labelled(campaign, second) == 5
