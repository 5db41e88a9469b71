"""Targets (issue 15): after gold labels change, record each touched category whose corrected
compliance rate's anytime-valid interval is now as narrow as the campaign's target
(``TargetMet``); serving then hands out no more of its items (``services/serving.py``).

This runs inside the label's hot path whenever an item may have gained or lost its gold label,
so it costs a fixed, small number of queries: the judge's counts come from the cache
(``annotate.targets.judge_counts``), one query finds which touched categories are still open,
one reads their gold labels, and one inserts what was met. Two labels meeting a target at once
insert one row (a unique constraint, conflicts ignored): the first record stands.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import F

from annotate.models import Campaign, Item, TargetMet
from annotate.stopping import target_met
from annotate.targets import (
    OVERALL,
    gold_rectifiers,
    has_target,
    judge_counts,
    target_interval,
)


def targets_check(*, campaign: Campaign, item_ids: Collection[int]) -> list[TargetMet]:
    """Record the targets that the gold labels of ``item_ids`` (just changed) made met; the
    rows recorded now (none when the campaign has no target or nothing new was met)."""
    if not has_target(campaign) or not item_ids or campaign.target_half_width is None:
        return []
    open_categories = _touched_open_categories(campaign, item_ids)
    if not open_categories:
        return []
    counts = judge_counts(campaign)
    per_category = campaign.target_per_category
    rectifiers = gold_rectifiers(
        campaign,
        judge_runs=counts.judge_runs,
        categories=open_categories if per_category else None,
    )
    met = []
    for category in open_categories:
        rectifier = rectifiers.get(category)
        interval = None if rectifier is None else target_interval(counts, rectifier, category)
        if interval is not None and target_met(interval, campaign.target_half_width):
            met.append(
                TargetMet(
                    campaign=campaign,
                    category=category,
                    labels=interval.labels,
                    estimate=interval.estimate,
                    low=interval.low,
                    high=interval.high,
                    half_width=interval.half_width,
                )
            )
    if met:
        TargetMet.objects.bulk_create(met, ignore_conflicts=True)
    return met


def _touched_open_categories(campaign: Campaign, item_ids: Collection[int]) -> list[str]:
    """The targets the items bear on that are not met yet: their categories, or the overall
    target. One query."""
    met = TargetMet.objects.filter(campaign=campaign).values("category")
    if not campaign.target_per_category:
        return [] if met.exists() else [OVERALL]
    categories = (
        Item.objects.filter(pk__in=list(item_ids), campaign=campaign)
        .annotate(category=F("response__prompt__category"))
        .exclude(category__in=met)
        .order_by()
        .values_list("category", flat=True)
        .distinct()
    )
    return sorted(categories)
