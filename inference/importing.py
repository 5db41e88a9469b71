"""Responses made elsewhere, read from JSON Lines (``{id, response}`` or CoCoNot rows)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.files import InputFileError, Record, check_unique_ids, iter_records, require_text


@dataclass(frozen=True)
class ResponseRow:
    where: str
    external_id: str
    text: str | None  # None: the file says null


def response_row_from_record(record: Record) -> ResponseRow:
    external_id = require_text(record, "id").strip()
    if "response" not in record.fields:
        raise InputFileError(f"The record on {record.where} lacks the field 'response'.")
    text = record.fields["response"]
    if text is not None and not isinstance(text, str):
        raise InputFileError(
            f"Field 'response' on {record.where} must be text or null, not {type(text).__name__}."
        )
    return ResponseRow(where=record.where, external_id=external_id, text=text)


def read_response_file(path: Path, *, max_bytes: int) -> list[ResponseRow]:
    records = list(iter_records(path, max_bytes=max_bytes, required=("id", "response")))
    rows = [response_row_from_record(record) for record in records]
    if not rows:
        raise InputFileError(f"{path.name} holds no responses.")
    check_unique_ids(records, [row.external_id for row in rows])
    return rows
