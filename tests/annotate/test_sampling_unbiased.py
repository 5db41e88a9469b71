"""Every design's inclusion probabilities are what they say, whatever the sample size.

With the probabilities right, the Horvitz-Thompson sum of 1/p over a sample has expectation N
(the pool's size), and every response has a chance to be drawn. Each case below draws a few
hundred samples with different seeds and checks both, and compares each stored probability with
how often its stratum's responses were really drawn.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter, defaultdict
from fractions import Fraction

import pytest

from annotate.sampling import (
    Candidate,
    JudgeReading,
    draw,
    equal_shares,
    random_allocation,
)

SEEDS = range(400)


def pool(sizes: dict[str, int]) -> list[Candidate]:
    candidates: list[Candidate] = []
    for name, size in sizes.items():
        start = len(candidates) + 1
        candidates += [Candidate(start + offset, name) for offset in range(size)]
    return candidates


# The demo: 30 responses over 18 CoCoNot subcategories, one to three each.
DEMO = {f"sub-{index:02d}": 3 if index % 3 == 0 else 1 for index in range(18)}
# Water filling with a fractional level: "one" and "two" give all they have.
UNEVEN = {"one": 1, "two": 2, "five": 5, "ten": 10, "twenty": 20}


def disagreement_readings(candidates: list[Candidate], hard_every: int) -> list[JudgeReading]:
    readings = [JudgeReading(c.response_id, "complied", None) for c in candidates]
    readings += [
        JudgeReading(c.response_id, "not_complied", None)
        for c in candidates
        if c.response_id % hard_every == 0
    ]
    return readings


# name: (pool, sampling, sample size, judge disagreement on every n-th response or 0)
CASES: dict[str, tuple[list[Candidate], str, int | None, int]] = {
    "random 7 of 40": (pool({"a": 40}), "random", 7, 0),
    "stratified 6 over 18 subcategories": (pool(DEMO), "stratified", 6, 0),
    "stratified 13, uneven strata": (pool(UNEVEN), "stratified", 13, 0),
    "stratified 1": (pool(UNEVEN), "stratified", 1, 0),
    "stratified more than the pool": (pool(UNEVEN), "stratified", 500, 0),
    "judge disagreement 1": (pool({"a": 30}), "judge_disagreement", 1, 5),
    "judge disagreement 7": (pool({"a": 30}), "judge_disagreement", 7, 5),
    "judge disagreement 25, few easy": (pool({"a": 30}), "judge_disagreement", 25, 10),
    "all": (pool(UNEVEN), "all", None, 0),
}


def samples(name: str):
    candidates, sampling, size, hard_every = CASES[name]
    readings = disagreement_readings(candidates, hard_every) if hard_every else []
    for seed in SEEDS:
        yield draw(
            candidates=candidates,
            sampling=sampling,
            sample_size=size,
            seed=seed,
            readings=readings,
        )


def stratum_of(name: str) -> dict[int, str]:
    """Each response's stratum: its subcategory, or (judge disagreement) hard or easy."""
    candidates, sampling, _, hard_every = CASES[name]
    if sampling == "judge_disagreement":
        return {c.response_id: str(c.response_id % hard_every == 0) for c in candidates}
    return {c.response_id: c.subcategory for c in candidates}


@pytest.mark.parametrize("name", CASES)
def test_the_weighted_sample_size_is_N_on_average(name: str) -> None:
    population = len(CASES[name][0])
    sums = [sum(1 / d.inclusion_probability for d in drawn) for drawn in samples(name)]
    assert statistics.fmean(sums) == pytest.approx(population, rel=0.04)


@pytest.mark.parametrize("name", CASES)
def test_every_stratum_is_drawn_at_some_seed(name: str) -> None:
    strata = stratum_of(name)
    seen = {strata[d.response_id] for drawn in samples(name) for d in drawn}
    assert seen == set(strata.values())


@pytest.mark.parametrize("name", CASES)
def test_each_sample_has_the_size_asked_or_the_whole_pool(name: str) -> None:
    candidates, _, size, _ = CASES[name]
    wanted = len(candidates) if size is None else min(size, len(candidates))
    assert {len(drawn) for drawn in samples(name)} == {wanted}


@pytest.mark.parametrize("name", CASES)
def test_stored_probabilities_match_how_often_responses_were_drawn(name: str) -> None:
    strata = stratum_of(name)
    members = Counter(strata.values())
    drawn_count: Counter[str] = Counter()
    stated: dict[str, set[float]] = defaultdict(set)
    for drawn in samples(name):
        for d in drawn:
            drawn_count[strata[d.response_id]] += 1
            stated[strata[d.response_id]].add(d.inclusion_probability)
    for stratum, probabilities in stated.items():
        (probability,) = probabilities  # one probability per stratum
        observed = drawn_count[stratum] / (members[stratum] * len(SEEDS))
        assert observed == pytest.approx(probability, abs=0.05), stratum


def test_six_of_eighteen_subcategories_is_a_third_of_a_draw_each() -> None:
    drawn = next(samples("stratified 6 over 18 subcategories"))
    strata = stratum_of("stratified 6 over 18 subcategories")
    sizes = Counter(strata.values())
    for d in drawn:
        assert d.inclusion_probability == pytest.approx(1 / 3 / sizes[strata[d.response_id]])
    assert len({strata[d.response_id] for d in drawn}) == 6


def test_equal_shares_fill_small_strata_and_split_the_rest_evenly() -> None:
    assert equal_shares(UNEVEN, 13) == {
        "one": 1,
        "two": 2,
        "five": Fraction(10, 3),
        "ten": Fraction(10, 3),
        "twenty": Fraction(10, 3),
    }
    assert equal_shares({"a": 4, "b": 4, "c": 4}, 2) == dict.fromkeys("abc", Fraction(2, 3))
    assert equal_shares({"a": 1, "b": 3}, 100) == {"a": 1, "b": 3}


def test_a_random_allocation_always_adds_up_and_averages_its_targets() -> None:
    targets = {"a": Fraction(1, 3), "b": Fraction(5, 2), "c": Fraction(13, 6), "d": Fraction(2)}
    totals: Counter[str] = Counter()
    rng = random.Random(0)
    for _ in range(3000):
        counts = random_allocation(targets, rng)
        assert sum(counts.values()) == 7
        for name, count in counts.items():
            assert count in {int(targets[name]), int(targets[name]) + 1}
            totals[name] += count
    for name, target in targets.items():
        assert totals[name] / 3000 == pytest.approx(float(target), abs=0.05)
