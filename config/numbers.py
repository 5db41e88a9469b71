"""Whole numbers from text that people and programs send: query strings, form fields, command
arguments."""

from __future__ import annotations

# The largest id a 64-bit signed primary key holds; a larger one would fail in the database.
MAX_ID = 2**63 - 1


def whole_number(raw: str, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """``raw`` as an int when it is ASCII digits only and lies in [low, high]; None otherwise.
    ``str.isdigit`` alone also accepts "²" and "٣", which ``int`` refuses or reads otherwise."""
    if not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if low <= value <= high else None
