"""Which turns a run answers for a prompt, and what the model is sent for each.

A single prompt is sent as one user turn and answered at turn 1. A conversation with fixed
context is sent whole and answered at its last user turn. A scripted conversation is answered
turn by turn: the answer to each user turn joins the context of the next, so the model is tested
on the dialogue it writes itself. Plain functions over a prompt and the answers stored so far:
the chunk service and the responses importer share them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from backends.base import Message
from benchmarks.models import Prompt

# The error of a scripted turn that was not generated because an earlier turn of its
# conversation failed: the context it would be answered in does not exist. Stored as a response
# so the run still accounts for the turn (and completes), and judges and people see why it is
# missing rather than an empty answer.
EARLIER_TURN_FAILED = (
    "Not generated: turn {failed} of this conversation failed, so there was no context to "
    "answer this turn in."
)


def turns_answered(prompt: Prompt) -> list[int]:
    """The user turns a run answers for the prompt, in order: every turn of a scripted
    conversation, else its one last turn."""
    if prompt.user_turns:
        return list(range(1, len(prompt.user_turns) + 1))
    return [prompt.last_turn]


def answers_expected(user_turns: Iterable[Sequence[Any]]) -> int:
    """How many responses a run of these prompts gives, from their ``user_turns``: one per
    scripted turn, one for any other prompt."""
    return sum(len(turns) or 1 for turns in user_turns)


def script_messages(prompt: Prompt, turn: int, answers: Mapping[int, str]) -> list[Message]:
    """The scripted conversation up to user turn ``turn``: the row's system line if it has one,
    each earlier user turn followed by its answer as stored (verbatim), then the user turn."""
    messages: list[Message] = []
    system = prompt.metadata.get("system") if isinstance(prompt.metadata, dict) else None
    if isinstance(system, str) and system:
        messages.append({"role": "system", "content": system})
    for earlier, text in enumerate(prompt.user_turns[: turn - 1], start=1):
        messages.append({"role": "user", "content": text})
        messages.append({"role": "assistant", "content": answers[earlier]})
    messages.append({"role": "user", "content": prompt.user_turns[turn - 1]})
    return messages


def sent_conversation(prompt: Prompt, turn: int, answers: Mapping[int, str]) -> list[Message]:
    """What the backend is sent to answer ``turn`` of the prompt (``answers``: the stored
    answers to its earlier turns, needed for a scripted conversation only)."""
    if prompt.user_turns:
        return script_messages(prompt, turn, answers)
    if prompt.messages:
        return [dict(message) for message in prompt.messages]
    return [{"role": "user", "content": prompt.text}]


def stored_messages(prompt: Prompt, sent: list[Message]) -> list[Message]:
    """What ``Response.messages`` keeps: the conversation sent, or [] for a single prompt
    (whose text is the whole of it)."""
    return sent if prompt.user_turns or prompt.messages else []


def earlier_failure(failed_turns: Iterable[int], turn: int) -> int | None:
    """The first earlier turn of a scripted conversation that failed, if any."""
    return min((failed for failed in failed_turns if failed < turn), default=None)
