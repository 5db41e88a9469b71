"""Flash messages are text, always escaped when shown.

Django's cookie storage keeps a "this message is safe HTML" flag inside the cookie and believes
it on the way back, so anyone who can sign a cookie (anyone, on a known SECRET_KEY) can make a
page render their HTML. No message of Demur's is HTML: where one needs markup, the template
builds it around the text. This storage drops the flag from every message it is given or reads.
"""

from __future__ import annotations

from typing import Any

from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.fallback import FallbackStorage


def as_text(message: object) -> str:
    # str.__str__ gives a plain str even for a SafeString (whose own __str__ returns itself).
    return str.__str__(str(message))


class TextMessageStorage(FallbackStorage):
    def add(self, level: int, message: object, extra_tags: str | None = "") -> None:
        super().add(level, as_text(message), extra_tags)

    def _get(self, *args: Any, **kwargs: Any) -> tuple[list[Message], bool]:
        # FallbackStorage._get (django-stubs omit it): every backend's messages, read back.
        messages, all_retrieved = super()._get(*args, **kwargs)  # type: ignore[misc]
        for message in messages:
            message.message = as_text(message.message)
        return messages, all_retrieved
