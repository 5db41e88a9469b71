"""Every statistic per question of a label scheme: agreement among annotators, a judge against
people, and the share of items giving each answer, each with its 95% interval.

Plain Python and NumPy, no Django (an import contract holds it so, as for
:mod:`analysis.metrics`, whose estimates, bootstrap and minimum number of items it shares). The
figures are checked against ``krippendorff`` and scikit-learn in
tests/analysis/test_question_metrics.py.

A question (``annotate.schemes``) is a plain dict: ``{"id", "text", "kind", "choices"?}``, kind
``single``, ``multi``, ``rating`` (1 to 5) or ``text``. An answer grid has one row per item and
one column per annotator, None where that annotator gave no answer: a question that was not asked
for an annotator's label is missing data, never a value of its own.

Which statistic for which kind of question:

- single choice: Krippendorff's alpha (nominal) and Fleiss' kappa, as for the label itself
  (:func:`analysis.metrics.inter_annotator`); a judge against people: Cohen's kappa.
- rating: Krippendorff's alpha, ordinal (the ratings are ordered, their distances unknown) and
  interval (1 to 5 read as equally spaced); with exactly two annotators, and for a judge against
  people, weighted kappa, linear and quadratic (weights by distance on the scale).
- multiple choice: one yes/no agreement per option (was this option ticked?).
- text: none; free text has no agreement statistic.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.answers import (
    MULTI,
    RATING,
    RATING_VALUES,
    SINGLE,
    YES,
    choice_values,
)
from analysis.metrics import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    Estimate,
    FloatArray,
    IntArray,
    _estimate,
    _only_class_reason,
    _pattern_statistic,
    _resampled_totals,
    _single_class_reason,
    _too_few,
    _undefined,
    inter_annotator,
)

NOMINAL, ORDINAL, INTERVAL = "nominal", "ordinal", "interval"
LINEAR, QUADRATIC = "linear", "quadratic"

ALPHA_NAMES = {
    NOMINAL: "Krippendorff's alpha (nominal)",
    ORDINAL: "Krippendorff's alpha (ordinal)",
    INTERVAL: "Krippendorff's alpha (interval)",
}
KAPPA_NAMES = {
    None: "Cohen's kappa",
    LINEAR: "weighted kappa (linear)",
    QUADRATIC: "weighted kappa (quadratic)",
}
FLEISS_NAME = "Fleiss' kappa"
OPTION_ALPHA_NAME = "Krippendorff's alpha (nominal), ticked or not"
OPTION_KAPPA_NAME = "Cohen's kappa, ticked or not"
NO_STATISTIC_FOR_TEXT = "free text has no agreement statistic"

Grid = Sequence[Sequence[Any]]


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """One statistic of one question; ``option`` names the option a yes/no agreement of a
    multiple-choice question is about ("" for the others)."""

    statistic: str
    estimate: Estimate
    option: str = ""


@dataclass(frozen=True)
class QuestionAgreement:
    """Agreement on one question. ``n_items``: items with two answers (annotators) or one
    pair of answers (a judge against people); ``reason`` says why there is no statistic at all
    (a text question)."""

    question: str
    text: str
    kind: str
    agreements: list[Agreement] = field(default_factory=list)
    n_items: int = 0
    reason: str = ""


@dataclass(frozen=True)
class Rate:
    """A share (or a mean rating) with its interval; ``observed`` is the same mean over the
    items even where they are too few for a figure, for a chart's "too few" point."""

    estimate: Estimate
    observed: float | None = None


# --- Krippendorff's alpha at any level of measurement -----------------------------------------


def _codes(grid: Grid, values: Sequence[Any], name: str) -> IntArray:
    """Items x annotators: the index of each answer in ``values``, -1 where there is none."""
    index = {value: code for code, value in enumerate(values)}
    rows = [list(row) for row in grid]
    codes = np.full((len(rows), max((len(row) for row in rows), default=0)), -1, dtype=np.int64)
    for item, row in enumerate(rows):
        for column, answer in enumerate(row):
            if answer is None:
                continue
            if answer not in index:
                raise ValueError(f"{name}: answer {answer!r} is not one of {list(values)}")
            codes[item, column] = index[answer]
    return codes


def _per_item(codes: IntArray, k: int) -> IntArray:
    """Items x values: how many annotators gave each value (a loop over values, not items)."""
    counts = np.zeros((codes.shape[0], k), dtype=np.int64)
    for code in range(k):
        counts[:, code] = (codes == code).sum(axis=1)
    return counts


def _coincidences(patterns: FloatArray) -> FloatArray:
    """Per item, its coincidence matrix flattened: o_ck = n_c n_k / (m - 1), and
    n_c (n_c - 1) / (m - 1) on the diagonal, for an item with m answers."""
    raters = patterns.sum(axis=1)
    pairs = patterns[:, :, None] * patterns[:, None, :]
    k = patterns.shape[1]
    pairs[:, np.arange(k), np.arange(k)] -= patterns
    return np.asarray((pairs / (raters - 1)[:, None, None]).reshape(len(patterns), -1))


def _distances(marginals: FloatArray, level: str, numbers: FloatArray) -> FloatArray:
    """Krippendorff's squared distances delta²_ck (…, K, K) for the level of measurement.

    Ordinal distances depend on how often each value was given (the values between c and k,
    the ends counted half), so each bootstrap resample gets its own from its own marginals.
    """
    k = marginals.shape[-1]
    if level == NOMINAL:
        return np.broadcast_to(1.0 - np.eye(k), (*marginals.shape[:-1], k, k))
    if level == INTERVAL:
        return np.broadcast_to(np.subtract.outer(numbers, numbers) ** 2, (*marginals.shape, k))
    cumulative = np.cumsum(marginals, axis=-1)
    positions = np.arange(k)
    low, high = np.minimum.outer(positions, positions), np.maximum.outer(positions, positions)
    between = cumulative[..., high] - cumulative[..., low] + marginals[..., low]
    ends = (marginals[..., :, None] + marginals[..., None, :]) / 2
    return np.asarray((between - ends) ** 2, dtype=np.float64)


def _alpha_from(totals: FloatArray, k: int, level: str, numbers: FloatArray) -> FloatArray:
    """alpha = 1 - (n - 1) sum o_ck d_ck / sum n_c n_k d_ck, from summed coincidences."""
    coincidences = totals.reshape(*totals.shape[:-1], k, k)
    marginals = coincidences.sum(axis=-1)
    n = marginals.sum(axis=-1)
    distance = _distances(marginals, level, numbers)
    observed = (coincidences * distance).sum(axis=(-2, -1))
    expected = (marginals[..., :, None] * marginals[..., None, :] * distance).sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1 - (n - 1) * observed / expected
    # No expected disagreement: every answer is the same value, and alpha is 0/0.
    return np.asarray(np.where(expected <= 1e-12, np.nan, alpha), dtype=np.float64)


def krippendorff_alpha(
    grid: Grid,
    *,
    values: Sequence[Any],
    level: str = NOMINAL,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> Estimate:
    """Krippendorff's alpha of an answer grid at the ``level`` of measurement, with a bootstrap
    interval over items.

    ``values``: the scale in order (ascending for ordinal; numbers for interval). Items with
    fewer than two answers cannot show agreement and are left out; ``n`` counts the others.
    Resampling uses the same exact shortcut as the nominal alpha of :mod:`analysis.metrics`:
    items with the same answer counts contribute the same coincidences.
    """
    if level not in ALPHA_NAMES:
        raise ValueError(f"level must be one of {', '.join(ALPHA_NAMES)}, not {level!r}")
    k = len(values)
    per_item = _per_item(_codes(grid, values, "grid"), k)
    pairable = per_item[per_item.sum(axis=1) >= 2]
    n = pairable.shape[0]
    reason = _too_few(n)
    if reason:
        return _undefined(n, reason)
    numbers = (
        np.asarray(values, dtype=np.float64) if level == INTERVAL else np.arange(k, dtype=float)
    )

    def statistic(totals: FloatArray) -> FloatArray:
        return _alpha_from(totals, k, level, numbers)

    rng = np.random.default_rng(seed)
    value, resampled = _pattern_statistic(pairable, _coincidences, statistic, resamples, rng)
    why = _only_class_reason(
        "alpha", pairable, [str(v) for v in values], "no disagreement is expected by chance"
    )
    return _estimate(value, resampled, n, why.replace("every label", "every answer"))


# --- Cohen's kappa, weighted or not -----------------------------------------------------------


def _weights(k: int, weights: str | None) -> FloatArray:
    """Disagreement weights by distance on the scale (positions, as scikit-learn uses them)."""
    distance = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(np.float64)
    if weights is None:
        return np.asarray(distance > 0, dtype=np.float64)
    if weights == LINEAR:
        return distance
    if weights == QUADRATIC:
        return distance**2
    raise ValueError(f"weights must be None, {LINEAR!r} or {QUADRATIC!r}, not {weights!r}")


def _weighted_kappa(tables: FloatArray, disagreement: FloatArray) -> FloatArray:
    """1 - sum w O / sum w E over (…, K, K) tables; NaN where no disagreement is expected."""
    total = tables.sum(axis=(-2, -1))
    rows, cols = tables.sum(axis=-1), tables.sum(axis=-2)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = rows[..., :, None] * cols[..., None, :] / total[..., None, None]
        chance = (disagreement * expected).sum(axis=(-2, -1))
        kappa = 1 - (disagreement * tables).sum(axis=(-2, -1)) / chance
    return np.asarray(np.where(chance <= 1e-12, np.nan, kappa), dtype=np.float64)


def weighted_kappa(
    first: Sequence[Any],
    second: Sequence[Any],
    *,
    values: Sequence[Any],
    weights: str | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> Estimate:
    """Cohen's kappa of two raters' answers to the same items (None: no answer; the item is
    left out), weighted ``linear`` or ``quadratic`` by distance on the ``values`` scale, or
    unweighted; a bootstrap interval over the items both answered."""
    if len(first) != len(second):
        raise ValueError(f"one answer per item in each, got {len(first)} and {len(second)}")
    codes = _codes([[a, b] for a, b in zip(first, second, strict=True)], values, "answers")
    both = codes[(codes >= 0).all(axis=1)]
    n, k = both.shape[0], len(values)
    disagreement = _weights(k, weights)
    reason = _too_few(n)
    if reason:
        return _undefined(n, reason)
    cells = both[:, 0] * k + both[:, 1]
    table = np.bincount(cells, minlength=k * k).reshape(k, k).astype(np.float64)
    boot = _resampled_totals(cells, k * k, None, resamples, np.random.default_rng(seed))
    why = _single_class_reason(KAPPA_NAMES[weights], table, [str(v) for v in values])
    value = float(_weighted_kappa(table, disagreement))
    return _estimate(value, _weighted_kappa(boot.reshape(-1, k, k), disagreement), n, why)


# --- answers of one question ------------------------------------------------------------------


def option_grid(grid: Grid, option: str) -> list[list[str | None]]:
    """A multiple-choice grid as yes/no for one option: ticked or not, None where no answer."""
    return [
        [None if answer is None else (YES if option in answer else "no") for answer in row]
        for row in grid
    ]


def _answered_columns(grid: Grid) -> list[int]:
    width = max((len(row) for row in grid), default=0)
    return [c for c in range(width) if any(c < len(row) and row[c] is not None for row in grid)]


def _pairable(grid: Grid) -> int:
    return sum(1 for row in grid if sum(answer is not None for answer in row) >= 2)


def annotator_agreement(
    question: Mapping[str, Any],
    grid: Grid,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> QuestionAgreement:
    """How far annotators agree on one question (see the module's note for which statistic).

    ``grid``: one row per item, one column per annotator, the answer or None."""
    base: dict[str, Any] = {
        "question": str(question["id"]),
        "text": str(question.get("text", "")),
        "kind": str(question["kind"]),
        "n_items": _pairable(grid),
    }
    options: dict[str, Any] = {"resamples": resamples, "seed": seed}
    kind = question["kind"]
    if kind == SINGLE:
        report = inter_annotator([[_text_or_none(a) for a in row] for row in grid], **options)
        fleiss = FLEISS_NAME
        if report.fleiss_raters:  # Fleiss' kappa reads items with this many answers only
            fleiss += f" (items with {report.fleiss_raters} answers)"
        agreements = [
            Agreement(ALPHA_NAMES[NOMINAL], report.alpha),
            Agreement(fleiss, report.fleiss_kappa),
        ]
    elif kind == MULTI:
        agreements = [
            Agreement(OPTION_ALPHA_NAME, inter_annotator(option_grid(grid, o), **options).alpha, o)
            for o in choice_values(question)
        ]
    elif kind == RATING:
        agreements = _rating_agreements(grid, resamples, seed)
    else:
        return QuestionAgreement(**base, reason=NO_STATISTIC_FOR_TEXT)
    return QuestionAgreement(**base, agreements=agreements)


def _text_or_none(answer: Any) -> str | None:
    return None if answer is None else str(answer)


def _rating_agreements(grid: Grid, resamples: int, seed: int) -> list[Agreement]:
    options: dict[str, Any] = {"values": RATING_VALUES, "resamples": resamples, "seed": seed}
    agreements = [
        Agreement(ALPHA_NAMES[level], krippendorff_alpha(grid, level=level, **options))
        for level in (ORDINAL, INTERVAL)
    ]
    columns = _answered_columns(grid)
    if len(columns) == 2:  # weighted kappa is a statistic of one pair of raters
        first = [row[columns[0]] if columns[0] < len(row) else None for row in grid]
        second = [row[columns[1]] if columns[1] < len(row) else None for row in grid]
        agreements += [
            Agreement(
                KAPPA_NAMES[weights], weighted_kappa(first, second, weights=weights, **options)
            )
            for weights in (QUADRATIC, LINEAR)
        ]
    return agreements


def judge_agreement(
    question: Mapping[str, Any],
    people: Sequence[Any],
    judge: Sequence[Any],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> QuestionAgreement:
    """A judge's answers to one question against the people's answer for the same items
    (None where either has none; such items are left out)."""
    if len(people) != len(judge):
        raise ValueError(f"one answer per item in each, got {len(people)} and {len(judge)}")
    both = [(p, j) for p, j in zip(people, judge, strict=True) if p is not None and j is not None]
    base: dict[str, Any] = {
        "question": str(question["id"]),
        "text": str(question.get("text", "")),
        "kind": str(question["kind"]),
        "n_items": len(both),
    }
    options: dict[str, Any] = {"resamples": resamples, "seed": seed}
    kind = question["kind"]
    if kind == SINGLE:
        kappa = weighted_kappa(people, judge, values=choice_values(question), **options)
        return QuestionAgreement(**base, agreements=[Agreement(KAPPA_NAMES[None], kappa)])
    if kind == MULTI:
        agreements = []
        for option in choice_values(question):
            ticked_people, ticked_judge = (
                [None if a is None else (YES if option in a else "no") for a in answers]
                for answers in (people, judge)
            )
            kappa = weighted_kappa(ticked_people, ticked_judge, values=(YES, "no"), **options)
            agreements.append(Agreement(OPTION_KAPPA_NAME, kappa, option))
        return QuestionAgreement(**base, agreements=agreements)
    if kind == RATING:
        return QuestionAgreement(
            **base,
            agreements=[
                Agreement(
                    KAPPA_NAMES[weights],
                    weighted_kappa(people, judge, values=RATING_VALUES, weights=weights, **options),
                )
                for weights in (QUADRATIC, LINEAR)
            ],
        )
    return QuestionAgreement(**base, reason=NO_STATISTIC_FOR_TEXT)


# --- one answer per item ----------------------------------------------------------------------


# --- shares and means over items --------------------------------------------------------------


def item_mean(
    values: Sequence[float],
    *,
    weights: Sequence[float] | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> Rate:
    """The mean of one value per item (weighted, with inverse inclusion probabilities, as a
    Hajek mean sum w v / sum w), with a bootstrap interval over items.

    Items with the same value (and weight) are interchangeable, so resampling items is a
    multinomial draw over the distinct values, as everywhere in :mod:`analysis.metrics`.
    """
    array = np.asarray(values, dtype=np.float64)
    n = array.size
    weight = None if weights is None else np.asarray(weights, dtype=np.float64)
    if weight is not None and weight.shape != (n,):
        raise ValueError(f"weights: expected {n} values, one per item, got shape {weight.shape}")
    if n == 0:
        return Rate(_undefined(0, _too_few(0)))
    observed = float(np.average(array, weights=weight))
    reason = _too_few(n)
    if reason:
        return Rate(_undefined(n, reason), observed)
    distinct, cells = np.unique(array, return_inverse=True)
    rng = np.random.default_rng(seed)
    # Per resample and distinct value: the items drawn (or their summed weights).
    boot = _resampled_totals(cells.reshape(-1), distinct.size, weight, resamples, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        resampled = (boot @ distinct) / boot.sum(axis=1)
    return Rate(_estimate(observed, np.asarray(resampled, dtype=np.float64), n), observed)


def option_share(
    answers: Sequence[Sequence[Any]],
    option: str,
    *,
    leave_out: Collection[str] = (),
    weights: Sequence[float] | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> Rate:
    """The share of items answering ``option`` (for multiple choice: ticking it).

    ``answers``: per item, the answers its annotators gave (one for most items). Each item
    counts once: its share is the part of its answers that are (or include) the option, so two
    annotators splitting on an item count it half. Answers in ``leave_out`` are out of the
    denominator; an item with no other answer does not count (``n`` counts those that do).
    """
    shares: list[float] = []
    kept: list[float] = []
    for index, given in enumerate(answers):
        counted = [a for a in given if a is not None and not _left_out(a, leave_out)]
        if counted:
            shares.append(sum(_is_option(a, option) for a in counted) / len(counted))
            kept.append(1.0 if weights is None else weights[index])
    return item_mean(
        shares, weights=None if weights is None else kept, resamples=resamples, seed=seed
    )


def _left_out(answer: Any, leave_out: Collection[str]) -> bool:
    return not isinstance(answer, list) and answer in leave_out


def _is_option(answer: Any, option: str) -> bool:
    return option in answer if isinstance(answer, list) else answer == option


def mean_rating(
    answers: Sequence[Sequence[Any]],
    *,
    weights: Sequence[float] | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> Rate:
    """The mean rating over items, each item its annotators' mean rating (so each item counts
    once); items with no rating do not count."""
    means: list[float] = []
    kept: list[float] = []
    for index, given in enumerate(answers):
        ratings = [float(a) for a in given if a is not None]
        if ratings:
            means.append(sum(ratings) / len(ratings))
            kept.append(1.0 if weights is None else weights[index])
    return item_mean(
        means, weights=None if weights is None else kept, resamples=resamples, seed=seed
    )
