"""Reads of runs and responses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Q, QuerySet

from inference.models import FinishReason, GenerationRun, Response
from runs.selectors import (
    FollowUp,
    Phase,
    follow_ups,
    outstanding_chunks,
    run_phase,
    run_phases,
    with_progress,
)

TRUNCATED = Q(responses__finish_reason=FinishReason.LENGTH)


def run_progress(*, run: GenerationRun) -> dict[str, Any]:
    counts = run.responses.aggregate(
        done=Count("pk"),
        errors=Count("pk", filter=~Q(error="")),
        truncated=Count("pk", filter=Q(finish_reason=FinishReason.LENGTH)),
        last_item_at=Max("created_at"),
    )
    total = run.total
    chunks = outstanding_chunks(kind=run.chunk_kind, job_ids=[run.pk])[run.pk]
    return {
        "done": counts["done"],
        "errors": counts["errors"],
        "truncated": counts["truncated"],
        "total": total,
        "percent": round(100 * counts["done"] / total) if total else 100,
        "phase": run_phase(
            run, done=counts["done"], last_item_at=counts["last_item_at"], chunks=chunks
        ),
    }


def run_list() -> QuerySet[GenerationRun]:
    return (
        with_progress(GenerationRun.objects.select_related("benchmark"))
        .annotate(truncated=Count("responses", filter=TRUNCATED))
        .order_by("-created_at")
    )


@dataclass(frozen=True)
class RunRow:
    """A line of the runs page: the run, its phase and the runs that follow it (its judges)."""

    run: GenerationRun
    phase: Phase
    judges: list[FollowUp]


def run_rows(runs: Sequence[GenerationRun]) -> list[RunRow]:
    """Phases from the annotations of ``run_list``; the runs that follow in one more query."""
    phases = run_phases(runs)
    judges = follow_ups(runs)
    return [RunRow(run=run, phase=phases[run.pk], judges=judges[run.pk]) for run in runs]


def run_responses(*, run: GenerationRun) -> QuerySet[Response]:
    """In prompt order, a conversation's answers in turn order."""
    return run.responses.select_related("prompt").order_by("prompt_id", "turn")
