"""Many annotators asking at the same moment, on PostgreSQL with real connections (threads):
no item ever gets more than k labels and nobody gets an item twice."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connection, transaction

from annotate.models import Assignment, GoldLabel, Item, Label
from annotate.services.labels import label_submit
from annotate.services.serving import assignment_next
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
    # Everyone gave every item the same label: each item's overlap-th label, however close to
    # another label of it, made its gold label.
    assert GoldLabel.objects.count() == items


def test_an_items_last_two_labels_stored_at_once_still_make_its_gold(role_groups: None) -> None:
    """The first label's transaction is still open when the second is sent: the second waits
    for it, then sees both labels (without the item's lock it saw only its own and made none)."""
    first, second = annotators(2)
    campaign = campaign_over(run_with_responses(1), people=[first, second], overlap=2)
    served = [assignment_next(campaign=campaign, user=person) for person in (first, second)]
    assert all(served)
    first_stored, second_sent = threading.Event(), threading.Event()
    errors: list = []

    def label(person, assignment) -> None:
        label_submit(
            campaign=campaign,
            user=person,
            assignment_id=assignment.pk,
            item_id=assignment.item_id,
            value="complied",
        )

    def first_annotator() -> None:
        try:
            with transaction.atomic():
                label(first, served[0])
                first_stored.set()
                second_sent.wait(timeout=30)
                time.sleep(0.5)  # the second label is on its way meanwhile
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    def second_annotator() -> None:
        try:
            first_stored.wait(timeout=30)
            second_sent.set()
            label(second, served[1])
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=first_annotator), threading.Thread(target=second_annotator)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert Label.objects.count() == 2
    assert list(GoldLabel.objects.values_list("value", flat=True)) == ["complied"]
