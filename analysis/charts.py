"""Charts rendered on the server as SVG with matplotlib: no JavaScript, no CDN, and text in the
SVG stays text (searchable, sharp at any zoom)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import matplotlib
import numpy as np
from django.core.cache import cache
from django.utils.safestring import SafeString, mark_safe
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from analysis.metrics import Estimate

# Object-oriented API only (no pyplot): figures are not shared between request threads.
matplotlib.use("Agg")
# Text comes from data (category, model and judge names): "$...$" in it is text, not mathtext
# (which would mangle "price $5 to $10" and raise on "$\\foo$").
SVG_SETTINGS: Any = {
    "svg.fonttype": "none",
    "svg.hashsalt": "demur",
    "font.size": 9,
    "text.parse_math": False,
}
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
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Estimate | None]]],
    *,
    observed: Sequence[Sequence[float | None]] = (),
    axis_label: str = "compliance rate (95% bootstrap CI)",
    limits: tuple[float, float] = (0.0, 1.0),
    too_few_label: str = "",
) -> SafeString:
    """Horizontal bars per category, one per series (judge or model), with 95% CI whiskers,
    on an axis from ``limits[0]`` to ``limits[1]`` (a share by default; a mean rating too;
    ``too_few_label`` then says what the "too few" points show).

    A figure with too few items has no bar, so nothing suggests a number that is not there; if
    ``observed`` (per series, per category) gives its observed share, that is drawn as a hollow
    point marked "too few (n=…)", so a small run still shows what it has and the chart never
    looks empty by accident."""
    rows = len(categories)
    height = 0.8 / max(len(series), 1)
    with matplotlib.rc_context(SVG_SETTINGS):
        figure = Figure(figsize=(7.5, 0.9 + 0.32 * rows * max(len(series), 1)))
        axes = figure.add_subplot()
        marked = False
        for index, (name, estimates) in enumerate(series):
            colour = PALETTE[index % len(PALETTE)]
            positions = np.arange(rows) + index * height
            values, low, high = _bar_extents(estimates)
            bars = axes.barh(
                positions,
                values,
                height=height * 0.9,
                xerr=[low, high],
                color=colour,
                ecolor="#111827",
                capsize=2,
                label=name,
            )
            for row, bar in enumerate(bars.patches):
                bar.set_gid(f"bar-{index}-{row}")  # lets a test find the bars that are drawn
            shares = observed[index] if index < len(observed) else ()
            marked |= _too_few_points(
                axes, estimates, shares, positions, colour, index, limits=limits
            )
        axes.set_yticks(np.arange(rows) + height * (len(series) - 1) / 2, labels=list(categories))
        # Every row keeps its place even where nothing is drawn in it (autoscaling would drop a
        # last row of missing figures); top to bottom in the order given.
        last = rows - 1 + height * (len(series) - 1)
        axes.set_ylim(last + height / 2 + 0.1, -height / 2 - 0.1)
        axes.set_xlim(*limits)
        axes.set_xlabel(axis_label)
        axes.grid(axis="x", color="#e5e7eb")
        axes.set_axisbelow(True)
        if marked:
            legend = too_few_label or TOO_FEW_LEGEND
            axes.plot([], [], "o", mfc="white", mec="#111827", label=legend)
        if len(series) > 1 or marked:
            # Above the chart, where it hides no bar, whatever the chart's height.
            axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, frameon=False)
        return _svg(figure)


TOO_FEW_LEGEND = "too few items for a figure: observed share"


def _too_few_points(
    axes: Any,
    estimates: Sequence[Estimate | None],
    shares: Sequence[float | None],
    positions: np.ndarray,
    colour: str,
    series: int,
    *,
    limits: tuple[float, float] = (0.0, 1.0),
) -> bool:
    """A hollow point at the observed share where a figure has too few items; whether any."""
    drawn = False
    for row, (estimate, share) in enumerate(zip(estimates, shares, strict=False)):
        if estimate is None or estimate.value is not None or share is None:
            continue
        y = float(positions[row])
        (point,) = axes.plot([share], [y], "o", mfc="white", mec=colour, ms=5, clip_on=False)
        point.set_gid(f"too-few-{series}-{row}")
        # Written beside the point, on the side with room.
        span = limits[1] - limits[0]
        right = share < limits[0] + 0.7 * span
        axes.text(
            share + (0.02 if right else -0.02) * span,
            y,
            f"too few (n={estimate.n})",
            ha="left" if right else "right",
            va="center",
            fontsize=7,
            color="#4b5563",
        )
        drawn = True
    return drawn


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


# The same numbers draw the same SVG (no date, a fixed hash salt), so a heat map is kept: the
# agreement page draws one per judge, 70 ms each. The key holds everything drawn, and
# HEATMAP_VERSION: change it with the drawing.
HEATMAP_VERSION = 1
CHART_CACHE_SECONDS = 24 * 3600


def confusion_heatmap(labels: Sequence[str], counts: np.ndarray, title: str) -> SafeString:
    """Rows are the gold label, columns the judge's; each cell shows its count."""
    drawn = repr((HEATMAP_VERSION, matplotlib.__version__, list(labels), counts.tolist(), title))
    key = f"analysis:heatmap:{hashlib.sha256(drawn.encode()).hexdigest()}"
    kept = cache.get(key)
    if isinstance(kept, str):
        return mark_safe(kept)
    svg = _confusion_heatmap(labels, counts, title)
    cache.set(key, str(svg), CHART_CACHE_SECONDS)
    return svg


def _confusion_heatmap(labels: Sequence[str], counts: np.ndarray, title: str) -> SafeString:
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


def check_accuracy_over_time(
    series: Sequence[tuple[str, Sequence[tuple[datetime, float]]]],
    pause_below: float | None,
) -> SafeString:
    """Each annotator's accuracy on checks so far, after each check they answered (one line per
    annotator, named in the legend), with the campaign's pause threshold as a dashed line."""
    with matplotlib.rc_context(SVG_SETTINGS):
        figure = Figure(figsize=(7.5, 3.2))
        axes = figure.add_subplot()
        for index, (name, points) in enumerate(series):
            # Past six annotators the colours come round again, with another dash.
            style = "-" if index < len(PALETTE) else "--" if index < 2 * len(PALETTE) else ":"
            (line,) = axes.plot(
                date2num([when for when, _ in points]),
                [share for _, share in points],
                style,
                marker="o",
                ms=3,
                color=PALETTE[index % len(PALETTE)],
                label=name,
                clip_on=False,  # a line at 100% is drawn whole, not cut by the frame
            )
            line.set_gid(f"accuracy-{index}")  # lets a test find each annotator's line
        if pause_below is not None:
            threshold = axes.axhline(
                pause_below,
                linestyle="--",
                color="#6b7280",
                linewidth=1,
                label=f"paused below {pause_below * 100:g}%",
            )
            threshold.set_gid("pause-threshold")
        axes.set_ylim(0.0, 1.0)
        axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
        locator = AutoDateLocator()
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        axes.set_ylabel("accuracy on checks so far")
        axes.set_xlabel("time of the check (UTC)")
        axes.grid(axis="y", color="#e5e7eb")
        axes.set_axisbelow(True)
        axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, frameon=False, ncols=5)
        return _svg(figure)
