"""Reading files people give us: size, encoding and format checks with one clear sentence each.

Shared by every importer (benchmarks here, model responses in ``inference``). Nothing here touches
the database, so a file is read and checked whole before any write begins.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accounts.validation import MAX_JSON_DEPTH, json_depth, strings_in, text_problem

# What iter_records reads: JSON Lines (under any of its three names) and CSV.
RECORD_EXTENSIONS = (".jsonl", ".ndjson", ".json", ".csv")
# How much of a file's start is searched for NUL bytes to call it binary; text never has them.
BINARY_SNIFF_BYTES = 8192


class InputFileError(ValueError):
    """A file we cannot import. The message is one sentence for the person who gave it to us."""


@dataclass(frozen=True)
class Record:
    """One object read from a file, with where it came from (``line 3``, ``row 3``)."""

    where: str
    fields: dict[str, Any]


def check_file(path: Path, *, max_bytes: int) -> None:
    """InputFileError unless ``path`` is a file of at most ``max_bytes``."""
    if not path.exists():
        raise InputFileError(f"No such file: {path}.")
    if not path.is_file():
        raise InputFileError(f"{path} is not a file.")
    size = path.stat().st_size
    if size > max_bytes:
        raise InputFileError(
            f"{path} is {size / 1e6:.1f} MB, over the import limit of {max_bytes / 1e6:.0f} MB "
            "(DEMUR_IMPORT_MAX_BYTES)."
        )


def read_text(path: Path, *, max_bytes: int) -> str:
    """The file's text, or InputFileError if it is missing, too big, empty, binary or not UTF-8."""
    check_file(path, max_bytes=max_bytes)
    data = path.read_bytes()
    if not data.strip():
        raise InputFileError(f"{path} is empty.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(f"{path} is UTF-16 text; save it as UTF-8.")
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        raise InputFileError(f"{path} is a binary file, not JSON Lines or CSV text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputFileError(
            f"{path} is not UTF-8: byte 0x{data[error.start]:02x} on line {line} cannot be "
            "decoded; save the file as UTF-8."
        ) from None


def iter_jsonl(text: str, *, path: Path) -> Iterator[Record]:
    """One Record per non-blank line; a line that is not a JSON object stops the import."""
    if text.lstrip().startswith("["):
        raise InputFileError(
            f"{path} holds a JSON array; Demur reads JSON Lines, one object per line."
        )
    check = storable if _may_hold_unstorable_json(text) else _as_is
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if _nests_too_deep(line):
            raise InputFileError(
                f"Line {number} of {path.name} is JSON nested deeper than {MAX_JSON_DEPTH} levels."
            )
        try:
            value = _DECODER.decode(line)
        except json.JSONDecodeError as error:
            raise InputFileError(
                f"Line {number} of {path.name} is not valid JSON: {error.msg} "
                f"(column {error.colno})."
            ) from None
        except ValueError as error:  # NaN or Infinity
            raise InputFileError(f"Line {number} of {path.name} holds {error}.") from None
        if not isinstance(value, dict):
            raise InputFileError(
                f"Line {number} of {path.name} is a JSON {type(value).__name__}, not an object."
            )
        yield check(Record(where=f"line {number}", fields=value))


def iter_csv(text: str, *, path: Path, required: tuple[str, ...]) -> Iterator[Record]:
    """One Record per CSV row (multi-line quoted fields allowed), named by its first line."""
    csv.field_size_limit(max(len(text), csv.field_size_limit()))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
    except csv.Error as error:
        raise InputFileError(f"The header of {path.name} is not valid CSV: {error}.") from None
    missing = [column for column in required if column not in header]
    if missing:
        raise InputFileError(
            f"The CSV header of {path.name} lacks the column(s) {', '.join(missing)}; "
            f"it needs {', '.join(required)}."
        )
    check = storable if "\x00" in text else _as_is  # CSV has no escapes: only a raw NUL
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise InputFileError(
                f"Line {start} of {path.name} is not valid CSV: {error}."
            ) from None
        if None in row or None in row.values():
            raise InputFileError(
                f"Line {start} of {path.name} has a different number of fields than the header."
            )
        yield check(Record(where=f"line {start}", fields=dict(row)))
        start = reader.line_num + 1


def _not_json(name: str) -> Any:
    # Python reads NaN and Infinity; JSON has neither, and PostgreSQL's jsonb refuses them.
    raise ValueError(f"{name}, which is not a JSON value")


# What a JSON text must hold for a string parsed from it to hold a NUL or a lone surrogate: a raw
# NUL, or the escape of one (\u0000, \ud800-\udfff). Text decoded as UTF-8 holds no surrogate.
_UNSTORABLE_IN_JSON = re.compile(r"\x00|\\u(?:0000|[dD][89a-fA-F])")


def _may_hold_unstorable_json(text: str) -> bool:
    """False when no record of this file can hold text the database refuses: then checking
    every string of every record (a third of the reading time) can be skipped."""
    if "\\u" not in text and "\x00" not in text:  # most files: no escape at all
        return False
    return _UNSTORABLE_IN_JSON.search(text) is not None


def _as_is(record: Record) -> Record:
    return record


# One decoder for every line (json.loads with an option builds a new one each call).
_DECODER = json.JSONDecoder(parse_constant=_not_json)


def _nests_too_deep(line: str) -> bool:
    # Counting brackets is cheap; only a line with many of them is scanned for its depth.
    return line.count("[") + line.count("{") > MAX_JSON_DEPTH and json_depth(line) > MAX_JSON_DEPTH


def storable(record: Record) -> Record:
    """The record, or InputFileError naming the field and line of the first text the database
    cannot hold: a NUL (JSON's ``\\u0000``, or a raw one in CSV) or a lone surrogate
    (``\\ud800``)."""
    for field, text in strings_in(record.fields, ""):
        problem = text_problem(text)
        if problem:
            raise InputFileError(f"Field '{field}' on {record.where} {problem}.")
    return record


def iter_records(path: Path, *, max_bytes: int, required: tuple[str, ...]) -> Iterator[Record]:
    """Records from a JSON Lines or CSV file, chosen by the file's extension."""
    suffix = path.suffix.lower()
    if suffix not in RECORD_EXTENSIONS:
        raise InputFileError(
            f"Cannot tell the format of {path.name}: name it .jsonl (JSON Lines) or .csv."
        )
    text = read_text(path, max_bytes=max_bytes)
    if suffix == ".csv":
        return iter_csv(text, path=path, required=required)
    return iter_jsonl(text, path=path)


def require_text(record: Record, field: str, *, max_length: int | None = None) -> str:
    """A field that must be present and a non-empty string. A number is refused, ids
    included: turned into text it would silently differ from the file (``1.0`` is not ``1``),
    and ids are matched as text across files."""
    if field not in record.fields or record.fields[field] is None:
        raise InputFileError(f"The record on {record.where} lacks the field '{field}'.")
    value = record.fields[field]
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise InputFileError(
            f"Field '{field}' on {record.where} is the number {value!r}; it must be text "
            "(in JSON, put it in quotes)."
        )
    if not isinstance(value, str):
        raise InputFileError(
            f"Field '{field}' on {record.where} must be text, not {type(value).__name__}."
        )
    text = value
    if not text.strip():
        raise InputFileError(f"Field '{field}' on {record.where} is empty.")
    if max_length is not None and len(text) > max_length:
        raise InputFileError(
            f"Field '{field}' on {record.where} is longer than {max_length} characters."
        )
    return text


def check_unique_ids(records: list[Record], ids: list[str]) -> None:
    """Two records with one id would silently overwrite each other: name both places."""
    first_seen: dict[str, str] = {}
    for record, identifier in zip(records, ids, strict=True):
        if identifier in first_seen:
            raise InputFileError(
                f"The id '{identifier}' appears twice, on {first_seen[identifier]} and on "
                f"{record.where}; ids must be unique within a file."
            )
        first_seen[identifier] = record.where
