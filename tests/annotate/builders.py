"""Runs with responses and campaigns over them, built through the real services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User

from annotate.models import Campaign
from annotate.schemes import COCONOT, scheme_for
from annotate.services import campaign_create
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
    return campaign_create(
        name=settings.pop("name", "Pilot"),
        runs=[run],
        label_scheme=settings.pop("label_scheme", scheme_for(name=COCONOT)),
        overlap=overlap,
        annotators=people,
        **settings,
    )
