"""Serving from the annotator's cursor (issue 17): an annotator ahead of the others is served
the next open item after the one they were served last, so their cost does not grow with how
far ahead they are; an item behind them that opens again goes to them once nothing lies ahead.
The guarantees stay: never an item twice to one person, never more than k labels."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from annotate.models import Assignment, AssignmentStatus, Item
from annotate.selectors import AnnotatorProgress, annotator_progress
from annotate.services.hot_path import PARAMETERS, Unmet, reserve_next_sql
from annotate.services.labels import label_submit
from annotate.services.serving import assignment_next, assignment_skip, reservations_sweep
from tests.annotate.builders import annotators, campaign_over, label_all, run_with_responses

pytestmark = pytest.mark.django_db


def positions(item_ids: list[int]) -> list[int]:
    by_id = dict(Item.objects.filter(pk__in=item_ids).values_list("pk", "position"))
    return [by_id[item_id] for item_id in item_ids]


def test_an_annotator_ahead_is_served_in_position_order_and_each_item_once() -> None:
    ahead, behind = annotators(2)
    campaign = campaign_over(run_with_responses(30), people=[ahead, behind], overlap=2)
    first = label_all(campaign, ahead, limit=20)
    assert positions(first) == list(range(20))
    rest = label_all(campaign, ahead)
    assert positions(rest) == list(range(20, 30))
    # The one behind starts at the beginning, and both label every item once.
    assert positions(label_all(campaign, behind)) == list(range(30))
    labels = Counter(
        Assignment.objects.filter(
            item__campaign=campaign, status=AssignmentStatus.DONE
        ).values_list("item_id", flat=True)
    )
    assert set(labels.values()) == {2} and len(labels) == 30


def test_an_item_behind_the_cursor_that_opens_again_is_served_once_nothing_lies_ahead() -> None:
    first, second, late = annotators(3)
    campaign = campaign_over(run_with_responses(6), people=[first, second, late], overlap=2)
    # ``second`` takes item 0 and walks away; ``first`` labels items 0..2, ``late`` skips 0 and
    # labels 1..2, so item 0 is behind both of them when its reservation runs out.
    held = assignment_next(campaign=campaign, user=second)
    assert held is not None and positions([held.item_id]) == [0]
    label_all(campaign, first, limit=3)
    skipped = assignment_next(campaign=campaign, user=late)
    assert skipped is not None and positions([skipped.item_id]) == [1]
    Assignment.objects.filter(pk=held.pk).update(expires_at=timezone.now() - timedelta(1))
    assignment_skip(campaign=campaign, user=late, assignment_id=skipped.pk)
    assert reservations_sweep() == 1  # as the next request to serve anybody does

    # ``late``'s bar counts item 0 among what is left, behind their cursor, with items 2..5.
    assert annotator_progress(campaign=campaign, user=late).remaining == 5
    # Item 0 is open again, behind ``first`` too: ahead of their cursor come items 3..5 first.
    served = label_all(campaign, first)
    assert positions(served) == [3, 4, 5]
    # ``late``'s cursor is at item 1 (skipped): items 2..5 lie ahead, then item 0 comes.
    assert positions(label_all(campaign, late)) == [2, 3, 4, 5, 0]
    assert Item.objects.get(campaign=campaign, position=0).slots_left == 0
    for person, done in ((first, 6), (late, 5)):  # ``late`` skipped item 1
        assert annotator_progress(campaign=campaign, user=person) == AnnotatorProgress(
            done=done, remaining=0, remaining_capped=False
        )


def items_probed(plan: dict[str, Any]) -> int:
    """How many times the plan asked whether an item was served to the annotator: the loops of
    the index probes of assignments by item."""
    probes = 0
    if plan.get("Relation Name") == "annotate_assignment" and "item_id" in plan.get(
        "Index Cond", ""
    ):
        probes += plan["Actual Loops"]
    return probes + sum(items_probed(child) for child in plan.get("Plans", []))


def serving_probes(campaign_id: int, user_id: int) -> int:
    """Run the serving statement under EXPLAIN ANALYZE, then undo what it did."""
    now = timezone.now()
    parameters: dict[str, Any] = {
        **PARAMETERS,
        "campaign": campaign_id,
        "user": user_id,
        "exclude": [],
        "every_turn": False,  # with True (no cursor), the ahead one probes 251 items
        "now": now,
        "expires_at": now + timedelta(minutes=30),
        "commit_unflushed": False,
    }
    statement = reserve_next_sql(Unmet.NO_TARGET)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
        (document,) = cursor.fetchone()
        transaction.set_rollback(True)
    plan = document[0]["Plan"] if isinstance(document, list) else json.loads(document)[0]["Plan"]
    return items_probed(plan)


@pytest.mark.postgres
def test_serving_an_annotator_far_ahead_probes_no_more_items_than_at_the_start() -> None:
    ahead, fresh = annotators(2)
    campaign = campaign_over(run_with_responses(300), people=[ahead, fresh], overlap=2)
    label_all(campaign, ahead, limit=250)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotate_item; ANALYZE annotate_assignment")
    # Without the cursor the ahead one's search would ask about each of the 250 items they
    # labelled (all still open to the other); from the cursor, about one or two.
    assert serving_probes(campaign.pk, ahead.pk) <= 2
    assert serving_probes(campaign.pk, fresh.pk) <= 2


def test_the_bars_done_count_follows_labels_whichever_way_they_were_stored() -> None:
    """First labels on the one-statement path and on the general one (here a label for an item
    the annotator skipped, then labelled after all) count once; a changed label not again."""
    person = annotators(1)[0]
    campaign = campaign_over(run_with_responses(5), people=[person], overlap=1)
    label_all(campaign, person, limit=2)
    passed = assignment_next(campaign=campaign, user=person)
    assert passed is not None
    assignment_skip(campaign=campaign, user=person, assignment_id=passed.pk)
    label_submit(
        campaign=campaign,
        user=person,
        assignment_id=passed.pk,
        item_id=passed.item_id,
        value="complied",
    )
    label_submit(  # a change of mind: still three items labelled
        campaign=campaign,
        user=person,
        assignment_id=passed.pk,
        item_id=passed.item_id,
        value="not_complied",
    )
    labelled = Assignment.objects.filter(
        annotator=person, item__campaign=campaign, status=AssignmentStatus.DONE
    ).count()
    assert labelled == 3
    assert annotator_progress(campaign=campaign, user=person).done == labelled


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        (setting,) = cursor.fetchone()
    return setting


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # the reservation's own commit, outside a transaction
def test_a_reservations_unflushed_commit_leaves_every_later_commit_flushed(
    role_groups: None,
) -> None:
    person = annotators(1)[0]
    campaign = campaign_over(run_with_responses(5), people=[person], overlap=1)
    first = assignment_next(campaign=campaign, user=person)
    assert first is not None
    # The setting was the reservation's own: the label committed next waits for the disk.
    assert synchronous_commit() == "on"
    with transaction.atomic():  # a caller's transaction: its commit is left as it is
        assert assignment_next(campaign=campaign, user=person, exclude=[first.pk]) is not None
        assert synchronous_commit() == "on"
