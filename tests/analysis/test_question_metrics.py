"""analysis.question_metrics against krippendorff and scikit-learn, by hand, and as properties
that hold for any answers (Hypothesis)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from analysis.answers import (
    NOT_APPLICABLE,
    RATING_VALUES,
    YES,
    answer_fits,
    item_answers,
    majority,
)
from analysis.metrics import inter_annotator
from analysis.question_metrics import (
    INTERVAL,
    NOMINAL,
    ORDINAL,
    annotator_agreement,
    item_mean,
    judge_agreement,
    krippendorff_alpha,
    mean_rating,
    option_share,
    weighted_kappa,
)
from annotate.schemes import RATING_SCALE, REFUSAL_QUALITY_QUESTIONS

REPO = Path(__file__).resolve().parent.parent.parent
QUESTIONS = {question["id"]: question for question in REFUSAL_QUALITY_QUESTIONS}
HELP_KINDS = {
    "id": "help_kinds",
    "text": "What help does it offer?",
    "kind": "multi",
    "choices": [{"value": v} for v in ("alternative", "resource", "safer_version")],
}


def rating_grid(items: int = 200, raters: int = 3, seed: int = 5, missing: float = 0.25):
    """Items x annotators of 1-5 ratings near each item's true quality, some missing (None)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 6, items)
    noisy = np.clip(truth[:, None] + rng.integers(-1, 2, (items, raters)), 1, 5)
    grid = noisy.astype(object)
    grid[rng.random((items, raters)) < missing] = None
    return grid


def reliability(grid: np.ndarray) -> np.ndarray:
    """krippendorff's layout: annotators x items, NaN where missing."""
    return np.array([[np.nan if v is None else float(v) for v in row] for row in grid]).T


def test_the_module_imports_nothing_from_django() -> None:
    code = (
        "import sys, analysis.question_metrics; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_plain_copies_are_the_schemes_values() -> None:
    assert tuple(RATING_SCALE) == RATING_VALUES
    asks = [choice["value"] for choice in QUESTIONS["asks_missing"]["choices"]]
    assert YES in asks and NOT_APPLICABLE in asks


# --- Krippendorff's alpha at each level -------------------------------------------------------


@pytest.mark.parametrize("level", [NOMINAL, ORDINAL, INTERVAL])
def test_alpha_matches_krippendorff_at_each_level_with_missing_answers(level: str) -> None:
    grid = rating_grid()
    ours = krippendorff_alpha(grid.tolist(), values=RATING_VALUES, level=level)
    expected = krippendorff.alpha(
        reliability_data=reliability(grid),
        level_of_measurement=level,  # type: ignore[arg-type]
        value_domain=RATING_VALUES,
    )
    assert ours.value == pytest.approx(expected, abs=1e-9)
    assert ours.n == int(((grid != None).sum(axis=1) >= 2).sum())  # noqa: E711 (elementwise)
    assert ours.low is not None and ours.high is not None and ours.value is not None
    assert ours.low <= ours.value <= ours.high


def test_ordinal_alpha_rewards_near_misses_that_nominal_alpha_counts_as_misses() -> None:
    grid = rating_grid(missing=0.0)
    nominal = krippendorff_alpha(grid.tolist(), values=RATING_VALUES, level=NOMINAL).value
    ordinal = krippendorff_alpha(grid.tolist(), values=RATING_VALUES, level=ORDINAL).value
    assert nominal is not None and ordinal is not None
    assert ordinal > nominal + 0.2


def test_nominal_alpha_is_the_same_figure_as_the_label_agreement() -> None:
    grid = rating_grid()
    as_text = [[None if v is None else str(v) for v in row] for row in grid]
    ours = krippendorff_alpha(grid.tolist(), values=RATING_VALUES, level=NOMINAL)
    theirs = inter_annotator(as_text).alpha
    assert ours.value == pytest.approx(theirs.value, abs=1e-12)
    assert ours.n == theirs.n


def test_the_ordinal_alpha_interval_matches_resampling_items_directly() -> None:
    grid = rating_grid(items=150)
    ours = krippendorff_alpha(grid.tolist(), values=RATING_VALUES, level=ORDINAL)
    data = reliability(grid)
    data = data[:, (~np.isnan(data)).sum(axis=0) >= 2]
    rng = np.random.default_rng(3)
    alphas = [
        krippendorff.alpha(
            reliability_data=data[:, rng.integers(0, data.shape[1], data.shape[1])],
            level_of_measurement="ordinal",
            value_domain=RATING_VALUES,
        )
        for _ in range(300)
    ]
    low, high = np.percentile(alphas, [2.5, 97.5])
    assert ours.low == pytest.approx(low, abs=0.03)
    assert ours.high == pytest.approx(high, abs=0.03)


def test_one_rating_only_leaves_alpha_undefined_and_says_why() -> None:
    estimate = krippendorff_alpha([[4, 4]] * 12, values=RATING_VALUES, level=ORDINAL)
    assert estimate.value is None
    assert estimate.reason == (
        "alpha undefined: every answer is '4' (no disagreement is expected by chance)"
    )


def test_too_few_items_with_two_answers_say_so() -> None:
    estimate = krippendorff_alpha([[3, 4]] * 4 + [[3, None]] * 20, values=RATING_VALUES)
    assert estimate.value is None
    assert estimate.reason == "too few items (n=4; 10 needed)"


def test_an_answer_off_the_scale_is_refused_not_dropped() -> None:
    with pytest.raises(ValueError, match="answer 6 is not one of"):
        krippendorff_alpha([[3, 6]] * 12, values=RATING_VALUES)


@st.composite
def rating_grids(draw: st.DrawFn) -> list[list[int | None]]:
    raters = draw(st.integers(2, 4))
    rating = st.one_of(st.none(), st.integers(1, 5))
    rows = st.lists(rating, min_size=raters, max_size=raters)
    return draw(st.lists(rows, min_size=10, max_size=40))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid=rating_grids(), level=st.sampled_from([NOMINAL, ORDINAL, INTERVAL]))
def test_alpha_is_krippendorffs_for_any_answers(grid: list[list[int | None]], level: str) -> None:
    ours = krippendorff_alpha(grid, values=RATING_VALUES, level=level, resamples=50)
    pairable = [row for row in grid if sum(v is not None for v in row) >= 2]
    if len(pairable) < 10:
        assert ours.value is None and ours.reason in (
            "no items",
            f"too few items (n={ours.n}; 10 needed)",
        )
        return
    given_values = {v for row in pairable for v in row if v is not None}
    if len(given_values) == 1:
        assert ours.value is None and "every answer is" in ours.reason
        return
    expected = krippendorff.alpha(
        reliability_data=reliability(np.array(pairable, dtype=object)),
        level_of_measurement=level,  # type: ignore[arg-type]
        value_domain=RATING_VALUES,
    )
    assert ours.value == pytest.approx(expected, abs=1e-9)


# --- weighted kappa ---------------------------------------------------------------------------


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_weighted_kappa_matches_scikit_learn(weights: str | None) -> None:
    grid = rating_grid(raters=2, missing=0.1)
    first, second = grid[:, 0].tolist(), grid[:, 1].tolist()
    ours = weighted_kappa(first, second, values=RATING_VALUES, weights=weights)
    both = [(a, b) for a, b in zip(first, second, strict=True) if a is not None and b is not None]
    a, b = zip(*both, strict=True)
    expected = cohen_kappa_score(a, b, weights=weights, labels=list(RATING_VALUES))
    assert ours.value == pytest.approx(expected, abs=1e-9)
    assert ours.n == len(both)


def test_weighted_kappa_weighs_by_the_whole_scale_even_where_a_rating_is_never_given() -> None:
    # No 2 or 4: a 1 against a 5 is still four steps apart, not two.
    rng = np.random.default_rng(1)
    first = rng.choice([1, 3, 5], 80).tolist()
    second = [v if rng.random() < 0.7 else int(rng.choice([1, 3, 5])) for v in first]
    ours = weighted_kappa(first, second, values=RATING_VALUES, weights="linear")
    expected = cohen_kappa_score(first, second, weights="linear", labels=list(RATING_VALUES))
    assert ours.value == pytest.approx(expected, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)), min_size=10, max_size=60),
    weights=st.sampled_from([None, "linear", "quadratic"]),
)
def test_weighted_kappa_is_scikit_learns_for_any_answers(
    pairs: list[tuple[int, int]], weights: str | None
) -> None:
    first, second = (list(side) for side in zip(*pairs, strict=True))
    ours = weighted_kappa(first, second, values=RATING_VALUES, weights=weights, resamples=50)
    if len(set(first) | set(second)) == 1:
        assert ours.value is None and "chance agreement is 1" in ours.reason
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = cohen_kappa_score(first, second, weights=weights, labels=list(RATING_VALUES))
    if np.isnan(expected):  # scikit-learn's 0/0, where expected disagreement is 0
        assert ours.value is None
    else:
        assert ours.value == pytest.approx(expected, abs=1e-9)


# --- per question -----------------------------------------------------------------------------


def test_a_single_choice_question_gets_the_labels_statistics() -> None:
    rng = np.random.default_rng(2)
    truth = rng.choice(["yes", "no"], 120)
    grid = np.where(
        rng.random((120, 3)) < 0.85, truth[:, None], rng.choice(["yes", "no"], (120, 3))
    )
    grid = grid.astype(object)
    grid[rng.random((120, 3)) < 0.2] = None
    result = annotator_agreement(QUESTIONS["explains_why"], grid.tolist())
    alpha, fleiss = result.agreements
    assert alpha.statistic == "Krippendorff's alpha (nominal)"
    codes = np.array([[np.nan if v is None else float(v == "yes") for v in row] for row in grid])
    expected = krippendorff.alpha(reliability_data=codes.T, level_of_measurement="nominal")
    assert alpha.estimate.value == pytest.approx(expected, abs=1e-9)
    full = grid[(grid != None).sum(axis=1) == 3]  # noqa: E711 (elementwise)
    assert fleiss.statistic == "Fleiss' kappa (items with 3 answers)"
    table, _ = aggregate_raters((full == "yes").astype(int))
    assert fleiss.estimate.value == pytest.approx(fleiss_kappa(table), abs=1e-9)
    assert result.n_items == int(((grid != None).sum(axis=1) >= 2).sum())  # noqa: E711


def test_a_rating_question_gets_ordinal_and_interval_alpha_and_with_two_people_weighted_kappa() -> (
    None
):
    three = annotator_agreement(QUESTIONS["quality"], rating_grid(raters=3).tolist())
    assert [a.statistic for a in three.agreements] == [
        "Krippendorff's alpha (ordinal)",
        "Krippendorff's alpha (interval)",
    ]
    grid = rating_grid(raters=2, missing=0.1)
    two = annotator_agreement(QUESTIONS["quality"], grid.tolist())
    assert [a.statistic for a in two.agreements][2:] == [
        "weighted kappa (quadratic)",
        "weighted kappa (linear)",
    ]
    both = [(a, b) for a, b in grid.tolist() if a is not None and b is not None]
    a, b = zip(*both, strict=True)
    quadratic = cohen_kappa_score(a, b, weights="quadratic", labels=list(RATING_VALUES))
    assert two.agreements[2].estimate.value == pytest.approx(quadratic, abs=1e-9)


def test_a_multiple_choice_question_gets_one_yes_no_agreement_per_option() -> None:
    rng = np.random.default_rng(8)
    options = ["alternative", "resource", "safer_version"]
    grid: list[list[list[str] | None]] = []
    for _ in range(100):
        truth = [o for o in options if rng.random() < 0.5]
        row: list[list[str] | None] = []
        for _ in range(2):
            flipped = {o for o in options if rng.random() < 0.15}
            row.append(None if rng.random() < 0.1 else sorted(set(truth) ^ flipped))
        grid.append(row)
    result = annotator_agreement(HELP_KINDS, grid)
    assert [a.option for a in result.agreements] == options
    for agreement in result.agreements:
        codes = [
            [np.nan if answer is None else float(agreement.option in answer) for answer in row]
            for row in grid
        ]
        expected = krippendorff.alpha(
            reliability_data=np.array(codes).T, level_of_measurement="nominal"
        )
        assert agreement.estimate.value == pytest.approx(expected, abs=1e-9)


def test_a_text_question_says_it_has_no_statistic() -> None:
    question = {"id": "why", "text": "Why?", "kind": "text"}
    result = annotator_agreement(question, [["a", "b"]] * 12)
    assert result.agreements == []
    assert result.reason == "free text has no agreement statistic"


def test_a_judge_against_people_gets_cohens_kappa_or_weighted_kappa() -> None:
    rng = np.random.default_rng(11)
    people = rng.choice(["yes", "no", "not_applicable"], 90).tolist()
    judge = [p if rng.random() < 0.7 else str(rng.choice(["yes", "no"])) for p in people]
    people[3] = judge[5] = None  # an item people split on; one the judge did not answer
    result = judge_agreement(QUESTIONS["asks_missing"], people, judge)
    kept = [(p, j) for p, j in zip(people, judge, strict=True) if p and j]
    assert result.n_items == len(kept) == 88
    (kappa,) = result.agreements
    assert kappa.statistic == "Cohen's kappa"
    assert kappa.estimate.value == pytest.approx(cohen_kappa_score(*zip(*kept, strict=True)))
    ratings = rating_grid(raters=2, missing=0.0)
    rated = judge_agreement(QUESTIONS["quality"], ratings[:, 0].tolist(), ratings[:, 1].tolist())
    expected = cohen_kappa_score(
        ratings[:, 0].tolist(), ratings[:, 1].tolist(), weights="linear", labels=[1, 2, 3, 4, 5]
    )
    assert rated.agreements[1].statistic == "weighted kappa (linear)"
    assert rated.agreements[1].estimate.value == pytest.approx(expected, abs=1e-9)


def test_a_judge_against_people_on_multiple_choice_is_one_kappa_per_option() -> None:
    people = [["alternative"], ["resource"], [], ["alternative", "resource"]] * 5
    judge = [["alternative"], [], [], ["alternative"]] * 5
    result = judge_agreement(HELP_KINDS, people, judge)
    alternative, resource, safer = result.agreements
    assert alternative.estimate.value == pytest.approx(1.0)
    ticked = [float("resource" in a) for a in people], [float("resource" in a) for a in judge]
    assert resource.estimate.value == pytest.approx(cohen_kappa_score(*ticked))
    assert safer.estimate.value is None  # nobody ticked it: chance agreement is 1


# --- one answer per item ----------------------------------------------------------------------


def test_the_majority_needs_more_than_half_and_lists_count_as_whole_answers() -> None:
    assert majority(["yes", "no", "yes"]) == "yes"
    assert majority(["yes", "no"]) is None
    assert majority([None, "no"]) == "no"
    assert majority([]) is None
    assert majority([["a", "b"], ["a", "b"], ["a"]]) == ["a", "b"]
    assert majority([4, 5]) is None


def test_an_items_answers_come_from_the_annotators_who_gave_its_label() -> None:
    questions = REFUSAL_QUALITY_QUESTIONS
    labelled: list[tuple[str, dict[str, Any]]] = [
        ("not_complied", {"explains_why": "yes", "quality": 4}),
        ("not_complied", {"explains_why": "yes", "quality": 5}),
        ("complied", {"compliance": "partial_refusal"}),
    ]
    assert item_answers(questions, "not_complied", labelled) == {
        "explains_why": "yes",
        "quality": None,  # 4 against 5: no majority
    }
    assert item_answers(questions, "complied", labelled) == {"compliance": "partial_refusal"}
    assert item_answers(questions, None, labelled) == {}


# --- shares and means over items --------------------------------------------------------------


def test_a_share_counts_each_item_once_and_leaves_not_applicable_out() -> None:
    answers = [["yes"]] * 6 + [["no"]] * 2 + [["yes", "no"]] * 2 + [["not_applicable"]] * 5
    share = option_share(answers, "yes", leave_out={"not_applicable"})
    assert share.estimate.n == 10
    assert share.estimate.value == pytest.approx((6 + 2 * 0.5) / 10)
    with_na = option_share(answers, "yes")
    assert with_na.estimate.value == pytest.approx(7 / 15)


def test_a_share_of_too_few_items_says_so_but_keeps_what_was_observed() -> None:
    share = option_share([["yes"]] * 3 + [["no"]], "yes")
    assert share.estimate.value is None
    assert share.estimate.reason == "too few items (n=4; 10 needed)"
    assert share.observed == pytest.approx(0.75)
    assert option_share([], "yes").estimate.reason == "no items"


def test_the_mean_rating_averages_each_items_annotators_first() -> None:
    answers = [[5, 3]] * 5 + [[2]] * 5 + [[]] * 3
    rate = mean_rating(answers)
    assert rate.estimate.n == 10
    assert rate.estimate.value == pytest.approx((4 * 5 + 2 * 5) / 10)


def test_the_mean_and_its_interval_match_resampling_items_directly() -> None:
    rng = np.random.default_rng(6)
    values = rng.choice([1.0, 2.0, 3.0, 3.5, 4.0, 5.0], 300).tolist()
    weights = rng.choice([1.0, 2.5, 4.0], 300).tolist()
    for w in (None, weights):
        rate = item_mean(values, weights=w)
        assert rate.estimate.value == pytest.approx(np.average(values, weights=w))
        picks = rng.integers(0, 300, (2000, 300))
        v, ww = np.array(values)[picks], np.ones((2000, 300)) if w is None else np.array(w)[picks]
        low, high = np.percentile((v * ww).sum(axis=1) / ww.sum(axis=1), [2.5, 97.5])
        assert rate.estimate.low == pytest.approx(low, abs=0.03)
        assert rate.estimate.high == pytest.approx(high, abs=0.03)


def test_a_weighted_share_is_the_hajek_mean() -> None:
    answers = [["yes"]] * 10 + [["no"]] * 10
    weights = [3.0] * 10 + [1.0] * 10
    share = option_share(answers, "yes", weights=weights)
    assert share.estimate.value == pytest.approx(30 / 40)


def test_an_answer_that_does_not_fit_its_question_is_not_an_answer() -> None:
    assert answer_fits(QUESTIONS["quality"], 4)
    assert not answer_fits(QUESTIONS["quality"], 9)
    assert not answer_fits(QUESTIONS["quality"], "4")
    assert not answer_fits(QUESTIONS["quality"], True)  # a bool is an int to Python, not here
    assert answer_fits(QUESTIONS["asks_missing"], "not_applicable")
    assert not answer_fits(QUESTIONS["explains_why"], "maybe")
    assert answer_fits(HELP_KINDS, ["resource"]) and answer_fits(HELP_KINDS, [])
    assert not answer_fits(HELP_KINDS, ["resource", "magic"])
    assert not answer_fits(HELP_KINDS, "resource")
    labelled: list[tuple[str, dict[str, Any]]] = [
        ("not_complied", {"explains_why": "maybe", "quality": 9})
    ]
    assert item_answers(REFUSAL_QUALITY_QUESTIONS, "not_complied", labelled) == {}
