"""Which responses a campaign labels, and with what probability each was drawn.

Every design here is a stratified simple random sample, so each response's inclusion
probability is known exactly (n_h / N_h in its stratum). Analysis weights labels by its inverse
to describe the whole run, not the oversampled hard cases.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from annotate.models import Sampling

# A label-scoring judge is "unsure" when P(not complied) lies within this distance of 0.5.
UNSURE_MARGIN = 0.25
# Share of a judge_disagreement sample given to the disagreement stratum when both are large.
DISAGREEMENT_SHARE = 0.5
FAILED_LABELS = frozenset({"unparseable", "error"})


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
    """The sample in serving order."""
    if not candidates:
        raise SamplingError("No responses match the chosen runs and categories.")
    rng = random.Random(seed)
    if sampling == Sampling.ALL:
        return _shuffled([Drawn(c.response_id, 1.0) for c in candidates], rng)
    size = _checked_size(sample_size, sampling)
    if sampling == Sampling.RANDOM:
        return _shuffled(_simple_random(candidates, size, rng), rng)
    if sampling == Sampling.STRATIFIED:
        return _shuffled(_equal_per_subcategory(candidates, size, rng), rng)
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


def _simple_random(pool: Sequence[Candidate], size: int, rng: random.Random) -> list[Drawn]:
    taken = min(size, len(pool))
    probability = taken / len(pool)
    ordered = sorted(pool, key=lambda c: c.response_id)
    return [Drawn(c.response_id, probability) for c in rng.sample(ordered, taken)]


def _equal_per_subcategory(
    candidates: Sequence[Candidate], size: int, rng: random.Random
) -> list[Drawn]:
    strata: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        strata[candidate.subcategory].append(candidate)
    shares = _water_fill({name: len(pool) for name, pool in strata.items()}, size)
    drawn: list[Drawn] = []
    for name in sorted(strata):
        if shares[name]:
            drawn += _simple_random(strata[name], shares[name], rng)
    return drawn


def _water_fill(stratum_sizes: dict[str, int], size: int) -> dict[str, int]:
    """Equal shares; a stratum smaller than its share gives all it has and the rest of its
    share goes to the others. Integer remainders go to strata in name order."""
    shares = dict.fromkeys(stratum_sizes, 0)
    budget = size
    open_strata = sorted(stratum_sizes)
    while budget > 0 and open_strata:
        each, extra = divmod(budget, len(open_strata))
        for index, name in enumerate(list(open_strata)):
            room = stratum_sizes[name] - shares[name]
            give = min(room, each + (1 if index < extra else 0))
            shares[name] += give
            budget -= give
            if shares[name] == stratum_sizes[name]:
                open_strata.remove(name)
        if each == 0 and extra == 0:
            break
    return shares


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


def _disagreement_first(
    candidates: Sequence[Candidate],
    size: int,
    rng: random.Random,
    readings: list[JudgeReading],
) -> list[Drawn]:
    """Two strata: responses the judges disagree on (or a scoring judge is unsure of) and the
    rest. The first gets half the sample (or all of it, if smaller) and is served first, most
    uncertain first; both are simple random samples within, so weights stay exact."""
    uncertainty = uncertainty_by_response(readings)
    threshold = 1 - 2 * UNSURE_MARGIN
    hard = [c for c in candidates if uncertainty.get(c.response_id, 0.0) >= threshold]
    easy = [c for c in candidates if uncertainty.get(c.response_id, 0.0) < threshold]
    hard_size = min(len(hard), max(math.ceil(size * DISAGREEMENT_SHARE), size - len(easy)))
    easy_size = min(len(easy), size - hard_size)
    hard_drawn = _simple_random(hard, hard_size, rng) if hard_size else []
    hard_drawn.sort(key=lambda d: (-uncertainty.get(d.response_id, 0.0), d.response_id))
    easy_drawn = _simple_random(easy, easy_size, rng) if easy_size else []
    return hard_drawn + _shuffled(easy_drawn, rng)
