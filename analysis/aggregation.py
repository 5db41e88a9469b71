"""Gold labels from many annotators' labels: majority vote, and the models that weigh each
annotator by how good their labels look (Dawid-Skene, MACE).

Plain Python, NumPy and pandas, no Django. The models are crowd-kit's (``crowdkit.aggregation``),
imported when first fitted: the package takes about 2 s to import, which a page that never fits
a model should not pay. tests/analysis/test_aggregation.py checks every figure against crowd-kit
called directly; bench/annotator_quality.py measures how close each method gets to the truth when
some annotators click at random.

- Dawid-Skene: each annotator has a confusion matrix (the probability of each label they give,
  given the true label), fitted together with the items' unknown true labels by
  expectation-maximisation, starting from majority vote.
- MACE: each annotator either knows the true label (with probability ``competence``) or spams
  from a distribution of their own (``spam_distribution``). It assumes every true label is
  equally likely a priori, which a skewed label distribution does not fit.

Input is the shape :func:`analysis.metrics.inter_annotator` takes: one row per item, one column
per annotator, None where that annotator gave no label. Data a model cannot learn from (no
labels, one annotator, no item labelled twice, one label only) gives the evident gold, no
probabilities and a ``reason`` rather than an exception.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from analysis.metrics import CANONICAL_LABELS, DEFAULT_SEED

DAWID_SKENE = "dawid_skene"
MACE_METHOD = "mace"
METHODS = (DAWID_SKENE, MACE_METHOD)

# Posteriors this close count as tied: the item gets no gold rather than the first label in order.
_TIE = 1e-9

FloatArray = NDArray[np.float64]
Ratings = Sequence[Sequence[str | None]] | NDArray[Any]

# None as a NumPy scalar, so that np.not_equal compares an object array with it element by element.
_NONE = np.array(None, dtype=object)


@dataclass(frozen=True, eq=False)
class ModelGold:
    """Gold from a model of the annotators, one entry per item in ``gold`` and ``probability``.

    ``labels``: the order of ``posteriors``' columns and of the rows (true label) and columns
    (label given) of each ``confusion`` matrix. ``gold``: the most probable label, None where
    nobody labelled the item or two labels tie. ``probability``: its posterior probability.
    ``posteriors``: items x labels, NaN rows where the item has no posterior.

    Dawid-Skene fills ``confusion``: per annotator, P(label given | true label); a row is NaN for
    a true label no annotator ever gave (nothing to estimate it from). MACE fills ``competence``:
    per annotator, the probability they know the true label rather than spam, and
    ``spam_distribution``: the labels they give when they spam. Annotators who gave no label are
    in neither.

    ``reason`` is set when no model could be fitted: ``gold`` is then what the labels say plainly
    (the one label an item has, or the only label anyone gave) and the probabilities are None.
    """

    method: str
    labels: tuple[str, ...]
    gold: list[str | None]
    probability: list[float | None]
    posteriors: FloatArray
    confusion: dict[str, FloatArray] = field(default_factory=dict)
    competence: dict[str, float] = field(default_factory=dict)
    spam_distribution: dict[str, FloatArray] = field(default_factory=dict)
    reason: str = ""


def majority_vote(ratings: Ratings) -> list[str | None]:
    """The most common label of each item; None where two labels tie or nobody labelled it."""
    grid = _grid(ratings)
    gold: list[str | None] = []
    for row in grid:
        counts = Counter(label for label in row if label is not None).most_common(2)
        tied = len(counts) == 2 and counts[0][1] == counts[1][1]
        gold.append(counts[0][0] if counts and not tied else None)
    return gold


def model_gold(
    ratings: Ratings,
    annotators: Sequence[str] | None = None,
    *,
    method: str = DAWID_SKENE,
    categories: Sequence[str] | None = None,
    seed: int = DEFAULT_SEED,
) -> ModelGold:
    """Gold labels from Dawid-Skene (``method="dawid_skene"``) or MACE (``method="mace"``).

    ``annotators`` names the columns (else "0", "1", …); ``categories``, every possible label,
    in the order the result lists them (else the labels found: the canonical ones in
    :data:`analysis.metrics.CANONICAL_LABELS` order, then any others sorted). ``seed`` fixes
    MACE's random start; Dawid-Skene starts from majority vote and draws nothing.
    """
    if method not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    grid = _grid(ratings)
    names = _annotator_names(annotators, grid.shape[1])
    long = _long_format(grid, names)
    labels = _label_order(long["label"].tolist(), categories)
    reason = _unfittable(long)
    if reason:
        return _plain_gold(method, grid, labels, reason)
    with warnings.catch_warnings():
        # crowd-kit 1.4.2 uses pandas' inplace= and copy= keywords, deprecated in pandas 3.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"crowdkit\b")
        if method == DAWID_SKENE:
            return _dawid_skene(long, grid.shape[0], labels)
        return _mace(long, grid.shape[0], labels, seed)


# --- input ------------------------------------------------------------------------------------


def _grid(ratings: Ratings) -> NDArray[Any]:
    # Rows of different lengths make a one-dimensional array of lists: rejected below.
    grid = np.asarray(ratings, dtype=object)
    if grid.size == 0:
        return np.empty((len(ratings), 0), dtype=object)
    if grid.ndim != 2:
        raise ValueError(
            "ratings: expected one row per item and one column per annotator, "
            "None where an annotator did not label the item"
        )
    return grid


def _annotator_names(annotators: Sequence[str] | None, columns: int) -> list[str]:
    names = list(annotators) if annotators is not None else [str(i) for i in range(columns)]
    if len(names) != columns:
        raise ValueError(f"annotators: {len(names)} names for {columns} columns of ratings")
    if len(set(names)) != len(names):
        raise ValueError("annotators: every column needs its own name")
    return names


def _long_format(grid: NDArray[Any], names: list[str]) -> pd.DataFrame:
    """One row per label, in crowd-kit's columns: task (item index), worker, label."""
    rated = np.not_equal(grid, _NONE)
    items, columns = np.nonzero(rated)
    return pd.DataFrame(
        {
            "task": items,
            "worker": np.asarray(names, dtype=object)[columns],
            "label": [str(label) for label in grid[rated]],
        }
    )


def _label_order(found: list[str], categories: Sequence[str] | None) -> tuple[str, ...]:
    present = set(found)
    if categories is not None:
        unknown = sorted(present - set(categories))
        if unknown:
            raise ValueError(
                f"ratings: label {unknown[0]!r} is not one of categories ({', '.join(categories)})"
            )
        return tuple(dict.fromkeys(categories))
    canonical = [label for label in CANONICAL_LABELS if label in present]
    return tuple(canonical + sorted(present - set(canonical)))


def _unfittable(long: pd.DataFrame) -> str:
    """Why no model can learn from these labels, or "" when one can."""
    if long.empty:
        return "no labels were given"
    if long["worker"].nunique() == 1:
        return "only one annotator gave labels: a model cannot tell their mistakes from the truth"
    if long["task"].value_counts().max() < 2:
        return "no item was labelled twice: a model cannot tell anyone's mistakes from the truth"
    if long["label"].nunique() == 1:
        return f"only one label was given ({long['label'].iloc[0]}): there is nothing to weigh"
    return ""


def _plain_gold(method: str, grid: NDArray[Any], labels: tuple[str, ...], reason: str) -> ModelGold:
    """Gold without a model: an item's label where it has only one label or all agree."""
    gold = [_sole_label(row) for row in grid]
    return ModelGold(
        method=method,
        labels=labels,
        gold=gold,
        probability=[None] * len(gold),
        posteriors=np.full((len(gold), len(labels)), np.nan),
        reason=reason,
    )


def _sole_label(row: NDArray[Any]) -> str | None:
    given = {str(label) for label in row if label is not None}
    return given.pop() if len(given) == 1 else None


# --- models -----------------------------------------------------------------------------------


def _dawid_skene(long: pd.DataFrame, n_items: int, labels: tuple[str, ...]) -> ModelGold:
    from crowdkit.aggregation import DawidSkene

    model = DawidSkene(n_iter=100).fit(long)
    posteriors = _posteriors(model.probas_, n_items, labels)
    # errors_: rows (worker, label given), columns the true label. A label a worker never gave
    # has no row (probability 0); a true label nobody gave has no column (no estimate: NaN).
    errors = model.errors_
    assert errors is not None  # fit() sets it
    confusion = {}
    for worker in long["worker"].unique():
        given_by_true = (
            errors.loc[worker]
            .reindex(columns=list(labels))
            .reindex(index=list(labels), fill_value=0.0)
        )
        matrix = np.array(given_by_true, dtype=np.float64).T
        matrix[~np.isin(labels, errors.columns)] = np.nan
        confusion[str(worker)] = matrix
    return _from_posteriors(DAWID_SKENE, labels, posteriors, confusion=confusion)


def _mace(long: pd.DataFrame, n_items: int, labels: tuple[str, ...], seed: int) -> ModelGold:
    from crowdkit.aggregation import MACE

    # Every one of crowd-kit's restarts starts from the same random_state, so ten restarts give
    # what one does, ten times slower.
    model = MACE(n_restarts=1, random_state=seed).fit(long)
    posteriors = _posteriors(model.probas_, n_items, labels)
    # Rows of spamming_ and thetas_ follow the order in which workers (and labels) first appear,
    # as pd.factorize numbers them. spamming_ columns: spam, know; variational Bayes leaves each
    # row a little short of 1, so the competence is the "know" share of the row.
    workers = pd.unique(long["worker"])
    label_columns = [labels.index(str(label)) for label in pd.unique(long["label"])]
    competence, spam = {}, {}
    for row, worker in enumerate(workers):
        spamming = model.spamming_[row]
        competence[str(worker)] = float(spamming[1] / spamming.sum())
        distribution = np.zeros(len(labels))
        distribution[label_columns] = model.thetas_[row] / model.thetas_[row].sum()
        spam[str(worker)] = distribution
    return _from_posteriors(
        MACE_METHOD, labels, posteriors, competence=competence, spam_distribution=spam
    )


def _posteriors(probas: pd.DataFrame, n_items: int, labels: tuple[str, ...]) -> FloatArray:
    """crowd-kit's task x label probabilities as items x labels: NaN rows for unlabelled items,
    0 for a category nobody gave (the model cannot choose it)."""
    table = probas.reindex(columns=list(labels), fill_value=0.0).reindex(index=range(n_items))
    return np.array(table, dtype=np.float64)


def _from_posteriors(
    method: str, labels: tuple[str, ...], posteriors: FloatArray, **annotators: Any
) -> ModelGold:
    # Rows of unlabelled items are all NaN; the others hold no NaN.
    filled = np.nan_to_num(posteriors, nan=-1.0)
    best = filled.max(axis=1)
    tied = (filled >= best[:, None] - _TIE).sum(axis=1) > 1
    decided = (best >= 0) & ~tied
    choice = filled.argmax(axis=1)
    return ModelGold(
        method=method,
        labels=labels,
        gold=[labels[c] if d else None for c, d in zip(choice.tolist(), decided, strict=True)],
        probability=[float(b) if d else None for b, d in zip(best, decided, strict=True)],
        posteriors=posteriors,
        **annotators,
    )
