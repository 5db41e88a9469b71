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
  lambda_h only, so tuning each stratum alone minimises the total.

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
with n much smaller than N the overlap's covariance is negligible.

Scores and gold labels are numbers in [0, 1] (1 = complied). The value is not clipped (PPI can
leave [0, 1] on small samples) but its interval is, as in metrics.py. Fewer than
:data:`MIN_LABELS` gold labels (overall or in a stratum) gives an :class:`Estimate` whose value is
None and whose ``reason`` says why; malformed input raises ValueError.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from analysis.metrics import PPI, Estimate

FloatArray = NDArray[np.float64]
Scores = Sequence[float] | NDArray[Any]
Strata = Sequence[Hashable] | NDArray[Any]

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


def _point(
    gold: FloatArray, judge_on_gold: FloatArray, judge_all: FloatArray, w: FloatArray, lam: float
) -> float:
    return float((lam * judge_all).mean() + (w * (gold - lam * judge_on_gold)).mean())


def _tuned_lambda(
    gold: FloatArray, judge_on_gold: FloatArray, judge_all: FloatArray, w: FloatArray
) -> float:
    """ppi_py's _calc_lam_glm for a mean (identity Hessian), clipped to [0, 1]; 0 where the
    judge's scores do not vary (ppi_py: NaN)."""
    n, n_all = gold.size, judge_all.size
    plain = _point(gold, judge_on_gold, judge_all, w, 1.0)
    grads = w * (gold - plain)
    grads_hat = w * (judge_on_gold - plain)
    covariance = float(((grads - grads.mean()) * (grads_hat - grads_hat.mean())).mean())
    pooled = np.concatenate([grads_hat, judge_all - plain])
    spread = float(pooled.var(ddof=1))
    if spread == 0:
        return 0.0
    return float(np.clip(covariance / ((1 + n / n_all) * spread), 0.0, 1.0))


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


def _ppi(
    gold: FloatArray,
    judge_on_gold: FloatArray,
    judge_all: FloatArray,
    weights: Scores | None,
    lam: float | None,
    z: float,
) -> PPIEstimate:
    n, n_all = gold.size, judge_all.size
    reason = _too_few_labels(n) or ("no judged items" if n_all == 0 else "")
    w = _as_weights(weights, n)
    if reason:
        return PPIEstimate(Estimate(None, None, None, n, reason, PPI), None, None, n, n_all)
    used = _tuned_lambda(gold, judge_on_gold, judge_all, w) if lam is None else float(lam)
    value = _point(gold, judge_on_gold, judge_all, w, used)
    variance = float(
        (used * judge_all).var() / n_all + (w * (gold - used * judge_on_gold)).var() / n
    )
    return PPIEstimate(_interval(value, variance, z, n), used, variance, n, n_all)


def ppi_mean(
    gold: Scores,
    judge_on_gold: Scores,
    judge_all: Scores,
    *,
    weights: Scores | None = None,
    lam: float | None = None,
    alpha: float = 0.05,
) -> PPIEstimate:
    """The rate of Y over all items by PPI++, from gold labels on n items and judge scores.

    ``gold`` and ``judge_on_gold``: Y and f on the n labelled items (same order); ``judge_all``:
    f on all N items. ``weights``: inverse inclusion probabilities of the labelled items.
    ``lam``: None tunes lambda (PPI++); 1 is plain PPI, 0 the classical gold-only mean.
    """
    gold_array = _as_scores(gold, "gold")
    on_gold = _as_scores(judge_on_gold, "judge_on_gold")
    if on_gold.size != gold_array.size:
        raise ValueError(
            f"judge_on_gold: expected {gold_array.size} scores, one per gold label, "
            f"got {on_gold.size}"
        )
    _check_lam(lam)
    z = _z(alpha)
    return _ppi(gold_array, on_gold, _as_scores(judge_all, "judge_all"), weights, lam, z)


# --- stratified PPI ---------------------------------------------------------------------------


def _as_strata(values: Strata, n: int, name: str) -> NDArray[Any]:
    array = np.asarray(values, dtype=object)
    if array.shape != (n,):
        raise ValueError(f"{name}: expected {n} strata, one per item, got shape {array.shape}")
    return array


def _sorted_strata(found: NDArray[Any]) -> list[Hashable]:
    distinct = set(found.tolist())
    try:
        return sorted(distinct)
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
) -> StratifiedPPIEstimate:
    """The rate of Y over all items by stratified PPI: PPI++ within each stratum, weighted by its
    share N_h/N of ``judge_all``.

    ``strata_on_gold`` / ``strata_all``: the stratum of each labelled / each item. Every stratum of
    all items needs at least :data:`MIN_LABELS` gold labels; otherwise that stratum, and so the
    total, is undefined with a reason naming it. ``weights`` and ``lam`` apply within each stratum
    as in :func:`ppi_mean` (``lam=None``: one tuned lambda per stratum).
    """
    gold_array = _as_scores(gold, "gold")
    on_gold = _as_scores(judge_on_gold, "judge_on_gold")
    every = _as_scores(judge_all, "judge_all")
    n, n_all = gold_array.size, every.size
    if on_gold.size != n:
        raise ValueError(
            f"judge_on_gold: expected {n} scores, one per gold label, got {on_gold.size}"
        )
    labelled_strata = _as_strata(strata_on_gold, n, "strata_on_gold")
    all_strata = _as_strata(strata_all, n_all, "strata_all")
    unknown = set(labelled_strata.tolist()) - set(all_strata.tolist())
    if unknown:
        raise ValueError(
            f"strata_on_gold: strata {sorted(map(str, unknown))} are not in strata_all"
        )
    weight = None if weights is None else np.asarray(weights, dtype=np.float64)
    if weight is not None and weight.shape != (n,):
        raise ValueError(f"weights: expected {n} values, one per labelled item, got {weight.shape}")
    _check_lam(lam)
    z = _z(alpha)
    if n_all == 0:
        undefined = Estimate(None, None, None, n, "no judged items", PPI)
        return StratifiedPPIEstimate(undefined, None, n, n_all, ())
    parts = []
    for stratum in _sorted_strata(all_strata):
        labelled = labelled_strata == stratum
        members = all_strata == stratum
        part = _ppi(
            gold_array[labelled],
            on_gold[labelled],
            every[members],
            None if weight is None else weight[labelled],
            lam,
            z,
        )
        parts.append(StratumPart(stratum, float(members.sum()) / n_all, part))
    return _combine(tuple(parts), n, n_all, z)


def _combine(parts: tuple[StratumPart, ...], n: int, n_all: int, z: float) -> StratifiedPPIEstimate:
    for part in parts:
        if part.part.estimate.value is None:
            reason = f"stratum {part.stratum!r}: {part.part.estimate.reason}"
            undefined = Estimate(None, None, None, n, reason, PPI)
            return StratifiedPPIEstimate(undefined, None, n, n_all, parts)
    value = sum(part.share * float(part.part.estimate.value or 0.0) for part in parts)
    variance = sum(part.share**2 * float(part.part.variance or 0.0) for part in parts)
    return StratifiedPPIEstimate(_interval(value, variance, z, n), variance, n, n_all, parts)
