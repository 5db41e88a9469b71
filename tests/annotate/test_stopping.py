"""The anytime-valid interval a campaign's target is judged by (annotate/stopping.py): small
cases by hand, plain PPI as the reports and ppi-python compute it, the planner's fixed-n
variance, and simulations of a fixed set of responses labelled in random order that show it
covering their true rate at every number of labels at once, where a fixed-n interval looked at
after every label does not."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from ppi_py import ppi_mean_pointestimate

from analysis.metrics import MIN_ITEMS, judge_corrected_rate
from annotate.label_budget import Moments
from annotate.stopping import (
    MIN_LABELS,
    JudgeShare,
    Rectifier,
    anytime_interval,
    fixed_sample_half_width,
    labels_needed,
    mixture_rho2,
    rectifier_of,
    sequence_radius,
    target_met,
)

C, N, X = "complied", "not_complied", "neither"


def test_it_shows_no_interval_below_as_many_labels_as_the_reports() -> None:
    assert MIN_LABELS == MIN_ITEMS
    judge = JudgeShare(judged=100, complied=30)
    nine = rectifier_of([C] * 9, [C] * 9)
    assert anytime_interval(judge, nine, planned=50) is None
    assert anytime_interval(judge, rectifier_of([C] * 10, [C] * 10), planned=50) is not None


def test_the_rectifier_by_hand() -> None:
    # r = Y - f: 0, +1, -1, 0, and a judge failure is f = 0 (so +1 where people say complied).
    rectifier = rectifier_of([C, N, C, X, "error"], [C, C, N, N, C])
    assert rectifier.labels == 5
    assert rectifier.mean == pytest.approx(1 / 5)
    # var(r) with n - 1: r = 0, 1, -1, 0, 1, mean 0.2: (0.04 + 0.64 + 1.44 + 0.04 + 0.64) / 4.
    assert rectifier.variance == pytest.approx(2.8 / 4)
    # Two pseudo-labels, +1 and -1 around the mean: (2.8 + 2) / (5 + 2 - 1).
    assert rectifier.smoothed_variance == pytest.approx(4.8 / 6)


def test_weights_make_a_hajek_mean_by_hand() -> None:
    rectifier = rectifier_of([C, N, C, N], [C, C, N, N], weights=[1, 2, 1, 4])
    # sum w r / sum w = (0 + 2 - 1 + 0) / 8.
    assert rectifier.mean == pytest.approx(1 / 8)
    # z = w (r - mean) / mean(w), mean(w) = 2: -1/16, 7/8, -9/16, -1/4; sum z² / (n - 1).
    z = [-1 / 16, 7 / 8, -9 / 16, -1 / 4]
    assert rectifier.variance == pytest.approx(sum(v * v for v in z) / 3)
    # Scaling every weight changes nothing: a labelled prefix's probabilities are unknown up to
    # a common factor.
    scaled = rectifier_of([C, N, C, N], [C, C, N, N], weights=[10, 20, 10, 40])
    assert (scaled.mean, scaled.variance) == pytest.approx((rectifier.mean, rectifier.variance))


def test_the_sequence_radius_by_hand() -> None:
    # 0.5 * sqrt(2 * 11 / (100² * 0.1) * log(sqrt(11) / 0.05)) = 0.5 * sqrt(0.022 * 4.19471).
    assert sequence_radius(100, 0.25, 0.1, 0.05) == pytest.approx(0.151891, abs=1e-6)


@pytest.mark.parametrize("alpha", [0.025, 0.05, 0.1])
def test_rho_makes_the_radius_smallest_at_the_planned_number_of_labels(alpha: float) -> None:
    planned = 400
    rho2 = mixture_rho2(planned, alpha)
    x = rho2 * planned
    assert math.log((x + 1) / alpha**2) == pytest.approx(x)
    # The paper's first approximation is close to it.
    assert x == pytest.approx(-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1), rel=0.05)
    best = sequence_radius(planned, 1.0, rho2, alpha)
    for other in (rho2 * 0.8, rho2 * 1.25):
        assert sequence_radius(planned, 1.0, other, alpha) > best


def test_the_half_width_is_the_rectifier_s_sequence_at_the_whole_alpha() -> None:
    """No term for the judge's own sampling error: its calls on these responses are known."""
    judge = JudgeShare(judged=1000, complied=300)
    rectifier = rectifier_of([C, N] * 20, [C, C, N, N] * 10)
    interval = anytime_interval(judge, rectifier, planned=40)
    assert interval is not None
    rho2 = mixture_rho2(40, 0.05)
    assert interval.half_width == sequence_radius(40, rectifier.smoothed_variance, rho2, 0.05)
    # r = 0, +1, -1, 0 repeated: mean 0, sum r² = 20, 2 pseudo-labels: 22 / 41; rho² = x / 40,
    # x = 8.21197 (log((x + 1) / 0.05²) = x); the radius by hand.
    x = 8.211968
    assert rho2 == pytest.approx(x / 40, rel=1e-6)
    by_hand = math.sqrt(22 / 41) * math.sqrt(
        2 * (x + 1) / (40 * x) * math.log(math.sqrt(x + 1) / 0.05)
    )
    assert interval.half_width == pytest.approx(by_hand, rel=1e-6)
    assert interval.estimate == pytest.approx(0.3 + rectifier.mean)
    # 0.3 ± 0.352, clipped to [0, 1].
    assert (interval.low, interval.high) == pytest.approx((0, 0.3 + interval.half_width))
    assert target_met(interval, interval.half_width) and not target_met(interval, 0.01)
    # However many responses the judge judged: the same half-width.
    other = anytime_interval(JudgeShare(judged=150, complied=45), rectifier, planned=40)
    assert other is not None and other.half_width == interval.half_width


def test_ten_labels_the_judge_got_right_do_not_close_the_interval() -> None:
    """Without the pseudo-labels the rectifier's variance would be 0 and the target met."""
    judge = JudgeShare(judged=100_000, complied=30_000)
    rectifier = rectifier_of([C, N] * 5, [C, N] * 5)
    assert rectifier.variance == 0
    interval = anytime_interval(judge, rectifier, planned=200)
    assert interval is not None and interval.half_width > 0.3


def test_labels_needed_is_the_first_number_of_labels_that_reaches_the_target() -> None:
    rectifier = rectifier_of([C, N, N, N] * 10, [C, N, C, N] * 10)
    target, planned = 0.08, 300
    needed = labels_needed(rectifier, target=target, planned=planned)
    assert needed is not None and needed > rectifier.labels
    rho2, variance = mixture_rho2(planned, 0.05), rectifier.smoothed_variance
    assert sequence_radius(needed, variance, rho2, 0.05) <= target
    assert sequence_radius(needed - 1, variance, rho2, 0.05) > target


def test_labels_needed_may_be_more_than_there_are_items_but_is_never_never() -> None:
    # A judge wrong on a quarter of 40 labels, a ±1-point target on a few hundred responses:
    # more labels than the category has, and a number all the same.
    rectifier = rectifier_of([C, N, N, N] * 10, [C, N, C, N] * 10)
    needed = labels_needed(rectifier, target=0.01, planned=300)
    assert needed is not None and needed > 300
    assert labels_needed(Rectifier(), target=0.3, planned=100) is None  # no labels yet
    assert labels_needed(rectifier_of([C], [N]), target=0.3, planned=100) is None


def test_labels_needed_once_narrow_enough_is_the_labels_there_are() -> None:
    rectifier = rectifier_of([C, N] * 200, [C, N] * 200)
    assert labels_needed(rectifier, target=0.4, planned=400) == 400


# --- the same estimate as the reports and ppi-python ----------------------------------------


def _sample(seed: int, judged: int, labelled: int) -> tuple[list[str], list[str], list[str]]:
    rng = random.Random(seed)
    everything = [rng.choice([C, C, N, N, N, X, "unparseable"]) for _ in range(judged)]
    on_gold = everything[:labelled]
    gold = [label if rng.random() < 0.8 else rng.choice([C, N]) for label in on_gold]
    return everything, on_gold, gold


def _complied(labels: list[str]) -> np.ndarray:
    return np.array([1.0 if label == C else 0.0 for label in labels])


@pytest.mark.parametrize("weighted", [False, True])
def test_the_point_estimate_is_ppi_py_plain_ppi_exactly(weighted: bool) -> None:
    everything, on_gold, gold = _sample(1, 2000, 300)
    weights = [1 / random.Random(n).uniform(0.2, 1) for n in range(300)] if weighted else None
    judge = JudgeShare(len(everything), everything.count(C))
    interval = anytime_interval(judge, rectifier_of(on_gold, gold, weights), planned=300)
    assert interval is not None
    expected = ppi_mean_pointestimate(
        _complied(gold),
        _complied(on_gold),
        _complied(everything),
        lam=1,
        w=None if weights is None else np.array(weights),
    )
    assert interval.estimate == pytest.approx(float(np.squeeze(expected)), abs=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_the_point_estimate_is_the_reports_corrected_rate(weighted: bool) -> None:
    everything, on_gold, gold = _sample(2, 1500, 200)
    weights = [1 / random.Random(n).uniform(0.2, 1) for n in range(200)] if weighted else None
    judge = JudgeShare(len(everything), everything.count(C))
    interval = anytime_interval(judge, rectifier_of(on_gold, gold, weights), planned=200)
    report = judge_corrected_rate(everything, on_gold, gold, weights=weights).corrected
    assert interval is not None and report.value is not None
    assert interval.estimate == pytest.approx(report.value, abs=1e-12)


def test_the_fixed_sample_half_width_is_the_planner_s_for_these_responses() -> None:
    """z * sqrt((1 - n/N) var(Y - f) / n): annotate.label_budget's variance of the rate of the N
    responses themselves, from the labelled pairs' moments."""
    _, on_gold, gold = _sample(3, 600, 150)
    rectifier = rectifier_of(on_gold, gold)
    f, y = _complied(on_gold), _complied(gold)
    (var_f, cov), (_, var_y) = np.cov(f, y, ddof=1)
    planned = Moments(var_f=var_f, var_y=var_y, cov=cov).variance(150, 600, 1.0, finite=True)
    z = 1.959964
    assert fixed_sample_half_width(rectifier, population=600) == pytest.approx(
        z * math.sqrt(planned), rel=1e-6
    )
    assert fixed_sample_half_width(rectifier) == pytest.approx(
        z * math.sqrt(np.var(y - f, ddof=1) / 150), rel=1e-6
    )
    # Every response labelled: the rate is known exactly.
    assert fixed_sample_half_width(rectifier, population=150) == 0


def test_the_anytime_interval_costs_at_most_two_and_a_half_fixed_ones_where_tuned() -> None:
    """The price of looking after every label: wider than a fixed-n interval (without the
    finite-population factor), but not by more than about twice at the labels it is tuned for."""
    for judged, labelled in ((500, 50), (20_000, 2_000)):
        everything, on_gold, gold = _sample(3, judged, labelled)
        rectifier = rectifier_of(on_gold, gold)
        interval = anytime_interval(
            JudgeShare(judged, everything.count(C)), rectifier, planned=labelled
        )
        assert interval is not None
        fixed = fixed_sample_half_width(rectifier)
        assert fixed < interval.half_width < 2.5 * fixed


# --- time-uniform coverage of a fixed set of responses, simulated ---------------------------


def _coverage(
    *, seed: int, orders: int, responses: int, judge_errors: float, weighted: bool
) -> tuple[float, float, float]:
    """One fixed set of ``responses`` (the judge's call f and the truth Y of each), labelled
    without replacement in ``orders`` random orders. Returns the share of orders whose anytime-
    valid interval covered the true rate mean(Y) at every number of labels from MIN_LABELS to
    the last; the same for the fixed-n interval looked at after every label; and the fixed-n
    interval's coverage at half the labels alone. The judge says complied of 30% and is wrong on
    ``judge_errors`` of them. With ``weighted`` each order first draws items with unequal
    probabilities (more where the judge says complied), as the designs do, and serves those in
    random order."""
    rng = random.Random(seed)
    says = [rng.random() < 0.3 for _ in range(responses)]
    truly = [f != (rng.random() < judge_errors) for f in says]
    truth = sum(truly) / responses
    judge = JudgeShare(responses, sum(says))
    probability = [0.9 if f else 0.4 for f in says] if weighted else [1.0] * responses
    anytime = peeked = at_half = 0
    for _ in range(orders):
        drawn = [i for i in range(responses) if rng.random() < probability[i]]
        rng.shuffle(drawn)
        # The finite-population factor holds for equal probabilities only.
        population = None if weighted else responses
        rectifier = Rectifier()
        anytime_held = peeked_held = True
        for i in drawn:
            rectifier = rectifier.add(
                judge_complied=says[i], gold_complied=truly[i], weight=1 / probability[i]
            )
            interval = anytime_interval(judge, rectifier, planned=len(drawn))
            if interval is None:
                continue
            miss = abs(interval.estimate - truth)
            anytime_held &= miss <= interval.half_width + 1e-12
            fixed_held = miss <= fixed_sample_half_width(rectifier, population=population) + 1e-12
            peeked_held &= fixed_held
            if rectifier.labels == len(drawn) // 2:
                at_half += fixed_held
        anytime += anytime_held
        peeked += peeked_held
    return anytime / orders, peeked / orders, at_half / orders


@pytest.mark.parametrize(("judge_errors", "weighted"), [(0.03, False), (0.12, False), (0.12, True)])
def test_the_interval_covers_the_responses_rate_at_every_number_of_labels_at_once(
    judge_errors: float, weighted: bool
) -> None:
    anytime, peeked, at_half = _coverage(
        seed=11, orders=300, responses=300, judge_errors=judge_errors, weighted=weighted
    )
    assert anytime >= 0.95
    # A fixed-n interval is right at the one number of labels fixed in advance...
    assert at_half >= 0.9
    # ...but looked at after every label it misses at some point far more often than 5%:
    # stopping the first time it looks narrow would stop on a miss.
    assert peeked <= 0.8
