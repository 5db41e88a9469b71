"""Labels: an annotator's label for an item served to them, stored once and changed with its
history kept (``LabelRevision``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, Subquery
from django.utils import timezone

from annotate.models import (
    AnnotatorCount,
    Assignment,
    AssignmentStatus,
    Campaign,
    CheckKind,
    Item,
    Label,
    LabelRevision,
)
from annotate.schemes import SchemeError, answers_clean, scheme_values
from annotate.services.errors import LabelError
from annotate.services.gold import gold_majority_refresh
from annotate.services.hot_path import in_one_statement, item_labels_lock, label_first
from annotate.services.quality import annotator_is_paused, pause_rule_apply, paused_standing
from annotate.services.serving import campaign_open_check, reservation_expiry, slot_take
from annotate.tickets import ticket_matches

# The most time one label is credited with (a day), for one submission and for its total over
# changes: a tab left open is not work, and the total must fit its integer column.
MAX_TIME_SPENT_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class StoredLabel:
    label: Label
    # The annotator's count of labelled items in the campaign after this label, where storing it
    # told (a first label, on PostgreSQL); else None, and the progress bar reads the count.
    annotator_labelled: int | None


def label_submit(
    *,
    campaign: Campaign,
    user: User,
    assignment_id: int,
    item_id: int,
    value: str,
    answers: dict[str, Any] | None = None,
    note: str = "",
    time_spent_ms: int = 0,
    ticket: str = "",
    is_demo: bool = False,
) -> StoredLabel:
    """Store (or change) this annotator's label for an item served to them, with the answers to
    the scheme's questions that the label asks (annotate/schemes.py): their assignment, or, once
    it expired and was swept away, the signed ``ticket`` the screen carried for it. The same
    label sent twice is stored once; a change keeps the old value in the label's history."""
    campaign_open_check(campaign)
    if value not in scheme_values(campaign.label_scheme):
        raise LabelError(f"{value!r} is not a label of this campaign.")
    try:
        answers = answers_clean(campaign.label_scheme, value, answers or {})
    except SchemeError as error:
        raise LabelError(str(error)) from None
    time_spent_ms = max(0, min(int(time_spent_ms), MAX_TIME_SPENT_MS))
    given = Given(value=value, answers=answers, note=note, time_spent_ms=time_spent_ms)
    with transaction.atomic():
        # Before anything is read: the item's labels are then all there is to see (hot_path.py).
        item_labels_lock(item_id)
        if in_one_statement():
            stored = _label_first_in_one_statement(
                campaign, user, assignment_id, item_id, given, is_demo=is_demo
            )
            if stored is not None:
                return stored
        assignment, is_check = _assignment_for_label(
            campaign=campaign,
            user=user,
            assignment_id=assignment_id,
            item_id=item_id,
            ticket=ticket,
        )
        changed = assignment.status == AssignmentStatus.DONE
        if changed:
            label = _label_change(assignment, given)
        else:
            label = _label_first(assignment, given, is_demo=is_demo)
        if is_check:
            # A check's answer is scored, never counted: no gold, and maybe a pause.
            pause_rule_apply(campaign=campaign, user=user)
        else:
            gold_majority_refresh(
                campaign=campaign, item_ids=[assignment.item_id], added=not changed
            )
    return StoredLabel(label=label, annotator_labelled=None)


def _label_first_in_one_statement(
    campaign: Campaign,
    user: User,
    assignment_id: int,
    item_id: int,
    given: Given,
    *,
    is_demo: bool,
) -> StoredLabel | None:
    """The common case, a first label of a regular item served to an annotator not paused, in
    one statement (annotate/services/hot_path.py); None for anything else."""
    now = timezone.now()
    stored = label_first(
        campaign_id=campaign.pk,
        overlap=campaign.overlap,
        user_id=user.pk,
        assignment_id=assignment_id,
        item_id=item_id,
        value=given.value,
        answers=given.answers,
        note=given.note,
        time_spent_ms=given.time_spent_ms,
        is_demo=is_demo,
        now=now,
    )
    if stored is None:
        return None
    # Fewer labels than the overlap never make or unmake a gold label, nor meet a target: the
    # first labels of an item skip gold. From the overlap-th on, the statement read the labels
    # that gold is decided from.
    if stored.counted_values is not None:
        gold_majority_refresh(
            campaign=campaign,
            item_ids=[item_id],
            added=True,
            counted_values={item_id: stored.counted_values},
        )
    label = Label(
        pk=stored.label_id,
        assignment_id=assignment_id,
        value=given.value,
        answers=given.answers,
        note=given.note,
        time_spent_ms=given.time_spent_ms,
        is_demo=is_demo,
        created_at=now,
        updated_at=now,
    )
    label._state.adding = False
    label._state.db = connection.alias
    return StoredLabel(label=label, annotator_labelled=stored.annotator_labelled)


def _assignment_for_label(
    *, campaign: Campaign, user: User, assignment_id: int, item_id: int, ticket: str
) -> tuple[Assignment, bool]:
    """The assignment the label is for, and whether its item is a check."""
    # Lock the assignment only: a sweeper holds assignments and then waits for items, so also
    # locking the item here could deadlock with it.
    # Whether the annotator is paused comes with the lock, in the same query: this is the hot
    # path, and a paused annotator's label is refused whatever item it is for.
    paused = paused_standing(campaign=campaign, user=user)
    found = (
        Assignment.objects.select_for_update(of=("self",))
        .filter(pk=assignment_id, annotator=user, item_id=item_id, item__campaign=campaign)
        .annotate(item_check_kind=F("item__check_kind"), annotator_paused=Exists(paused))
        .first()
    )
    if (found is not None and found.annotator_paused) or (
        found is None and annotator_is_paused(campaign=campaign, user=user)
    ):
        raise LabelError(
            "You are paused on this campaign, so your label was not stored; a researcher can "
            "let you continue."
        )
    if found is not None and found.status != AssignmentStatus.SKIPPED:
        return found, found.item_check_kind != CheckKind.NONE
    assignment: Assignment | None = found
    # The reservation ran out and went back to the pool, or the item was skipped earlier:
    # label it still if a slot is free, else say so.
    item = Item.objects.filter(pk=item_id, campaign=campaign).only("check_kind").first()
    if item is None:
        raise LabelError("This item is not part of this campaign.")
    if assignment is None and not ticket_matches(
        ticket, assignment_id=assignment_id, item_id=item_id, annotator_id=user.pk
    ):
        # Ids are easy to guess: without its assignment or the screen's ticket, the item was
        # never served to this annotator, and labelling it would bypass sampling and order.
        raise LabelError("This item was not served to you; your label was not stored.")
    # A check takes no slot: every annotator may answer it.
    if not item.is_check and not slot_take(item_id=item_id):
        raise LabelError(
            "This item was held too long and went to other annotators; your label was not stored."
        )
    if assignment is None:
        try:
            with transaction.atomic():
                assignment = Assignment.objects.create(
                    item_id=item_id, annotator=user, expires_at=reservation_expiry(campaign)
                )
        except IntegrityError as error:
            raise LabelError("This item is already labelled by you.") from error
    assignment.status = AssignmentStatus.RESERVED
    return assignment, item.is_check


@dataclass(frozen=True)
class Given:
    """What one submission says: the label, its answers, the note, the time it took."""

    value: str
    answers: dict[str, Any]
    note: str
    time_spent_ms: int

    def revision(self, label: Label) -> LabelRevision:
        return LabelRevision.objects.create(
            label=label,
            value=self.value,
            answers=self.answers,
            note=self.note,
            time_spent_ms=self.time_spent_ms,
        )


def _label_first(assignment: Assignment, given: Given, *, is_demo: bool) -> Label:
    label = Label.objects.create(
        assignment=assignment,
        value=given.value,
        answers=given.answers,
        note=given.note,
        time_spent_ms=given.time_spent_ms,
        is_demo=is_demo,
    )
    given.revision(label)
    Assignment.objects.filter(pk=assignment.pk).update(
        status=AssignmentStatus.DONE, completed_at=timezone.now()
    )
    _labelled_count_add(assignment)
    return label


def _labelled_count_add(assignment: Assignment) -> None:
    """One more item labelled by the annotator in the campaign (the progress bar's count)."""
    campaign_id = Item.objects.filter(pk=assignment.item_id).values("campaign_id")
    counts = AnnotatorCount.objects.filter(
        campaign_id=Subquery(campaign_id), annotator_id=assignment.annotator_id
    )
    if counts.update(labelled=F("labelled") + 1):
        return
    try:
        with transaction.atomic():
            AnnotatorCount.objects.create(
                campaign_id=Item.objects.get(pk=assignment.item_id).campaign_id,
                annotator_id=assignment.annotator_id,
                labelled=1,
            )
    except IntegrityError:  # another request made the row first
        counts.update(labelled=F("labelled") + 1)


def annotator_counts_recount(pairs: Iterable[tuple[int, int]]) -> None:
    """Count again, from their assignments, what each (campaign id, annotator id) labelled:
    after assignments were deleted outside the label path (the admin), which keeps the count
    otherwise."""
    for campaign_id, annotator_id in set(pairs):
        labelled = Assignment.objects.filter(
            item__campaign_id=campaign_id, annotator_id=annotator_id, status=AssignmentStatus.DONE
        ).count()
        AnnotatorCount.objects.update_or_create(
            campaign_id=campaign_id, annotator_id=annotator_id, defaults={"labelled": labelled}
        )


def _label_change(assignment: Assignment, given: Given) -> Label:
    label = Label.objects.get(assignment=assignment)
    if (label.value, label.answers, label.note) == (given.value, given.answers, given.note):
        return label  # a double click or a retry: nothing new to keep
    label.value, label.answers, label.note = given.value, given.answers, given.note
    # Many changes add up; the total stays within what one item may be credited with.
    label.time_spent_ms = min(label.time_spent_ms + given.time_spent_ms, MAX_TIME_SPENT_MS)
    label.save(update_fields=["value", "answers", "note", "time_spent_ms", "updated_at"])
    given.revision(label)
    return label
