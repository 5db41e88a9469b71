"""Responses made elsewhere, read from JSON Lines (``{id, response}`` or CoCoNot rows, with an
optional ``finish_reason``: "stop", "length" when the answer was cut off, "error")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.files import InputFileError, Record, check_unique_ids, iter_records, require_text


@dataclass(frozen=True)
class ResponseRow:
    where: str
    external_id: str
    text: str | None  # None: the file says null
    finish_reason: str = ""  # "" when the file does not say


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
    )


def read_response_file(path: Path, *, max_bytes: int) -> list[ResponseRow]:
    records = list(iter_records(path, max_bytes=max_bytes, required=("id", "response")))
    rows = [response_row_from_record(record) for record in records]
    if not rows:
        raise InputFileError(f"{path.name} holds no responses.")
    check_unique_ids(records, [row.external_id for row in rows])
    return rows
