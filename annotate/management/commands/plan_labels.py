from __future__ import annotations

import math
from typing import Any

from django.core.management.base import CommandError, CommandParser

from accounts.numbers import whole_number
from accounts.validation import StorableArgumentsCommand
from annotate.cli import campaign_argument
from annotate.label_budget import (
    DEFAULT_SECONDS_PER_LABEL,
    POPULATIONS,
    RESPONSES,
    Design,
    LabelPlan,
)
from annotate.models import Turns
from annotate.plans import POPULATION_SENTENCES, BudgetPlan, PlanError, budget_plan
from inference.models import GenerationRun


class Command(StorableArgumentsCommand):
    help = (
        "How many human labels give the judge-corrected compliance rate of a run a 95% interval "
        "of ±TARGET: uniform sampling with plain PPI and PPI++, and a sample stratified by "
        "category with Neyman allocation, each with the hours it takes. The judge's errors come "
        "from a pilot campaign's gold labels (--pilot) or an assumed accuracy (--accuracy)."
    )
    # Reads the database only; the system checks would load every view's imports.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--run", required=True, help="The generation run's id.")
        parser.add_argument(
            "--judge",
            required=True,
            help="The judge's name, or name and version as reports write it (gpt4-rubric v2); "
            "its newest judge run on the run is read.",
        )
        parser.add_argument(
            "--target",
            required=True,
            help="The half-width of the 95%% interval, a share: 0.03 is ±3 points.",
        )
        parser.add_argument(
            "--per-category", action="store_true", help="Also a table per prompt category."
        )
        parser.add_argument(
            "--pilot",
            help="A campaign whose gold labels on this run show how often the judge is right.",
        )
        parser.add_argument(
            "--accuracy",
            help="Or the assumed chance that the judge's complied / not complied call is the "
            "human's (above 0.5, at most 1), the same in every category.",
        )
        parser.add_argument(
            "--population",
            choices=POPULATIONS,
            default=RESPONSES,
            help="Whose rate: of these responses themselves (the judge's calls on them are "
            "known; labelling all of them gives the exact rate; the default, what campaign "
            "targets use) or of prompts like these (the judge's own sampling error stays).",
        )
        parser.add_argument(
            "--turns",
            choices=Turns.values,
            help="Scripted conversations: plan for their last answers (the default) or every "
            "answer; with --pilot, the pilot's own setting unless given.",
        )
        parser.add_argument(
            "--seconds-per-label",
            help="Seconds a human takes per label (default: the pilot's median, else "
            f"{DEFAULT_SECONDS_PER_LABEL:g}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        target = _share(options["target"], "--target", "above 0 and at most 0.5", 0, 0.5)
        if (options["pilot"] is None) == (options["accuracy"] is None):
            raise CommandError("Give exactly one of --pilot CAMPAIGN and --accuracy A.")
        accuracy = None
        if options["accuracy"] is not None:
            accuracy = _share(options["accuracy"], "--accuracy", "above 0.5 and at most 1", 0.5, 1)
        seconds = None
        if options["seconds_per_label"] is not None:
            seconds = _positive(options["seconds_per_label"], "--seconds-per-label")
        run = _run(options["run"])
        pilot = campaign_argument(options["pilot"]) if options["pilot"] is not None else None
        # A pilot's labels speak for its own population: plan inside its filters.
        filters: dict[str, Any] = {}
        if pilot is not None:
            filters = {
                "categories": pilot.categories,
                "subcategories": pilot.subcategories,
                "exclude_truncated": pilot.exclude_truncated,
                "turns": pilot.turns,
            }
        if options["turns"] is not None:
            filters["turns"] = options["turns"]
        try:
            budget = budget_plan(
                runs=[run],
                judge=options["judge"],
                target=target,
                pilot=pilot,
                accuracy=accuracy,
                seconds_per_label=seconds,
                population=options["population"],
                **filters,
            )
        except PlanError as error:
            raise CommandError(str(error)) from None
        lines = [*_sources(budget, run), "", *_overall_table(budget.plan)]
        if options["per_category"]:
            lines += ["", *_category_table(budget.plan)]
        lines += [
            "",
            "Hours count one human label per item; a campaign with k annotators per item takes "
            "k times as long.",
        ]
        self.stdout.write("\n".join(lines))


def _sources(budget: BudgetPlan, run: GenerationRun) -> list[str]:
    """What the plan is for and where its numbers came from."""
    (judge_run,) = budget.judge_runs
    pilot = budget.pilot
    lines = [
        f"Labels for a 95% interval of ±{budget.plan.target:g} on the judge-corrected compliance "
        f"rate of run {run.pk}, judged by {judge_run.judge.label} (judge run {judge_run.pk}): "
        f"{budget.responses} responses"
        + (f" in campaign {pilot.pk}'s population." if pilot else ".")
    ]
    if pilot is not None:
        left_out = budget.pilot_left_out
        lines.append(
            f"Judge's errors: from pilot campaign {pilot.pk}, {budget.pilot_pairs} gold-labelled "
            "items" + (f" ({left_out} without this judge's verdict left out)." if left_out else ".")
        )
    else:
        accuracy = float(budget.accuracy or 0)
        lines.append(
            f"Judge's errors: an assumed accuracy of {accuracy:g} in every category "
            f"(the human's call is the judge's, flipped with probability {1 - accuracy:.2g})."
        )
    lines.append(f"Seconds per label: {budget.seconds_per_label:g} ({budget.seconds_source}).")
    lines.append(POPULATION_SENTENCES[budget.population])
    return lines


# --- arguments ------------------------------------------------------------------------------------


def _number(raw: str, name: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise CommandError(f"{name} must be a number, not {raw!r}.") from None
    if not math.isfinite(value):
        raise CommandError(f"{name} must be a number, not {raw!r}.")
    return value


def _share(raw: str, name: str, bounds: str, low: float, high: float) -> float:
    value = _number(raw, name)
    if not low < value <= high:
        raise CommandError(f"{name} must be {bounds}, not {raw}.")
    return value


def _positive(raw: str, name: str) -> float:
    value = _number(raw, name)
    if value <= 0:
        raise CommandError(f"{name} must be above 0, not {raw}.")
    return value


def _run(value: str) -> GenerationRun:
    number = whole_number(value)
    run = GenerationRun.objects.filter(pk=number).first() if number is not None else None
    if run is None:
        raise CommandError(f"There is no run with id {value!r}.")
    return run


# --- tables ---------------------------------------------------------------------------------------


def _labels_cell(design: Design) -> str:
    return f"{design.labels}" if design.reachable else f"{design.labels}*"


def _overall_table(plan: LabelPlan) -> list[str]:
    rows = [
        ("Uniform sample, plain PPI", plan.plain),
        (f"Uniform sample, PPI++ (lambda {plan.tuned.lam or 0.0:.2f})", plan.tuned),
        ("Stratified by category, Neyman", plan.stratified),
    ]
    lines = [f"{'Design':<38}{'Labels':>8}{'Hours':>8}{'±reached':>10}"]
    lines += [
        f"{name:<38}{_labels_cell(d):>8}{d.hours:>8.1f}{d.half_width:>10.4f}" for name, d in rows
    ]
    if not all(design.reachable for _, design in rows):
        lines.append(
            f"* Not reachable: even labelling all {plan.responses} responses gives only the "
            "half-width shown."
        )
    return lines


def _category_table(plan: LabelPlan) -> list[str]:
    lines = [
        "Per category: the labels each needs for its own ±target, and its share of the "
        "stratified plan.",
        f"{'Category':<32}{'Responses':>10}{'Judge':>7}{'Agree':>7}{'Pilot':>7}"
        f"{'PPI':>7}{'PPI++':>7}{'Hours':>7}{'Neyman':>8}",
    ]
    for row in plan.categories:
        stratum = row.stratum
        lines.append(
            f"{str(stratum.category)[:31]:<32}{stratum.size:>10}{stratum.judge_rate:>7.2f}"
            f"{stratum.agreement:>7.2f}{stratum.pilot_pairs:>7}{_labels_cell(row.plain):>7}"
            f"{_labels_cell(row.tuned):>7}{row.tuned.hours:>7.1f}{row.neyman_labels:>8}"
        )
    lines.append(
        "Judge: its complied rate; Agree: the expected share of its calls a human agrees with; "
        "Hours: for PPI++; * not reachable even labelling all of the category."
    )
    return lines
