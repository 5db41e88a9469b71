"""A small world for the API: a benchmark, a run with responses in two categories, keyword
verdicts, and a campaign whose two annotators labelled everything, plus token clients."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotate.models import Campaign, GoldLabel
from annotate.services.gold import gold_set
from benchmarks.models import Benchmark
from inference.models import GenerationRun, ModelSpec, Response
from judging.models import Judge, JudgeRun, Verdict
from tests.annotate.builders import annotators, by_response, campaign_over, label_all
from tests.factories import BenchmarkFactory, PromptFactory, UserFactory

CATEGORIES = ("Incomplete requests", "Humanizing requests")
SUBCATEGORIES = ("underspecified", "personal questions")


@pytest.fixture(autouse=True)
def throttle_counts_cleared() -> None:
    """The token endpoint counts tries per address in the cache; every test starts afresh."""
    cache.clear()


@dataclass
class World:
    benchmark: Benchmark
    run: GenerationRun
    judge_run: JudgeRun
    campaign: Campaign
    people: list[User]
    researcher: User


def build_world(size: int = 4, slug: str = "coconot") -> World:
    """``size`` responses alternating between the two categories; the keyword judge calls the
    even ones complied. The first annotator says complied to all, the second only to the even
    ones, so even items get majority gold; a researcher settles the first odd one."""
    benchmark = BenchmarkFactory.create(slug=slug)
    run = GenerationRun.objects.create(
        benchmark=benchmark, model_name="model-under-test", status="done", total=size
    )
    responses = [
        Response.objects.create(
            run=run,
            prompt=PromptFactory.create(
                benchmark=benchmark, category=CATEGORIES[n % 2], subcategory=SUBCATEGORIES[n % 2]
            ),
            text=f"Answer {n}.",
        )
        for n in range(size)
    ]
    judge_run = JudgeRun.objects.create(
        judge=Judge.objects.get(name="keyword"), run=run, status="done", total=size
    )
    Verdict.objects.bulk_create(
        Verdict(
            judge_run=judge_run,
            response=response,
            label="complied" if n % 2 == 0 else "not_complied",
            raw_output="keyword rule",
        )
        for n, response in enumerate(responses)
    )
    people = annotators(2)
    campaign = campaign_over(run, people=people, overlap=2, name=f"Pilot {slug}")
    # The first annotator says "complied" to all, the second disagrees on every other response.
    odd = {response.pk for response in responses[1::2]}
    second_opinion = ["complied" if n % 2 == 0 else "not_complied" for n in range(size)]
    label_all(campaign, people[0])
    label_all(campaign, people[1], by_response(run, second_opinion))
    # A judge of the world's own, with a model, so that lists of judges grow with worlds.
    spec = ModelSpec.objects.create(name=f"judge-model-{slug}", backend="openai")
    Judge.objects.create(name=f"judge-{slug}", kind="label_scoring", model_spec=spec)
    researcher = UserFactory.create(role="researcher")
    if odd:
        item = campaign.items.get(response_id=min(odd))
        gold_set(item=item, value="not_complied", reason="A clarifying question.", user=researcher)
    return World(benchmark, run, judge_run, campaign, people, researcher)


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    """Every world makes several users; the real hasher would spend most of the run on them."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def token_client(user: User | None) -> APIClient:
    """A client that sends ``user``'s API token (anonymous without a user)."""
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def client_for(db: None) -> Callable[[str], APIClient]:
    """A token client for a new user of the role: anonymous, annotator, researcher or admin."""

    def make(role: str) -> APIClient:
        if role == "anonymous":
            return token_client(None)
        return token_client(UserFactory.create(role=role))

    return make


@pytest.fixture
def researcher_api(client_for: Callable[[str], APIClient]) -> APIClient:
    return client_for("researcher")


def gold_count(world: World) -> int:
    return GoldLabel.objects.filter(item__campaign=world.campaign).count()
