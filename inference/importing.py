"""Responses made elsewhere, read from JSON Lines (``{id, response}`` or CoCoNot rows, with an
optional ``finish_reason``: "stop", "length" when the answer was cut off, "error").

A row of a conversation may say which user turn it answers (``turn``, from 1; by default the
prompt's last turn); a row answering a turn of a scripted conversation may carry the
conversation the model was sent (``messages``), else it is rebuilt from the script and the
file's answers to the earlier turns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from accounts.validation import UnstorableInput, json_loads
from backends.base import Message
from benchmarks.conversations import checked_messages
from benchmarks.files import InputFileError, Record, iter_records, require_text
from benchmarks.models import Prompt
from inference.conversations import script_messages, sent_conversation


@dataclass(frozen=True)
class ResponseRow:
    where: str
    external_id: str
    text: str | None  # None: the file says null
    finish_reason: str = ""  # "" when the file does not say
    turn: int | None = None  # None: the prompt's last turn
    messages: list[Message] | None = None  # None: the file does not say


class PlacedRow(NamedTuple):
    """A row on its prompt and turn, with the conversation its response keeps (a tuple: a
    file's rows are placed by the ten thousand)."""

    row: ResponseRow
    prompt_id: int
    turn: int
    messages: list[Message]


# What an imported finish_reason may be: the words Demur's own backends write, plus what
# OpenAI-compatible servers and Anthropic say for "cut off at the token limit".
IMPORTED_FINISH_REASONS = {"stop": "stop", "length": "length", "max_tokens": "length",
                           "error": "error", "": ""}  # fmt: skip


def finish_reason_from_record(record: Record) -> str:
    value = record.fields.get("finish_reason")
    if value is None:
        return ""
    if not isinstance(value, str) or value.strip().lower() not in IMPORTED_FINISH_REASONS:
        allowed = ", ".join(f'"{word}"' for word in IMPORTED_FINISH_REASONS if word)
        raise InputFileError(
            f"Field 'finish_reason' on {record.where} must be one of {allowed} (or absent)."
        )
    return IMPORTED_FINISH_REASONS[value.strip().lower()]


def turn_from_record(record: Record) -> int | None:
    """A whole number from 1, or None when absent (CSV: an empty cell); CSV's text digits
    count as the number."""
    value = record.fields.get("turn")
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputFileError(
            f"Field 'turn' on {record.where} must be a whole number from 1 (the user turn the "
            f"response answers), not {json.dumps(value)}."
        )
    return value


def messages_from_record(record: Record) -> list[Message] | None:
    """The chat-format list, or None when absent; in CSV, a cell of JSON text. Checked as a
    benchmark's ``messages`` are, except that an earlier answer may be empty (a model's answer
    is what it was, and an export of these responses must import again)."""
    value = record.fields.get("messages")
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json_loads(value, what=f"field 'messages' on {record.where}")
        except (UnstorableInput, json.JSONDecodeError) as error:
            raise InputFileError(
                f"Field 'messages' on {record.where} is not a JSON list of messages ({error})."
            ) from None
    if value == []:
        raise InputFileError(f"Field 'messages' on {record.where} is empty.")
    return checked_messages(value, where=record.where, empty_answers=True)


def response_row_from_record(record: Record) -> ResponseRow:
    external_id = require_text(record, "id").strip()
    if "response" not in record.fields:
        raise InputFileError(f"The record on {record.where} lacks the field 'response'.")
    text = record.fields["response"]
    if text is not None and not isinstance(text, str):
        raise InputFileError(
            f"Field 'response' on {record.where} must be text or null, not {type(text).__name__}."
        )
    return ResponseRow(
        where=record.where,
        external_id=external_id,
        text=text,
        finish_reason=finish_reason_from_record(record),
        turn=turn_from_record(record),
        messages=messages_from_record(record),
    )


def read_response_file(path: Path, *, max_bytes: int) -> list[ResponseRow]:
    records = iter_records(path, max_bytes=max_bytes, required=("id", "response"))
    rows = [response_row_from_record(record) for record in records]
    if not rows:
        raise InputFileError(f"{path.name} holds no responses.")
    return rows


@dataclass(frozen=True)
class ImportTargets:
    """A benchmark's prompts as placing rows reads them: every id, and the conversations whole.
    A single prompt needs only its id (and its text when a row repeats its ``messages``), so a
    file of single prompts reads no prompt's JSON."""

    ids: Mapping[str, int]
    conversations: Mapping[str, Prompt]
    texts: Mapping[str, str]  # of single prompts, when a row carries ``messages`` for one


def place_rows(
    rows: list[ResponseRow], targets: ImportTargets, *, benchmark: str
) -> list[PlacedRow]:
    """Each row on its prompt (every row's id is one of ``targets.ids``) and turn, checked: the
    turn is one the prompt is answered at, no (id, turn) twice, and the conversation is the
    prompt's (or, scripted, follows its script)."""
    turns = [row_turn(row, targets.conversations.get(row.external_id)) for row in rows]
    check_unique_turns(rows, turns, targets)
    answers = file_answers(rows, turns, targets)
    return [
        PlacedRow(
            row=row,
            prompt_id=targets.ids[row.external_id],
            turn=turn,
            messages=kept_messages(row, turn, targets, answers, benchmark),
        )
        for row, turn in zip(rows, turns, strict=True)
    ]


def row_turn(row: ResponseRow, prompt: Prompt | None) -> int:
    """The row's turn, checked (``prompt``: None for a single prompt)."""
    turn = row.turn or (prompt.last_turn if prompt is not None else 1)
    check_turn(row, prompt, turn)
    return turn


def check_unique_turns(rows: list[ResponseRow], turns: list[int], targets: ImportTargets) -> None:
    """Two answers to one turn would silently overwrite each other: name both places."""
    seen: dict[tuple[str, int], str] = {}
    for row, turn in zip(rows, turns, strict=True):
        key = (row.external_id, turn)
        if key in seen:
            prompt = targets.conversations.get(row.external_id)
            raise InputFileError(duplicate_sentence(row, prompt, turn, seen[key]))
        seen[key] = row.where


def check_turn(row: ResponseRow, prompt: Prompt | None, turn: int) -> None:
    """``prompt``: None for a single prompt (answered at turn 1)."""
    if prompt is not None and prompt.user_turns:
        count = len(prompt.user_turns)
        if turn > count:
            raise InputFileError(
                f"Field 'turn' on {row.where} is {turn}, but prompt '{row.external_id}' is a "
                f"scripted conversation of {count} user turns, answered at turns 1 to {count}."
            )
        return
    only = prompt.last_turn if prompt is not None else 1
    if turn != only:
        shape = "a conversation" if prompt is not None else "a single prompt"
        raise InputFileError(
            f"Field 'turn' on {row.where} is {turn}, but prompt '{row.external_id}' is {shape} "
            f"answered at turn {only} only."
        )


def duplicate_sentence(row: ResponseRow, prompt: Prompt | None, turn: int, first: str) -> str:
    if prompt is not None and prompt.user_turns:
        return (
            f"Turn {turn} of the id '{row.external_id}' appears twice, on {first} and on "
            f"{row.where}; each turn of a conversation is answered once within a file."
        )
    return (
        f"The id '{row.external_id}' appears twice, on {first} and on {row.where}; ids must be "
        "unique within a file."
    )


def file_answers(
    rows: list[ResponseRow], turns: list[int], targets: ImportTargets
) -> dict[str, dict[int, str | None]]:
    """{id: {turn: the file's answer}} of the scripted conversations: the context of their turns
    given without ``messages``."""
    answers: dict[str, dict[int, str | None]] = {}
    for row, turn in zip(rows, turns, strict=True):
        if row.external_id in targets.conversations:
            answers.setdefault(row.external_id, {})[turn] = row.text
    return answers


def kept_messages(
    row: ResponseRow,
    turn: int,
    targets: ImportTargets,
    answers: Mapping[str, Mapping[int, str | None]],
    benchmark: str,
) -> list[Message]:
    """What the response's ``messages`` keeps. A scripted turn: the row's own, if its user turns
    follow the script, else the script with the file's answers to the earlier turns. Any other
    prompt: the prompt's conversation, which a row's ``messages`` may repeat but not change."""
    prompt = targets.conversations.get(row.external_id)
    if prompt is None and row.messages is None:
        return []  # most rows of most files: a single prompt, nothing to compare
    if prompt is None or not prompt.user_turns:
        own = (
            sent_conversation(prompt, turn, {})
            if prompt is not None
            else [{"role": "user", "content": targets.texts.get(row.external_id, "")}]
        )
        if row.messages is not None and row.messages != own:
            raise InputFileError(
                f"Field 'messages' on {row.where} is not the conversation of prompt "
                f"'{row.external_id}' in benchmark '{benchmark}'; leave it out, or give the "
                "prompt's own."
            )
        return own if prompt is not None else []
    if row.messages is not None:
        said = [m["content"] for m in row.messages if m["role"] == "user"]
        if said != prompt.user_turns[:turn]:
            raise InputFileError(
                f"Field 'messages' on {row.where} does not follow the script of prompt "
                f"'{row.external_id}': its user turns must be the prompt's first {turn}."
            )
        return row.messages
    earlier = answers[row.external_id]
    missing = next((t for t in range(1, turn) if earlier.get(t) is None), None)
    if missing is not None:
        raise InputFileError(
            f"The row on {row.where} answers turn {turn} of prompt '{row.external_id}' without "
            f"'messages', and the file has no answer to its turn {missing} to build the context "
            "from; give 'messages', or the earlier turns' answers."
        )
    return script_messages(prompt, turn, {t: text or "" for t, text in earlier.items()})
