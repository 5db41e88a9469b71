"""Reads of runs and responses."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from benchmarks.models import Benchmark, Prompt
from inference.models import Chunk, ChunkState, FinishReason, GenerationRun, Response, RunStatus


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


TRUNCATED = Q(responses__finish_reason=FinishReason.LENGTH)


@dataclass(frozen=True)
class Phase:
    """Where an unfinished job is, as a person watching it needs to know: ``queued`` (no worker
    has started any of it), ``running``, or ``stalled`` (work outstanding, nothing happening);
    a finished job's phase is its status."""

    name: str
    label: str
    quiet_minutes: int = 0  # stalled: minutes since the last sign of progress

    @property
    def is_stalled(self) -> bool:
        return self.name == "stalled"


def job_phase(
    job: Any, *, done: int, last_item_at: datetime | None, chunks: Sequence[Chunk]
) -> Phase:
    """``job``: a GenerationRun or a JudgeRun; ``chunks``: its outstanding chunks."""
    if job.status == RunStatus.PENDING:
        return Phase("queued", "Queued")
    if job.status != RunStatus.RUNNING:
        return Phase(job.status, job.get_status_display())
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.DEMUR_STALL_SECONDS)
    taken = [chunk for chunk in chunks if chunk.state != ChunkState.QUEUED]
    beats = [chunk.heartbeat_at for chunk in taken if chunk.heartbeat_at]
    signs = [moment for moment in (job.started_at, last_item_at, *beats) if moment]
    last_sign = max(signs, default=now)
    # A taken chunk whose worker stopped beating; or nothing outstanding, yet not all done.
    lost = any(beat < cutoff for beat in beats) or (not chunks and done < job.total)
    if lost and last_sign < cutoff:
        return Phase("stalled", "Stalled", round((now - last_sign).total_seconds() / 60))
    if done or taken:
        return Phase("running", "Running")
    return Phase("queued", "Queued")


def outstanding_chunks(*, kind: str, job_ids: Iterable[int]) -> dict[int, list[Chunk]]:
    by_job: dict[int, list[Chunk]] = defaultdict(list)
    for chunk in Chunk.objects.filter(kind=kind, job_id__in=list(job_ids)):
        by_job[chunk.job_id].append(chunk)
    return by_job


def run_progress(*, run: GenerationRun) -> dict[str, Any]:
    counts = run.responses.aggregate(
        done=Count("pk"),
        errors=Count("pk", filter=~Q(error="")),
        truncated=Count("pk", filter=Q(finish_reason=FinishReason.LENGTH)),
        last_item_at=Max("created_at"),
    )
    total = run.total
    chunks = outstanding_chunks(kind="generation", job_ids=[run.pk])[run.pk]
    return {
        "done": counts["done"],
        "errors": counts["errors"],
        "truncated": counts["truncated"],
        "total": total,
        "percent": round(100 * counts["done"] / total) if total else 100,
        "phase": job_phase(
            run, done=counts["done"], last_item_at=counts["last_item_at"], chunks=chunks
        ),
    }


def run_list() -> QuerySet[GenerationRun]:
    return (
        GenerationRun.objects.select_related("benchmark")
        .annotate(
            done=Count("responses"),
            truncated=Count("responses", filter=TRUNCATED),
            last_item_at=Max("responses__created_at"),
        )
        .order_by("-created_at")
    )


@dataclass(frozen=True)
class RunRow:
    """A line of the runs page: the run, its phase and the progress of each of its judges."""

    run: GenerationRun
    phase: Phase
    judges: list[tuple[Any, int, Phase]]  # (judge run, verdicts so far, phase)


def run_rows(runs: Sequence[GenerationRun]) -> list[RunRow]:
    """Phases from the annotations of ``run_list``; judge progress in one more query."""
    from judging.models import JudgeRun  # judging depends on inference, not the reverse

    chunks = outstanding_chunks(kind="generation", job_ids=[run.pk for run in runs])
    judge_runs = list(
        JudgeRun.objects.filter(run__in=[run.pk for run in runs])
        .select_related("judge")
        .annotate(done=Count("verdicts"), last_item_at=Max("verdicts__created_at"))
        .order_by("pk")
    )
    judge_chunks = outstanding_chunks(kind="judging", job_ids=[j.pk for j in judge_runs])
    judges: dict[int, list[tuple[Any, int, Phase]]] = defaultdict(list)
    for judge_run in judge_runs:
        phase = annotated_phase(judge_run, judge_chunks[judge_run.pk])
        judges[judge_run.run_id].append((judge_run, phase_done(judge_run), phase))
    return [
        RunRow(run=run, phase=annotated_phase(run, chunks[run.pk]), judges=judges[run.pk])
        for run in runs
    ]


def phase_done(job: Any) -> int:
    """The ``done`` count a list query annotated the job with."""
    return int(job.done)


def annotated_phase(job: Any, chunks: Sequence[Chunk]) -> Phase:
    return job_phase(job, done=phase_done(job), last_item_at=job.last_item_at, chunks=chunks)


def run_responses(*, run: GenerationRun) -> QuerySet[Response]:
    return run.responses.select_related("prompt").order_by("prompt_id")
