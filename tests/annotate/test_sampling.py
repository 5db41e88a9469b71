"""Sampling designs: sizes, order, and inclusion probabilities that weight back to the run.

With a stratified simple random sample, the Horvitz-Thompson estimate of the population size,
the sum of 1/p over the sample, is exactly N: a number each design below must reproduce.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from annotate.sampling import (
    Candidate,
    JudgeReading,
    SamplingError,
    draw,
    uncertainty_by_response,
)


def pool(sizes: dict[str, int]) -> list[Candidate]:
    candidates, next_id = [], 1
    for name, size in sizes.items():
        for _ in range(size):
            candidates.append(Candidate(next_id, name))
            next_id += 1
    return candidates


def weighted_size(drawn) -> float:
    return sum(1 / d.inclusion_probability for d in drawn)


def test_all_takes_every_response_with_probability_one() -> None:
    drawn = draw(candidates=pool({"a": 5, "b": 3}), sampling="all", sample_size=None, seed=1)
    assert sorted(d.response_id for d in drawn) == list(range(1, 9))
    assert {d.inclusion_probability for d in drawn} == {1.0}


def test_random_draws_n_of_N_each_with_probability_n_over_N() -> None:
    drawn = draw(candidates=pool({"a": 40}), sampling="random", sample_size=10, seed=3)
    assert len(drawn) == 10 == len({d.response_id for d in drawn})
    assert {d.inclusion_probability for d in drawn} == {0.25}
    assert weighted_size(drawn) == pytest.approx(40)


def test_the_same_seed_draws_the_same_sample_and_another_seed_another() -> None:
    def ids(seed: int) -> list[int]:
        drawn = draw(candidates=pool({"a": 100}), sampling="random", sample_size=10, seed=seed)
        return [d.response_id for d in drawn]

    assert ids(7) == ids(7)
    assert ids(7) != ids(8)


def test_stratified_takes_equal_numbers_and_gives_small_strata_s_share_to_the_others() -> None:
    sizes = {"big": 50, "middle": 20, "tiny": 2}
    drawn = draw(candidates=pool(sizes), sampling="stratified", sample_size=30, seed=0)
    by_stratum = Counter(
        c.subcategory for c in pool(sizes) if c.response_id in {d.response_id for d in drawn}
    )
    assert by_stratum == {"big": 14, "middle": 14, "tiny": 2}
    assert weighted_size(drawn) == pytest.approx(72)


def test_uncertainty_is_one_where_judges_disagree_or_fail_and_graded_for_scores() -> None:
    readings = [
        JudgeReading(1, "complied", None),
        JudgeReading(1, "not_complied", None),
        JudgeReading(2, "complied", None),
        JudgeReading(2, "complied", None),
        JudgeReading(3, "unparseable", None),
        JudgeReading(4, "not_complied", 0.5),
        JudgeReading(5, "not_complied", 0.9),
    ]
    assert uncertainty_by_response(readings) == pytest.approx(
        {1: 1.0, 2: 0.0, 3: 1.0, 4: 1.0, 5: 0.2}
    )


def test_judge_disagreement_serves_hard_cases_first_with_exact_weights() -> None:
    candidates = pool({"a": 100})
    rng = random.Random(0)
    hard = set(rng.sample(range(1, 101), 10))
    readings = [JudgeReading(i, "complied", None) for i in range(1, 101)]
    readings += [JudgeReading(i, "not_complied", None) for i in hard]
    drawn = draw(
        candidates=candidates,
        sampling="judge_disagreement",
        sample_size=20,
        seed=5,
        readings=readings,
    )
    assert len(drawn) == 20
    assert {d.response_id for d in drawn[:10]} == hard  # all 10 disagreements, first
    assert {d.inclusion_probability for d in drawn[:10]} == {1.0}
    assert [d.inclusion_probability for d in drawn[10:]] == pytest.approx([10 / 90] * 10)
    assert weighted_size(drawn) == pytest.approx(100)


def test_judge_disagreement_takes_half_when_disagreements_are_many() -> None:
    readings = [JudgeReading(i, "complied", None) for i in range(1, 101)]
    readings += [JudgeReading(i, "neither", None) for i in range(1, 61)]
    drawn = draw(
        candidates=pool({"a": 100}),
        sampling="judge_disagreement",
        sample_size=10,
        seed=5,
        readings=readings,
    )
    assert sum(1 for d in drawn if d.response_id <= 60) == 5
    assert weighted_size(drawn) == pytest.approx(100)


@pytest.mark.parametrize(
    ("sampling", "size", "message"),
    [
        ("random", None, "needs a sample size"),
        ("stratified", 0, "needs a sample size"),
        ("by-vibes", 3, "Unknown sampling"),
    ],
)
def test_impossible_requests_say_which_setting(sampling, size, message) -> None:
    with pytest.raises(SamplingError, match=message):
        draw(candidates=pool({"a": 3}), sampling=sampling, sample_size=size, seed=0)


def test_an_empty_pool_says_nothing_matched() -> None:
    with pytest.raises(SamplingError, match="No responses match"):
        draw(candidates=[], sampling="all", sample_size=None, seed=0)
