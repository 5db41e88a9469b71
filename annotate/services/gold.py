"""Gold labels: the label ``overlap`` annotators agree on (all of them when an item has just
``overlap`` labels), or a researcher's adjudication, which overrides it. Only labels that count
in figures decide (``figure_assignments``: no excluded annotator's). With adaptive overlap
(``Campaign.max_overlap``) an item whose annotators disagree gets one more annotator at a time
until ``overlap`` of them agree or the maximum is reached; then it goes to review."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping

from django.contrib.auth.models import User
from django.db.models import F

from annotate.models import AssignmentStatus, Campaign, GoldLabel, GoldSource, Item
from annotate.schemes import scheme_values
from annotate.selectors import figure_assignments
from annotate.services.errors import LabelError
from annotate.services.targets import targets_check


def agreed_value(values: Iterable[str], *, overlap: int) -> str | None:
    """The value at least ``overlap`` annotators gave, and more than gave any other; else None.
    With ``overlap`` labels in all, that is a unanimous item."""
    counts = Counter(values).most_common(2)
    if not counts or counts[0][1] < overlap:
        return None
    if len(counts) > 1 and counts[1][1] == counts[0][1]:
        return None
    return counts[0][0]


def gold_majority_refresh(
    *,
    campaign: Campaign,
    item_ids: Collection[int],
    added: bool = False,
    counted_values: Mapping[int, list[str]] | None = None,
) -> None:
    """Give each item the label its annotators agree on as gold, or take a majority gold label
    away once they no longer agree; with adaptive overlap, ask one more annotator where they
    disagree. Adjudicated gold is never touched, and checks have no gold. A few queries
    whatever the number of items (a researcher's exclusion refreshes all of an annotator's).

    ``added``: the items only gained a label since the last refresh (a first label, not a
    change). Then a majority gold label can be stale only where nothing is agreed among more
    than ``overlap`` labels (a new label can tie a majority, never replace it, and an item that
    had fewer than ``overlap`` labels before this one never had one), which spares the label's
    hot path a DELETE.

    ``counted_values``: the items' labels that count (``figure_assignments``), where the caller
    has read them already (the label's hot path, in its own statement)."""
    values = counted_values if counted_values is not None else _counted_values(campaign, item_ids)
    agreed = {
        item_id: agreed_value(given, overlap=campaign.overlap) for item_id, given in values.items()
    }
    stale_possible = {
        item_id
        for item_id, value in agreed.items()
        if not added or (value is None and len(values[item_id]) > campaign.overlap)
    }
    _majority_gold_store(agreed, stale_possible)
    # A gold label may have come (something agreed) or gone (stale): the campaign's target
    # may be met now. Most labels change neither and cost nothing here.
    targets_check(
        campaign=campaign,
        item_ids=[
            item_id
            for item_id, value in agreed.items()
            if value is not None or item_id in stale_possible
        ],
    )
    disagreeing = [
        item_id
        for item_id, given in values.items()
        if agreed[item_id] is None
        and len(set(given)) > 1
        and campaign.overlap <= len(given) < campaign.most_annotators
    ]
    if disagreeing:
        _one_more_annotator(disagreeing)


def _counted_values(campaign: Campaign, item_ids: Collection[int]) -> dict[int, list[str]]:
    """Each item's label values that count in figures and gold."""
    values: dict[int, list[str]] = {item_id: [] for item_id in item_ids}
    rows = (
        figure_assignments(campaign)
        .filter(item_id__in=list(item_ids))
        .values_list("item_id", "label__value")
    )
    # A label's refresh reads a few rows at once: iterator() would open a server-side cursor on
    # PostgreSQL, round trips of its own on the hot path. A researcher's exclusion reads many.
    for item_id, value in rows if len(values) <= 1000 else rows.iterator(chunk_size=5000):
        values[item_id].append(value)
    return values


def _majority_gold_store(agreed: dict[int, str | None], stale_possible: set[int]) -> None:
    """Majority gold as ``agreed`` says: removed (among ``stale_possible`` items) where nothing
    is agreed or another value is, created where missing. Adjudicated gold stays (bulk_create
    ignores the existing row)."""
    majority = GoldLabel.objects.filter(source=GoldSource.MAJORITY)
    by_value: dict[str | None, list[int]] = defaultdict(list)
    for item_id, value in agreed.items():
        if item_id in stale_possible:
            by_value[value].append(item_id)
    for value, item_ids in by_value.items():
        stale = majority.filter(item_id__in=item_ids)
        (stale if value is None else stale.exclude(value=value)).delete()
    GoldLabel.objects.bulk_create(
        [
            GoldLabel(item_id=item_id, value=value, source=GoldSource.MAJORITY)
            for item_id, value in agreed.items()
            if value is not None
        ],
        ignore_conflicts=True,
    )


def _one_more_annotator(item_ids: list[int]) -> None:
    """Adaptive overlap: a free slot for one more annotator on each item once every slot is
    labelled (none free, no reservation outstanding). Conditional, so two labels arriving at
    once add one slot, not two."""
    Item.objects.filter(pk__in=item_ids, slots_left=0).exclude(
        assignments__status=AssignmentStatus.RESERVED
    ).update(slots_left=F("slots_left") + 1)


def gold_set(*, item: Item, value: str, reason: str, user: User) -> GoldLabel:
    """A researcher settles an item: this label, for this reason, overrides any majority."""
    if item.is_check:
        raise LabelError("This item is a check: its answer is set where checks are added.")
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
    targets_check(campaign=item.campaign, item_ids=[item.pk])
    return gold
