"""Reads of benchmarks for pages and the API."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from benchmarks.models import Benchmark, Prompt, PromptShape, Rubric

# How many of a benchmark's conversations its page shows (the first, by id); the counts cover all.
CONVERSATIONS_SHOWN = 50


@dataclass(frozen=True)
class SubcategoryCount:
    category: str
    subcategory: str
    prompts: int
    rubric: Rubric | None


@dataclass(frozen=True)
class ConversationCounts:
    conversations: int  # with fixed context (`messages`)
    scripted: int  # scripted (`user_turns`)

    @property
    def total(self) -> int:
        return self.conversations + self.scripted


@dataclass(frozen=True)
class ConversationView:
    """A conversation as its benchmark's page shows it: a badge, the earlier turns (collapsed),
    and the last user turn, which is what the model answers."""

    prompt: Prompt
    badge: str
    earlier: list[dict[str, str]]
    last: str


def own_prompts(benchmark: Benchmark | OuterRef) -> QuerySet[Prompt]:
    return Prompt.objects.filter(benchmark=benchmark, written_for_check=False)


def conversations_of(prompts: QuerySet[Prompt]) -> QuerySet[Prompt]:
    return prompts.exclude(messages=[], user_turns=[])


def benchmark_list() -> QuerySet[Benchmark]:
    own = Q(prompts__written_for_check=False)
    conversations = (
        conversations_of(own_prompts(OuterRef("pk")))
        .order_by()
        .values("benchmark")
        .annotate(count=Count("id"))
        .values("count")
    )
    return Benchmark.objects.annotate(
        prompt_count=Count("prompts", filter=own),
        conversation_count=Coalesce(Subquery(conversations), 0),
    ).order_by("slug")


def benchmark_conversation_counts(*, benchmark: Benchmark) -> ConversationCounts:
    counts = conversations_of(own_prompts(benchmark)).aggregate(
        scripted=Count("id", filter=~Q(user_turns=[])), all=Count("id")
    )
    return ConversationCounts(
        conversations=counts["all"] - counts["scripted"], scripted=counts["scripted"]
    )


def benchmark_conversations(
    *, benchmark: Benchmark, limit: int = CONVERSATIONS_SHOWN
) -> list[ConversationView]:
    prompts = conversations_of(own_prompts(benchmark)).order_by("pk")[:limit]
    return [conversation_view(prompt) for prompt in prompts]


def conversation_view(prompt: Prompt) -> ConversationView:
    if prompt.shape == PromptShape.SCRIPTED:
        turns = len(prompt.user_turns)
        return ConversationView(
            prompt=prompt,
            badge=f"scripted, {turns} user turn{'s' if turns != 1 else ''}",
            earlier=[{"role": "user", "content": text} for text in prompt.user_turns[:-1]],
            last=prompt.text,
        )
    # The system's text is context, not a turn of the dialogue: "3-turn" counts user and
    # assistant turns.
    turns = sum(1 for message in prompt.messages if message["role"] != "system")
    return ConversationView(
        prompt=prompt,
        badge=f"{turns}-turn conversation",
        earlier=prompt.messages[:-1],
        last=prompt.text,
    )


def benchmark_subcategory_counts(*, benchmark: Benchmark) -> list[SubcategoryCount]:
    """Prompts per (category, subcategory) with the current rubric of each subcategory."""
    rubrics = {
        rubric.subcategory: rubric
        for rubric in Rubric.objects.filter(benchmark=benchmark, is_current=True)
    }
    rows = (
        benchmark.prompts.filter(written_for_check=False)
        .values("category", "subcategory")
        .annotate(prompts=Count("id"))
        .order_by("category", "subcategory")
    )
    return [
        SubcategoryCount(
            category=row["category"],
            subcategory=row["subcategory"],
            prompts=row["prompts"],
            rubric=rubrics.get(row["subcategory"]),
        )
        for row in rows
    ]
