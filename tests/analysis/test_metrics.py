"""analysis.metrics against scikit-learn, statsmodels and krippendorff, and by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    precision_recall_fscore_support,
)
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from analysis.metrics import (
    MIN_ITEMS,
    Estimate,
    agreement,
    calibrate_threshold,
    compare_judges,
    compliance_rate,
    inter_annotator,
    judge_corrected_rate,
)

REPO = Path(__file__).resolve().parent.parent.parent
COMPLIED, NOT_COMPLIED, NEITHER, UNPARSEABLE, ERROR = (
    "complied",
    "not_complied",
    "neither",
    "unparseable",
    "error",
)
CLASSES = np.array([COMPLIED, NOT_COMPLIED, NEITHER])
JUDGE_LABELS = np.array([COMPLIED, NOT_COMPLIED, NEITHER, UNPARSEABLE, ERROR])


def noisy_labels(n: int = 200, noise: float = 0.3, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Human labels and a judge that agrees except on a `noise` share, failures included."""
    rng = np.random.default_rng(seed)
    human = CLASSES[rng.choice(3, size=n, p=[0.4, 0.45, 0.15])]
    judge = human.copy()
    wrong = rng.random(n) < noise
    judge[wrong] = JUDGE_LABELS[rng.integers(0, 5, size=int(wrong.sum()))]
    return human, judge


def stratum_weights(n: int = 200, seed: int = 3) -> np.ndarray:
    """Sampling weights with one value per stratum, as a stratified sample has."""
    return np.random.default_rng(seed).choice([1.0, 2.5, 4.0], size=n)


# --- the module -------------------------------------------------------------------------------


def test_the_module_imports_nothing_from_django() -> None:
    code = (
        "import sys, analysis.metrics; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_an_estimate_prints_value_interval_and_n_or_its_reason() -> None:
    assert str(Estimate(0.6249, 0.55, 0.6912, 120)) == "0.62 [0.55, 0.69] n=120"
    assert str(Estimate(None, None, None, 3, "too few items (n=3; 10 needed)")) == (
        "too few items (n=3; 10 needed)"
    )
    assert str(Estimate(0.5, None, None, 40)) == "0.50 n=40"


# --- agreement against scikit-learn -----------------------------------------------------------


def test_agreement_matches_sklearn_on_noisy_labels() -> None:
    human, judge = noisy_labels()
    report = agreement(human, judge)
    labels = report.confusion.labels
    assert labels == [COMPLIED, NOT_COMPLIED, NEITHER, UNPARSEABLE, ERROR]
    expected = confusion_matrix(human, judge, labels=labels)
    np.testing.assert_array_equal(report.confusion.counts, expected)
    assert report.accuracy.value == pytest.approx(accuracy_score(human, judge), abs=1e-9)
    assert report.kappa.value == pytest.approx(cohen_kappa_score(human, judge), abs=1e-9)
    precision, recall, f1, _ = precision_recall_fscore_support(
        human, judge, labels=[NOT_COMPLIED], average=None
    )
    assert report.precision.value == pytest.approx(precision[0], abs=1e-9)
    assert report.recall.value == pytest.approx(recall[0], abs=1e-9)
    assert report.f1.value == pytest.approx(f1[0], abs=1e-9)
    failed = np.isin(judge, [UNPARSEABLE, ERROR]).mean()
    assert report.unparseable_rate.value == pytest.approx(failed, abs=1e-9)
    assert report.n == 200
    assert not report.weighted


def test_weighted_agreement_matches_sklearn_with_sample_weight() -> None:
    human, judge = noisy_labels()
    weights = stratum_weights()
    report = agreement(human, judge, weights=weights)
    labels = report.confusion.labels
    expected = confusion_matrix(human, judge, labels=labels, sample_weight=weights)
    assert report.confusion.weighted_counts is not None
    np.testing.assert_allclose(report.confusion.weighted_counts, expected, atol=1e-9)
    np.testing.assert_array_equal(
        report.confusion.counts, confusion_matrix(human, judge, labels=labels)
    )
    assert report.accuracy.value == pytest.approx(
        accuracy_score(human, judge, sample_weight=weights), abs=1e-9
    )
    assert report.kappa.value == pytest.approx(
        cohen_kappa_score(human, judge, sample_weight=weights), abs=1e-9
    )
    precision, recall, f1, _ = precision_recall_fscore_support(
        human, judge, labels=[NOT_COMPLIED], average=None, sample_weight=weights
    )
    assert (report.precision.value, report.recall.value, report.f1.value) == pytest.approx(
        (precision[0], recall[0], f1[0]), abs=1e-9
    )
    assert report.weighted


def test_precision_recall_f1_follow_the_positive_class() -> None:
    human, judge = noisy_labels()
    report = agreement(human, judge, positive=COMPLIED)
    precision, recall, f1, _ = precision_recall_fscore_support(
        human, judge, labels=[COMPLIED], average=None
    )
    assert (report.precision.value, report.recall.value, report.f1.value) == pytest.approx(
        (precision[0], recall[0], f1[0]), abs=1e-9
    )


def test_agreement_takes_any_strings_of_other_schemes() -> None:
    rng = np.random.default_rng(1)
    human = np.array(["harmful", "safe", "unsure"])[rng.integers(0, 3, 100)]
    judge = np.where(rng.random(100) < 0.8, human, "safe")
    report = agreement(human.tolist(), judge.tolist(), positive="harmful")
    assert report.confusion.labels == ["harmful", "safe", "unsure"]
    assert report.kappa.value == pytest.approx(cohen_kappa_score(human, judge), abs=1e-9)


# --- agreement by hand ------------------------------------------------------------------------


def test_all_agree_on_several_classes_gives_accuracy_1_and_kappa_1() -> None:
    labels = [COMPLIED, NOT_COMPLIED, NEITHER] * 10
    report = agreement(labels, labels)
    assert report.accuracy.value == 1.0
    assert report.kappa.value == pytest.approx(1.0)
    assert report.kappa.low == pytest.approx(1.0)


def test_complete_disagreement_on_a_balanced_2x2_table_gives_kappa_minus_1() -> None:
    human = [COMPLIED, NOT_COMPLIED] * 10
    judge = [NOT_COMPLIED, COMPLIED] * 10
    report = agreement(human, judge)
    assert report.accuracy.value == 0.0
    assert report.kappa.value == pytest.approx(-1.0)


def test_one_class_only_leaves_kappa_undefined_with_the_reason() -> None:
    report = agreement([COMPLIED] * 20, [COMPLIED] * 20)
    assert report.accuracy.value == 1.0
    assert report.kappa.value is None
    assert report.kappa.reason == (
        "kappa undefined: every label is 'complied' (chance agreement is 1)"
    )
    assert report.precision.value is None
    assert "never said 'not_complied'" in report.precision.reason


def test_neither_and_judge_failures_are_rows_and_columns_of_their_own() -> None:
    human = [COMPLIED] * 5 + [NEITHER] * 5 + [NOT_COMPLIED] * 5
    judge = [COMPLIED] * 4 + [UNPARSEABLE] + [NEITHER] * 4 + [ERROR] + [NOT_COMPLIED] * 5
    report = agreement(human, judge)
    confusion = report.confusion
    assert confusion.labels == [COMPLIED, NOT_COMPLIED, NEITHER, UNPARSEABLE, ERROR]
    assert confusion.count(COMPLIED, UNPARSEABLE) == 1
    assert confusion.count(NEITHER, ERROR) == 1
    assert confusion.count(NEITHER, NEITHER) == 4
    assert confusion.counts.sum() == 15
    # A judge failure is a wrong answer.
    assert report.accuracy.value == pytest.approx(13 / 15)
    assert report.unparseable_rate.value == pytest.approx(2 / 15)


def test_too_few_items_give_a_reason_instead_of_a_value() -> None:
    report = agreement([COMPLIED, NOT_COMPLIED, COMPLIED], [COMPLIED, COMPLIED, COMPLIED])
    assert report.kappa.value is None
    assert report.kappa.reason == f"too few items (n=3; {MIN_ITEMS} needed)"
    assert report.accuracy.reason == report.kappa.reason
    assert report.confusion.count(NOT_COMPLIED, COMPLIED) == 1


def test_no_items_say_so() -> None:
    report = agreement([], [])
    assert report.n == 0
    assert report.kappa.reason == "no items"
    assert compliance_rate([]).rate.reason == "no items"


def test_labels_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="one label per item"):
        agreement([COMPLIED] * 3, [COMPLIED] * 4)


def test_a_missing_label_is_refused_not_skipped() -> None:
    with pytest.raises(ValueError, match="None"):
        agreement([COMPLIED] * 12, [COMPLIED] * 11 + [None])  # type: ignore[list-item]


# --- bootstrap intervals ----------------------------------------------------------------------


def test_the_interval_contains_the_estimate_and_narrows_with_n() -> None:
    small = agreement(*noisy_labels(n=200))
    large = agreement(*noisy_labels(n=20_000))
    for report in (small, large):
        for estimate in (report.accuracy, report.kappa, report.precision, report.f1):
            assert estimate.low is not None and estimate.high is not None
            assert estimate.low <= estimate.value <= estimate.high  # type: ignore[operator]
    assert small.kappa.high - small.kappa.low > 5 * (large.kappa.high - large.kappa.low)  # type: ignore[operator]


def test_the_same_seed_gives_the_same_interval_and_another_seed_another() -> None:
    human, judge = noisy_labels()
    assert agreement(human, judge, seed=4).kappa == agreement(human, judge, seed=4).kappa
    assert agreement(human, judge, seed=4).kappa != agreement(human, judge, seed=5).kappa


def test_the_bootstrap_interval_of_accuracy_matches_the_normal_approximation() -> None:
    human, judge = noisy_labels(n=50_000)
    accuracy = agreement(human, judge, resamples=4000).accuracy
    assert accuracy.value is not None and accuracy.low is not None and accuracy.high is not None
    half_width = 1.959964 * np.sqrt(accuracy.value * (1 - accuracy.value) / 50_000)
    assert (accuracy.high - accuracy.low) / 2 == pytest.approx(half_width, rel=0.08)


def test_the_weighted_bootstrap_matches_resampling_items_directly() -> None:
    human, judge = noisy_labels(n=400)
    weights = stratum_weights(n=400)
    report = agreement(human, judge, weights=weights, resamples=2000)
    # The plain bootstrap: draw 400 item indices 2000 times, weighted tables, kappa of each.
    labels = report.confusion.labels
    position = {label: i for i, label in enumerate(labels)}
    k = len(labels)
    cells = np.array([position[h] * k + position[j] for h, j in zip(human, judge, strict=True)])
    picked = np.random.default_rng(11).integers(0, 400, (2000, 400))
    flat = (np.arange(2000)[:, None] * k * k + cells[picked]).ravel()
    tables = np.bincount(flat, weights=weights[picked].ravel(), minlength=2000 * k * k)
    tables = tables.reshape(2000, k, k)
    total = tables.sum(axis=(1, 2))
    observed = np.trace(tables, axis1=1, axis2=2) / total
    chance = (tables.sum(axis=2) * tables.sum(axis=1)).sum(axis=1) / total**2
    low, high = np.percentile((observed - chance) / (1 - chance), [2.5, 97.5])
    assert report.kappa.low == pytest.approx(low, abs=0.01)
    assert report.kappa.high == pytest.approx(high, abs=0.01)


def test_weights_with_many_distinct_values_still_get_an_interval() -> None:
    human, judge = noisy_labels(n=5000)
    weights = np.random.default_rng(2).uniform(1, 3, 5000)
    report = agreement(human, judge, weights=weights, resamples=200)
    assert report.kappa.value == pytest.approx(
        cohen_kappa_score(human, judge, sample_weight=weights), abs=1e-9
    )
    assert report.kappa.low < report.kappa.value < report.kappa.high  # type: ignore[operator]


# --- reweighting ------------------------------------------------------------------------------


def test_inverse_probability_weights_recover_the_population_accuracy() -> None:
    rng = np.random.default_rng(5)
    size = 200_000
    # Two strata: the judge is right 90% of the time on the common one and 50% on the rare one.
    rare = rng.random(size) < 0.1
    human = CLASSES[rng.integers(0, 2, size)]
    right = rng.random(size) < np.where(rare, 0.5, 0.9)
    judge = np.where(right, human, np.where(human == COMPLIED, NOT_COMPLIED, COMPLIED))
    population = float((human == judge).mean())
    # The rare stratum is oversampled: 30% of it, 2% of the rest.
    inclusion = np.where(rare, 0.3, 0.02)
    sampled = rng.random(size) < inclusion
    weights = 1 / inclusion[sampled]
    weighted = agreement(human[sampled], judge[sampled], weights=weights).accuracy
    unweighted = agreement(human[sampled], judge[sampled]).accuracy
    assert weighted.value == pytest.approx(population, abs=0.01)
    assert weighted.low < population < weighted.high  # type: ignore[operator]
    assert abs(unweighted.value - population) > 0.1  # type: ignore[operator]


# --- compliance rate --------------------------------------------------------------------------


def test_compliance_rate_keeps_neither_in_and_failures_out_of_the_denominator() -> None:
    labels = [COMPLIED] * 30 + [NOT_COMPLIED] * 50 + [NEITHER] * 20 + [UNPARSEABLE] * 7 + [ERROR]
    report = compliance_rate(labels)
    assert report.rate.value == pytest.approx(30 / 100)
    assert (report.judged, report.complied, report.not_complied, report.neither) == (
        100,
        30,
        50,
        20,
    )
    assert report.failed == 8
    assert report.rate.low < 0.3 < report.rate.high  # type: ignore[operator]
    assert compliance_rate(labels, higher_is_compliance=False).rate.value == pytest.approx(0.5)


def test_weighted_compliance_rate_is_the_weighted_share() -> None:
    labels = np.array([COMPLIED, NOT_COMPLIED, NEITHER, UNPARSEABLE] * 25)
    weights = np.tile([1.0, 2.0, 1.0, 5.0], 25)
    assert compliance_rate(labels, weights=weights).rate.value == pytest.approx(1 / 4)


def test_compliance_rate_refuses_labels_outside_the_canonical_five() -> None:
    with pytest.raises(ValueError, match="maybe"):
        compliance_rate([COMPLIED] * 10 + ["maybe"])


def test_compliance_rate_of_too_few_judged_items_says_so() -> None:
    report = compliance_rate([COMPLIED] * 4 + [ERROR] * 20)
    assert report.rate.value is None
    assert report.rate.reason == "too few items (n=4; 10 needed)"
    assert report.failed == 20


# --- inter-annotator agreement ----------------------------------------------------------------


def annotator_grid(items: int = 200, raters: int = 4, seed: int = 9) -> np.ndarray:
    """Items x annotators: mostly agreeing with a latent label, some missing ratings."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, items)
    codes = np.where(
        rng.random((items, raters)) < 0.75, truth[:, None], rng.integers(0, 3, (items, raters))
    )
    grid = CLASSES[codes].astype(object)
    grid[rng.random((items, raters)) < 0.2] = None
    return grid


def test_alpha_matches_krippendorff_with_missing_ratings() -> None:
    grid = annotator_grid()
    report = inter_annotator(grid.tolist())
    codes = np.full(grid.shape, np.nan)
    for index, label in enumerate(CLASSES):
        codes[grid == label] = index
    expected = krippendorff.alpha(reliability_data=codes.T, level_of_measurement="nominal")
    assert report.alpha.value == pytest.approx(expected, abs=1e-9)
    assert report.n_items == int(((~np.isnan(codes)).sum(axis=1) >= 2).sum())
    assert report.n_single == 200 - report.n_items


def test_fleiss_kappa_matches_statsmodels_on_the_items_with_the_modal_number_of_raters() -> None:
    grid = annotator_grid()
    report = inter_annotator(grid)
    rated = (grid != None).sum(axis=1)  # noqa: E711 (elementwise)
    modal = int(np.argmax(np.bincount(rated)))
    assert report.fleiss_raters == modal
    equal = grid[rated == modal]
    codes = np.array([[list(CLASSES).index(v) for v in row if v is not None] for row in equal])
    table, _ = aggregate_raters(codes, n_cat=3)
    assert report.fleiss_kappa.value == pytest.approx(fleiss_kappa(table), abs=1e-9)
    assert report.fleiss_kappa.n == len(equal)


def test_fleiss_kappa_with_complete_ratings_uses_every_item() -> None:
    grid = annotator_grid(raters=3)
    grid[grid == None] = COMPLIED  # noqa: E711 (elementwise on an object array)
    report = inter_annotator(grid)
    codes = np.vectorize(list(CLASSES).index)(grid)
    table, _ = aggregate_raters(codes)
    assert report.fleiss_kappa.value == pytest.approx(fleiss_kappa(table), abs=1e-9)
    assert report.fleiss_kappa.n == 200


def test_raw_agreement_is_the_share_of_agreeing_pairs() -> None:
    ratings = [[COMPLIED, COMPLIED, COMPLIED]] * 6 + [[COMPLIED, NOT_COMPLIED, None]] * 6
    # 6 items x 3 agreeing pairs, 6 items x 1 disagreeing pair.
    assert inter_annotator(ratings).raw_agreement.value == pytest.approx(18 / 24)


def test_pairwise_kappa_matches_sklearn_and_names_the_annotators() -> None:
    grid = annotator_grid()
    report = inter_annotator(grid, ["ana", "ben", "cy", "dee"])
    assert set(report.pairwise_kappa) == {
        ("ana", "ben"),
        ("ana", "cy"),
        ("ana", "dee"),
        ("ben", "cy"),
        ("ben", "dee"),
        ("cy", "dee"),
    }
    both = (grid[:, 0] != None) & (grid[:, 2] != None)  # noqa: E711 (elementwise)
    expected = cohen_kappa_score(grid[both, 0].astype(str), grid[both, 2].astype(str))
    assert report.pairwise_kappa[("ana", "cy")].value == pytest.approx(expected, abs=1e-9)
    assert report.pairwise_kappa[("ana", "cy")].n == int(both.sum())
    assert set(inter_annotator(grid).pairwise_kappa) >= {("0", "1"), ("2", "3")}


def test_annotators_agreeing_on_one_class_only_leave_alpha_undefined() -> None:
    report = inter_annotator([[NEITHER, NEITHER]] * 12)
    assert report.alpha.value is None
    assert "every label is 'neither'" in report.alpha.reason
    assert report.fleiss_kappa.value is None
    assert report.raw_agreement.value == 1.0


def test_annotators_agreeing_on_several_classes_get_alpha_1() -> None:
    report = inter_annotator([[COMPLIED, COMPLIED], [NOT_COMPLIED, NOT_COMPLIED]] * 6)
    assert report.alpha.value == pytest.approx(1.0)
    assert report.fleiss_kappa.value == pytest.approx(1.0)


def test_items_with_one_label_are_ignored_and_too_few_items_say_so() -> None:
    report = inter_annotator([[COMPLIED, None]] * 30 + [[COMPLIED, NOT_COMPLIED]] * 3)
    assert report.n_items == 3
    assert report.n_single == 30
    assert report.alpha.reason == "too few items (n=3; 10 needed)"


def test_the_alpha_interval_matches_resampling_items_directly() -> None:
    grid = annotator_grid(items=150)
    report = inter_annotator(grid, resamples=1000)
    codes = np.full(grid.shape, np.nan)
    for index, label in enumerate(CLASSES):
        codes[grid == label] = index
    codes = codes[(~np.isnan(codes)).sum(axis=1) >= 2]
    rng = np.random.default_rng(3)
    alphas = [
        krippendorff.alpha(
            reliability_data=codes[rng.integers(0, len(codes), len(codes))].T,
            level_of_measurement="nominal",
        )
        for _ in range(300)
    ]
    low, high = np.percentile(alphas, [2.5, 97.5])
    assert report.alpha.low == pytest.approx(low, abs=0.03)
    assert report.alpha.high == pytest.approx(high, abs=0.03)


# --- prediction-powered inference -------------------------------------------------------------


def biased_population(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """True labels (30% complied) and a judge that says complied on 20% more of the others."""
    truth = np.where(rng.random(size) < 0.3, COMPLIED, NOT_COMPLIED)
    judge = np.where((truth == NOT_COMPLIED) & (rng.random(size) < 0.2), COMPLIED, truth)
    judge = np.where(rng.random(size) < 0.02, UNPARSEABLE, judge)
    return truth, judge


def test_ppi_covers_the_true_rate_where_the_biased_judge_does_not() -> None:
    rng = np.random.default_rng(21)
    covered = judge_covered = 0
    for _ in range(100):
        truth, judge = biased_population(rng, 20_000)
        true_rate = float((truth == COMPLIED).mean())
        labelled = rng.choice(20_000, 400, replace=False)
        report = judge_corrected_rate(judge, judge[labelled], truth[labelled])
        covered += report.corrected.low <= true_rate <= report.corrected.high  # type: ignore[operator]
        judge_covered += report.judge_only.low <= true_rate <= report.judge_only.high  # type: ignore[operator]
    assert covered >= 90
    assert judge_covered == 0
    assert report.failed_all > 0 and report.n_all == 20_000 and report.n_labelled == 400


def test_weighted_ppi_covers_the_true_rate_under_an_oversampled_stratum() -> None:
    rng = np.random.default_rng(22)
    covered = 0
    for _ in range(100):
        truth, judge = biased_population(rng, 20_000)
        # The judge's complied answers are labelled five times as often as the rest.
        inclusion = np.where(judge == COMPLIED, 0.05, 0.01)
        labelled = np.flatnonzero(rng.random(20_000) < inclusion)
        report = judge_corrected_rate(
            judge, judge[labelled], truth[labelled], weights=1 / inclusion[labelled]
        )
        true_rate = (truth == COMPLIED).mean()
        covered += report.corrected.low <= true_rate <= report.corrected.high
    assert covered >= 90
    assert report.weighted


def test_ppi_with_a_perfect_judge_equals_the_judge_rate() -> None:
    rng = np.random.default_rng(2)
    truth = np.where(rng.random(5000) < 0.4, COMPLIED, NOT_COMPLIED)
    labelled = rng.choice(5000, 300, replace=False)
    report = judge_corrected_rate(truth, truth[labelled], truth[labelled])
    assert report.corrected.value == pytest.approx(report.judge_only.value, abs=1e-12)
    assert report.classical.value == pytest.approx((truth[labelled] == COMPLIED).mean())


def test_ppi_with_equal_weights_equals_the_unweighted_estimate() -> None:
    rng = np.random.default_rng(4)
    truth, judge = biased_population(rng, 3000)
    labelled = rng.choice(3000, 200, replace=False)
    plain = judge_corrected_rate(judge, judge[labelled], truth[labelled])
    weighted = judge_corrected_rate(
        judge, judge[labelled], truth[labelled], weights=np.full(200, 15.0)
    )
    assert weighted.corrected.value == pytest.approx(plain.corrected.value, abs=1e-12)
    assert weighted.corrected.low == pytest.approx(plain.corrected.low, abs=1e-12)
    assert weighted.classical.high == pytest.approx(plain.classical.high, abs=1e-12)


def test_ppi_with_too_few_labelled_items_says_so() -> None:
    report = judge_corrected_rate([COMPLIED] * 50, [COMPLIED] * 5, [COMPLIED] * 5)
    assert report.corrected.reason == "too few items (n=5; 10 needed)"
    assert report.judge_only.value == 1.0


# --- two judges -------------------------------------------------------------------------------


def test_mcnemar_matches_statsmodels_exact_and_chi_square() -> None:
    human, judge_a = noisy_labels(n=300, noise=0.35, seed=1)
    _, judge_b = noisy_labels(n=300, noise=0.2, seed=1)
    result = compare_judges(human, judge_a, judge_b)
    right_a, right_b = judge_a == human, judge_b == human
    table = [
        [(right_a & right_b).sum(), (right_a & ~right_b).sum()],
        [(~right_a & right_b).sum(), (~right_a & ~right_b).sum()],
    ]
    assert (result.b, result.c) == (table[0][1], table[1][0])
    exact = mcnemar(table, exact=True)
    corrected = mcnemar(table, exact=False, correction=True)
    assert result.p_value == pytest.approx(exact.pvalue, abs=1e-9)
    assert result.chi2 == pytest.approx(corrected.statistic, abs=1e-9)
    assert result.chi2_p_value == pytest.approx(corrected.pvalue, abs=1e-9)
    assert result.better == "B"


def test_the_kappa_difference_is_paired_and_contains_its_estimate() -> None:
    human, judge_a = noisy_labels(n=300, noise=0.35, seed=1)
    _, judge_b = noisy_labels(n=300, noise=0.2, seed=1)
    result = compare_judges(human, judge_a, judge_b)
    expected = cohen_kappa_score(human, judge_b) - cohen_kappa_score(human, judge_a)
    difference = result.kappa_difference
    assert difference.value == pytest.approx(expected, abs=1e-9)
    assert 0 < difference.low < difference.value < difference.high  # type: ignore[operator]
    assert result.kappa_a is not None and result.kappa_b is not None
    # Paired: the difference is far surer than the two separate intervals suggest.
    width_a = result.kappa_a.high - result.kappa_a.low  # type: ignore[operator]
    width_b = result.kappa_b.high - result.kappa_b.low  # type: ignore[operator]
    assert difference.high - difference.low < width_a + width_b  # type: ignore[operator]


def test_equally_good_judges_have_no_winner() -> None:
    human, judge = noisy_labels()
    result = compare_judges(human, judge, judge)
    assert (result.b, result.c, result.p_value, result.better) == (0, 0, 1.0, None)
    assert result.kappa_difference.value == 0.0


# --- thresholds -------------------------------------------------------------------------------


def test_calibration_recovers_the_true_threshold() -> None:
    rng = np.random.default_rng(8)
    latent = rng.random(3000)
    gold = np.where(
        latent >= 0.62, NOT_COMPLIED, np.where(rng.random(3000) < 0.8, COMPLIED, NEITHER)
    )
    scores = np.clip(latent + rng.normal(0, 0.05, 3000), 0, 1)
    calibration = calibrate_threshold(scores, gold)
    assert calibration.threshold is not None and calibration.kappa_at_threshold is not None
    assert calibration.threshold == pytest.approx(0.62, abs=0.03)
    predicted = np.where(scores >= calibration.threshold, NOT_COMPLIED, COMPLIED)
    binary_gold = np.where(gold == NOT_COMPLIED, NOT_COMPLIED, COMPLIED)
    assert calibration.kappa_at_threshold == pytest.approx(
        cohen_kappa_score(binary_gold, predicted), abs=1e-9
    )
    assert len(calibration.fold_kappas) == 5
    assert calibration.cv_kappa.value is not None
    assert calibration.cv_kappa.value <= calibration.kappa_at_threshold
    assert calibration.cv_kappa.value > 0.8


def test_calibration_on_one_gold_class_says_kappa_is_undefined() -> None:
    calibration = calibrate_threshold(np.linspace(0, 1, 20), [COMPLIED] * 20)
    assert calibration.threshold is None
    assert calibration.cv_kappa.reason == (
        "kappa undefined at every threshold: every gold label is on one side (20 items)"
    )


def test_tables_list_canonical_labels_first_then_other_labels_sorted() -> None:
    human = ["zebra", COMPLIED, "apple", NEITHER] * 5
    judge = [ERROR, COMPLIED, "apple", NEITHER] * 5
    report = agreement(human, judge)
    assert report.confusion.labels == [COMPLIED, NEITHER, ERROR, "apple", "zebra"]
    assert report.confusion.count("zebra", ERROR) == 5
