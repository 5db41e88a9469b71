from __future__ import annotations

import math
import statistics
from typing import Any

from django.core.management.base import CommandError, CommandParser

from accounts.numbers import whole_number
from accounts.validation import StorableArgumentsCommand
from analysis.cli import campaign_argument
from analysis.label_budget import DEFAULT_SECONDS_PER_LABEL, Design, LabelPlan, plan_labels
from annotate.models import Campaign, Label
from annotate.schemes import scheme_values
from annotate.selectors import campaign_population, figure_assignments, figure_items
from inference.models import GenerationRun
from judging.models import JUDGE_CLASSES, JudgeRun, Verdict
from judging.selectors import judge_label_parts


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
        campaign = campaign_argument(options["pilot"]) if options["pilot"] is not None else None
        if campaign is not None and not set(scheme_values(campaign.label_scheme)) <= JUDGE_CLASSES:
            raise CommandError(
                f"Campaign {campaign.pk} does not label compliance (complied, not complied, "
                "neither), so it cannot be a pilot."
            )
        judge_run = _judge_run(run, options["judge"])
        verdicts = _verdicts(judge_run, campaign)
        if not verdicts:
            raise CommandError(
                f"Judge {options['judge']!r} has no verdicts on the responses of run {run.pk}."
            )
        lines = [
            f"Labels for a 95% interval of ±{target:g} on the judge-corrected compliance rate "
            f"of run {run.pk}, judged by {judge_run.judge.label} (judge run {judge_run.pk}): "
            f"{len(verdicts)} responses"
            + (f" in campaign {campaign.pk}'s population." if campaign else ".")
        ]
        labels = [label for label, _ in verdicts.values()]
        categories = [category for _, category in verdicts.values()]
        if campaign is not None:
            pilot, left_out = _pilot(campaign, run, verdicts)
            lines.append(
                f"Judge's errors: from pilot campaign {campaign.pk}, {len(pilot)} gold-labelled "
                f"items"
                + (f" ({left_out} without this judge's verdict left out)." if left_out else ".")
            )
            if seconds is None:
                seconds, where = _pilot_seconds(campaign)
            else:
                where = "given"
            plan = plan_labels(
                labels,
                target,
                categories=categories,
                pilot_judge=[pair[0] for pair in pilot],
                pilot_gold=[pair[1] for pair in pilot],
                pilot_categories=[pair[2] for pair in pilot],
                pilot_weights=[pair[3] for pair in pilot],
                seconds_per_label=seconds,
            )
        else:
            lines.append(
                f"Judge's errors: an assumed accuracy of {accuracy:g} in every category "
                "(the human's call is the judge's, flipped with probability "
                f"{1 - float(accuracy or 0):.2g})."
            )
            where = "given" if seconds is not None else "the default"
            seconds = seconds if seconds is not None else DEFAULT_SECONDS_PER_LABEL
            plan = plan_labels(
                labels, target, categories=categories, accuracy=accuracy, seconds_per_label=seconds
            )
        lines.append(f"Seconds per label: {seconds:g} ({where}).")
        lines += ["", *_overall_table(plan)]
        if options["per_category"]:
            lines += ["", *_category_table(plan)]
        lines += [
            "",
            "Hours count one human label per item; a campaign with k annotators per item takes "
            "k times as long.",
        ]
        self.stdout.write("\n".join(lines))


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


def _judge_run(run: GenerationRun, judge: str) -> JudgeRun:
    """The newest run of this judge version on ``run`` (as the reports read it)."""
    name, version = judge_label_parts(judge)
    judge_run = (
        JudgeRun.objects.filter(run=run, judge__name=name, judge__version=version)
        .select_related("judge")
        .order_by("-pk")
        .first()
    )
    if judge_run is None:
        raise CommandError(f"Judge {judge!r} has not judged run {run.pk}.")
    return judge_run


# --- reads ----------------------------------------------------------------------------------------


def _verdicts(judge_run: JudgeRun, campaign: Campaign | None) -> dict[int, tuple[str, str]]:
    """(label, category) per response id: the run's answered responses, inside the pilot
    campaign's filters when there is one (the population its labels speak for)."""
    filters: dict[str, Any] = {}
    if campaign is not None:
        filters = {
            "categories": campaign.categories,
            "subcategories": campaign.subcategories,
            "exclude_truncated": campaign.exclude_truncated,
        }
    population = campaign_population(runs=[judge_run.run], **filters)
    rows = Verdict.objects.filter(
        judge_run=judge_run, response__in=population.values("pk")
    ).values_list("response_id", "label", "response__prompt__category")
    return {response: (label, category) for response, label, category in rows.order_by("pk")}


def _pilot(
    campaign: Campaign, run: GenerationRun, verdicts: dict[int, tuple[str, str]]
) -> tuple[list[tuple[str, str, str, float]], int]:
    """(judge label, gold label, category, weight) per gold-labelled item of the campaign on
    this run, and how many had no verdict of this judge run."""
    items = figure_items(campaign).filter(
        response__run=run, response_b__isnull=True, gold__isnull=False
    )
    pairs, left_out = [], 0
    rows = items.values_list("response_id", "gold__value", "inclusion_probability")
    for response, gold, probability in rows.order_by("pk"):
        if response not in verdicts:
            left_out += 1
            continue
        label, category = verdicts[response]
        pairs.append((label, gold, category, 1 / probability))
    if not pairs:
        raise CommandError(
            f"Campaign {campaign.pk} has no gold-labelled items on run {run.pk} with this "
            "judge's verdict; give --accuracy instead."
        )
    return pairs, left_out


def _pilot_seconds(campaign: Campaign) -> tuple[float, str]:
    """The median time an annotator of the campaign spent on a label (0, not measured, left
    out), or the default."""
    times = list(
        Label.objects.filter(
            assignment__in=figure_assignments(campaign), time_spent_ms__gt=0
        ).values_list("time_spent_ms", flat=True)
    )
    if not times:
        return DEFAULT_SECONDS_PER_LABEL, f"the default: campaign {campaign.pk} timed no label"
    return statistics.median(times) / 1000, f"the median of campaign {campaign.pk}'s labels"


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
