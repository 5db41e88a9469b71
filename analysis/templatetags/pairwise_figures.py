"""How the side-by-side report writes a share and a p-value (figures with a bootstrap interval
use ``estimates``)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.615 as "61.5%"."""
    return "" if value is None else f"{100 * value:.1f}%"


@register.filter
def p_value(value: float | None) -> str:
    """A p-value to three decimals, and "< 0.001" below that."""
    if value is None:
        return ""
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
