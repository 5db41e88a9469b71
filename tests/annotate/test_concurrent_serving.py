"""Many annotators asking at the same moment, on PostgreSQL with real connections (threads):
no item ever gets more than k labels and nobody gets an item twice."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from annotate.models import Assignment, Item, Label
from tests.annotate.builders import annotators, campaign_over, label_all, run_with_responses

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def label_until_empty(campaign, user, start: threading.Barrier, errors: list) -> None:
    try:
        start.wait()
        label_all(campaign, user)
    except Exception as error:  # reported by the test, not lost in a thread
        errors.append(repr(error))
    finally:
        connection.close()


def run_annotators_at_once(campaign, people) -> list:
    start = threading.Barrier(len(people))
    errors: list = []
    threads = [
        threading.Thread(target=label_until_empty, args=(campaign, person, start, errors))
        for person in people
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


@pytest.mark.parametrize(("overlap", "items", "people"), [(1, 150, 30), (3, 60, 20)])
def test_annotators_at_once_never_overfill_an_item(
    role_groups: None, overlap: int, items: int, people: int
) -> None:
    team = annotators(people)
    campaign = campaign_over(run_with_responses(items), people=team, overlap=overlap)
    assert run_annotators_at_once(campaign, team) == []
    labels_per_item = Counter(
        Label.objects.filter(assignment__item__campaign=campaign).values_list(
            "assignment__item_id", flat=True
        )
    )
    assert len(labels_per_item) == items
    assert set(labels_per_item.values()) == {overlap}
    pairs = Assignment.objects.values_list("item_id", "annotator_id")
    assert len(pairs) == len(set(pairs))
    assert set(Item.objects.values_list("slots_left", flat=True)) == {0}
