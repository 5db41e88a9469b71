"""Quality control while labelling: after each answer to a check, the campaign's pause rule
(annotate/quality.py) is applied; researchers pause an annotator or let them continue, and
leave their labels out of every figure and gold label or count them again."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from annotate.models import (
    AnnotatorStanding,
    Assignment,
    AssignmentStatus,
    Campaign,
    CheckKind,
    Item,
)
from annotate.quality import PauseRule
from annotate.selectors import check_assignments
from annotate.services.errors import CampaignError
from annotate.services.gold import gold_majority_refresh

STANDING_ACTIONS = ("pause", "resume", "exclude", "include")


def paused_standing(*, campaign: Campaign, user: User) -> QuerySet[AnnotatorStanding]:
    """The annotator's standing on the campaign if it pauses them (no row: not paused)."""
    return AnnotatorStanding.objects.filter(
        campaign=campaign, annotator=user, paused_at__isnull=False
    )


def annotator_is_paused(*, campaign: Campaign, user: User) -> bool:
    return paused_standing(campaign=campaign, user=user).exists()


def annotator_pause_reason(*, campaign: Campaign, user: User) -> str | None:
    """Why this annotator is paused on the campaign, or None when they are not."""
    standing = paused_standing(campaign=campaign, user=user).first()
    return standing.pause_reason if standing is not None else None


def pause_rule_apply(*, campaign: Campaign, user: User) -> bool:
    """After an answer to a check: pause the annotator if their accuracy on checks (those
    answered since a researcher last let them continue) breaks the campaign's rule. True when
    this paused them."""
    if campaign.pause_below is None:
        return False
    standing = AnnotatorStanding.objects.filter(campaign=campaign, annotator=user).first()
    answers = check_assignments(campaign).filter(annotator=user)
    if standing is not None and standing.checks_count_from is not None:
        answers = answers.filter(completed_at__gte=standing.checks_count_from)
    counts = answers.aggregate(
        answered=Count("pk"), correct=Count("pk", filter=Q(label__value=F("item__check_answer")))
    )
    rule = PauseRule(below=campaign.pause_below, after=campaign.pause_after)
    if not rule.pauses(answered=counts["answered"], correct=counts["correct"]):
        return False
    reason = (
        f"{counts['correct']} of {counts['answered']} checks answered right, below the "
        f"{campaign.pause_below:.0%} this campaign asks for after {campaign.pause_after} checks"
    )
    AnnotatorStanding.objects.update_or_create(
        campaign=campaign,
        annotator=user,
        defaults={"paused_at": timezone.now(), "pause_reason": reason},
    )
    return True


def standing_change(
    *, campaign: Campaign, annotator: User, action: str, by: User
) -> AnnotatorStanding:
    """A researcher's decision about one annotator on one campaign: ``pause``, ``resume`` (let
    a paused annotator continue; the pause rule then counts only new checks), ``exclude``
    (their labels leave every figure and gold label; each item they labelled gets a free slot
    for someone else) or ``include`` (count them again)."""
    if action not in STANDING_ACTIONS:
        raise CampaignError(f"Unknown action {action!r}: use one of {', '.join(STANDING_ACTIONS)}.")
    with transaction.atomic():
        standing, _ = AnnotatorStanding.objects.select_for_update().get_or_create(
            campaign=campaign, annotator=annotator
        )
        now = timezone.now()
        if action == "pause":
            standing.paused_at = now
            standing.pause_reason = f"paused by {by.username}"
        elif action == "resume":
            standing.paused_at = None
            standing.checks_count_from = now
        elif action == "exclude":
            standing.excluded_at, standing.excluded_by = now, by
        else:
            standing.excluded_at, standing.excluded_by = None, None
        standing.save()
        if action in ("exclude", "include"):
            _labels_recount(campaign=campaign, annotator=annotator, freed=action == "exclude")
    return standing


def _labels_recount(*, campaign: Campaign, annotator: User, freed: bool) -> None:
    """Gold labels of the items the annotator labelled, decided again without (or again with)
    their labels; on exclusion each of those items gets a slot back for another annotator."""
    item_ids = list(
        Assignment.objects.filter(
            annotator=annotator,
            item__campaign=campaign,
            item__check_kind=CheckKind.NONE,
            status=AssignmentStatus.DONE,
        ).values_list("item_id", flat=True)
    )
    if freed:
        Item.objects.filter(pk__in=item_ids).update(slots_left=F("slots_left") + 1)
    gold_majority_refresh(campaign=campaign, item_ids=item_ids)
