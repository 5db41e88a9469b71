"""PPI++ and stratified PPI (analysis/ppi.py) against ppi_py, by hand, and by simulation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import ppi_py
import pytest
from scipy.stats import norm

from analysis.metrics import Estimate, judge_corrected_rate
from analysis.ppi import ppi_mean, stratified_ppi_mean

Z = float(norm.ppf(0.975))
EXACT = 1e-12


Sample = dict[str, np.ndarray]


def _population(seed: int, size: int, rate: float, accuracy: float) -> tuple[np.ndarray, ...]:
    """Gold Y for every item and a judge that is right with probability ``accuracy``."""
    rng = np.random.default_rng(seed)
    truth = rng.binomial(1, rate, size).astype(float)
    judge = np.where(rng.random(size) < accuracy, truth, 1 - truth)
    return truth, judge


@pytest.fixture(scope="module")
def sample() -> Sample:
    truth, judge = _population(seed=7, size=1200, rate=0.35, accuracy=0.85)
    rng = np.random.default_rng(8)
    labelled = rng.choice(truth.size, 160, replace=False)
    return {
        "gold": truth[labelled],
        "on_gold": judge[labelled],
        "all": judge,
        "weights": rng.uniform(0.5, 4.0, labelled.size),
    }


def _scalar(value: Any) -> float:
    """ppi_py answers with (1,)-shaped arrays."""
    return float(np.squeeze(value))


def _bounds(estimate: Estimate) -> tuple[float, float]:
    assert estimate.low is not None and estimate.high is not None, estimate.reason
    return estimate.low, estimate.high


def _width(estimate: Estimate) -> float:
    low, high = _bounds(estimate)
    return high - low


def _ppi_py_lambda(
    gold: np.ndarray, on_gold: np.ndarray, every: np.ndarray, weights: np.ndarray | None
) -> float:
    """The lambda ppi_py tuned, read off its point estimates: they are linear in lambda."""
    at = {
        lam: float(
            np.squeeze(ppi_py.ppi_mean_pointestimate(gold, on_gold, every, lam=lam, w=weights))
        )
        for lam in (None, 0, 1)
    }
    return (at[None] - at[0]) / (at[1] - at[0])


# --- against ppi_py ---------------------------------------------------------------------------


@pytest.mark.parametrize("lam", [None, 1, 0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_ppi_py(sample: Sample, lam: float | None, weighted: bool) -> None:
    weights = sample["weights"] if weighted else None
    args = (sample["gold"], sample["on_gold"], sample["all"])
    result = ppi_mean(*args, weights=weights, lam=lam)
    point = ppi_py.ppi_mean_pointestimate(*args, lam=lam, w=weights)
    low, high = ppi_py.ppi_mean_ci(*args, alpha=0.05, lam=lam, w=weights)
    assert result.estimate.value == pytest.approx(_scalar(point), abs=EXACT)
    assert result.estimate.low == pytest.approx(_scalar(low), abs=EXACT)
    assert result.estimate.high == pytest.approx(_scalar(high), abs=EXACT)
    assert result.variance == pytest.approx(
        ((_scalar(high) - _scalar(low)) / (2 * Z)) ** 2, rel=1e-9
    )
    assert (result.n_labelled, result.n_all) == (160, 1200)


@pytest.mark.parametrize("weighted", [False, True])
def test_tuned_lambda_is_ppi_pys(sample: Sample, weighted: bool) -> None:
    weights = sample["weights"] if weighted else None
    args = (sample["gold"], sample["on_gold"], sample["all"])
    result = ppi_mean(*args, weights=weights)
    assert result.lam is not None and 0 < result.lam < 1
    assert result.lam == pytest.approx(_ppi_py_lambda(*args, weights), abs=1e-9)


@pytest.mark.parametrize(
    ("judge", "clipped_to"),
    [
        (lambda truth: 1 - truth, 0.0),  # a judge that is always wrong: negative covariance
        (lambda truth: 0.5 * truth, 1.0),  # scores half the gold label: the raw lambda is near 2
    ],
)
def test_lambda_is_clipped_to_0_1_like_ppi_pys(judge: Any, clipped_to: float) -> None:
    truth, _ = _population(seed=9, size=600, rate=0.4, accuracy=1.0)
    scores = judge(truth)
    args = (truth[:80], scores[:80], scores)
    result = ppi_mean(*args)
    assert result.lam == clipped_to
    assert result.lam == pytest.approx(_ppi_py_lambda(*args, None), abs=1e-9)
    low, high = ppi_py.ppi_mean_ci(*args, alpha=0.05)
    assert _bounds(result.estimate) == pytest.approx((_scalar(low), _scalar(high)), abs=EXACT)


def test_plain_ppi_is_judge_corrected_rate(sample: Sample) -> None:
    """lam=1 is the corrected figure of metrics.py; its interval only differs by ddof=1 there."""
    names = np.array(["not_complied", "complied"])
    report = judge_corrected_rate(
        names[sample["all"].astype(int)],
        names[sample["on_gold"].astype(int)],
        names[sample["gold"].astype(int)],
    )
    result = ppi_mean(sample["gold"], sample["on_gold"], sample["all"], lam=1)
    assert result.estimate.value == pytest.approx(report.corrected.value, abs=EXACT)
    widths = _width(report.corrected) / _width(result.estimate)
    assert 1 < widths <= math.sqrt(160 / 159)


@pytest.mark.parametrize("weighted", [False, True])
def test_lambda_zero_is_the_classical_interval(sample: Sample, weighted: bool) -> None:
    weights = sample["weights"] if weighted else None
    result = ppi_mean(sample["gold"], sample["on_gold"], sample["all"], weights=weights, lam=0)
    low, high = ppi_py.classical_mean_ci(sample["gold"], w=weights, alpha=0.05)
    assert (result.estimate.low, result.estimate.high) == pytest.approx((low, high), abs=EXACT)
    tuned = ppi_mean(sample["gold"], sample["on_gold"], sample["all"], weights=weights)
    assert _width(tuned.estimate) < high - low


# --- by hand ----------------------------------------------------------------------------------

# Y = 1 1 0 0 on four labelled items, the judge f = 1 0 0 0 there; f on all eight items has
# three ones (the four labelled items plus 1 1 0 0). Plain PPI: 3/8 + mean(Y - f) = 3/8 + 1/4, with
# variance var(f_all)/8 + var(Y - f)/4 = (15/64)/8 + (3/16)/4 = 39/512 (ddof=0).
# PPI++: the plain estimate t = 5/8; cov(Y, f) = 1/4 - 1/2·1/4 = 1/8 (divided by n), the twelve
# pooled scores (4 + 8) hold four ones: var = 12/11 · 1/3 · 2/3 = 8/33; so
# lambda = (1/8) / ((1 + 4/8) · 8/33) = 11/32 and theta = mean(Y) + lambda (3/8 - 1/4) = 139/256.
# Y - lambda f = 21/32 1 0 0 has mean 53/128 and var 1465/4096 - (53/128)² = 3051/16384, so the
# variance is (11/32)² (15/64)/8 + (3051/16384)/4 = 26223/524288.
GOLD4 = [1.0, 1.0, 0.0, 0.0]
JUDGE4 = [1.0, 0.0, 0.0, 0.0]
ALL8 = [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]


def test_four_items_plain_ppi_by_hand() -> None:
    result = ppi_mean(GOLD4, JUDGE4, ALL8, lam=1)
    assert result.estimate.value == pytest.approx(5 / 8)
    assert result.variance == pytest.approx(39 / 512)
    half = Z * math.sqrt(39 / 512)
    assert (result.estimate.low, result.estimate.high) == pytest.approx((5 / 8 - half, 1.0))


def test_four_items_ppi_plus_plus_by_hand() -> None:
    result = ppi_mean(GOLD4, JUDGE4, ALL8)
    assert result.lam == pytest.approx(11 / 32)
    assert result.estimate.value == pytest.approx(139 / 256)
    assert result.variance == pytest.approx(26223 / 524288)
    assert result.estimate.interval_label == "PPI 95% CI"


def test_a_judge_that_never_varies_gets_lambda_zero() -> None:
    """ppi_py divides by the judge's zero variance (NaN); here lambda is 0: the classical mean."""
    result = ppi_mean(GOLD4, [1.0] * 4, [1.0] * 8)
    assert result.lam == 0
    assert result.estimate.value == pytest.approx(0.5)
    assert result.variance == pytest.approx(0.25 / 4)
    with np.errstate(invalid="ignore", divide="ignore"):
        ppi_py_point = ppi_py.ppi_mean_pointestimate(np.array(GOLD4), np.ones(4), np.ones(8))
    assert np.isnan(ppi_py_point).all()


@pytest.mark.parametrize(("gold", "reason"), [([], "no gold labels"), ([1.0], "(n=1; 2 needed)")])
def test_too_few_gold_labels_give_a_reason(gold: list[float], reason: str) -> None:
    result = ppi_mean(gold, gold, ALL8)
    assert result.estimate.value is None and result.lam is None
    assert reason in result.estimate.reason


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"gold": [1.0, 2.0]}, "gold"),
        ({"judge_on_gold": [1.0]}, "judge_on_gold"),
        ({"judge_all": [[1.0]]}, "judge_all"),
        ({"weights": [1.0]}, "weights"),
        ({"weights": [0.0, 0.0]}, "weights"),
        ({"lam": float("nan")}, "lam"),
        ({"alpha": 1.5}, "alpha"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {
        "gold": [1.0, 0.0],
        "judge_on_gold": [1.0, 1.0],
        "judge_all": [1.0, 0.0, 1.0],
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"^{field}"):
        ppi_mean(**args)


# --- stratified -------------------------------------------------------------------------------

# (name, items, rate, judge accuracy, gold labels): strata that differ in rate and in how good
# the judge is, sampled at different rates.
STRATA = [("a", 900, 0.2, 0.9, 50), ("b", 500, 0.6, 0.7, 60), ("c", 300, 0.45, 0.95, 40)]


def _stratified(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {key: [] for key in ("gold", "on_gold", "g", "all", "s")}
    for name, size, rate, accuracy, n in STRATA:
        truth = rng.binomial(1, rate, size).astype(float)
        judge = np.where(rng.random(size) < accuracy, truth, 1 - truth)
        labelled = rng.choice(size, n, replace=False)
        parts["gold"].append(truth[labelled])
        parts["on_gold"].append(judge[labelled])
        parts["g"].append(np.full(n, name))
        parts["all"].append(judge)
        parts["s"].append(np.full(size, name))
    return {key: np.concatenate(values) for key, values in parts.items()}


@pytest.mark.parametrize("weighted", [False, True])
def test_stratified_combines_ppi_py_per_stratum(weighted: bool) -> None:
    data = _stratified(3)
    weights = np.random.default_rng(4).uniform(1, 3, data["gold"].size) if weighted else None
    result = stratified_ppi_mean(
        data["gold"], data["on_gold"], data["g"], data["all"], data["s"], weights=weights
    )
    value = variance = 0.0
    for name, size, *_ in STRATA:
        labelled = data["g"] == name
        args = (data["gold"][labelled], data["on_gold"][labelled], data["all"][data["s"] == name])
        w = None if weights is None else weights[labelled]
        low, high = ppi_py.ppi_mean_ci(*args, alpha=0.05, w=w)
        share = size / 1700
        value += share * _scalar(ppi_py.ppi_mean_pointestimate(*args, w=w))
        variance += share**2 * ((_scalar(high) - _scalar(low)) / (2 * Z)) ** 2
        assert result.lambdas[name] == pytest.approx(_ppi_py_lambda(*args, w), abs=1e-9)
    assert result.estimate.value == pytest.approx(value, abs=EXACT)
    assert result.variance == pytest.approx(variance, rel=1e-9)
    half = Z * math.sqrt(variance)
    assert (result.estimate.low, result.estimate.high) == pytest.approx(
        (value - half, value + half), abs=EXACT
    )
    assert [part.stratum for part in result.strata] == ["a", "b", "c"]
    assert [part.share for part in result.strata] == pytest.approx([9 / 17, 5 / 17, 3 / 17])
    assert (result.n_labelled, result.n_all) == (150, 1700)


def test_one_stratum_is_ppi_mean(sample: Sample) -> None:
    args = (sample["gold"], sample["on_gold"], sample["all"])
    one = stratified_ppi_mean(args[0], args[1], ["x"] * args[0].size, args[2], ["x"] * args[2].size)
    assert one.estimate == ppi_mean(*args).estimate


@pytest.mark.parametrize(("labels_in_c", "reason"), [(1, "(n=1; 2 needed)"), (0, "no gold")])
def test_a_stratum_with_too_few_labels_is_named(labels_in_c: int, reason: str) -> None:
    data = _stratified(5)
    keep = (data["g"] != "c") | (np.cumsum(data["g"] == "c") <= labels_in_c)
    result = stratified_ppi_mean(
        data["gold"][keep], data["on_gold"][keep], data["g"][keep], data["all"], data["s"]
    )
    assert result.estimate.value is None and result.variance is None
    assert result.estimate.reason.startswith("stratum 'c': ")
    assert reason in result.estimate.reason
    assert result.lambdas["c"] is None and result.lambdas["a"] is not None


def test_a_labelled_stratum_missing_from_all_items_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^strata_on_gold: strata \['z'\]"):
        stratified_ppi_mean(GOLD4, JUDGE4, ["a", "a", "z", "z"], ALL8, ["a"] * 8)


# --- coverage ---------------------------------------------------------------------------------

REPLICATIONS = 300


def test_ppi_plus_plus_covers_and_is_narrower_than_gold_alone() -> None:
    rate, covered, widths, classical_widths = 0.3, 0, [], []
    rng = np.random.default_rng(11)
    for _ in range(REPLICATIONS):
        truth = rng.binomial(1, rate, 2000).astype(float)
        judge = np.where(rng.random(2000) < 0.8, truth, 1 - truth)
        labelled = rng.choice(2000, 150, replace=False)
        args = (truth[labelled], judge[labelled], judge)
        tuned, classical = ppi_mean(*args).estimate, ppi_mean(*args, lam=0).estimate
        low, high = _bounds(tuned)
        covered += low <= rate <= high
        widths.append(high - low)
        classical_widths.append(_width(classical))
    assert covered / REPLICATIONS >= 0.92
    assert np.mean(widths) < np.mean(classical_widths)


def test_stratified_ppi_covers() -> None:
    rate = sum(size * stratum_rate for _, size, stratum_rate, *_ in STRATA) / 1700
    covered = 0
    for seed in range(REPLICATIONS):
        data = _stratified(1000 + seed)
        result = stratified_ppi_mean(
            data["gold"], data["on_gold"], data["g"], data["all"], data["s"]
        ).estimate
        low, high = _bounds(result)
        covered += low <= rate <= high
    assert covered / REPLICATIONS >= 0.92


# --- the rate of these N items (finite_population) ---------------------------------------------

# GOLD4 / JUDGE4 as a simple random sample of 4 of the 8 items: the rectifier Y - f = 0 1 0 0 has
# s² = 1/4 (ddof=1), so the variance is (1 - 4/8) · (1/4) / 4 = 1/32, and no var(f_all)/N term.


def test_finite_population_simple_random_sample_by_hand() -> None:
    result = ppi_mean(GOLD4, JUDGE4, ALL8, lam=1, finite_population=True)
    assert result.estimate.value == pytest.approx(5 / 8)
    assert result.variance == pytest.approx(1 / 32)


# Weighted: inclusion probabilities 1/2 1/2 1/4 1 (weights 2 2 4 1) and Y - f = 0 1 0 0. The
# Hajek mean of the rectifier is sum(w r)/sum(w) = 2/9, so the value is 3/8 + 2/9 = 43/72. With
# the weights scaled to mean 1 (8/9 8/9 16/9 4/9) the residuals w(r - 2/9) are -16/81 56/81 -32/81
# -8/81; their (1 - p)-weighted mean, with 1 - p = 1/2 1/2 3/4 0, is (-4/81)/(7/4) = -16/567, so
# u = -96/567 408/567 -208/567 (the last, drawn surely, adds nothing) and the variance is
# 4/3 · (1/2 · 96² + 1/2 · 408² + 3/4 · 208²)/567² / 16 = 1432/45927.
WEIGHTS4 = [2.0, 2.0, 4.0, 1.0]


def test_finite_population_weighted_by_hand() -> None:
    result = ppi_mean(GOLD4, JUDGE4, ALL8, lam=1, weights=WEIGHTS4, finite_population=True)
    assert result.estimate.value == pytest.approx(43 / 72)
    assert result.variance == pytest.approx(1432 / 45927)


def test_finite_population_census_is_exact() -> None:
    """Every item labelled: the value is their rate, with no uncertainty left."""
    truth, judge = _population(seed=3, size=50, rate=0.4, accuracy=0.8)
    for lam in (None, 1.0):
        result = ppi_mean(truth, judge, judge, lam=lam, finite_population=True)
        assert result.estimate.value == pytest.approx(truth.mean(), abs=EXACT)
        assert result.variance == pytest.approx(0.0, abs=EXACT)


@pytest.mark.parametrize("weighted", [False, True])
def test_finite_population_lambda_minimises_its_variance(sample: Sample, weighted: bool) -> None:
    weights = 1 + sample["weights"] if weighted else None  # inverse probabilities: 1 or more
    args = (sample["gold"], sample["on_gold"], sample["all"])
    tuned = ppi_mean(*args, weights=weights, finite_population=True)
    assert tuned.lam is not None and 0 < tuned.lam < 1
    assert tuned.variance is not None
    for lam in np.linspace(0, 1, 101):
        fixed = ppi_mean(*args, weights=weights, lam=float(lam), finite_population=True)
        assert fixed.variance is not None and tuned.variance <= fixed.variance + EXACT


def test_finite_population_needs_inverse_inclusion_probabilities() -> None:
    with pytest.raises(ValueError, match=r"^weights: a finite-population interval"):
        ppi_mean(GOLD4, JUDGE4, ALL8, weights=[0.5, 1, 1, 1], finite_population=True)


def test_finite_population_stratified_is_the_textbook_variance() -> None:
    """Stratified simple random samples: sum W_h² (1 - n_h/N_h) s_h²/n_h (Cochran 5.9)."""
    data = _stratified(3)
    result = stratified_ppi_mean(
        data["gold"],
        data["on_gold"],
        data["g"],
        data["all"],
        data["s"],
        lam=1,
        finite_population=True,
    )
    variance = 0.0
    for name, size, *_, n in STRATA:
        labelled = data["g"] == name
        rectifier = data["gold"][labelled] - data["on_gold"][labelled]
        variance += (size / 1700) ** 2 * (1 - n / size) * rectifier.var(ddof=1) / n
    assert result.variance == pytest.approx(variance, rel=1e-12)


def test_finite_population_covers_the_items_rate_where_ppi_pys_form_is_too_wide() -> None:
    """One fixed set of 600 items, 300 simple random samples of 200, plain PPI: the
    finite-population interval holds the items' own rate about 95% of the time; ppi_py's, made
    for the population they come from, counts var(f)/N and no finite-population correction: with
    var f = 0.24 and var(Y - f) = 0.15 it is sqrt((0.24/600 + 0.15/200) / ((1 - 1/3) · 0.15/200))
    = 1.5 times as wide."""
    truth, judge = _population(seed=21, size=600, rate=0.35, accuracy=0.85)
    rng = np.random.default_rng(22)
    covered = {True: 0, False: 0}
    widths: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(REPLICATIONS):
        labelled = rng.choice(600, 200, replace=False)
        args = (truth[labelled], judge[labelled], judge)
        for finite in (True, False):
            estimate = ppi_mean(*args, lam=1, finite_population=finite).estimate
            low, high = _bounds(estimate)
            covered[finite] += low <= truth.mean() <= high
            widths[finite].append(high - low)
    assert 0.92 <= covered[True] / REPLICATIONS <= 0.98
    assert covered[False] >= covered[True]
    assert np.mean(widths[False]) / np.mean(widths[True]) == pytest.approx(1.5, abs=0.1)


# --- one lambda for all strata (pooled_lambda) --------------------------------------------------


@pytest.mark.parametrize("finite", [False, True])
def test_pooled_lambda_of_one_stratum_is_ppi_means(sample: Sample, finite: bool) -> None:
    args = (sample["gold"], sample["on_gold"], sample["all"])
    one = stratified_ppi_mean(
        args[0],
        args[1],
        ["x"] * args[0].size,
        args[2],
        ["x"] * args[2].size,
        pooled_lambda=True,
        finite_population=finite,
    )
    assert one.estimate == ppi_mean(*args, finite_population=finite).estimate


def test_pooled_lambda_minimises_the_total_variance() -> None:
    data = _stratified(6)
    args = (data["gold"], data["on_gold"], data["g"], data["all"], data["s"])
    pooled = stratified_ppi_mean(*args, pooled_lambda=True, finite_population=True)
    lambdas = set(pooled.lambdas.values())
    assert len(lambdas) == 1
    assert pooled.variance is not None
    for lam in np.linspace(0, 1, 101):
        fixed = stratified_ppi_mean(*args, lam=float(lam), finite_population=True)
        assert fixed.variance is not None and pooled.variance <= fixed.variance + EXACT
    per_stratum = stratified_ppi_mean(*args, finite_population=True)
    assert len(set(per_stratum.lambdas.values())) == 3
