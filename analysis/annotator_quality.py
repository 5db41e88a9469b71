"""How each annotator of a campaign is doing, for the researchers' quality page: labels given,
accuracy on the checks (gold questions and attention checks, annotate/quality.py), labels given
too fast, agreement with the other annotators, pace, and whether they are paused or their labels
left out of the figures (``AnnotatorStanding``).

A handful of queries per page, whatever the number of annotators and items: every labelled
assignment of the campaign is read once as plain columns, and the figures are computed from
those by the plain functions below (no Django in them).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

from django.contrib.auth.models import User
from django.db.models import Q

from analysis import metrics
from analysis.answers import majority as answers_majority
from analysis.metrics import Estimate
from annotate.models import (
    AnnotatorStanding,
    Assignment,
    AssignmentStatus,
    Campaign,
    CheckKind,
    Item,
)
from annotate.quality import CheckAccuracy, PauseRule, check_accuracy
from annotate.selectors import check_assignments, figure_items

# A longer wait between two labels is a break, not work (see ``active_seconds``).
SESSION_BREAK = timedelta(minutes=10)
CHECK_KINDS = (CheckKind.GOLD, CheckKind.ATTENTION)


# --- plain figures ----------------------------------------------------------------------------


def agreement_pairs(
    own: dict[int, str], others: dict[int, list[str]]
) -> tuple[list[str], list[str]]:
    """The annotator's label and the others' strict majority, on each item the annotator
    labelled (``own``: item id -> label) where the others (``others``: item id -> their labels)
    have a strict majority; other items are left out."""
    mine, theirs = [], []
    for item_id, label in own.items():
        majority = answers_majority(others.get(item_id, []))
        if majority is not None:
            mine.append(label)
            theirs.append(majority)
    return mine, theirs


def kappa_with_others(own: dict[int, str], others: dict[int, list[str]]) -> Estimate:
    """Cohen's kappa of the annotator against the others' majority, with its 95% bootstrap
    interval over items (analysis.metrics.agreement); ``n`` is the number of items compared."""
    mine, theirs = agreement_pairs(own, others)
    return metrics.agreement(human=mine, judge=theirs).kappa


def fast_share(times_ms: Sequence[int], min_seconds: int) -> float | None:
    """Share of labels given in less than ``min_seconds``; None when there is no threshold
    (``min_seconds`` 0) or no label."""
    if not min_seconds or not times_ms:
        return None
    return sum(1 for ms in times_ms if ms < min_seconds * 1000) / len(times_ms)


def median_seconds(times_ms: Sequence[int]) -> float | None:
    """The median time the labeling screen measured on an item, in seconds."""
    return statistics.median(times_ms) / 1000 if times_ms else None


def active_seconds(completions: Sequence[datetime], times_ms: Sequence[int]) -> float | None:
    """How long an annotator worked, from when their labels were completed.

    The completions, in time order, fall into sessions: a wait of more than
    :data:`SESSION_BREAK` (10 minutes) between two labels is a break, and the label after it
    starts a new session. Within a session, the gap between one completion and the next is the
    time the next label took, and counts in full. The first label of each session has no such
    gap (the wait before it was a break, or nothing), so it is credited with the annotator's
    median in-session gap: how long one of their labels usually takes. Breaks count nothing, so
    a lunch or a night does not lower the pace, and short pauses inside a session count as work.

    An annotator with no in-session gap at all (one label, or every label in a session of its
    own) is credited with the median time the labeling screen measured per label
    (``times_ms``) for each label instead. None when there is nothing to measure by."""
    if not completions:
        return None
    ordered = sorted(completions)
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(ordered)]
    worked = [gap for gap in gaps if gap <= SESSION_BREAK.total_seconds()]
    sessions = len(ordered) - len(worked)
    if worked:
        return sum(worked) + sessions * statistics.median(worked)
    screen = median_seconds(times_ms)
    return sessions * screen if screen else None


def labels_per_hour(completions: Sequence[datetime], times_ms: Sequence[int]) -> float | None:
    """Labels given per hour of active time (``active_seconds``), checks included."""
    seconds = active_seconds(completions, times_ms)
    return len(completions) / seconds * 3600 if seconds else None


def running_accuracy(checks: Sequence[tuple[datetime, bool]]) -> list[tuple[datetime, float]]:
    """After each check, in time order, the share of checks answered right so far."""
    series, right = [], 0
    for answered, (when, correct) in enumerate(sorted(checks, key=lambda check: check[0]), 1):
        right += correct
        series.append((when, right / answered))
    return series


# --- the report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnnotatorRow:
    """One annotator's figures. ``labels``: labels on regular items (not checks); ``by_kind``:
    accuracy per kind of check answered (gold, attention), by the kind's display name."""

    user_id: int
    username: str
    labels: int
    checks: CheckAccuracy
    by_kind: list[tuple[str, CheckAccuracy]]
    fast_share: float | None
    kappa: Estimate
    median_seconds: float | None
    labels_per_hour: float | None
    standing: AnnotatorStanding | None

    @property
    def is_paused(self) -> bool:
        return self.standing is not None and self.standing.is_paused

    @property
    def is_excluded(self) -> bool:
        return self.standing is not None and self.standing.is_excluded


@dataclass(frozen=True)
class QualityReport:
    """Every annotator's row, by username; ``series``: (username, running accuracy on checks)
    for each annotator who answered a check, for the chart. ``has_checks``: the campaign has
    check items. ``rule``: the pause rule, None when the campaign never pauses."""

    campaign: Campaign
    rows: list[AnnotatorRow]
    series: list[tuple[str, list[tuple[datetime, float]]]]
    has_checks: bool
    rule: PauseRule | None


@dataclass
class _Work:
    """One annotator's labelled assignments as plain columns."""

    regular: dict[int, str] = field(default_factory=dict)  # item id -> label
    times_ms: list[int] = field(default_factory=list)
    completions: list[datetime] = field(default_factory=list)
    checks: list[tuple[datetime, str, bool]] = field(default_factory=list)  # when, kind, right


def annotator_quality(*, campaign: Campaign) -> QualityReport:
    """Every annotator of the campaign (those it names and anyone who labelled in it)."""
    work: dict[int, _Work] = defaultdict(_Work)
    _read_regular(campaign, work)
    _read_checks(campaign, work)
    standings = {
        standing.annotator_id: standing
        for standing in AnnotatorStanding.objects.filter(campaign=campaign).select_related(
            "excluded_by"
        )
    }
    # Others' labels as figures count them: an excluded annotator's labels are no yardstick.
    counted = {
        user_id: done.regular
        for user_id, done in work.items()
        if not (user_id in standings and standings[user_id].is_excluded)
    }
    by_item = _labels_by_item(counted)
    users = (
        User.objects.filter(Q(annotation_campaigns=campaign) | Q(pk__in=list(work)))
        .distinct()
        .order_by("username")
        .values_list("pk", "username")
    )
    rows, series = [], []
    for user_id, username in users:
        done = work.get(user_id, _Work())
        others = {
            item_id: [
                value for other, value in by_item.get(item_id, {}).items() if other != user_id
            ]
            for item_id in done.regular
        }
        rows.append(_row(campaign, user_id, username, done, others, standings.get(user_id)))
        if done.checks:
            answers = [(when, right) for when, _, right in done.checks]
            series.append((username, running_accuracy(answers)))
    has_checks = Item.objects.filter(campaign=campaign).exclude(check_kind=CheckKind.NONE).exists()
    rule = None
    if campaign.pause_below is not None:
        rule = PauseRule(below=campaign.pause_below, after=campaign.pause_after)
    return QualityReport(campaign, rows, series, has_checks, rule)


def _row(
    campaign: Campaign,
    user_id: int,
    username: str,
    done: _Work,
    others: dict[int, list[str]],
    standing: AnnotatorStanding | None,
) -> AnnotatorRow:
    by_kind = []
    for kind in CHECK_KINDS:
        answers = [right for _, of_kind, right in done.checks if of_kind == kind]
        if answers:
            by_kind.append(
                (kind.label, check_accuracy(answered=len(answers), correct=sum(answers)))
            )
    right = sum(1 for _, _, correct in done.checks if correct)
    return AnnotatorRow(
        user_id=user_id,
        username=username,
        labels=len(done.regular),
        checks=check_accuracy(answered=len(done.checks), correct=right),
        by_kind=by_kind,
        fast_share=fast_share(done.times_ms, campaign.min_seconds),
        kappa=kappa_with_others(done.regular, others),
        median_seconds=median_seconds(done.times_ms),
        labels_per_hour=labels_per_hour(done.completions, done.times_ms),
        standing=standing,
    )


def _read_regular(campaign: Campaign, work: dict[int, _Work]) -> None:
    """Every labelled regular item, whoever labelled it (excluded annotators too)."""
    rows = (
        Assignment.objects.filter(
            item__in=figure_items(campaign), status=AssignmentStatus.DONE, label__isnull=False
        )
        .order_by()
        .values_list(
            "annotator_id", "item_id", "label__value", "label__time_spent_ms", "completed_at"
        )
    )
    for user_id, item_id, value, time_ms, completed_at in rows.iterator(chunk_size=5000):
        done = work[user_id]
        done.regular[item_id] = value
        _add_time(done, time_ms, completed_at)


def _read_checks(campaign: Campaign, work: dict[int, _Work]) -> None:
    rows = (
        check_assignments(campaign)
        .filter(label__isnull=False)
        .order_by("completed_at", "pk")
        .values_list(
            "annotator_id",
            "item__check_kind",
            "item__check_answer",
            "label__value",
            "label__time_spent_ms",
            "completed_at",
        )
    )
    for user_id, kind, answer, value, time_ms, completed_at in rows.iterator(chunk_size=5000):
        done = work[user_id]
        if completed_at is not None:
            done.checks.append((completed_at, kind, value == answer))
        _add_time(done, time_ms, completed_at)


def _add_time(done: _Work, time_ms: int, completed_at: datetime | None) -> None:
    done.times_ms.append(time_ms)
    if completed_at is not None:
        done.completions.append(completed_at)


def _labels_by_item(labels_of: dict[int, dict[int, str]]) -> dict[int, dict[int, str]]:
    """Annotator -> item -> label turned into item -> annotator -> label."""
    by_item: dict[int, dict[int, str]] = defaultdict(dict)
    for user_id, labels in labels_of.items():
        for item_id, value in labels.items():
            by_item[item_id][user_id] = value
    return by_item
