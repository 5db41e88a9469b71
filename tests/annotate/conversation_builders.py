"""Runs over conversations, built with the ORM as generation stores them (issue 16): a scripted
conversation's answers, one response per user turn, each sent the conversation so far; a fixed
conversation's one answer to its last turn."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.models import Benchmark, Prompt
from inference.models import GenerationRun, Response
from tests.factories import BenchmarkFactory, PromptFactory


def scripted_prompt(
    benchmark: Benchmark, user_turns: Sequence[str], *, category: str = "Incomplete requests"
) -> Prompt:
    return PromptFactory.create(
        benchmark=benchmark,
        category=category,
        user_turns=list(user_turns),
        text=user_turns[-1],
    )


def fixed_conversation_prompt(benchmark: Benchmark, messages: Sequence[dict[str, str]]) -> Prompt:
    return PromptFactory.create(
        benchmark=benchmark, messages=list(messages), text=messages[-1]["content"]
    )


def answer_text(model_name: str, prompt: Prompt, turn: int) -> str:
    return f"{model_name} answers {prompt.external_id} turn {turn}."


def scripted_answers(run: GenerationRun, prompt: Prompt) -> list[Response]:
    """The run's answers to each user turn of ``prompt``, each sent the conversation so far."""
    sent: list[dict[str, str]] = []
    responses = []
    for turn, content in enumerate(prompt.user_turns, start=1):
        sent = [*sent, {"role": "user", "content": content}]
        text = answer_text(run.model_name, prompt, turn)
        responses.append(
            Response.objects.create(run=run, prompt=prompt, turn=turn, messages=sent, text=text)
        )
        sent = [*sent, {"role": "assistant", "content": text}]
    return responses


def run_with_conversations(
    conversations: int,
    *,
    turns: int = 3,
    singles: int = 0,
    benchmark: Benchmark | None = None,
    model_name: str = "model-under-test",
    categories: Sequence[str] = ("Incomplete requests",),
) -> GenerationRun:
    """A run answering ``conversations`` scripted conversations of ``turns`` user turns (every
    turn answered) and ``singles`` single prompts."""
    benchmark = benchmark or BenchmarkFactory.create()
    run = GenerationRun.objects.create(benchmark=benchmark, model_name=model_name, status="done")
    for n in range(conversations):
        prompt = scripted_prompt(
            benchmark,
            [f"Conversation {n}, user turn {t}." for t in range(1, turns + 1)],
            category=categories[n % len(categories)],
        )
        scripted_answers(run, prompt)
    for n in range(singles):
        prompt = PromptFactory.create(benchmark=benchmark, category=categories[n % len(categories)])
        Response.objects.create(run=run, prompt=prompt, text=f"Single answer {n}.")
    run.total = run.responses.count()
    run.save(update_fields=["total"])
    return run


def runs_on_the_same_conversations(
    conversations: int, *, turns: int = 3, models: Sequence[str] = ("alpha", "beta")
) -> list[GenerationRun]:
    """One run per model, each answering every turn of the same scripted conversations."""
    benchmark = BenchmarkFactory.create()
    prompts = [
        scripted_prompt(benchmark, [f"Conversation {n}, turn {t}." for t in range(1, turns + 1)])
        for n in range(conversations)
    ]
    runs = []
    for model in models:
        run = GenerationRun.objects.create(benchmark=benchmark, model_name=model, status="done")
        for prompt in prompts:
            scripted_answers(run, prompt)
        runs.append(run)
    return runs
