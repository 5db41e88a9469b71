"""Writes for annotation: campaigns, serving items to annotators, labels, gold labels.

Serving is the hot path (an annotator presses a key and waits for it), so it costs a fixed
number of queries whatever the campaign's size, and it is safe with many annotators at once:
an item is taken by locking its row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite runs
write transactions one at a time) and decrementing ``Item.slots_left``, which can never go below
zero, so no item ever collects more than ``overlap`` labels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from annotate.models import (
    Assignment,
    AssignmentStatus,
    Campaign,
    CampaignStatus,
    GoldLabel,
    GoldSource,
    Item,
    Label,
    LabelRevision,
    Sampling,
)
from annotate.sampling import Candidate, JudgeReading, SamplingError, draw
from annotate.schemes import scheme_values
from annotate.selectors import campaign_population, run_categories, served_to
from annotate.tickets import ticket_matches
from inference.models import GenerationRun
from judging.models import Judge, Verdict

# The most time one label is credited with (a day), for one submission and for its total over
# changes: a tab left open is not work, and the total must fit its integer column.
MAX_TIME_SPENT_MS = 24 * 3600 * 1000

# Expired reservations handed back per request; the rest wait for the next request.
SWEEP_BATCH = 200


# What a researcher chooses for a new campaign, as the page's form and the API name it: the
# keyword arguments of ``campaign_create`` besides who created it and whether it is demo data.
CAMPAIGN_SETTINGS = (
    "name",
    "description",
    "runs",
    "categories",
    "subcategories",
    "exclude_truncated",
    "sampling",
    "sample_size",
    "sampling_judges",
    "seed",
    "overlap",
    "label_scheme",
    "guidelines",
    "show_model_name",
    "annotators",
    "reservation_minutes",
)


class CampaignError(ValueError):
    """A campaign that cannot be created as asked; the message names the setting, and
    ``field`` names the form or API field at fault when one is."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class LabelError(ValueError):
    """A label that cannot be stored; the message says why in one sentence."""


def campaign_create(
    *,
    name: str,
    runs: Iterable[GenerationRun],
    label_scheme: dict[str, Any],
    sampling: str = Sampling.ALL,
    sample_size: int | None = None,
    categories: Collection[str] = (),
    subcategories: Collection[str] = (),
    exclude_truncated: bool = False,
    sampling_judges: Collection[Judge] = (),
    seed: int = 0,
    overlap: int = 3,
    guidelines: str = "",
    description: str = "",
    show_model_name: bool = False,
    annotators: Iterable[User] = (),
    reservation_minutes: int = 30,
    is_demo: bool = False,
    created_by: User | None = None,
) -> Campaign:
    runs = list(runs)
    _check_campaign_settings(
        runs=runs, overlap=overlap, sampling=sampling, sampling_judges=sampling_judges
    )
    categories, subcategories = sorted(set(categories)), sorted(set(subcategories))
    check_category_names(runs=runs, categories=categories, subcategories=subcategories)
    candidates = campaign_candidates(
        runs=runs,
        categories=categories,
        subcategories=subcategories,
        exclude_truncated=exclude_truncated,
    )
    if not candidates and exclude_truncated:
        _refuse_all_truncated(runs=runs, categories=categories, subcategories=subcategories)
    readings = _judge_readings(candidates, sampling_judges) if sampling_judges else []
    try:
        drawn = draw(
            candidates=candidates,
            sampling=sampling,
            sample_size=sample_size,
            seed=seed,
            readings=readings,
        )
    except SamplingError as error:
        raise CampaignError(str(error)) from error
    sampled = sampling != Sampling.ALL
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name,
            description=description,
            categories=categories,
            subcategories=subcategories,
            exclude_truncated=exclude_truncated,
            sampling=sampling,
            # What was drawn, and what was asked: more than the pool holds is drawn as all of it.
            sample_size=len(drawn) if sampled else None,
            sample_size_asked=sample_size if sampled else None,
            pool_size=len(candidates),
            seed=seed,
            overlap=overlap,
            label_scheme=label_scheme,
            guidelines=guidelines,
            show_model_name=show_model_name,
            reservation_minutes=reservation_minutes,
            is_demo=is_demo,
            created_by=created_by,
        )
        campaign.runs.set(runs)
        campaign.sampling_judges.set(sampling_judges)
        campaign.annotators.set(annotators)
        Item.objects.bulk_create(
            Item(
                campaign=campaign,
                response_id=d.response_id,
                inclusion_probability=d.inclusion_probability,
                position=position,
                slots_left=overlap,
            )
            for position, d in enumerate(drawn)
        )
    return campaign


def campaign_extend(*, campaign: Campaign, runs: Iterable[GenerationRun]) -> int:
    """Add the answered responses of ``runs`` that are not items yet (campaigns that label
    everything only: a sample's inclusion probabilities would no longer hold). Returns how
    many items were added; a second call adds nothing."""
    if campaign.sampling != Sampling.ALL:
        raise CampaignError("Only a campaign that labels all responses can take in more runs.")
    runs = list(runs)
    known = set(campaign.items.values_list("response_id", flat=True))
    fresh = [
        c
        for c in campaign_candidates(
            runs=runs,
            categories=campaign.categories,
            subcategories=campaign.subcategories,
            exclude_truncated=campaign.exclude_truncated,
        )
        if c.response_id not in known
    ]
    if not fresh:
        return 0
    drawn = draw(candidates=fresh, sampling=Sampling.ALL, sample_size=None, seed=campaign.seed)
    start = len(known)
    with transaction.atomic():
        campaign.runs.add(*runs)
        Item.objects.bulk_create(
            (
                Item(
                    campaign=campaign,
                    response_id=d.response_id,
                    position=start + offset,
                    slots_left=campaign.overlap,
                )
                for offset, d in enumerate(drawn)
            ),
            ignore_conflicts=True,
        )
    return len(drawn)


def campaign_status_set(*, campaign: Campaign, status: str) -> Campaign:
    """Open, close or archive a campaign (see ``CampaignStatus``). Nothing else changes: labels,
    gold labels and reservations stay, so reopening carries on where it stopped."""
    if status not in CampaignStatus.values:
        raise CampaignError(f"Status {status!r} is not one of {', '.join(CampaignStatus.values)}.")
    if campaign.status != status:
        campaign.status = status
        campaign.status_changed_at = timezone.now()
        campaign.save(update_fields=["status", "status_changed_at"])
    return campaign


def _check_campaign_settings(
    *,
    runs: list[GenerationRun],
    overlap: int,
    sampling: str,
    sampling_judges: Collection[Judge],
) -> None:
    if not runs:
        raise CampaignError("Choose at least one generation run.")
    if not 1 <= overlap <= 50:
        raise CampaignError(f"Overlap must be between 1 and 50 annotators per item, not {overlap}.")
    if sampling == Sampling.JUDGE_DISAGREEMENT and not sampling_judges:
        raise CampaignError("Sampling by judge disagreement needs at least one judge.")


def check_category_names(
    *, runs: Iterable[GenerationRun], categories: Collection[str], subcategories: Collection[str]
) -> None:
    """Refuse category and subcategory names that no answered response of the runs has (a
    subcategory must also lie inside the chosen categories), naming each one, and the name it
    probably meant when only its case differs."""
    known = run_categories(runs=runs)
    _refuse_unknown("Category", categories, known, "the chosen runs", field="categories")
    chosen = categories or list(known)
    inside = [sub for category in chosen for sub in known[category]]
    anywhere = [sub for subs in known.values() for sub in subs]
    elsewhere = [sub for sub in subcategories if sub in anywhere and sub not in inside]
    if elsewhere:
        raise CampaignError(
            f"{_names('Subcategory', elsewhere)} not in the chosen categories "
            f"({', '.join(chosen)}).",
            field="subcategories",
        )
    _refuse_unknown(
        "Subcategory", subcategories, anywhere, "the chosen runs", field="subcategories"
    )


def _refuse_unknown(
    kind: str, names: Collection[str], known: Collection[str], where: str, *, field: str
) -> None:
    unknown = [name for name in names if name not in known]
    if not unknown:
        return
    by_case = {name.casefold(): name for name in known}
    meant = [repr(by_case[name.casefold()]) for name in unknown if name.casefold() in by_case]
    hint = f" (did you mean {', '.join(meant)}? Names are case-sensitive)" if meant else ""
    raise CampaignError(f"{_names(kind, unknown)} not in {where}{hint}.", field=field)


def _names(kind: str, names: list[str]) -> str:
    """'Category 'x' is' or 'Categories 'x', 'y' are'."""
    quoted = ", ".join(repr(name) for name in names)
    if len(names) == 1:
        return f"{kind} {quoted} is"
    plural = "Categories" if kind == "Category" else "Subcategories"
    return f"{plural} {quoted} are"


def _refuse_all_truncated(
    *, runs: list[GenerationRun], categories: Collection[str], subcategories: Collection[str]
) -> None:
    matching = campaign_population(runs=runs, categories=categories, subcategories=subcategories)
    if matching.exists():
        raise CampaignError(
            f"No responses match: all {matching.count()} matching responses were cut off at the "
            "length limit, and truncated responses are excluded."
        )


def campaign_candidates(
    *,
    runs: Iterable[GenerationRun],
    categories: Collection[str] = (),
    subcategories: Collection[str] = (),
    exclude_truncated: bool = False,
) -> list[Candidate]:
    """Responses a campaign may draw from (``campaign_population``), with their subcategory."""
    responses = campaign_population(
        runs=runs,
        categories=categories,
        subcategories=subcategories,
        exclude_truncated=exclude_truncated,
    )
    rows = responses.order_by("pk").values_list("pk", "prompt__subcategory")
    return [Candidate(response_id, subcategory) for response_id, subcategory in rows]


def _judge_readings(candidates: list[Candidate], judges: Collection[Judge]) -> list[JudgeReading]:
    wanted = {c.response_id for c in candidates}
    rows = (
        Verdict.objects.filter(judge_run__judge__in=list(judges), response_id__in=wanted)
        .values_list("response_id", "label", "score")
        .distinct()
    )
    return [JudgeReading(response_id, label, score) for response_id, label, score in rows]


# --- Serving -----------------------------------------------------------------------------------


def assignment_next(
    *, campaign: Campaign, user: User, exclude: Collection[int] = ()
) -> Assignment | None:
    """The item this annotator should see next, reserved for them: one they already hold
    (not among ``exclude``, the ones already on their screen) or a newly taken one. None once
    the campaign is closed."""
    if not campaign.takes_labels:
        return None
    with transaction.atomic():
        held = _held_reservation(campaign=campaign, user=user, exclude=exclude)
        if held is not None:
            return held
        reservations_sweep()
        return _reserve_new(campaign=campaign, user=user)


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
        held.expires_at = _expiry(campaign)
        held.save(update_fields=["expires_at"])
    return held


def _expiry(campaign: Campaign) -> Any:
    return timezone.now() + timedelta(minutes=campaign.reservation_minutes)


def reservations_sweep() -> int:
    """Hand expired reservations back to the pool. Rows another request is sweeping are
    skipped, so two sweepers never give the same slot back twice."""
    expired = list(
        Assignment.objects.select_for_update(skip_locked=True)
        .filter(status=AssignmentStatus.RESERVED, expires_at__lt=timezone.now())
        .order_by()
        .values_list("pk", "item_id")[:SWEEP_BATCH]
    )
    if not expired:
        return 0
    Assignment.objects.filter(pk__in=[pk for pk, _ in expired]).delete()
    for item_id, count in Counter(item_id for _, item_id in expired).items():
        Item.objects.filter(pk=item_id).update(slots_left=F("slots_left") + count)
    return len(expired)


def _reserve_new(*, campaign: Campaign, user: User) -> Assignment | None:
    # A few tries: on SQLite (no row locks) another writer may take the last slot between the
    # read and the conditional update; on PostgreSQL the row lock makes the first try win.
    for _ in range(5):
        item = (
            Item.objects.select_for_update(skip_locked=True)
            .filter(campaign=campaign, slots_left__gt=0)
            .exclude(served_to(user))
            .order_by("position", "pk")
            .only("pk")
            .first()
        )
        if item is None:
            return None
        if _take_slot(item.pk):
            return Assignment.objects.create(
                item_id=item.pk, annotator=user, expires_at=_expiry(campaign)
            )
    return None


def _take_slot(item_id: int) -> bool:
    taken = Item.objects.filter(pk=item_id, slots_left__gt=0).update(slots_left=F("slots_left") - 1)
    return taken == 1


def _release_slot(item_id: int) -> None:
    Item.objects.filter(pk=item_id).update(slots_left=F("slots_left") + 1)


# --- Labels ------------------------------------------------------------------------------------


def label_submit(
    *,
    campaign: Campaign,
    user: User,
    assignment_id: int,
    item_id: int,
    value: str,
    note: str = "",
    time_spent_ms: int = 0,
    ticket: str = "",
    is_demo: bool = False,
) -> Label:
    """Store (or change) this annotator's label for an item served to them: their assignment,
    or, once it expired and was swept away, the signed ``ticket`` the screen carried for it.
    The same label sent twice is stored once; a change keeps the old value in the label's
    history."""
    if value not in scheme_values(campaign.label_scheme):
        raise LabelError(f"{value!r} is not a label of this campaign.")
    time_spent_ms = max(0, min(int(time_spent_ms), MAX_TIME_SPENT_MS))
    with transaction.atomic():
        assignment = _assignment_for_label(
            campaign=campaign,
            user=user,
            assignment_id=assignment_id,
            item_id=item_id,
            ticket=ticket,
        )
        if assignment.status == AssignmentStatus.DONE:
            label = _label_change(assignment, value=value, note=note, time_spent_ms=time_spent_ms)
        else:
            label = _label_first(
                assignment, value=value, note=note, time_spent_ms=time_spent_ms, is_demo=is_demo
            )
        gold_majority_refresh(item_id=assignment.item_id, overlap=campaign.overlap)
    return label


def _assignment_for_label(
    *, campaign: Campaign, user: User, assignment_id: int, item_id: int, ticket: str
) -> Assignment:
    # Lock the assignment only: a sweeper holds assignments and then waits for items, so also
    # locking the item here could deadlock with it.
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .filter(pk=assignment_id, annotator=user, item_id=item_id, item__campaign=campaign)
        .first()
    )
    if assignment is not None and assignment.status != AssignmentStatus.SKIPPED:
        return assignment
    # The reservation ran out and went back to the pool, or the item was skipped earlier:
    # label it still if a slot is free, else say so.
    if not Item.objects.filter(pk=item_id, campaign=campaign).exists():
        raise LabelError("This item is not part of this campaign.")
    if assignment is None and not ticket_matches(
        ticket, assignment_id=assignment_id, item_id=item_id, annotator_id=user.pk
    ):
        # Ids are easy to guess: without its assignment or the screen's ticket, the item was
        # never served to this annotator, and labelling it would bypass sampling and order.
        raise LabelError("This item was not served to you; your label was not stored.")
    if not _take_slot(item_id):
        raise LabelError(
            "This item was held too long and went to other annotators; your label was not stored."
        )
    if assignment is not None:
        assignment.status = AssignmentStatus.RESERVED
        return assignment
    try:
        with transaction.atomic():
            return Assignment.objects.create(
                item_id=item_id, annotator=user, expires_at=_expiry(campaign)
            )
    except IntegrityError as error:
        raise LabelError("This item is already labelled by you.") from error


def _label_first(
    assignment: Assignment, *, value: str, note: str, time_spent_ms: int, is_demo: bool
) -> Label:
    label = Label.objects.create(
        assignment=assignment,
        value=value,
        note=note,
        time_spent_ms=time_spent_ms,
        is_demo=is_demo,
    )
    LabelRevision.objects.create(label=label, value=value, note=note, time_spent_ms=time_spent_ms)
    Assignment.objects.filter(pk=assignment.pk).update(
        status=AssignmentStatus.DONE, completed_at=timezone.now()
    )
    return label


def _label_change(assignment: Assignment, *, value: str, note: str, time_spent_ms: int) -> Label:
    label = Label.objects.get(assignment=assignment)
    if label.value == value and label.note == note:
        return label  # a double click or a retry: nothing new to keep
    label.value = value
    label.note = note
    # Many changes add up; the total stays within what one item may be credited with.
    label.time_spent_ms = min(label.time_spent_ms + time_spent_ms, MAX_TIME_SPENT_MS)
    label.save(update_fields=["value", "note", "time_spent_ms", "updated_at"])
    # A majority gold label stood for the old value; the refresh after this decides anew.
    GoldLabel.objects.filter(item_id=assignment.item_id, source=GoldSource.MAJORITY).exclude(
        value=value
    ).delete()
    LabelRevision.objects.create(label=label, value=value, note=note, time_spent_ms=time_spent_ms)
    return label


def assignment_skip(*, campaign: Campaign, user: User, assignment_id: int) -> None:
    """The annotator passes on a reserved item: it goes back to others and never returns to
    them. A labelled item cannot be skipped (its label would be lost)."""
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
        _release_slot(assignment.item_id)


# --- Gold labels -------------------------------------------------------------------------------


def gold_majority_refresh(*, item_id: int, overlap: int) -> None:
    """An item labelled by all ``overlap`` annotators alike gets that label as gold; a later
    change that breaks the agreement takes it away. Adjudicated gold is never touched."""
    values = list(Label.objects.filter(assignment__item_id=item_id).values_list("value", flat=True))
    unanimous = len(values) >= overlap and len(set(values)) == 1
    if unanimous:
        GoldLabel.objects.bulk_create(
            [GoldLabel(item_id=item_id, value=values[0], source=GoldSource.MAJORITY)],
            ignore_conflicts=True,
        )
    elif len(values) >= overlap:
        GoldLabel.objects.filter(item_id=item_id, source=GoldSource.MAJORITY).delete()


def gold_set(*, item: Item, value: str, reason: str, user: User) -> GoldLabel:
    """A researcher settles an item: this label, for this reason, overrides any majority."""
    if value not in scheme_values(item.campaign.label_scheme):
        raise LabelError(f"{value!r} is not a label of this campaign.")
    if not reason.strip():
        raise LabelError("Give a reason for the gold label.")
    gold, _ = GoldLabel.objects.update_or_create(
        item=item,
        defaults={
            "value": value,
            "source": GoldSource.ADJUDICATED,
            "reason": reason.strip(),
            "decided_by": user,
        },
    )
    return gold
