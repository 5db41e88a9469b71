"""How the annotators page writes its figures: accuracy on checks with its exact interval
("75.0% [47.6, 92.7]", the interval named in a tooltip), and shares as percentages, with a dash
where there is no figure."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from annotate.quality import CheckAccuracy

register = template.Library()

NO_FIGURE = "—"


@register.simple_tag
def check_accuracy(accuracy: CheckAccuracy) -> SafeString:
    if accuracy.value is None or accuracy.low is None or accuracy.high is None:
        return format_html('<span class="muted">{}</span>', "no checks answered")
    return format_html(
        '<span class="figure" title="95% Clopper-Pearson (exact) CI, n={}">{}% '
        '<span class="ci">[{}, {}]</span></span>',
        accuracy.answered,
        f"{accuracy.value * 100:.1f}",
        f"{accuracy.low * 100:.1f}",
        f"{accuracy.high * 100:.1f}",
    )


@register.filter
def percent(share: float | None) -> str:
    """0.125 -> "12.5%", 0.6 -> "60%"; a dash for no figure."""
    if share is None:
        return NO_FIGURE
    return f"{round(share * 100, 1):g}%"


@register.filter
def one_decimal(number: float | None) -> str:
    """12.345 -> "12.3"; a dash for no figure."""
    return NO_FIGURE if number is None else f"{number:.1f}"
