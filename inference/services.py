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
from backends.base import BackendConfigError, Generation, Message
from backends.registry import backend_for, validate_backend_settings
from benchmarks.files import InputFileError
from benchmarks.models import Benchmark, Prompt
from inference.conversations import (
    EARLIER_TURN_FAILED,
    answers_expected,
    earlier_failure,
    script_messages,
    sent_conversation,
    stored_messages,
    turns_answered,
)
from inference.importing import ImportTargets, ResponseRow, place_rows, read_response_file
from inference.models import FinishReason, GenerationRun, ModelSpec, Response
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
RESPONSE_COLUMNS = ("run_id", "prompt_id", "turn", "messages", "text", "finish_reason", "error")


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
    targets = import_targets(benchmark, rows)
    unknown = next((row for row in rows if row.external_id not in targets.ids), None)
    if unknown is not None:
        raise InputFileError(
            f"The id '{unknown.external_id}' on {unknown.where} is not a prompt of benchmark "
            f"'{benchmark.slug}'."
        )
    placed = place_rows(rows, targets, benchmark=benchmark.slug)
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
        for start in range(0, len(placed), RESPONSE_WRITE_BATCH):
            batch = placed[start : start + RESPONSE_WRITE_BATCH]
            rows_insert(
                Response,
                RESPONSE_COLUMNS,
                (
                    (run.pk, item.prompt_id, item.turn, item.messages, item.row.text or "",
                     item.row.finish_reason,
                     "" if item.row.text is not None else NULL_RESPONSE_ERROR)
                    for item in batch
                ),
            )  # fmt: skip
            report(start + len(batch), len(rows))
    nulls = sum(1 for row in rows if row.text is None)
    return ResponseImportReport(run=run, imported=len(rows), null_responses=nulls)


def import_targets(benchmark: Benchmark, rows: Sequence[ResponseRow]) -> ImportTargets:
    """What placing ``rows`` reads of the benchmark's prompts: every id, the conversations whole,
    and single prompts' texts only when a row carries ``messages`` (reading every prompt's JSON
    would slow a file of 10,000 single prompts several times over)."""
    prompts = Prompt.objects.filter(benchmark=benchmark)
    conversations = {p.external_id: p for p in prompts.exclude(user_turns=[], messages=[])}
    repeats = any(row.messages is not None and row.external_id not in conversations for row in rows)
    return ImportTargets(
        ids=dict(prompts.values_list("external_id", "pk")),
        conversations=conversations,
        texts=dict(prompts.values_list("external_id", "text")) if repeats else {},
    )


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
    # Answers, not prompts: a scripted conversation gives one per user turn, so progress bars
    # and completion (runs.services.run_finish_if_complete) count what is generated.
    run.total = answers_expected(run.prompts().values_list("user_turns", flat=True))
    if run.total == 0:
        raise RunError(f"Benchmark '{benchmark.slug}' has no prompts to run.")
    run.save()
    run_dispatch_on_commit(run)
    return run


def generation_run_generate_chunk(run_id: int, prompt_ids: list[int]) -> None:
    """A generation run's chunk (runs.chunks calls it, as inference/apps.py registers): generate
    what the chunk still lacks, step by step. Step 1 answers every single prompt, every
    conversation with fixed context and the first turn of every scripted conversation, in one
    backend call (batched as the backend batches); step k answers turn k of the scripted
    conversations that have one, in the context of the answers stored for their earlier turns.
    Each step's responses are stored before the next, so a worker that dies mid-chunk loses at
    most one step. (prompt, turn) rows that exist are skipped and the unique constraint drops
    duplicates, so a retried or redelivered chunk never doubles a response, and it reuses the
    stored answers as context."""
    run = GenerationRun.objects.get(pk=run_id)
    if run.status != RunStatus.RUNNING:
        return  # cancelled, failed or finished: its remaining chunks are dropped
    prompts = list(Prompt.objects.filter(pk__in=prompt_ids).order_by("pk"))
    turns = {prompt.pk: turns_answered(prompt) for prompt in prompts}
    for step in range(max((len(t) for t in turns.values()), default=0)):
        answers = stored_answers(run_id=run_id, prompt_ids=list(turns))
        due = [
            (prompt, turns[prompt.pk][step])
            for prompt in prompts
            if step < len(turns[prompt.pk]) and turns[prompt.pk][step] not in answers[prompt.pk]
        ]
        if not due:
            continue
        if step and not GenerationRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).exists():
            return  # cancelled between turns: the rest is dropped like its other chunks
        responses_store(responses_to_turns(run, due, answers))
    run_finish_if_complete(GenerationRun, run_id)


@dataclass(frozen=True)
class StoredAnswer:
    text: str
    failed: bool


def stored_answers(*, run_id: int, prompt_ids: list[int]) -> dict[int, dict[int, StoredAnswer]]:
    """{prompt id: {turn: answer}} of the responses the run already has for these prompts."""
    answers: dict[int, dict[int, StoredAnswer]] = {pk: {} for pk in prompt_ids}
    rows = Response.objects.filter(run_id=run_id, prompt_id__in=prompt_ids).values_list(
        "prompt_id", "turn", "text", "error"
    )
    for prompt_id, turn, text, error in rows:
        answers[prompt_id][turn] = StoredAnswer(text=text, failed=bool(error))
    return answers


def responses_to_turns(
    run: GenerationRun,
    due: Sequence[tuple[Prompt, int]],
    answers: dict[int, dict[int, StoredAnswer]],
) -> list[Response]:
    """The responses to one step: one backend call for every turn whose context exists. A
    scripted turn after a failed one is not generated; its response says which turn failed."""
    asked: list[tuple[Prompt, int, list[Message]]] = []
    not_generated: list[Response] = []
    for prompt, turn in due:
        earlier = {t: answer.text for t, answer in answers[prompt.pk].items()}
        failed = earlier_failure((t for t, a in answers[prompt.pk].items() if a.failed), turn)
        if failed is None:
            asked.append((prompt, turn, sent_conversation(prompt, turn, earlier)))
        else:
            not_generated.append(
                Response(
                    run_id=run.pk,
                    prompt=prompt,
                    turn=turn,
                    messages=script_messages(prompt, turn, earlier),
                    finish_reason=FinishReason.ERROR,
                    error=EARLIER_TURN_FAILED.format(failed=failed),
                )
            )
    generations: list[Generation] = []
    if asked:
        backend = backend_for(run.model_snapshot["backend"], run.model_snapshot["settings"])
        generations = backend.generate([sent for _, _, sent in asked])
    return [
        response_from_generation(run.pk, prompt, turn, sent, generation)
        for (prompt, turn, sent), generation in zip(asked, generations, strict=True)
    ] + not_generated


def response_from_generation(
    run_id: int, prompt: Prompt, turn: int, sent: list[Message], generation: Generation
) -> Response:
    return Response(
        run_id=run_id,
        prompt=prompt,
        turn=turn,
        messages=stored_messages(prompt, sent),
        text=generation.text,
        finish_reason=generation.finish_reason[:50],
        prompt_tokens=generation.prompt_tokens,
        completion_tokens=generation.completion_tokens,
        latency_ms=generation.latency_ms,
        error=generation.error,
    )


def responses_store(responses: Sequence[Response]) -> None:
    """Rows that exist already (a redelivered chunk's) are kept, the new ones dropped: the
    stored answer is the one later turns were, or will be, answered after."""
    Response.objects.bulk_create(responses, ignore_conflicts=True)


def generation_run_cancel(*, run: GenerationRun) -> bool:
    return run_cancel(run)


def generation_run_resume(*, run: GenerationRun) -> bool:
    """runs.services.run_resume, for a run that generates: an imported one has nothing to."""
    if run.imported:
        raise RunError("An imported run has nothing to generate.")
    return run_resume(run)
