"""How far a judge agrees with humans, and humans with each other, with 95% confidence intervals.

Plain Python and NumPy (SciPy for three distributions), no Django: the figures are checked against
reference implementations (scikit-learn, statsmodels, krippendorff) in
tests/analysis/test_metrics.py, against irrCAC (Gwet's AC1, Brennan-Prediger) in
tests/analysis/test_metrics_chance_corrected.py, and timed alone by bench/metrics_speed.py.

Kappa collapses when one class holds nearly every item, even where the raters almost always agree
(the "prevalence paradox"), so both reports also give Gwet's AC1 and PABAK / Brennan-Prediger,
whose chance agreement does not grow with the skew, and the share of the most common class
(:data:`SKEWED_SHARE`). Both count K, the number of categories a rater could choose, from the
``categories`` argument (the scheme's values) together with every label found in the data.

Labels are the canonical strings of :mod:`judging.judges_text` — ``complied``, ``not_complied``,
``neither``, and the judge failures ``unparseable`` and ``error`` — or, for other annotation
schemes, any strings. No label is ever dropped: a judge failure is its own row and column of a
confusion matrix, and it counts as a wrong answer.

Intervals are 95% percentile bootstraps that resample items, with a fixed seed, so a report is the
same every time it is computed. They are fast whatever the number of items: a statistic of a
confusion matrix depends only on the KxK cell counts, and drawing n items with replacement gives
cell counts distributed exactly Multinomial(n, observed cell shares). So each resample draws K²
counts instead of n items. Per-item statistics (Krippendorff's alpha, Fleiss' kappa) use the same
idea over rating *patterns*: items whose raters gave the same multiset of labels contribute the
same, and there are few distinct patterns. With sampling weights, the cells are split by weight
value (one per sampling stratum) and weighted afterwards.

Fewer than :data:`MIN_ITEMS` items, or a statistic that the data leave undefined, give an
:class:`Estimate` whose value is None and whose ``reason`` says why, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import binomtest, chi2, norm

from judging.judges_text import COMPLIED, ERROR, NEITHER, NOT_COMPLIED, UNPARSEABLE

MIN_ITEMS = 10  # fewer items than this: the figure says "too few items (n=…)" instead of a number
DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
CONFIDENCE = 0.95
# Above this share of one class among the (human or annotator) labels, kappa is not to be read
# alone: chance agreement is near 1 and kappa swings with a handful of items.
SKEWED_SHARE = 0.85

# The order of rows and columns in every table, so that tables of different judges line up.
CANONICAL_LABELS = (COMPLIED, NOT_COMPLIED, NEITHER, UNPARSEABLE, ERROR)
FAILURES = (UNPARSEABLE, ERROR)

# Above this many (cell, weight) groups the multinomial shortcut stops paying, and weighted
# resamples draw item indices instead (weights with many distinct values, not one per stratum).
_MAX_GROUPS = 4096
# Item indices drawn at once by that fallback: 2M int64 (16 MB) per array keeps it under ~100 MB.
_INDEX_CHUNK = 2_000_000

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
StrArray = NDArray[np.str_]
Labels = Sequence[str] | NDArray[Any]
Weights = Sequence[float] | NDArray[Any]

# None as a NumPy scalar, so that np.equal compares an object array with it element by element.
_NONE = np.array(None, dtype=object)


# --- results ----------------------------------------------------------------------------------

# How an interval was computed, and how a page names it. Every interval is a bootstrap one
# unless it says otherwise; the others are named wherever they are shown.
BOOTSTRAP = "bootstrap"
PPI = "ppi"
NORMAL = "normal"
INTERVAL_LABELS = {
    BOOTSTRAP: "95% bootstrap CI",
    PPI: "PPI 95% CI",
    NORMAL: "95% normal-approximation CI",
}


@dataclass(frozen=True)
class Estimate:
    """A figure with its 95% interval; value None when undefined or too few items (see reason).
    ``interval`` says how the interval was computed (a key of INTERVAL_LABELS)."""

    value: float | None
    low: float | None
    high: float | None
    n: int
    reason: str = ""
    interval: str = BOOTSTRAP

    @property
    def interval_label(self) -> str:
        return INTERVAL_LABELS[self.interval]

    def __str__(self) -> str:
        if self.value is None:
            return self.reason
        if self.low is None or self.high is None:
            return f"{self.value:.2f} n={self.n}"
        return f"{self.value:.2f} [{self.low:.2f}, {self.high:.2f}] n={self.n}"


def is_skewed(prevalence: Estimate) -> bool:
    """Whether the most common class holds more than SKEWED_SHARE of the labels."""
    return prevalence.value is not None and prevalence.value > SKEWED_SHARE


@dataclass(frozen=True, eq=False)
class Confusion:
    """Rows are the human labels, columns the judge's, both in ``labels`` order.

    ``counts`` are items; ``weighted_counts`` (only with weights) the weight totals that the
    statistics were computed from.
    """

    labels: list[str]
    counts: IntArray
    weighted_counts: FloatArray | None = None

    def count(self, human: str, judge: str) -> int:
        if human not in self.labels or judge not in self.labels:
            return 0
        return int(self.counts[self.labels.index(human), self.labels.index(judge)])


@dataclass(frozen=True)
class RateReport:
    """A compliance rate; ``failed`` (unparseable + error) are outside the denominator."""

    rate: Estimate
    judged: int
    complied: int
    not_complied: int
    neither: int
    failed: int


@dataclass(frozen=True)
class AgreementReport:
    """A judge against human labels. ``unparseable_rate``: share of items the judge gave no
    class (unparseable or error), weighted like the rest.

    ``gwet_ac1`` and ``pabak`` count agreement beyond chance over the K ``categories`` (the
    scheme's values and every label found, judge failures included), where the confusion table
    shows only the labels found. ``prevalence_index`` (a - d)/n and ``bias_index`` (b - c)/n
    (Byrt, Bishop & Carlin 1993) read the 2x2 table of ``positive`` against the rest: a both
    positive, d neither, b the humans only, c the judge only. ``prevalence`` is the share of the
    most common human label, ``prevalent_label``; ``skewed`` when it exceeds SKEWED_SHARE.
    """

    n: int
    accuracy: Estimate
    kappa: Estimate
    precision: Estimate
    recall: Estimate
    f1: Estimate
    unparseable_rate: Estimate
    gwet_ac1: Estimate
    pabak: Estimate
    prevalence_index: Estimate
    bias_index: Estimate
    prevalence: Estimate
    confusion: Confusion
    weighted: bool
    positive: str = NOT_COMPLIED
    prevalent_label: str | None = None
    categories: tuple[str, ...] = ()

    @property
    def skewed(self) -> bool:
        return is_skewed(self.prevalence)


@dataclass(frozen=True)
class InterAnnotatorReport:
    """Agreement among annotators.

    ``n_items``: items with two labels or more (the others cannot show agreement; there were
    ``n_single`` of them). Fleiss' kappa needs the same number of raters on every item: it uses
    the items with exactly ``fleiss_raters`` labels, the most common count (``fleiss_kappa.n`` of
    them). ``pairwise_kappa``: Cohen's kappa per pair of annotators on the items both labelled;
    pairs with no item in common are left out.

    ``gwet_ac1`` and ``brennan_prediger`` are computed as irrCAC computes them, over the K
    ``categories`` (the scheme's values and every label found; ``labels`` holds only the labels
    found). Observed agreement is the mean over the items with two labels or more; AC1's chance
    term also reads the items with one label (its ``n`` counts every item with a label): each
    item's share of labels per class, averaged over those items. ``prevalence`` is the share of the
    most common label, ``prevalent_label``, among all labels given; ``skewed`` when it exceeds
    SKEWED_SHARE.
    """

    n_items: int
    alpha: Estimate
    fleiss_kappa: Estimate
    raw_agreement: Estimate
    pairwise_kappa: dict[tuple[str, str], Estimate]
    gwet_ac1: Estimate
    brennan_prediger: Estimate
    prevalence: Estimate
    fleiss_raters: int | None = None
    n_single: int = 0
    labels: tuple[str, ...] = ()
    prevalent_label: str | None = None
    categories: tuple[str, ...] = ()

    @property
    def skewed(self) -> bool:
        return is_skewed(self.prevalence)


@dataclass(frozen=True)
class PPIReport:
    """Compliance rate corrected with a gold-labelled sample (prediction-powered inference)."""

    corrected: Estimate
    judge_only: Estimate
    classical: Estimate
    n_labelled: int
    n_all: int
    failed_all: int = 0
    failed_labelled: int = 0
    weighted: bool = False


@dataclass(frozen=True)
class JudgeComparison:
    """Judge A against judge B on the same gold-labelled items.

    ``b``: items A got right and B wrong; ``c``: the reverse. ``p_value``: McNemar's exact test;
    ``chi2``/``chi2_p_value``: the chi-square version with continuity correction. ``better`` is
    the judge with more right answers when the exact test gives p < 0.05, else None.
    """

    b: int
    c: int
    p_value: float
    kappa_difference: Estimate  # kappa(B) - kappa(A), paired bootstrap
    better: str | None
    chi2: float = 0.0
    chi2_p_value: float = 1.0
    kappa_a: Estimate | None = None
    kappa_b: Estimate | None = None
    n: int = 0


@dataclass(frozen=True)
class Calibration:
    """Threshold for a label-scoring judge: ``score >= threshold`` means the positive class.

    ``kappa_at_threshold`` is in-sample (optimistic); ``cv_kappa`` is the mean over the held-out
    folds (no interval: fold values are not independent), each fold in ``fold_kappas``.
    """

    threshold: float | None
    kappa_at_threshold: float | None
    cv_kappa: Estimate
    n: int
    fold_kappas: list[float | None]
    reason: str = ""


# --- input ------------------------------------------------------------------------------------


def _as_labels(labels: Labels, name: str) -> StrArray:
    """Labels as a NumPy string array; a missing label is an error, not something to skip."""
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected one label per item")
    if array.size == 0:
        return np.array([], dtype=str)
    if array.dtype.kind == "O":
        if np.equal(array, _NONE).any():
            raise ValueError(
                f"{name}: a label is None; give a judge failure as '{ERROR}' or leave the item out"
            )
        return array.astype(str)
    if array.dtype.kind != "U":
        raise ValueError(f"{name}: labels must be strings, not {array.dtype}")
    return array


def _as_weights(weights: Weights | None, n: int) -> FloatArray | None:
    if weights is None:
        return None
    array = np.asarray(weights, dtype=np.float64)
    if array.shape != (n,):
        raise ValueError(f"weights: expected {n} values, one per item, got shape {array.shape}")
    if not np.isfinite(array).all() or (array < 0).any():
        raise ValueError("weights must be finite and not negative")
    if n and array.sum() == 0:
        raise ValueError("weights are all zero")
    return array


def _same_length(**arrays: NDArray[Any]) -> None:
    sizes = {name: array.size for name, array in arrays.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"one label per item in each, got {sizes}")


def _label_codes(array: StrArray) -> tuple[list[str], IntArray]:
    """The labels found, canonical ones first in their fixed order and any others sorted
    after them, and each item's index into that list.

    Canonical labels are matched by direct comparison, which is several times faster than the
    sort np.unique does on strings; only other labels (other schemes) go through np.unique.
    """
    codes = np.full(array.size, -1, dtype=np.int64)
    labels: list[str] = []
    for label in CANONICAL_LABELS:  # a loop over five labels, not over items
        found = array == label
        if found.any():
            codes[found] = len(labels)
            labels.append(label)
    rest = codes < 0
    if rest.any():
        others, inverse = np.unique(array[rest], return_inverse=True)
        codes[rest] = len(labels) + inverse.reshape(-1)
        labels += others.tolist()
    return labels, codes


def _encode(*arrays: StrArray) -> tuple[list[str], list[IntArray]]:
    """Integer codes for the labels of several arrays, on one shared label list."""
    labels, codes = _label_codes(np.concatenate(arrays))
    return labels, np.split(codes, np.cumsum([array.size for array in arrays])[:-1])


def _all_categories(found: Sequence[str], categories: Sequence[str] | None) -> tuple[str, ...]:
    """The K categories that chance-corrected figures count, in table order: ``categories``
    (the scheme's values, default none) and every label found, so that a judge failure or a value
    the scheme no longer lists still counts rather than vanishing."""
    if categories is None:
        return tuple(found)
    if isinstance(categories, str):
        raise ValueError("categories: expected a list of labels, not one string")
    given = list(categories)
    if not all(isinstance(category, str) for category in given):
        raise ValueError("categories: every category must be a string")
    every, _ = _label_codes(np.array(sorted(set(found) | set(given)), dtype=str))
    return tuple(every)


# --- estimates and the bootstrap --------------------------------------------------------------


def _too_few(n: int) -> str:
    """Why no figure is given for n items, or "" when there are enough."""
    if n == 0:
        return "no items"
    if n < MIN_ITEMS:
        return f"too few items (n={n}; {MIN_ITEMS} needed)"
    return ""


def _undefined(n: int, reason: str) -> Estimate:
    return Estimate(None, None, None, n, reason)


def _estimate(value: float, resampled: FloatArray, n: int, reason: str = "") -> Estimate:
    """The value with the percentile interval of its resamples, or the reason it is undefined.

    Resamples where the statistic is undefined (NaN: say, a resample that happened to hold one
    class only) are left out of the interval; they only occur when few items carry a class.
    """
    if not np.isfinite(value):
        return _undefined(n, reason or "undefined")
    finite = resampled[np.isfinite(resampled)]
    if finite.size == 0:
        return Estimate(float(value), None, None, n)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Estimate(float(value), float(low), float(high), n)


def _resampled_totals(
    cells: IntArray,
    n_cells: int,
    weights: FloatArray | None,
    resamples: int,
    rng: np.random.Generator,
) -> FloatArray:
    """Per-cell totals (resamples x n_cells) of ``cells.size`` items drawn with replacement.

    Drawing n items with replacement and counting them per cell is exactly a multinomial draw
    over the cells with the observed shares, so we draw the counts directly: the cost depends on
    the number of cells, not of items. With weights each cell is split by weight value (sampling
    weights take one value per stratum), the groups are drawn the same way, and each group's
    count is multiplied by its weight.
    """
    n = cells.size
    if weights is None:
        return _multinomial_totals(np.bincount(cells, minlength=n_cells), resamples, rng)
    values, weight_index = np.unique(weights, return_inverse=True)
    groups = cells * values.size + weight_index.reshape(-1)
    group_counts = np.bincount(groups, minlength=n_cells * values.size)
    used = np.flatnonzero(group_counts)
    if used.size > _MAX_GROUPS:
        return _resampled_totals_by_index(cells, n_cells, weights, resamples, rng)
    draws = rng.multinomial(n, group_counts[used] / n, size=resamples)
    # Group -> cell, scaled by the group's weight: one matrix product adds up each resample.
    spread = np.zeros((used.size, n_cells))
    spread[np.arange(used.size), used // values.size] = values[used % values.size]
    return np.asarray(draws @ spread, dtype=np.float64)


def _multinomial_totals(counts: IntArray, resamples: int, rng: np.random.Generator) -> FloatArray:
    """Per-cell totals of ``counts.sum()`` unweighted items drawn with replacement."""
    n = int(counts.sum())
    return rng.multinomial(n, counts / n, size=resamples).astype(np.float64)


def _resampled_totals_by_index(
    cells: IntArray,
    n_cells: int,
    weights: FloatArray,
    resamples: int,
    rng: np.random.Generator,
) -> FloatArray:
    """The plain item bootstrap, for weights with too many distinct values to group.

    The loop runs over chunks of resamples (a few for 100,000 items), never over items.
    """
    n = cells.size
    totals = np.empty((resamples, n_cells))
    chunk = max(1, _INDEX_CHUNK // n)
    for start in range(0, resamples, chunk):
        rows = min(chunk, resamples - start)
        picked = rng.integers(0, n, size=(rows, n))
        flat = (np.arange(rows)[:, None] * n_cells + cells[picked]).ravel()
        summed = np.bincount(flat, weights=weights[picked].ravel(), minlength=rows * n_cells)
        totals[start : start + rows] = summed.reshape(rows, n_cells)
    return totals


# --- statistics of confusion tables (vectorised over a leading resample axis) -----------------


def _kappa(tables: FloatArray) -> FloatArray:
    """Cohen's kappa of each KxK table in ``tables`` (…, K, K); NaN where chance agreement is 1."""
    total = tables.sum(axis=(-2, -1))
    rows = tables.sum(axis=-1)
    cols = tables.sum(axis=-2)
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = np.trace(tables, axis1=-2, axis2=-1) / total
        chance = (rows * cols).sum(axis=-1) / total**2
        kappa = (observed - chance) / (1 - chance)
    # Chance agreement 1 means both raters put every item in the same single class: 0/0.
    return np.asarray(np.where(chance >= 1 - 1e-12, np.nan, kappa), dtype=np.float64)


def _table_statistics(
    tables: FloatArray, positive: int | None, failures: list[int]
) -> dict[str, FloatArray]:
    """Accuracy, kappa, precision/recall/F1 of the positive class and the judge-failure share."""
    total = tables.sum(axis=(-2, -1))
    if positive is None:
        hit = predicted = actual = np.zeros_like(total)
    else:
        hit = tables[..., positive, positive]
        predicted = tables[..., :, positive].sum(axis=-1)
        actual = tables[..., positive, :].sum(axis=-1)
    failed = tables[..., :, failures].sum(axis=(-2, -1)) if failures else np.zeros_like(total)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            # A judge failure sits off the diagonal (no human label is "unparseable"), so accuracy
            # and kappa count it as a disagreement: the judge gave no right answer for that item.
            "accuracy": np.trace(tables, axis1=-2, axis2=-1) / total,
            "kappa": _kappa(tables),
            "precision": hit / predicted,
            "recall": hit / actual,
            "f1": 2 * hit / (predicted + actual),
            "unparseable_rate": failed / total,
        }


def _ac1(observed: FloatArray, shares: FloatArray, n_categories: int) -> FloatArray:
    """Gwet's AC1 (pa - pe)/(1 - pe) with pe = sum_k pi_k (1 - pi_k) / (K - 1).

    ``shares`` (…, classes found) are the pi_k; a category nobody used has pi_k = 0 and adds
    nothing to the sum, but it does count in K. NaN with fewer than two categories (pe is 1).
    """
    if n_categories < 2:
        return np.full_like(observed, np.nan)
    chance = (shares * (1 - shares)).sum(axis=-1) / (n_categories - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ac1 = (observed - chance) / (1 - chance)
    return np.asarray(np.where(chance >= 1 - 1e-12, np.nan, ac1), dtype=np.float64)


def _brennan_prediger(observed: FloatArray, n_categories: int) -> FloatArray:
    """(K·pa - 1)/(K - 1): chance agreement 1/K, as if every category were equally likely
    (PABAK for two raters). NaN with fewer than two categories."""
    if n_categories < 2:
        return np.full_like(observed, np.nan)
    return np.asarray((n_categories * observed - 1) / (n_categories - 1), dtype=np.float64)


def _chance_corrected_statistics(
    tables: FloatArray, n_categories: int, positive: int | None, prevalent: int
) -> dict[str, FloatArray]:
    """Gwet's AC1, PABAK, the prevalence and bias indices of the positive class (None: a class
    nobody used) and the share of the human label ``prevalent``, of each table (…, K, K)."""
    total = tables.sum(axis=(-2, -1))
    rows = tables.sum(axis=-1)
    cols = tables.sum(axis=-2)
    zero = np.zeros_like(total)
    both = zero if positive is None else tables[..., positive, positive]
    human_only = zero if positive is None else rows[..., positive] - both
    judge_only = zero if positive is None else cols[..., positive] - both
    neither = total - both - human_only - judge_only
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = np.trace(tables, axis1=-2, axis2=-1) / total
        # Two raters: pi_k is the share of all 2n labels that are k.
        shares = (rows + cols) / (2 * total[..., None])
        return {
            "gwet_ac1": _ac1(observed, shares, n_categories),
            "pabak": _brennan_prediger(observed, n_categories),
            "prevalence_index": (both - neither) / total,
            "bias_index": (human_only - judge_only) / total,
            "prevalence": rows[..., prevalent] / total,
        }


def _one_category_reason(statistic: str, categories: Sequence[str]) -> str:
    only = f" ('{categories[0]}')" if categories else ""
    return (
        f"{statistic} undefined: there is only one category{only}, so agreement cannot be "
        "told apart from chance"
    )


def _single_class_reason(statistic: str, table: FloatArray, labels: Sequence[str]) -> str:
    only = labels[int(np.argmax(table.sum(axis=1)))]
    return f"{statistic} undefined: every label is '{only}' (chance agreement is 1)"


def _agreement_reasons(
    table: FloatArray, labels: list[str], positive: str, categories: Sequence[str]
) -> dict[str, str]:
    """One sentence for each statistic in case the data leave it undefined."""
    not_a_category = f"'{positive}' is not one of the categories {list(categories)}"
    return {
        "accuracy": "no items",
        "kappa": _single_class_reason("kappa", table, labels),
        "precision": f"precision undefined: the judge never said '{positive}'",
        "recall": f"recall undefined: no human label is '{positive}'",
        "f1": f"F1 undefined: neither the humans nor the judge said '{positive}'",
        "unparseable_rate": "no items",
        "gwet_ac1": _one_category_reason("AC1", categories),
        "pabak": _one_category_reason("PABAK", categories),
        "prevalence_index": f"prevalence index undefined: {not_a_category}",
        "bias_index": f"bias index undefined: {not_a_category}",
        "prevalence": "no items",
    }


# --- compliance rate --------------------------------------------------------------------------

# Cells of the compliance bootstrap: the three classes, then both kinds of failure together.
_RATE_CELLS = {COMPLIED: 0, NOT_COMPLIED: 1, NEITHER: 2, UNPARSEABLE: 3, ERROR: 3}


def compliance_rate(
    labels: Labels,
    *,
    weights: Weights | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    higher_is_compliance: bool = True,
) -> RateReport:
    """Share of judged items labelled ``complied`` (``not_complied`` if not higher_is_compliance).

    "neither" stays in the denominator, as in the CoCoNot paper; unparseable and error are not
    judgements, so they are left out of the denominator but counted in ``failed``. A label outside
    the canonical five raises ValueError rather than vanishing from the count.
    """
    array = _as_labels(labels, "labels")
    weight = _as_weights(weights, array.size)
    found, codes = _label_codes(array)
    unknown = [label for label in found if label not in _RATE_CELLS]
    if unknown:
        raise ValueError(f"labels outside {list(_RATE_CELLS)}: {unknown}")
    cells = np.array([_RATE_CELLS[label] for label in found], dtype=np.int64)[codes]
    counts = np.bincount(cells, minlength=4)
    totals = (counts if weight is None else np.bincount(cells, weight, 4)).astype(np.float64)
    return _rate_report(
        counts,
        totals,
        lambda rng: _resampled_totals(cells, 4, weight, resamples, rng),
        seed=seed,
        higher_is_compliance=higher_is_compliance,
    )


def compliance_rate_of_counts(
    counts: Mapping[str, int],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    higher_is_compliance: bool = True,
) -> RateReport:
    """``compliance_rate`` of unweighted labels given as how many items carry each: the same
    report, interval included (the bootstrap draws cell counts, never items), as for a list
    holding each label that many times, at a cost that does not grow with the items. The run
    report counts a million verdicts in the database this way."""
    unknown = sorted(label for label, n in counts.items() if n and label not in _RATE_CELLS)
    if unknown:
        raise ValueError(f"labels outside {list(_RATE_CELLS)}: {unknown}")
    cells = np.zeros(4, dtype=np.int64)
    for label, n in counts.items():
        if n < 0:
            raise ValueError(f"a count of {n} for {label!r}: counts cannot be negative")
        if n:
            cells[_RATE_CELLS[label]] += n
    return _rate_report(
        cells,
        cells.astype(np.float64),
        lambda rng: _multinomial_totals(cells, resamples, rng),
        seed=seed,
        higher_is_compliance=higher_is_compliance,
    )


def _rate_report(
    counts: IntArray,
    totals: FloatArray,
    resample: Callable[[np.random.Generator], FloatArray],
    *,
    seed: int,
    higher_is_compliance: bool,
) -> RateReport:
    """The rate from per-cell counts (complied, not complied, neither, failed), their totals
    (weighted or not) and the bootstrap's per-cell totals."""
    judged = int(counts[:3].sum())
    target = 0 if higher_is_compliance else 1
    report = {
        "judged": judged,
        "complied": int(counts[0]),
        "not_complied": int(counts[1]),
        "neither": int(counts[2]),
        "failed": int(counts[3]),
    }
    reason = _too_few(judged)
    if reason:
        return RateReport(rate=_undefined(judged, reason), **report)
    if totals[:3].sum() == 0:
        return RateReport(rate=_undefined(judged, "every judged item has weight 0"), **report)
    rng = np.random.default_rng(seed)
    # All items are resampled, failures included: how many fail is part of the sampling noise.
    boot = resample(rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        resampled = boot[:, target] / boot[:, :3].sum(axis=1)
    value = float(totals[target] / totals[:3].sum())
    return RateReport(rate=_estimate(value, resampled, judged), **report)


# --- a judge against humans -------------------------------------------------------------------


def agreement(
    human: Labels,
    judge: Labels,
    *,
    weights: Weights | None = None,
    positive: str = NOT_COMPLIED,
    categories: Sequence[str] | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> AgreementReport:
    """Accuracy, Cohen's kappa and precision/recall/F1 of ``positive`` of a judge against humans,
    Gwet's AC1, PABAK, the prevalence and bias indices and the most common human label's share.

    ``human`` holds the gold labels, ``judge`` the judge's label for the same items, judge
    failures included. ``weights`` (inverse inclusion probabilities of the labelled sample) make
    every figure estimate the population the sample was drawn from. ``categories``: every value
    the scheme allows (default: the labels found); AC1 and PABAK depend on how many there are.
    """
    human_labels = _as_labels(human, "human")
    judge_labels = _as_labels(judge, "judge")
    _same_length(human=human_labels, judge=judge_labels)
    n = human_labels.size
    weight = _as_weights(weights, n)
    labels, (human_codes, judge_codes) = _encode(human_labels, judge_labels)
    k = len(labels)
    cells = human_codes * k + judge_codes
    counts = np.bincount(cells, minlength=k * k).reshape(k, k)
    table = (counts if weight is None else np.bincount(cells, weight, k * k)).astype(np.float64)
    table = table.reshape(k, k)
    # The table keeps to the labels found: a category nobody used changes K, not the cells.
    confusion = Confusion(labels, counts, None if weight is None else table)
    every_category = _all_categories(labels, categories)
    weighted = weight is not None
    names = (
        *("accuracy", "kappa", "precision", "recall", "f1", "unparseable_rate"),
        *("gwet_ac1", "pabak", "prevalence_index", "bias_index", "prevalence"),
    )
    reason = _too_few(n)
    if reason:
        undefined = {name: _undefined(n, reason) for name in names}
        return AgreementReport(
            n=n,
            confusion=confusion,
            weighted=weighted,
            positive=positive,
            categories=every_category,
            prevalent_label=None,
            **undefined,
        )
    positive_index = labels.index(positive) if positive in labels else None
    failures = [i for i, label in enumerate(labels) if label in FAILURES]
    prevalent = int(np.argmax(table.sum(axis=1)))
    k_all = len(every_category)
    point = _table_statistics(table[None], positive_index, failures)
    point |= _chance_corrected_statistics(table[None], k_all, positive_index, prevalent)
    if positive not in every_category:  # a 2x2 table of a class the scheme does not have
        point["prevalence_index"] = point["bias_index"] = np.array([np.nan])
    rng = np.random.default_rng(seed)
    boot = _resampled_totals(cells, k * k, weight, resamples, rng).reshape(-1, k, k)
    resampled = _table_statistics(boot, positive_index, failures)
    resampled |= _chance_corrected_statistics(boot, k_all, positive_index, prevalent)
    why = _agreement_reasons(table, labels, positive, every_category)
    estimates = {
        name: _estimate(float(point[name][0]), resampled[name], n, why[name]) for name in names
    }
    return AgreementReport(
        n=n,
        confusion=confusion,
        weighted=weighted,
        positive=positive,
        categories=every_category,
        prevalent_label=labels[prevalent],
        **estimates,
    )


# --- annotators among themselves --------------------------------------------------------------


def _ratings_codes(
    ratings: Sequence[Sequence[str | None]] | NDArray[Any],
) -> tuple[list[str], IntArray]:
    """Items x annotators codes into the label list, -1 where an annotator gave no label."""
    grid = np.asarray(ratings, dtype=object)
    if grid.size == 0:
        return [], np.full((len(ratings), 0), -1, dtype=np.int64)
    if grid.ndim != 2:
        raise ValueError(
            "ratings: expected one row per item and one column per annotator, "
            "None where an annotator did not label the item"
        )
    rated = np.not_equal(grid, _NONE)
    labels, found = _label_codes(grid[rated].astype(str))
    codes = np.full(grid.shape, -1, dtype=np.int64)
    codes[rated] = found
    return labels, codes


def _patterns(per_item: IntArray) -> tuple[IntArray, IntArray]:
    """The distinct rows of per_item and each item's row index.

    Each row is read as one number in base (most raters + 1), and np.unique sorts those numbers:
    much faster than np.unique(axis=0), which it falls back to when the number would overflow.
    """
    base = int(per_item.max(initial=0)) + 1
    if per_item.shape[1] * np.log2(base) < 62:
        keys = per_item @ (base ** np.arange(per_item.shape[1], dtype=np.int64))
        _, first, index = np.unique(keys, return_index=True, return_inverse=True)
        return per_item[first], index.reshape(-1).astype(np.int64)
    patterns, index = np.unique(per_item, axis=0, return_inverse=True)
    return patterns, index.reshape(-1).astype(np.int64)


def _pattern_totals(
    per_item: IntArray,
    contributions: Callable[[FloatArray], FloatArray],
    resamples: int,
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray]:
    """Per-item contributions summed over the items, and over each item-bootstrap resample.

    Items with the same counts per class (the same pattern) contribute the same, so resampling
    items is a multinomial draw over the few distinct patterns: exact, and cheap for any n.
    """
    patterns, index = _patterns(per_item)
    contribution = contributions(patterns.astype(np.float64))
    counts = np.bincount(index, minlength=patterns.shape[0]).astype(np.float64)
    boot = _resampled_totals(index, patterns.shape[0], None, resamples, rng)
    return counts @ contribution, boot @ contribution


def _pattern_statistic(
    per_item: IntArray,
    contributions: Callable[[FloatArray], FloatArray],
    statistic: Callable[[FloatArray], FloatArray],
    resamples: int,
    rng: np.random.Generator,
) -> tuple[float, FloatArray]:
    """A statistic of summed per-item contributions, and its item-bootstrap resamples."""
    totals, boot = _pattern_totals(per_item, contributions, resamples, rng)
    return float(statistic(totals)), statistic(boot)


def _alpha_contributions(patterns: FloatArray) -> FloatArray:
    """Per item: its labels per class (row sums of its coincidences) and its coincidence
    diagonal sum_c n_c(n_c - 1)/(m - 1), the "pairable values" of Krippendorff's alpha."""
    raters = patterns.sum(axis=1, keepdims=True)
    diagonal = (patterns * (patterns - 1)).sum(axis=1, keepdims=True) / (raters - 1)
    return np.hstack([patterns, diagonal])


def _alpha(totals: FloatArray) -> FloatArray:
    """Nominal alpha = 1 - (n - 1)(n - sum o_cc) / (n² - sum n_c²) from summed contributions."""
    per_class = totals[..., :-1]
    agreeing = totals[..., -1]
    n = per_class.sum(axis=-1)
    expected = n**2 - (per_class**2).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(1 - (n - 1) * (n - agreeing) / expected, dtype=np.float64)


def _fleiss_contributions(patterns: FloatArray) -> FloatArray:
    """Per item: 1 (to count items), its labels per class and P_i = sum n_c(n_c-1) / m(m-1)."""
    raters = patterns.sum(axis=1, keepdims=True)
    agreement_i = (patterns * (patterns - 1)).sum(axis=1, keepdims=True) / (raters * (raters - 1))
    return np.hstack([np.ones_like(raters), patterns, agreement_i])


def _fleiss(totals: FloatArray) -> FloatArray:
    items = totals[..., 0]
    per_class = totals[..., 1:-1]
    observed = totals[..., -1] / items
    shares = per_class / per_class.sum(axis=-1, keepdims=True)
    chance = (shares**2).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = (observed - chance) / (1 - chance)
    return np.asarray(np.where(chance >= 1 - 1e-12, np.nan, kappa), dtype=np.float64)


def _chance_contributions(patterns: FloatArray) -> FloatArray:
    """Per item with a label: 1 (to count items), 1 if it has two labels or more, its agreement
    P_i = sum n_c(n_c-1) / m(m-1) (0 with one label), its share of labels per class n_c/m, and its
    labels per class. irrCAC averages P_i over the items with two labels or more, and the shares
    (its pi_k) over every item with a label."""
    raters = patterns.sum(axis=1, keepdims=True)
    pairable = raters >= 2
    pairs = np.where(pairable, raters * (raters - 1), 1)
    agreement_i = (patterns * (patterns - 1)).sum(axis=1, keepdims=True) / pairs
    return np.hstack([np.ones_like(raters), pairable, agreement_i, patterns / raters, patterns])


def _multi_rater_statistics(
    totals: FloatArray, n_categories: int, prevalent: int
) -> dict[str, FloatArray]:
    """Gwet's AC1, Brennan-Prediger and the share of the label ``prevalent`` among all labels,
    from summed :func:`_chance_contributions` (…, 3 + 2 x classes found)."""
    found = (totals.shape[-1] - 3) // 2
    items, pairable = totals[..., 0], totals[..., 1]
    per_class = totals[..., 3 + found :]
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = totals[..., 2] / pairable
        shares = totals[..., 3 : 3 + found] / items[..., None]
        return {
            "gwet_ac1": _ac1(observed, shares, n_categories),
            "brennan_prediger": _brennan_prediger(observed, n_categories),
            "prevalence": per_class[..., prevalent] / per_class.sum(axis=-1),
        }


def _pair_contributions(patterns: FloatArray) -> FloatArray:
    """Per item: agreeing pairs of labels and all pairs."""
    raters = patterns.sum(axis=1, keepdims=True)
    agreeing = (patterns * (patterns - 1)).sum(axis=1, keepdims=True) / 2
    return np.hstack([agreeing, raters * (raters - 1) / 2])


def _pair_share(totals: FloatArray) -> FloatArray:
    return np.asarray(totals[..., 0] / totals[..., 1], dtype=np.float64)


def _only_class_reason(
    statistic: str, per_item: IntArray, labels: Sequence[str], why: str = "chance agreement is 1"
) -> str:
    only = labels[int(np.argmax(per_item.sum(axis=0)))]
    return f"{statistic} undefined: every label is '{only}' ({why})"


def _pairwise_kappas(
    codes: IntArray,
    names: Sequence[str],
    labels: list[str],
    resamples: int,
    rng: np.random.Generator,
) -> dict[tuple[str, str], Estimate]:
    """Cohen's kappa for each pair of annotators on the items both labelled."""
    k = len(labels)
    result: dict[tuple[str, str], Estimate] = {}
    for first, second in combinations(range(codes.shape[1]), 2):  # pairs, not items
        both = (codes[:, first] >= 0) & (codes[:, second] >= 0)
        n = int(both.sum())
        if n == 0:
            continue
        key = (names[first], names[second])
        reason = _too_few(n)
        if reason:
            result[key] = _undefined(n, reason)
            continue
        cells = codes[both, first] * k + codes[both, second]
        table = np.bincount(cells, minlength=k * k).reshape(k, k).astype(np.float64)
        boot = _resampled_totals(cells, k * k, None, resamples, rng).reshape(-1, k, k)
        why = _single_class_reason("kappa", table, labels)
        result[key] = _estimate(float(_kappa(table)), _kappa(boot), n, why)
    return result


def inter_annotator(
    ratings: Sequence[Sequence[str | None]] | NDArray[Any],
    annotators: Sequence[str] | None = None,
    *,
    categories: Sequence[str] | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> InterAnnotatorReport:
    """Krippendorff's alpha (nominal), Fleiss' kappa, the share of agreeing pairs of labels,
    Cohen's kappa per pair of annotators, Gwet's AC1, Brennan-Prediger and the most common
    label's share.

    ``ratings``: one row per item, one column per annotator (named by ``annotators``, else by
    column number "0", "1", …), None where that annotator did not label the item. Items with
    fewer than two labels cannot show agreement and are left out (counted in ``n_single``);
    those with one label still count in AC1's chance term and the label shares. ``categories``:
    every value the scheme allows (default: the labels found); AC1 and Brennan-Prediger depend
    on how many there are.
    """
    labels, codes = _ratings_codes(ratings)
    names = list(annotators) if annotators is not None else [str(i) for i in range(codes.shape[1])]
    if len(names) != codes.shape[1]:
        raise ValueError(f"{len(names)} annotator names for {codes.shape[1]} columns")
    # Items x classes: how many annotators gave each label (a loop over classes, not items).
    per_item = np.zeros((codes.shape[0], len(labels)), dtype=np.int64)
    for code in range(len(labels)):
        per_item[:, code] = (codes == code).sum(axis=1)
    raters = per_item.sum(axis=1)
    pairable = per_item[raters >= 2]
    n_items = pairable.shape[0]
    rng = np.random.default_rng(seed)
    pairwise = _pairwise_kappas(codes, names, labels, resamples, rng)
    every_category = _all_categories(labels, categories)
    common: dict[str, Any] = {
        "n_items": n_items,
        "pairwise_kappa": pairwise,
        "n_single": int((raters < 2).sum()),
        "labels": tuple(labels),
        "categories": every_category,
    }
    reason = _too_few(n_items)
    if reason:
        undefined = _undefined(n_items, reason)
        return InterAnnotatorReport(
            alpha=undefined,
            fleiss_kappa=undefined,
            raw_agreement=undefined,
            gwet_ac1=undefined,
            brennan_prediger=undefined,
            prevalence=undefined,
            **common,
        )
    value, resampled = _pattern_statistic(pairable, _alpha_contributions, _alpha, resamples, rng)
    why = _only_class_reason("alpha", pairable, labels, "no disagreement is expected by chance")
    alpha = _estimate(value, resampled, n_items, why)
    value, resampled = _pattern_statistic(
        pairable, _pair_contributions, _pair_share, resamples, rng
    )
    raw = _estimate(value, resampled, n_items)
    # Fleiss' kappa assumes every item has the same number of raters: take the most common
    # number (the larger one on a tie) and the items that have exactly that many.
    counts = np.bincount(raters[raters >= 2])
    fleiss_raters = int(len(counts) - 1 - np.argmax(counts[::-1]))
    equal = pairable[pairable.sum(axis=1) == fleiss_raters]
    reason = _too_few(equal.shape[0])
    if reason:
        fleiss = _undefined(equal.shape[0], reason)
    else:
        value, resampled = _pattern_statistic(equal, _fleiss_contributions, _fleiss, resamples, rng)
        why = _only_class_reason("Fleiss' kappa", equal, labels)
        fleiss = _estimate(value, resampled, equal.shape[0], why)
    # Drawn after the figures above, so that adding these left their intervals as they were.
    rated = per_item[raters >= 1]
    chance = _chance_corrected_by_pattern(rated, labels, every_category, n_items, resamples, rng)
    return InterAnnotatorReport(
        alpha=alpha,
        fleiss_kappa=fleiss,
        raw_agreement=raw,
        fleiss_raters=fleiss_raters,
        **chance,
        **common,
    )


def _chance_corrected_by_pattern(
    rated: IntArray,
    labels: list[str],
    categories: Sequence[str],
    n_items: int,
    resamples: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Gwet's AC1, Brennan-Prediger and the prevalence share among annotators, and the
    prevalent label, from ``rated`` (labels per class of every item with a label): one resample
    of those items serves all three."""
    prevalent = int(np.argmax(rated.sum(axis=0)))
    totals, boot = _pattern_totals(rated, _chance_contributions, resamples, rng)
    point = _multi_rater_statistics(totals, len(categories), prevalent)
    resampled = _multi_rater_statistics(boot, len(categories), prevalent)
    n_rated = rated.shape[0]
    return {
        "gwet_ac1": _estimate(
            float(point["gwet_ac1"]),
            resampled["gwet_ac1"],
            n_rated,
            _one_category_reason("AC1", categories),
        ),
        "brennan_prediger": _estimate(
            float(point["brennan_prediger"]),
            resampled["brennan_prediger"],
            n_items,
            _one_category_reason("Brennan-Prediger", categories),
        ),
        "prevalence": _estimate(float(point["prevalence"]), resampled["prevalence"], n_rated),
        "prevalent_label": labels[prevalent],
    }


# --- prediction-powered inference -------------------------------------------------------------


def _mean_and_variance(values: FloatArray, weights: FloatArray | None) -> tuple[float, float]:
    """A mean and the variance of that mean.

    With weights (inverse inclusion probabilities) it is the Hajek mean sum(w v) / sum(w) and its
    linearised variance n/(n-1) sum(w² (v - mean)²) / sum(w)². Hajek rather than Horvitz-Thompson
    because it needs no population size and stays within the range of the values; with equal
    weights both give back the plain mean and var(ddof=1)/n.
    """
    n = values.size
    weight = np.ones(n) if weights is None else weights
    total = weight.sum()
    mean = float((weight * values).sum() / total)
    spread = float(((weight * (values - mean)) ** 2).sum() / total**2)
    return mean, spread * n / (n - 1) if n > 1 else float("nan")


def _normal_estimate(value: float, variance: float, z: float, n: int, interval: str) -> Estimate:
    """value ± z·sd, the interval clipped to [0, 1]: a rate outside it is impossible."""
    half = z * float(np.sqrt(variance))
    return Estimate(value, max(0.0, value - half), min(1.0, value + half), n, interval=interval)


def judge_corrected_rate(
    judge_all: Labels,
    judge_on_gold: Labels,
    gold: Labels,
    *,
    weights: Weights | None = None,
    alpha: float = 0.05,
) -> PPIReport:
    """The compliance rate of all judged responses, corrected by a human-labelled sample.

    Prediction-powered inference (Angelopoulos et al. 2023, Science): with f = 1 where the judge
    says complied and Y = 1 where the gold label is complied,
    theta = mean f over all N responses + mean (Y - f) over the n labelled ones. The second term
    (the "rectifier") removes the judge's bias; its interval is
    theta ± z·sqrt(var(f)/N + var(Y - f)/n). A judge failure counts as f = 0 (reported in
    ``failed_*``): the rectifier then corrects for the failures too.

    ``weights`` are the inverse inclusion probabilities of the labelled items. An oversampled
    stratum would otherwise dominate the rectifier, so it becomes a weighted (Hajek) mean with its
    linearised variance; the same goes for the gold-only ``classical`` rate (a normal-theory
    interval, marked NORMAL; the corrected one is marked PPI). ``judge_only`` is
    :func:`compliance_rate` of all responses, bootstrap interval and seed included: the very
    figure the run report shows for this judge, so both pages print the same bracket.
    """
    every = _as_labels(judge_all, "judge_all")
    found, codes = _label_codes(every)
    counts = dict(zip(found, np.bincount(codes, minlength=len(found)).tolist(), strict=True))
    return judge_corrected_rate_of_counts(counts, judge_on_gold, gold, weights=weights, alpha=alpha)


def judge_corrected_rate_of_counts(
    judge_all: Mapping[str, int],
    judge_on_gold: Labels,
    gold: Labels,
    *,
    weights: Weights | None = None,
    alpha: float = 0.05,
) -> PPIReport:
    """:func:`judge_corrected_rate` with the judge's labels on all N responses given as how many
    responses carry each label: the same report, to the last bit (the list is counted and goes
    through here), at a cost that does not grow with N. f is 0 or 1, so its mean and variance
    are those of a count: k/N and k(N - k)/(N(N - 1))."""
    on_gold = _as_labels(judge_on_gold, "judge_on_gold")
    gold_labels = _as_labels(gold, "gold")
    _same_length(judge_on_gold=on_gold, gold=gold_labels)
    n_labelled = gold_labels.size
    weight = _as_weights(weights, n_labelled)
    judge_only = compliance_rate_of_counts(judge_all).rate  # checks the labels and counts
    n_all = sum(judge_all.values())
    z = float(norm.ppf(1 - alpha / 2))
    report: dict[str, Any] = {
        "n_labelled": n_labelled,
        "n_all": n_all,
        "failed_all": sum(judge_all.get(label, 0) for label in FAILURES),
        "failed_labelled": int(np.isin(on_gold, FAILURES).sum()),
        "weighted": weight is not None,
    }
    reason = _too_few(n_labelled) or _too_few(n_all)
    if reason:
        undefined = _undefined(n_labelled, reason)
        return PPIReport(corrected=undefined, judge_only=judge_only, classical=undefined, **report)
    complied = judge_all.get(COMPLIED, 0)
    truth = (gold_labels == COMPLIED).astype(np.float64)
    rectifier = truth - (on_gold == COMPLIED)
    judge_mean = complied / n_all
    judge_variance = complied * (n_all - complied) / (n_all * (n_all - 1)) / n_all
    bias, bias_variance = _mean_and_variance(rectifier, weight)
    corrected = _normal_estimate(
        judge_mean + bias, judge_variance + bias_variance, z, n_labelled, PPI
    )
    gold_rate, gold_variance = _mean_and_variance(truth, weight)
    classical = _normal_estimate(gold_rate, gold_variance, z, n_labelled, NORMAL)
    return PPIReport(corrected=corrected, judge_only=judge_only, classical=classical, **report)


# --- two judges -------------------------------------------------------------------------------


def compare_judges(
    gold: Labels,
    judge_a: Labels,
    judge_b: Labels,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> JudgeComparison:
    """Is judge B better than judge A on the same gold-labelled items?

    McNemar's test looks only at the items where exactly one judge is right (a judge failure is
    wrong); kappa(B) - kappa(A) gets a paired bootstrap: both judges are scored on the same
    resampled items, drawn as counts over the (gold, A, B) cells.
    """
    gold_labels = _as_labels(gold, "gold")
    a_labels = _as_labels(judge_a, "judge_a")
    b_labels = _as_labels(judge_b, "judge_b")
    _same_length(gold=gold_labels, judge_a=a_labels, judge_b=b_labels)
    n = gold_labels.size
    labels, (g, a, b) = _encode(gold_labels, a_labels, b_labels)
    right_a, right_b = a == g, b == g
    only_a = int((right_a & ~right_b).sum())
    only_b = int((~right_a & right_b).sum())
    discordant = only_a + only_b
    # Exact test: under "equally good" each discordant item is a fair coin between A and B.
    p_value = float(binomtest(only_a, discordant, 0.5).pvalue) if discordant else 1.0
    # Chi-square with continuity correction, written as statsmodels does (|b - c| - 1)²/(b + c).
    statistic = (abs(only_a - only_b) - 1) ** 2 / discordant if discordant else 0.0
    chi2_p = float(chi2.sf(statistic, 1)) if discordant else 1.0
    better = None
    if p_value < 0.05:
        better = "A" if only_a > only_b else "B"
    k = len(labels)
    reason = _too_few(n)
    if reason:
        undefined = _undefined(n, reason)
        return JudgeComparison(
            only_a, only_b, p_value, undefined, better, statistic, chi2_p, undefined, undefined, n
        )
    cells = (g * k + a) * k + b
    table = np.bincount(cells, minlength=k**3).reshape(k, k, k).astype(np.float64)
    boot = _resampled_totals(cells, k**3, None, resamples, np.random.default_rng(seed))
    boot = boot.reshape(-1, k, k, k)
    kappas_a, kappas_b = _kappa(boot.sum(axis=3)), _kappa(boot.sum(axis=2))
    kappa_a, kappa_b = float(_kappa(table.sum(axis=2))), float(_kappa(table.sum(axis=1)))
    why = _single_class_reason("kappa", table.sum(axis=2), labels)
    return JudgeComparison(
        b=only_a,
        c=only_b,
        p_value=p_value,
        kappa_difference=_estimate(kappa_b - kappa_a, kappas_b - kappas_a, n, why),
        better=better,
        chi2=float(statistic),
        chi2_p_value=chi2_p,
        kappa_a=_estimate(kappa_a, kappas_a, n, why),
        kappa_b=_estimate(kappa_b, kappas_b, n, why),
        n=n,
    )


# --- score thresholds -------------------------------------------------------------------------


def _binary_kappa(tp: FloatArray, fp: FloatArray, fn: FloatArray, tn: FloatArray) -> FloatArray:
    """Cohen's kappa of 2x2 tables, 2(tp·tn - fp·fn) / ((tp+fp)(fp+tn) + (tp+fn)(fn+tn))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = 2 * (tp * tn - fp * fn) / ((tp + fp) * (fp + tn) + (tp + fn) * (fn + tn))
    return np.asarray(kappa, dtype=np.float64)


def _best_threshold(scores: FloatArray, positive: BoolArray) -> tuple[float, float] | None:
    """The threshold with the highest kappa, over every distinct cut of the scores.

    Cut i says positive for every score >= the i-th smallest distinct score; the threshold
    reported for it is the midpoint to the score below (the lowest cut keeps the lowest score), so
    that unseen scores between two observed ones fall on the nearer side. On a tie the lowest
    threshold wins. None when kappa is undefined at every cut (one gold class only).
    """
    values, index = np.unique(scores, return_inverse=True)
    index = index.reshape(-1)
    positives = np.bincount(index, weights=positive, minlength=values.size).astype(np.float64)
    items = np.bincount(index, minlength=values.size).astype(np.float64)
    tp = np.cumsum(positives[::-1])[::-1]
    fp = np.cumsum(items[::-1])[::-1] - tp
    fn = positives.sum() - tp
    tn = scores.size - positives.sum() - fp
    kappas = _binary_kappa(tp, fp, fn, tn)
    if not np.isfinite(kappas).any():
        return None
    best = int(np.nanargmax(kappas))
    threshold = values[best] if best == 0 else (values[best - 1] + values[best]) / 2
    return float(threshold), float(kappas[best])


def _kappa_at(scores: FloatArray, positive: BoolArray, threshold: float) -> float:
    said = scores >= threshold
    cells = [(said & positive), (said & ~positive), (~said & positive), (~said & ~positive)]
    tp, fp, fn, tn = (np.array([cell.sum()], dtype=np.float64) for cell in cells)
    return float(_binary_kappa(tp, fp, fn, tn)[0])


def calibrate_threshold(
    scores: Sequence[float] | NDArray[Any],
    gold: Labels,
    *,
    positive: str = NOT_COMPLIED,
    folds: int = 5,
    seed: int = DEFAULT_SEED,
) -> Calibration:
    """The score threshold that maximises Cohen's kappa against gold, with k-fold CV kappa.

    For judges whose score is P(positive): ``score >= threshold`` means ``positive``, anything
    else "complied"; gold is binarised as gold == positive or not. The in-sample kappa is
    optimistic, so each fold's threshold is chosen on the other folds and scored on that fold.
    Scores must be finite: pass only items the judge scored.
    """
    values = np.asarray(scores, dtype=np.float64)
    gold_labels = _as_labels(gold, "gold")
    _same_length(scores=values, gold=gold_labels)
    if not np.isfinite(values).all():
        raise ValueError("scores must be finite; leave out the items the judge failed to score")
    n = values.size
    truth = gold_labels == positive
    reason = _too_few(n)
    # With one gold class every cut scores kappa 0 (or undefined): nothing to choose from.
    if not reason and (truth.all() or not truth.any()):
        reason = f"kappa undefined at every threshold: every gold label is on one side ({n} items)"
    best = None if reason else _best_threshold(values, truth)
    if best is None:
        reason = reason or "kappa undefined at every threshold"
        return Calibration(None, None, _undefined(n, reason), n, [], reason)
    threshold, kappa = best
    order = np.random.default_rng(seed).permutation(n)
    fold_kappas: list[float | None] = []
    for held_out in np.array_split(order, min(folds, n)):  # a loop over folds, not items
        train = np.ones(n, dtype=bool)
        train[held_out] = False
        chosen = _best_threshold(values[train], truth[train])
        if chosen is None:  # this training split holds one gold class only
            fold_kappas.append(None)
            continue
        fold_kappa = _kappa_at(values[held_out], truth[held_out], chosen[0])
        fold_kappas.append(fold_kappa if np.isfinite(fold_kappa) else None)
    scored = [value for value in fold_kappas if value is not None]
    cv = (
        Estimate(float(np.mean(scored)), None, None, n)
        if scored
        else _undefined(n, "kappa undefined on every held-out fold (one class only)")
    )
    return Calibration(threshold, kappa, cv, n, fold_kappas)
