"""Serving items to annotators: reserve the next item, hand expired reservations back, skip.

Serving is the hot path (an annotator presses a key and waits for it), so it costs a fixed
number of queries whatever the campaign's size, and it is safe with many annotators at once:
an item is taken by locking its row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite runs
write transactions one at a time) and decrementing ``Item.slots_left``, which can never go below
zero, so no item ever collects more than ``overlap`` labels. Items of a target that was met
(``annotate/targets.py``: a category's, or the whole campaign's) are left out in the same query.

A campaign that labels every turn of scripted conversations serves a conversation's turns to an
annotator in order: once served a turn, their next item is that conversation's next turn they
have not been served, if it is still open, before a check or any other item. One more query
does it, on such campaigns only. Its items are laid out first turns first
(``annotate/services/campaigns.py``), so that an annotator taking an item from the pool starts
a conversation at its beginning.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Collection
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import F, QuerySet, Subquery
from django.utils import timezone

from accounts.prepared import prepared_cursor
from annotate.models import Assignment, AssignmentStatus, Campaign, CheckKind, Item
from annotate.selectors import served_to
from annotate.services.errors import LabelError
from annotate.services.hot_path import (
    EXPIRED_LOCKED,
    Reserved,
    Unmet,
    in_one_statement,
    reserve_next,
)
from annotate.services.quality import annotator_is_paused
from annotate.targets import has_target, served_no_more

# Expired reservations handed back per request; the rest wait for the next request.
SWEEP_BATCH = 200


def assignment_next(
    *, campaign: Campaign, user: User, exclude: Collection[int] = ()
) -> Assignment | None:
    """The item this annotator should see next, reserved for them: one they already hold
    (not among ``exclude``, the ones already on their screen) or a newly taken one. None once
    the campaign is closed, has met its overall target, or the annotator is paused on it. An
    item reserved before a target was met may still be finished."""
    if not campaign.takes_labels:
        return None
    if _serves_in_one_statement(campaign=campaign, user=user):
        found = _reserve_in_one_statement(campaign=campaign, user=user, exclude=exclude)
        if found is not None:
            return found
        # Paused, or nothing ahead of their cursor: the general path says which.
    if annotator_is_paused(campaign=campaign, user=user):
        return None
    with transaction.atomic():
        held = _held_reservation(campaign=campaign, user=user, exclude=exclude)
        if held is not None:
            return held
        reservations_sweep()
        if campaign.labels_every_turn:
            following = _reserve_next_turn(campaign=campaign, user=user)
            if following is not None:
                return following
        if _check_due(campaign=campaign, user=user):
            check = _check_reserve(campaign=campaign, user=user)
            if check is not None:
                return check
        return _reserve_new(campaign=campaign, user=user)


def _serves_in_one_statement(*, campaign: Campaign, user: User) -> bool:
    """PostgreSQL, and no check due now (checks are drawn apart, at random)."""
    return in_one_statement() and not _check_due(campaign=campaign, user=user)


def _unmet_kind(campaign: Campaign) -> Unmet:
    if not has_target(campaign):
        return Unmet.NO_TARGET
    return Unmet.PER_CATEGORY if campaign.target_per_category else Unmet.OVERALL


def _reserve_in_one_statement(
    *, campaign: Campaign, user: User, exclude: Collection[int]
) -> Assignment | None:
    now = timezone.now()
    answer = reserve_next(
        campaign_id=campaign.pk,
        user_id=user.pk,
        exclude=exclude,
        every_turn=campaign.labels_every_turn,
        unmet=_unmet_kind(campaign),
        now=now,
        expires_at=now + timedelta(minutes=campaign.reservation_minutes),
    )
    if answer.reserved is None:
        return None  # the general path follows, and sweeps before it searches
    assignment = _assignment_reserved(campaign, user, answer.reserved, now)
    if answer.expired_seen:
        # After the reservation, in a transaction of its own: the sweep waits for item rows,
        # and never while this request holds one (a reservation taken, then a sweep, in one
        # transaction could deadlock with another request doing the same the other way round).
        with transaction.atomic():
            reservations_sweep()
    return assignment


def _assignment_reserved(
    campaign: Campaign, user: User, reserved: Reserved, now: datetime
) -> Assignment:
    """The assignment the one-statement reservation made or found, as a model instance; a
    reservation of theirs found expired is given its time again."""
    assignment = Assignment(
        pk=reserved.assignment_id,
        item_id=reserved.item_id,
        annotator=user,
        status=AssignmentStatus.RESERVED,
        reserved_at=reserved.reserved_at,
        expires_at=reserved.expires_at,
    )
    assignment._state.adding = False
    assignment._state.db = connection.alias
    if reserved.was_held and assignment.expires_at <= now:
        assignment.expires_at = reservation_expiry(campaign)
        assignment.save(update_fields=["expires_at"])
    return assignment


def _check_due(*, campaign: Campaign, user: User) -> bool:
    """Whether the annotator's next item should be a check: with probability 1/check_every,
    drawn from the campaign, the annotator and how many items they have been served, so that
    checks fall at no fixed place (annotators cannot count their way to them) and the same
    history gives the same draw."""
    if not campaign.check_every:
        return False
    served = Assignment.objects.filter(annotator=user, item__campaign=campaign).count()
    draw = random.Random(f"{campaign.pk}:{campaign.seed}:{user.pk}:{served}").random()
    return draw < 1 / campaign.check_every


def _check_reserve(*, campaign: Campaign, user: User) -> Assignment | None:
    """A check this annotator has not been served, in a random order of their own; None when
    they have seen every check. Checks take no slot: every annotator may answer each."""
    unseen = list(
        _unmet(campaign, Item.objects.filter(campaign=campaign))
        .exclude(check_kind=CheckKind.NONE)
        .exclude(served_to(user))
        .values_list("pk", flat=True)
    )
    if not unseen:
        return None
    chosen = random.Random(f"{campaign.pk}:{user.pk}:{len(unseen)}").choice(sorted(unseen))
    return Assignment.objects.create(
        item_id=chosen, annotator=user, expires_at=reservation_expiry(campaign)
    )


def _unmet(campaign: Campaign, items: QuerySet[Item]) -> QuerySet[Item]:
    """``items`` less those of a met target (a category that met its own, or all once the
    campaign met its overall one): in the same query, no extra one on the hot path."""
    met = served_no_more(campaign)
    return items if met is None else items.exclude(met)


def _held_reservation(
    *, campaign: Campaign, user: User, exclude: Collection[int]
) -> Assignment | None:
    held = (
        Assignment.objects.filter(
            annotator=user, item__campaign=campaign, status=AssignmentStatus.RESERVED
        )
        .exclude(pk__in=list(exclude))
        .order_by("reserved_at", "pk")
        .first()
    )
    if held is not None and held.expires_at <= timezone.now():
        held.expires_at = reservation_expiry(campaign)
        held.save(update_fields=["expires_at"])
    return held


def reservation_expiry(campaign: Campaign) -> datetime:
    """When a reservation taken now runs out."""
    return timezone.now() + timedelta(minutes=campaign.reservation_minutes)


def reservations_sweep() -> int:
    """Hand expired reservations back to the pool. Rows another request is sweeping are
    skipped, so two sweepers never give the same slot back twice."""
    expired = _expired_locked()
    if not expired:
        return 0
    Assignment.objects.filter(pk__in=[pk for pk, _ in expired]).delete()
    for item_id, count in Counter(item_id for _, item_id in expired).items():
        # A check never held a slot (every annotator may answer it): nothing to give back.
        Item.objects.filter(pk=item_id, check_kind=CheckKind.NONE).update(
            slots_left=F("slots_left") + count
        )
    return len(expired)


def _expired_locked() -> list[tuple[int, int]]:
    """Up to ``SWEEP_BATCH`` expired reservations (id, item id), locked; those another request
    holds are skipped. Every label POST asks, and there is rarely any: on PostgreSQL the
    question is written once rather than compiled by the ORM each time."""
    now = timezone.now()
    if not in_one_statement():
        return list(
            Assignment.objects.select_for_update(skip_locked=True)
            .filter(status=AssignmentStatus.RESERVED, expires_at__lt=now)
            .order_by()
            .values_list("pk", "item_id")[:SWEEP_BATCH]
        )
    with prepared_cursor() as cursor:
        cursor.execute(EXPIRED_LOCKED, [AssignmentStatus.RESERVED.value, now, SWEEP_BATCH])
        return [(pk, item_id) for pk, item_id in cursor.fetchall()]


def _reserve_next_turn(*, campaign: Campaign, user: User) -> Assignment | None:
    """The next turn, still open to this annotator, of the conversation of the item they were
    served last (its later turns lie at later positions), reserved; None when that item is not
    a turn of a conversation, or none of its later turns is open to them."""
    last_served = Assignment.objects.filter(annotator=user, item__campaign=campaign).order_by("-pk")
    following = _unmet(
        campaign,
        Item.objects.filter(
            campaign=campaign,
            slots_left__gt=0,
            conversation=Subquery(last_served.values("item__conversation")[:1]),
            position__gt=Subquery(last_served.values("item__position")[:1]),
        ).exclude(served_to(user)),
    )
    item = following.select_for_update(skip_locked=True).order_by("position", "pk").only("pk")
    chosen = item.first()
    if chosen is None or not slot_take(item_id=chosen.pk):
        return None
    return Assignment.objects.create(
        item_id=chosen.pk, annotator=user, expires_at=reservation_expiry(campaign)
    )


def _reserve_new(*, campaign: Campaign, user: User) -> Assignment | None:
    """The first open item from the annotator's cursor on, else (nothing ahead) from the start,
    as the one-statement path serves (annotate/services/hot_path.py)."""
    open_items = _unmet(
        campaign, Item.objects.filter(campaign=campaign, slots_left__gt=0).exclude(served_to(user))
    )
    for since in dict.fromkeys((_cursor(campaign=campaign, user=user), 0)):
        reserved = _reserve_first(campaign, user, open_items.filter(position__gte=since))
        if reserved is not None:
            return reserved
    return None


def _cursor(*, campaign: Campaign, user: User) -> int:
    """The position of the last regular item served to the annotator (0: none; always 0 in a
    campaign of every turn, whose layout puts all first turns first)."""
    if campaign.labels_every_turn:
        return 0
    last = (
        Assignment.objects.filter(
            annotator=user, item__campaign=campaign, item__check_kind=CheckKind.NONE
        )
        .order_by("-pk")
        .values_list("item__position", flat=True)
        .first()
    )
    return last or 0


def _reserve_first(campaign: Campaign, user: User, open_items: QuerySet[Item]) -> Assignment | None:
    # A few tries: on SQLite (no row locks) another writer may take the last slot between the
    # read and the conditional update; on PostgreSQL the row lock makes the first try win.
    for _ in range(5):
        item = (
            open_items.select_for_update(skip_locked=True)
            .order_by("position", "pk")
            .only("pk")
            .first()
        )
        if item is None:
            return None
        if slot_take(item_id=item.pk):
            return Assignment.objects.create(
                item_id=item.pk, annotator=user, expires_at=reservation_expiry(campaign)
            )
    return None


def slot_take(*, item_id: int) -> bool:
    """Take one of the item's free slots by a conditional update; False when none is left."""
    taken = Item.objects.filter(pk=item_id, slots_left__gt=0).update(slots_left=F("slots_left") - 1)
    return taken == 1


def _slot_release(item_id: int) -> None:
    Item.objects.filter(pk=item_id, check_kind=CheckKind.NONE).update(
        slots_left=F("slots_left") + 1
    )


def campaign_open_check(campaign: Campaign) -> None:
    """Labels and skips of a closed campaign are refused here, so every caller (page, demo,
    script) meets the same rule."""
    if not campaign.takes_labels:
        raise LabelError(
            "This campaign is closed: it takes no more labels, and yours was not stored."
        )


def assignment_skip(*, campaign: Campaign, user: User, assignment_id: int) -> None:
    """The annotator passes on a reserved item: it goes back to others and never returns to
    them. A labelled item cannot be skipped (its label would be lost)."""
    campaign_open_check(campaign)
    with transaction.atomic():
        assignment = (
            Assignment.objects.select_for_update(of=("self",))
            .filter(pk=assignment_id, annotator=user, item__campaign=campaign)
            .first()
        )
        if assignment is None or assignment.status != AssignmentStatus.RESERVED:
            return
        assignment.status = AssignmentStatus.SKIPPED
        assignment.completed_at = timezone.now()
        assignment.save(update_fields=["status", "completed_at"])
        _slot_release(assignment.item_id)
