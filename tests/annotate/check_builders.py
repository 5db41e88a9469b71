"""Campaigns with gold labels to take checks from, and answers to checks, for the tests of
adding checks (test_checks.py, test_check_pages.py)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from annotate.models import (
    Assignment,
    AssignmentStatus,
    Campaign,
    CheckKind,
    GoldLabel,
    GoldSource,
    Item,
    Label,
)
from annotate.services.gold import gold_set
from tests.annotate.builders import campaign_over, run_with_responses
from tests.factories import UserFactory

COCONOT_VALUES = ("not_complied", "complied", "neither")


def gold_campaign(
    count: int,
    *,
    adjudicated: Collection[int] = (),
    values: Sequence[str] = COCONOT_VALUES,
    name: str = "Earlier",
    **settings: Any,
) -> Campaign:
    """A campaign over ``count`` new responses, every item with a gold label: the n-th item's
    (by position) is ``values[n % len(values)]``, set by a researcher for the positions in
    ``adjudicated`` and by agreeing annotators for the rest."""
    campaign = campaign_over(run_with_responses(count), name=name, **settings)
    researcher = UserFactory.create(role="researcher")
    for item in campaign.items.order_by("position"):
        value = values[item.position % len(values)]
        if item.position in adjudicated:
            gold_set(item=item, value=value, reason="Checked by hand.", user=researcher)
        else:
            GoldLabel.objects.create(item=item, value=value, source=GoldSource.MAJORITY)
    return campaign


def gold_by_response(campaign: Campaign) -> dict[int, tuple[int, str, str]]:
    """The campaign's gold labels: response id -> (item id, value, source)."""
    return {
        gold.item.response_id: (gold.item_id, gold.value, gold.source)
        for gold in GoldLabel.objects.filter(item__campaign=campaign).select_related("item")
    }


def checks_of(campaign: Campaign) -> list[Item]:
    return list(campaign.items.exclude(check_kind=CheckKind.NONE).order_by("pk"))


def answer_check(
    item: Item, user: User, value: str, status: str = AssignmentStatus.DONE
) -> Assignment:
    """An annotator's answer to a check, stored as serving and labelling store one."""
    now = timezone.now()
    assignment = Assignment.objects.create(
        item=item,
        annotator=user,
        status=status,
        expires_at=now,
        completed_at=now if status == AssignmentStatus.DONE else None,
    )
    if status == AssignmentStatus.DONE:
        Label.objects.create(assignment=assignment, value=value)
    return assignment
