"""Whole numbers from text that people and programs send: query strings, form fields, command
arguments."""

from __future__ import annotations

import argparse

# The largest id a 64-bit signed primary key holds; a larger one would fail in the database.
MAX_ID = 2**63 - 1
# The largest count or setting an integer column (PostgreSQL ``integer``, Django's
# IntegerField and PositiveIntegerField) holds: every form, serializer and command argument that
# is stored in one has this as its upper bound, so a larger one is a sentence, not a
# database error.
MAX_INT = 2**31 - 1


def whole_number(raw: str, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """``raw`` as an int when it is ASCII digits only and lies in [low, high]; None otherwise.
    ``str.isdigit`` alone also accepts "²" and "٣", which ``int`` refuses or reads otherwise."""
    if not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def count_argument(raw: str) -> int:
    """An argparse ``type`` for a command's count or id that is stored in an integer column: a
    whole number from 1 to MAX_INT, or argparse's usage error (exit status 2) saying so."""
    value = whole_number(raw.strip(), high=MAX_INT)
    if value is None:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number from 1 to {MAX_INT}")
    return value
