"""Reads of benchmarks for pages and the API."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from benchmarks.models import Benchmark, Rubric


@dataclass(frozen=True)
class SubcategoryCount:
    category: str
    subcategory: str
    prompts: int
    rubric: Rubric | None


def benchmark_list() -> QuerySet[Benchmark]:
    own = Q(prompts__written_for_check=False)
    return Benchmark.objects.annotate(prompt_count=Count("prompts", filter=own)).order_by("slug")


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
