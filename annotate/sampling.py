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
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from annotate.models import Sampling
from judging.models import FAILED_VERDICTS

# A label-scoring judge is "unsure" when P(not complied) lies within this distance of 0.5.
UNSURE_MARGIN = 0.25
# Share of a judge_disagreement sample given to the disagreement stratum when both are large.
DISAGREEMENT_SHARE = Fraction(1, 2)
FAILED_LABELS = FAILED_VERDICTS
HARD, EASY = "judges disagree or are unsure", "judges agree"


class SamplingError(ValueError):
    """A sampling request that cannot be met; the message says which setting."""


@dataclass(frozen=True)
class Candidate:
    response_id: int
    subcategory: str


@dataclass(frozen=True)
class JudgeReading:
    response_id: int
    label: str
    score: float | None


@dataclass(frozen=True)
class Drawn:
    response_id: int
    inclusion_probability: float


def draw(
    *,
    candidates: Sequence[Candidate],
    sampling: str,
    sample_size: int | None,
    seed: int,
    readings: Iterable[JudgeReading] = (),
) -> list[Drawn]:
    """The sample in serving order: ``min(sample_size, len(candidates))`` responses."""
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
    if sampling == Sampling.JUDGE_DISAGREEMENT:
        return _disagreement_first(candidates, size, rng, list(readings))
    raise SamplingError(f"Unknown sampling {sampling!r}.")


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


def uncertainty_by_response(readings: Iterable[JudgeReading]) -> dict[int, float]:
    """1.0 where judges disagree or one failed; else how unsure the most unsure scoring judge
    was (1 at P=0.5, 0 at P=0 or 1); 0.0 where all judges agree and none scored."""
    labels: dict[int, set[str]] = defaultdict(set)
    uncertainty: dict[int, float] = {}
    for reading in readings:
        labels[reading.response_id].add(reading.label)
        uncertainty.setdefault(reading.response_id, 0.0)
        if reading.score is not None:
            unsure = 1 - 2 * abs(reading.score - 0.5)
            uncertainty[reading.response_id] = max(uncertainty[reading.response_id], unsure)
    for response_id, seen in labels.items():
        if len(seen) > 1 or seen & FAILED_LABELS:
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
    readings: list[JudgeReading],
) -> list[Drawn]:
    """Two strata: responses the judges disagree on (or a scoring judge is unsure of) and the
    rest. The first is served first, most uncertain first; both are simple random samples
    within, so weights stay exact."""
    uncertainty = uncertainty_by_response(readings)
    threshold = 1 - 2 * UNSURE_MARGIN
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
