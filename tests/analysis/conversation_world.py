"""Runs that answer conversations, built with the ORM as generation would store them (issue
16's design): single prompts, conversations with fixed context and scripted conversations, and a
campaign over them with gold labels set directly, whatever the campaign services do with turns."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from annotate.models import Campaign, GoldLabel, GoldSource, Item
from annotate.schemes import COCONOT, scheme_for
from benchmarks.models import Benchmark, Prompt
from inference.models import GenerationRun, Response
from judging.models import Judge, JudgeRun, Verdict
from tests.factories import BenchmarkFactory, PromptFactory

Message = dict[str, str]


def user(text: str) -> Message:
    return {"role": "user", "content": text}


def assistant(text: str) -> Message:
    return {"role": "assistant", "content": text}


@dataclass
class World:
    benchmark: Benchmark
    singles: list[Prompt]
    fixed: list[Prompt]
    scripted: list[Prompt]


def conversation_world(
    *, singles: int = 12, fixed: int = 12, scripted: int = 12, turns: int = 3
) -> World:
    """A benchmark with ``singles`` single prompts, ``fixed`` conversations with fixed context
    (two user turns, the model answers the second) and ``scripted`` conversations of ``turns``
    user turns."""
    benchmark = BenchmarkFactory.create()
    world = World(benchmark, [], [], [])
    for n in range(singles):
        world.singles.append(PromptFactory.create(benchmark=benchmark, text=f"Single {n}?"))
    for n in range(fixed):
        messages = [
            user(f"I am planning something {n}."),
            assistant(f"Tell me more {n}."),
            user(f"So how do I do it {n}?"),
        ]
        world.fixed.append(
            PromptFactory.create(
                benchmark=benchmark, text=messages[-1]["content"], messages=messages
            )
        )
    for n in range(scripted):
        steps = [f"Step {k} of script {n}." for k in range(1, turns + 1)]
        world.scripted.append(
            PromptFactory.create(benchmark=benchmark, text=steps[-1], user_turns=steps)
        )
    return world


def answer_text(model: str, prompt: Prompt, turn: int) -> str:
    return f"{model} answers {prompt.external_id}, turn {turn}."


def answered(world: World, model: str = "model-under-test") -> GenerationRun:
    """A run of ``model`` over the world as generation stores it: a single prompt answered with
    no messages, a fixed conversation at its last user turn with the prompt's messages, and each
    turn of a scripted conversation with the model's own earlier answers in its messages."""
    run = GenerationRun.objects.create(benchmark=world.benchmark, model_name=model, status="done")
    responses = [
        Response(run=run, prompt=prompt, text=answer_text(model, prompt, 1))
        for prompt in world.singles
    ]
    responses += [
        Response(
            run=run,
            prompt=prompt,
            turn=prompt.last_turn,
            messages=prompt.messages,
            text=answer_text(model, prompt, prompt.last_turn),
        )
        for prompt in world.fixed
    ]
    for prompt in world.scripted:
        sent: list[Message] = []
        for turn, step in enumerate(prompt.user_turns, start=1):
            sent = [*sent, user(step)]
            text = answer_text(model, prompt, turn)
            responses.append(Response(run=run, prompt=prompt, turn=turn, messages=sent, text=text))
            sent = [*sent, assistant(text)]
    Response.objects.bulk_create(responses)
    run.total = len(responses)
    run.save(update_fields=["total"])
    return run


def judged(
    run: GenerationRun, label_of: Callable[[Response], str], judge: str = "keyword"
) -> dict[int, str]:
    """A judge run over every response of ``run``; each response's verdict label by id."""
    judge_run = JudgeRun.objects.create(judge=Judge.objects.get(name=judge), run=run, status="done")
    labels = {response.pk: label_of(response) for response in run.responses.order_by("pk")}
    Verdict.objects.bulk_create(
        Verdict(judge_run=judge_run, response_id=pk, label=label) for pk, label in labels.items()
    )
    return labels


def campaign_with_gold(
    runs: Iterable[GenerationRun], gold_of: Callable[[Response], str | None]
) -> Campaign:
    """A campaign with an item per response of ``runs`` (in id order) and a researcher's gold
    label wherever ``gold_of`` gives one."""
    runs = list(runs)
    campaign = Campaign.objects.create(
        name="Conversations", label_scheme=scheme_for(name=COCONOT), overlap=1
    )
    campaign.runs.add(*runs)
    responses = Response.objects.filter(run__in=runs).select_related("prompt").order_by("pk")
    items = Item.objects.bulk_create(
        Item(campaign=campaign, response=response, position=position, slots_left=1)
        for position, response in enumerate(responses)
    )
    GoldLabel.objects.bulk_create(
        GoldLabel(item=item, value=value, source=GoldSource.ADJUDICATED)
        for item, response in zip(items, responses, strict=True)
        if (value := gold_of(response)) is not None
    )
    return campaign
