"""Benchmark sources (CoCoNot JSON Lines, CSV, the Hugging Face hub) read into checked rows.

Everything is read and checked before the database is touched; the writes are in services.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accounts.validation import MAX_JSON_DEPTH, json_depth
from benchmarks.conversations import (
    MESSAGES,
    PROMPT,
    SYSTEM,
    USER_TURNS,
    is_conversation,
    request_from_record,
)
from benchmarks.files import (
    InputFileError,
    Record,
    check_unique_ids,
    iter_records,
    read_text,
    require_text,
    storable,
)

# CoCoNot's schema. `response` is part of it but holds model output, which import_responses reads.
# A conversation gives `messages` or `user_turns` in place of `prompt` (conversations.py).
PROMPT_FIELDS = ("id", "category", "subcategory", "prompt")
IGNORED_FIELDS = frozenset({"response"})
# Stored in their own columns, never in metadata (a hub dataset gives None in them for the
# rows that do not use them).
CONVERSATION_FIELDS = frozenset({MESSAGES, USER_TURNS})
NOT_METADATA = frozenset({*PROMPT_FIELDS, *IGNORED_FIELDS, *CONVERSATION_FIELDS})
# Column widths of benchmarks.Prompt; longer values are refused with their line, not truncated.
MAX_ID_LENGTH = 200
MAX_CATEGORY_LENGTH = 200
HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


@dataclass(frozen=True)
class PromptRow:
    external_id: str
    category: str
    subcategory: str
    text: str  # the prompt, or a conversation's last user turn
    metadata: dict[str, Any]
    messages: list[dict[str, str]]  # [] unless a conversation with fixed context
    user_turns: list[str]  # [] unless a scripted conversation


@dataclass(frozen=True)
class RubricText:
    key: str  # the subcategory as the rubric file spells it
    refusal: str
    compliance: str


def prompt_row_from_record(record: Record) -> PromptRow:
    external_id = require_text(record, "id", max_length=MAX_ID_LENGTH).strip()
    category = require_text(record, "category", max_length=MAX_CATEGORY_LENGTH).strip()
    subcategory = require_text(record, "subcategory", max_length=MAX_CATEGORY_LENGTH).strip()
    extra = {key: value for key, value in record.fields.items() if key not in NOT_METADATA}
    if record.fields.get(PROMPT) is not None and not is_conversation(record.fields):
        # Most rows: a prompt, read as it always was (and as fast).
        text = require_text(record, PROMPT)
        return PromptRow(external_id, category, subcategory, text, extra, [], [])
    request = request_from_record(record)
    # A scripted conversation's system text is stored in metadata; in a hub dataset's column
    # None means there is none (request_from_record refuses one beside `messages`).
    extra.pop(SYSTEM, None)
    if request.system is not None:
        extra[SYSTEM] = request.system
    return PromptRow(
        external_id, category, subcategory, request.text, extra, request.messages,
        request.user_turns,
    )  # fmt: skip


def prompt_rows_from_records(records: Iterable[Record]) -> list[PromptRow]:
    records = list(records)
    rows = [prompt_row_from_record(record) for record in records]
    if not rows:
        raise InputFileError("The source holds no prompts.")
    check_unique_ids(records, [row.external_id for row in rows])
    return rows


def read_prompt_file(path: Path, *, max_bytes: int) -> list[PromptRow]:
    records = iter_records(path, max_bytes=max_bytes, required=PROMPT_FIELDS)
    if path.suffix.lower() == ".csv":
        records = single_prompts_only(records, path=path)
    return prompt_rows_from_records(records)


def single_prompts_only(records: Iterator[Record], *, path: Path) -> Iterator[Record]:
    """A CSV cell holds text, not a list of turns: conversations come in JSON Lines (or from
    the hub). All of a CSV's records share its header, so the first one tells."""
    for record in records:
        conversation = sorted(CONVERSATION_FIELDS.intersection(record.fields))
        if conversation:
            raise InputFileError(
                f"{path.name} has a '{conversation[0]}' column; a conversation needs JSON Lines "
                "(a CSV cell holds text, not a list of turns)."
            )
        yield record
        yield from records
        return


def looks_like_hub_id(source: str) -> bool:
    return bool(HUB_ID.match(source)) and not Path(source).exists()


def read_hub_dataset(hub_id: str, *, config: str | None, split: str) -> list[PromptRow]:
    """Rows of a Hugging Face dataset (for example ``allenai/coconot``, config ``original``).

    Needs the ``datasets`` package (``requirements/hub.txt``) and access to the hub.
    """
    try:
        from datasets import load_dataset  # heavy; only this code path needs it
    except ImportError:
        raise InputFileError(
            "Loading from the Hugging Face hub needs the 'datasets' package: "
            "pip install -r requirements/hub.txt."
        ) from None
    try:
        dataset = load_dataset(hub_id, config, split=split)
    except Exception as error:  # the hub raises many kinds; the person needs the message
        raise InputFileError(
            f"Could not load {hub_id} (config {config}, split {split}) from the hub: {error}."
        ) from None
    records = (
        storable(Record(where=f"row {number}", fields=dict(row)))
        for number, row in enumerate(dataset, start=1)
    )
    return prompt_rows_from_records(records)


def read_rubric_file(path: Path, *, max_bytes: int) -> list[RubricText]:
    """CoCoNot's refusal_evaluation_rubric.json: ``{subcategory: {refusal, compliance}}``.

    Entries whose two texts are both empty (CoCoNot's ``generic``) are skipped.
    """
    text = read_text(path, max_bytes=max_bytes)
    if json_depth(text) > MAX_JSON_DEPTH:
        raise InputFileError(
            f"The rubric {path.name} is JSON nested deeper than {MAX_JSON_DEPTH} levels."
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputFileError(
            f"The rubric {path.name} is not valid JSON: {error.msg} "
            f"(line {error.lineno}, column {error.colno})."
        ) from None
    if not isinstance(data, dict):
        raise InputFileError(
            f"The rubric {path.name} must be a JSON object mapping each subcategory to "
            '{"refusal": ..., "compliance": ...}.'
        )
    storable(Record(where=f"the rubric {path.name}", fields=data))
    entries = [rubric_text_from_entry(key, value, path=path) for key, value in data.items()]
    return [entry for entry in entries if entry.refusal.strip() or entry.compliance.strip()]


def rubric_text_from_entry(key: str, value: Any, *, path: Path) -> RubricText:
    if not isinstance(value, dict):
        raise InputFileError(
            f"Rubric entry '{key}' in {path.name} must be an object with 'refusal' and "
            "'compliance' texts."
        )
    for field in ("refusal", "compliance"):
        if not isinstance(value.get(field), str):
            raise InputFileError(f"Rubric entry '{key}' in {path.name} lacks the text '{field}'.")
    return RubricText(key=key, refusal=value["refusal"], compliance=value["compliance"])
