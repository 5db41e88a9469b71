"""Reads of runs and responses."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from benchmarks.models import Benchmark, Prompt
from inference.models import GenerationRun, Response


def run_prompts(
    *, benchmark: Benchmark, categories: list[str], limit: int | None
) -> QuerySet[Prompt]:
    """The prompts a run covers, in a fixed order so that chunks can be recomputed on resume."""
    prompts = benchmark.prompts.order_by("pk")
    if categories:
        prompts = prompts.filter(category__in=categories)
    return prompts[:limit] if limit else prompts


def run_missing_prompt_ids(*, run: GenerationRun) -> list[int]:
    """Prompts of the run with no Response yet: what a resumed run still has to do."""
    ids = run_prompts(benchmark=run.benchmark, categories=run.categories, limit=run.limit)
    done = set(run.responses.values_list("prompt_id", flat=True))
    return [pk for pk in ids.values_list("pk", flat=True) if pk not in done]


def run_progress(*, run: GenerationRun) -> dict[str, int]:
    counts = run.responses.aggregate(done=Count("pk"), errors=Count("pk", filter=~Q(error="")))
    total = run.total
    return {
        "done": counts["done"],
        "errors": counts["errors"],
        "total": total,
        "percent": round(100 * counts["done"] / total) if total else 100,
    }


def run_list() -> QuerySet[GenerationRun]:
    return GenerationRun.objects.select_related("benchmark").annotate(done=Count("responses"))


def run_responses(*, run: GenerationRun) -> QuerySet[Response]:
    return run.responses.select_related("prompt").order_by("prompt_id")
