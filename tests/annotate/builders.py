"""Runs with responses and campaigns over them, built through the real services."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.auth.models import User

from annotate.models import Assignment, Campaign, CampaignKind
from annotate.schemes import COCONOT, LEFT_BETTER, PAIRWISE, RIGHT_BETTER, scheme_for
from annotate.services.campaigns import campaign_create
from annotate.services.checks import QUALITY_SETTINGS
from annotate.services.labels import label_submit
from annotate.services.serving import assignment_next
from benchmarks.models import Benchmark, Rubric
from inference.models import GenerationRun, Response
from tests.factories import BenchmarkFactory, PromptFactory, UserFactory


def run_with_responses(
    count: int,
    *,
    subcategories: Sequence[str] = ("underspecified",),
    benchmark: Benchmark | None = None,
    model_name: str = "model-under-test",
    text: str = "Answer {n}.",
) -> GenerationRun:
    benchmark = benchmark or BenchmarkFactory.create()
    run = GenerationRun.objects.create(
        benchmark=benchmark, model_name=model_name, status="done", total=count
    )
    Response.objects.bulk_create(
        Response(
            run=run,
            prompt=PromptFactory.create(
                benchmark=benchmark, subcategory=subcategories[n % len(subcategories)]
            ),
            text=text.format(n=n),
        )
        for n in range(count)
    )
    return run


def rubric_for(benchmark: Benchmark, subcategory: str = "underspecified") -> Rubric:
    return Rubric.objects.create(
        benchmark=benchmark,
        subcategory=subcategory,
        acceptable="Asks which thing is meant.",
        unacceptable="Guesses and answers.",
        version="v1",
    )


def annotators(count: int) -> list[User]:
    return [UserFactory.create(role="annotator") for _ in range(count)]


def campaign_over(
    run: GenerationRun, *, people: Sequence[User] = (), overlap: int = 3, **settings: Any
) -> Campaign:
    quality = {key: settings.pop(key) for key in QUALITY_SETTINGS if key in settings}
    campaign = campaign_create(
        name=settings.pop("name", "Pilot"),
        runs=[run],
        label_scheme=settings.pop("label_scheme", scheme_for(name=COCONOT)),
        overlap=overlap,
        annotators=people,
        **settings,
    )
    if quality:
        Campaign.objects.filter(pk=campaign.pk).update(**quality)
        campaign.refresh_from_db()
    return campaign


# A label value, or how to choose one from the item being labelled.
ValueRule = str | Callable[[Assignment], str]


def label_next(
    campaign: Campaign, user: User, value: ValueRule = "complied", **fields: Any
) -> Assignment | None:
    """Serve the user's next item and label it, as the labeling screen does; None when nothing
    is left for them."""
    assignment = assignment_next(campaign=campaign, user=user)
    if assignment is not None:
        label_submit(
            campaign=campaign,
            user=user,
            assignment_id=assignment.pk,
            item_id=assignment.item_id,
            value=value(assignment) if callable(value) else value,
            **fields,
        )
    return assignment


def label_all(
    campaign: Campaign, user: User, value: ValueRule = "complied", limit: int | None = None
) -> list[int]:
    """Label until nothing is left for ``user`` (or ``limit`` items); the item ids in order."""
    served: list[int] = []
    while len(served) != limit and (assignment := label_next(campaign, user, value)):
        served.append(assignment.item_id)
    return served


def by_response(run: GenerationRun, values: Sequence[str]) -> Callable[[Assignment], str]:
    """A rule giving the n-th response of ``run`` (in id order) the n-th value."""
    response_ids = run.responses.order_by("pk").values_list("pk", flat=True)
    table = dict(zip(response_ids, values, strict=True))
    return lambda assignment: table[assignment.item.response_id]


# --- side by side ---------------------------------------------------------------------------


def runs_on_the_same_prompts(
    count: int,
    *,
    models: Sequence[str] = ("alpha", "beta"),
    categories: Sequence[str] = ("Incomplete requests",),
    text: str = "{model} answers {n}.",
) -> list[GenerationRun]:
    """One run per model over one benchmark of ``count`` prompts (categories in turn), each
    run answering every prompt: what a pairwise campaign compares."""
    benchmark = BenchmarkFactory.create()
    prompts = [
        PromptFactory.create(benchmark=benchmark, category=categories[n % len(categories)])
        for n in range(count)
    ]
    runs = []
    for model in models:
        run = GenerationRun.objects.create(
            benchmark=benchmark, model_name=model, status="done", total=count
        )
        Response.objects.bulk_create(
            Response(run=run, prompt=prompt, text=text.format(model=model, n=n))
            for n, prompt in enumerate(prompts)
        )
        runs.append(run)
    return runs


def pairwise_over(
    runs: Sequence[GenerationRun], *, people: Sequence[User] = (), overlap: int = 1, **settings: Any
) -> Campaign:
    return campaign_create(
        name=settings.pop("name", "Side by side"),
        kind=CampaignKind.PAIRWISE,
        runs=runs,
        label_scheme=settings.pop("label_scheme", scheme_for(name=PAIRWISE)),
        overlap=overlap,
        annotators=people,
        **settings,
    )


def prefer(model_name: str) -> Callable[[Assignment], str]:
    """A rule labelling the side that shows ``model_name``'s response as the better one."""

    def value(assignment: Assignment) -> str:
        left_model = assignment.item.left.run.model_name
        return LEFT_BETTER if left_model == model_name else RIGHT_BETTER

    return value
