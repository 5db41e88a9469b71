"""Checks: items of a campaign with a known answer, served among the others and scored, never
counted in figures or gold (``CheckKind``). Here a researcher adds them, from three places, and
sets the rules quality control works by:

- gold questions from another campaign's gold labels (``checks_from_gold``);
- attention checks on the campaign's own responses, each telling the annotator what to answer
  (``checks_attention``; the labeling screen shows ``Campaign.attention_text``, filled in by
  ``attention_text_filled``);
- gold questions written by hand, prompt, response and answer, from JSON Lines
  (``checks_written``);
- the quality-control settings (``quality_settings_set``).

Each call adds all it was asked or nothing: bad input is one CheckError sentence before
anything is written. A check item never takes a slot (``slots_left`` 0): serving hands checks
to every annotator by its own rule, so they never hold back or fill up the regular items.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from accounts.validation import MAX_JSON_DEPTH, json_depth, strings_in, text_problem
from annotate.models import (
    AssignmentStatus,
    Campaign,
    CheckKind,
    GoldLabel,
    GoldSource,
    Item,
)
from annotate.schemes import scheme_values
from annotate.services.errors import CheckError
from benchmarks.models import Benchmark, Prompt
from inference.models import GenerationRun, Response
from runs.models import RunStatus

# The most checks one call adds, and the most lines one upload of hand-written checks holds:
# checks are a small share of a campaign, and a mistyped count should not add a million.
MAX_CHECKS_AT_ONCE = 5000

# The model name of the run that holds a campaign's hand-written responses, and the key of its
# ``model_snapshot`` that says which campaign's it is (one such run per campaign, reused).
WRITTEN_MODEL_NAME = "Hand-written checks"
WRITTEN_RUN_KEY = "checks_for_campaign"
# The ``metadata`` key of a prompt made for a hand-written check: the campaign it was made for,
# so that such prompts can be told apart from the benchmark's own.
WRITTEN_PROMPT_KEY = "hand_written_check_for_campaign"

ATTENTION_SOURCE = "attention check"
ATTENTION_PLACEHOLDERS = ("label", "key")


@dataclass(frozen=True)
class ChecksAdded:
    """What one call added: ``added`` checks of ``kind``; ``skipped`` candidates left out
    because their response (or for hand-written checks, the same prompt, response and answer)
    is already a check of the campaign."""

    kind: str
    added: int
    skipped: int = 0

    @property
    def sentence(self) -> str:
        noun = CheckKind(self.kind).label.lower()
        text = f"Added {self.added} {noun}{'s' if self.added != 1 else ''}."
        if self.skipped:
            were = "was" if self.skipped == 1 else "were"
            already = "already a check" if self.skipped == 1 else "already checks"
            text += f" {self.skipped} {were} left out: {already} of this campaign."
        return text


# --- Gold questions from another campaign ------------------------------------------------------


def checks_from_gold(
    *,
    campaign: Campaign,
    source_campaign: Campaign,
    count: int,
    adjudicated_only: bool = False,
    seed: int = 0,
) -> ChecksAdded:
    """Up to ``count`` gold questions drawn at random (repeatably, by ``seed``) from the gold
    labels of ``source_campaign``'s regular items: each asks about the same response, with its
    gold label as the answer. Responses already a check of ``campaign`` are left out before the
    draw, so asking again adds new ones."""
    _refuse_pairwise(campaign)
    if source_campaign.pk == campaign.pk:
        raise CheckError(
            "A campaign cannot take its own gold labels as checks (its annotators labelled "
            "those items already): choose another campaign.",
            field="source",
        )
    _refuse_pairwise(source_campaign, field="source")
    _check_count(count)
    ours, theirs = scheme_values(campaign.label_scheme), scheme_values(source_campaign.label_scheme)
    if sorted(ours) != sorted(theirs):
        raise CheckError(
            f"Campaign '{source_campaign.name}' labels with {', '.join(theirs)} and this one "
            f"with {', '.join(ours)}, so its gold labels cannot be answers here.",
            field="source",
        )
    golds = GoldLabel.objects.filter(
        item__campaign=source_campaign, item__check_kind=CheckKind.NONE
    )
    if adjudicated_only:
        golds = golds.filter(source=GoldSource.ADJUDICATED)
    pool = list(
        golds.order_by("item_id").values_list("item_id", "item__response_id", "value", "source")
    )
    which = "gold labels set by a researcher" if adjudicated_only else "gold labels"
    if not pool:
        raise CheckError(
            f"Campaign '{source_campaign.name}' has no {which} yet, so there is nothing to "
            "take as checks.",
            field="source",
        )
    sources = dict(GoldSource.choices)
    with transaction.atomic():
        _lock(campaign)
        taken = _check_responses(campaign)
        fresh = [row for row in pool if row[1] not in taken]
        if not fresh:
            raise CheckError(
                f"All {len(pool)} {which} of campaign '{source_campaign.name}' are already "
                "checks of this campaign; nothing was added.",
                field="source",
            )
        drawn = _draw(fresh, count=count, seed=seed, purpose="gold")
        Item.objects.bulk_create(
            _check_item(
                campaign,
                response_id=response_id,
                kind=CheckKind.GOLD,
                answer=value,
                source=f"gold of item {item_id} in campaign '{source_campaign.name}' "
                f"({sources.get(gold_source, gold_source).lower()})",
            )
            for item_id, response_id, value, gold_source in drawn
        )
    return ChecksAdded(CheckKind.GOLD, len(drawn), skipped=len(pool) - len(fresh))


# --- Attention checks ---------------------------------------------------------------------------


def checks_attention(*, campaign: Campaign, count: int, seed: int = 0) -> ChecksAdded:
    """Up to ``count`` attention checks on responses of the campaign's own items, drawn at
    random, each with a label of the scheme drawn at random as its answer: the labeling screen
    tells the annotator to give it (``Campaign.attention_text``), so a wrong answer means they
    did not read. Responses already a check of the campaign are left out."""
    _refuse_pairwise(campaign)
    _check_count(count)
    values = scheme_values(campaign.label_scheme)
    with transaction.atomic():
        _lock(campaign)
        responses = sorted(
            set(
                Item.objects.filter(campaign=campaign, check_kind=CheckKind.NONE).values_list(
                    "response_id", flat=True
                )
            )
        )
        if not responses:
            raise CheckError(
                "This campaign has no items, so there is no response to make attention checks of.",
                field="count",
            )
        taken = _check_responses(campaign)
        fresh = [response_id for response_id in responses if response_id not in taken]
        if not fresh:
            raise CheckError(
                f"All {len(responses)} responses of this campaign are already checks; nothing "
                "was added.",
                field="count",
            )
        drawn = _draw(fresh, count=count, seed=seed, purpose="attention")
        # Answers from a generator of their own, so that they do not depend on which
        # responses were drawn.
        answers = random.Random(f"checks-attention-answers:{seed}")
        Item.objects.bulk_create(
            _check_item(
                campaign,
                response_id=response_id,
                kind=CheckKind.ATTENTION,
                answer=answers.choice(values),
                source=ATTENTION_SOURCE,
            )
            for response_id in drawn
        )
    return ChecksAdded(CheckKind.ATTENTION, len(drawn), skipped=len(responses) - len(fresh))


def attention_text_filled(*, campaign: Campaign, answer: str) -> str:
    """The campaign's attention text with ``{label}`` and ``{key}`` naming ``answer``: what an
    attention check shows the annotator."""
    choice = next(
        (c for c in campaign.label_scheme.get("choices", []) if c.get("value") == answer),
        {"label": answer, "key": ""},
    )
    label, key = str(choice.get("label") or answer), str(choice.get("key") or "")
    try:
        return campaign.attention_text.format(label=label, key=key)
    except (IndexError, KeyError, ValueError):
        # A text stored some other way than quality_settings_set (the admin): fill in what can
        # be, and show the rest as written.
        return campaign.attention_text.replace("{label}", label).replace("{key}", key)


# --- Hand-written gold questions ---------------------------------------------------------------

WRITTEN_FIELDS = ("prompt", "response", "answer", "category", "subcategory")
WRITTEN_EXAMPLE = '{"prompt": "...", "response": "...", "answer": "..."}'
# Prompt.category and Prompt.subcategory hold this many characters.
NAME_LENGTH = 200
JSON_TYPES = {
    "list": "array",
    "str": "string",
    "int": "number",
    "float": "number",
    "bool": "true or false",
    "NoneType": "null",
}


@dataclass(frozen=True)
class WrittenCheck:
    """One line of hand-written checks, read and checked."""

    line: int
    prompt: str
    response: str
    answer: str
    category: str = ""
    subcategory: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What makes two hand-written checks the same question."""
        return (self.prompt, self.category, self.subcategory, self.response)


def written_checks_read(text: str, *, values: Sequence[str]) -> list[WrittenCheck]:
    """Every non-blank line of ``text`` as a hand-written check whose answer is one of
    ``values``, or one CheckError sentence naming the first bad line and field."""
    rows: list[WrittenCheck] = []
    # Lines end at \n (and \r\n); str.splitlines would also split inside a JSON string at a
    # raw U+2028, which JSON allows there.
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if line.strip():
            rows.append(_written_check(line, number, values))
        if len(rows) > MAX_CHECKS_AT_ONCE:
            raise CheckError(
                f"More than {MAX_CHECKS_AT_ONCE} checks at once: split them over several uploads."
            )
    if not rows:
        raise CheckError(f"No checks given: write one per line, {WRITTEN_EXAMPLE}.")
    return rows


def _written_check(line: str, number: int, values: Sequence[str]) -> WrittenCheck:
    where = f"Line {number}"
    if json_depth(line) > MAX_JSON_DEPTH:
        raise CheckError(f"{where} is JSON nested deeper than {MAX_JSON_DEPTH} levels.")
    try:
        record = json.loads(line, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise CheckError(
            f"{where} is not valid JSON: {error.msg} (column {error.colno})."
        ) from None
    except ValueError as error:  # NaN or Infinity
        raise CheckError(f"{where} holds {error}.") from None
    if not isinstance(record, dict):
        raise CheckError(
            f"{where} is a JSON {_json_type(record)}, not an object: write {WRITTEN_EXAMPLE}."
        )
    unknown = [name for name in record if name not in WRITTEN_FIELDS]
    if unknown:
        raise CheckError(
            f"{where} has the field {unknown[0]!r}, which is not one of "
            f"{', '.join(WRITTEN_FIELDS)}."
        )
    for path, value in strings_in(record, ""):
        problem = text_problem(value)
        if problem:
            raise CheckError(f"{where}: the field '{path}' {problem}.")
    prompt = _required_text(record, "prompt", where)
    response = _required_text(record, "response", where)
    answer = _required_text(record, "answer", where)
    if answer not in values:
        raise CheckError(
            f"{where}: the answer {answer!r} is not a label of this campaign ({', '.join(values)})."
        )
    return WrittenCheck(
        line=number,
        prompt=prompt,
        response=response,
        answer=answer,
        category=_optional_name(record, "category", where),
        subcategory=_optional_name(record, "subcategory", where),
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name}, which is not a JSON value")


def _json_type(value: Any) -> str:
    return JSON_TYPES.get(type(value).__name__, type(value).__name__)


def _required_text(record: dict[str, Any], field: str, where: str) -> str:
    value = record.get(field)
    if value is None:
        raise CheckError(f'{where}: "{field}" is missing.')
    if not isinstance(value, str):
        raise CheckError(f'{where}: "{field}" must be text, not a JSON {_json_type(value)}.')
    if not value.strip():
        raise CheckError(f'{where}: "{field}" is empty.')
    return value


def _optional_name(record: dict[str, Any], field: str, where: str) -> str:
    value = record.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CheckError(f'{where}: "{field}" must be text, not a JSON {_json_type(value)}.')
    if len(value.strip()) > NAME_LENGTH:
        raise CheckError(f'{where}: "{field}" is longer than {NAME_LENGTH} characters.')
    return value.strip()


def checks_written(
    *, campaign: Campaign, jsonl: str, created_by: User | None = None
) -> ChecksAdded:
    """Gold questions written by hand, one JSON object per line: ``{"prompt", "response",
    "answer", "category" (optional), "subcategory" (optional)}``, the answer a value of the
    campaign's scheme. Every line is checked before anything is written. The responses go in
    one imported run per campaign (``WRITTEN_MODEL_NAME``, over the benchmark of the campaign's
    first run), reused by later uploads; their prompts are that benchmark's prompt with the
    same text, category and subcategory where there is one, else new prompts of it. A line
    that repeats a check already there (same prompt, category, subcategory, response and
    answer) is left out, and when every line does, nothing is added; the same with another
    answer is refused."""
    _refuse_pairwise(campaign)
    rows = written_checks_read(jsonl, values=scheme_values(campaign.label_scheme))
    source = f"hand-written by {created_by.username}" if created_by else "hand-written"
    with transaction.atomic():
        _lock(campaign)
        run = _written_run(campaign, created_by=created_by)
        fresh = _new_written_checks(campaign, run=run, rows=rows)
        if not fresh:
            raise CheckError(
                f"All {len(rows)} questions given are already checks of this campaign; nothing "
                "was added."
            )
        prompts = _WrittenPrompts(campaign, run=run)
        for row in fresh:
            response = Response.objects.create(
                run=run, prompt=prompts.for_check(row), text=row.response
            )
            _check_item(
                campaign,
                response_id=response.pk,
                kind=CheckKind.GOLD,
                answer=row.answer,
                source=source,
            ).save()
        run.total = run.responses.count()
        run.save(update_fields=["total"])
    return ChecksAdded(CheckKind.GOLD, len(fresh), skipped=len(rows) - len(fresh))


def written_run(campaign: Campaign) -> GenerationRun | None:
    """The run that holds the campaign's hand-written responses, once there is one."""
    return (
        GenerationRun.objects.filter(
            imported=True, **{f"model_snapshot__{WRITTEN_RUN_KEY}": campaign.pk}
        )
        .order_by("pk")
        .first()
    )


def _written_run(campaign: Campaign, *, created_by: User | None) -> GenerationRun:
    run = written_run(campaign)
    if run is not None:
        return run
    first = campaign.runs.select_related("benchmark").order_by("pk").first()
    if first is None:
        raise CheckError(
            "This campaign has no generation run, so hand-written checks have no benchmark "
            "to go in."
        )
    now = timezone.now()
    return GenerationRun.objects.create(
        model_name=WRITTEN_MODEL_NAME,
        model_snapshot={
            WRITTEN_RUN_KEY: campaign.pk,
            "imported_from": f"hand-written checks of campaign {campaign.pk}",
        },
        benchmark=first.benchmark,
        imported=True,
        status=RunStatus.DONE,
        total=0,
        created_by=created_by,
        started_at=now,
        finished_at=now,
    )


def _new_written_checks(
    campaign: Campaign, *, run: GenerationRun, rows: list[WrittenCheck]
) -> list[WrittenCheck]:
    """The rows that are not checks of the campaign yet; one that is, with another answer, is
    refused (one question cannot have two right answers)."""
    known: dict[tuple[str, str, str, str], tuple[str, str]] = {
        (prompt, category, subcategory, response): (answer, "an earlier upload")
        for prompt, category, subcategory, response, answer in Item.objects.filter(
            campaign=campaign, check_kind=CheckKind.GOLD, response__run=run
        ).values_list(
            "response__prompt__text",
            "response__prompt__category",
            "response__prompt__subcategory",
            "response__text",
            "check_answer",
        )
    }
    fresh: list[WrittenCheck] = []
    for row in rows:
        if row.key not in known:
            known[row.key] = (row.answer, f"line {row.line}")
            fresh.append(row)
            continue
        answer, where = known[row.key]
        if answer != row.answer:
            raise CheckError(
                f"Line {row.line}: the same prompt and response are a check on {where} with "
                f"the answer {answer!r}, not {row.answer!r}; one question has one right answer."
            )
    return fresh


class _WrittenPrompts:
    """The prompt of each hand-written check: the benchmark's prompt with the same text,
    category and subcategory when there is one that the checks' run has not answered yet (a run
    answers a prompt once), else a new prompt of the benchmark."""

    def __init__(self, campaign: Campaign, *, run: GenerationRun) -> None:
        self.campaign = campaign
        self.benchmark: Benchmark = run.benchmark
        self.answered = set(run.responses.values_list("prompt_id", flat=True))

    def for_check(self, row: WrittenCheck) -> Prompt:
        same = Prompt.objects.filter(
            benchmark=self.benchmark,
            text=row.prompt,
            category=row.category,
            subcategory=row.subcategory,
        ).exclude(pk__in=self.answered)
        prompt = same.order_by("pk").first() or self._new_prompt(row)
        self.answered.add(prompt.pk)
        return prompt

    def _new_prompt(self, row: WrittenCheck) -> Prompt:
        # An id from the campaign and what the prompt says, numbered when the same prompt
        # needs another copy (a second response to it): unique within the benchmark, and made
        # only under the campaign's lock, so two uploads at once cannot both take it.
        digest = hashlib.sha256(
            "\x00".join((row.category, row.subcategory, row.prompt)).encode()
        ).hexdigest()[:16]
        base = f"check-{self.campaign.pk}-{digest}"
        taken = set(
            Prompt.objects.filter(
                benchmark=self.benchmark, external_id__startswith=base
            ).values_list("external_id", flat=True)
        )
        external_id = base
        number = 1
        while external_id in taken:
            number += 1
            external_id = f"{base}-{number}"
        return Prompt.objects.create(
            benchmark=self.benchmark,
            external_id=external_id,
            category=row.category,
            subcategory=row.subcategory,
            text=row.prompt,
            metadata={WRITTEN_PROMPT_KEY: self.campaign.pk},
            written_for_check=True,
        )


# --- What they share -----------------------------------------------------------------------------


def _refuse_pairwise(campaign: Campaign, *, field: str | None = None) -> None:
    if campaign.is_pairwise:
        raise CheckError(
            f"Campaign '{campaign.name}' compares two responses side by side; checks are for "
            "campaigns that label one response at a time.",
            field=field,
        )


def _check_count(count: Any) -> None:
    if (
        isinstance(count, bool)
        or not isinstance(count, int)
        or not 1 <= count <= MAX_CHECKS_AT_ONCE
    ):
        raise CheckError(
            f"Count must be a whole number from 1 to {MAX_CHECKS_AT_ONCE}, not {count!r}.",
            field="count",
        )


def _lock(campaign: Campaign) -> None:
    """Checks are added one call at a time per campaign, so that two at once cannot both take
    the same response. FOR NO KEY UPDATE: labels and standings written meanwhile (which take a
    key-share lock on the campaign) do not wait for it."""
    Campaign.objects.select_for_update(no_key=True).filter(pk=campaign.pk).first()


def _check_responses(campaign: Campaign) -> set[int]:
    """The responses that are already a check of the campaign."""
    return set(
        Item.objects.filter(campaign=campaign)
        .exclude(check_kind=CheckKind.NONE)
        .values_list("response_id", flat=True)
    )


Row = TypeVar("Row")


def _draw(rows: list[Row], *, count: int, seed: int, purpose: str) -> list[Row]:
    """``count`` of ``rows`` at random (all of them when there are no more), in their order;
    the same rows, count and seed draw the same."""
    if len(rows) <= count:
        return list(rows)
    chosen = set(random.Random(f"checks-{purpose}:{seed}").sample(range(len(rows)), count))
    return [row for index, row in enumerate(rows) if index in chosen]


def _check_item(
    campaign: Campaign, *, response_id: int, kind: str, answer: str, source: str
) -> Item:
    return Item(
        campaign=campaign,
        response_id=response_id,
        check_kind=kind,
        check_answer=answer,
        check_source=source[:300],
        slots_left=0,
        position=0,
        inclusion_probability=1.0,
    )


# --- Quality-control settings ----------------------------------------------------------------

QUALITY_SETTINGS = (
    "check_every",
    "attention_text",
    "min_seconds",
    "pause_below",
    "pause_after",
    "max_overlap",
)
MAX_CHECK_EVERY = 1000
MAX_MIN_SECONDS = 3600
MAX_PAUSE_AFTER = 1000
MAX_OVERLAP = 50  # as the overlap itself (campaign_create)
ATTENTION_TEXT_LENGTH = 300


def quality_settings_set(*, campaign: Campaign, **settings: Any) -> Campaign:
    """Change the quality-control settings given (any of ``QUALITY_SETTINGS``); the others
    stay. All are checked before any is saved."""
    unknown = [name for name in settings if name not in QUALITY_SETTINGS]
    if unknown:
        raise CheckError(
            f"{unknown[0]!r} is not a quality-control setting: use {', '.join(QUALITY_SETTINGS)}."
        )
    cleaners = {
        "check_every": _check_every,
        "attention_text": _attention_text,
        "min_seconds": _min_seconds,
        "pause_below": _pause_below,
        "pause_after": _pause_after,
        "max_overlap": lambda value: _max_overlap(value, overlap=campaign.overlap),
    }
    cleaned = {name: cleaners[name](value) for name, value in settings.items()}
    for name, value in cleaned.items():
        setattr(campaign, name, value)
    if cleaned:
        campaign.save(update_fields=list(cleaned))
    return campaign


def _whole(value: Any) -> int | None:
    """``value`` as an int when it is one (True is not a number here), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _check_every(value: Any) -> int | None:
    if value is None:
        return None
    number = _whole(value)
    if number is None or not 2 <= number <= MAX_CHECK_EVERY:
        raise CheckError(
            f"Check every must be a whole number from 2 (every other item a check) to "
            f"{MAX_CHECK_EVERY}, or empty for no checks, not {value!r}.",
            field="check_every",
        )
    return number


def _min_seconds(value: Any) -> int:
    number = _whole(value)
    if number is None or not 0 <= number <= MAX_MIN_SECONDS:
        raise CheckError(
            f"Minimum seconds must be a whole number from 0 (flag none) to {MAX_MIN_SECONDS}, "
            f"not {value!r}.",
            field="min_seconds",
        )
    return number


def _pause_below(value: Any) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= 1
    ):
        raise CheckError(
            "Pause below must be an accuracy from 0 to 1 (0.6: pause below 60% of checks "
            f"right), or empty to never pause, not {value!r}.",
            field="pause_below",
        )
    return float(value)


def _pause_after(value: Any) -> int:
    number = _whole(value)
    if number is None or not 1 <= number <= MAX_PAUSE_AFTER:
        raise CheckError(
            f"Pause after must be a whole number of checks from 1 to {MAX_PAUSE_AFTER}, "
            f"not {value!r}.",
            field="pause_after",
        )
    return number


def _max_overlap(value: Any, *, overlap: int) -> int | None:
    if value is None:
        return None
    number = _whole(value)
    if number is None or not 1 <= number <= MAX_OVERLAP:
        raise CheckError(
            f"Max overlap must be a whole number of annotators up to {MAX_OVERLAP}, or empty "
            f"for never more than the overlap, not {value!r}.",
            field="max_overlap",
        )
    if number < overlap:
        raise CheckError(
            f"Max overlap ({number}) is smaller than the campaign's overlap ({overlap}): every "
            f"item gets {overlap} annotators already; give {overlap} or more, or leave it empty.",
            field="max_overlap",
        )
    return number


def _attention_text(value: Any) -> str:
    field = "attention_text"
    if not isinstance(value, str) or not value.strip():
        raise CheckError(
            "Attention text is empty: say what to answer, with {label} or {key}.", field=field
        )
    text = value.strip()
    if len(text) > ATTENTION_TEXT_LENGTH:
        raise CheckError(
            f"Attention text is {len(text)} characters, over {ATTENTION_TEXT_LENGTH}.",
            field=field,
        )
    problem = text_problem(text)
    if problem:
        raise CheckError(f"Attention text {problem}.", field=field)
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        raise CheckError(
            "Attention text has a brace that opens or closes nothing: write {label} or {key}, "
            "and {{ or }} for a brace itself.",
            field=field,
        ) from None
    names = [(name, spec, conversion) for _, name, spec, conversion in parts if name is not None]
    for name, spec, conversion in names:
        if name not in ATTENTION_PLACEHOLDERS:
            raise CheckError(
                f"Attention text has {{{name}}}, which is filled in by nothing: only {{label}} "
                "and {key} are.",
                field=field,
            )
        if spec or conversion:
            raise CheckError(
                f"Attention text: write {{{name}}} as it is, without a format or conversion.",
                field=field,
            )
    if not names:
        raise CheckError(
            "Attention text must name the answer with {label} or {key}; otherwise annotators "
            "cannot tell what to answer.",
            field=field,
        )
    return text


# --- Reads for the checks page and the command ------------------------------------------------


def check_items(campaign: Campaign) -> QuerySet[Item]:
    """The campaign's checks, oldest first, each with ``answered`` (annotators who labelled it)
    and ``answered_right`` (of them, those whose label is its answer)."""
    done = Q(assignments__status=AssignmentStatus.DONE)
    return (
        Item.objects.filter(campaign=campaign)
        .exclude(check_kind=CheckKind.NONE)
        .select_related("response__prompt", "response__run")
        .annotate(
            answered=Count("assignments", filter=done),
            answered_right=Count(
                "assignments", filter=done & Q(assignments__label__value=F("check_answer"))
            ),
        )
        .order_by("pk")
    )


def check_counts(campaign: Campaign) -> dict[str, int]:
    """How many checks of each kind (``CheckKind`` values but NONE) the campaign has."""
    counts = dict(
        Item.objects.filter(campaign=campaign)
        .exclude(check_kind=CheckKind.NONE)
        .order_by()
        .values("check_kind")
        .annotate(n=Count("pk"))
        .values_list("check_kind", "n")
    )
    return {kind: counts.get(kind, 0) for kind in CheckKind.values if kind != CheckKind.NONE}
