"""Writes of inference: model specs, generation runs and their responses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts.bulk import rows_insert
from backends.base import BackendConfigError, Generation
from backends.registry import backend_for, validate_backend_settings
from benchmarks.files import InputFileError
from benchmarks.models import Benchmark, Prompt
from inference.importing import read_response_file
from inference.models import GenerationRun, ModelSpec, Response
from runs.errors import RunError
from runs.models import RunStatus
from runs.services import (
    run_cancel,
    run_dispatch_on_commit,
    run_finish_if_complete,
    run_resume,
)

# A null response is kept as a row, so the run still accounts for that prompt, and judges see an
# error rather than an empty answer they would read as a refusal.
NULL_RESPONSE_ERROR = "The imported file gives no response (null) for this prompt."
# Imported responses per COPY (or INSERT), and what each holds (rows_insert).
RESPONSE_WRITE_BATCH = 2000
RESPONSE_COLUMNS = ("run_id", "prompt_id", "text", "finish_reason", "error")


class ModelSpecInUse(ValueError):
    """A model spec's backend or settings asked to change after runs or judges used it."""


def model_spec_save(
    *, name: str, backend: str, settings: dict[str, Any], description: str = ""
) -> ModelSpec:
    """Create a spec, or change one that nothing has used yet. A spec that a run or a judge uses
    keeps its backend and settings (only the description may change): runs and judge versions
    name it, and a changed spec would silently change what they say they used. Saving the
    same definition again is a no-op, so scripts can declare their specs on every start."""
    validate_backend_settings(backend, settings)
    with transaction.atomic():
        spec = ModelSpec.objects.select_for_update().filter(name=name).first()
        if spec is None:
            return ModelSpec.objects.create(
                name=name, backend=backend, settings=settings, description=description
            )
        changed = spec.backend != backend or spec.settings != settings
        if changed:
            model_spec_check_unused(spec)
        spec.backend, spec.settings = backend, settings
        spec.description = description or spec.description
        spec.save()
        return spec


def model_spec_check_unused(spec: ModelSpec) -> None:
    runs = spec.runs.count()
    judges = spec.judges.count()  # judging's versions that read it (reverse foreign key)
    if runs or judges:
        users = " and ".join(
            part
            for part in (
                f"{runs} run{'s' if runs != 1 else ''}" if runs else "",
                f"{judges} judge version{'s' if judges != 1 else ''}" if judges else "",
            )
            if part
        )
        raise ModelSpecInUse(
            f"Name: model spec '{spec.name}' is used by {users}, so its backend and settings "
            "cannot change (they would change what those say they used); save the new "
            "settings under another name."
        )


@dataclass
class ResponseImportReport:
    run: GenerationRun
    imported: int
    null_responses: int


def responses_import(
    *,
    path: Path,
    benchmark: Benchmark,
    model_name: str,
    created_by: User | None = None,
    source_label: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> ResponseImportReport:
    """A finished run from a file of responses; every line is checked before anything is
    written, and all of it is written in one transaction. The run records ``source_label`` as
    where it was imported from when given (an upload's file name), else the path.
    ``progress(done, total)`` hears of each batch of responses written."""
    rows = read_response_file(path, max_bytes=django_settings.DEMUR_IMPORT_MAX_BYTES)
    prompt_ids = dict(benchmark.prompts.values_list("external_id", "pk"))
    unknown = next((row for row in rows if row.external_id not in prompt_ids), None)
    if unknown is not None:
        raise InputFileError(
            f"The id '{unknown.external_id}' on {unknown.where} is not a prompt of benchmark "
            f"'{benchmark.slug}'."
        )
    now = timezone.now()
    report = progress or (lambda done, total: None)
    with transaction.atomic():
        run = GenerationRun.objects.create(
            model_name=model_name,
            model_snapshot={"imported_from": source_label or str(path)},
            benchmark=benchmark,
            imported=True,
            status=RunStatus.DONE,
            total=len(rows),
            created_by=created_by,
            started_at=now,
            finished_at=now,
        )
        report(0, len(rows))
        for start in range(0, len(rows), RESPONSE_WRITE_BATCH):
            batch = rows[start : start + RESPONSE_WRITE_BATCH]
            rows_insert(
                Response,
                RESPONSE_COLUMNS,
                (
                    (run.pk, prompt_ids[row.external_id], row.text or "", row.finish_reason,
                     "" if row.text is not None else NULL_RESPONSE_ERROR)
                    for row in batch
                ),
            )  # fmt: skip
            report(start + len(batch), len(rows))
    nulls = sum(1 for row in rows if row.text is None)
    return ResponseImportReport(run=run, imported=len(rows), null_responses=nulls)


def generation_run_create(
    *,
    benchmark: Benchmark,
    model_spec: ModelSpec,
    categories: Sequence[str] = (),
    limit: int | None = None,
    judges_after: Sequence[str] = (),
    created_by: User | None = None,
) -> GenerationRun:
    """Freeze the model's parameters into the run, then queue its chunks once it is committed."""
    try:
        validate_backend_settings(model_spec.backend, model_spec.settings)
    except BackendConfigError as error:
        raise RunError(f"Model '{model_spec.name}': {error}") from None
    known = set(benchmark.prompts.values_list("category", flat=True).distinct())
    unknown = sorted(set(categories) - known)
    if unknown:
        raise RunError(f"Benchmark '{benchmark.slug}' has no category {', '.join(unknown)}.")
    run = GenerationRun(
        model_spec=model_spec,
        model_name=model_spec.name,
        model_snapshot={"backend": model_spec.backend, "settings": model_spec.settings},
        benchmark=benchmark,
        categories=list(categories),
        limit=limit,
        judges_after=list(judges_after),
        created_by=created_by,
    )
    run.total = run.prompts().count()
    if run.total == 0:
        raise RunError(f"Benchmark '{benchmark.slug}' has no prompts to run.")
    run.save()
    run_dispatch_on_commit(run)
    return run


def generation_run_generate_chunk(run_id: int, prompt_ids: list[int]) -> None:
    """A generation run's chunk (runs.chunks calls it, as inference/apps.py registers): generate
    what the chunk still lacks. Rows that exist are skipped and the unique
    constraint drops duplicates, so a retried or redelivered chunk never doubles a response."""
    run = GenerationRun.objects.get(pk=run_id)
    if run.status != RunStatus.RUNNING:
        return  # cancelled, failed or finished: its remaining chunks are dropped
    existing = set(
        Response.objects.filter(run_id=run_id, prompt_id__in=prompt_ids).values_list(
            "prompt_id", flat=True
        )
    )
    prompts = list(
        Prompt.objects.filter(pk__in=[pk for pk in prompt_ids if pk not in existing]).order_by("pk")
    )
    if prompts:
        backend = backend_for(run.model_snapshot["backend"], run.model_snapshot["settings"])
        generations = backend.generate([[{"role": "user", "content": p.text}] for p in prompts])
        responses_store(run_id=run_id, prompts=prompts, generations=generations)
    run_finish_if_complete(GenerationRun, run_id)


def responses_store(
    *, run_id: int, prompts: Sequence[Prompt], generations: Sequence[Generation]
) -> None:
    Response.objects.bulk_create(
        [
            Response(
                run_id=run_id,
                prompt=prompt,
                text=generation.text,
                finish_reason=generation.finish_reason[:50],
                prompt_tokens=generation.prompt_tokens,
                completion_tokens=generation.completion_tokens,
                latency_ms=generation.latency_ms,
                error=generation.error,
            )
            for prompt, generation in zip(prompts, generations, strict=True)
        ],
        ignore_conflicts=True,
    )


def generation_run_cancel(*, run: GenerationRun) -> bool:
    return run_cancel(run)


def generation_run_resume(*, run: GenerationRun) -> bool:
    """runs.services.run_resume, for a run that generates: an imported one has nothing to."""
    if run.imported:
        raise RunError("An imported run has nothing to generate.")
    return run_resume(run)
