"""The side-by-side report of a pairwise campaign: for each pair of models, how often people
preferred each one's response, per category; Bradley-Terry scores when more than two models are
compared; how far annotators agree; and whether the side a response was shown on sways them.

Figures are computed by analysis/pairwise.py (pure) from the campaign's gold labels, one per
item (annotators unanimous, or a researcher's adjudication), as every other report of Demur:
items where annotators disagree count once settled on the review page, and the page says how
many wait. Agreement among annotators reads every label, as the agreement report does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

from analysis import metrics
from analysis.pairwise import (
    BradleyTerry,
    Comparison,
    PositionBias,
    WinRate,
    bradley_terry,
    position_bias,
    win_rate,
)
from analysis.selectors import annotator_pseudonyms
from analysis.sides import flipped, outcome
from annotate.models import Campaign, Item
from annotate.selectors import figure_assignments

ALL = "All categories"


@dataclass(frozen=True)
class PairItem:
    """One item: ``run_a`` answered its ``response`` (on the left unless ``swapped``) and
    ``run_b`` its ``response_b``."""

    item_id: int
    category: str
    run_a: int
    run_b: int
    swapped: bool
    weight: float
    gold: str | None

    def result(self, first_run: int) -> str:
        """The gold label's outcome seen from ``first_run``'s side (an outcome of
        analysis.pairwise: ``a_wins`` means ``first_run`` won)."""
        said = outcome(str(self.gold), swapped=self.swapped)
        return said if first_run == self.run_a else flipped(said)


@dataclass
class PairwiseData:
    """A pairwise campaign as rows, in serving order, and its annotators' labels."""

    campaign: Campaign
    models: dict[int, str]
    items: list[PairItem] = field(default_factory=list)
    annotators: list[str] = field(default_factory=list)
    ratings: list[list[str | None]] = field(default_factory=list)


def pairwise_data(*, campaign: Campaign) -> PairwiseData:
    """What the report reads: every item with its two runs, order and gold label, and every
    annotator's label (as seen: left or right) under their pseudonym."""
    runs = campaign.runs.order_by("pk")
    data = PairwiseData(
        campaign=campaign, models={run.pk: f"{run.model_name} (run {run.pk})" for run in runs}
    )
    rows = (
        Item.objects.filter(campaign=campaign)
        .order_by("position", "pk")
        .values_list(
            "pk",
            "response__prompt__category",
            "response__run_id",
            "response_b__run_id",
            "swapped",
            "inclusion_probability",
            "gold__value",
        )
    )
    for item_id, category, run_a, run_b, swapped, probability, gold in rows.iterator(
        chunk_size=5000
    ):
        data.items.append(
            PairItem(item_id, category, run_a, run_b, swapped, 1.0 / probability, gold)
        )
    pseudonyms = annotator_pseudonyms(campaign=campaign)
    by_item: dict[int, dict[int, str]] = defaultdict(dict)
    labels = figure_assignments(campaign).values_list("item_id", "annotator_id", "label__value")
    for item_id, annotator_id, value in labels.iterator(chunk_size=5000):
        by_item[item_id][annotator_id] = value
    data.annotators = list(pseudonyms.values())
    data.ratings = [
        [by_item[item.item_id].get(annotator) for annotator in pseudonyms] for item in data.items
    ]
    return data


@dataclass(frozen=True)
class ModelPair:
    """Model ``a`` (the run made first) against model ``b``: overall and per category."""

    a: str
    b: str
    overall: WinRate
    by_category: list[tuple[str, WinRate]]


@dataclass
class PairwiseReport:
    data: PairwiseData
    gold_items: int
    # Items whose annotators disagree and that nobody has settled: in no figure but agreement.
    unsettled: int
    weighted: bool
    pairs: list[ModelPair]
    bradley_terry: BradleyTerry | None
    annotators: metrics.InterAnnotatorReport
    position: PositionBias


def pairwise_report(*, data: PairwiseData) -> PairwiseReport:
    gold = [item for item in data.items if item.gold is not None]
    return PairwiseReport(
        data=data,
        gold_items=len(gold),
        unsettled=sum(
            1
            for item, ratings in zip(data.items, data.ratings, strict=True)
            if item.gold is None and len({r for r in ratings if r is not None}) > 1
        ),
        weighted=len({item.weight for item in gold}) > 1,
        pairs=_model_pairs(data, gold),
        bradley_terry=_bradley_terry(data, gold) if len(data.models) > 2 else None,
        annotators=metrics.inter_annotator(data.ratings, annotators=data.annotators),
        position=position_bias([str(item.gold) for item in gold]),
    )


def _model_pairs(data: PairwiseData, gold: list[PairItem]) -> list[ModelPair]:
    """Every pair of runs that has items, the earlier run as ``a``."""
    met = {(min(i.run_a, i.run_b), max(i.run_a, i.run_b)) for i in data.items}
    pairs = []
    for first, second in combinations(sorted(data.models), 2):
        if (first, second) not in met:
            continue
        categories = sorted(
            {i.category for i in data.items if {i.run_a, i.run_b} == {first, second}}
        )
        mine = [item for item in gold if {item.run_a, item.run_b} == {first, second}]
        pairs.append(
            ModelPair(
                a=data.models[first],
                b=data.models[second],
                overall=_win_rate(mine, first),
                by_category=[
                    (category, _win_rate([i for i in mine if i.category == category], first))
                    for category in categories
                ],
            )
        )
    return pairs


def _win_rate(items: list[PairItem], first_run: int) -> WinRate:
    return win_rate([item.result(first_run) for item in items], [item.weight for item in items])


def _bradley_terry(data: PairwiseData, gold: list[PairItem]) -> BradleyTerry:
    """Scores of the models that have gold comparisons, each item one comparison."""
    compared = sorted({run for item in gold for run in (item.run_a, item.run_b)})
    index = {run: position for position, run in enumerate(compared)}
    comparisons = [
        Comparison(index[item.run_a], index[item.run_b], item.result(item.run_a)) for item in gold
    ]
    return bradley_terry(
        comparisons, [data.models[run] for run in compared], [item.weight for item in gold]
    )
