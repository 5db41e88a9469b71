"""What every inference backend offers the Celery tasks: chat in, generations out.

Plain Python (no Django): backends run inside workers and in one-off scripts alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

Message = dict[str, str]
"""One chat turn: ``{"role": "system" | "user" | "assistant", "content": "..."}``."""


@dataclass(frozen=True)
class Generation:
    """A model's answer to one conversation, or why there is none.

    ``error`` is non-empty exactly when this item failed (after retries); ``text`` is then ""
    and ``finish_reason`` is "error".
    """

    text: str
    finish_reason: str  # "stop", "length", "error", or whatever the server says
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int
    error: str = ""


class BackendConfigError(ValueError):
    """A model spec that cannot work (missing base_url, API key variable unset ...).

    The message is one sentence naming the bad setting, fit to show a user.
    """


class ChatBackend(Protocol):
    def generate(self, conversations: Sequence[Sequence[Message]]) -> list[Generation]:
        """One Generation per conversation, in input order.

        A failure of one item is recorded in that item's ``error``; it never raises.
        """
        ...

    def next_token_logprobs(
        self, conversations: Sequence[Sequence[Message]], candidates: Sequence[str]
    ) -> list[dict[str, float]]:
        """For each conversation, the log-probability of each candidate opening the reply.

        A candidate the model does not rank gets ``float("-inf")``. How a failed item is
        reported is up to the backend and documented there.
        """
        ...
