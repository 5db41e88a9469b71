"""Power-tuned and stratified prediction-powered inference for a rate (issue 15).

Plain NumPy and SciPy, no Django. :func:`analysis.metrics.judge_corrected_rate` gives plain PPI
(Angelopoulos et al. 2023): theta = mean f over all N items + mean (Y - f) over the n gold-labelled
ones. A weak judge makes that interval *wider* than the gold labels alone. Two refinements:

* :func:`ppi_mean` is PPI++ (Angelopoulos, Duchi, Zrnic 2023, "PPI++: efficient
  prediction-powered inference"): theta = lambda·mean f_all + mean (Y - lambda·f), with lambda
  chosen from the data to minimise the variance. lambda = 0 is the classical gold-only mean,
  lambda = 1 plain PPI, so a useless judge costs (asymptotically) nothing.
* :func:`stratified_ppi_mean` is stratified PPI (Fisch et al. 2024, "Stratified prediction-powered
  inference for hybrid language model evaluation"): one PPI++ estimate per stratum h (a category,
  say), each with its own lambda_h, combined as sum (N_h/N) theta_h with variance
  sum (N_h/N)² var_h. The total variance is a sum of per-stratum terms, each depending on its own
  lambda_h only, so tuning each stratum alone minimises the estimated total (but see "Small
  strata" below).

The formulas are those of ``ppi_py`` 0.2.3 (``ppi_mean_pointestimate``, ``ppi_mean_ci`` with
``lam=None`` and ``_calc_lam_glm``), checked against it in tests/analysis/test_ppi.py:

* lambda = cov(w(Y - t), w(f - t)) / ((1 + n/N) · var(pooled w f)), clipped to [0, 1], where t is
  the plain-PPI estimate, the covariance divides by n and the variance of the judge's scores is
  taken (ddof=1) over the labelled and all items together. Where the judge gives every item the
  same score that variance is 0 and ppi_py returns NaN; here lambda is 0 (the judge then carries
  no information, and with equal weights the estimate does not depend on lambda at all).
* variance = var(lambda f_all)/N + var(w (Y - lambda f))/n, both ddof=0 as in ppi_py (metrics.py
  uses ddof=1, so its plain-PPI interval is wider by at most a factor sqrt(n/(n-1))).
* ``weights`` (inverse inclusion probabilities of the labelled items) are scaled to mean 1, as
  ppi_py does, so the weighted means are Hajek means sum(w v)/sum(w) -- the same point estimate
  as metrics.py. The variance is ppi_py's var(w v)/n, not the linearised Hajek variance
  sum(w² (v - mean)²)/sum(w)² that metrics.py uses; the two agree with equal weights (up to ddof).

``judge_all`` is ppi_py's ``Yhat_unlabeled``: the judge's scores on all N items, and may include the
labelled ones (as in judge_corrected_rate). The variance treats the two samples as independent;
with n much smaller than N the overlap's covariance is negligible. The estimators read of
``judge_all`` only how many items carry each score (per stratum), so :func:`ppi_mean_of_counts`
and :func:`stratified_ppi_mean_of_counts` take those counts instead of a list of N scores: the same
estimate, bit for bit (both forms count the scores and compute from the counts), at a cost that
does not grow with N. The agreement report counts a million verdicts in the database this way.

**The rate of these N items** (``finite_population=True``; the planner's ``RESPONSES``).
ppi_py's interval is for the rate of the population the N items were drawn from: it counts
var(f_all)/N for the judge's mean, and no finite-population correction. When the rate wanted is
that of the N judged items themselves (what labelling every one would give; the labelled items are
a sample of them), the judge's mean over all N is exact and the error is only the rectifier's
sampling error: the difference (lambda = 1) or regression (tuned lambda) estimator of survey
sampling (Sarndal, Swensson and Wretman 1992, 6.3-6.5). Its variance is
n/(n-1) sum (1 - p_i) u_i² / n², u the Hajek residuals w (r - r_bar) of the rectifier
r = Y - lambda f less their (1 - p)-weighted mean (Hajek 1964; Deville 1999): for a fixed-size
design of high entropy (simple random, stratified, annotate.sampling's systematic draw over a
random order), and exactly (1 - n/N) s²/n for a simple random sample. ``p_i`` is 1/weight, or n/N
without weights, and lambda minimises that variance (``_LambdaTerms``). On 1,380 items ppi_py's
form cannot reach ±3 points with plain PPI even with every item labelled (±3.1); this one covers
the items' rate at 94.4-95.3% for every design of bench/label_budget.py.

**Small strata** (``pooled_lambda=True``). Tuning lambda_h in each stratum on that stratum's own
labels is the separate regression estimator of survey sampling: each lambda_h has a bias of order
1/n_h, of the same sign in strata that look alike, which adds up over the strata while the
standard error shrinks. In bench/label_budget.py's Neyman design with 150 labels (10 to 54 per
stratum on average, 4 at the fewest) it is -0.35 points, a sixth of the standard error, and the
interval of the items' rate covers 93.3% at a nominal 95%. One lambda for all strata, the
minimiser of sum W_h² var_h(lambda) (the combined regression estimator, Cochran 1977, 7.10), is
tuned on all n labels: its bias is of order 1/n, and it covers 94.1% there (94.1-95.5% from 150 to
500 labels), at an interval 6-7% wider than per-stratum tuning's.

Scores and gold labels are numbers in [0, 1] (1 = complied). The value is not clipped (PPI can
leave [0, 1] on small samples) but its interval is, as in metrics.py. Fewer than
:data:`MIN_LABELS` gold labels (overall or in a stratum) gives an :class:`Estimate` whose value is
None and whose ``reason`` says why; malformed input raises ValueError.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from analysis.metrics import PPI, Estimate

FloatArray = NDArray[np.float64]
Scores = Sequence[float] | NDArray[Any]
Strata = Sequence[Hashable] | NDArray[Any]
# How many items carry each score; per (stratum, score) for a stratified estimate.
ScoreCounts = Mapping[float, int]
StratumScoreCounts = Mapping[tuple[Any, float], int]

# A variance needs two labels; below this a (stratum) estimate is undefined.
MIN_LABELS = 2


@dataclass(frozen=True)
class PPIEstimate:
    """A PPI++ (or, with a fixed ``lam``, PPI / classical) estimate of a rate.

    ``estimate``: the value with its interval (marked PPI); ``lam``: the lambda used (None when
    undefined); ``variance``: the estimated variance of the value, before the interval is clipped
    to [0, 1], so value ± z·sqrt(variance) is ppi_py's interval.
    """

    estimate: Estimate
    lam: float | None
    variance: float | None
    n_labelled: int
    n_all: int


@dataclass(frozen=True)
class StratumPart:
    """One stratum of a stratified estimate: its name, its share N_h/N of all items and its own
    PPI++ estimate."""

    stratum: Hashable
    share: float
    part: PPIEstimate


@dataclass(frozen=True)
class StratifiedPPIEstimate:
    """Stratified PPI: sum over strata of share · stratum estimate; ``strata`` in sorted order."""

    estimate: Estimate
    variance: float | None
    n_labelled: int
    n_all: int
    strata: tuple[StratumPart, ...]

    @property
    def lambdas(self) -> dict[Hashable, float | None]:
        return {part.stratum: part.part.lam for part in self.strata}


# --- input ------------------------------------------------------------------------------------


def _as_scores(values: Scores, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected one number per item, got shape {array.shape}")
    if not np.isfinite(array).all() or (array < 0).any() or (array > 1).any():
        raise ValueError(f"{name}: every value must be a number between 0 and 1")
    return array


@dataclass(frozen=True)
class _Population:
    """The judge's scores on all N items (a stratum's), as all the estimators read of them: how
    many, their mean and their sum of squared deviations from it. Made from the distinct scores
    and how many items carry each, whether the caller gave a list or counts, so that both give
    the same figures to the last bit."""

    size: int
    mean: float
    squares: float

    def variance(self) -> float:
        """The scores' variance, ddof=0 (NumPy's ``var()``)."""
        return self.squares / self.size if self.size else 0.0


def _population(values: FloatArray, counts: NDArray[np.int64]) -> _Population:
    """From distinct scores in increasing order and their (positive) counts."""
    size = int(counts.sum())
    if size == 0:
        return _Population(0, 0.0, 0.0)
    mean = float((values * counts).sum() / size)
    return _Population(size, mean, float((counts * (values - mean) ** 2).sum()))


def _population_of_scores(scores: FloatArray) -> _Population:
    values, counts = np.unique(scores, return_counts=True)
    return _population(values, counts.astype(np.int64))


def _population_of_counts(counts: ScoreCounts, name: str) -> _Population:
    """Counts by score, validated as the scores of a list are; scores no item carries left out."""
    found: dict[float, int] = {}
    for score, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
            raise ValueError(f"{name}: a count must be a whole number, not negative: {count!r}")
        if count:
            value = float(_as_scores([score], name)[0])
            found[value] = found.get(value, 0) + int(count)
    values = np.array(sorted(found), dtype=np.float64)
    return _population(values, np.array([found[v] for v in values], dtype=np.int64))


def _as_weights(weights: Scores | None, n: int) -> FloatArray:
    """Weights scaled to mean 1 (ppi_py's construct_weight_vector); ones without weights."""
    if weights is None:
        return np.ones(n)
    array = np.asarray(weights, dtype=np.float64)
    if array.shape != (n,):
        raise ValueError(f"weights: expected {n} values, one per labelled item, got {array.shape}")
    if not np.isfinite(array).all() or (array < 0).any():
        raise ValueError("weights: every weight must be finite and not negative")
    if n and array.sum() == 0:
        raise ValueError("weights: all weights are zero")
    return array / array.sum() * n if n else array


def _check_lam(lam: float | None) -> None:
    if lam is not None and not np.isfinite(lam):
        raise ValueError("lam: must be a finite number, or None to tune it")


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError("alpha: must be between 0 and 1")
    return float(norm.ppf(1 - alpha / 2))


# --- PPI++ ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Labelled:
    """One (stratum's) labelled sample beside the judge's scores on all its items: ``w`` the
    weights scaled to mean 1; ``inclusion`` each labelled item's inclusion probability for a
    finite-population variance (None: ppi_py's variance)."""

    gold: FloatArray
    judge_on_gold: FloatArray
    judge_all: _Population
    w: FloatArray
    inclusion: FloatArray | None

    @property
    def n(self) -> int:
        return self.gold.size


@dataclass(frozen=True)
class _LambdaTerms:
    """An estimate's variance as a function of lambda is c - 2·lambda·a + lambda²·b; the tuned
    lambda is a/b, clipped to [0, 1] (0 where b is 0: the judge's scores do not vary). Strata that
    share one lambda add their a and b, each times its W_h², as their variances add."""

    a: float
    b: float

    def best(self) -> float:
        return float(np.clip(self.a / self.b, 0.0, 1.0)) if self.b > 0 else 0.0


def _labelled(
    gold: FloatArray,
    judge_on_gold: FloatArray,
    judge_all: _Population,
    weights: Scores | None,
    finite: bool,
) -> _Labelled:
    w = _as_weights(weights, gold.size)
    inclusion = _inclusion(weights, gold.size, judge_all.size) if finite else None
    return _Labelled(gold, judge_on_gold, judge_all, w, inclusion)


def _inclusion(weights: Scores | None, n: int, n_all: int) -> FloatArray:
    """1/weight, or n/N for every item of an unweighted (simple random) sample."""
    if weights is None:
        return np.full(n, min(1.0, n / n_all) if n_all else 1.0)
    raw = np.asarray(weights, dtype=np.float64)
    # 1e-9: a weight computed as 1/p may fall a rounding error short of 1 where p is 1.
    if (raw < 1 - 1e-9).any():
        raise ValueError(
            "weights: a finite-population interval needs inverse inclusion probabilities, "
            "each 1 or more"
        )
    return np.minimum(1.0, 1 / raw)


def _point(sample: _Labelled, lam: float) -> float:
    rectifier = sample.w * (sample.gold - lam * sample.judge_on_gold)
    return float(lam * sample.judge_all.mean + rectifier.mean())


def _lambda_terms(sample: _Labelled) -> _LambdaTerms:
    if sample.inclusion is not None:
        return _finite_lambda_terms(sample, sample.inclusion)
    return _ppi_py_lambda_terms(sample)


def _ppi_py_lambda_terms(sample: _Labelled) -> _LambdaTerms:
    """ppi_py's _calc_lam_glm for a mean (identity Hessian): lambda = cov / ((1 + n/N) var),
    as a = cov/n over b = (1/n + 1/N) var, so that one stratum alone gets ppi_py's lambda."""
    n, n_all, w = sample.n, sample.judge_all.size, sample.w
    plain = _point(sample, 1.0)
    grads = w * (sample.gold - plain)
    grads_hat = w * (sample.judge_on_gold - plain)
    covariance = float(((grads - grads.mean()) * (grads_hat - grads_hat.mean())).mean())
    spread = _pooled_variance(grads_hat, sample.judge_all, plain)
    return _LambdaTerms(covariance / n, (1 + n / n_all) * spread / n)


def _pooled_variance(on_gold: FloatArray, judge_all: _Population, shift: float) -> float:
    """var(ddof=1) of ``on_gold`` and ``judge_all - shift`` together (ppi_py concatenates the
    two), by adding the two groups' squared deviations about the common mean."""
    n, n_all = on_gold.size, judge_all.size
    mean_labelled = float(on_gold.mean())
    mean_all = judge_all.mean - shift
    mean = (n * mean_labelled + n_all * mean_all) / (n + n_all)
    squares = (
        float(((on_gold - mean_labelled) ** 2).sum())
        + judge_all.squares
        + n * (mean_labelled - mean) ** 2
        + n_all * (mean_all - mean) ** 2
    )
    return squares / (n + n_all - 1)


def _ppi_py_variance(sample: _Labelled, lam: float) -> float:
    """var(lambda f_all)/N + var(w (Y - lambda f))/n, both ddof=0 (ppi_py)."""
    rectifier = sample.w * (sample.gold - lam * sample.judge_on_gold)
    return float(
        lam**2 * sample.judge_all.variance() / sample.judge_all.size + rectifier.var() / sample.n
    )


def _residuals(values: FloatArray, w: FloatArray, inclusion: FloatArray) -> FloatArray:
    """Deville's residuals of a Hajek mean: w (v - mean_w v), less their (1 - p)-weighted mean
    (0 for a simple random sample); linear in ``values``."""
    spread = w * (values - (w * values).sum() / w.sum())
    left_out = 1 - inclusion
    if left_out.sum() == 0:
        return spread
    return spread - (left_out * spread).sum() / left_out.sum()


def _finite_scale(sample: _Labelled) -> float:
    return sample.n / (sample.n - 1) / sample.n**2


def _finite_variance(sample: _Labelled, inclusion: FloatArray, lam: float) -> float:
    """n/(n-1) sum (1 - p_i) u_i² / n², u the residuals of Y - lambda f: the Hajek-Deville
    approximation for a fixed-size design of high entropy, (1 - n/N) s²/n for a simple random
    sample; an item drawn surely (p = 1) adds nothing, and a census has variance 0."""
    rectifier = sample.gold - lam * sample.judge_on_gold
    residuals = _residuals(rectifier, sample.w, inclusion)
    return float(_finite_scale(sample) * ((1 - inclusion) * residuals**2).sum())


def _finite_lambda_terms(sample: _Labelled, inclusion: FloatArray) -> _LambdaTerms:
    """The minimiser of :func:`_finite_variance` over lambda: its residuals are u(Y) - lambda
    u(f), so a = scale · sum (1 - p) u(Y) u(f) and b = scale · sum (1 - p) u(f)²."""
    left_out = 1 - inclusion
    of_gold = _residuals(sample.gold, sample.w, inclusion)
    of_judge = _residuals(sample.judge_on_gold, sample.w, inclusion)
    scale = _finite_scale(sample)
    return _LambdaTerms(
        scale * float((left_out * of_gold * of_judge).sum()),
        scale * float((left_out * of_judge**2).sum()),
    )


def _too_few_labels(n: int) -> str:
    if n == 0:
        return "no gold labels"
    if n < MIN_LABELS:
        return f"too few gold labels (n={n}; {MIN_LABELS} needed)"
    return ""


def _interval(value: float, variance: float, z: float, n: int) -> Estimate:
    """value ± z·sd, the interval clipped to [0, 1]: a rate outside it is impossible."""
    half = z * float(np.sqrt(variance))
    return Estimate(value, max(0.0, value - half), min(1.0, value + half), n, interval=PPI)


def _undefined_reason(sample: _Labelled) -> str:
    return _too_few_labels(sample.n) or ("no judged items" if sample.judge_all.size == 0 else "")


def _ppi(sample: _Labelled, lam: float | None, z: float) -> PPIEstimate:
    n, n_all = sample.n, sample.judge_all.size
    reason = _undefined_reason(sample)
    if reason:
        return PPIEstimate(Estimate(None, None, None, n, reason, PPI), None, None, n, n_all)
    used = _lambda_terms(sample).best() if lam is None else float(lam)
    value = _point(sample, used)
    if sample.inclusion is None:
        variance = _ppi_py_variance(sample, used)
    else:
        variance = _finite_variance(sample, sample.inclusion, used)
    return PPIEstimate(_interval(value, variance, z, n), used, variance, n, n_all)


def ppi_mean(
    gold: Scores,
    judge_on_gold: Scores,
    judge_all: Scores,
    *,
    weights: Scores | None = None,
    lam: float | None = None,
    alpha: float = 0.05,
    finite_population: bool = False,
) -> PPIEstimate:
    """The rate of Y over all items by PPI++, from gold labels on n items and judge scores.

    ``gold`` and ``judge_on_gold``: Y and f on the n labelled items (same order); ``judge_all``:
    f on all N items. ``weights``: inverse inclusion probabilities of the labelled items.
    ``lam``: None tunes lambda (PPI++); 1 is plain PPI, 0 the classical gold-only mean.
    ``finite_population``: the rate of these N items rather than of the population they come
    from (the module's docstring says how the variance and lambda differ); ``weights`` must then
    be the inverse inclusion probabilities themselves.
    """
    every = _population_of_scores(_as_scores(judge_all, "judge_all"))
    return _ppi_mean(gold, judge_on_gold, every, weights, lam, alpha, finite_population)


def ppi_mean_of_counts(
    gold: Scores,
    judge_on_gold: Scores,
    judge_all: ScoreCounts,
    *,
    weights: Scores | None = None,
    lam: float | None = None,
    alpha: float = 0.05,
    finite_population: bool = False,
) -> PPIEstimate:
    """:func:`ppi_mean` with the judge's scores on all N items given as how many items carry
    each score (``{1.0: 61_000, 0.0: 939_000}``): the same estimate as for a list holding each
    score that many times."""
    every = _population_of_counts(judge_all, "judge_all")
    return _ppi_mean(gold, judge_on_gold, every, weights, lam, alpha, finite_population)


def _ppi_mean(
    gold: Scores,
    judge_on_gold: Scores,
    every: _Population,
    weights: Scores | None,
    lam: float | None,
    alpha: float,
    finite_population: bool,
) -> PPIEstimate:
    gold_array, on_gold = _as_labelled_scores(gold, judge_on_gold)
    _check_lam(lam)
    z = _z(alpha)
    return _ppi(_labelled(gold_array, on_gold, every, weights, finite_population), lam, z)


def _as_labelled_scores(gold: Scores, judge_on_gold: Scores) -> tuple[FloatArray, FloatArray]:
    gold_array = _as_scores(gold, "gold")
    on_gold = _as_scores(judge_on_gold, "judge_on_gold")
    if on_gold.size != gold_array.size:
        raise ValueError(
            f"judge_on_gold: expected {gold_array.size} scores, one per gold label, "
            f"got {on_gold.size}"
        )
    return gold_array, on_gold


# --- stratified PPI ---------------------------------------------------------------------------


def _as_strata(values: Strata, n: int, name: str) -> NDArray[Any]:
    array = np.asarray(values, dtype=object)
    if array.shape != (n,):
        raise ValueError(f"{name}: expected {n} strata, one per item, got shape {array.shape}")
    return array


def _sorted_strata(found: Iterable[Hashable]) -> list[Hashable]:
    distinct = set(found)
    try:
        return sorted(distinct)  # type: ignore[type-var]
    except TypeError:  # strata of mixed types: any fixed order will do
        return sorted(distinct, key=repr)


def stratified_ppi_mean(
    gold: Scores,
    judge_on_gold: Scores,
    strata_on_gold: Strata,
    judge_all: Scores,
    strata_all: Strata,
    *,
    weights: Scores | None = None,
    lam: float | None = None,
    alpha: float = 0.05,
    finite_population: bool = False,
    pooled_lambda: bool = False,
) -> StratifiedPPIEstimate:
    """The rate of Y over all items by stratified PPI: PPI++ within each stratum, weighted by its
    share N_h/N of ``judge_all``.

    ``strata_on_gold`` / ``strata_all``: the stratum of each labelled / each item. Every stratum of
    all items needs at least :data:`MIN_LABELS` gold labels; otherwise that stratum, and so the
    total, is undefined with a reason naming it. ``weights`` and ``lam`` apply within each stratum
    as in :func:`ppi_mean` (``lam=None``: one tuned lambda per stratum), and so does
    ``finite_population`` (an unweighted stratum is then a simple random sample of it).
    ``pooled_lambda``: with ``lam=None``, one lambda for every stratum, the one that minimises the
    total variance (the combined estimator; the module's docstring says why it covers better when
    strata have few labels).
    """
    every = _as_scores(judge_all, "judge_all")
    all_strata = _as_strata(strata_all, every.size, "strata_all")
    populations = {
        stratum: _population_of_scores(every[all_strata == stratum])
        for stratum in _sorted_strata(all_strata.tolist())
    }
    return _stratified_ppi_mean(
        gold,
        judge_on_gold,
        strata_on_gold,
        populations,
        "strata_all",
        weights=weights,
        lam=lam,
        alpha=alpha,
        finite_population=finite_population,
        pooled_lambda=pooled_lambda,
    )


def stratified_ppi_mean_of_counts(
    gold: Scores,
    judge_on_gold: Scores,
    strata_on_gold: Strata,
    judge_all: StratumScoreCounts,
    *,
    weights: Scores | None = None,
    lam: float | None = None,
    alpha: float = 0.05,
    finite_population: bool = False,
    pooled_lambda: bool = False,
) -> StratifiedPPIEstimate:
    """:func:`stratified_ppi_mean` with the judge's scores on all N items given as how many items
    of each stratum carry each score, ``{(stratum, score): count}``: the same estimate as for the
    lists holding each (stratum, score) that many times. A stratum no item is counted in is not
    a stratum."""
    by_stratum: dict[Hashable, dict[float, int]] = {}
    for key, count in judge_all.items():
        if not isinstance(key, tuple) or len(key) != 2:
            raise ValueError(f"judge_all: expected (stratum, score) keys, got {key!r}")
        stratum, score = key
        by_stratum.setdefault(stratum, {})[score] = count
    found = {
        stratum: _population_of_counts(counts, "judge_all")
        for stratum, counts in by_stratum.items()
    }
    populations = {
        stratum: found[stratum] for stratum in _sorted_strata(found) if found[stratum].size
    }
    return _stratified_ppi_mean(
        gold,
        judge_on_gold,
        strata_on_gold,
        populations,
        "judge_all",
        weights=weights,
        lam=lam,
        alpha=alpha,
        finite_population=finite_population,
        pooled_lambda=pooled_lambda,
    )


def _stratified_ppi_mean(
    gold: Scores,
    judge_on_gold: Scores,
    strata_on_gold: Strata,
    populations: dict[Hashable, _Population],
    populations_name: str,
    *,
    weights: Scores | None,
    lam: float | None,
    alpha: float,
    finite_population: bool,
    pooled_lambda: bool,
) -> StratifiedPPIEstimate:
    """Stratified PPI over ``populations``: the judge's scores on each stratum's items, strata in
    sorted order."""
    gold_array, on_gold = _as_labelled_scores(gold, judge_on_gold)
    n = gold_array.size
    n_all = sum(population.size for population in populations.values())
    labelled_strata = _as_strata(strata_on_gold, n, "strata_on_gold")
    unknown = set(labelled_strata.tolist()) - set(populations)
    if unknown:
        raise ValueError(
            f"strata_on_gold: strata {sorted(map(str, unknown))} are not in {populations_name}"
        )
    weight = None if weights is None else np.asarray(weights, dtype=np.float64)
    if weight is not None and weight.shape != (n,):
        raise ValueError(f"weights: expected {n} values, one per labelled item, got {weight.shape}")
    _check_lam(lam)
    z = _z(alpha)
    if n_all == 0:
        undefined = Estimate(None, None, None, n, "no judged items", PPI)
        return StratifiedPPIEstimate(undefined, None, n, n_all, ())
    samples = []
    for stratum, population in populations.items():
        labelled = labelled_strata == stratum
        sample = _labelled(
            gold_array[labelled],
            on_gold[labelled],
            population,
            None if weight is None else weight[labelled],
            finite_population,
        )
        samples.append((stratum, population.size / n_all, sample))
    if lam is None and pooled_lambda:
        lam = _pooled_lambda(samples)
    parts = tuple(
        StratumPart(stratum, share, _ppi(sample, lam, z)) for stratum, share, sample in samples
    )
    return _combine(parts, n, n_all, z)


def _pooled_lambda(samples: Sequence[tuple[Hashable, float, _Labelled]]) -> float | None:
    """The lambda that minimises sum W_h² var_h(lambda); None (each stratum's own, or undefined)
    where a stratum has too few labels, which leaves the total undefined anyway."""
    if any(_undefined_reason(sample) for _, _, sample in samples):
        return None
    terms = [(share**2, _lambda_terms(sample)) for _, share, sample in samples]
    return _LambdaTerms(
        sum(weight * part.a for weight, part in terms),
        sum(weight * part.b for weight, part in terms),
    ).best()


def _combine(parts: tuple[StratumPart, ...], n: int, n_all: int, z: float) -> StratifiedPPIEstimate:
    for part in parts:
        if part.part.estimate.value is None:
            reason = f"stratum {part.stratum!r}: {part.part.estimate.reason}"
            undefined = Estimate(None, None, None, n, reason, PPI)
            return StratifiedPPIEstimate(undefined, None, n, n_all, parts)
    value = sum(part.share * float(part.part.estimate.value or 0.0) for part in parts)
    variance = sum(part.share**2 * float(part.part.variance or 0.0) for part in parts)
    return StratifiedPPIEstimate(_interval(value, variance, z, n), variance, n, n_all, parts)
