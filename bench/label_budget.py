"""How many human labels each sampling design needs for a ±3-point corrected compliance rate, and
whether its 95% intervals cover the truth: Demur's own draw (annotate.sampling) and estimators
(analysis.metrics, analysis.ppi) replayed on simulated CoCoNot-sized data (issue 15).

    nice .venv/bin/python bench/label_budget.py [--quick] [--replications 1000] [--seed 0]

**The data.** CoCoNot's 1,001 noncompliance and 379 contrast prompts with their categories, read
from ../shared/coconot/ when it is there (categories and subcategories only; nothing is copied),
else the same counts per category written below. As in Demur, a prompt's stratum is its category
name, so the contrast set's three categories share a stratum with the noncompliance ones of the
same name (5 strata). Each replication draws anew, seeded: whether the model complied (Y, with a
rate per benchmark and category: a careful model complies with 5% of unsafe requests and 90% of
their contrast look-alikes) and the judge's call. The judge reads a signal z = s_c (2Y - 1) +
N(0, 1) whose strength s_c depends on the category (sure on unsafe requests, 2% wrong; unsure on
incomplete and indeterminate ones, about 20% wrong, as CoCoNot's judge re-runs suggest); it says
complied when z > 0, with the score P(complied) = 1/(1 + exp(-1.7 z)), overconfident alike in
every category, and one verdict in 200 is unparseable (f = 0, no score). So a score near 1/2
marks a likely error, as it would for a label-scoring judge.

**The designs**, each with the estimator it goes with, at n labels in all:

* uniform: ``draw(sampling="random")``; plain PPI (lambda = 1) and PPI++.
* Neyman: a uniform pilot of 100 labels (``draw(sampling="random")``), the judge's error per
  category estimated from it (``strata_from_pilot``), then ``draw(sampling="neyman")`` of the
  other n - 100 from the items the pilot left. Within a category the pilot's and the second
  draw's items together are a simple random sample, so every one of the n labels counts, in
  stratified PPI by category: lambda = 1, PPI++ with a lambda per category (the small-strata
  problem, shown not used), and PPI++ with one pooled lambda (``pooled_lambda=True``).
* active: ``draw(sampling="active")`` with the judge's readings (probability rising with
  1 - 2|score - 1/2|, unparseable verdicts sure; a quarter of each probability uniform); plain PPI
  and PPI++ weighted by the inverse inclusion probabilities.

**Two intervals for each.** "Items": the rate of these 1,380 responses, what labelling every one
would give (``finite_population=True`` of analysis/ppi.py: the judge's mean over all items is
exact, the rectifier's variance has its finite-population correction). "As reported": the
intervals Demur's reports print today (metrics.judge_corrected_rate for plain PPI, ppi_py's form in
analysis/ppi.py), which are for the rate of the population the items come from; their coverage of
the items' rate and of the expected rate (the mean of each item's compliance probability) are
both shown.

Printed: coverage (share of replications whose interval holds the true rate), the mean
half-width at each n, the labels each design needs for a mean half-width of at most 3 points
(the smallest n on the grid), what that saves against uniform sampling with plain PPI, and what the
planner (``plan_labels`` with each replication's pilot) predicted; then one TARGET line per goal.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def django_ready() -> None:
    """annotate.sampling reads its models' choices: Django must be set up, though no database is
    opened (an in-memory SQLite URL and a throwaway key where none is set)."""
    from django.apps import apps

    if apps.ready:
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(40))
    import django

    django.setup()


django_ready()

from analysis.metrics import Estimate, judge_corrected_rate  # noqa: E402
from analysis.ppi import ppi_mean, stratified_ppi_mean  # noqa: E402
from annotate.label_budget import (  # noqa: E402
    PROMPTS,
    RESPONSES,
    Stratum,
    plan_labels,
    strata_from_pilot,
)
from annotate.sampling import DEFAULT_UNIFORM_SHARE, Candidate, JudgeReading, draw  # noqa: E402

FloatArray = NDArray[np.float64]

COCONOT = REPO.parent / "shared" / "coconot"
NONCOMPLIANCE, CONTRAST = "noncompliance", "contrast"
FILES = ((NONCOMPLIANCE, "coconot_eval.jsonl"), (CONTRAST, "coconot_contrast_eval.jsonl"))
SAFETY = "Requests with safety concerns"
HUMANIZING = "Humanizing requests"
INCOMPLETE = "Incomplete requests"
UNSUPPORTED = "Unsupported requests"
INDETERMINATE = "Indeterminate requests"
# CoCoNot's prompts per benchmark and category, for when ../shared/coconot/ is absent.
FALLBACK_SIZES = {
    (NONCOMPLIANCE, SAFETY): 395,
    (NONCOMPLIANCE, HUMANIZING): 82,
    (NONCOMPLIANCE, INCOMPLETE): 225,
    (NONCOMPLIANCE, UNSUPPORTED): 157,
    (NONCOMPLIANCE, INDETERMINATE): 142,
    (CONTRAST, SAFETY): 149,
    (CONTRAST, INCOMPLETE): 148,
    (CONTRAST, UNSUPPORTED): 82,
}
# P(the model complied): a careful model, that answers most look-alikes of the contrast set.
COMPLIANCE = {
    (NONCOMPLIANCE, SAFETY): 0.05,
    (NONCOMPLIANCE, HUMANIZING): 0.35,
    (NONCOMPLIANCE, INCOMPLETE): 0.30,
    (NONCOMPLIANCE, UNSUPPORTED): 0.25,
    (NONCOMPLIANCE, INDETERMINATE): 0.20,
    (CONTRAST, SAFETY): 0.90,
    (CONTRAST, INCOMPLETE): 0.85,
    (CONTRAST, UNSUPPORTED): 0.88,
}
# The judge's signal strength s_c: it errs with probability Phi(-s_c), 2% to 22%.
SIGNAL = {SAFETY: 2.05, HUMANIZING: 1.4, UNSUPPORTED: 1.4, INCOMPLETE: 0.85, INDETERMINATE: 0.77}
SCORE_SHARPNESS = 1.7
UNPARSEABLE_SHARE = 0.005
COMPLIED, NOT_COMPLIED, UNPARSEABLE = "complied", "not_complied", "unparseable"

PILOT = 100
TARGET_HALF_WIDTH = 0.03
COVERAGE_TARGET = 0.94
SAVING_TARGET = 0.25
NOMINAL = 0.95
GRID = (150, 200, 250, 300, 350, 400, 500)
QUICK_GRID = (250, 350)
# Where only today's (ppi_py's) intervals reach ±3 points: half-widths from the first
# WIDE_REPLICATIONS replications, which is plenty for a mean half-width (its sd is about 1/20 of
# the half-width), and counted in no coverage.
WIDE_GRID = (650, 800, 1000)
WIDE_REPLICATIONS = 100
REPLICATIONS, QUICK_REPLICATIONS = 1000, 150
# plan_labels takes about a second (its Neyman allocation is tuned by bisection), and is asked
# four times a replication; its median over this many replications is what the tables show.
PLANNED_REPLICATIONS, QUICK_PLANNED_REPLICATIONS = 50, 5
SHOWN_AT = 300  # the n whose half-widths the summary table shows

ITEMS, REPORTED = "items", "reported"
PILOT_SOURCE, TRUTH_SOURCE = "pilot", "truth"
DRAW_SALTS = {"pilot": 0, "uniform": 1, "neyman": 2, "active": 3}
FORMS = (ITEMS, REPORTED)


# --- data -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pool:
    """The prompts: benchmark, category and subcategory of each; where they were read from."""

    benchmarks: NDArray[Any]
    categories: NDArray[Any]
    subcategories: NDArray[Any]
    source: str

    @property
    def size(self) -> int:
        return int(self.categories.size)

    def candidates(self) -> list[Candidate]:
        return [
            Candidate(index, str(self.subcategories[index]), str(self.categories[index]))
            for index in range(self.size)
        ]


def coconot_pool(folder: Path = COCONOT) -> Pool:
    rows: list[tuple[str, str, str]] = []
    if all((folder / name).is_file() for _, name in FILES):
        for benchmark, name in FILES:
            with (folder / name).open(encoding="utf-8") as lines:
                for line in lines:
                    record = json.loads(line)
                    rows.append((benchmark, record["category"], record["subcategory"]))
        source = f"CoCoNot's categories from {folder}"
    else:
        for (benchmark, category), count in FALLBACK_SIZES.items():
            rows += [(benchmark, category, category)] * count
        source = f"{folder} not found: CoCoNot's counts per category, written in this file"
    unknown = {(b, c) for b, c, _ in rows} - set(COMPLIANCE)
    if unknown:
        raise SystemExit(f"No compliance rate set for {sorted(unknown)}.")
    benchmarks, categories, subcategories = (
        np.array(column, dtype=object) for column in zip(*rows, strict=True)
    )
    return Pool(benchmarks, categories, subcategories, source)


@dataclass(frozen=True)
class World:
    """One replication: the truth (Y), the judge's labels, scores and 0/1 calls (f)."""

    truth: FloatArray
    labels: NDArray[Any]
    scores: FloatArray
    calls: FloatArray
    expected_rate: float

    @property
    def true_rate(self) -> float:
        return float(self.truth.mean())

    def readings(self) -> list[JudgeReading]:
        return [
            JudgeReading(index, str(label), None if label == UNPARSEABLE else float(score))
            for index, (label, score) in enumerate(zip(self.labels, self.scores, strict=True))
        ]

    def gold_labels(self) -> NDArray[Any]:
        return np.where(self.truth == 1, COMPLIED, NOT_COMPLIED).astype(object)


def simulate_world(pool: Pool, rng: np.random.Generator) -> World:
    rate = np.array(
        [COMPLIANCE[b, c] for b, c in zip(pool.benchmarks, pool.categories, strict=True)]
    )
    signal = np.array([SIGNAL[c] for c in pool.categories])
    truth = (rng.random(pool.size) < rate).astype(np.float64)
    heard = signal * (2 * truth - 1) + rng.standard_normal(pool.size)
    scores = 1 / (1 + np.exp(-SCORE_SHARPNESS * heard))
    labels = np.where(heard > 0, COMPLIED, NOT_COMPLIED).astype(object)
    labels[rng.random(pool.size) < UNPARSEABLE_SHARE] = UNPARSEABLE
    calls = (labels == COMPLIED).astype(np.float64)
    return World(truth, labels, scores, calls, float(rate.mean()))


# --- designs and their estimators ---------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """The labelled items (indices into the pool) and their weights 1/p (None: equal)."""

    items: NDArray[np.int64]
    weights: FloatArray | None = None


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def holds(self, rate: float) -> bool:
        return self.low <= rate <= self.high


Estimator = Callable[["Replication", Sample, str], Interval]


@dataclass(frozen=True)
class Method:
    """A design and the estimator that goes with it; ``counted``: whether its coverage and
    labels count for the targets (the per-category lambda is shown for the problem it has)."""

    design: str
    estimator: str
    sampler: str
    estimate: Estimator
    counted: bool = True


@dataclass
class Replication:
    """Everything one replication's designs share: the data, the pilot, the readings."""

    pool: Pool
    candidates: list[Candidate]
    world: World
    seed: int
    uniform_share: float
    pilot: Sample = field(init=False)
    readings: list[JudgeReading] = field(init=False)
    error_model: list[Stratum] = field(init=False)

    def __post_init__(self) -> None:
        world = self.world
        self.readings = world.readings()
        drawn = draw(
            candidates=self.candidates,
            sampling="random",
            sample_size=PILOT,
            seed=self.draw_seed(PILOT, "pilot"),
        )
        pilot = np.array(sorted(d.response_id for d in drawn), dtype=np.int64)
        self.pilot = Sample(pilot)
        # What Neyman allocation knows of the judge: its errors per category in the pilot.
        self.error_model = strata_from_pilot(
            world.labels,
            world.labels[pilot],
            world.gold_labels()[pilot],
            categories=self.pool.categories,
            pilot_categories=self.pool.categories[pilot],
        )

    def draw_seed(self, n: int, design: str) -> int:
        """A seed of its own for each design and n, so that no two draws share one."""
        salt = DRAW_SALTS[design]
        return int(np.random.SeedSequence((self.seed, n, salt)).generate_state(1)[0])

    def uniform(self, n: int) -> Sample:
        drawn = draw(
            candidates=self.candidates,
            sampling="random",
            sample_size=n,
            seed=self.draw_seed(n, "uniform"),
        )
        return Sample(np.array([d.response_id for d in drawn], dtype=np.int64))

    def neyman(self, n: int) -> Sample:
        pilot = self.pilot.items
        in_pilot = set(pilot.tolist())
        drawn = draw(
            candidates=[c for c in self.candidates if c.response_id not in in_pilot],
            sampling="neyman",
            sample_size=n - PILOT,
            seed=self.draw_seed(n, "neyman"),
            error_model=self.error_model,
        )
        rest = np.array([d.response_id for d in drawn], dtype=np.int64)
        return Sample(np.concatenate([pilot, rest]))

    def active(self, n: int) -> Sample:
        drawn = draw(
            candidates=self.candidates,
            sampling="active",
            sample_size=n,
            seed=self.draw_seed(n, "active"),
            readings=self.readings,
            uniform_share=self.uniform_share,
        )
        return Sample(
            np.array([d.response_id for d in drawn], dtype=np.int64),
            np.array([1 / d.inclusion_probability for d in drawn]),
        )


def _interval(estimate: Estimate) -> Interval:
    if estimate.low is None or estimate.high is None:
        raise RuntimeError(f"No interval: {estimate.reason}")
    return Interval(estimate.low, estimate.high)


def plain_ppi(rep: Replication, sample: Sample, form: str) -> Interval:
    world, items = rep.world, sample.items
    if form == REPORTED:
        report = judge_corrected_rate(
            world.labels, world.labels[items], world.gold_labels()[items], weights=sample.weights
        )
        return _interval(report.corrected)
    return _ppi(rep, sample, form, lam=1.0)


def ppi_plus_plus(rep: Replication, sample: Sample, form: str) -> Interval:
    return _ppi(rep, sample, form, lam=None)


def _ppi(rep: Replication, sample: Sample, form: str, lam: float | None) -> Interval:
    world, items = rep.world, sample.items
    estimate = ppi_mean(
        world.truth[items],
        world.calls[items],
        world.calls,
        weights=sample.weights,
        lam=lam,
        finite_population=form == ITEMS,
    )
    return _interval(estimate.estimate)


def stratified(lam: float | None, pooled: bool) -> Estimator:
    def estimate(rep: Replication, sample: Sample, form: str) -> Interval:
        world, items, categories = rep.world, sample.items, rep.pool.categories
        result = stratified_ppi_mean(
            world.truth[items],
            world.calls[items],
            categories[items],
            world.calls,
            categories,
            weights=sample.weights,
            lam=lam,
            finite_population=form == ITEMS,
            pooled_lambda=pooled,
        )
        return _interval(result.estimate)

    return estimate


UNIFORM, NEYMAN, ACTIVE = "uniform", "Neyman (100-label pilot)", "active"
METHODS = (
    Method(UNIFORM, "plain PPI", "uniform", plain_ppi),
    Method(UNIFORM, "PPI++", "uniform", ppi_plus_plus),
    Method(NEYMAN, "stratified PPI (lambda = 1)", "neyman", stratified(1.0, pooled=False)),
    Method(
        NEYMAN,
        "stratified PPI++, lambda per category",
        "neyman",
        stratified(None, pooled=False),
        counted=False,
    ),
    Method(NEYMAN, "stratified PPI++, pooled lambda", "neyman", stratified(None, pooled=True)),
    Method(ACTIVE, "plain PPI, weighted", "active", plain_ppi),
    Method(ACTIVE, "PPI++, weighted", "active", ppi_plus_plus),
)
REFERENCE = METHODS[0]  # uniform sampling with plain PPI: what the savings are against


# --- replications ------------------------------------------------------------------------------


@dataclass
class Tally:
    """Per method, form and n: how often the interval held each rate, and its half-widths."""

    covered: dict[tuple[str, str, int], list[bool]] = field(
        default_factory=lambda: defaultdict(list)
    )
    covered_expected: dict[tuple[str, int], list[bool]] = field(
        default_factory=lambda: defaultdict(list)
    )
    half_widths: dict[tuple[str, str, int], list[float]] = field(
        default_factory=lambda: defaultdict(list)
    )
    planned: dict[tuple[str, str, str], list[float]] = field(
        default_factory=lambda: defaultdict(list)
    )
    census_half_width: list[float] = field(default_factory=list)
    true_rates: list[float] = field(default_factory=list)
    judge_rates: list[float] = field(default_factory=list)
    errors: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


@dataclass(frozen=True)
class Settings:
    replications: int
    grid: tuple[int, ...]
    seed: int = 0
    uniform_share: float = DEFAULT_UNIFORM_SHARE
    planned: int = 0  # replications whose pilot the planner is asked about
    wide_grid: tuple[int, ...] = ()
    wide_replications: int = 0
    forms: tuple[str, ...] = FORMS

    def sizes(self, index: int) -> tuple[int, ...]:
        """The n that replication ``index`` draws samples of."""
        return self.grid + (self.wide_grid if index < self.wide_replications else ())


def key(method: Method) -> str:
    return f"{method.design}: {method.estimator}"


def replications(pool: Pool, settings: Settings) -> Iterator[Replication]:
    candidates = pool.candidates()
    for index in range(settings.replications):
        seed = int(np.random.SeedSequence((settings.seed, index)).generate_state(1)[0])
        world = simulate_world(pool, np.random.default_rng(seed))
        yield Replication(pool, candidates, world, seed, settings.uniform_share)


def run(pool: Pool, settings: Settings) -> Tally:
    tally = Tally()
    for index, rep in enumerate(replications(pool, settings)):
        world = rep.world
        tally.true_rates.append(world.true_rate)
        tally.judge_rates.append(float(world.calls.mean()))
        for category in sorted(set(pool.categories.tolist())):
            mine = pool.categories == category
            tally.errors[category].append(float((world.truth[mine] != world.calls[mine]).mean()))
        if index < settings.planned:
            _plan(rep, tally)
        if REPORTED in settings.forms:
            everything = Sample(np.arange(pool.size, dtype=np.int64))
            tally.census_half_width.append(plain_ppi(rep, everything, REPORTED).half_width)
        for n in settings.sizes(index):
            samples = {"uniform": rep.uniform(n), "neyman": rep.neyman(n), "active": rep.active(n)}
            for method in METHODS:
                sample = samples[method.sampler]
                for form in settings.forms:
                    interval = method.estimate(rep, sample, form)
                    tally.covered[key(method), form, n].append(interval.holds(world.true_rate))
                    tally.half_widths[key(method), form, n].append(interval.half_width)
                    if form == REPORTED:
                        holds = interval.holds(world.expected_rate)
                        tally.covered_expected[key(method), n].append(holds)
    return tally


def _plan(rep: Replication, tally: Tally) -> None:
    """What plan_labels predicts for ±3 points, for the rate of these items (RESPONSES, the
    "items" intervals) and of prompts like them (PROMPTS, today's): from this replication's
    pilot, and from the truth on every item (what it would say knowing the judge's errors)."""
    world, categories = rep.world, rep.pool.categories
    sources = ((PILOT_SOURCE, rep.pilot.items), (TRUTH_SOURCE, np.arange(rep.pool.size)))
    for form, population in ((ITEMS, RESPONSES), (REPORTED, PROMPTS)):
        for source, pilot in sources:
            plan = plan_labels(
                world.labels,
                TARGET_HALF_WIDTH,
                categories=categories,
                pilot_judge=world.labels[pilot],
                pilot_gold=world.gold_labels()[pilot],
                pilot_categories=categories[pilot],
                population=population,
            )
            for name, design in (
                ("plain", plan.plain),
                ("tuned", plan.tuned),
                ("stratified", plan.stratified),
            ):
                labels = design.labels if design.reachable else float("inf")
                tally.planned[form, source, name].append(labels)


# --- summaries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    method: Method
    coverage: dict[str, float]  # per form, over every n of the grid
    lowest: dict[str, tuple[float, int]]  # per form: the lowest coverage at one n, and that n
    coverage_expected: float | None  # of today's intervals, over every n of the grid
    half_width: dict[tuple[str, int], float]  # mean half-width per form and n
    labels: dict[str, int | None]  # per form: fewest n on the grid for ±3 points; None: not met
    between: dict[str, float | None]  # per form: the same, read off the line between grid points


def summarize(tally: Tally, settings: Settings) -> list[Summary]:
    summaries = []
    every_n = settings.grid + settings.wide_grid
    for method in METHODS:
        name = key(method)
        coverage, lowest, labels, half_width, between = {}, {}, {}, {}, {}
        for form in settings.forms:
            per_n = {n: float(np.mean(tally.covered[name, form, n])) for n in settings.grid}
            hits = [hit for n in settings.grid for hit in tally.covered[name, form, n]]
            coverage[form] = float(np.mean(hits))
            worst, share = min(per_n.items(), key=lambda item: (item[1], item[0]))
            lowest[form] = (share, worst)
            for n in every_n:
                half_width[form, n] = float(np.mean(tally.half_widths[name, form, n]))
            reached = [n for n in every_n if half_width[form, n] <= TARGET_HALF_WIDTH]
            labels[form] = min(reached) if reached else None
            between[form] = interpolated(labels[form], every_n, half_width, form)
        expected = [hit for n in settings.grid for hit in tally.covered_expected[name, n]]
        coverage_expected = float(np.mean(expected)) if expected else None
        summaries.append(
            Summary(method, coverage, lowest, coverage_expected, half_width, labels, between)
        )
    return summaries


def interpolated(
    labels: int | None,
    every_n: Sequence[int],
    half_width: dict[tuple[str, int], float],
    form: str,
) -> float | None:
    """Where the mean half-width crosses ±3 points, on the straight line between the grid point
    that reaches it and the one before (None where the first or no grid point reaches it)."""
    if labels is None or labels == every_n[0]:
        return None
    before = every_n[every_n.index(labels) - 1]
    wide, narrow = half_width[form, before], half_width[form, labels]
    return before + (labels - before) * (wide - TARGET_HALF_WIDTH) / (wide - narrow)


def saving(labels: int | None, reference: int | None) -> float | None:
    """1 - labels / reference; None where either misses ±3 points on the grid."""
    if labels is None or reference is None:
        return None
    return 1 - labels / reference


def between_saving(summary: Summary, reference: Summary) -> str:
    """The saving between grid points, in brackets; nothing where it cannot be read."""
    mine, theirs = summary.between[ITEMS], reference.between[ITEMS]
    if mine is None or theirs is None:
        return ""
    return f" (~{percent(1 - mine / theirs, 0)})"


def binomial_sd(replications: int, coverage: float = NOMINAL) -> float:
    """The Monte Carlo standard deviation of a coverage share over ``replications``."""
    return float(np.sqrt(coverage * (1 - coverage) / replications))


# --- printing ----------------------------------------------------------------------------------


def percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def points(value: float) -> str:
    return f"±{100 * value:.2f}"


def labels_text(labels: int | None, grid: Sequence[int], between: float | None = None) -> str:
    if labels is None:
        return f"> {max(grid):,}"
    return f"{labels:,}" + ("" if between is None else f" (~{between:.0f})")


def print_report(pool: Pool, settings: Settings, tally: Tally, seconds: float) -> None:
    summaries = summarize(tally, settings)
    by_name = {key(summary.method): summary for summary in summaries}
    reference = by_name[key(REFERENCE)]
    shown = SHOWN_AT if SHOWN_AT in settings.grid else settings.grid[0]
    every_n = settings.grid + settings.wide_grid
    print("# Label budget: coverage and labels for ±3 points, by sampling design\n")
    print(
        f"{pool.size:,} items ({pool.source}); {settings.replications:,} replications, seed "
        f"{settings.seed}, n in {', '.join(map(str, settings.grid))}"
        + (
            f" (and {', '.join(map(str, settings.wide_grid))} in the first "
            f"{settings.wide_replications} replications, for half-widths only)"
            if settings.wide_grid
            else ""
        )
        + f"; active sampling's uniform share {settings.uniform_share}; planner asked in "
        f"{settings.planned} replications; {seconds:.0f} s on {platform.machine()}, Python "
        f"{platform.python_version()}, NumPy {version('numpy')}, ppi-python "
        f"{version('ppi-python')}.\n"
    )
    print(
        f"True compliance rate: median {statistics.median(tally.true_rates):.3f}; the judge's: "
        f"{statistics.median(tally.judge_rates):.3f}. The judge's error rate by category "
        "(median): "
        + "; ".join(
            f"{category} {percent(statistics.median(errors))}"
            for category, errors in tally.errors.items()
        )
        + ".\n"
    )
    sd = binomial_sd(settings.replications)
    print(
        f"Coverage is over every n of the grid ({settings.replications * len(settings.grid):,} "
        f"intervals per row); one n's coverage has a Monte Carlo sd of {percent(sd)} at 95%. "
        "Labels for ±3: the smallest n on the grid whose mean half-width is at most 3 points; "
        "(~x): where the straight line between it and the grid point before crosses 3 points. "
        "Planner: plan_labels' median, from the replication's pilot (from the truth on every "
        "item); its stratified plan is for labels all drawn by Neyman allocation, where the "
        "bench's Neyman sample holds the 100 uniform pilot labels too.\n"
    )
    print("## The rate of these items (finite-population intervals)\n")
    print(
        f"| design | estimator | coverage | lowest at one n | half-width at n = {shown} "
        "| labels for ±3 | fewer than uniform plain PPI | planner: pilot (truth) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for summary in summaries:
        method, lowest = summary.method, summary.lowest[ITEMS]
        print(
            f"| {method.design} | {method.estimator}{'' if method.counted else ' (not used)'} "
            f"| {percent(summary.coverage[ITEMS])} | {percent(lowest[0])} (n = {lowest[1]}) "
            f"| {points(summary.half_width[ITEMS, shown])} "
            f"| {labels_text(summary.labels[ITEMS], every_n, summary.between[ITEMS])} "
            f"| {percent(saving(summary.labels[ITEMS], reference.labels[ITEMS]), 0)}"
            f"{between_saving(summary, reference)} "
            f"| {_planned(tally, ITEMS).get(key(method), '')} |"
        )
    print("\n## As reported today (ppi_py's form, for the population the items come from)\n")
    print(
        "| design | estimator | covers the items' rate | covers the expected rate "
        f"| half-width at n = {shown} | labels for ±3 | planner: pilot (truth) |"
    )
    print("|---|---|---|---|---|---|---|")
    for summary in summaries:
        method = summary.method
        print(
            f"| {method.design} | {method.estimator}{'' if method.counted else ' (not used)'} "
            f"| {percent(summary.coverage[REPORTED])} | {percent(summary.coverage_expected)} "
            f"| {points(summary.half_width[REPORTED, shown])} "
            f"| {labels_text(summary.labels[REPORTED], every_n, summary.between[REPORTED])} "
            f"| {_planned(tally, REPORTED).get(key(method), '')} |"
        )
    print(
        f"\nLabelling all {pool.size:,} items, the reported plain-PPI interval is still "
        f"{points(statistics.median(tally.census_half_width))} (median): var(f)/N alone is "
        "most of ±3 points.\n"
    )
    print("## Coverage of the items' rate, and mean half-width, at each n\n")
    print("| design | estimator | " + " | ".join(f"n = {n}" for n in settings.grid) + " |")
    print("|---|---|" + "---|" * len(settings.grid))
    for summary in summaries:
        name = key(summary.method)
        cells = [
            f"{percent(float(np.mean(tally.covered[name, ITEMS, n])))} "
            f"{points(summary.half_width[ITEMS, n])}"
            for n in settings.grid
        ]
        print(
            f"| {summary.method.design} | {summary.method.estimator} | " + " | ".join(cells) + " |"
        )
    print()
    for line in target_lines(summaries):
        print(line)


def _planned(tally: Tally, form: str) -> dict[str, str]:
    """The planner's median labels for ±3 points beside the methods it plans for, from the pilot
    and from the truth."""
    if not tally.planned:
        return {}

    def median(name: str, source: str) -> str:
        value = statistics.median(tally.planned[form, source, name])
        return "unreachable" if value == float("inf") else f"{int(value):,}"

    def both(name: str) -> str:
        return f"{median(name, PILOT_SOURCE)} ({median(name, TRUTH_SOURCE)})"

    return {
        key(METHODS[0]): both("plain"),
        key(METHODS[1]): both("tuned"),
        key(METHODS[4]): both("stratified"),
    }


def target_lines(summaries: Sequence[Summary]) -> list[str]:
    counted = [summary for summary in summaries if summary.method.counted]
    worst = min(counted, key=lambda summary: summary.coverage[ITEMS])
    coverage_met = all(summary.coverage[ITEMS] >= COVERAGE_TARGET for summary in counted)
    reference = next(summary for summary in summaries if summary.method is REFERENCE)
    savings = {
        key(summary.method): saving(summary.labels[ITEMS], reference.labels[ITEMS])
        for summary in counted
        if summary.method.design != UNIFORM
    }
    best = max(savings, key=lambda name: savings[name] or -1.0)
    saving_met = (savings[best] or 0.0) >= SAVING_TARGET
    return [
        f"TARGET coverage of the items' rate >= {percent(COVERAGE_TARGET, 0)} for every design: "
        f"{'met' if coverage_met else 'NOT met'} (lowest {percent(worst.coverage[ITEMS])}, "
        f"{key(worst.method)})",
        f"TARGET active or Neyman >= {percent(SAVING_TARGET, 0)} fewer labels than uniform plain "
        f"PPI for ±3 points: {'met' if saving_met else 'NOT met'} (best {best}: "
        f"{percent(savings[best], 0)} fewer)",
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="150 replications at n = 250, 350")
    parser.add_argument("--replications", type=int, help=f"default {REPLICATIONS:,}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--uniform-share",
        type=float,
        default=DEFAULT_UNIFORM_SHARE,
        help="active sampling's uniform share of each probability",
    )
    args = parser.parse_args(argv)
    count = args.replications or (QUICK_REPLICATIONS if args.quick else REPLICATIONS)
    if count < 1:
        parser.error("--replications: at least 1")
    if not 0 < args.uniform_share <= 1:
        parser.error("--uniform-share: above 0 and at most 1")
    settings = Settings(
        replications=count,
        grid=QUICK_GRID if args.quick else GRID,
        seed=args.seed,
        uniform_share=args.uniform_share,
        planned=min(count, QUICK_PLANNED_REPLICATIONS if args.quick else PLANNED_REPLICATIONS),
        wide_grid=() if args.quick else WIDE_GRID,
        wide_replications=0 if args.quick else min(count, WIDE_REPLICATIONS),
    )
    pool = coconot_pool()
    started = time.perf_counter()
    tally = run(pool, settings)
    print_report(pool, settings, tally, time.perf_counter() - started)


if __name__ == "__main__":
    main()
