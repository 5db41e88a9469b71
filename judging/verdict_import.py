"""Verdicts made by another tool, imported as a finished judge run.

Two kinds of file: JSON Lines, one ``{"id", "turn"?, "label", "score"?, "raw_output"?}`` per
response, or a log of inspect_evals' CoCoNot task (``.eval``, or ``.json`` from
``--log-format json``), read with inspect-ai's own reader. As ``responses_import`` does, every
line is read and checked before anything is written, and all of it is written in one
transaction: a file is imported whole or not at all, and each refusal is one sentence
(``InputFileError``) naming the line and the field.

A verdict is for the response to the prompt ``id`` names, at the user turn ``turn`` names (1 for
the first): an answer of a scripted conversation is one of several responses to its prompt. With
no ``turn`` (and always in an inspect log) it is for the prompt's last turn, the one answer of a
single prompt or of a conversation with fixed context.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.validation import text_problem
from benchmarks.files import (
    InputFileError,
    Record,
    check_file,
    iter_jsonl,
    read_text,
    require_text,
)
from benchmarks.models import BenchmarkKind, Prompt, PromptShape
from inference.models import GenerationRun
from judging.judges_text import imported_label
from judging.models import BUILT_IN_JUDGE, Judge, JudgeKind, JudgeRun, Verdict, VerdictLabel
from judging.selectors import judge_find
from judging.services import JudgeSaveError, judge_save, judge_snapshot
from runs.models import RunStatus

if TYPE_CHECKING:
    from inspect_ai.log import EvalSample

# progress(done, total): verdicts written so far of all the file holds.
Progress = Callable[[int, int], None]
# Verdicts per INSERT, and how often progress is told.
BATCH_SIZE = 2000

JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
# inspect writes .eval (a zip) by default and .json with --log-format json; a .json file may
# also be JSON Lines, which its first line tells.
LOG_SUFFIX = ".eval"
JSON_SUFFIX = ".json"

# inspect_evals' CoCoNot task: its name, its subsets and the kind of benchmark each is.
COCONOT_TASK = "coconot"
SUBSET_KINDS = {"original": BenchmarkKind.NONCOMPLIANCE, "contrast": BenchmarkKind.CONTRAST}

LABELS_ACCEPTED = (
    "complied, not_complied or neither (unparseable or error where the judge failed), or "
    "CoCoNot's ACCEPTABLE, UNACCEPTABLE or NEITHER"
)


@dataclass(frozen=True)
class VerdictRow:
    where: str  # "line 3", "sample 3"
    external_id: str
    label: str  # canonical (VerdictLabel)
    # The user turn whose answer was judged, from 1; None: the prompt's last turn.
    turn: int | None = None
    score: float | None = None
    raw_output: str = ""
    rationale: str = ""
    # The response the other tool judged, where the file holds it (an inspect log does).
    response_text: str | None = None


@dataclass(frozen=True)
class VerdictFile:
    rows: list[VerdictRow]
    # What the judge run records about where its verdicts came from.
    source: dict[str, Any]
    # What a judge made for this file says about itself.
    description: str


@dataclass(frozen=True)
class VerdictImportReport:
    judge_run: JudgeRun
    new_judge: bool
    imported: int
    responses: int  # of the generation run: more than ``imported`` when the file left some out
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def judge(self) -> Judge:
        return self.judge_run.judge


def verdicts_import(
    *,
    run: GenerationRun,
    judge_name: str,
    path: Path,
    created_by: User | None = None,
    progress: Progress | None = None,
) -> VerdictImportReport:
    """A finished judge run of ``judge_name`` on ``run`` from a file of verdicts.

    The judge is the newest version of that name (``NAME@N``: version N) when one exists, else a
    new judge of kind ``imported``, which Demur cannot run. A version that already has verdicts
    on this run is refused: reports read the newest judge run of each version, so a second one
    would silently replace the first. Anything refused raises ``InputFileError`` with one
    sentence, and nothing is written.

    ``progress(done, total)`` is told the verdicts written, every ``BATCH_SIZE`` of them, once
    the file has been read and checked (the shorter part of the work). It is called inside the
    import's transaction: what it writes through Django's connection is seen by others only
    after the commit.
    """
    if run.status != RunStatus.DONE:
        raise InputFileError(f"Run {run.pk} is {run.status}; import verdicts once it is done.")
    judge_name = judge_name.strip()
    storable(judge_name, "The judge's name", "")
    longest = Judge._meta.get_field("name").max_length or 200
    if len(judge_name) > longest:
        raise InputFileError(f"The judge's name is longer than {longest} characters.")
    benchmark = run.benchmark
    read = read_verdict_file(path, benchmark_kind=benchmark.kind)
    response_ids, run_responses = response_ids_for(run=run, rows=read.rows)
    total = len(read.rows)
    now = timezone.now()
    with transaction.atomic():
        judge, new_judge = judge_for_import(name=judge_name, description=read.description)
        refuse_if_judged(judge=judge, run=run)
        judge_run = JudgeRun.objects.create(
            judge=judge,
            run=run,
            judge_snapshot={**judge_snapshot(judge), "imported_from": read.source},
            total=total,
            status=RunStatus.DONE,
            created_by=created_by,
            started_at=now,
            finished_at=now,
        )
        if progress is not None:
            progress(0, total)
        for start in range(0, total, BATCH_SIZE):
            batch = read.rows[start : start + BATCH_SIZE]
            Verdict.objects.bulk_create(
                Verdict(
                    judge_run=judge_run,
                    response_id=response_id,
                    label=row.label,
                    score=row.score,
                    rationale=row.rationale,
                    raw_output=row.raw_output,
                )
                for row, response_id in zip(
                    batch, response_ids[start : start + BATCH_SIZE], strict=True
                )
            )
            if progress is not None:
                progress(start + len(batch), total)
    return VerdictImportReport(
        judge_run=judge_run,
        new_judge=new_judge,
        imported=total,
        responses=run_responses,
        counts=dict(Counter(row.label for row in read.rows)),
    )


def read_verdict_file(path: Path, *, benchmark_kind: str) -> VerdictFile:
    """The verdicts of a JSON Lines file or an inspect log, chosen by the file's extension (and,
    for .json, by its first line)."""
    suffix = path.suffix.lower()
    max_bytes = django_settings.DEMUR_IMPORT_MAX_BYTES
    if suffix in JSONL_SUFFIXES:
        return read_jsonl_verdicts(path, read_text(path, max_bytes=max_bytes), benchmark_kind)
    if suffix == JSON_SUFFIX:
        text = read_text(path, max_bytes=max_bytes)
        if not looks_like_one_json_document(text):
            return read_jsonl_verdicts(path, text, benchmark_kind)
        return read_inspect_log(path, benchmark_kind=benchmark_kind)
    if suffix == LOG_SUFFIX:
        check_file(path, max_bytes=max_bytes)  # a log is a zip: no text checks
        return read_inspect_log(path, benchmark_kind=benchmark_kind)
    raise InputFileError(
        f"Cannot tell the format of {path.name}: name it .jsonl (JSON Lines of verdicts), or "
        ".eval or .json (an inspect log)."
    )


def looks_like_one_json_document(text: str) -> bool:
    """inspect writes a JSON log as one indented object, ``{`` alone on its first line (or, on
    one line, an object with ``eval`` and ``samples``); a JSON Lines file's first line is a whole
    verdict, and one that is not JSON is that file's first fault to report."""
    first = next((line for line in text.splitlines() if line.strip()), "").strip()
    if first == "{":
        return True
    try:
        value = json.loads(first)
    except ValueError:
        return False
    return isinstance(value, dict) and {"eval", "samples"} <= value.keys()


# --- JSON Lines -------------------------------------------------------------------------------


def read_jsonl_verdicts(path: Path, text: str, benchmark_kind: str) -> VerdictFile:
    records = list(iter_jsonl(text, path=path))
    rows = [verdict_row_from_record(record, benchmark_kind=benchmark_kind) for record in records]
    if not rows:
        raise InputFileError(f"{path.name} holds no verdicts.")
    # Two rows for one response are refused once each row's turn is known (response_ids_for).
    return VerdictFile(
        rows=rows,
        source={"file": path.name, "format": "jsonl"},
        description=f"Verdicts made by another tool, imported from {path.name}.",
    )


def verdict_row_from_record(record: Record, *, benchmark_kind: str) -> VerdictRow:
    external_id = require_text(record, "id").strip()
    written = require_text(record, "label")
    label = imported_label(written, benchmark_kind=benchmark_kind)
    if label is None:
        raise InputFileError(
            f"Field 'label' on {record.where} is {shortened(written)!r}; use {LABELS_ACCEPTED}."
        )
    return VerdictRow(
        where=record.where,
        external_id=external_id,
        label=label,
        turn=turn_from_record(record),
        score=score_from_record(record),
        raw_output=raw_output_from_record(record),
    )


def turn_from_record(record: Record) -> int | None:
    """Which of the prompt's user turns the judged answer answers, from 1; None when the row does
    not say (the prompt's last turn)."""
    value = record.fields.get("turn")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputFileError(
            f"Field 'turn' on {record.where} must be a whole number from 1 (the user turn whose "
            f"answer was judged), not {shortened(json.dumps(value))}."
        )
    return value


def score_from_record(record: Record) -> float | None:
    """The judge's probability that the model did not comply, as ``Verdict.score`` holds it."""
    value = record.fields.get("score")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InputFileError(
            f"Field 'score' on {record.where} must be a number from 0 to 1 (the judge's "
            f"probability that the model did not comply), not {shortened(json.dumps(value))}."
        )
    return float(value)


def raw_output_from_record(record: Record) -> str:
    value = record.fields.get("raw_output")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputFileError(
            f"Field 'raw_output' on {record.where} must be text, not {type(value).__name__}."
        )
    return value


def shortened(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- inspect logs -----------------------------------------------------------------------------


def read_inspect_log(path: Path, *, benchmark_kind: str) -> VerdictFile:
    """The verdicts of an inspect_evals CoCoNot log: each sample's id is the prompt's id (CoCoNot's
    own, as Demur imports the benchmark), and its grader's class is the label; a sample the grader
    gave no class is ``unparseable``, one that failed in inspect ``error``. The log must hold the
    subset of the run's benchmark kind and the responses of the run."""
    # inspect-ai takes over a second to import: only when a log comes.
    from inspect_ai.log import read_eval_log

    try:
        log = read_eval_log(str(path))
    except Exception as error:  # a zip, JSON or schema fault, whichever inspect-ai raises
        raise InputFileError(
            f"{path.name} cannot be read as an inspect log ({type(error).__name__})."
        ) from None
    task = log.eval.task
    if task.rsplit("/", 1)[-1] != COCONOT_TASK:
        raise InputFileError(
            f"{path.name} is a log of the inspect task '{shortened(task)}', not of "
            "inspect_evals' CoCoNot task (inspect_evals/coconot)."
        )
    if log.status == "started":
        raise InputFileError(f"{path.name} is the log of an evaluation still running.")
    subset = str(log.eval.task_args.get("subset", "original"))
    if SUBSET_KINDS.get(subset) != benchmark_kind:
        raise InputFileError(
            f"{path.name} holds CoCoNot's '{shortened(subset)}' subset, which is not a "
            f"{benchmark_kind} benchmark like the run's."
        )
    samples = log.samples or []
    if not samples:
        raise InputFileError(f"{path.name} holds no samples.")
    scorer = the_scorer(path, samples)
    rows = [
        verdict_row_from_sample(sample, f"sample {number}", scorer, benchmark_kind)
        for number, sample in enumerate(samples, start=1)
    ]
    check_one_epoch(rows, samples)
    grader = log.eval.task_args.get("grader", "")
    source = {
        "file": path.name,
        "format": "inspect_log",
        "task": task,
        "subset": subset,
        "model": log.eval.model,
        "grader": str(grader),
        "scorer": scorer,
    }
    for key, value in source.items():
        storable(value, f"The log's {key}", "")
    return VerdictFile(
        rows=rows,
        source=source,
        description=(
            f"inspect_evals CoCoNot ({subset}), grader {grader}, scorer {scorer}: verdicts "
            f"imported from {path.name}."
        ),
    )


def the_scorer(path: Path, samples: Sequence[EvalSample]) -> str:
    """The one scorer whose scores are the verdicts: the task scores with one model_graded_qa
    per grader, and a judge is one grader."""
    names = sorted({name for sample in samples for name in sample.scores or {}})
    if not names:
        raise InputFileError(f"{path.name} holds no scores: the evaluation scored no sample.")
    if len(names) > 1:
        raise InputFileError(
            f"{path.name} holds the scores of {len(names)} graders "
            f"({shortened(', '.join(names), 80)}); Demur imports one judge at a time, from a log "
            "of one grader."
        )
    return names[0]


def verdict_row_from_sample(
    sample: EvalSample, where: str, scorer: str, benchmark_kind: str
) -> VerdictRow:
    external_id = str(sample.id).strip()
    storable(external_id, "The id", where)
    score = (sample.scores or {}).get(scorer)
    if sample.error is not None or score is None:
        reason = sample.error.message if sample.error is not None else f"no score from {scorer}"
        rationale = f"The sample was not scored in inspect: {reason}"
        storable(rationale, "The sample's error", where)
        return VerdictRow(
            where=where, external_id=external_id, label=VerdictLabel.ERROR, rationale=rationale
        )
    raw_output = score.explanation or ""
    storable(raw_output, "The grader's explanation", where)
    label = (
        imported_label(score.value, benchmark_kind=benchmark_kind)
        if isinstance(score.value, str)
        else None
    )
    rationale = ""
    if label is None:
        label = VerdictLabel.UNPARSEABLE
        rationale = f"The grader gave no class ({scorer}: {unscored(score.value, score.reason)})."
        storable(rationale, "The grader's value", where)
    completion = sample.output.completion if sample.output is not None else ""
    storable(completion, "The response", where)
    return VerdictRow(
        where=where,
        external_id=external_id,
        label=label,
        raw_output=raw_output,
        rationale=rationale,
        response_text=completion,
    )


def unscored(value: object, reason: object) -> str:
    if isinstance(value, float) and math.isnan(value):
        return f"unscored, {reason}" if reason else "unscored"
    return shortened(str(value))


def check_one_epoch(rows: Sequence[VerdictRow], samples: Sequence[EvalSample]) -> None:
    """A log of several epochs holds each prompt once per epoch; a response has one verdict."""
    first_seen: dict[str, int] = {}
    for row, sample in zip(rows, samples, strict=True):
        if row.external_id in first_seen:
            raise InputFileError(
                f"The id '{shortened(row.external_id)}' appears twice in the log, in epochs "
                f"{first_seen[row.external_id]} and {sample.epoch}; import a log of one epoch."
            )
        first_seen[row.external_id] = sample.epoch


def storable(text: str, what: str, where: str) -> None:
    problem = text_problem(text)
    if problem:
        place = f" on {where}" if where else ""
        raise InputFileError(f"{what}{place} {problem}.")


# --- the database side ------------------------------------------------------------------------


def response_ids_for(*, run: GenerationRun, rows: Sequence[VerdictRow]) -> tuple[list[int], int]:
    """The response of the run each row names (its id's prompt, at its turn), in the rows'
    order, and how many responses the run has; or the sentence for the first row that names
    none or names one an earlier row named, and, where the file holds the response it judged,
    for the first whose response is not the run's."""
    with_text = any(row.response_text is not None for row in rows)
    fields = ("prompt__external_id", "turn", "pk", "text")[: 4 if with_text else 3]
    responses = {(found[0], found[1]): found[2:] for found in run.responses.values_list(*fields)}
    answered = {external_id for external_id, _ in responses}
    conversations = conversations_of(run, answered)
    ids: list[int] = []
    first_row: dict[int, VerdictRow] = {}
    other: list[VerdictRow] = []
    for row in rows:
        if row.external_id not in answered:
            raise InputFileError(unknown_id_sentence(run, row))
        turn = answered_turn(row, conversations.get(row.external_id))
        found = responses.get((row.external_id, turn))
        if found is None:
            raise InputFileError(missing_turn_sentence(run, row, turn))
        response_id = int(found[0])
        if response_id in first_row:
            raise InputFileError(twice_sentence(first_row[response_id], row, turn))
        first_row[response_id] = row
        ids.append(response_id)
        if row.response_text is not None and row.response_text.strip() != str(found[1]).strip():
            other.append(row)
    if other:
        raise InputFileError(
            f"The response on {other[0].where} (id '{shortened(other[0].external_id)}') is not "
            f"run {run.pk}'s response to that prompt, nor are {len(other) - 1} others: import "
            "the log's responses as a run (import_responses) and its verdicts into that run."
        )
    return ids, len(responses)


def conversations_of(run: GenerationRun, external_ids: set[str]) -> dict[str, Prompt]:
    """The prompts among ``external_ids`` that are conversations, by id: only they have turns
    other than 1 (a benchmark of single prompts costs one query that finds nothing)."""
    prompts = (
        run.benchmark.prompts.filter(external_id__in=external_ids)
        .exclude(messages=[], user_turns=[])
        .only("external_id", "messages", "user_turns")
    )
    return {prompt.external_id: prompt for prompt in prompts}


def answered_turn(row: VerdictRow, conversation: Prompt | None) -> int:
    """The turn a row's verdict is for: its own, or the prompt's last; refused when the prompt
    has no answer at that turn (a conversation with fixed context is answered at its last)."""
    last = conversation.last_turn if conversation is not None else 1
    if row.turn is None or row.turn == last:
        return last
    if conversation is None:
        shape = "a single prompt, answered once, at turn 1"
    elif conversation.shape == PromptShape.SCRIPTED:
        if row.turn < last:
            return row.turn
        shape = f"a scripted conversation of {last} user turns (turns 1 to {last})"
    else:
        shape = f"a conversation answered only at its last user turn, turn {last}"
    raise InputFileError(
        f"Field 'turn' on {row.where} is {row.turn}, but '{shortened(row.external_id)}' is {shape}."
    )


def missing_turn_sentence(run: GenerationRun, row: VerdictRow, turn: int) -> str:
    which = f"turn {turn}" if row.turn is not None else f"its last turn, {turn}"
    return (
        f"The id '{shortened(row.external_id)}' on {row.where} is for {which}, which run "
        f"{run.pk} has no response to."
    )


def twice_sentence(first: VerdictRow, row: VerdictRow, turn: int) -> str:
    identifier = shortened(row.external_id)
    if first.turn is None and row.turn is None:
        return (
            f"The id '{identifier}' appears twice, on {first.where} and on {row.where}; ids "
            "must be unique within a file."
        )
    return (
        f"The id '{identifier}' is for turn {turn} twice, on {first.where} and on {row.where} "
        "(a row without 'turn' is for the prompt's last turn); each answer takes one verdict."
    )


def unknown_id_sentence(run: GenerationRun, row: VerdictRow) -> str:
    benchmark = run.benchmark
    identifier = shortened(row.external_id)
    if benchmark.prompts.filter(external_id=row.external_id).exists():
        return (
            f"The id '{identifier}' on {row.where} is a prompt of benchmark '{benchmark.slug}' "
            f"that run {run.pk} has no response to."
        )
    return f"The id '{identifier}' on {row.where} is not a prompt of benchmark '{benchmark.slug}'."


def judge_for_import(*, name: str, description: str) -> tuple[Judge, bool]:
    """The judge the verdicts go to, and whether it was made for them: the newest version of
    ``name`` (or the ``NAME@N`` asked for), else a new imported judge."""
    judge = judge_find(name)
    if judge is not None:
        if judge.name == BUILT_IN_JUDGE:
            raise InputFileError(
                f"'{BUILT_IN_JUDGE}' is the built-in keyword judge, which Demur runs itself; "
                "import these verdicts under another judge name."
            )
        return judge, False
    try:
        return judge_save(name=name, kind=JudgeKind.IMPORTED, description=description), True
    except JudgeSaveError as error:
        raise InputFileError(str(error)) from None


def refuse_if_judged(*, judge: Judge, run: GenerationRun) -> None:
    """One set of verdicts per judge version and run: the reports read the newest judge run of
    each version, so a second one would silently replace the first."""
    Judge.objects.select_for_update().filter(pk=judge.pk).first()  # one import at a time
    earlier = JudgeRun.objects.filter(judge=judge, run=run).order_by("-pk")
    for judge_run in earlier.annotate(verdict_count=Count("verdicts")):
        if judge_run.verdict_count:
            raise InputFileError(
                f"{judge.label} already has {judge_run.verdict_count} verdicts on run {run.pk} "
                f"(judge run {judge_run.pk}); import these under another judge name."
            )
        if not judge_run.is_finished:
            raise InputFileError(
                f"{judge.label} is judging run {run.pk} now (judge run {judge_run.pk}); cancel "
                "it or import these verdicts under another judge name."
            )
