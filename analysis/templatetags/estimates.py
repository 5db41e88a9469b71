"""How a figure with its interval is written on a page: "27.1% [22.0, 32.5]" with n in a
tooltip, or the reason there is no figure ("too few items (n=3; 10 needed)")."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from analysis.metrics import Estimate

register = template.Library()


@register.simple_tag
def estimate(value: object, percent: bool = False) -> SafeString:
    if not isinstance(value, Estimate):
        return mark_safe('<span class="muted">no data</span>')
    if value.value is None:
        return format_html('<span class="muted" title="n={}">{}</span>', value.n, value.reason)
    scale, unit, digits = (100.0, "%", 1) if percent else (1.0, "", 2)

    def shown(number: float | None) -> str:
        return "?" if number is None else f"{number * scale:.{digits}f}"

    if value.low is None or value.high is None:
        return format_html(
            '<span class="figure" title="n={}">{}{}</span>', value.n, shown(value.value), unit
        )
    return format_html(
        '<span class="figure" title="{}, n={}">{}{} <span class="ci">[{}, {}]</span></span>',
        value.interval_label,
        value.n,
        shown(value.value),
        unit,
        shown(value.low),
        shown(value.high),
    )


@register.filter
def index(values: list[object], position: int) -> object:
    """``values|index:n``: the n-th value, for lists that run parallel to the one looped over."""
    return values[position] if 0 <= position < len(values) else None
