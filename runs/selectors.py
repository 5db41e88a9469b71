"""Reads any run page needs: where an unfinished run is (queued, running, stalled), its
outstanding chunks, its progress, and the runs that follow it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from runs.models import Chunk, ChunkState, Run, RunStatus


@dataclass(frozen=True)
class Phase:
    """Where an unfinished run is, as a person watching it needs to know: ``queued`` (no worker
    has started any of it), ``running``, or ``stalled`` (work outstanding, nothing happening);
    a finished run's phase is its status."""

    name: str
    label: str
    quiet_minutes: int = 0  # stalled: minutes since the last sign of progress

    @property
    def is_stalled(self) -> bool:
        return self.name == "stalled"

    @property
    def is_queued(self) -> bool:
        return self.name == "queued"

    @property
    def is_done(self) -> bool:
        return self.name == RunStatus.DONE


def run_phase(
    run: Run, *, done: int, last_item_at: datetime | None, chunks: Sequence[Chunk]
) -> Phase:
    """``chunks``: the run's outstanding chunks."""
    if run.status == RunStatus.PENDING:
        return Phase("queued", "Queued")
    if run.status != RunStatus.RUNNING:
        return Phase(run.status, run.get_status_display())
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.DEMUR_STALL_SECONDS)
    taken = [chunk for chunk in chunks if chunk.state != ChunkState.QUEUED]
    beats = [chunk.heartbeat_at for chunk in taken if chunk.heartbeat_at]
    signs = [moment for moment in (run.started_at, last_item_at, *beats) if moment]
    last_sign = max(signs, default=now)
    # A taken chunk whose worker stopped beating; or nothing outstanding, yet not all done.
    lost = any(beat < cutoff for beat in beats) or (not chunks and done < run.total)
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


def with_progress(runs: QuerySet[Any]) -> QuerySet[Any]:
    """Each run annotated with ``done`` (items so far) and ``last_item_at``, in the one query."""
    items = runs.model.items_relation
    return runs.annotate(done=Count(items), last_item_at=Max(f"{items}__created_at"))


def annotated_phase(run: Any, chunks: Sequence[Chunk]) -> Phase:
    """The phase of a run that ``with_progress`` annotated."""
    return run_phase(run, done=int(run.done), last_item_at=run.last_item_at, chunks=chunks)


def run_phases(runs: Sequence[Any]) -> dict[int, Phase]:
    """The phase of each run that ``with_progress`` annotated (all of one model), by id."""
    if not runs:
        return {}
    chunks = outstanding_chunks(kind=runs[0].chunk_kind, job_ids=[run.pk for run in runs])
    return {run.pk: annotated_phase(run, chunks[run.pk]) for run in runs}


@dataclass(frozen=True)
class FollowUp:
    """A run that works on another's output (a judge run on a generation run), as a list of
    runs shows it beside the run it follows."""

    run: Any  # annotated by with_progress
    phase: Phase

    @property
    def done(self) -> int:
        return int(self.run.done)


def follow_ups(runs: Sequence[Run]) -> dict[int, list[FollowUp]]:
    """For each run, the runs of every model that follows its model, oldest first. The models
    are found among the installed ones, so the app of the followed model imports none of
    them."""
    found: dict[int, list[FollowUp]] = defaultdict(list)
    if not runs:
        return found
    for model in following_models(type(runs[0])):
        followers = list(
            with_progress(model.objects.filter(**{f"{model.follows}__in": list(runs)}))
            .select_related(*model.list_related)
            .order_by("pk")
        )
        phases = run_phases(followers)
        for follower in followers:
            parent_id = getattr(follower, f"{model.follows}_id")
            found[parent_id].append(FollowUp(run=follower, phase=phases[follower.pk]))
    return found


def following_models(followed: type[Run]) -> list[type[Run]]:
    return [
        model
        for model in apps.get_models()
        if issubclass(model, Run)
        and model.follows
        and model._meta.get_field(model.follows).related_model is followed
    ]
