"""Which responses a campaign labels, and with what probability each was drawn.

Every design here is a stratified simple random sample: the pool is split into strata, each
stratum gets a number of draws, and those are a simple random sample within it. A design names
each stratum's *expected* number of draws, ``target_h``, which may be fractional (6 draws over
18 subcategories is 1/3 of a draw each). The integer allocation ``n_h`` is then drawn at random
with ``E[n_h] = target_h`` exactly and ``sum n_h = sum target_h``, so every response of stratum
``h`` is drawn with probability ``target_h / N_h``, every stratum can be drawn, and the
Horvitz-Thompson sum of 1/p over the sample is N in expectation (exactly N when every target is
a whole number). Analysis weights labels by 1/p to describe the whole run, not the oversampled
hard cases.

Two designs spend labels where the judge needs them (issue 15). Neyman allocation stratifies by
prompt category and gives category h an expected n_h proportional to N_h sigma_h, sigma_h the
spread of the judge's error (the rectifier Y - lambda f) that a pilot campaign's gold labels show
(:mod:`annotate.label_budget`, the same model the planner uses). Active sampling (Zrnic and
Candes 2024) draws each response with its own probability p_i rising with the judges'
uncertainty about it; a share of every p_i is uniform, so none is near zero, and the draw is
systematic sampling over the responses in random order, which gives each response exactly p_i
and the sample exactly its size.

A campaign that labels every turn of scripted conversations draws conversations, not turns
(:func:`draw_clusters`): each design above runs over the conversations as its units (the
sample size counts conversations; a single prompt is a conversation of one answer), and a drawn
conversation brings all its turns, each carrying the conversation's inclusion probability. So a
conversation is labelled whole or not at all, every turn-level estimate stays design-unbiased
(a turn is in the sample exactly when its conversation is), and the turns of one conversation,
which are not independent, are never mistaken for independent draws. The designs that read the
judges take a conversation's uncertainty as the largest of its turns'.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from annotate.label_budget import Stratum, neyman_allocation
from annotate.models import Sampling
from judging.models import FAILED_VERDICTS

# A label-scoring judge is "unsure" when P(not complied) lies within this distance of 0.5.
UNSURE_MARGIN = 0.25
# Share of a judge_disagreement sample given to the disagreement stratum when both are large.
DISAGREEMENT_SHARE = Fraction(1, 2)
FAILED_LABELS = FAILED_VERDICTS
HARD, EASY = "judges disagree or are unsure", "judges agree"
# Designs that read single responses' verdicts or categories: a pairwise campaign cannot use them.
SINGLE_RESPONSE_DESIGNS = frozenset({Sampling.JUDGE_DISAGREEMENT, Sampling.NEYMAN, Sampling.ACTIVE})
# Active sampling: the share of each response's draw probability that is uniform, unless the
# campaign says otherwise. With 1/4, no response is drawn with less than a quarter of the
# uniform design's probability, so no label weighs more than four times a uniform one.
DEFAULT_UNIFORM_SHARE = 0.25
# Probabilities are exact fractions (their sum is the sample size, to the last draw); the judges'
# uncertainty is read to this resolution first, so that they share one small denominator.
UNCERTAINTY_STEPS = 1000


class SamplingError(ValueError):
    """A sampling request that cannot be met; the message says which setting."""


# Candidates, readings and draws are NamedTuples: a campaign over a million responses makes a
# million of each, and a tuple is made several times faster than a frozen dataclass.
class Candidate(NamedTuple):
    response_id: int
    subcategory: str
    category: str = ""


@dataclass(frozen=True)
class Cluster:
    """A conversation's answers, drawn together: one run's responses to one prompt's turns,
    in turn order (a single response for a single prompt)."""

    response_ids: tuple[int, ...]
    subcategory: str
    category: str = ""


class JudgeReading(NamedTuple):
    response_id: int
    label: str
    score: float | None


# A reading as the database gives it: (response id, label, score). ``JudgeReading`` is one.
Reading = tuple[int, str, float | None]


class Drawn(NamedTuple):
    response_id: int
    inclusion_probability: float


def draw(
    *,
    candidates: Sequence[Candidate],
    sampling: str,
    sample_size: int | None,
    seed: int,
    readings: Iterable[Reading] = (),
    error_model: Sequence[Stratum] = (),
    uniform_share: float | None = None,
    uncertainty: Mapping[int, float] | None = None,
) -> list[Drawn]:
    """The sample in serving order: ``min(sample_size, len(candidates))`` responses.

    ``readings``: what the sampling judges said (judge disagreement, active sampling), or
    ``uncertainty``: how unsure they were of each candidate, already read from them;
    ``error_model``: the judge's errors per category from a pilot (Neyman allocation)."""
    if not candidates:
        raise SamplingError("No responses match the chosen runs and categories.")
    rng = random.Random(seed)
    if sampling == Sampling.ALL:
        return _shuffled([Drawn(c.response_id, 1.0) for c in candidates], rng)
    size = _checked_size(sample_size, sampling)
    if sampling == Sampling.RANDOM:
        strata = {"": list(candidates)}
        return _shuffled(_stratified(strata, {"": Fraction(size)}, rng), rng)
    if sampling == Sampling.STRATIFIED:
        strata = _by_subcategory(candidates)
        return _shuffled(_stratified(strata, equal_shares(_sizes(strata), size), rng), rng)
    unsure = dict(uncertainty) if uncertainty is not None else None
    if sampling == Sampling.JUDGE_DISAGREEMENT:
        unsure = unsure if unsure is not None else uncertainty_by_response(readings)
        return _disagreement_first(candidates, size, rng, unsure)
    if sampling == Sampling.NEYMAN:
        strata = _by_category(candidates)
        return _shuffled(_stratified(strata, neyman_targets(error_model, strata, size), rng), rng)
    if sampling == Sampling.ACTIVE:
        share = DEFAULT_UNIFORM_SHARE if uniform_share is None else uniform_share
        unsure = unsure if unsure is not None else uncertainty_by_response(readings)
        return _shuffled(_active(candidates, size, rng, unsure, share), rng)
    raise SamplingError(f"Unknown sampling {sampling!r}.")


def draw_clusters(
    *,
    clusters: Sequence[Cluster],
    sampling: str,
    sample_size: int | None,
    seed: int,
    readings: Iterable[Reading] = (),
    error_model: Sequence[Stratum] = (),
    uniform_share: float | None = None,
    uncertainty: Mapping[int, float] | None = None,
) -> list[tuple[Cluster, float]]:
    """Whole conversations, each with its inclusion probability (that of every one of its
    turns), in the design's serving order: ``draw`` over the conversations as units, a
    conversation's uncertainty the largest of its turns' (``uncertainty`` per response, or
    worked out from ``readings``)."""
    by_response = uncertainty if uncertainty is not None else uncertainty_by_response(readings)
    candidates = [
        Candidate(index, cluster.subcategory, cluster.category)
        for index, cluster in enumerate(clusters)
    ]
    by_cluster = {
        index: max((by_response.get(rid, 0.0) for rid in cluster.response_ids), default=0.0)
        for index, cluster in enumerate(clusters)
    }
    drawn = draw(
        candidates=candidates,
        sampling=sampling,
        sample_size=sample_size,
        seed=seed,
        error_model=error_model,
        uniform_share=uniform_share,
        uncertainty=by_cluster,
    )
    return [(clusters[d.response_id], d.inclusion_probability) for d in drawn]


def _checked_size(sample_size: int | None, sampling: str) -> int:
    if sample_size is None or sample_size < 1:
        raise SamplingError(f"Sampling {sampling!r} needs a sample size of at least 1.")
    return sample_size


def _shuffled(drawn: list[Drawn], rng: random.Random) -> list[Drawn]:
    # Random serving order, so that no annotator meets a category as one long block.
    rng.shuffle(drawn)
    return drawn


def _sizes(strata: Mapping[str, Sequence[Candidate]]) -> dict[str, int]:
    return {name: len(pool) for name, pool in strata.items()}


def _by_subcategory(candidates: Sequence[Candidate]) -> dict[str, list[Candidate]]:
    strata: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        strata[candidate.subcategory].append(candidate)
    return dict(strata)


def _by_category(candidates: Sequence[Candidate]) -> dict[str, list[Candidate]]:
    strata: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        strata[candidate.category].append(candidate)
    return dict(strata)


def _stratified(
    strata: Mapping[str, Sequence[Candidate]],
    targets: Mapping[str, Fraction],
    rng: random.Random,
) -> list[Drawn]:
    """A simple random sample of ``n_h`` in each stratum, ``n_h`` drawn around ``target_h``
    (capped at the stratum's size); each response's probability is ``target_h / N_h``."""
    capped = {name: min(Fraction(len(strata[name])), targets[name]) for name in targets}
    counts = random_allocation(capped, rng)
    drawn: list[Drawn] = []
    for name in sorted(strata):
        if not counts.get(name):
            continue
        pool = sorted(strata[name], key=lambda c: c.response_id)
        probability = float(capped[name] / len(pool))
        drawn += [Drawn(c.response_id, probability) for c in rng.sample(pool, counts[name])]
    return drawn


def random_allocation(targets: Mapping[str, Fraction], rng: random.Random) -> dict[str, int]:
    """Whole numbers of draws with ``E[n_h] = target_h`` and ``sum n_h = sum target_h`` (when
    that sum is whole): each stratum gets the whole part of its target, and the fractional parts
    share the remaining draws by systematic sampling (one uniform start, strata in random
    order), which gives each stratum its extra draw with probability equal to its fraction."""
    counts = {name: math.floor(target) for name, target in targets.items()}
    order = sorted(targets)
    rng.shuffle(order)
    start = Fraction(rng.random())
    reached = Fraction(0)
    for name in order:
        before, reached = reached, reached + targets[name] - counts[name]
        # One extra draw if a point start + k (k whole) lies in [before, reached).
        counts[name] += math.ceil(reached - start) - math.ceil(before - start)
    return counts


def equal_shares(stratum_sizes: Mapping[str, int], size: int) -> dict[str, Fraction]:
    """Water filling: every stratum expects the same number of draws, except that a stratum
    smaller than that level gives all it has and the rest goes to the others. The level may be
    fractional (fewer draws than strata); the total is ``min(size, N)``."""
    remaining = Fraction(min(size, sum(stratum_sizes.values())))
    filling = sorted((n, name) for name, n in stratum_sizes.items() if n > 0)
    targets: dict[str, Fraction] = {}
    while filling:
        level = remaining / len(filling)
        smallest, name = filling[0]
        if smallest > level:
            targets.update((other, level) for _, other in filling)
            break
        targets[name] = Fraction(smallest)
        remaining -= smallest
        filling.pop(0)
    return targets


# The designs that read the sampling judges only as how unsure they were of each response.
UNCERTAINTY_LED = frozenset({Sampling.JUDGE_DISAGREEMENT, Sampling.ACTIVE})


def uncertainty_told_apart(sampling: str) -> float:
    """The least uncertainty the design tells apart from none: judge disagreement only sorts
    the responses at or above its margin (the rest are one stratum, whatever their
    uncertainty); active sampling weighs every response by it (0.0: all of them)."""
    return 1 - 2 * UNSURE_MARGIN if sampling == Sampling.JUDGE_DISAGREEMENT else 0.0


def uncertainty_by_response(readings: Iterable[Reading]) -> dict[int, float]:
    """1.0 where judges disagree or one failed; else how unsure the most unsure scoring judge
    was (1 at P=0.5, 0 at P=0 or 1); 0.0 where all judges agree and none scored. A reading may
    be a plain (response id, label, score) tuple, as the database gives it: a campaign over a
    million responses reads two million (one loop, no object per reading)."""
    labels: dict[int, set[str]] = {}
    uncertainty: dict[int, float] = {}
    for response_id, label, score in readings:
        seen = labels.get(response_id)
        if seen is None:
            labels[response_id] = {label}
            uncertainty[response_id] = 0.0
        else:
            seen.add(label)
        if score is not None:
            unsure = 1 - 2 * abs(score - 0.5)
            if unsure > uncertainty[response_id]:
                uncertainty[response_id] = unsure
    for response_id, seen in labels.items():
        if len(seen) > 1 or not seen.isdisjoint(FAILED_LABELS):
            uncertainty[response_id] = 1.0
    return uncertainty


def disagreement_targets(hard: int, easy: int, size: int) -> dict[str, Fraction]:
    """The hard stratum expects half the sample (all of itself, if smaller; more than half if
    the easy one is too small), the easy one the rest. Both are positive whenever both strata
    are non-empty, however small the sample: with one draw, each gets it half the time."""
    total = Fraction(min(size, hard + easy))
    hard_target = min(Fraction(hard), max(total * DISAGREEMENT_SHARE, total - easy))
    return {HARD: hard_target, EASY: total - hard_target}


def _disagreement_first(
    candidates: Sequence[Candidate],
    size: int,
    rng: random.Random,
    uncertainty: Mapping[int, float],
) -> list[Drawn]:
    """Two strata: responses the judges disagree on (or a scoring judge is unsure of) and the
    rest. The first is served first, most uncertain first; both are simple random samples
    within, so weights stay exact."""
    threshold = uncertainty_told_apart(Sampling.JUDGE_DISAGREEMENT)
    strata: dict[str, list[Candidate]] = {HARD: [], EASY: []}
    for c in candidates:
        strata[HARD if uncertainty.get(c.response_id, 0.0) >= threshold else EASY].append(c)
    targets = disagreement_targets(len(strata[HARD]), len(strata[EASY]), size)
    drawn = _stratified(strata, targets, rng)
    hard_ids = {c.response_id for c in strata[HARD]}
    hard_drawn = [d for d in drawn if d.response_id in hard_ids]
    hard_drawn.sort(key=lambda d: (-uncertainty.get(d.response_id, 0.0), d.response_id))
    easy_drawn = [d for d in drawn if d.response_id not in hard_ids]
    return hard_drawn + _shuffled(easy_drawn, rng)


# --- Neyman allocation ------------------------------------------------------------------------


def neyman_targets(
    error_model: Sequence[Stratum], strata: Mapping[str, Sequence[Candidate]], size: int
) -> dict[str, Fraction]:
    """Each category's expected draws: Neyman allocation of ``size`` under the pilot's error
    model (at least 2 where the category has them, at most all of it), to 1/1000 of a draw,
    summing to ``min(size, N)`` exactly."""
    modelled = {stratum.category for stratum in error_model}
    missing = sorted(set(strata) - modelled)
    if missing:
        raise SamplingError(
            f"Neyman allocation needs the sampling judge's verdicts in every category; "
            f"{', '.join(map(repr, missing))} has none."
        )
    model = [stratum for stratum in error_model if stratum.category in strata]
    allocation, _ = neyman_allocation(model, size)
    shares = {str(stratum.category): float(n) for stratum, n in zip(model, allocation, strict=True)}
    return whole_thousandths(shares, {name: len(pool) for name, pool in strata.items()}, size)


def whole_thousandths(
    shares: Mapping[str, float], caps: Mapping[str, int], size: int
) -> dict[str, Fraction]:
    """``shares`` in thousandths of a draw, each at most its cap, summing to ``min(size, sum
    caps)``: the largest remainders get the thousandths that rounding down left over."""
    step = 1000
    wanted = min(size, sum(caps.values())) * step
    units = {
        name: min(math.floor(share * step), caps[name] * step) for name, share in shares.items()
    }
    by_remainder = sorted(shares, key=lambda name: (units[name] - shares[name] * step, name))
    while sum(units.values()) < wanted:
        for name in by_remainder:
            if sum(units.values()) >= wanted:
                break
            if units[name] < caps[name] * step:
                units[name] += 1
    while sum(units.values()) > wanted:
        largest = max(units, key=lambda name: (units[name], name))
        units[largest] -= 1
    return {name: Fraction(count, step) for name, count in units.items()}


# --- active sampling --------------------------------------------------------------------------


def active_probabilities(
    uncertainty: Sequence[float], size: int, uniform_share: float
) -> list[Fraction]:
    """Each response's inclusion probability: ``size`` draws spread in proportion to
    ``uniform_share`` / N + (1 - ``uniform_share``) u_i / sum u (u_i in [0, 1]), a response
    whose share would pass 1 drawn surely and the rest spread again over the others. The
    probabilities sum to ``min(size, N)`` exactly; none is below ``uniform_share`` · n / N."""
    if not 0 < uniform_share <= 1:
        raise SamplingError("The uniform share of active sampling must be above 0 and at most 1.")
    count = len(uncertainty)
    steps = [round(min(max(u, 0.0), 1.0) * UNCERTAINTY_STEPS) for u in uncertainty]
    share = Fraction(uniform_share).limit_denominator(1000)
    total_steps = sum(steps)
    if total_steps == 0:
        weights = [Fraction(1)] * count
    else:
        # Both parts scaled by N * sum u, so that every weight is a whole number over share's
        # denominator.
        weights = [share * total_steps + (1 - share) * count * step for step in steps]
    return _capped_proportional(weights, min(size, count))


def _capped_proportional(weights: Sequence[Fraction], size: int) -> list[Fraction]:
    """size · w_i / sum w, where any share past 1 is 1 and the others share what is left."""
    probabilities = [Fraction(0)] * len(weights)
    sure: set[int] = set()
    while True:
        left = size - len(sure)
        others = [i for i in range(len(weights)) if i not in sure]
        total = sum((weights[i] for i in others), Fraction(0))
        over = [i for i in others if left * weights[i] >= total]
        if not over or total == 0:
            break
        sure.update(over)
    for i in sure:
        probabilities[i] = Fraction(1)
    for i in others:
        probabilities[i] = left * weights[i] / total if total else Fraction(0)
    return probabilities


def _active(
    candidates: Sequence[Candidate],
    size: int,
    rng: random.Random,
    uncertainty: Mapping[int, float],
    uniform_share: float,
) -> list[Drawn]:
    ordered = sorted(candidates, key=lambda c: c.response_id)
    probabilities = active_probabilities(
        [uncertainty.get(c.response_id, 0.0) for c in ordered], size, uniform_share
    )
    # Each response is a stratum of one with target p_i: the systematic draw of
    # random_allocation takes it with probability exactly p_i, and exactly sum p_i in all.
    targets = {str(c.response_id): p for c, p in zip(ordered, probabilities, strict=True)}
    counts = random_allocation(targets, rng)
    return [
        Drawn(c.response_id, float(p))
        for c, p in zip(ordered, probabilities, strict=True)
        if counts[str(c.response_id)]
    ]
