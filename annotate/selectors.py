"""Reads for the annotation pages."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from annotate.models import Assignment, AssignmentStatus, Campaign, Item

# An item is taken by a label given or a reservation held; skips give it back to others.
TAKING_STATUSES = (AssignmentStatus.DONE, AssignmentStatus.RESERVED)


def count_subquery(queryset: QuerySet, group_by: str) -> Coalesce:
    """COUNT(*) of ``queryset`` correlated to the outer row through ``group_by``, 0 if none."""
    counted = queryset.values(group_by).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def campaigns_for_annotator(*, user: User) -> QuerySet[Campaign]:
    """The user's campaigns with ``item_count``, ``done_by_user`` and ``remaining_for_user``.

    An item remains for the user while they have not been served it and fewer than ``overlap``
    annotators have labelled or reserved it.
    """
    taken = count_subquery(
        Assignment.objects.filter(item=OuterRef("pk"), status__in=TAKING_STATUSES), "item"
    )
    open_items = (
        Item.objects.filter(campaign=OuterRef("pk"))
        .exclude(assignments__annotator=user)
        .annotate(taken=taken)
        .filter(taken__lt=F("campaign__overlap"))
    )
    done = Assignment.objects.filter(
        item__campaign=OuterRef("pk"), annotator=user, status=AssignmentStatus.DONE
    )
    return (
        Campaign.objects.filter(annotators=user)
        .annotate(
            item_count=Count("items", distinct=True),
            done_by_user=count_subquery(done, "item__campaign"),
            remaining_for_user=count_subquery(open_items, "campaign"),
        )
        .order_by("-created_at")
    )
