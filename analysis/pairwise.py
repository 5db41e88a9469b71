"""Side-by-side figures: which of two models' responses people prefer, how strong each model is
when more than two are compared, and whether the side a response was shown on sways people.

Plain Python, NumPy, SciPy and choix, no Django (an import contract holds it so); checked
against statsmodels, scipy and hand computations in tests/analysis/test_pairwise.py.

Labels are what the annotator saw: the left or the right response was better, a tie, or both
bad. An item's ``swapped`` says which response was on the left (``response``, model A, unless
swapped), and :func:`outcome` turns a label into what it says about the models.

Choices made here, and said on the report page:

- A win rate counts a tie and "both bad" as half a win for each side (as Chatbot Arena and
  AlpacaEval count ties), so the two models' rates add up to 1 and no label is dropped.
- Intervals are 95% percentile bootstraps over items (1,000 resamples, seed 0), like every other
  figure of Demur, with sampling weights (inverse inclusion probabilities) when the campaign
  drew an equal number of pairs per subcategory. Resampling n items is drawing multinomial
  counts of the distinct (outcome, weight) cells, so it costs nothing per item.
- Bradley-Terry scores are maximum-likelihood fits (choix's I-LSR on the matrix of wins, a tie
  half a win each way), on the log scale and centred on 0: a difference of 1 means the stronger
  model's response is preferred e/(1+e) = 73% of the time. When some set of models never loses
  to the rest the likelihood has no maximum, and the score is undefined, not a guess.
- Position bias is tested on decisions (left or right better), one per item: under no bias the
  random order makes "left" a fair coin, so an exact binomial test against 0.5 is valid; several
  annotators' labels of one item are not independent draws and are not counted as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import choix
import numpy as np
from numpy.typing import NDArray
from scipy.stats import binomtest

from analysis.metrics import CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED, MIN_ITEMS, Estimate
from analysis.sides import (
    A_SCORE,
    A_WINS,
    B_WINS,
    BOTH_BAD,
    LEFT_BETTER,
    OUTCOMES,
    RIGHT_BETTER,
    TIE,
)

FloatArray = NDArray[np.float64]


def _too_few(n: int, what: str = "items") -> str:
    """Why no figure is given for n items, or "" (the wording of analysis.metrics)."""
    if n == 0:
        return f"no {what}"
    if n < MIN_ITEMS:
        return f"too few {what} (n={n}; {MIN_ITEMS} needed)"
    return ""


def _percentile_interval(resampled: FloatArray) -> tuple[float | None, float | None]:
    finite = resampled[np.isfinite(resampled)]
    if finite.size == 0:
        return None, None
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def _weights(weights: Sequence[float] | None, n: int) -> FloatArray:
    array = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if array.shape != (n,):
        raise ValueError(f"weights: expected {n} values, one per item, got shape {array.shape}")
    if n and (not np.isfinite(array).all() or (array <= 0).any()):
        raise ValueError("weights must be finite and positive")
    return array


def _resampled_cells(
    keys: NDArray[np.int64], resamples: int, rng: np.random.Generator
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Bootstrap resamples of items as counts of their distinct cells (rows of ``keys``):
    returns the distinct cells and a (resamples x cells) matrix of counts."""
    cells, inverse = np.unique(keys, axis=0, return_inverse=True)
    shares = np.bincount(inverse.reshape(-1), minlength=len(cells)) / len(keys)
    return cells, rng.multinomial(len(keys), shares, size=resamples)


# --- win rate -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WinRate:
    """Model A against model B on ``n`` items: the counts of each outcome and A's win rate
    (a tie or "both bad" half a win for each), weighted when the items carry weights."""

    n: int
    a_wins: int
    b_wins: int
    ties: int
    both_bad: int
    a_rate: Estimate

    @property
    def b_rate(self) -> Estimate:
        """B's win rate over A: 1 minus A's, its interval mirrored."""
        rate = self.a_rate
        if rate.value is None:
            return rate
        return Estimate(
            1 - rate.value,
            None if rate.high is None else 1 - rate.high,
            None if rate.low is None else 1 - rate.low,
            rate.n,
        )


def win_rate(
    outcomes: Sequence[str],
    weights: Sequence[float] | None = None,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> WinRate:
    """A's win rate over B from one outcome per item (``OUTCOMES``)."""
    unknown = sorted(set(outcomes) - set(OUTCOMES))
    if unknown:
        raise ValueError(f"unknown outcome {unknown[0]!r}; expected one of {', '.join(OUTCOMES)}")
    n = len(outcomes)
    weight = _weights(weights, n)
    counts = {name: sum(1 for o in outcomes if o == name) for name in OUTCOMES}
    reason = _too_few(n)
    if reason:
        rate = Estimate(None, None, None, n, reason)
    else:
        scores = np.array([A_SCORE[o] for o in outcomes])
        value = float((weight * scores).sum() / weight.sum())
        rate = Estimate(value, *_bootstrap_mean(scores, weight, resamples, seed), n)
    return WinRate(
        n=n,
        a_wins=counts[A_WINS],
        b_wins=counts[B_WINS],
        ties=counts[TIE],
        both_bad=counts[BOTH_BAD],
        a_rate=rate,
    )


def _bootstrap_mean(
    scores: FloatArray, weight: FloatArray, resamples: int, seed: int
) -> tuple[float | None, float | None]:
    """The percentile interval of the weighted mean over item resamples."""
    # Scores are halves and weights one value per stratum: cells keyed by (2 x score, weight
    # index) hold every item exactly.
    weight_values, weight_index = np.unique(weight, return_inverse=True)
    keys = np.stack([np.rint(2 * scores).astype(np.int64), weight_index.reshape(-1)], axis=1)
    cells, counts = _resampled_cells(keys, resamples, np.random.default_rng(seed))
    cell_weight = weight_values[cells[:, 1]]
    totals = counts @ (cell_weight * cells[:, 0] / 2)
    return _percentile_interval(totals / (counts @ cell_weight))


# --- Bradley-Terry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """One item's outcome between two models (indices into the list of models)."""

    a: int
    b: int
    outcome: str


@dataclass(frozen=True)
class BradleyTerry:
    """A score per model (log strength, mean 0) with its interval; ``n``: items compared."""

    models: list[str]
    scores: list[Estimate]
    n: int
    reason: str = ""

    @property
    def ranked(self) -> list[tuple[str, Estimate]]:
        """Models from the strongest down (undefined scores keep their order)."""
        pairs = list(zip(self.models, self.scores, strict=True))
        return sorted(pairs, key=lambda pair: -(pair[1].value or 0.0))


def _cell_wins(comparisons: Sequence[Comparison], models: int) -> FloatArray:
    """Each comparison's wins as a models x models matrix (a tie: half each way)."""
    wins = np.zeros((len(comparisons), models, models))
    for index, comparison in enumerate(comparisons):
        a_share = A_SCORE[comparison.outcome]
        wins[index, comparison.a, comparison.b] += a_share
        wins[index, comparison.b, comparison.a] += 1 - a_share
    return wins


def strongly_connected(wins: FloatArray) -> NDArray[np.bool_]:
    """For each matrix of wins (a stack, last two axes): whether every model can be reached
    from every other along wins, the condition for the maximum-likelihood scores to exist
    (Zermelo, Ford). Boolean matrix squaring, for a whole stack at once."""
    k = wins.shape[-1]
    reach = (wins > 0) | np.eye(k, dtype=bool)
    for _ in range(max(1, int(np.ceil(np.log2(k))))):
        reach = (reach.astype(np.int64) @ reach.astype(np.int64)) > 0
    return np.asarray(reach.all(axis=(-2, -1)))


def _fit(wins: FloatArray) -> FloatArray | None:
    """Maximum-likelihood log strengths (mean 0) by choix's I-LSR, or None when there is no
    maximum: some set of models never lost to the others."""
    if not strongly_connected(wins):
        return None
    try:
        params = choix.ilsr_pairwise_dense(wins, alpha=0.0, max_iter=1000, tol=1e-10)
    except (RuntimeError, ValueError):  # no convergence, or no stationary distribution
        return None
    return np.asarray(params, dtype=np.float64)


# Iterations of the resamples' fit: far more than a connected resample started at the full
# data's scores needs to move less than MM_TOLERANCE.
MM_ITERATIONS = 5000
MM_TOLERANCE = 1e-10


def mm_fits(wins: FloatArray, start: FloatArray) -> FloatArray:
    """Maximum-likelihood log strengths (mean 0) for a stack of win matrices at once (one row
    per matrix, NaN where the maximum does not exist), by Hunter's MM iteration
    ``p_i = W_i / sum_j N_ij / (p_i + p_j)``. The bootstrap fits a thousand resamples: one
    choix call each would take seconds, this takes milliseconds; the test holds both equal."""
    games = wins + np.swapaxes(wins, -1, -2)
    won = wins.sum(axis=-1)
    log_strength = np.broadcast_to(start - start.mean(), won.shape).copy()
    connected = strongly_connected(wins)
    # Only connected stacks are iterated: elsewhere a model with no win has no finite score.
    games, won, log_strength = games[connected], won[connected], log_strength[connected]
    for _ in range(MM_ITERATIONS):
        strength = np.exp(log_strength)
        pair_sums = strength[..., :, None] + strength[..., None, :]
        updated = np.log(won / (games / pair_sums).sum(axis=-1))
        updated -= updated.mean(axis=-1, keepdims=True)
        moved = np.abs(updated - log_strength)
        log_strength = updated
        if not moved.size or moved.max() < MM_TOLERANCE:
            break
    fitted = np.full((*connected.shape, wins.shape[-1]), np.nan)
    fitted[connected] = log_strength
    return fitted


def bradley_terry(
    comparisons: Sequence[Comparison],
    models: Sequence[str],
    weights: Sequence[float] | None = None,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> BradleyTerry:
    """Bradley-Terry scores of ``models`` from one comparison per item."""
    k, n = len(models), len(comparisons)
    weight = _weights(weights, n)
    reason = _too_few(n)
    point = None
    if not reason:
        point = _fit((_cell_wins(comparisons, k) * weight[:, None, None]).sum(axis=0))
        if point is None:
            reason = "undefined: a model, or a group of models, never lost to the others"
    if point is None:
        return BradleyTerry(list(models), [Estimate(None, None, None, n, reason)] * k, n, reason)
    fitted = _resampled_fits(comparisons, weight, k, point, resamples, seed)
    scores = [Estimate(float(point[i]), *_percentile_interval(fitted[:, i]), n) for i in range(k)]
    return BradleyTerry(list(models), scores, n)


def _resampled_fits(
    comparisons: Sequence[Comparison],
    weight: FloatArray,
    k: int,
    point: FloatArray,
    resamples: int,
    seed: int,
) -> FloatArray:
    """The scores of each bootstrap resample of the items (NaN where undefined)."""
    # Items as counts of their distinct cells: (a, b, outcome, weight).
    weight_values, weight_index = np.unique(weight, return_inverse=True)
    keys = np.array(
        [
            [c.a, c.b, OUTCOMES.index(c.outcome), w]
            for c, w in zip(comparisons, weight_index.reshape(-1), strict=True)
        ],
        dtype=np.int64,
    )
    cells, counts = _resampled_cells(keys, resamples, np.random.default_rng(seed))
    cell_comparisons = [Comparison(int(a), int(b), OUTCOMES[int(o)]) for a, b, o, _ in cells]
    contributions = _cell_wins(cell_comparisons, k) * weight_values[cells[:, 3]][:, None, None]
    # Each resample's wins: its count of each cell times the cell's wins.
    return mm_fits(np.tensordot(counts.astype(np.float64), contributions, axes=1), point)


# --- position bias ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PositionBias:
    """How often "left" wins among decisions (left or right better), with the exact
    (Clopper-Pearson) 95% interval and the two-sided exact binomial test against one half."""

    left: int
    right: int
    share: float | None
    low: float | None
    high: float | None
    p_value: float | None
    reason: str = ""

    @property
    def n(self) -> int:
        return self.left + self.right

    @property
    def biased(self) -> bool:
        """Whether the test rejects "left and right win alike" at the 5% level."""
        return self.p_value is not None and self.p_value < 1 - CONFIDENCE


def position_bias(values: Sequence[str]) -> PositionBias:
    """From one label per item as the annotators saw it; ties and "both bad" say nothing about
    position and are left out."""
    left = sum(1 for value in values if value == LEFT_BETTER)
    right = sum(1 for value in values if value == RIGHT_BETTER)
    reason = _too_few(left + right, "decisions")
    if reason:
        return PositionBias(left, right, None, None, None, None, reason)
    test = binomtest(left, left + right, 0.5, alternative="two-sided")
    interval = test.proportion_ci(confidence_level=CONFIDENCE, method="exact")
    return PositionBias(
        left=left,
        right=right,
        share=left / (left + right),
        low=float(interval.low),
        high=float(interval.high),
        p_value=float(test.pvalue),
    )
