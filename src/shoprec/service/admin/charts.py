"""The dashboard's plots: matplotlib Figures (Agg, no pyplot: no global backend, no display), embedded
as base64 PNG, the same way as the evaluation report's. Each takes plain numbers and returns the PNG
as text, or None when there is nothing to draw.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# One colour per event type, stable across plots (matplotlib's tab10 order).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def stacked_days(days: Sequence[str], series: dict[str, Sequence[int]], title: str) -> str | None:
    """Bars per day, stacked by series (events by type)."""
    if not days or not any(sum(values) for values in series.values()):
        return None
    figure = _figure(7.5, 2.8)
    axes = figure.add_subplot()
    bottom = [0] * len(days)
    for i, (name, values) in enumerate(series.items()):
        axes.bar(range(len(days)), values, bottom=bottom, label=name, color=PALETTE[i % len(PALETTE)], width=0.8)
        bottom = [b + v for b, v in zip(bottom, values)]
    axes.set_xticks(range(len(days)), [d[5:] for d in days], fontsize=8)  # MM-DD
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))  # beside the bars, never over them
    _tidy(axes)
    return _png(figure)


def horizontal_bars(labels: Sequence[str], values: Sequence[float], title: str, *, unit: str = "") -> str | None:
    """One bar per label, largest first, with its value written beside it."""
    if not labels:
        return None
    order = sorted(range(len(labels)), key=lambda i: values[i])
    figure = _figure(7.5, 0.45 * len(labels) + 0.9)
    axes = figure.add_subplot()
    axes.barh([labels[i] for i in order], [values[i] for i in order], color=PALETTE[0])
    for y, i in enumerate(order):
        axes.text(values[i], y, f" {values[i]:,.4g}{unit}", va="center", fontsize=8)
    axes.set_title(title, fontsize=10)
    axes.tick_params(labelsize=8)
    _tidy(axes)
    return _png(figure)


def intervals(labels: Sequence[str], values: Sequence[float], lows: Sequence[float], highs: Sequence[float],
              title: str) -> str | None:
    """A point per label with its 95% interval (experiment variants' rates)."""
    if not labels:
        return None
    figure = _figure(7.5, 0.55 * len(labels) + 1.0)
    axes = figure.add_subplot()
    for y, (value, low, high) in enumerate(zip(values, lows, highs)):
        axes.plot([low, high], [y, y], color=PALETTE[y % len(PALETTE)], linewidth=3, alpha=0.5)
        axes.plot([value], [y], "o", color=PALETTE[y % len(PALETTE)])
        axes.text(high, y, f"  {value:.2%} [{low:.2%}, {high:.2%}]", va="center", fontsize=8)
    axes.set_yticks(range(len(labels)), list(labels), fontsize=9)
    axes.set_ylim(-0.7, len(labels) - 0.3)
    axes.set_title(title, fontsize=10)
    _tidy(axes)
    return _png(figure)


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _tidy(axes) -> None:  # type: ignore[no-untyped-def]
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
