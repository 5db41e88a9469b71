"""The estimators given the judge's calls on all N items as counts (what the agreement report
asks the database for) against the same estimators given the list of N calls: the same figures
to the last bit, on random data; and against ppi_py, the reference the list form is checked on."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import ppi_py
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.metrics import judge_corrected_rate, judge_corrected_rate_of_counts
from analysis.ppi import (
    ppi_mean,
    ppi_mean_of_counts,
    stratified_ppi_mean,
    stratified_ppi_mean_of_counts,
)
from judging.judges_text import COMPLIED, ERROR, NEITHER, NOT_COMPLIED, UNPARSEABLE

EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# A judge's calls (0/1, as the reports give them) or scores on a few levels.
SCORE_LEVELS = ([0.0, 1.0], [0.0, 0.25, 0.5, 1.0])
STRATA = ("advice", "harm", "unsupported")


def same(a: Any, b: Any) -> bool:
    """Equal to the last bit (repr, so that two NaNs compare equal)."""
    return repr(a) == repr(b)


@st.composite
def samples(draw: st.DrawFn, strata: bool = False) -> dict[str, Any]:
    """N judged items (a stratum each), n of them labelled (drawn from the N, as a campaign
    draws its items), gold labels from the judge's call flipped now and then, and inverse
    inclusion probabilities of the labelled items."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_all = draw(st.integers(2, 400))
    n = draw(st.integers(0, min(n_all, 60)))
    levels = draw(st.sampled_from(SCORE_LEVELS))
    judge_all = rng.choice(levels, n_all)
    strata_all = rng.choice(STRATA[: draw(st.integers(1, 3))], n_all)
    labelled = rng.choice(n_all, n, replace=False)
    flipped = rng.random(n) < draw(st.floats(0.0, 0.5))
    on_gold = judge_all[labelled]
    gold = np.where(flipped, 1.0 - np.round(on_gold), np.round(on_gold))
    weighted = draw(st.booleans())
    return {
        "gold": gold,
        "on_gold": on_gold,
        "strata_on_gold": strata_all[labelled].tolist() if strata else None,
        "judge_all": judge_all,
        "strata_all": strata_all.tolist() if strata else None,
        "weights": rng.uniform(1.0, 5.0, n) if weighted else None,
    }


LAMBDAS = st.sampled_from([None, 0.0, 1.0, 0.4])


@EXAMPLES
@given(sample=samples(), lam=LAMBDAS, finite=st.booleans())
def test_ppi_mean_of_counts_is_ppi_mean(sample: dict[str, Any], lam: Any, finite: bool) -> None:
    args = (sample["gold"], sample["on_gold"])
    options = {"weights": sample["weights"], "lam": lam, "finite_population": finite}
    of_list = ppi_mean(*args, sample["judge_all"], **options)
    counts = Counter(sample["judge_all"].tolist())
    assert same(ppi_mean_of_counts(*args, counts, **options), of_list)


@EXAMPLES
@given(sample=samples(strata=True), lam=LAMBDAS, finite=st.booleans(), pooled=st.booleans())
def test_stratified_ppi_mean_of_counts_is_stratified_ppi_mean(
    sample: dict[str, Any], lam: Any, finite: bool, pooled: bool
) -> None:
    args = (sample["gold"], sample["on_gold"], sample["strata_on_gold"])
    options = {
        "weights": sample["weights"],
        "lam": lam,
        "finite_population": finite,
        "pooled_lambda": pooled,
    }
    of_list = stratified_ppi_mean(*args, sample["judge_all"], sample["strata_all"], **options)
    counts = Counter(zip(sample["strata_all"], sample["judge_all"].tolist(), strict=True))
    assert same(stratified_ppi_mean_of_counts(*args, counts, **options), of_list)


@EXAMPLES
@given(sample=samples(), lam=st.sampled_from([None, 0.0, 1.0]))
def test_ppi_mean_of_counts_matches_ppi_py(sample: dict[str, Any], lam: Any) -> None:
    """The reference itself: ppi_py's point estimate and interval from the N scores."""
    if sample["gold"].size < 2 or np.var(sample["judge_all"]) == 0:
        return  # undefined here; NaN in ppi_py
    args = (sample["gold"], sample["on_gold"])
    counts = Counter(sample["judge_all"].tolist())
    result = ppi_mean_of_counts(*args, counts, lam=lam, weights=sample["weights"])
    reference = (*args, sample["judge_all"])
    point = ppi_py.ppi_mean_pointestimate(*reference, lam=lam, w=sample["weights"])
    low, high = ppi_py.ppi_mean_ci(*reference, alpha=0.05, lam=lam, w=sample["weights"])
    assert result.estimate.value == pytest.approx(float(np.squeeze(point)), abs=1e-9)
    assert result.variance is not None
    # ppi_py's interval is not clipped to [0, 1]; ours is.
    half = (float(np.squeeze(high)) - float(np.squeeze(low))) / 2
    assert result.estimate.low == pytest.approx(max(0.0, float(np.squeeze(low))), abs=1e-9)
    assert half == pytest.approx(1.959963984540054 * result.variance**0.5, rel=1e-7)


LABELS = (COMPLIED, NOT_COMPLIED, NEITHER, UNPARSEABLE, ERROR)


@EXAMPLES
@given(
    seed=st.integers(0, 2**32 - 1),
    n_all=st.integers(0, 300),
    n=st.integers(0, 40),
    weighted=st.booleans(),
)
def test_judge_corrected_rate_of_counts_is_judge_corrected_rate(
    seed: int, n_all: int, n: int, weighted: bool
) -> None:
    rng = np.random.default_rng(seed)
    judge_all = rng.choice(LABELS, n_all, p=[0.4, 0.4, 0.1, 0.05, 0.05]).tolist()
    on_gold = rng.choice(LABELS, n).tolist()
    gold = rng.choice(LABELS[:3], n).tolist()
    weights = rng.uniform(1.0, 4.0, n) if weighted else None
    of_list = judge_corrected_rate(judge_all, on_gold, gold, weights=weights)
    of_counts = judge_corrected_rate_of_counts(Counter(judge_all), on_gold, gold, weights=weights)
    assert same(of_counts, of_list)


def test_counts_say_what_is_wrong_with_them() -> None:
    gold, judge = [1.0, 0.0, 1.0], [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="judge_all: a count must be a whole number"):
        ppi_mean_of_counts(gold, judge, {1.0: -1})
    with pytest.raises(ValueError, match="judge_all: every value must be a number between 0 and 1"):
        ppi_mean_of_counts(gold, judge, {2.0: 5})
    with pytest.raises(ValueError, match="expected \\(stratum, score\\) keys"):
        stratified_ppi_mean_of_counts(gold, judge, ["a"] * 3, {1.0: 5})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="strata \\['b'\\] are not in judge_all"):
        stratified_ppi_mean_of_counts(gold, judge, ["a", "a", "b"], {("a", 1.0): 5})
    with pytest.raises(ValueError, match="counts cannot be negative"):
        judge_corrected_rate_of_counts({COMPLIED: -2}, [COMPLIED], [COMPLIED])


def test_a_stratum_counted_with_no_items_is_no_stratum() -> None:
    gold, judge = [1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]
    counts = {("a", 1.0): 3, ("a", 0.0): 5, ("b", 1.0): 0}
    result = stratified_ppi_mean_of_counts(gold, judge, ["a"] * 4, counts)
    assert [part.stratum for part in result.strata] == ["a"]
    assert same(
        result, stratified_ppi_mean(gold, judge, ["a"] * 4, [1.0] * 3 + [0.0] * 5, ["a"] * 8)
    )
