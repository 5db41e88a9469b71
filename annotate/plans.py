"""A label budget read from the database (issue 15): a judge's verdicts on the responses a
campaign would draw from, a pilot campaign's gold labels beside that judge's verdicts, the
measured time per label, and the plan of :mod:`annotate.label_budget` made from them.

``plan_labels``, the campaign form's planner and Neyman allocation at campaign creation all read
through here, so that each reads the same judge, the same pilot pairs and the same weights.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from annotate.label_budget import (
    DEFAULT_SECONDS_PER_LABEL,
    PROMPTS,
    RESPONSES,
    LabelPlan,
    Stratum,
    plan_labels,
    strata_from_pilot,
)
from annotate.models import Campaign, Label, Turns
from annotate.schemes import scheme_values
from annotate.selectors import campaign_population, figure_assignments, figure_items
from inference.models import GenerationRun
from judging.models import JUDGE_CLASSES, JudgeRun, Verdict
from judging.selectors import judge_label_parts

# What the plan's rate is of, as the command and the campaign form say it.
POPULATION_SENTENCES = {
    RESPONSES: "The rate of these responses themselves: the judge's calls on all of them are "
    "known, so only its errors are estimated (labelling every response gives the exact rate).",
    PROMPTS: "The rate of prompts like these: the judge's own sampling error (var f / N) stays "
    "however many are labelled.",
}


class PlanError(ValueError):
    """A plan that cannot be made; the message says which setting and why."""


@dataclass(frozen=True)
class PilotPair:
    """A gold-labelled item of a pilot: what the judge said, what people settled on."""

    judge_label: str
    gold: str
    category: str
    weight: float  # 1 / the item's inclusion probability


@dataclass(frozen=True)
class BudgetPlan:
    """A plan and where its numbers came from, for a page or a command to say."""

    plan: LabelPlan
    judge_runs: tuple[JudgeRun, ...]
    responses: int
    pilot: Campaign | None
    pilot_pairs: int
    pilot_left_out: int
    accuracy: float | None
    seconds_per_label: float
    seconds_source: str
    population: str

    @property
    def population_sentence(self) -> str:
        return POPULATION_SENTENCES[self.population]


def newest_judge_runs(*, runs: Sequence[GenerationRun], judge: str) -> tuple[JudgeRun, ...]:
    """The newest run of this judge version (``keyword``, ``gpt4-rubric v2``) on each run, as
    the reports read it."""
    name, version = judge_label_parts(judge)
    found = []
    for run in runs:
        judge_run = (
            JudgeRun.objects.filter(run=run, judge__name=name, judge__version=version)
            .select_related("judge", "run")
            .order_by("-pk")
            .first()
        )
        if judge_run is None:
            raise PlanError(f"Judge {judge!r} has not judged run {run.pk}.")
        found.append(judge_run)
    return tuple(found)


def judged_population(
    *,
    judge_runs: Iterable[JudgeRun],
    categories: Collection[str] = (),
    subcategories: Collection[str] = (),
    exclude_truncated: bool = False,
    turns: str = Turns.LAST,
) -> dict[int, tuple[str, str]]:
    """(judge label, category) per response the judge runs judged inside the population a
    campaign with these filters draws from (:func:`campaign_population`)."""
    judge_runs = list(judge_runs)
    population = campaign_population(
        runs=[judge_run.run for judge_run in judge_runs],
        categories=categories,
        subcategories=subcategories,
        exclude_truncated=exclude_truncated,
        turns=turns,
    )
    rows = Verdict.objects.filter(
        judge_run__in=judge_runs, response__in=population.values("pk")
    ).values_list("response_id", "label", "response__prompt__category")
    return {response: (label, category) for response, label, category in rows.order_by("pk")}


def check_pilot(pilot: Campaign) -> None:
    if not set(scheme_values(pilot.label_scheme)) <= JUDGE_CLASSES:
        raise PlanError(
            f"Campaign {pilot.pk} does not label compliance (complied, not complied, neither), "
            "so it cannot be a pilot."
        )


def pilot_pairs(
    *, pilot: Campaign, judged: Mapping[int, tuple[str, str]]
) -> tuple[list[PilotPair], int]:
    """The pilot's gold-labelled items among ``judged`` responses, and how many gold-labelled
    items were left out for having no verdict there."""
    check_pilot(pilot)
    items = figure_items(pilot).filter(response_b__isnull=True, gold__isnull=False)
    rows = items.values_list("response_id", "gold__value", "inclusion_probability")
    pairs, left_out = [], 0
    for response, gold, probability in rows.order_by("pk"):
        if response not in judged:
            left_out += 1
            continue
        label, category = judged[response]
        pairs.append(PilotPair(label, gold, category, 1 / probability))
    if not pairs:
        raise PlanError(
            f"Campaign {pilot.pk} has no gold-labelled items that this judge judged among these "
            "responses, so it cannot be a pilot; give an assumed accuracy instead."
        )
    return pairs, left_out


def pilot_strata(*, pilot: Campaign, judged: Mapping[int, tuple[str, str]]) -> list[Stratum]:
    """The judge's error model per category (what Neyman allocation spreads labels by)."""
    pairs, _ = pilot_pairs(pilot=pilot, judged=judged)
    return strata_from_pilot(
        [label for label, _ in judged.values()],
        [pair.judge_label for pair in pairs],
        [pair.gold for pair in pairs],
        categories=[category for _, category in judged.values()],
        pilot_categories=[pair.category for pair in pairs],
        pilot_weights=[pair.weight for pair in pairs],
    )


def pilot_seconds(pilot: Campaign) -> tuple[float, str]:
    """The median time an annotator of the campaign spent on a label (0, not measured, left
    out), or the default, and which it is."""
    times = list(
        Label.objects.filter(
            assignment__in=figure_assignments(pilot), time_spent_ms__gt=0
        ).values_list("time_spent_ms", flat=True)
    )
    if not times:
        return DEFAULT_SECONDS_PER_LABEL, f"the default: campaign {pilot.pk} timed no label"
    return statistics.median(times) / 1000, f"the median of campaign {pilot.pk}'s labels"


def budget_plan(
    *,
    runs: Sequence[GenerationRun],
    judge: str,
    target: float,
    pilot: Campaign | None = None,
    accuracy: float | None = None,
    seconds_per_label: float | None = None,
    categories: Collection[str] = (),
    subcategories: Collection[str] = (),
    exclude_truncated: bool = False,
    population: str = RESPONSES,
    turns: str = Turns.LAST,
) -> BudgetPlan:
    """The labels that bring the judge-corrected compliance rate of ``runs`` (inside the
    filters) to a 95% interval of ±``target``, from a pilot's gold labels or an assumed
    accuracy (exactly one); by default the rate of these responses themselves (``population``,
    see annotate/label_budget.py). With ``turns`` "every" the responses are every turn's
    answers, counted as if drawn one by one: a campaign draws whole conversations, whose turns
    are alike, so it may need somewhat more labels than planned."""
    if (pilot is None) == (accuracy is None):
        raise PlanError("Give exactly one of a pilot campaign and an assumed accuracy.")
    judge_runs = newest_judge_runs(runs=runs, judge=judge)
    judged = judged_population(
        judge_runs=judge_runs,
        categories=categories,
        subcategories=subcategories,
        exclude_truncated=exclude_truncated,
        turns=turns,
    )
    if not judged:
        raise PlanError(f"Judge {judge!r} has no verdicts on the chosen responses.")
    labels = [label for label, _ in judged.values()]
    response_categories = [category for _, category in judged.values()]
    pairs: list[PilotPair] = []
    left_out = 0
    if pilot is not None:
        pairs, left_out = pilot_pairs(pilot=pilot, judged=judged)
    if seconds_per_label is not None:
        seconds, source = seconds_per_label, "given"
    elif pilot is not None:
        seconds, source = pilot_seconds(pilot)
    else:
        seconds, source = DEFAULT_SECONDS_PER_LABEL, "the default"
    try:
        plan = plan_labels(
            labels,
            target,
            categories=response_categories,
            accuracy=accuracy,
            pilot_judge=[pair.judge_label for pair in pairs] if pilot else None,
            pilot_gold=[pair.gold for pair in pairs] if pilot else None,
            pilot_categories=[pair.category for pair in pairs] if pilot else None,
            pilot_weights=[pair.weight for pair in pairs] if pilot else None,
            seconds_per_label=seconds,
            population=population,
        )
    except ValueError as error:
        raise PlanError(str(error)) from error
    return BudgetPlan(
        plan=plan,
        judge_runs=judge_runs,
        responses=len(judged),
        pilot=pilot,
        pilot_pairs=len(pairs),
        pilot_left_out=left_out,
        accuracy=accuracy,
        seconds_per_label=seconds,
        seconds_source=source,
        population=population,
    )
