"""When a campaign may stop labelling (issue 15): an anytime-valid interval for the
judge-corrected compliance rate of a category's responses, and how many more labels would bring
it to a target.

Plain Python, no Django (the import contract's pure list): annotate decides what to serve with
it, and annotate cannot import analysis.

**Whose rate.** The compliance rate of these N responses themselves, the figure a benchmark run
reports (``annotate.label_budget``'s ``RESPONSES``, what the planner plans for by default), not
that of prompts like these. The judge's calls on all N are known exactly, so only its errors are
estimated, from the gold-labelled sample; labelling every response would give the exact rate.
There is no term for the judge's own sampling error var(f) / N: on a category of a few hundred
responses that term alone is ±5-10 points, and a ±3-point target could never be met.

**The estimate** is plain prediction-powered inference (PPI, lambda = 1), the figure
:func:`analysis.metrics.judge_corrected_rate` prints: with f = 1 where the judge says complied (a
judge failure counts as f = 0) and Y = 1 where the gold label is complied,

    theta = mean of f over the N judged responses (known) + mean of the rectifier Y - f over
            the n gold-labelled ones (estimated).

**Weights.** Items drawn with unequal probabilities p (Neyman, active sampling) weigh 1/p in the
rectifier's mean, as a Hajek mean sum(w r) / sum(w), not Horvitz-Thompson's sum(w r) / N. Hajek
because labels arrive one by one: at any moment the labelled items are a random part of the
drawn sample (every design but "judge disagreement first" serves in random order), and their
inclusion probabilities are then the design's p times an unknown share, which a ratio of weighted
sums cancels and a Horvitz-Thompson total would not. It also needs no population size for a
category, stays within [-1, 1], and is what the reports compute, so both print the same estimate.

**The interval is anytime-valid**: it may be looked at after every label, and stopping the first
time it is narrow enough keeps its 95% coverage. A fixed-n interval looked at after every label
would not (the tests show it missing far more often than 5%). It is the judge's known rate plus
a confidence sequence for the rectifier's mean, at the whole alpha: the asymptotic confidence
sequence of Waudby-Smith, Arbour, Sinha, Kennedy and Ramdas, "Time-uniform central limit theory
and asymptotic confidence sequences" (Ann. Statist. 52(6), 2024, Theorem 2.2; the Robbins normal
mixture boundary with the estimated variance), radius at n labels

    sigma * sqrt( 2 (n rho² + 1) / (n² rho²) * log( sqrt(n rho² + 1) / alpha ) ),

which is the paper's sqrt(2(n sigma² r² + 1)/(n² r²) log(sqrt(n sigma² r² + 1)/alpha)) with
r = rho / sigma: rho in units of the standard deviation, as the authors' drconfseq package does,
so that the sequence is tightest near the planned number of labels whatever the variance.
rho² = x / planned with x solving log((x + 1) / alpha²) = x, which minimises the radius at
n = planned (the paper's (-2 log alpha + log(-2 log alpha + 1)) / planned is the first step
towards it). sigma² is the per-label variance of the Hajek mean's linearisation
w_i (r_i - mean) / mean(w), smoothed by two pseudo-labels (one judge error each way, as Laplace's
rule smooths a share): with ten labels the judge happened to get all right, the plain estimate
would be 0 and the interval would close at once.

**Without replacement.** The labels are drawn without replacement from the campaign's items, a
finite set, while the sequence above assumes independent draws. It stays valid, and conservative:
a mean drawn without replacement varies less (by the factor 1 - n/N at a fixed n), and
simulations of a fixed set of 100 to 1,000 responses labelled in random order find it covering
their rate at every number of labels in 99-100% of orders. It does not use that labelling all N
gives the exact rate, so it does not shrink to 0 there. A correction was tried and left out: the
unlabelled items' mean is a martingale (Waudby-Smith and Ramdas, "Confidence sequences for
sampling without replacement", NeurIPS 2020), and the same normal-mixture boundary on it gives
the radius above at n N / (N - n) labels; but it covered as few as 90% of orders where the judge
errs on 1-5% of responses: the errors among the last unlabelled items are too few for a normal
approximation.

**Labels still needed**: the fewest labels at which the radius, with the rectifier's variance as
estimated now, reaches the target (found by bisection; the radius falls as n grows). It may be
more than the category has items: a judge that errs often needs more labels than there are
responses to pin its errors down this way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from statistics import NormalDist

from judging.judges_text import COMPLIED

ALPHA = 0.05
# No interval below this many gold labels (analysis.metrics.MIN_ITEMS: the reports show no
# figure below it either), and so no stopping before it.
MIN_LABELS = 10
# Two pseudo-labels smooth the rectifier's variance: r = +1 and r = -1 at the mean weight.
PSEUDO_LABELS = 2
# Bisection for the labels still needed searches up to this many.
MOST_LABELS = 10**9


@dataclass(frozen=True)
class JudgeShare:
    """The judge's verdicts on the N responses the rate is of: how many, how many complied.
    Known exactly: the rate is of these responses, so their share carries no sampling error."""

    judged: int
    complied: int

    @property
    def rate(self) -> float:
        return self.complied / self.judged if self.judged else 0.0


@dataclass(frozen=True)
class Rectifier:
    """Sums over the gold-labelled items of the weight w = 1/p and the rectifier r = Y - f:
    all that the Hajek mean and its variance need, so one label is added without the others."""

    labels: int = 0
    weight: float = 0.0  # sum w
    weighted: float = 0.0  # sum w r
    weight_sq: float = 0.0  # sum w²
    weight_sq_r: float = 0.0  # sum w² r
    weight_sq_r_sq: float = 0.0  # sum w² r²

    def add(self, *, judge_complied: bool, gold_complied: bool, weight: float = 1.0) -> Rectifier:
        r = float(gold_complied) - float(judge_complied)
        w2 = weight * weight
        return Rectifier(
            labels=self.labels + 1,
            weight=self.weight + weight,
            weighted=self.weighted + weight * r,
            weight_sq=self.weight_sq + w2,
            weight_sq_r=self.weight_sq_r + w2 * r,
            weight_sq_r_sq=self.weight_sq_r_sq + w2 * r * r,
        )

    @property
    def mean(self) -> float:
        return self.weighted / self.weight if self.labels else 0.0

    def _squared_influence(self) -> float:
        """sum of z_i², z_i = w_i (r_i - mean) / mean(w): the Hajek mean's linearisation."""
        if not self.labels:
            return 0.0
        mean = self.mean
        spread = self.weight_sq_r_sq - 2 * mean * self.weight_sq_r + mean * mean * self.weight_sq
        mean_weight = self.weight / self.labels
        return max(0.0, spread) / (mean_weight * mean_weight)

    @property
    def variance(self) -> float:
        """The per-label variance of the linearisation, n - 1 in the denominator: with equal
        weights var(r); ``variance / labels`` is then the reports' variance of the mean. NaN
        below two labels."""
        if self.labels < 2:
            return math.nan
        return self._squared_influence() / (self.labels - 1)

    @property
    def smoothed_variance(self) -> float:
        """The variance with the two pseudo-labels (z = +1 and -1) among the labels."""
        return (self._squared_influence() + PSEUDO_LABELS) / (self.labels + PSEUDO_LABELS - 1)


def rectifier_of(
    judge_labels: Sequence[str],
    gold_labels: Sequence[str],
    weights: Sequence[float] | None = None,
) -> Rectifier:
    """The sums of labelled items: the judge's label and the gold label of each (a judge failure,
    like any label but complied, is f = 0), with its weight 1/p (1 when not given)."""
    if len(judge_labels) != len(gold_labels):
        raise ValueError("judge_labels and gold_labels differ in length")
    given = [1.0] * len(gold_labels) if weights is None else list(weights)
    if len(given) != len(gold_labels):
        raise ValueError("weights and gold_labels differ in length")
    rectifier = Rectifier()
    for judge, gold, weight in zip(judge_labels, gold_labels, given, strict=True):
        if not weight > 0:
            raise ValueError("weights must be positive (1 / an inclusion probability)")
        rectifier = rectifier.add(
            judge_complied=judge == COMPLIED, gold_complied=gold == COMPLIED, weight=weight
        )
    return rectifier


@cache
def _z(alpha: float) -> float:
    """The two-sided normal quantile z_{1 - alpha/2}."""
    return NormalDist().inv_cdf(1 - alpha / 2)


@cache
def mixture_rho2(planned: int, alpha: float) -> float:
    """rho² of the normal mixture that makes the radius smallest at ``planned`` labels: x /
    planned, x the root of log((x + 1) / alpha²) = x (the fixed point converges in a few
    steps from the paper's first approximation)."""
    x = -2 * math.log(alpha)
    for _ in range(50):
        x = -2 * math.log(alpha) + math.log(x + 1)
    return x / max(planned, 1)


def sequence_radius(labels: int, variance: float, rho2: float, alpha: float) -> float:
    """The confidence sequence's radius around the rectifier's mean at ``labels`` labels
    (Waudby-Smith et al. 2024, Theorem 2.2, rho in units of sigma): two-sided at ``alpha``."""
    if labels < 1:
        return math.inf
    intrinsic = labels * rho2 + 1
    return math.sqrt(variance) * math.sqrt(
        2 * intrinsic / (labels * labels * rho2) * math.log(math.sqrt(intrinsic) / alpha)
    )


@dataclass(frozen=True)
class TargetInterval:
    """The corrected rate with its anytime-valid interval (clipped to [0, 1]); ``half_width``
    is the unclipped radius of the rectifier's confidence sequence, what a target is compared
    with."""

    estimate: float
    low: float
    high: float
    half_width: float
    labels: int
    judged: int


def anytime_interval(
    judge: JudgeShare, rectifier: Rectifier, *, planned: int, alpha: float = ALPHA
) -> TargetInterval | None:
    """The anytime-valid interval after ``rectifier.labels`` gold labels; None below
    MIN_LABELS of them (or with no judged response). ``planned``: the labels the sequence is
    tuned for (the items the campaign has to label there), fixed before the first label."""
    if rectifier.labels < MIN_LABELS or judge.judged < 1:
        return None
    estimate = judge.rate + rectifier.mean
    half = sequence_radius(
        rectifier.labels, rectifier.smoothed_variance, mixture_rho2(planned, alpha), alpha
    )
    return TargetInterval(
        estimate=estimate,
        low=max(0.0, estimate - half),
        high=min(1.0, estimate + half),
        half_width=half,
        labels=rectifier.labels,
        judged=judge.judged,
    )


def target_met(interval: TargetInterval | None, target: float) -> bool:
    return interval is not None and interval.half_width <= target


def labels_needed(
    rectifier: Rectifier, *, target: float, planned: int, alpha: float = ALPHA
) -> int | None:
    """How many gold labels in all would bring the half-width to ``target`` if the rectifier's
    variance stayed as estimated now (never fewer than MIN_LABELS, nor than there are; it may be
    more than there are items to label); None before two labels give a variance to go by."""
    if rectifier.labels < 2:
        return None
    variance = rectifier.smoothed_variance
    rho2 = mixture_rho2(planned, alpha)

    def narrow_enough(labels: int) -> bool:
        return sequence_radius(labels, variance, rho2, alpha) <= target

    low = max(MIN_LABELS, rectifier.labels)
    if narrow_enough(low):
        return low
    if not narrow_enough(MOST_LABELS):
        return None  # only a target of (almost) 0: the radius reaches any other
    high = MOST_LABELS
    while high - low > 1:  # narrow_enough(high) holds, narrow_enough(low) does not
        middle = (low + high) // 2
        if narrow_enough(middle):
            high = middle
        else:
            low = middle
    return high


def fixed_sample_half_width(
    rectifier: Rectifier, *, population: int | None = None, alpha: float = ALPHA
) -> float:
    """The fixed-n half-width z * sqrt((1 - n/N) var(r) / n) of the rate of ``population``
    responses, the planner's variance for it (``annotate.label_budget``, ``RESPONSES``, lambda
    = 1); without ``population``, z * sqrt(var(r) / n). Valid at a number of labels fixed in
    advance, not when looked at after every label and stopped when narrow: kept here as what the
    anytime-valid interval is compared with. The finite-population factor holds for labels
    drawn with equal probabilities."""
    share_left = 1.0 if population is None else max(0.0, 1 - rectifier.labels / population)
    return _z(alpha) * math.sqrt(share_left * rectifier.variance / rectifier.labels)
