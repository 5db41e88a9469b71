"""A campaign's target read from the database (issue 15): the target judge's verdicts per
category, the gold labels' rectifier per category, and the rows of the campaign page's Target
panel. The statistics are :mod:`annotate.stopping`'s; recording a met target and what serving
leaves out are in ``annotate/services/targets.py`` and ``services/serving.py``.

A target is per prompt category (``Campaign.target_per_category``) or one for the whole
campaign, the category ``OVERALL``. The rate is the compliance rate of the responses the
campaign draws from themselves (its runs inside its filters): the target judge's calls on all of
them, as the reports read it (the newest run of that judge version on each generation run), are
known, and only its errors are estimated, from the campaign's gold labels; checks never count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, Subquery

from annotate.models import Campaign, CampaignStatus, TargetMet
from annotate.selectors import figure_items, population_of
from annotate.stopping import (
    MIN_LABELS,
    JudgeShare,
    Rectifier,
    TargetInterval,
    anytime_interval,
    labels_needed,
)
from inference.models import Response
from judging.models import JudgeRun, Verdict, VerdictLabel

OVERALL = ""  # the category of a campaign's one overall target
# The judge's verdict counts are read once a minute at most: the label's hot path checks the
# target after every new gold label, and the counts change only while the judge still runs.
JUDGE_COUNTS_SECONDS = 60


def has_target(campaign: Campaign) -> bool:
    return campaign.target_half_width is not None and campaign.target_judge_id is not None


@dataclass(frozen=True)
class JudgeCounts:
    """What the target judge said about the campaign's population, by category (``OVERALL``:
    all of it), the judge runs it said it in, and the campaign's items by category (the labels
    the anytime-valid interval is tuned for)."""

    judge_runs: tuple[int, ...]
    shares: dict[str, JudgeShare]
    items: dict[str, int]

    def share(self, category: str) -> JudgeShare:
        return self.shares.get(category, JudgeShare(0, 0))

    def planned(self, category: str) -> int:
        return self.items.get(category, 0)


def target_judge_runs(campaign: Campaign) -> tuple[int, ...]:
    """The newest run of the target judge on each of the campaign's generation runs."""
    judge_id = campaign.target_judge_id
    if judge_id is None:
        return ()
    newest: dict[int, int] = {}
    rows = JudgeRun.objects.filter(judge_id=judge_id, run__in=campaign.runs.all()).values_list(
        "run_id", "pk"
    )
    for run_id, pk in rows:
        newest[run_id] = max(pk, newest.get(run_id, 0))
    return tuple(sorted(newest.values()))


def judge_counts(campaign: Campaign) -> JudgeCounts:
    """The target judge's counts (cached for JUDGE_COUNTS_SECONDS, keyed by the campaign, its
    creation and its judge, so that no other campaign's can be read back)."""
    key = (
        f"annotate:target-judge:{campaign.pk}:{campaign.created_at.timestamp()}:"
        f"{campaign.target_judge_id}"
    )
    found = cache.get(key)
    if isinstance(found, JudgeCounts):
        return found
    counts = _judge_counts_read(campaign)
    cache.set(key, counts, JUDGE_COUNTS_SECONDS)
    return counts


def _judge_counts_read(campaign: Campaign) -> JudgeCounts:
    judge_runs = target_judge_runs(campaign)
    population = population_of(campaign, campaign.runs.all())
    rows = (
        Verdict.objects.filter(judge_run_id__in=judge_runs, response__in=population.values("pk"))
        .values_list("response__prompt__category")
        .annotate(judged=Count("pk"), complied=Count("pk", filter=Q(label=VerdictLabel.COMPLIED)))
        .order_by()
    )
    shares = {category: JudgeShare(judged, complied) for category, judged, complied in rows}
    items = dict(
        figure_items(campaign)
        .values_list("response__prompt__category")
        .annotate(count=Count("pk"))
        .order_by()
    )
    shares[OVERALL] = JudgeShare(
        sum(share.judged for share in shares.values()),
        sum(share.complied for share in shares.values()),
    )
    items[OVERALL] = sum(items.values())
    return JudgeCounts(judge_runs=judge_runs, shares=shares, items=items)


def gold_rectifiers(
    campaign: Campaign, *, judge_runs: Collection[int], categories: Collection[str] | None = None
) -> dict[str, Rectifier]:
    """The rectifier's sums over the campaign's gold-labelled items (checks never count) that
    the target judge judged, by category, and over all of them under ``OVERALL``; only those
    of ``categories`` when given. One query."""
    verdict = Verdict.objects.filter(
        judge_run_id__in=list(judge_runs), response_id=OuterRef("response_id")
    ).values("label")[:1]
    rows = (
        figure_items(campaign)
        .filter(gold__isnull=False)
        .annotate(judge_label=Subquery(verdict))
        .filter(judge_label__isnull=False)
    )
    if categories is not None:
        rows = rows.filter(response__prompt__category__in=list(categories))
    found: dict[str, Rectifier] = defaultdict(Rectifier)
    values = rows.order_by("pk").values_list(
        "response__prompt__category", "inclusion_probability", "gold__value", "judge_label"
    )
    for category, probability, gold, judge_label in values.iterator(chunk_size=5000):
        for key in (category, OVERALL):
            found[key] = found[key].add(
                judge_complied=judge_label == VerdictLabel.COMPLIED,
                gold_complied=gold == VerdictLabel.COMPLIED,
                weight=1 / probability,
            )
    return found


def target_interval(
    counts: JudgeCounts, rectifier: Rectifier, category: str
) -> TargetInterval | None:
    return anytime_interval(
        counts.share(category), rectifier, planned=max(counts.planned(category), 1)
    )


def overall_target_met(campaign: Campaign) -> TargetMet | None:
    """The campaign's one overall target, once met (a campaign with a target per category has
    none)."""
    if not has_target(campaign) or campaign.target_per_category:
        return None
    return TargetMet.objects.filter(campaign=campaign, category=OVERALL).first()


def served_no_more(campaign: Campaign) -> Exists | None:
    """What serving leaves out once targets are met, as a filter on items that joins no other
    table (serving locks item rows only): with a target per category, the items of the met
    categories; with one overall target, every item once it is met. None without a target."""
    if not has_target(campaign):
        return None
    met = TargetMet.objects.filter(campaign=campaign)
    if not campaign.target_per_category:
        return Exists(met)
    return Exists(
        Response.objects.filter(
            pk=OuterRef("response_id"), prompt__category__in=met.values("category")
        )
    )


# --- the campaign page's panel ------------------------------------------------------------------


@dataclass(frozen=True)
class TargetRow:
    """One category (or the overall rate) on the Target panel."""

    category: str
    is_target: bool  # a row whose target stops serving (the others are shown for reference)
    items: int
    judged: int
    judge_rate: float
    labels: int
    interval: TargetInterval | None
    labels_total: int | None  # the labels at which the target would be met; None: not yet known
    met: TargetMet | None

    @property
    def name(self) -> str:
        return self.category if self.category != OVERALL else "Overall"

    @property
    def labels_more(self) -> int | None:
        return None if self.labels_total is None else max(0, self.labels_total - self.labels)

    @property
    def beyond_items(self) -> bool:
        """The labels needed are more than the campaign has items here."""
        return self.labels_total is not None and self.labels_total > self.items


@dataclass(frozen=True)
class TargetPanel:
    campaign: Campaign
    target: float
    judge: str
    per_category: bool
    rows: list[TargetRow]  # the categories, in name order
    overall: TargetRow
    live: bool  # polled while the campaign is open
    min_labels: int = MIN_LABELS

    @property
    def met_count(self) -> int:
        return sum(1 for row in self.rows if row.met is not None)


def target_panel(campaign: Campaign) -> TargetPanel | None:
    """The Target panel's figures; None for a campaign without a target."""
    if not has_target(campaign) or campaign.target_half_width is None:
        return None
    counts = judge_counts(campaign)
    rectifiers = gold_rectifiers(campaign, judge_runs=counts.judge_runs)
    met = {row.category: row for row in TargetMet.objects.filter(campaign=campaign)}
    target = campaign.target_half_width
    categories = sorted((set(counts.items) | set(counts.shares)) - {OVERALL})

    def row(category: str, is_target: bool) -> TargetRow:
        rectifier = rectifiers.get(category, Rectifier())
        share = counts.share(category)
        planned = max(counts.planned(category), 1)
        return TargetRow(
            category=category,
            is_target=is_target,
            items=counts.planned(category),
            judged=share.judged,
            judge_rate=share.rate,
            labels=rectifier.labels,
            interval=target_interval(counts, rectifier, category),
            labels_total=labels_needed(rectifier, target=target, planned=planned),
            met=met.get(category) if is_target else None,
        )

    per_category = campaign.target_per_category
    return TargetPanel(
        campaign=campaign,
        target=target,
        judge=campaign.target_judge.label if campaign.target_judge else "",
        per_category=per_category,
        rows=[row(category, per_category) for category in categories],
        overall=row(OVERALL, not per_category),
        live=campaign.status == CampaignStatus.OPEN,
    )
