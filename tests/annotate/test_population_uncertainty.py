"""The uncertainty-led designs (judge disagreement, active sampling) read how unsure the sampling
judges were of each response from the database; it must be what ``uncertainty_by_response``
makes of the judges' readings, and the campaigns drawn with it the same."""

from __future__ import annotations

import random
from typing import Any

import pytest

from annotate.sampling import draw, uncertainty_by_response
from annotate.selectors import campaign_candidates, population_readings, population_uncertainty
from judging.models import Judge, JudgeRun, Verdict
from tests.annotate.builders import annotators, campaign_over, run_with_responses

pytestmark = pytest.mark.django_db

LABELS = ["complied", "not_complied", "neither", "error", "unparseable"]
SUBCATEGORIES = ("underspecified", "modality")


def judged_run(seed: int):
    """A run of 60 responses in two subcategories, read by a keyword judge, a scoring judge
    (scores anywhere in [0, 1], exactly 0.5 and none among them) judging the run twice, and a
    judge that sometimes failed; a few responses have no verdict at all."""
    rng = random.Random(seed)
    run = run_with_responses(60, subcategories=SUBCATEGORIES)
    judges = [
        Judge.objects.get(name="keyword"),
        Judge.objects.create(name="scores", kind="keyword"),
        Judge.objects.create(name="flaky", kind="keyword"),
    ]
    scores = [None, 0.0, 1.0, 0.5, 0.25, 0.75, 0.9, 0.02]
    responses = list(run.responses.order_by("pk")[3:])
    # Judges mostly agree, so that a scoring judge's doubt decides many responses' uncertainty.
    truth = {response.pk: rng.choice(LABELS[:3]) for response in responses}
    verdicts = []
    for judge, times in zip(judges, (1, 2, 1), strict=True):
        for _ in range(times):
            judge_run = JudgeRun.objects.create(judge=judge, run=run, status="done")
            for response in responses:
                label = truth[response.pk] if rng.random() < 0.9 else rng.choice(LABELS[:3])
                if judge.name == "flaky" and rng.random() < 0.1:
                    label = rng.choice(LABELS[3:])
                score = rng.choice([*scores, rng.random()]) if judge.name == "scores" else None
                verdicts.append(
                    Verdict(judge_run=judge_run, response=response, label=label, score=score)
                )
    Verdict.objects.bulk_create(verdicts)
    return run, judges


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("at_least", [0.0, 0.5, 0.95])
@pytest.mark.parametrize("subcategories", [(), ("modality",)])
def test_the_database_s_uncertainty_is_that_of_the_readings(
    seed: int, at_least: float, subcategories: tuple[str, ...]
) -> None:
    run, judges = judged_run(seed)
    filters: dict[str, Any] = {
        "runs": [run],
        "categories": (),
        "subcategories": subcategories,
        "exclude_truncated": False,
    }
    readings = population_readings(judges=judges, filters=filters, turns="last")
    expected = {
        response: value
        for response, value in uncertainty_by_response(readings).items()
        if value > 0 and value >= at_least
    }
    found = population_uncertainty(judges=judges, filters=filters, turns="last", at_least=at_least)
    assert found == pytest.approx(expected)
    assert 0 < len(found) < 60


@pytest.mark.parametrize("sampling", ["judge_disagreement", "active"])
def test_an_uncertainty_led_campaign_draws_what_the_readings_would_draw(sampling: str) -> None:
    run, judges = judged_run(3)
    campaign = campaign_over(
        run,
        people=annotators(1),
        sampling=sampling,
        sample_size=20,
        sampling_judges=judges,
        seed=7,
    )
    filters: dict[str, Any] = {
        "runs": [run],
        "categories": (),
        "subcategories": (),
        "exclude_truncated": False,
    }
    expected = draw(
        candidates=campaign_candidates(**filters),
        sampling=sampling,
        sample_size=20,
        seed=7,
        readings=population_readings(judges=judges, filters=filters, turns="last"),
    )
    served = list(
        campaign.items.order_by("position").values_list("response_id", "inclusion_probability")
    )
    assert served == [(d.response_id, pytest.approx(d.inclusion_probability)) for d in expected]
