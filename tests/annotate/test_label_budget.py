"""The label budget (issue 15): annotate/label_budget.py worked by hand on small cases, against
ppi_py's power analysis, and against Monte Carlo runs of the estimators it plans for; then
`manage.py plan_labels` as a user runs it."""

from __future__ import annotations

import math
import re
import statistics

import numpy as np
import pytest
from scipy.stats import norm

from analysis.metrics import MIN_ITEMS as REPORTS_MIN_ITEMS
from analysis.metrics import judge_corrected_rate
from annotate.label_budget import (
    MIN_ITEMS,
    MIN_STRATUM_LABELS,
    PROMPTS,
    RESPONSES,
    CategoryPlan,
    Design,
    LabelPlan,
    plan_labels,
    strata_from_pilot,
)
from annotate.models import Campaign, Item
from benchmarks.models import Prompt
from inference.models import GenerationRun
from judging.models import Judge
from tests.analysis.test_report_pages import judge_all
from tests.annotate.builders import (
    annotators,
    by_response,
    campaign_over,
    label_next,
    run_with_responses,
)
from tests.processes import manage

Z = float(norm.ppf(0.975))
C, NC = "complied", "not_complied"


def judged(complied: int, total: int) -> list[str]:
    return [C] * complied + [NC] * (total - complied)


# --- by hand ------------------------------------------------------------------------------------


def test_a_plan_asks_for_no_fewer_labels_than_a_report_needs_to_show_a_rate() -> None:
    assert MIN_ITEMS == REPORTS_MIN_ITEMS


def test_an_assumed_accuracy_flips_the_judges_call() -> None:
    # 2000 of 5000 complied, accuracy 0.9: Y - f is ±1 with probability 0.1 (-1 where the judge
    # said complied), so var(Y - f) = 0.1 - (0.1 · (0.6 - 0.4))² and cov(Y, f) = 0.24 · 0.8.
    plan = plan_labels(judged(2000, 5000), 0.03, accuracy=0.9)
    (stratum,) = [row.stratum for row in plan.categories]
    moments = stratum.moments
    assert moments.var_f == pytest.approx(0.24)
    assert moments.cov == pytest.approx(0.24 * 0.8)
    assert moments.rectifier_variance(1.0) == pytest.approx(0.1 - 0.02**2)
    assert stratum.agreement == pytest.approx(0.9)
    # Plain PPI: var f/N + var(Y - f)/n <= (0.03/z)² first holds at
    limit = (0.03 / Z) ** 2
    expected = math.ceil((0.1 - 0.02**2) / (limit - 0.24 / 5000))
    assert plan.plain.labels == expected
    assert plan.plain.reachable
    assert plan.plain.half_width <= 0.03
    assert plan.plain.hours == pytest.approx(expected * 30 / 3600)


def test_ppi_plus_plus_uses_the_variance_minimising_lambda() -> None:
    plan = plan_labels(judged(2000, 5000), 0.03, accuracy=0.8)
    n, big_n = plan.tuned.labels, 5000
    var_f, cov = 0.24, 0.24 * 0.6
    lam = cov / ((1 + n / big_n) * var_f)
    assert plan.tuned.lam == pytest.approx(lam)
    q = 0.4 * 0.8 + 0.6 * 0.2
    variance = lam**2 * var_f / big_n + (q * (1 - q) - 2 * lam * cov + lam**2 * var_f) / n
    assert plan.tuned.half_width == pytest.approx(Z * math.sqrt(variance))
    # The lambda that minimises the variance needs no more labels than lambda = 1.
    assert plan.tuned.labels < plan.plain.labels


def test_seconds_per_label_become_hours() -> None:
    plan = plan_labels(judged(400, 1000), 0.05, accuracy=0.85, seconds_per_label=45)
    assert plan.tuned.hours == pytest.approx(plan.tuned.labels * 45 / 3600)
    assert plan.stratified.hours == pytest.approx(plan.stratified.labels * 45 / 3600)


def test_a_perfect_judge_still_needs_the_reports_minimum() -> None:
    plan = plan_labels(judged(2000, 5000), 0.03, accuracy=1.0)
    assert plan.plain.labels == plan.tuned.labels == MIN_ITEMS


def test_a_pilot_without_disagreement_does_not_claim_the_judge_is_perfect() -> None:
    # 20 pilot pairs, all agreeing: Laplace's rule expects 1 error in 22 on each side.
    (stratum,) = strata_from_pilot(judged(500, 1000), judged(10, 20), judged(10, 20))
    assert stratum.complied_if_judge_complied == pytest.approx(11 / 12)
    assert stratum.complied_if_judge_not == pytest.approx(1 / 12)
    plan = plan_labels(
        judged(500, 1000), 0.02, pilot_judge=judged(10, 20), pilot_gold=judged(10, 20)
    )
    assert plan.plain.labels > MIN_ITEMS


def test_labels_are_capped_at_the_responses_and_the_plan_says_the_target_is_out_of_reach() -> None:
    plan = plan_labels(judged(20, 50), 0.01, accuracy=0.6)
    for design in (plan.plain, plan.tuned, plan.stratified):
        assert design.labels == 50
        assert not design.reachable
        assert design.half_width > 0.01
    # Labelling all 50 with lambda = 1: var f/50 + var(Y - f)/50.
    var_rectifier = 0.4 - (0.4 * 0.2) ** 2
    assert plan.plain.half_width == pytest.approx(Z * math.sqrt((0.24 + var_rectifier) / 50))


def test_each_category_is_capped_at_its_own_size() -> None:
    categories = ["big"] * 2000 + ["small"] * 30
    plan = plan_labels(judged(1000, 2030), 0.03, categories=categories, accuracy=0.8)
    small = next(row for row in plan.categories if row.stratum.category == "small")
    assert small.plain.labels == small.tuned.labels == 30
    assert not small.tuned.reachable
    big = next(row for row in plan.categories if row.stratum.category == "big")
    assert big.tuned.reachable and big.tuned.labels < 2000


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"accuracy": 0.9, "target": 0.0}, "target"),
        ({"accuracy": 0.9, "target": 0.6}, "target"),
        ({"accuracy": 0.5, "target": 0.03}, "accuracy"),
        ({"target": 0.03}, "accuracy"),
        ({"accuracy": 0.9, "target": 0.03, "pilot_judge": [C], "pilot_gold": [C]}, "accuracy"),
    ],
)
def test_bad_input_names_the_field(arguments: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        plan_labels(judged(10, 20), **arguments)  # type: ignore[arg-type]


# --- against ppi_py ------------------------------------------------------------------------------


def test_ppi_plus_plus_labels_agree_with_ppi_py_power_analysis() -> None:
    """ppi_mean_power solves var(Y)/n_eff = sigma²/n (1 - rho² N/(n + N)) for n when the n
    labelled items come on top of N unlabelled ones (its n_max = n + N, free predictions). Our
    design has the same variance (PPI++ with lambda*, N the judged responses), so with
    n_max = n + N ppi_py must return our n (it rounds where we round up)."""
    import ppi_py

    # Pilot: 120 of 200 said complied, 100 of them rightly; 15 of the 80 others are complied.
    pilot_judge = judged(120, 200)
    pilot_gold = judged(100, 120) + judged(15, 80)
    big_n, target = 3000, 0.02
    everything = judged(1800, big_n)  # the same 60% judge rate as the pilot
    plan = plan_labels(
        everything, target, pilot_judge=pilot_judge, pilot_gold=pilot_gold, pseudo_count=0
    )
    y = np.array([g == C for g in pilot_gold], dtype=float)
    yhat = np.array([j == C for j in pilot_judge], dtype=float)
    effective = Z**2 * y.var() / target**2  # labels a gold-only mean needs
    result = ppi_py.ppi_mean_power(
        y, yhat, cost_Y=1.0, cost_Yhat=1e-9, effective_n=effective, n_max=plan.tuned.labels + big_n
    )
    assert abs(result["n"] - plan.tuned.labels) <= 1
    assert result["N"] == big_n + plan.tuned.labels - result["n"]


def test_a_plain_ppi_plan_gives_ppi_pys_interval_at_that_n() -> None:
    """A labelled sample whose cells are exactly the model's: ppi_py's plain-PPI interval on it
    is the planned half-width (ppi_py's variances divide by n, as the plan's moments do)."""
    import ppi_py

    big_n = 2000
    everything = judged(1000, big_n)
    plan = plan_labels(everything, 0.05, accuracy=0.9)
    n = plan.plain.labels
    # n labelled items: half judged complied, 90% of each half agreeing (n chosen so that these
    # are whole numbers).
    n = 20 * math.ceil(n / 20)
    half = n // 2
    yhat = np.array([1.0] * half + [0.0] * half)
    y = np.array(
        [1.0] * (half * 9 // 10)
        + [0.0] * (half // 10)
        + [0.0] * (half * 9 // 10)
        + [1.0] * (half // 10)
    )
    f_all = np.array([1.0] * 1000 + [0.0] * 1000)
    low, high = ppi_py.ppi_mean_ci(y, yhat, f_all, alpha=0.05, lam=1.0)
    moments = plan.categories[0].stratum.moments
    assert (high[0] - low[0]) / 2 == pytest.approx(
        Z * math.sqrt(moments.variance(n, big_n, 1.0)), rel=1e-9
    )


# --- Monte Carlo ---------------------------------------------------------------------------------


SIZES = {"easy": 2500, "hard": 1500}
ACCURACY = {"easy": 0.95, "hard": 0.75}


def world(rng: np.random.Generator) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """4,000 judged responses in two categories, f and Y drawn afresh: the judge says complied
    45% of the time and is right 95% of the time in "easy", 75% in "hard"."""
    categories = [name for name, size in SIZES.items() for _ in range(size)]
    f = (rng.random(len(categories)) < 0.45).astype(float)
    right = rng.random(len(categories)) < np.array([ACCURACY[c] for c in categories])
    y = np.where(right, f, 1 - f)
    return [C if v else NC for v in f], categories, f, y


@pytest.mark.slow
def test_the_planned_labels_reach_the_target_in_simulation() -> None:
    """Each run draws a new world from the same model (the variance the intervals estimate is
    over worlds as well as samples) and a uniform or stratified sample of the planned size."""
    import ppi_py

    rng = np.random.default_rng(7)
    judge, categories, _, y = world(rng)
    truth = [C if v else NC for v in y]
    pilot = rng.choice(len(judge), size=300, replace=False)
    target = 0.03
    plan = plan_labels(
        judge,
        target,
        categories=categories,
        pilot_judge=[judge[i] for i in pilot],
        pilot_gold=[truth[i] for i in pilot],
        pilot_categories=[categories[i] for i in pilot],
    )
    assert plan.plain.reachable and plan.tuned.reachable and plan.stratified.reachable
    strata = np.array(categories)
    plain, plain_values, tuned, stratified = [], [], [], []
    for _ in range(300):
        judge, _, f, y = world(rng)
        labels = np.array(judge, dtype=object)
        truth_labels = np.where(y == 1, C, NC).astype(object)
        # Plain PPI, as the report computes it.
        drawn = rng.choice(len(judge), size=plan.plain.labels, replace=False)
        estimate = judge_corrected_rate(labels, labels[drawn], truth_labels[drawn]).corrected
        assert estimate.value is not None and estimate.high is not None and estimate.low is not None
        plain.append((estimate.high - estimate.low) / 2)
        plain_values.append(estimate.value)
        # PPI++ as ppi_py computes it.
        drawn = rng.choice(len(judge), size=plan.tuned.labels, replace=False)
        low, high = ppi_py.ppi_mean_ci(y[drawn], f[drawn], f, alpha=0.05)
        tuned.append((high[0] - low[0]) / 2)
        # Stratified: each category's planned labels, ppi_py's PPI++ within it, by share.
        variance = 0.0
        for row in plan.categories:
            members = np.flatnonzero(strata == row.stratum.category)
            drawn = rng.choice(members, size=row.neyman_labels, replace=False)
            low, high = ppi_py.ppi_mean_ci(y[drawn], f[drawn], f[members], alpha=0.05)
            variance += (members.size / len(judge)) ** 2 * ((high[0] - low[0]) / 2 / Z) ** 2
        stratified.append(Z * math.sqrt(variance))
    assert np.median(plain) == pytest.approx(target, rel=0.15)
    # The estimate itself spreads a little less than the interval says: the labelled items are
    # among the N, not apart from them as the variance formula assumes. Worked out from the
    # world's definition, var(theta) = var(Y - f)/n + (2 cov(Y, f) - var f)/N.
    share = {name: size / sum(SIZES.values()) for name, size in SIZES.items()}
    wrong = sum(share[c] * (1 - ACCURACY[c]) for c in SIZES)  # P(Y != f)
    var_rectifier = wrong - (wrong * (1 - 2 * 0.45)) ** 2
    mean_y = 0.45 * (1 - wrong) + 0.55 * wrong
    cov = 0.45 * (1 - wrong) - mean_y * 0.45
    spread = math.sqrt(var_rectifier / plan.plain.labels + (2 * cov - 0.45 * 0.55) / len(strata))
    assert Z * np.std(plain_values) == pytest.approx(Z * spread, rel=0.1)
    assert Z * np.std(plain_values) <= target
    assert np.median(tuned) == pytest.approx(target, rel=0.15)
    assert np.median(stratified) == pytest.approx(target, rel=0.15)


def test_neyman_allocation_beats_uniform_when_categories_differ_in_judge_accuracy() -> None:
    rng = np.random.default_rng(3)
    judge, categories, _, y = world(rng)
    truth = [C if v else NC for v in y]
    plan = plan_labels(
        judge,
        0.02,
        categories=categories,
        pilot_judge=judge,
        pilot_gold=truth,
        pilot_categories=categories,
    )
    assert plan.stratified.labels < plan.tuned.labels < plan.plain.labels
    easy, hard = sorted(plan.categories, key=lambda row: row.stratum.agreement, reverse=True)
    # Neyman: labels per response in proportion to the sd of the rectifier Y - lambda_h f,
    # here read straight off the (pilot) pairs of each category.
    assert hard.neyman_labels / hard.stratum.size > 1.5 * easy.neyman_labels / easy.stratum.size
    f = np.array([j == C for j in judge], dtype=float)
    strata = np.array(categories)

    def spread(row: CategoryPlan) -> float:
        mine = strata == row.stratum.category
        return float(np.std(y[mine] - row.neyman_lambda * f[mine]))

    ratio = (hard.neyman_labels / hard.stratum.size) / (easy.neyman_labels / easy.stratum.size)
    assert ratio == pytest.approx(spread(hard) / spread(easy), rel=0.01)
    assert plan.stratified.half_width <= 0.02


def test_neyman_gives_every_category_its_minimum() -> None:
    categories = ["a"] * 1000 + ["b"] * 1000
    plan = plan_labels(judged(1000, 2000), 0.05, categories=categories, accuracy=1.0)
    assert all(row.neyman_labels >= MIN_STRATUM_LABELS for row in plan.categories)


def test_the_rate_of_these_responses_has_no_judge_term_and_is_exact_when_all_are_labelled() -> None:
    judge_all = judged(300, 1000)
    plan = plan_labels(judge_all, 0.03, accuracy=0.8, population=RESPONSES)
    (row,) = plan.categories
    moments = row.stratum.moments
    # By hand: (1 - n/N) var(Y - f) / n, and labelling all N leaves no doubt at all.
    n = plan.plain.labels
    assert moments.variance(n, 1000, 1.0, finite=True) == pytest.approx(
        (1 - n / 1000) * moments.rectifier_variance(1.0) / n
    )
    assert moments.variance(1000, 1000, 1.0, finite=True) == 0
    assert plan.plain.half_width == pytest.approx(
        Z * math.sqrt(moments.variance(n, 1000, 1.0, finite=True))
    )
    # Fewer labels than for prompts like these, where the judge's var f / N stays.
    prompts = plan_labels(judge_all, 0.03, accuracy=0.8, population=PROMPTS)
    assert plan.plain.labels < prompts.plain.labels
    # PPI++ for these responses is the regression estimator: lambda* = cov / var f.
    assert plan.tuned.lam == pytest.approx(min(1.0, moments.cov / moments.var_f))


def test_the_rate_of_these_responses_varies_as_planned_over_samples_without_replacement() -> None:
    rng = np.random.default_rng(5)
    size, n = 1000, 200
    f = (rng.random(size) < 0.3).astype(float)
    # The human's call is the judge's, flipped for one response in five.
    y = np.where(rng.random(size) < 0.2, 1 - f, f)
    truth = y.mean()
    estimates = []
    for _ in range(4000):
        drawn = rng.choice(size, n, replace=False)
        estimates.append(f.mean() + (y[drawn] - f[drawn]).mean())
    rectifier = y - f
    planned = (1 - n / size) * rectifier.var(ddof=1) / n
    assert np.mean(estimates) == pytest.approx(truth, abs=0.002)
    assert np.var(estimates) == pytest.approx(planned, rel=0.06)


# --- the command, as a shell runs it -------------------------------------------------------------

SAFETY, INCOMPLETE = "Requests with safety concerns", "Incomplete requests"


def command_world() -> tuple[GenerationRun, Campaign, list[str], list[str], list[str]]:
    """240 responses in two categories judged by `keyword` (a few failures); a pilot campaign
    (one annotator, so each label is the gold label) labels 60 of them, timing each label."""
    run = run_with_responses(240)
    responses = list(run.responses.order_by("pk").select_related("prompt"))
    categories = [SAFETY if k % 3 == 0 else INCOMPLETE for k in range(240)]
    for response, category in zip(responses, categories, strict=True):
        Prompt.objects.filter(pk=response.prompt_id).update(category=category)
    verdicts = [C if k % 5 < 2 else ("unparseable" if k % 37 == 0 else NC) for k in range(240)]
    # A transactional test empties the tables afterwards, the keyword judge its migration made too.
    keyword, _ = Judge.objects.get_or_create(name="keyword", defaults={"kind": "keyword"})
    judge_all(run, keyword, verdicts)
    # The human disagrees with the judge on every 7th response, more often where safety is asked.
    gold = [
        (NC if v == C else C) if (k % 7 == 0 or (categories[k] == SAFETY and k % 4 == 0)) else v
        for k, v in enumerate(verdicts)
    ]
    gold = [NC if g == "unparseable" else g for g in gold]
    (person,) = annotators(1)
    campaign = campaign_over(run, people=[person], overlap=1)
    rule = by_response(run, gold)
    for number in range(60):
        label_next(campaign, person, rule, time_spent_ms=2000 + 1000 * number)
    return run, campaign, verdicts, categories, gold


def overall_rows(stdout: str) -> dict[str, tuple[int, float, float]]:
    rows = {}
    for name, key in (
        ("Uniform sample, plain PPI", "plain"),
        ("Uniform sample, PPI++", "tuned"),
        ("Stratified by category, Neyman", "stratified"),
    ):
        match = re.search(rf"^{re.escape(name)}.*?\s(\d+)\*?\s+([\d.]+)\s+([\d.]+)$", stdout, re.M)
        assert match, stdout
        rows[key] = (int(match[1]), float(match[2]), float(match[3]))
    return rows


def labels_cell(design: Design) -> str:
    """Labels as the table prints them: a * where the target is out of reach."""
    return f"{design.labels}" + ("" if design.reachable else "*")


def plan_rows(plan: LabelPlan) -> dict[str, tuple[int, float, float]]:
    return {
        key: (design.labels, round(design.hours, 1), round(design.half_width, 4))
        for key, design in (
            ("plain", plan.plain),
            ("tuned", plan.tuned),
            ("stratified", plan.stratified),
        )
    }


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_plan_labels_prints_the_plan_as_a_user_runs_it(shell_env: dict[str, str]) -> None:
    run, campaign, verdicts, categories, gold = command_world()
    base = ("plan_labels", "--run", str(run.pk), "--judge", "keyword", "--target", "0.08")

    # The rate of prompts like these: the judge's own term keeps a small category out of reach.
    done = manage(
        *base,
        *("--accuracy", "0.9", "--per-category", "--seconds-per-label", "20"),
        *("--population", "prompts"),
        env=shell_env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    expected = plan_labels(
        verdicts, 0.08, categories=categories, accuracy=0.9, seconds_per_label=20
    )
    assert overall_rows(done.stdout) == plan_rows(expected)
    assert "Seconds per label: 20 (given)." in done.stdout
    assert "240 responses." in done.stdout
    # Overall ±0.08 is within reach; a category of 80 on its own is not, and says so.
    assert expected.tuned.reachable
    assert not all(row.tuned.reachable for row in expected.categories)
    assert "* not reachable even labelling all of the category" in done.stdout
    for row in expected.categories:
        line = next(x for x in done.stdout.splitlines() if x.startswith(str(row.stratum.category)))
        numbers = line[len(str(row.stratum.category)) :].split()
        assert numbers[0] == str(row.stratum.size)
        assert numbers[4:] == [
            labels_cell(row.plain),
            labels_cell(row.tuned),
            f"{row.tuned.hours:.1f}",
            str(row.neyman_labels),
        ]

    done = manage(*base, "--pilot", str(campaign.pk), env=shell_env)
    assert done.returncode == 0, done.stderr
    labelled = Item.objects.filter(campaign=campaign, gold__isnull=False)
    index = {
        pk: k for k, pk in enumerate(run.responses.order_by("pk").values_list("pk", flat=True))
    }
    pilot = [index[response] for response in labelled.values_list("response_id", flat=True)]
    assert len(pilot) == 60
    median = statistics.median(2000 + 1000 * number for number in range(60)) / 1000
    expected = plan_labels(
        verdicts,
        0.08,
        categories=categories,
        pilot_judge=[verdicts[k] for k in pilot],
        pilot_gold=[gold[k] for k in pilot],
        pilot_categories=[categories[k] for k in pilot],
        seconds_per_label=median,
        population=RESPONSES,
    )
    assert overall_rows(done.stdout) == plan_rows(expected)
    assert "from pilot campaign" in done.stdout and "60 gold-labelled items." in done.stdout
    assert "The rate of these responses themselves" in done.stdout
    assert (
        f"Seconds per label: {median:g} (the median of campaign {campaign.pk}'s labels)."
        in done.stdout
    )

    refusals = [
        (("--target", "0"), "--target must be above 0 and at most 0.5, not 0."),
        (("--target", "0.6"), "--target must be above 0 and at most 0.5, not 0.6."),
        (("--target", "wide"), "--target must be a number, not 'wide'."),
        (
            ("--target", "0.05", "--accuracy", "0.5"),
            "--accuracy must be above 0.5 and at most 1, not 0.5.",
        ),
        (
            ("--target", "0.05", "--accuracy", "1.2"),
            "--accuracy must be above 0.5 and at most 1, not 1.2.",
        ),
        (("--target", "0.05"), "Give exactly one of --pilot CAMPAIGN and --accuracy A."),
        (
            ("--target", "0.05", "--accuracy", "0.9", "--pilot", str(campaign.pk)),
            "Give exactly one of --pilot CAMPAIGN and --accuracy A.",
        ),
        (
            ("--target", "0.05", "--accuracy", "0.9", "--seconds-per-label", "0"),
            "--seconds-per-label must be above 0, not 0.",
        ),
        (("--target", "0.05", "--pilot", "999999"), "There is no campaign with id '999999'."),
    ]
    for arguments, sentence in refusals:
        refused = manage(
            "plan_labels", "--run", str(run.pk), "--judge", "keyword", *arguments, env=shell_env
        )
        assert refused.returncode == 1, arguments
        assert refused.stderr.strip() == f"CommandError: {sentence}"
        assert refused.stdout == ""
    for arguments, sentence in [
        (("--run", "999999", "--judge", "keyword"), "There is no run with id '999999'."),
        (
            ("--run", str(run.pk), "--judge", "nobody"),
            f"Judge 'nobody' has not judged run {run.pk}.",
        ),
    ]:
        refused = manage(
            "plan_labels", *arguments, "--target", "0.05", "--accuracy", "0.9", env=shell_env
        )
        assert refused.returncode == 1, arguments
        assert refused.stderr.strip() == f"CommandError: {sentence}"
