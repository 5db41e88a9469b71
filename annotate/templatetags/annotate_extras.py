"""Annotation pages. Label values as people read them: a scheme names its values ("not_complied" is
"Did not comply"), and pages show those names, never the stored value."""

from __future__ import annotations

from typing import Any

from django import template

from annotate.conversations import ConversationView, conversation_view
from annotate.models import Campaign, CheckKind, Item
from annotate.services.checks import attention_text_filled
from benchmarks.models import Prompt
from inference.models import Response
from judging.models import VerdictLabel

register = template.Library()


@register.filter
def label_name(value: str, scheme: dict[str, Any]) -> str:
    """The scheme's name for ``value``; a verdict's own name for what only judges say
    (``unparseable``, ``error``); else the value itself."""
    for choice in scheme.get("choices", []):
        if choice.get("value") == value:
            return str(choice.get("label") or value)
    return str(VERDICT_NAMES.get(value, value))


VERDICT_NAMES = dict(VerdictLabel.choices)


@register.filter
def attention_note(item: Item, campaign: Campaign) -> str:
    """What an attention check says to do: the campaign's text with its answer's name and key
    filled in; "" on any other item (a gold question must look like any item)."""
    if item.check_kind != CheckKind.ATTENTION:
        return ""
    return attention_text_filled(campaign=campaign, answer=item.check_answer)


@register.filter
def thousands(value: int | None) -> str:
    """1000000 as "1,000,000": counts a researcher compares at a glance."""
    return "" if value is None else f"{value:,}"


@register.filter
def sides(item: Item) -> list[tuple[str, Response]]:
    """A pairwise item's responses as the annotators saw them: ("Left", …), ("Right", …)."""
    right = item.right
    return [("Left", item.left)] + ([("Right", right)] if right is not None else [])


@register.filter
def points(value: float | None) -> str:
    """A share as percentage points with one decimal: 0.0312 as "3.1"."""
    return "" if value is None else f"{value * 100:.1f}"


@register.filter
def in_conversation(response: Response | None, prompt: Prompt) -> ConversationView:
    """``response`` in its conversation (annotate/conversations.py): the turns before it, the
    user turn it answers, and which turn of how many; ``prompt`` is the prompt it answers (a
    single item's missing right-hand response: the prompt alone)."""
    if response is None:
        return ConversationView(context=(), answered=prompt.text, turn=1, turns=1)
    return conversation_view(response, prompt)
