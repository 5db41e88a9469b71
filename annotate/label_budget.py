"""How many human labels a judge-corrected compliance rate needs (issue 15): a label budget.

Plain Python and NumPy (SciPy for the normal quantile), no Django. The estimators planned for are
those the reports print: plain PPI (:func:`analysis.metrics.judge_corrected_rate`, lambda = 1),
PPI++ and stratified PPI++ (:mod:`analysis.ppi`). For n gold labels among N judged responses,
with f = 1 where the judge says complied (a judge failure is f = 0) and Y = 1 where the human
says complied, their variance is, as ppi_py computes it (the two samples treated as independent)::

    var(theta) = lambda² var(f) / N + var(Y - lambda f) / n

That is the rate of prompts like these (``population=PROMPTS``). The rate of the N responses
themselves (``RESPONSES``, what campaign targets stop on) knows f on all of them, so its variance
is (1 - n/N) var(Y - lambda f) / n: labels drawn without replacement, no judge term, and
lambda* = cov(Y, f) / var(f), the survey sampler's regression estimator.

Plain PPI has lambda = 1. PPI++ uses the variance-minimising lambda* = cov(Y, f) / ((1 + n/N)
var(f)) (Angelopoulos, Duchi, Zrnic 2023), clipped to [0, 1] as ppi_py does. Stratified PPI++
(one PPI++ estimate per category h, weighted by W_h = N_h/N) has variance
sum W_h² var_h(theta_h); its labels are spread by Neyman allocation, n_h proportional to
N_h sigma_h, sigma_h the standard deviation of the rectifier Y - lambda_h f in the category
(lambda_h and n_h are tuned in turn until they settle), with at least MIN_STRATUM_LABELS and at
most N_h in each. A plan is the fewest n whose 95% half-width z·sqrt(var) is at most the target.

**What Y looks like.** The judge's labels on all N responses are known, so the share p_h of
f = 1 in each category is exact. Only Y given f is modelled, per category, as Bernoulli:
P(Y = 1 | f = 1) = pi1_h and P(Y = 1 | f = 0) = pi0_h. From these come
var(f) = p(1-p), var(Y) = q(1-q) with q = p pi1 + (1-p) pi0, and cov(Y, f) = p(1-p)(pi1 - pi0);
without categories there is one stratum, and the overall moments are those of the mixture of
the categories weighted by N_h (so an overall plan sees that the judge is worse in some
categories).

* **Assumed accuracy a**: the human's call is the judge's, flipped with probability 1 - a,
  whatever the category: pi1 = a, pi0 = 1 - a (a judge failure counts as a "not complied" call).
* **A pilot**: pairs (judge label, gold label) already labelled, per category when given. pi1_h
  and pi0_h are the shares of gold "complied" among the pilot pairs of category h whose judge
  said complied / did not, each smoothed by ``pseudo_count`` (default 1, Laplace's rule:
  (k + 1)/(m + 2)), so a pilot with no disagreement still expects some, and a category without
  pilot pairs is a coin flip (1/2). Pilot weights (inverse inclusion probabilities) weight the
  shares, scaled to sum to the pairs' count in each cell.

**Floors and caps.** A plan asks for at least MIN_ITEMS (10) labels overall and per category,
because the reports show no corrected rate below that; each stratum of a stratified plan gets at
least MIN_STRATUM_LABELS (2, what stratified PPI needs for a variance). No plan asks for more
labels than there are responses: where even labelling all N misses the target, the plan says
``reachable=False`` with the half-width that labelling everything gives.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from judging.judges_text import COMPLIED

# The reports show no rate below analysis.metrics.MIN_ITEMS labels (annotate sits below analysis,
# so the number is repeated here; a test holds the two equal).
MIN_ITEMS = 10
MIN_STRATUM_LABELS = 2  # analysis.ppi.MIN_LABELS: a stratum with fewer has no variance
DEFAULT_SECONDS_PER_LABEL = 30.0
DEFAULT_PSEUDO_COUNT = 1.0
# lambda_h and Neyman's n_h are tuned in turn; they settle in a few rounds (n_h/N_h moves lambda_h
# by a factor 1/(1 + n_h/N_h) only).
_TUNING_ROUNDS = 30

# Whose compliance rate a plan is for. PROMPTS: of prompts like these (the responses a sample of
# a larger population, as ppi-python plans; the judge's term var f / N stays however many are
# labelled). RESPONSES: of these N responses themselves, the figure a benchmark run reports: the
# judge's calls on all N are known, so only its errors are estimated, from labels drawn without
# replacement (variance times 1 - n/N, zero when all are labelled); campaign targets use this.
PROMPTS, RESPONSES = "prompts", "responses"
POPULATIONS = (RESPONSES, PROMPTS)

Labels = Sequence[str] | NDArray[Any]
Categories = Sequence[Hashable] | NDArray[Any]
ONE_STRATUM = ""  # the category of every response when none are given


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moments:
    """The second moments of (f, Y) a plan depends on."""

    var_f: float
    var_y: float
    cov: float

    def rectifier_variance(self, lam: float) -> float:
        """var(Y - lam f)."""
        return max(0.0, self.var_y - 2 * lam * self.cov + lam**2 * self.var_f)

    def tuned_lambda(self, n: float, size: int, *, finite: bool = False) -> float:
        """PPI++'s lambda* = cov / ((1 + n/N) var f), clipped to [0, 1]; 0 for a constant judge.
        ``finite``: the rate of the N responses themselves, where f is known on all of them:
        the regression estimator's cov / var f."""
        if self.var_f <= 0:
            return 0.0
        spread = 1.0 if finite else 1 + n / size
        return float(np.clip(self.cov / (spread * self.var_f), 0.0, 1.0))

    def variance(self, n: float, size: int, lam: float, *, finite: bool = False) -> float:
        """var(theta) with n labels among ``size`` responses: lam² var f/N + var(Y - lam f)/n;
        ``finite``: (1 - n/N) var(Y - lam f)/n, the rate of the N responses themselves (their
        judge's calls are known, labels are drawn from them without replacement)."""
        if finite:
            return max(0.0, 1 - n / size) * self.rectifier_variance(lam) / n
        return lam**2 * self.var_f / size + self.rectifier_variance(lam) / n


@dataclass(frozen=True)
class Stratum:
    """A category's model: ``size`` responses, judge rate ``judge_rate`` (share of f = 1),
    P(Y = 1 | f = 1) ``complied_if_judge_complied``, P(Y = 1 | f = 0)
    ``complied_if_judge_not``; ``pilot_pairs``: the pilot pairs it was estimated from."""

    category: Hashable
    size: int
    judge_rate: float
    complied_if_judge_complied: float
    complied_if_judge_not: float
    pilot_pairs: int = 0

    @property
    def joint(self) -> NDArray[np.float64]:
        """P(f = i, Y = j) as a 2x2 table."""
        p, pi1, pi0 = self.judge_rate, self.complied_if_judge_complied, self.complied_if_judge_not
        return np.array([[(1 - p) * (1 - pi0), (1 - p) * pi0], [p * (1 - pi1), p * pi1]])

    @property
    def agreement(self) -> float:
        """P(Y = f): the judge's accuracy on complied / not complied in this category."""
        table = self.joint
        return float(table[0, 0] + table[1, 1])

    @property
    def moments(self) -> Moments:
        return moments_of(self.joint)


@dataclass(frozen=True)
class Design:
    """A number of labels and what it achieves: ``half_width`` is the 95% half-width with
    ``labels`` gold labels (``reachable`` False when even all responses miss the target);
    ``lam``: PPI's lambda at that n (None for a stratified design, see its strata)."""

    labels: int
    reachable: bool
    half_width: float
    hours: float
    lam: float | None = None


@dataclass(frozen=True)
class CategoryPlan:
    """One category: its own ±target by plain PPI and PPI++, and its share of the stratified
    (Neyman) plan, ``neyman_labels`` with ``neyman_lambda``."""

    stratum: Stratum
    plain: Design
    tuned: Design
    neyman_labels: int
    neyman_lambda: float


@dataclass(frozen=True)
class LabelPlan:
    """Labels for a 95% interval of ±``target`` on the corrected compliance rate of
    ``responses`` judged responses: uniform sampling with plain PPI (``plain``) and PPI++
    (``tuned``), and stratified PPI++ with Neyman allocation (``stratified``); per category in
    ``categories`` (sorted). ``source``: "pilot" or "accuracy"."""

    target: float
    responses: int
    seconds_per_label: float
    source: str
    plain: Design
    tuned: Design
    stratified: Design
    categories: tuple[CategoryPlan, ...]


# --- the model of Y given f ----------------------------------------------------------------------


def moments_of(joint: NDArray[np.float64]) -> Moments:
    """var f, var Y and cov(Y, f) of a 2x2 table P(f = i, Y = j) (population moments)."""
    p = float(joint[1].sum())
    q = float(joint[:, 1].sum())
    both = float(joint[1, 1])
    return Moments(var_f=p * (1 - p), var_y=q * (1 - q), cov=both - p * q)


def _complied(labels: Labels) -> NDArray[np.float64]:
    return (np.asarray(labels, dtype=object) == COMPLIED).astype(np.float64)


def _check_labels(values: Labels | Categories, name: str) -> NDArray[Any]:
    array = np.asarray(values, dtype=object)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected one label per item")
    return array


def _smoothed_share(
    gold: NDArray[np.float64], weights: NDArray[np.float64], pseudo: float
) -> float:
    """The (weighted) share of gold 1, as if ``pseudo`` more 0s and 1s had been seen; 1/2 with
    neither data nor pseudo-counts."""
    count = gold.size
    if count + 2 * pseudo == 0:
        return 0.5
    hits = float((weights * gold).sum() / weights.sum() * count) if count else 0.0
    return (hits + pseudo) / (count + 2 * pseudo)


def strata_from_accuracy(
    judge_all: Labels, accuracy: float, categories: Categories | None = None
) -> list[Stratum]:
    """One stratum per category (sorted), the human's call the judge's flipped with
    probability 1 - ``accuracy``."""
    if not 0.5 < accuracy <= 1:
        raise ValueError("accuracy: must be above 0.5 and at most 1")
    return [
        Stratum(category, int(f.size), float(f.mean()), accuracy, 1 - accuracy)
        for category, f in _by_category(judge_all, categories)
    ]


def strata_from_pilot(
    judge_all: Labels,
    pilot_judge: Labels,
    pilot_gold: Labels,
    *,
    categories: Categories | None = None,
    pilot_categories: Categories | None = None,
    pilot_weights: Sequence[float] | NDArray[Any] | None = None,
    pseudo_count: float = DEFAULT_PSEUDO_COUNT,
) -> list[Stratum]:
    """One stratum per category (sorted), P(Y | f) from the pilot pairs of that category."""
    judge_on_pilot = _check_labels(pilot_judge, "pilot_judge")
    gold = _check_labels(pilot_gold, "pilot_gold")
    if gold.size != judge_on_pilot.size:
        raise ValueError("pilot_gold: expected one gold label per pilot judge label")
    if not pseudo_count >= 0:
        raise ValueError("pseudo_count: must be a number, 0 or more")
    weights = np.ones(gold.size) if pilot_weights is None else np.asarray(pilot_weights, float)
    if weights.shape != gold.shape or not np.isfinite(weights).all() or (weights <= 0).any():
        raise ValueError("pilot_weights: expected one positive weight per pilot pair")
    if (categories is None) != (pilot_categories is None):
        raise ValueError("pilot_categories: give categories for both the pilot and all responses")
    pilot_strata = (
        np.full(gold.size, ONE_STRATUM, dtype=object)
        if pilot_categories is None
        else _check_labels(pilot_categories, "pilot_categories")
    )
    if pilot_strata.size != gold.size:
        raise ValueError("pilot_categories: expected one category per pilot pair")
    f_pilot, y_pilot = _complied(judge_on_pilot), _complied(gold)
    strata = []
    for category, f in _by_category(judge_all, categories):
        mine = pilot_strata == category
        shares = [
            _smoothed_share(
                y_pilot[mine & (f_pilot == call)], weights[mine & (f_pilot == call)], pseudo_count
            )
            for call in (1.0, 0.0)
        ]
        strata.append(
            Stratum(category, int(f.size), float(f.mean()), shares[0], shares[1], int(mine.sum()))
        )
    known = {stratum.category for stratum in strata}
    stray = set(pilot_strata.tolist()) - known
    if stray:
        raise ValueError(f"pilot_categories: {sorted(map(str, stray))} are not among the responses")
    return strata


def _by_category(
    judge_all: Labels, categories: Categories | None
) -> list[tuple[Hashable, NDArray[np.float64]]]:
    every = _check_labels(judge_all, "judge_all")
    if every.size == 0:
        raise ValueError("judge_all: there are no judged responses")
    strata = (
        np.full(every.size, ONE_STRATUM, dtype=object)
        if categories is None
        else _check_labels(categories, "categories")
    )
    if strata.size != every.size:
        raise ValueError("categories: expected one category per judged response")
    f = _complied(every)
    return [(category, f[strata == category]) for category in sorted(set(strata.tolist()), key=str)]


def mixture(strata: Sequence[Stratum]) -> Moments:
    """The moments of (f, Y) over all responses: each category's table weighted by its size."""
    total = sum(stratum.size for stratum in strata)
    joint = sum((stratum.size / total * stratum.joint for stratum in strata), np.zeros((2, 2)))
    return moments_of(joint)


# --- fewest labels -------------------------------------------------------------------------------


def z_value(alpha: float = 0.05) -> float:
    return float(norm.ppf(1 - alpha / 2))


def fewest_labels(
    variance_at: Callable[[int], float], lowest: int, highest: int, limit: float
) -> tuple[int, bool]:
    """The smallest n in [lowest, highest] with variance_at(n) <= limit (variance_at falls as n
    grows), and whether there is one; (highest, False) when not."""
    if variance_at(highest) > limit:
        return highest, False
    low, high = lowest, highest
    while low < high:
        middle = (low + high) // 2
        if variance_at(middle) <= limit:
            high = middle
        else:
            low = middle + 1
    return low, True


def _is_finite(population: str) -> bool:
    if population not in POPULATIONS:
        raise ValueError(f"population: {population!r} is not one of {', '.join(POPULATIONS)}")
    return population == RESPONSES


def _check_target(target: float) -> None:
    if not 0 < target <= 0.5:
        raise ValueError("target: the half-width must be above 0 and at most 0.5")


def uniform_design(
    moments: Moments,
    size: int,
    target: float,
    *,
    tuned: bool,
    seconds_per_label: float = DEFAULT_SECONDS_PER_LABEL,
    alpha: float = 0.05,
    population: str = PROMPTS,
) -> Design:
    """Labels drawn uniformly from ``size`` responses for ±``target``: plain PPI (lambda = 1)
    or, ``tuned``, PPI++ (lambda* at that n)."""
    _check_target(target)
    finite = _is_finite(population)
    z = z_value(alpha)

    def lam(n: float) -> float:
        return moments.tuned_lambda(n, size, finite=finite) if tuned else 1.0

    def variance_at(n: int) -> float:
        return moments.variance(n, size, lam(n), finite=finite)

    labels, reachable = fewest_labels(variance_at, min(MIN_ITEMS, size), size, (target / z) ** 2)
    return Design(
        labels,
        reachable,
        z * math.sqrt(variance_at(labels)),
        labels * seconds_per_label / 3600,
        lam(labels),
    )


def neyman_allocation(
    strata: Sequence[Stratum], total: float, *, population: str = PROMPTS
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(n_h, lambda_h) for ``total`` labels: n_h proportional to N_h sigma_h within
    [MIN_STRATUM_LABELS, N_h] (continuous), sigma_h the rectifier's sd at PPI++'s lambda_h."""
    sizes = np.array([stratum.size for stratum in strata], dtype=np.float64)
    moments = [stratum.moments for stratum in strata]
    lowest = np.minimum(MIN_STRATUM_LABELS, sizes)
    shares = sizes / sizes.sum()
    allocation = np.clip(total * shares, lowest, sizes)
    lambdas = np.zeros(len(strata))
    for _ in range(_TUNING_ROUNDS):
        lambdas = np.array(
            [
                m.tuned_lambda(n, int(size), finite=_is_finite(population))
                for m, n, size in zip(moments, allocation, sizes, strict=True)
            ]
        )
        spread = np.array(
            [math.sqrt(m.rectifier_variance(lam)) for m, lam in zip(moments, lambdas, strict=True)]
        )
        allocation = _bounded_proportional(sizes * spread, total, lowest, sizes)
    return allocation, lambdas


def _bounded_proportional(
    weights: NDArray[np.float64],
    total: float,
    lowest: NDArray[np.float64],
    highest: NDArray[np.float64],
) -> NDArray[np.float64]:
    """clip(c · weights, lowest, highest) summing to ``total`` (the optimum of sum a_h²/n_h under
    those bounds); a weight of 0 gets its lowest."""
    total = float(np.clip(total, lowest.sum(), highest.sum()))
    weights = np.maximum(weights, 1e-12 * max(float(weights.max()), 1.0))
    low, high = 0.0, float((highest / weights).max())
    for _ in range(200):
        middle = (low + high) / 2
        if np.clip(middle * weights, lowest, highest).sum() < total:
            low = middle
        else:
            high = middle
    return np.clip(high * weights, lowest, highest)


def stratified_variance(
    strata: Sequence[Stratum],
    allocation: NDArray[np.float64],
    lambdas: NDArray[np.float64],
    *,
    population: str = PROMPTS,
) -> float:
    """sum W_h² (lambda_h² var_h f/N_h + var_h(Y - lambda_h f)/n_h)."""
    total = sum(stratum.size for stratum in strata)
    return sum(
        (stratum.size / total) ** 2
        * stratum.moments.variance(n, stratum.size, lam, finite=_is_finite(population))
        for stratum, n, lam in zip(strata, allocation, lambdas, strict=True)
    )


def stratified_design(
    strata: Sequence[Stratum],
    target: float,
    *,
    seconds_per_label: float = DEFAULT_SECONDS_PER_LABEL,
    alpha: float = 0.05,
    population: str = PROMPTS,
) -> tuple[Design, NDArray[np.int64], NDArray[np.float64]]:
    """Stratified PPI++ with Neyman allocation for ±``target`` overall: the design, the whole
    labels per category (each continuous n_h rounded up, so the target still holds) and the
    lambdas."""
    _check_target(target)
    z = z_value(alpha)
    size = sum(stratum.size for stratum in strata)
    floor = sum(min(MIN_STRATUM_LABELS, stratum.size) for stratum in strata)

    def variance_at(n: int) -> float:
        allocation, lambdas = neyman_allocation(strata, n, population=population)
        return stratified_variance(strata, allocation, lambdas, population=population)

    total, reachable = fewest_labels(
        variance_at, min(size, max(MIN_ITEMS, floor)), size, (target / z) ** 2
    )
    allocation, lambdas = neyman_allocation(strata, total, population=population)
    sizes = np.array([stratum.size for stratum in strata])
    # 1e-9: a share that is a whole number up to rounding is not rounded up once more.
    labels = np.minimum(np.ceil(allocation - 1e-9), sizes).astype(np.int64)
    half_width = z * math.sqrt(
        stratified_variance(strata, labels.astype(np.float64), lambdas, population=population)
    )
    count = int(labels.sum())
    design = Design(count, reachable, half_width, count * seconds_per_label / 3600)
    return design, labels, lambdas


# --- the plan ------------------------------------------------------------------------------------


def plan_labels(
    judge_all: Labels,
    target: float,
    *,
    categories: Categories | None = None,
    accuracy: float | None = None,
    pilot_judge: Labels | None = None,
    pilot_gold: Labels | None = None,
    pilot_categories: Categories | None = None,
    pilot_weights: Sequence[float] | NDArray[Any] | None = None,
    seconds_per_label: float = DEFAULT_SECONDS_PER_LABEL,
    pseudo_count: float = DEFAULT_PSEUDO_COUNT,
    alpha: float = 0.05,
    population: str = PROMPTS,
) -> LabelPlan:
    """How many gold labels give the corrected compliance rate of ``judge_all`` (the judge's label
    on every response, ``categories`` each one's category) a 95% interval of ±``target``.

    Give exactly one of ``accuracy`` (the chance that the judge's complied / not complied call
    is the human's, the same in every category) and a pilot (``pilot_judge`` and ``pilot_gold``:
    the judge's and the gold label of already-labelled items, ``pilot_categories`` theirs).
    ``population``: whose rate (:data:`RESPONSES` or :data:`PROMPTS`, see the module's notes).
    """
    _check_target(target)
    if not (math.isfinite(seconds_per_label) and seconds_per_label > 0):
        raise ValueError("seconds_per_label: must be a positive number")
    has_pilot = pilot_judge is not None or pilot_gold is not None
    if (accuracy is None) == (not has_pilot):
        raise ValueError("accuracy: give either an assumed accuracy or a pilot, not both")
    if accuracy is not None:
        strata = strata_from_accuracy(judge_all, accuracy, categories)
    else:
        if pilot_judge is None or pilot_gold is None:
            raise ValueError("pilot_gold: a pilot needs both the judge's and the gold labels")
        strata = strata_from_pilot(
            judge_all,
            pilot_judge,
            pilot_gold,
            categories=categories,
            pilot_categories=pilot_categories,
            pilot_weights=pilot_weights,
            pseudo_count=pseudo_count,
        )
    size = sum(stratum.size for stratum in strata)
    overall = mixture(strata)
    timing: dict[str, Any] = {
        "seconds_per_label": seconds_per_label,
        "alpha": alpha,
        "population": population,
    }
    stratified, labels, lambdas = stratified_design(strata, target, **timing)
    rows = tuple(
        CategoryPlan(
            stratum,
            uniform_design(stratum.moments, stratum.size, target, tuned=False, **timing),
            uniform_design(stratum.moments, stratum.size, target, tuned=True, **timing),
            int(count),
            float(lam),
        )
        for stratum, count, lam in zip(strata, labels, lambdas, strict=True)
    )
    return LabelPlan(
        target=target,
        responses=size,
        seconds_per_label=seconds_per_label,
        source="accuracy" if accuracy is not None else "pilot",
        plain=uniform_design(overall, size, target, tuned=False, **timing),
        tuned=uniform_design(overall, size, target, tuned=True, **timing),
        stratified=stratified,
        categories=rows,
    )
