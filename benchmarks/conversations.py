"""What a benchmark row asks the model: a ``prompt``, a conversation with fixed context
(``messages``, the chat format) or a scripted conversation (``user_turns``, the user's turns
only, with an optional ``system`` text). Checked as a prompt is: the first fault stops the
import with one sentence naming the line and, inside a conversation, the turn (counted from 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks.files import InputFileError, Record, require_text

PROMPT = "prompt"
MESSAGES = "messages"
USER_TURNS = "user_turns"
SYSTEM = "system"
# A row gives exactly one of these: what the model answers.
REQUEST_FIELDS = (PROMPT, MESSAGES, USER_TURNS)
ROLES = ("system", "user", "assistant")
TURN_KEYS = frozenset({"role", "content"})
# A response records which user turn it answers in a small integer (inference.Response.turn),
# and a scripted conversation is answered turn by turn, each in the context of all before it:
# a thousand turns is far past any benchmark's and far inside what the column holds.
MAX_USER_TURNS = 1000


@dataclass(frozen=True)
class Request:
    """What a row asks: ``text`` is the prompt, or the last user turn of a conversation."""

    text: str
    messages: list[dict[str, str]]
    user_turns: list[str]
    system: str | None  # a scripted conversation's system text (stored in metadata["system"])


def is_given(value: Any) -> bool:
    """None (a hub dataset's column for rows that do not use it) and [] (a single prompt's
    conversation columns, as Demur's own exports write them) are not given."""
    return value is not None and not (isinstance(value, list) and not value)


def is_conversation(fields: dict[str, Any]) -> bool:
    """Cheap, for every row."""
    return is_given(fields.get(MESSAGES)) or is_given(fields.get(USER_TURNS))


def request_from_record(record: Record) -> Request:
    """The row's request. ``prompt`` for a single prompt, else exactly one of ``messages`` or
    ``user_turns``."""
    given = [name for name in REQUEST_FIELDS if is_given(record.fields.get(name))]
    if not given:
        empty = next((name for name in (MESSAGES, USER_TURNS) if record.fields.get(name) == []), "")
        if empty:
            raise InputFileError(f"Field '{empty}' on {record.where} is empty.")
        raise InputFileError(
            f"The record on {record.where} lacks the field 'prompt' (or, for a conversation, "
            "'messages' or 'user_turns')."
        )
    if len(given) > 1:
        raise InputFileError(
            f"The record on {record.where} holds both '{given[0]}' and '{given[1]}'; give "
            "exactly one of 'prompt', 'messages' or 'user_turns'."
        )
    if given[0] == PROMPT:
        return Request(text=require_text(record, PROMPT), messages=[], user_turns=[], system=None)
    if given[0] == MESSAGES:
        return request_from_messages(record)
    return request_from_user_turns(record)


def request_from_messages(record: Record) -> Request:
    if record.fields.get(SYSTEM) is not None:
        raise InputFileError(
            f"Field 'system' on {record.where} goes with 'user_turns'; in 'messages' the "
            "system's text is the first turn, with the role system."
        )
    messages = checked_messages(record.fields[MESSAGES], where=record.where)
    return Request(text=messages[-1]["content"], messages=messages, user_turns=[], system=None)


def request_from_user_turns(record: Record) -> Request:
    turns = checked_user_turns(record.fields[USER_TURNS], where=record.where)
    system = record.fields.get(SYSTEM)
    if system is not None:
        system = checked_text(system, what=f"Field 'system' on {record.where}")
    return Request(text=turns[-1], messages=[], user_turns=turns, system=system)


def checked_messages(
    value: Any, *, where: str, empty_answers: bool = False
) -> list[dict[str, str]]:
    """The turns, each {"role", "content"}: known roles, the system's turn first if there is
    one, user and assistant taking turns, the last turn the user's (what the model answers).
    ``empty_answers``: an assistant turn may be empty (what a model really answered)."""
    if not isinstance(value, list):
        raise InputFileError(
            f"Field 'messages' on {where} must be a list of turns, each "
            f'{{"role": ..., "content": ...}}, not {type(value).__name__}.'
        )
    messages: list[dict[str, str]] = []
    previous = ""
    for number, turn in enumerate(value, start=1):
        message = checked_turn(turn, number=number, where=where, empty_answers=empty_answers)
        role = message["role"]
        if role == "system" and number != 1:
            raise InputFileError(
                f"Turn {number} of 'messages' on {where} is a system turn; only the first turn "
                "may be the system's."
            )
        if role == previous:
            raise InputFileError(
                f"Turn {number} of 'messages' on {where} is a second {role} turn in a row; user "
                "and assistant take turns."
            )
        previous = role
        messages.append(message)
    if previous != "user":
        raise InputFileError(
            f"The last turn of 'messages' on {where} is the {previous}'s; a conversation ends "
            "with the user's turn, which the model answers."
        )
    check_turn_count(sum(1 for m in messages if m["role"] == "user"), field=MESSAGES, where=where)
    return messages


def checked_turn(
    turn: Any, *, number: int, where: str, empty_answers: bool = False
) -> dict[str, str]:
    what = f"Turn {number} of 'messages' on {where}"
    if not isinstance(turn, dict):
        raise InputFileError(
            f"{what} is a {type(turn).__name__}, not an object with 'role' and 'content'."
        )
    # A hub dataset's turns share one schema: a key a turn does not use is there, as None.
    unknown = sorted(
        str(key) for key, value in turn.items() if key not in TURN_KEYS and value is not None
    )
    if unknown:
        raise InputFileError(
            f"{what} has the key '{unknown[0]}'; a turn holds only 'role' and 'content'."
        )
    for key in ("role", "content"):
        if turn.get(key) is None:
            raise InputFileError(f"{what} lacks '{key}'.")
    role = turn["role"]
    if role not in ROLES:
        raise InputFileError(f"{what} has the role {role!r}; a role is system, user or assistant.")
    content = turn["content"]
    if not (empty_answers and role == "assistant" and content == ""):
        content = checked_text(
            content, what=f"The content of turn {number} of 'messages' on {where}"
        )
    return {"role": role, "content": content}


def checked_user_turns(value: Any, *, where: str) -> list[str]:
    if not isinstance(value, list):
        raise InputFileError(
            f"Field 'user_turns' on {where} must be a list of the user's turns (texts), not "
            f"{type(value).__name__}."
        )
    check_turn_count(len(value), field=USER_TURNS, where=where)
    return [
        checked_text(turn, what=f"Turn {number} of 'user_turns' on {where}")
        for number, turn in enumerate(value, start=1)
    ]


def checked_text(value: Any, *, what: str) -> str:
    """A non-empty string; ``what`` starts the sentence ("Turn 2 of 'user_turns' on line 3")."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise InputFileError(
            f"{what} is the number {value!r}; it must be text (in JSON, put it in quotes)."
        )
    if not isinstance(value, str):
        raise InputFileError(f"{what} must be text, not {type(value).__name__}.")
    if not value.strip():
        raise InputFileError(f"{what} is empty.")
    return value


def check_turn_count(count: int, *, field: str, where: str) -> None:
    if count > MAX_USER_TURNS:
        raise InputFileError(
            f"Field '{field}' on {where} holds {count} user turns, more than {MAX_USER_TURNS}."
        )
