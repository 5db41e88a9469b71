"""What the labeling screen and the review page show of a conversation (issue 16): the turns
before the answer being labelled, each with a one-line preview, and the user turn it answers.

Everything here is model output or benchmark text: it is only ever given to templates as
text, which escape it; nothing here builds HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks.models import Prompt
from inference.models import Response

# A collapsed turn shows its role and about this many of its first words.
PREVIEW_WORDS = 12
PREVIEW_CHARACTERS = 90
ROLE_NAMES = {"system": "System", "user": "User", "assistant": "Model"}


@dataclass(frozen=True)
class Turn:
    role: str
    content: str

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role.capitalize() or "Turn")

    @property
    def preview(self) -> str:
        """The turn's first words on one line, with an ellipsis when there is more."""
        words = self.content.split()
        shown = " ".join(words[:PREVIEW_WORDS])
        if len(shown) > PREVIEW_CHARACTERS:
            shown = shown[:PREVIEW_CHARACTERS].rstrip()
        return shown + ("…" if shown != " ".join(words) else "")


@dataclass(frozen=True)
class ConversationView:
    """One answer in its conversation: the turns before (``context``), the user turn it answers
    (``answered``), which user turn that is (``turn``, from 1) and of how many (``turns``)."""

    context: tuple[Turn, ...]
    answered: str
    turn: int
    turns: int

    @property
    def is_conversation(self) -> bool:
        """More than a single prompt: earlier turns to show, or a turn of several."""
        return bool(self.context) or self.turns > 1


def conversation_view(response: Response, prompt: Prompt) -> ConversationView:
    """``response`` in its conversation; ``prompt`` is the prompt it answers (passed apart so
    that a pair's second response needs no query of its own for it)."""
    turns = [_turn(message) for message in _conversation(response, prompt)]
    answered = turns[-1].content if turns else prompt.text
    return ConversationView(
        context=tuple(turns[:-1]),
        answered=answered,
        turn=response.turn,
        turns=max(prompt.last_turn, response.turn),
    )


def _conversation(response: Response, prompt: Prompt) -> list[Any]:
    """What the model was sent for this answer: the response's own record of it, else what the
    prompt says (a fixed conversation's messages; a scripted one's user turns so far, its earlier
    answers unknown), else the prompt alone."""
    if response.messages:
        return list(response.messages)
    if prompt.messages:
        return list(prompt.messages)
    if prompt.user_turns:
        return [{"role": "user", "content": text} for text in prompt.user_turns[: response.turn]]
    return [{"role": "user", "content": prompt.text}]


def _turn(message: Any) -> Turn:
    """A stored message as a turn; a malformed one still shows, as text."""
    if isinstance(message, dict):
        return Turn(str(message.get("role", "")), str(message.get("content", "")))
    return Turn("", str(message))
