"""Model-based gold (analysis/aggregation.py) against crowd-kit called directly on the same
labels, and against the truth of seeded simulations whose annotators' error rates are known."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import MACE, DawidSkene

from analysis.aggregation import majority_vote, model_gold

CLASSES = ["complied", "not_complied", "neither"]
COMPLIED, NOT_COMPLIED, NEITHER = range(3)


def crowdkit_frame(ratings, names) -> pd.DataFrame:
    """The labels in crowd-kit's long format, built cell by cell."""
    rows = [
        (item, names[column], label)
        for item, row in enumerate(ratings)
        for column, label in enumerate(row)
        if label is not None
    ]
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def fit_quietly(model, frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # crowd-kit on pandas 3
        return model.fit(frame)


def simulate(seed, *, items, per_item, behaviour):
    """Items with a skewed true label, each labelled by ``per_item`` annotators of the pool.

    ``behaviour``: per annotator, an accuracy (right with that probability, else one of the
    other classes at random), "spammer" (any class at random) or "adversary" (swaps complied
    and not_complied, says neither when the truth is neither)."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, size=items, p=[0.3, 0.6, 0.1])
    ratings = np.full((items, len(behaviour)), None, dtype=object)
    for item in range(items):
        for column in rng.choice(len(behaviour), size=per_item, replace=False):
            kind = behaviour[column]
            given: int
            if kind == "spammer":
                given = int(rng.integers(3))
            elif kind == "adversary":
                given = {COMPLIED: NOT_COMPLIED, NOT_COMPLIED: COMPLIED}.get(truth[item], NEITHER)
            elif rng.random() < kind:
                given = int(truth[item])
            else:
                given = int(truth[item] + rng.integers(1, 3)) % 3
            ratings[item, column] = CLASSES[given]
    names = [
        f"{kind}{i}" if isinstance(kind, str) else f"good{i}" for i, kind in enumerate(behaviour)
    ]
    return np.array(CLASSES, dtype=object)[truth], ratings, names


def observed_confusion(given, truth):
    """P(label given | true label) counted from the simulation's truth, rows true labels."""
    counts = np.zeros((3, 3))
    for label, true in zip(given, truth, strict=True):
        if label is not None:
            counts[CLASSES.index(true), CLASSES.index(label)] += 1
    return counts / counts.sum(axis=1, keepdims=True)


def accuracy(gold, truth) -> float:
    return float(np.mean([g == t for g, t in zip(gold, truth, strict=True)]))


# --- the same figures as crowd-kit ------------------------------------------------------------


@pytest.fixture(scope="module")
def small_set():
    truth, ratings, names = simulate(
        1, items=80, per_item=3, behaviour=[0.9, 0.85, 0.8, 0.75, "spammer"]
    )
    ratings[:5, :] = None  # items nobody labelled
    ratings[5:10, :] = None  # items with a single label
    ratings[5:10, 0] = truth[5:10]
    return ratings, names


@pytest.fixture(scope="module")
def small_set_gold(small_set):
    ratings, names = small_set
    return model_gold(ratings, names, method="dawid_skene")


def test_dawid_skene_gives_crowdkits_posteriors_labels_and_confusion_matrices(
    small_set, small_set_gold
):
    ratings, names = small_set
    reference = fit_quietly(DawidSkene(n_iter=100), crowdkit_frame(ratings, names))
    result = small_set_gold

    assert result.reason == ""
    assert result.labels == ("complied", "not_complied", "neither")
    for item in range(len(ratings)):
        if item < 5:
            assert result.gold[item] is None and result.probability[item] is None
            assert np.isnan(result.posteriors[item]).all()
            continue
        # Items 5-9 have a single label, and get the model's posterior like any other.
        expected = reference.probas_.loc[item, list(result.labels)].to_numpy(dtype=float)
        np.testing.assert_allclose(result.posteriors[item], expected, atol=1e-12)
        assert result.gold[item] == reference.labels_.loc[item]
        assert result.probability[item] == pytest.approx(expected.max())
    for name in names:
        for t, true in enumerate(result.labels):
            for g, given in enumerate(result.labels):
                key = (name, given)
                expected = reference.errors_.loc[key, true] if key in reference.errors_.index else 0
                assert result.confusion[name][t, g] == pytest.approx(expected, abs=1e-12)
        # Each row (a true label) is a distribution over the labels given.
        np.testing.assert_allclose(result.confusion[name].sum(axis=1), 1)


def test_mace_gives_crowdkits_posteriors_and_competences(small_set):
    ratings, names = small_set
    frame = crowdkit_frame(ratings, names)
    # aggregation.py fits one restart: crowd-kit starts every restart from the same state, so
    # more restarts must give the same answer.
    reference = fit_quietly(MACE(n_restarts=2, random_state=7), frame)
    result = model_gold(ratings, names, method="mace", seed=7)

    labelled = range(5, len(ratings))
    expected = reference.probas_.loc[list(labelled), list(result.labels)].to_numpy(dtype=float)
    np.testing.assert_allclose(result.posteriors[5:], expected, atol=1e-12)
    assert result.gold[5:] == reference.labels_.loc[list(labelled)].tolist()
    worker_order = list(dict.fromkeys(frame["worker"]))
    for row, name in enumerate(worker_order):
        knows = reference.spamming_[row, 1] / reference.spamming_[row].sum()
        assert result.competence[name] == pytest.approx(knows)
    assert (
        result.competence["spammer4"]
        < 0.3
        < min(result.competence[name] for name in names if name != "spammer4")
    )
    for distribution in result.spam_distribution.values():
        assert distribution.sum() == pytest.approx(1)


# --- against the truth ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool_with_bad_annotators():
    behaviour = [0.9, 0.85, 0.85, 0.8, 0.8, "spammer", "spammer", "adversary"]
    truth, ratings, names = simulate(2, items=400, per_item=3, behaviour=behaviour)
    return truth, ratings, names, model_gold(ratings, names, method="dawid_skene")


def test_dawid_skene_recovers_a_spammers_and_an_adversarys_confusion_matrix(
    pool_with_bad_annotators,
):
    truth, ratings, names, result = pool_with_bad_annotators
    # Rows for the true labels complied and not_complied: neither is 10% of 400 items, about 15
    # per annotator, too few to estimate a row from.
    for spammer in ("spammer5", "spammer6"):
        rows = result.confusion[spammer][:2]
        assert np.abs(rows - 1 / 3).mean() < 0.12, rows
        assert np.diag(rows).max() < 0.6, rows
    adversary = result.confusion["adversary7"]
    assert adversary[COMPLIED, NOT_COMPLIED] > 0.85
    assert adversary[NOT_COMPLIED, COMPLIED] > 0.85
    # Against what each annotator actually did on these items (rows of some 45 and 90 labels).
    for column, name in enumerate(names):
        observed = observed_confusion(ratings[:, column], truth)[:2]
        error = np.abs(result.confusion[name][:2] - observed)
        assert error.mean() < 0.08 and error.max() < 0.2, (name, error)


def test_dawid_skene_is_closer_to_the_truth_than_majority_vote(pool_with_bad_annotators):
    truth, ratings, _, result = pool_with_bad_annotators
    majority = majority_vote(ratings)
    decided = [i for i, label in enumerate(majority) if label is not None]
    majority_decided = accuracy([majority[i] for i in decided], truth[decided])
    assert accuracy(result.gold, truth) > majority_decided + 0.05


# --- majority vote, ties ----------------------------------------------------------------------


def test_majority_vote_ignores_missing_labels_and_gives_none_on_a_tie():
    ratings: list[list[str | None]] = [
        ["a", "a", "b"],
        ["a", None, "b"],  # tie
        ["c", None, None],
        [None, None, None],
        ["a", "b", "c"],  # three-way tie
        ["b", "b", None],
    ]
    assert majority_vote(ratings) == ["a", None, "c", None, None, "b"]
    assert majority_vote([]) == []


def test_a_tied_posterior_gives_no_gold_where_crowdkit_picks_the_first_label():
    ratings: list[list[str | None]] = [["x", "x", "y"], ["y", "y", None], ["x", None, "z"]]
    reference = fit_quietly(DawidSkene(n_iter=100), crowdkit_frame(ratings, ["a", "b", "c"]))
    assert reference.probas_.loc[2, "x"] == pytest.approx(reference.probas_.loc[2, "z"])
    result = model_gold(ratings, ["a", "b", "c"])
    assert result.gold == ["x", "y", None]
    assert result.probability[2] is None
    np.testing.assert_allclose(result.posteriors[2], [0.5, 0, 0.5], atol=1e-9)


def test_categories_set_the_order_and_an_unused_one_gets_nothing(small_set, small_set_gold):
    ratings, names = small_set
    order = ["neither", "complied", "not_complied", "unsure"]
    result = model_gold(ratings, names, categories=order)
    plain = small_set_gold
    assert result.labels == tuple(order)
    assert result.gold == plain.gold
    np.testing.assert_allclose(result.posteriors[5:, 3], 0)
    np.testing.assert_allclose(result.posteriors[5:, :3], plain.posteriors[5:][:, [2, 0, 1]])
    assert np.isnan(result.confusion[names[0]][3]).all()  # nobody gave "unsure": no estimate


# --- data a model cannot learn from, bad input ------------------------------------------------


@pytest.mark.parametrize("method", ["dawid_skene", "mace"])
@pytest.mark.parametrize(
    ("ratings", "gold", "why"),
    [
        ([], [], "no labels"),
        ([[None, None], [None, None]], [None, None], "no labels"),
        ([["x", None], ["y", None], [None, None]], ["x", "y", None], "only one annotator"),
        ([["x", None], [None, "y"]], ["x", "y"], "no item was labelled twice"),
        ([["x", "x"], ["x", None], [None, None]], ["x", "x", None], "only one label"),
    ],
)
def test_data_without_anything_to_learn_gives_plain_gold_and_a_reason(method, ratings, gold, why):
    result = model_gold(ratings, method=method)
    assert why in result.reason
    assert result.gold == gold
    assert result.probability == [None] * len(gold)
    assert result.confusion == {} and result.competence == {}


def test_bad_input_names_the_field():
    with pytest.raises(ValueError, match="method"):
        model_gold([["x", "y"]], method="glad")
    with pytest.raises(ValueError, match="'maybe' is not one of categories"):
        model_gold([["x", "maybe"]], categories=["x", "y"])
    with pytest.raises(ValueError, match="annotators: 1 names for 2 columns"):
        model_gold([["x", "y"]], ["ann"])
    with pytest.raises(ValueError, match="annotators: every column needs its own name"):
        model_gold([["x", "y"]], ["ann", "ann"])
    with pytest.raises(ValueError, match="ratings: expected one row per item"):
        model_gold(["x", "y"])
    with pytest.raises(ValueError, match="ratings: expected one row per item"):
        model_gold([["x", "y"], ["x"]])
