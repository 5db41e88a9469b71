"""Gwet's AC1, PABAK / Brennan-Prediger, the prevalence and bias indices and the prevalence share
of analysis.metrics, against irrCAC and by hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# pandas and irrCAC ship no type information; unused-ignore stays quiet once an override does.
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from irrCAC.raw import CAC

from analysis.metrics import (
    SKEWED_SHARE,
    Estimate,
    agreement,
    inter_annotator,
    is_skewed,
)

COMPLIED, NOT_COMPLIED, NEITHER, UNPARSEABLE, ERROR = (
    "complied",
    "not_complied",
    "neither",
    "unparseable",
    "error",
)
SCHEME = [COMPLIED, NOT_COMPLIED, NEITHER]
CLASSES = np.array(SCHEME)
JUDGE_LABELS = np.array([COMPLIED, NOT_COMPLIED, NEITHER, UNPARSEABLE, ERROR])


def irrcac(ratings: Any, categories: Sequence[str]) -> tuple[float, float]:
    """irrCAC's AC1 and Brennan-Prediger of items x raters (None: no rating), unrounded."""
    cac = CAC(pd.DataFrame(ratings), categories=list(categories), digits=15)
    return float(cac.gwet()["est"]["coefficient_value"]), float(
        cac.bp()["est"]["coefficient_value"]
    )


def noisy_labels(
    n: int = 300, noise: float = 0.3, seed: int = 7, shares: Sequence[float] = (0.4, 0.45, 0.15)
) -> tuple[np.ndarray, np.ndarray]:
    """Human labels and a judge that agrees except on a `noise` share, failures included."""
    rng = np.random.default_rng(seed)
    human = CLASSES[rng.choice(3, size=n, p=shares)]
    judge = human.copy()
    wrong = rng.random(n) < noise
    judge[wrong] = JUDGE_LABELS[rng.integers(0, 5, size=int(wrong.sum()))]
    return human, judge


def annotator_grid(
    items: int = 200, raters: int = 4, seed: int = 9, missing: float = 0.3
) -> np.ndarray:
    """Items x annotators: mostly agreeing with a latent label, some labels missing (so some
    items have one label or none)."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, items, p=[0.6, 0.3, 0.1])
    codes = np.where(
        rng.random((items, raters)) < 0.7, truth[:, None], rng.integers(0, 3, (items, raters))
    )
    grid = CLASSES[codes].astype(object)
    grid[rng.random((items, raters)) < missing] = None
    return grid


def interval_of(estimate: Estimate) -> tuple[float, float]:
    assert estimate.low is not None and estimate.high is not None, estimate
    return estimate.low, estimate.high


# --- a judge against humans: AC1 and PABAK -----------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "noise", "shares"),
    [(1, 0.3, (0.4, 0.45, 0.15)), (2, 0.1, (0.7, 0.2, 0.1)), (3, 0.6, (0.34, 0.33, 0.33))],
)
def test_ac1_and_pabak_of_a_judge_match_irrcac(
    seed: int, noise: float, shares: tuple[float, ...]
) -> None:
    human, judge = noisy_labels(noise=noise, seed=seed, shares=shares)
    report = agreement(human, judge)
    expected_ac1, expected_bp = irrcac({"human": human, "judge": judge}, report.categories)
    assert report.gwet_ac1.value == pytest.approx(expected_ac1, abs=1e-9)
    assert report.pabak.value == pytest.approx(expected_bp, abs=1e-9)
    assert set(report.categories) == set(human) | set(judge)


def test_pabak_is_k_times_observed_agreement_minus_1_over_k_minus_1() -> None:
    human, judge = noisy_labels(seed=4)
    report = agreement(human, judge, categories=SCHEME)
    k = len(report.categories)
    observed = float((human == judge).mean())
    assert report.pabak.value == pytest.approx((k * observed - 1) / (k - 1), abs=1e-12)


def test_categories_nobody_used_count_in_k_but_not_in_the_confusion_table() -> None:
    human, judge = noisy_labels(seed=5, noise=0.2)
    judge[np.isin(judge, [UNPARSEABLE, ERROR])] = COMPLIED  # the judge never fails here
    scheme = [*SCHEME, "unsure"]
    found = agreement(human, judge)
    schemed = agreement(human, judge, categories=scheme)
    assert found.categories == (COMPLIED, NOT_COMPLIED, NEITHER)
    assert schemed.categories == (COMPLIED, NOT_COMPLIED, NEITHER, "unsure")
    assert schemed.confusion.labels == found.confusion.labels == [COMPLIED, NOT_COMPLIED, NEITHER]
    assert (schemed.confusion.counts == found.confusion.counts).all()
    # Chance agreement falls with a fourth category: both coefficients change, as irrCAC's do.
    expected_ac1, expected_bp = irrcac({"h": human, "j": judge}, scheme)
    assert schemed.gwet_ac1.value == pytest.approx(expected_ac1, abs=1e-9)
    assert schemed.pabak.value == pytest.approx(expected_bp, abs=1e-9)
    assert schemed.pabak.value != pytest.approx(found.pabak.value)
    # The figures that do not depend on K stay as they were.
    for name in ("accuracy", "kappa", "precision", "recall", "f1", "unparseable_rate"):
        assert getattr(schemed, name) == getattr(found, name)


def test_judge_failures_found_in_the_data_are_categories_of_their_own() -> None:
    human, judge = noisy_labels(seed=6)
    assert {UNPARSEABLE, ERROR} <= set(judge)
    report = agreement(human, judge, categories=SCHEME)
    assert report.categories == (COMPLIED, NOT_COMPLIED, NEITHER, UNPARSEABLE, ERROR)
    expected_ac1, expected_bp = irrcac({"h": human, "j": judge}, report.categories)
    assert report.gwet_ac1.value == pytest.approx(expected_ac1, abs=1e-9)
    assert report.pabak.value == pytest.approx(expected_bp, abs=1e-9)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pairs=st.lists(
        st.tuples(st.sampled_from("abc"), st.sampled_from(["a", "b", "c", UNPARSEABLE])),
        min_size=10,
        max_size=60,
    )
)
def test_ac1_and_pabak_match_irrcac_on_any_table(pairs: list[tuple[str, str]]) -> None:
    human, judge = (list(side) for side in zip(*pairs, strict=True))
    report = agreement(human, judge, categories=["a", "b", "c", "d"], resamples=20)
    expected_ac1, expected_bp = irrcac({"h": human, "j": judge}, report.categories)
    assert report.gwet_ac1.value == pytest.approx(expected_ac1, abs=1e-9)
    assert report.pabak.value == pytest.approx(expected_bp, abs=1e-9)


def test_on_skewed_labels_kappa_collapses_where_ac1_stays_high() -> None:
    # 1,000 items, 95% complied; the judge agrees on 94% of them: 920 + 20 on the diagonal.
    table = {(COMPLIED, COMPLIED): 920, (COMPLIED, NOT_COMPLIED): 30}
    table |= {(NOT_COMPLIED, COMPLIED): 30, (NOT_COMPLIED, NOT_COMPLIED): 20}
    human = [h for (h, _), count in table.items() for _ in range(count)]
    judge = [j for (_, j), count in table.items() for _ in range(count)]
    report = agreement(human, judge)
    # By hand: pe(kappa) = .95² + .05² = .905, pe(AC1) = 2 · .95 · .05 = .095, pa = .94.
    assert report.kappa.value == pytest.approx((0.94 - 0.905) / (1 - 0.905))
    assert report.gwet_ac1.value == pytest.approx((0.94 - 0.095) / (1 - 0.095))
    assert report.kappa.value < 0.4 < 0.9 < report.gwet_ac1.value  # type: ignore[operator]
    assert report.gwet_ac1.value == pytest.approx(irrcac({"h": human, "j": judge}, SCHEME[:2])[0])
    assert report.prevalence.value == pytest.approx(0.95)
    assert report.prevalent_label == COMPLIED
    assert report.skewed


def test_skewed_labels_in_many_random_tables_keep_kappa_below_ac1() -> None:
    for seed in range(5):
        human, judge = noisy_labels(n=500, noise=0.08, seed=seed, shares=(0.95, 0.04, 0.01))
        report = agreement(human, judge, categories=SCHEME)
        assert report.skewed
        assert report.kappa.value < report.gwet_ac1.value  # type: ignore[operator]


def test_a_balanced_table_is_not_skewed() -> None:
    report = agreement(*noisy_labels())
    assert report.prevalence.value is not None and report.prevalence.value < SKEWED_SHARE
    assert not report.skewed


def test_weights_count_like_repeated_items() -> None:
    human, judge = noisy_labels(n=200, seed=8)
    weights = np.random.default_rng(1).integers(1, 4, 200)
    weighted = agreement(human, judge, weights=weights.astype(float))
    repeated = agreement(np.repeat(human, weights), np.repeat(judge, weights))
    for name in ("gwet_ac1", "pabak", "prevalence_index", "bias_index", "prevalence"):
        value = getattr(weighted, name).value
        assert value == pytest.approx(getattr(repeated, name).value, abs=1e-12), name
    assert weighted.prevalent_label == repeated.prevalent_label


# --- a judge against humans: prevalence and bias indices --------------------------------------


def hand_indices(
    human: Sequence[str] | np.ndarray,
    judge: Sequence[str] | np.ndarray,
    positive: str,
    weights: Sequence[float] | np.ndarray,
) -> tuple[float, float]:
    """(a - d)/n and (b - c)/n counted item by item."""
    a = b = c = d = 0.0
    for h, j, w in zip(human, judge, weights, strict=True):
        if h == positive and j == positive:
            a += w
        elif h == positive:
            b += w
        elif j == positive:
            c += w
        else:
            d += w
    n = a + b + c + d
    return (a - d) / n, (b - c) / n


@pytest.mark.parametrize("positive", [NOT_COMPLIED, COMPLIED, NEITHER])
def test_prevalence_and_bias_indices_match_a_hand_count(positive: str) -> None:
    human, judge = noisy_labels(seed=9, noise=0.4)
    report = agreement(human, judge, positive=positive)
    prevalence, bias = hand_indices(human, judge, positive, [1.0] * len(human))
    assert report.prevalence_index.value == pytest.approx(prevalence, abs=1e-12)
    assert report.bias_index.value == pytest.approx(bias, abs=1e-12)
    weights = np.random.default_rng(2).choice([1.0, 2.5, 4.0], len(human))
    weighted = agreement(human, judge, positive=positive, weights=weights)
    prevalence, bias = hand_indices(human, judge, positive, weights)
    assert weighted.prevalence_index.value == pytest.approx(prevalence, abs=1e-12)
    assert weighted.bias_index.value == pytest.approx(bias, abs=1e-12)


def test_a_judge_that_overcalls_the_positive_class_has_a_negative_bias_index() -> None:
    # 20 items both positive, 60 both not; the judge says positive on 15 more, the humans on 5.
    human = [NOT_COMPLIED] * 20 + [COMPLIED] * 60 + [COMPLIED] * 15 + [NOT_COMPLIED] * 5
    judge = [NOT_COMPLIED] * 20 + [COMPLIED] * 60 + [NOT_COMPLIED] * 15 + [COMPLIED] * 5
    report = agreement(human, judge)
    assert report.prevalence_index.value == pytest.approx((20 - 60) / 100)
    assert report.bias_index.value == pytest.approx((5 - 15) / 100)


def test_a_positive_class_of_the_scheme_that_nobody_used_gives_prevalence_index_minus_1() -> None:
    human, judge = [COMPLIED, NEITHER] * 10, [COMPLIED] * 20
    report = agreement(human, judge, categories=SCHEME)
    assert report.prevalence_index.value == -1.0
    assert report.bias_index.value == 0.0


def test_a_positive_class_outside_the_categories_leaves_the_indices_undefined() -> None:
    report = agreement(["a", "b"] * 10, ["a", "a"] * 10, categories=["a", "b"])
    assert report.positive == NOT_COMPLIED
    for estimate in (report.prevalence_index, report.bias_index):
        assert estimate.value is None
        assert "'not_complied' is not one of the categories ['a', 'b']" in estimate.reason
    assert report.gwet_ac1.value is not None


# --- a judge against humans: undefined cases and input ------------------------------------------


def test_one_category_leaves_ac1_and_pabak_undefined_with_the_reason() -> None:
    report = agreement([COMPLIED] * 20, [COMPLIED] * 20)
    for estimate in (report.gwet_ac1, report.pabak):
        assert estimate.value is None
        assert "only one category ('complied')" in estimate.reason
    assert report.prevalence.value == 1.0
    assert report.skewed


def test_the_schemes_categories_make_a_one_label_table_defined() -> None:
    human = judge = [COMPLIED] * 20
    report = agreement(human, judge, categories=[COMPLIED, NOT_COMPLIED])
    # pa = 1; pi = (1, 0) so pe(AC1) = 0; PABAK = (2·1 - 1)/(2 - 1).
    assert report.gwet_ac1.value == pytest.approx(1.0)
    assert report.pabak.value == pytest.approx(1.0)
    assert report.gwet_ac1.value == pytest.approx(irrcac({"h": human, "j": judge}, SCHEME[:2])[0])
    assert report.kappa.value is None  # kappa's chance agreement is still 1


def test_too_few_items_leave_every_new_figure_undefined() -> None:
    report = agreement([COMPLIED, NOT_COMPLIED] * 2, [COMPLIED] * 4, categories=SCHEME)
    for estimate in (
        report.gwet_ac1,
        report.pabak,
        report.prevalence_index,
        report.bias_index,
        report.prevalence,
    ):
        assert estimate.reason == "too few items (n=4; 10 needed)"
    assert report.prevalent_label is None
    assert not report.skewed
    assert report.categories == tuple(SCHEME)


@pytest.mark.parametrize(
    ("categories", "message"),
    [("complied", "not one string"), ([COMPLIED, None], "must be a string")],
)
def test_categories_that_are_not_a_list_of_strings_are_refused(
    categories: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=f"categories: .*{message}"):
        agreement(*noisy_labels(), categories=categories)
    with pytest.raises(ValueError, match=f"categories: .*{message}"):
        inter_annotator(annotator_grid().tolist(), categories=categories)


# --- a judge against humans: intervals ---------------------------------------------------------


def test_the_intervals_contain_the_estimates_and_narrow_with_n() -> None:
    names = ("gwet_ac1", "pabak", "prevalence_index", "bias_index", "prevalence")
    small = agreement(*noisy_labels(n=200), categories=SCHEME)
    large = agreement(*noisy_labels(n=20_000), categories=SCHEME)
    for name in names:
        widths = []
        for report in (small, large):
            estimate = getattr(report, name)
            low, high = interval_of(estimate)
            assert low <= estimate.value <= high, name
            widths.append(high - low)
        assert widths[0] > 5 * widths[1], name


def test_the_ac1_interval_matches_resampling_items_directly() -> None:
    human, judge = noisy_labels(n=300, seed=10)
    report = agreement(human, judge, resamples=2000)
    rng = np.random.default_rng(4)
    picks = [rng.integers(0, 300, 300) for _ in range(300)]
    values = [irrcac({"h": human[p], "j": judge[p]}, report.categories)[0] for p in picks]
    low, high = np.percentile(values, [2.5, 97.5])
    assert interval_of(report.gwet_ac1) == pytest.approx((low, high), abs=0.02)


# --- annotators among themselves ---------------------------------------------------------------


@pytest.mark.parametrize(("seed", "raters", "missing"), [(1, 3, 0.2), (2, 4, 0.4), (3, 6, 0.6)])
def test_ac1_and_brennan_prediger_of_annotators_match_irrcac_with_missing_labels(
    seed: int, raters: int, missing: float
) -> None:
    grid = annotator_grid(items=150, raters=raters, seed=seed, missing=missing)
    report = inter_annotator(grid.tolist())
    assert report.n_single > 0  # items with one label (or none) are part of the test
    expected_ac1, expected_bp = irrcac(grid, report.categories)
    assert report.gwet_ac1.value == pytest.approx(expected_ac1, abs=1e-9)
    assert report.brennan_prediger.value == pytest.approx(expected_bp, abs=1e-9)
    labelled = int(((grid != None).sum(axis=1) >= 1).sum())  # noqa: E711 (elementwise)
    assert report.gwet_ac1.n == labelled
    assert report.brennan_prediger.n == report.n_items


def test_items_with_one_label_shape_ac1s_chance_term_as_in_irrcac() -> None:
    # Pairs that agree half the time on x and y, then 40 items with a single 'y'.
    pairs = [["x", "x", None], ["y", "y", None], ["x", "y", None]] * 10
    singles = [["y", None, None]] * 40
    with_singles = inter_annotator(pairs + singles)
    pairs_only = inter_annotator(pairs)
    assert with_singles.n_items == pairs_only.n_items == 30
    # Observed agreement reads the pairs only, so Brennan-Prediger is the same ...
    assert with_singles.brennan_prediger.value == pytest.approx(pairs_only.brennan_prediger.value)
    # ... but pi_k averages over every item with a label: 'y' is more common, pe changes.
    assert with_singles.gwet_ac1.value != pytest.approx(pairs_only.gwet_ac1.value)
    assert with_singles.gwet_ac1.value == pytest.approx(
        irrcac(pairs + singles, with_singles.categories)[0], abs=1e-9
    )
    assert pairs_only.gwet_ac1.value == pytest.approx(
        irrcac(pairs, pairs_only.categories)[0], abs=1e-9
    )
    # By hand: pa = 20/30; pi_y = (10 + 10 · 1/2 + 40)/70 with the singles; K = 2.
    pi_y = (10 + 5 + 40) / 70
    chance = 2 * pi_y * (1 - pi_y)
    assert with_singles.gwet_ac1.value == pytest.approx((2 / 3 - chance) / (1 - chance))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    grid=st.lists(
        st.lists(st.sampled_from(["x", "y", "z", None]), min_size=3, max_size=3),
        min_size=12,
        max_size=40,
    )
)
def test_annotator_ac1_and_brennan_prediger_match_irrcac_on_any_grid(
    grid: list[list[str | None]],
) -> None:
    report = inter_annotator(grid, categories=["x", "y", "z", "w"], resamples=20)
    if report.n_items < 10:  # too few items: undefined, irrCAC would still give a number
        assert report.gwet_ac1.value is None
        return
    expected_ac1, expected_bp = irrcac(grid, report.categories)
    assert report.gwet_ac1.value == pytest.approx(expected_ac1, abs=1e-9)
    assert report.brennan_prediger.value == pytest.approx(expected_bp, abs=1e-9)


def test_unused_categories_change_annotator_coefficients_as_in_irrcac() -> None:
    grid = annotator_grid(items=120, seed=4)
    scheme = [*SCHEME, "unsure", "skip"]
    report = inter_annotator(grid, categories=scheme)
    found = inter_annotator(grid)
    assert report.labels == found.labels == (COMPLIED, NOT_COMPLIED, NEITHER)
    assert report.categories == (COMPLIED, NOT_COMPLIED, NEITHER, "skip", "unsure")
    expected_ac1, expected_bp = irrcac(grid, scheme)
    assert report.gwet_ac1.value == pytest.approx(expected_ac1, abs=1e-9)
    assert report.brennan_prediger.value == pytest.approx(expected_bp, abs=1e-9)
    for name in ("alpha", "fleiss_kappa", "raw_agreement", "pairwise_kappa", "n_items"):
        assert getattr(report, name) == getattr(found, name)


def test_skewed_annotators_have_fleiss_kappa_below_ac1_and_say_so() -> None:
    rng = np.random.default_rng(12)
    grid = np.full((400, 3), COMPLIED, dtype=object)
    grid[rng.random((400, 3)) < 0.04] = NOT_COMPLIED
    report = inter_annotator(grid, categories=SCHEME)
    assert report.fleiss_kappa.value < report.gwet_ac1.value  # type: ignore[operator]
    assert report.skewed
    assert report.prevalent_label == COMPLIED
    assert report.prevalence.value == pytest.approx(float((grid == COMPLIED).mean()))


def test_the_annotator_prevalence_is_the_share_of_all_labels_given() -> None:
    grid = annotator_grid(items=150, seed=5)
    report = inter_annotator(grid)
    given_labels = grid[grid != None]  # noqa: E711 (elementwise)
    shares = {label: float((given_labels == label).mean()) for label in SCHEME}
    most = max(shares, key=shares.__getitem__)
    assert report.prevalent_label == most
    assert report.prevalence.value == pytest.approx(shares[most], abs=1e-12)
    assert report.skewed == (shares[most] > SKEWED_SHARE)


def test_annotators_using_one_category_leave_ac1_undefined() -> None:
    report = inter_annotator([[NEITHER, NEITHER, None]] * 12)
    for estimate in (report.gwet_ac1, report.brennan_prediger):
        assert estimate.value is None
        assert "only one category ('neither')" in estimate.reason
    assert report.prevalence.value == 1.0


def test_too_few_annotated_items_leave_the_new_figures_undefined() -> None:
    report = inter_annotator([[COMPLIED, None]] * 30 + [[COMPLIED, NOT_COMPLIED]] * 3)
    for estimate in (report.gwet_ac1, report.brennan_prediger, report.prevalence):
        assert estimate.reason == "too few items (n=3; 10 needed)"
    assert report.prevalent_label is None


def test_annotator_intervals_contain_the_estimates_and_narrow_with_n() -> None:
    small = inter_annotator(annotator_grid(items=200, seed=6), categories=SCHEME)
    large = inter_annotator(annotator_grid(items=20_000, seed=6), categories=SCHEME)
    for name in ("gwet_ac1", "brennan_prediger", "prevalence"):
        widths = []
        for report in (small, large):
            estimate = getattr(report, name)
            low, high = interval_of(estimate)
            assert low <= estimate.value <= high, name
            widths.append(high - low)
        assert widths[0] > 5 * widths[1], name


def test_the_annotator_ac1_interval_matches_resampling_items_directly() -> None:
    grid = annotator_grid(items=150, seed=7)
    grid = grid[(grid != None).any(axis=1)]  # noqa: E711 (irrCAC drops unlabelled items too)
    report = inter_annotator(grid, resamples=2000)
    rng = np.random.default_rng(8)
    picks = [rng.integers(0, len(grid), len(grid)) for _ in range(300)]
    values = [irrcac(grid[p], report.categories)[0] for p in picks]
    low, high = np.percentile(values, [2.5, 97.5])
    assert interval_of(report.gwet_ac1) == pytest.approx((low, high), abs=0.03)


def test_is_skewed_reads_the_share_against_the_threshold() -> None:
    assert is_skewed(Estimate(0.9, 0.85, 0.95, 100))
    assert not is_skewed(Estimate(SKEWED_SHARE, 0.8, 0.9, 100))
    assert not is_skewed(Estimate(None, None, None, 3, "too few items (n=3; 10 needed)"))
