"""Writes of judging: judges, judge runs and their verdicts."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from backends.registry import validate_backend_settings
from benchmarks.models import Rubric
from inference.models import GenerationRun, ModelSpec, Response
from judging.judges_text import KeywordMatcher
from judging.kinds import MODEL_KINDS, JudgeInput, JudgeOutput, judge_items
from judging.models import (
    BUILT_IN_JUDGE,
    Judge,
    JudgeKind,
    JudgePrompt,
    JudgeRun,
    Verdict,
    judge_definition,
    judge_label,
)
from judging.selectors import judge_find
from runs.errors import RunError
from runs.models import RunStatus
from runs.services import run_cancel, run_dispatch_on_commit, run_finish_if_complete, run_resume


class JudgeSaveError(ValueError):
    """A judge definition refused; ``field`` is the form field the sentence is about."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# How the person asks for a new version, in the sentence that refuses a taken name; each
# interface says it its own way (a checkbox, --new-version, "new_version": true).
ASK_NEW_VERSION = "ask for a new version"

# A name may not look like a version marker: `NAME@N` selects a version, `NAME vN` labels one.
VERSION_MARK = re.compile(r"@|\sv\d+$")


def judge_save(
    *,
    name: str,
    kind: str,
    model_spec: ModelSpec | None = None,
    settings: dict[str, Any] | None = None,
    description: str = "",
    new_version: bool = False,
    how_to_ask: str = ASK_NEW_VERSION,
) -> Judge:
    """Make a judge, or with ``new_version`` the next version of an existing one. An existing
    version is never changed: its verdicts keep the definition that produced them."""
    settings = settings or {}
    name = name.strip()
    judge_definition_check(name=name, kind=kind, model_spec=model_spec, settings=settings)
    definition = judge_definition(kind, settings, model_spec)
    with transaction.atomic():
        versions = list(Judge.objects.select_for_update().filter(name=name).order_by("version"))
        latest = versions[-1] if versions else None
        if latest is not None and not new_version:
            raise JudgeSaveError(
                f"Name: a judge named '{name}' exists (newest: {latest.label}); "
                f"{how_to_ask} to make {judge_label(name, latest.version + 1)}, "
                "or choose another name.",
                field="name",
            )
        if latest is not None and latest.definition == definition:
            raise JudgeSaveError(
                f"New version: {latest.label} already has this kind, model and settings, "
                "so there is nothing to make a new version of.",
                field="new_version",
            )
        version = latest.version + 1 if latest else 1
        try:
            with transaction.atomic():
                return Judge.objects.create(
                    name=name,
                    version=version,
                    kind=kind,
                    model_spec=model_spec,
                    settings=settings,
                    definition=definition,
                    description=description,
                )
        except IntegrityError:
            # Only a version saved by someone else in between is the person's to retry; any
            # other integrity fault is a bug and must not be dressed up as one.
            if not Judge.objects.filter(name=name, version=version).exists():
                raise
            raise JudgeSaveError(
                f"Name: another version of '{name}' was saved at the same moment; try again.",
                field="name",
            ) from None


def judge_definition_check(
    *, name: str, kind: str, model_spec: ModelSpec | None, settings: dict[str, Any]
) -> None:
    if not name:
        raise JudgeSaveError("Name: give the judge a name.", field="name")
    if name == BUILT_IN_JUDGE:
        raise JudgeSaveError(
            f"Name: '{BUILT_IN_JUDGE}' is the built-in keyword judge and cannot be redefined; "
            "choose another name (a judge of kind keyword can have its own keyword list).",
            field="name",
        )
    if VERSION_MARK.search(name):
        raise JudgeSaveError(
            "Name: a judge's name may not contain '@' or end in ' v' and a number, which mark "
            "its versions (NAME@2, 'NAME v2').",
            field="name",
        )
    if kind not in JudgeKind.values:
        raise JudgeSaveError(
            f"Kind: unknown judge kind '{kind}'; use one of {', '.join(JudgeKind.values)}.",
            field="kind",
        )
    if kind in MODEL_KINDS and model_spec is None:
        raise JudgeSaveError(f"Model: a {kind} judge needs a model spec.", field="model_spec")
    if kind == JudgeKind.KEYWORD and settings.get("keywords") is not None:
        try:
            KeywordMatcher(settings["keywords"])  # refuses an empty list now, not in a worker
        except (TypeError, ValueError, AttributeError) as error:
            raise JudgeSaveError(f"Keywords: {error}.", field="keywords") from None
    threshold = settings.get("threshold")
    if threshold is not None and not (isinstance(threshold, int | float) and 0 <= threshold <= 1):
        raise JudgeSaveError("Threshold: 'threshold' must be a number from 0 to 1.", "threshold")


def judge_ensure(
    *, name: str, kind: str, model_spec: ModelSpec | None = None, description: str = ""
) -> Judge:
    """The newest version of ``name`` if it has this definition, else a new version: for the
    demo, which declares its judge on every start."""
    latest = Judge.objects.filter(name=name).order_by("-version").first()
    if latest is not None and latest.definition == judge_definition(kind, {}, model_spec):
        return latest
    return judge_save(
        name=name, kind=kind, model_spec=model_spec, description=description, new_version=True
    )


def judge_snapshot(judge: Judge) -> dict[str, Any]:
    """What a judge run reads: the version's own definition, never the model spec as it is
    now."""
    return {"name": judge.name, "version": judge.version, "label": judge.label, **judge.definition}


def judge_run_create(
    *, judge: Judge, run: GenerationRun, created_by: User | None = None
) -> JudgeRun:
    if run.status != RunStatus.DONE:
        raise RunError(f"Run {run.pk} is {run.status}; judge it once it is done.")
    if judge.is_imported:
        raise RunError(
            f"{judge.label} is an imported judge: Demur cannot run it; import its verdicts with "
            "manage.py import_verdicts."
        )
    model = judge.definition.get("model")
    if model:
        validate_backend_settings(model["backend"], model["settings"])
    judge_run = JudgeRun.objects.create(
        judge=judge,
        run=run,
        judge_snapshot=judge_snapshot(judge),
        total=run.responses.count(),
        created_by=created_by,
    )
    run_dispatch_on_commit(judge_run)
    return judge_run


def judge_run_judge_chunk(judge_run_id: int, response_ids: list[int]) -> None:
    """A judge run's chunk (runs.chunks calls it, as judging/apps.py registers): judge the
    responses that have no verdict of this judge run yet."""
    judge_run = JudgeRun.objects.select_related("run__benchmark").get(pk=judge_run_id)
    if judge_run.status != RunStatus.RUNNING:
        return
    judged = set(
        judge_run.verdicts.filter(response_id__in=response_ids).values_list(
            "response_id", flat=True
        )
    )
    responses = list(
        Response.objects.filter(pk__in=[pk for pk in response_ids if pk not in judged])
        .select_related("prompt")
        .order_by("pk")
    )
    if responses:
        rubrics = current_rubrics(benchmark_id=judge_run.run.benchmark_id)
        kind = judge_run.run.benchmark.kind
        inputs = [judge_input(response, kind, rubrics) for response in responses]
        outputs = judge_items(judge_run.judge_snapshot, inputs)
        verdicts_store(
            judge_run_id=judge_run_id, responses=responses, outputs=outputs, rubrics=rubrics
        )
    run_finish_if_complete(JudgeRun, judge_run_id)


def current_rubrics(*, benchmark_id: int) -> dict[str, Rubric]:
    rubrics = Rubric.objects.filter(benchmark_id=benchmark_id, is_current=True)
    return {rubric.subcategory: rubric for rubric in rubrics}


def judge_input(response: Response, benchmark_kind: str, rubrics: dict[str, Rubric]) -> JudgeInput:
    """What a judge reads of one response: the user turn it answers (for an earlier answer of a
    scripted conversation that is not ``Prompt.text``, the last turn) and the turns before it."""
    rubric = rubrics.get(response.prompt.subcategory)
    return JudgeInput(
        prompt=response.conversation[-1]["content"],
        response=response.text,
        response_error=response.error,
        benchmark_kind=benchmark_kind,
        acceptable=rubric.acceptable if rubric else "",
        unacceptable=rubric.unacceptable if rubric else "",
        context=response.context,
    )


def verdicts_store(
    *,
    judge_run_id: int,
    responses: Sequence[Response],
    outputs: Sequence[JudgeOutput],
    rubrics: dict[str, Rubric],
) -> None:
    prompt_ids = judge_prompts_store([output.judge_prompt for output in outputs])
    uses_rubric = any(output.judge_prompt for output in outputs)
    Verdict.objects.bulk_create(
        [
            Verdict(
                judge_run_id=judge_run_id,
                response=response,
                label=output.label,
                score=output.score,
                rationale=output.rationale,
                raw_output=output.raw_output,
                judge_prompt_id=prompt_ids.get(output.judge_prompt),
                rubric=rubrics.get(response.prompt.subcategory) if uses_rubric else None,
                latency_ms=output.latency_ms,
                answers=output.answers,
            )
            for response, output in zip(responses, outputs, strict=True)
        ],
        ignore_conflicts=True,
    )


def judge_prompts_store(texts: Sequence[str]) -> dict[str, int]:
    """Each distinct full judge prompt once, keyed by its SHA-256; returns text -> row id."""
    by_hash = {hashlib.sha256(text.encode()).hexdigest(): text for text in texts if text}
    JudgePrompt.objects.bulk_create(
        [JudgePrompt(sha256=digest, text=text) for digest, text in by_hash.items()],
        ignore_conflicts=True,
    )
    ids = dict(JudgePrompt.objects.filter(sha256__in=list(by_hash)).values_list("sha256", "pk"))
    return {text: ids[digest] for digest, text in by_hash.items()}


def judge_run_cancel(*, judge_run: JudgeRun) -> bool:
    return run_cancel(judge_run)


def judge_run_resume(*, judge_run: JudgeRun) -> bool:
    """runs.services.run_resume: a failed or cancelled judge run starts over from pending; a
    running one gets only the responses that have no verdict and are in no live chunk, or
    NothingToResume. False: pending or done."""
    return run_resume(judge_run)


def judge_runs_after_generation(sender: object, *, run_id: int, **kwargs: object) -> None:
    """Start the judges a run asked for (``--then-judge``) as soon as its last response is in."""
    run = GenerationRun.objects.get(pk=run_id)
    for selector in run.judges_after:
        judge = judge_find(selector)  # a bare name: its newest version now
        if judge is None or judge.is_imported:
            # Deleted since the run started, or one whose verdicts only come from files: the
            # run page shows which judges ran.
            continue
        judge_run_create(judge=judge, run=run, created_by=run.created_by)
