"""The side-by-side figures (analysis/pairwise.py) against hand computations and reference
packages (statsmodels, scipy, choix, krippendorff), and the report page of a pairwise campaign
with numbers that can be checked by hand."""

from __future__ import annotations

import math
import re

import choix
import krippendorff
import numpy as np
import pytest
import statsmodels.api as sm
from django.test import Client
from scipy.optimize import brentq
from scipy.special import expit
from scipy.stats import bootstrap
from statsmodels.stats.proportion import binom_test, proportion_confint

from analysis import sides
from analysis.pairwise import (
    Comparison,
    bradley_terry,
    mm_fits,
    position_bias,
    win_rate,
)
from analysis.sides import A_WINS, B_WINS, BOTH_BAD, LEFT_BETTER, RIGHT_BETTER, TIE, outcome
from annotate import schemes
from annotate.models import Assignment, Item
from annotate.schemes import PAIRWISE, scheme_for
from tests.annotate.builders import (
    annotators,
    campaign_over,
    label_all,
    pairwise_over,
    run_with_responses,
    runs_on_the_same_prompts,
)
from tests.factories import UserFactory

# --- pure figures ------------------------------------------------------------------------------


def test_the_plain_copies_are_the_schemes_values() -> None:
    assert sides.PAIRWISE_VALUES == schemes.PAIRWISE_VALUES
    assert [choice["value"] for choice in scheme_for(name=PAIRWISE)["choices"]] == list(
        sides.PAIRWISE_VALUES
    )


@pytest.mark.parametrize(
    ("value", "swapped", "expected"),
    [
        (LEFT_BETTER, False, A_WINS),
        (LEFT_BETTER, True, B_WINS),
        (RIGHT_BETTER, False, B_WINS),
        (RIGHT_BETTER, True, A_WINS),
        (TIE, False, TIE),
        (TIE, True, TIE),
        (BOTH_BAD, False, BOTH_BAD),
        (BOTH_BAD, True, BOTH_BAD),
    ],
)
def test_a_label_as_seen_says_which_model_won(value: str, swapped: bool, expected: str) -> None:
    assert outcome(value, swapped=swapped) == expected


def test_a_label_of_another_scheme_is_an_error() -> None:
    with pytest.raises(ValueError, match="'complied' is not a side-by-side label"):
        outcome("complied", swapped=False)


def test_the_win_rate_counts_ties_and_both_bad_as_half_a_win() -> None:
    outcomes = [A_WINS] * 6 + [B_WINS] * 2 + [TIE, BOTH_BAD]
    rate = win_rate(outcomes)
    assert (rate.n, rate.a_wins, rate.b_wins, rate.ties, rate.both_bad) == (10, 6, 2, 1, 1)
    assert rate.a_rate.value == pytest.approx(0.7)  # (6 + 0.5 + 0.5) / 10
    assert rate.b_rate.value == pytest.approx(0.3)
    assert rate.a_rate.low is not None and rate.a_rate.high is not None
    assert (rate.b_rate.low, rate.b_rate.high) == (
        pytest.approx(1 - rate.a_rate.high),
        pytest.approx(1 - rate.a_rate.low),
    )


def test_the_win_rate_interval_is_a_percentile_bootstrap_over_items() -> None:
    rng = np.random.default_rng(5)
    outcomes = list(rng.choice([A_WINS, B_WINS, TIE, BOTH_BAD], size=60, p=[0.5, 0.3, 0.1, 0.1]))
    rate = win_rate(outcomes, resamples=20_000)
    scores = np.array([sides.A_SCORE[o] for o in outcomes])
    reference = bootstrap(
        (scores,), np.mean, n_resamples=20_000, method="percentile", random_state=1
    ).confidence_interval
    assert rate.a_rate.value == pytest.approx(scores.mean())
    assert rate.a_rate.low == pytest.approx(reference.low, abs=0.01)
    assert rate.a_rate.high == pytest.approx(reference.high, abs=0.01)


def test_a_weighted_win_rate_is_the_weighted_mean_and_its_interval_resamples_items() -> None:
    outcomes = [A_WINS] * 8 + [B_WINS] * 4
    weights = [1.0] * 8 + [3.0] * 4  # the B wins stand for three times as many pairs
    rate = win_rate(outcomes, weights)
    assert rate.a_rate.value == pytest.approx(8 / (8 + 12))
    rng = np.random.default_rng(0)
    picks = rng.integers(0, 12, size=(20_000, 12))
    scores, weight = np.array([1.0] * 8 + [0.0] * 4), np.array(weights)
    means = (scores[picks] * weight[picks]).sum(axis=1) / weight[picks].sum(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    assert (rate.a_rate.low, rate.a_rate.high) == (
        pytest.approx(low, abs=0.03),
        pytest.approx(high, abs=0.03),
    )


def test_fewer_than_ten_items_give_a_reason_instead_of_a_rate() -> None:
    rate = win_rate([A_WINS] * 9)
    assert rate.a_rate.value is None
    assert rate.a_rate.reason == "too few items (n=9; 10 needed)"
    assert rate.b_rate.reason == "too few items (n=9; 10 needed)"


def random_comparisons(seed: int, n: int = 500) -> list[Comparison]:
    rng = np.random.default_rng(seed)
    strength = np.array([0.0, 0.8, -0.4, 1.1])
    found = []
    for _ in range(n):
        a, b = (int(x) for x in rng.choice(4, 2, replace=False))
        draw = rng.random()
        if draw < 0.08:
            result = TIE
        elif draw < 0.12:
            result = BOTH_BAD
        else:
            result = A_WINS if rng.random() < expit(strength[a] - strength[b]) else B_WINS
        found.append(Comparison(a, b, result))
    return found


def logistic_reference(comparisons: list[Comparison], weights: list[float]) -> np.ndarray:
    """Bradley-Terry as statsmodels' logistic regression: a row per comparison, +1 for A and
    -1 for B, a tie half a win each way; model 0 fixed at 0, then centred."""
    rows, wins, freq = [], [], []
    for comparison, weight in zip(comparisons, weights, strict=True):
        row = np.zeros(4)
        row[comparison.a], row[comparison.b] = 1.0, -1.0
        share = sides.A_SCORE[comparison.outcome]
        for won, part in ((1, share), (0, 1 - share)):
            if part:
                rows.append(row[1:])
                wins.append(won)
                freq.append(part * weight)
    fit = sm.GLM(
        np.array(wins), np.array(rows), family=sm.families.Binomial(), freq_weights=np.array(freq)
    ).fit()
    params = np.concatenate([[0.0], fit.params])
    return params - params.mean()


def test_bradley_terry_scores_are_statsmodels_logistic_regression() -> None:
    comparisons = random_comparisons(seed=2)
    result = bradley_terry(comparisons, ["m0", "m1", "m2", "m3"])
    reference = logistic_reference(comparisons, [1.0] * len(comparisons))
    assert [score.value for score in result.scores] == pytest.approx(reference, abs=1e-6)
    for score in result.scores:
        assert score.low is not None and score.high is not None
        assert score.low < score.value < score.high  # type: ignore[operator]
    assert [model for model, _ in result.ranked] == ["m3", "m1", "m0", "m2"]


def test_weighted_bradley_terry_scores_are_weighted_logistic_regression() -> None:
    comparisons = random_comparisons(seed=3, n=300)
    weights = [1.0 + (index % 3) for index in range(len(comparisons))]
    result = bradley_terry(comparisons, ["m0", "m1", "m2", "m3"], weights)
    reference = logistic_reference(comparisons, weights)
    assert [score.value for score in result.scores] == pytest.approx(reference, abs=1e-6)


def test_with_two_models_the_score_gap_is_the_log_odds_of_winning() -> None:
    comparisons = [Comparison(0, 1, A_WINS)] * 12 + [Comparison(0, 1, B_WINS)] * 4
    result = bradley_terry(comparisons, ["a", "b"])
    assert [score.value for score in result.scores] == pytest.approx(
        [math.log(3) / 2, -math.log(3) / 2]
    )


def test_the_resamples_fit_is_choix_on_each_matrix() -> None:
    rng = np.random.default_rng(4)
    stack = rng.integers(0, 9, size=(50, 4, 4)).astype(np.float64) / 2
    for matrix in stack:
        np.fill_diagonal(matrix, 0)
    stack[7][:, 2] = 0  # model 2 never loses: no maximum
    fitted = mm_fits(stack, np.zeros(4))
    for index, matrix in enumerate(stack):
        if index == 7:
            assert np.isnan(fitted[index]).all()
            continue
        expected = choix.ilsr_pairwise_dense(matrix, alpha=0.0, max_iter=1000, tol=1e-12)
        assert fitted[index] == pytest.approx(expected, abs=1e-7)


def test_bradley_terry_is_undefined_when_a_model_never_loses() -> None:
    comparisons = [Comparison(0, 1, A_WINS)] * 5 + [Comparison(1, 2, A_WINS)] * 5
    comparisons += [Comparison(1, 2, B_WINS)] * 2 + [Comparison(0, 2, A_WINS)] * 3
    result = bradley_terry(comparisons, ["a", "b", "c"])
    assert result.reason == "undefined: a model, or a group of models, never lost to the others"
    assert all(score.value is None for score in result.scores)
    # One tie gives model 0 half a loss: the scores exist again.
    assert bradley_terry([*comparisons, Comparison(0, 1, TIE)], ["a", "b", "c"]).reason == ""


def test_position_bias_is_an_exact_binomial_test_of_left_wins() -> None:
    values = [LEFT_BETTER] * 8 + [RIGHT_BETTER] * 2 + [TIE] * 5 + [BOTH_BAD] * 3
    bias = position_bias(values)
    assert (bias.left, bias.right, bias.n) == (8, 2, 10)
    assert bias.share == pytest.approx(0.8)
    # By hand: P(X >= 8) for X ~ Bin(10, 1/2) is (45 + 10 + 1) / 1024; two-sided, twice that.
    assert bias.p_value == pytest.approx(112 / 1024)
    assert bias.p_value == pytest.approx(binom_test(8, 10, 0.5))
    assert (bias.low, bias.high) == pytest.approx(proportion_confint(8, 10, method="beta"))
    assert not bias.biased
    assert position_bias([LEFT_BETTER] * 9 + [RIGHT_BETTER]).biased  # p = 22/1024


def test_position_bias_needs_ten_decisions() -> None:
    bias = position_bias([LEFT_BETTER] * 5 + [RIGHT_BETTER] * 4 + [TIE] * 20)
    assert bias.p_value is None and bias.reason == "too few decisions (n=9; 10 needed)"


# --- the report page -----------------------------------------------------------------------------


def visible(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def researcher() -> Client:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    return client


def prompt_number(assignment: Assignment) -> int:
    """n of the "alpha answers n." this item's responses answer."""
    found = re.search(r"(\d+)\.$", assignment.item.response.text)
    assert found is not None
    return int(found.group(1))


# What each annotator says on prompt n; alpha is on the left for prompts 0 to 7, beta for 8 on.
SAID = {
    **dict.fromkeys(range(7), LEFT_BETTER),  # alpha better, on the left
    7: TIE,
    8: LEFT_BETTER,  # beta better, on the left
    9: BOTH_BAD,
    10: RIGHT_BETTER,  # alpha better, on the right
    11: RIGHT_BETTER,
}


@pytest.mark.django_db
def test_the_report_page_shows_win_rates_position_bias_and_agreement_by_hand() -> None:
    runs = runs_on_the_same_prompts(
        13, categories=["Incomplete requests"] * 10 + ["Unsupported requests"] * 3
    )
    first, second = annotators(2)
    campaign = pairwise_over(runs, people=[first, second], overlap=2)
    # The order, fixed here so that the figures can be worked out by hand: alpha answered first,
    # so its response is each item's ``response``, on the left unless swapped.
    for item in Item.objects.filter(campaign=campaign).select_related("response"):
        number = int(item.response.text.rsplit(" ", 1)[1].rstrip("."))
        Item.objects.filter(pk=item.pk).update(swapped=number >= 8)
    label_all(campaign, first, lambda a: SAID.get(prompt_number(a), LEFT_BETTER))
    label_all(campaign, second, lambda a: SAID.get(prompt_number(a), RIGHT_BETTER))

    html = researcher().get(f"/analysis/campaigns/{campaign.pk}/pairwise/").content.decode()
    text = visible(html)

    assert "12 of 13 pairs have a gold label" in text
    assert "1 pair where annotators disagree has no gold label yet" in text
    assert "alpha (run" in text and "against beta (run" in text
    # All categories: alpha better on 9 (7 on the left, 2 on the right), beta on 1, one tie,
    # both bad once: (9 + 0.5 + 0.5) / 12 = 83.3%, and beta 16.7%.
    assert re.search(r"All categories 12 9 1 1 1 83\.3% \[[\d.]+, [\d.]+\] 16\.7% \[", text)
    # Incomplete requests, prompts 0-9: (7 + 1) / 10 = 80.0%.
    assert re.search(r"Incomplete requests 10 7 1 1 1 80\.0% \[[\d.]+, [\d.]+\] 20\.0% \[", text)
    assert "Unsupported requests 2 2 0 0 0 too few items (n=2; 10 needed)" in text
    # Left won prompts 0-6 and 8, right 10 and 11: 8 of 10, p = 112/1024 = 0.109.
    low, high = proportion_confint(8, 10, method="beta")
    assert (
        f'Left won 8 of 10 gold decisions (left or right better; ties and "both bad" left '
        f"out): 80.0% [{100 * low:.1f}%, {100 * high:.1f}%]"
    ) in text.replace("&quot;", '"')
    assert "two-sided: p = 0.109. No sign of position bias at the 5% level." in text
    # Agreement on all 13 pairs, as labelled: the 13th is the one disagreement.
    ratings = [
        [SAID.get(n, LEFT_BETTER) for n in range(13)],
        [SAID.get(n, RIGHT_BETTER) for n in range(13)],
    ]
    codes = {value: code for code, value in enumerate(sides.PAIRWISE_VALUES)}
    alpha = krippendorff.alpha(
        reliability_data=[[codes[v] for v in row] for row in ratings],
        level_of_measurement="nominal",
    )
    assert re.search(rf"Krippendorff's alpha \(nominal\) {alpha:.2f} \[", text)
    assert re.search(r"Raw agreement \(pairs of labels that agree\) 92\.3% \[", text)  # 12/13
    assert "Bradley" not in text  # two models: the win rate says it all


@pytest.mark.django_db
def test_three_models_get_bradley_terry_scores_that_solve_the_likelihood_by_hand() -> None:
    runs = runs_on_the_same_prompts(10, models=("alpha", "beta", "gamma"))
    person = annotators(1)[0]
    campaign = pairwise_over(runs, people=[person])
    strength = {"alpha": 3, "beta": 2, "gamma": 1}

    def value(assignment: Assignment) -> str:
        item = assignment.item
        left, right = item.left.run.model_name, item.right.run.model_name  # type: ignore[union-attr]
        stronger_left = strength[left] > strength[right]
        # The weaker model wins on every fourth prompt (0, 4, 8): 7 to 3 in each pair.
        if prompt_number(assignment) % 4 == 0:
            stronger_left = not stronger_left
        return LEFT_BETTER if stronger_left else RIGHT_BETTER

    assert len(label_all(campaign, person, value)) == 30
    text = visible(
        researcher().get(f"/analysis/campaigns/{campaign.pk}/pairwise/").content.decode()
    )

    # By symmetry beta scores 0 and alpha d = -gamma, where alpha's expected wins equal its 14:
    # 10 sigma(d) + 10 sigma(2d) = 14.
    d = brentq(lambda x: 10 * expit(x) + 10 * expit(2 * x) - 14, 0, 5)
    assert re.search(
        rf"1 alpha \(run \d+\) {d:.2f} \[[\d.-]+, [\d.-]+\] "
        rf"2 beta \(run \d+\) -?0\.00 \[[\d.-]+, [\d.-]+\] "
        rf"3 gamma \(run \d+\) {-d:.2f} \[",
        text,
    )
    for pair in ("alpha (run", "beta (run"):
        assert pair in text
    assert text.count("All categories 10 7 3 0 0 70.0%") == 3


@pytest.mark.django_db
def test_a_single_campaign_has_no_side_by_side_report() -> None:
    campaign = campaign_over(run_with_responses(2))
    assert researcher().get(f"/analysis/campaigns/{campaign.pk}/pairwise/").status_code == 404
