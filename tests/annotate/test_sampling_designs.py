"""Active sampling and Neyman allocation (issue 15): each response's inclusion probability is
worked out by hand, matched by how often a few thousand seeded draws really take it, and stored
on the campaign's items; the campaign form's planner shows what annotate/plans.py plans."""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from fractions import Fraction

import pytest
from django.test import Client

from annotate.label_budget import RESPONSES, neyman_allocation, plan_labels, strata_from_pilot
from annotate.models import Campaign, Item, Sampling
from annotate.plans import budget_plan
from annotate.sampling import (
    DEFAULT_UNIFORM_SHARE,
    Candidate,
    JudgeReading,
    SamplingError,
    active_probabilities,
    draw,
    neyman_targets,
)
from annotate.services.errors import CampaignError
from inference.models import GenerationRun
from judging.models import Judge, JudgeRun, Verdict
from tests.annotate.builders import campaign_over, run_with_responses
from tests.annotate.test_label_budget import INCOMPLETE, SAFETY, command_world
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SEEDS = range(4000)


# --- active sampling, by hand and by frequency ----------------------------------------------------


def test_active_probabilities_worked_by_hand() -> None:
    # p_i = n (s/N + (1 - s) u_i / sum u) with n = 2, N = 6, s = 1/4, sum u = 3.
    uncertainty = [1, 1, 0.2, 0, 0, 0.8]
    probabilities = active_probabilities(uncertainty, 2, 0.25)
    assert probabilities == [
        2 * (Fraction(1, 24) + Fraction(3, 4) * Fraction(u) / 3)
        for u in (
            Fraction(1),
            Fraction(1),
            Fraction(1, 5),
            Fraction(0),
            Fraction(0),
            Fraction(4, 5),
        )
    ]
    assert sum(probabilities) == 2
    # No response is below s n / N: the uniform share keeps every weight bounded.
    assert min(probabilities) == Fraction(1, 4) * 2 / 6


def test_a_sure_response_is_drawn_always_and_the_others_share_the_rest() -> None:
    # One response carries all the uncertainty: its share would pass 1, so it is certain and
    # the other three draws spread over the other nine uniformly.
    probabilities = active_probabilities([1.0] + [0.0] * 9, 4, 0.2)
    assert probabilities[0] == 1
    assert set(probabilities[1:]) == {Fraction(3, 9)}


def test_without_uncertainty_active_sampling_is_uniform() -> None:
    assert set(active_probabilities([0.0] * 8, 3, 0.5)) == {Fraction(3, 8)}


def test_the_uniform_share_must_be_a_share() -> None:
    with pytest.raises(SamplingError, match="above 0 and at most 1"):
        active_probabilities([0.5, 0.5], 1, 0.0)


def scored(scores: list[float]) -> tuple[list[Candidate], list[JudgeReading]]:
    """Responses 1.. with one scoring judge: score = P(not complied)."""
    candidates = [Candidate(k + 1, "s", "c") for k in range(len(scores))]
    readings = [
        JudgeReading(k + 1, "not_complied" if s >= 0.5 else "complied", s)
        for k, s in enumerate(scores)
    ]
    return candidates, readings


def test_active_sampling_draws_each_response_as_often_as_its_probability_says() -> None:
    scores = [0.5, 0.55, 0.9, 1.0, 0.0, 0.65, 0.3, 0.98]
    candidates, readings = scored(scores)
    counts: Counter[int] = Counter()
    stored: dict[int, float] = {}
    for seed in SEEDS:
        drawn = draw(
            candidates=candidates, sampling="active", sample_size=3, seed=seed, readings=readings
        )
        assert len(drawn) == 3  # exactly the sample size, every time
        for d in drawn:
            counts[d.response_id] += 1
            stored[d.response_id] = d.inclusion_probability
    uncertainty = [1 - 2 * abs(s - 0.5) for s in scores]
    expected = active_probabilities(uncertainty, 3, DEFAULT_UNIFORM_SHARE)
    for response, p in enumerate(expected, start=1):
        assert stored[response] == pytest.approx(float(p))
        spread = math.sqrt(float(p) * (1 - float(p)) / len(SEEDS))
        assert abs(counts[response] / len(SEEDS) - float(p)) < 4.5 * spread
    # The unsure ones (score near 0.5) are drawn more often than the sure ones.
    assert counts[1] > 3 * counts[4]


# --- Neyman allocation ---------------------------------------------------------------------------


def test_neyman_targets_are_the_planners_allocation_in_thousandths() -> None:
    judged = ["complied"] * 300 + ["not_complied"] * 700
    categories = ["hard"] * 200 + ["easy"] * 800
    # The pilot: the judge is wrong on half of "hard", right on all of "easy".
    pilot_judge = ["complied"] * 20 + ["not_complied"] * 20
    pilot_gold = ["not_complied"] * 10 + ["complied"] * 10 + ["not_complied"] * 20
    pilot_categories = ["hard"] * 20 + ["easy"] * 20
    model = strata_from_pilot(
        judged,
        pilot_judge,
        pilot_gold,
        categories=categories,
        pilot_categories=pilot_categories,
    )
    strata = {
        "hard": [Candidate(k, "s", "hard") for k in range(200)],
        "easy": [Candidate(k, "s", "easy") for k in range(200, 1000)],
    }
    targets = neyman_targets(model, strata, 100)
    allocation, _ = neyman_allocation(model, 100)
    assert sum(targets.values()) == 100
    by_name = {str(s.category): float(n) for s, n in zip(model, allocation, strict=True)}
    for name, target in targets.items():
        assert abs(float(target) - by_name[name]) <= 0.002
    # Per response, the hard category is drawn much more often than the easy one
    # (the pilot's smoothing still expects some errors in "easy").
    assert targets["hard"] / 200 > Fraction(3, 2) * targets["easy"] / 800


def test_neyman_needs_the_judge_in_every_category() -> None:
    model = strata_from_pilot(["complied"] * 10, ["complied"], ["complied"])
    strata = {"": [Candidate(1, "s", "")], "other": [Candidate(2, "s", "other")]}
    with pytest.raises(SamplingError, match="'other' has none"):
        neyman_targets(model, strata, 1)


# --- campaigns ------------------------------------------------------------------------------------


def keyword() -> Judge:
    return Judge.objects.get_or_create(name="keyword", defaults={"kind": "keyword"})[0]


def scoring_judge(run: GenerationRun, scores: list[float]) -> Judge:
    judge = Judge.objects.create(name="scorer", kind="keyword")
    judge_run = JudgeRun.objects.create(judge=judge, run=run, status="done")
    Verdict.objects.bulk_create(
        Verdict(
            judge_run=judge_run,
            response=response,
            label="not_complied" if score >= 0.5 else "complied",
            score=score,
        )
        for response, score in zip(run.responses.order_by("pk"), scores, strict=True)
    )
    return judge


def test_an_active_campaign_stores_each_items_exact_probability() -> None:
    scores = [(k % 10) / 10 for k in range(60)]
    run = run_with_responses(60)
    judge = scoring_judge(run, scores)
    campaign = campaign_over(
        run,
        sampling=Sampling.ACTIVE,
        sample_size=12,
        sampling_judges=[judge],
        active_uniform_share=0.4,
        seed=3,
    )
    assert campaign.active_uniform_share == 0.4
    uncertainty = [1 - 2 * abs(s - 0.5) for s in scores]
    expected = dict(
        zip(
            run.responses.order_by("pk").values_list("pk", flat=True),
            active_probabilities(uncertainty, 12, 0.4),
            strict=True,
        )
    )
    items = list(Item.objects.filter(campaign=campaign))
    assert len(items) == 12 == campaign.sample_size
    for item in items:
        assert item.inclusion_probability == pytest.approx(float(expected[item.response_id]))


def test_a_neyman_campaign_spreads_labels_by_the_pilots_errors() -> None:
    run, pilot, _verdicts, categories, _gold = command_world()
    campaign = campaign_over(
        run,
        name="Neyman",
        sampling=Sampling.NEYMAN,
        sample_size=90,
        sampling_judges=[keyword()],
        pilot=pilot,
    )
    assert campaign.pilot == pilot
    items = Item.objects.filter(campaign=campaign)
    assert items.count() == 90
    per_category = Counter(items.values_list("response__prompt__category", flat=True))
    plan = budget_plan(runs=[run], judge="keyword", target=0.05, pilot=pilot)
    model = [row.stratum for row in plan.plan.categories]
    allocation, _ = neyman_allocation(model, 90)
    expected = {str(s.category): float(n) for s, n in zip(model, allocation, strict=True)}
    sizes = Counter(categories)
    for category in (SAFETY, INCOMPLETE):
        probability = items.filter(response__prompt__category=category).values_list(
            "inclusion_probability", flat=True
        )
        assert list(probability) == pytest.approx(
            [expected[category] / sizes[category]] * len(probability), abs=1e-4
        )
        assert abs(per_category[category] - expected[category]) < 1
    # The judge errs more on safety in the pilot: safety's responses are likelier to be drawn.
    assert expected[SAFETY] / sizes[SAFETY] > expected[INCOMPLETE] / sizes[INCOMPLETE]


@pytest.mark.parametrize(
    ("design", "message"),
    [
        ({"sampling": Sampling.ACTIVE, "sample_size": 5}, "Active sampling needs at least one"),
        (
            {"sampling": Sampling.NEYMAN, "sample_size": 5, "with_judge": True},
            "Neyman allocation needs a pilot campaign",
        ),
        (
            {"sampling": Sampling.RANDOM, "sample_size": 5, "active_uniform_share": 0.3},
            "A uniform share is a setting of active sampling only.",
        ),
        (
            {
                "sampling": Sampling.ACTIVE,
                "sample_size": 5,
                "active_uniform_share": 1.5,
                "with_judge": True,
            },
            "The uniform share must be above 0 and at most 1, not 1.5.",
        ),
    ],
)
def test_a_design_missing_what_it_needs_says_so(design: dict, message: str) -> None:
    run = run_with_responses(20)
    judge = scoring_judge(run, [0.5] * 20)
    if design.pop("with_judge", False):
        design["sampling_judges"] = [judge]
    before = Campaign.objects.count()
    with pytest.raises(CampaignError, match=re.escape(message)):
        campaign_over(run, **design)
    assert Campaign.objects.count() == before


# --- the planner on the campaign form -------------------------------------------------------------


def researcher() -> Client:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    return client


def page_text(content: bytes) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", content.decode())).split())


def test_the_planner_shows_the_labels_each_design_needs() -> None:
    run, pilot, verdicts, categories, _gold = command_world()
    client = researcher()
    query: dict[str, str | int] = {
        "runs": run.pk,
        "plan_judge": keyword().pk,
        "plan_target": "0.08",
        "plan_accuracy": "0.9",
        "plan_seconds": "21",
    }
    answer = client.get("/campaigns/new/plan/", query)
    assert answer.status_code == 200
    text = page_text(answer.content)
    expected = plan_labels(
        verdicts,
        0.08,
        categories=categories,
        accuracy=0.9,
        seconds_per_label=21,  # hours that no rounding rule rounds differently
        population=RESPONSES,
    )
    assert "240 responses judged by keyword" in text
    assert "an assumed accuracy of 0.9" in text
    assert "The rate of these responses themselves" in text
    for name, design in (
        ("Simple random sample, plain PPI", expected.plain),
        ("Simple random sample, PPI++", expected.tuned),
        ("Neyman allocation by category, stratified PPI++", expected.stratified),
    ):
        row = f"{name} {design.labels} {design.hours:.1f} ±{design.half_width:.3f}"
        assert row in text
    for category_plan in expected.categories:
        assert f"{category_plan.stratum.category} {category_plan.stratum.size}" in text

    # With the pilot instead of an assumed accuracy: its gold labels and its median time.
    del query["plan_accuracy"], query["plan_seconds"]
    text = page_text(client.get("/campaigns/new/plan/", {**query, "pilot": pilot.pk}).content)
    assert f"from pilot campaign “{pilot.name}” (60 gold labels)" in text
    budget = budget_plan(runs=[run], judge="keyword", target=0.08, pilot=pilot)
    assert f"Simple random sample, plain PPI {budget.plan.plain.labels} " in text


def test_the_planner_says_what_it_misses_in_one_sentence() -> None:
    run, *_ = command_world()
    client = researcher()
    base: dict[str, str | int] = {
        "runs": run.pk,
        "plan_judge": keyword().pk,
        "plan_target": "0.05",
    }
    text = page_text(client.get("/campaigns/new/plan/", base).content)
    assert "Choose a pilot campaign (under Sampling) or give an assumed accuracy" in text
    text = page_text(client.get("/campaigns/new/plan/", {**base, "runs": ""}).content)
    assert "Tick at least one generation run to plan for." in text
    text = page_text(client.get("/campaigns/new/plan/", {**base, "plan_target": "2"}).content)
    assert "Target ±: Ensure this value is less than or equal to 0.5." in text
    other = Judge.objects.create(name="never-ran", kind="keyword")
    text = page_text(
        client.get(
            "/campaigns/new/plan/", {**base, "plan_judge": other.pk, "plan_accuracy": "0.9"}
        ).content
    )
    assert f"Judge 'never-ran' has not judged run {run.pk}." in text


def test_the_planner_works_without_javascript() -> None:
    run, *_ = command_world()
    answer = researcher().post(
        "/campaigns/new/",
        {
            "name": "Planned",
            "runs": run.pk,
            "plan": "1",
            "plan_judge": keyword().pk,
            "plan_target": "0.08",
            "plan_accuracy": "0.9",
        },
    )
    assert answer.status_code == 200
    text = page_text(answer.content)
    assert "Simple random sample, plain PPI" in text
    assert not Campaign.objects.filter(name="Planned").exists()
