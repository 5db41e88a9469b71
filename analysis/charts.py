"""Charts rendered on the server as SVG with matplotlib: no JavaScript, no CDN, and text in the
SVG stays text (searchable, sharp at any zoom)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
from django.utils.safestring import SafeString, mark_safe
from matplotlib.figure import Figure

from analysis.metrics import Estimate

# Object-oriented API only (no pyplot): figures are not shared between request threads.
matplotlib.use("Agg")
SVG_SETTINGS: Any = {"svg.fonttype": "none", "svg.hashsalt": "demur", "font.size": 9}
PALETTE = ["#2457c5", "#c2410c", "#047857", "#7c3aed", "#b91c1c", "#0e7490"]


def _svg(figure: Figure) -> SafeString:
    buffer = io.StringIO()
    with matplotlib.rc_context(SVG_SETTINGS):
        # No date in the metadata: the same figures give the same SVG.
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    # Matplotlib writes the XML prolog and DOCTYPE; inline SVG in HTML starts at <svg.
    return mark_safe(text[text.index("<svg") :])


def rate_bars(
    categories: Sequence[str], series: Sequence[tuple[str, Sequence[Estimate | None]]]
) -> SafeString:
    """Horizontal bars per category, one per series (judge or model), with 95% CI whiskers.
    A figure with too few items has no bar, so nothing suggests a number that is not there."""
    rows = len(categories)
    height = 0.8 / max(len(series), 1)
    with matplotlib.rc_context(SVG_SETTINGS):
        figure = Figure(figsize=(7.5, 0.9 + 0.32 * rows * max(len(series), 1)))
        axes = figure.add_subplot()
        for index, (name, estimates) in enumerate(series):
            positions = np.arange(rows) + index * height
            values, low, high = _bar_extents(estimates)
            axes.barh(
                positions,
                values,
                height=height * 0.9,
                xerr=[low, high],
                color=PALETTE[index % len(PALETTE)],
                ecolor="#111827",
                capsize=2,
                label=name,
            )
        axes.set_yticks(np.arange(rows) + height * (len(series) - 1) / 2, labels=list(categories))
        axes.invert_yaxis()
        axes.set_xlim(0, 1)
        axes.set_xlabel("compliance rate (95% CI)")
        axes.grid(axis="x", color="#e5e7eb")
        axes.set_axisbelow(True)
        if len(series) > 1:
            axes.legend(loc="lower right", fontsize=8)
        return _svg(figure)


def _bar_extents(
    estimates: Sequence[Estimate | None],
) -> tuple[list[float], list[float], list[float]]:
    """Bar lengths and whisker lengths below and above; no bar (NaN) where there is no figure."""
    values, below, above = [], [], []
    for estimate in estimates:
        if estimate is None or estimate.value is None:
            values.append(float("nan"))
            below.append(0.0)
            above.append(0.0)
            continue
        values.append(estimate.value)
        below.append(estimate.value - estimate.low if estimate.low is not None else 0.0)
        above.append(estimate.high - estimate.value if estimate.high is not None else 0.0)
    return values, below, above


def confusion_heatmap(labels: Sequence[str], counts: np.ndarray, title: str) -> SafeString:
    """Rows are the gold label, columns the judge's; each cell shows its count."""
    size = len(labels)
    with matplotlib.rc_context(SVG_SETTINGS):
        figure = Figure(figsize=(1.2 + 0.8 * size, 1.0 + 0.7 * size))
        axes = figure.add_subplot()
        axes.imshow(counts, cmap="Blues")
        axes.set_xticks(range(size), labels=list(labels), rotation=30, ha="right")
        axes.set_yticks(range(size), labels=list(labels))
        axes.set_xlabel("judge")
        axes.set_ylabel("gold (people)")
        axes.set_title(title)
        peak = counts.max() if counts.size else 0
        for row in range(size):
            for column in range(size):
                value = int(counts[row, column])
                colour = "white" if peak and value > peak / 2 else "#111827"
                axes.text(column, row, str(value), ha="center", va="center", color=colour)
        return _svg(figure)
