"""A single self-contained HTML page of an evaluation: setup, metric tables and plots.

Plots are drawn on bare matplotlib Figures (rendered by Agg, without pyplot, so no global
backend is switched and nothing needs a display) and embedded as base64 PNG: the page needs no
network and can be mailed or attached to a CI run as one file.
"""

from __future__ import annotations

import base64
import io
import math
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from shoprec.atomic import write_atomic
from shoprec.evaluation.metrics import METRICS
from shoprec.evaluation.runner import EvaluationResult

if TYPE_CHECKING:  # imported where a plot is drawn: matplotlib costs 0.6 s at start-up
    from matplotlib.figure import Figure

BAR_METRICS = ("ndcg", "recall")
CURVE_METRICS = ("ndcg", "recall", "precision", "hit_rate")
TIMINGS = ("train_seconds", "predict_seconds")
METRIC_LABELS = {
    "precision": "Precision", "recall": "Recall", "map": "MAP", "ndcg": "NDCG", "mrr": "MRR",
    "hit_rate": "Hit rate", "coverage": "Coverage", "novelty": "Novelty", "diversity": "Diversity",
    "train_seconds": "Train (s)", "predict_seconds": "Predict (s)",
}


def write_report(result: EvaluationResult, path: Path) -> None:
    """Write the HTML report of `result` to `path`."""
    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        resources.files("shoprec.evaluation").joinpath("report.html").read_text(encoding="utf-8")
    )
    html = template.render(
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        dataset=result.dataset,
        split=_split_rows(result.split),
        models=result.models,
        tables=[_metric_table(result, k) for k in result.ks],
        stage=result.stage,
        stages=_stage_table(result),
        timings=_table(result, list(TIMINGS), higher_is_better=False),
        bar_chart=_png(_bar_chart(result)),
        curve_chart=_png(_curve_chart(result)) if result.curves else None,
        labels=METRIC_LABELS,
        fusion=_fusion_section(result.fusion) if result.fusion else None,
    )
    # Whole or not at all: the storefront serves this file, maybe while an evaluation rewrites it.
    write_atomic(Path(path), html)


def _split_rows(split: dict[str, Any]) -> list[tuple[str, str]]:
    """The split's settings and counts as label/value pairs."""
    rows = []
    for key, value in split.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "defaults"
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        rows.append((key.replace("_", " "), str(value)))
    return rows


STAGE_METRICS = ("ndcg", "recall", "coverage", "diversity")


def _stage_table(result: EvaluationResult) -> dict[str, Any] | None:
    """Engine against model stage, per model, at the first K: what the engine's steps (exclusions,
    stock, diversity, fallbacks) cost or gain. None when the model stage was not measured; rows
    only where the two differ."""
    if not result.model_stage:
        return None
    k = result.ks[0]
    keys = [f"{m}@{k}" for m in STAGE_METRICS]
    rows = []
    for name, raw in result.model_stage.items():
        served = result.results.get(name, {})
        pairs = [(served.get(key), raw.get(key)) for key in keys]
        if all(a is None or b is None or a != a or b != b or abs(a - b) < 1e-9 for a, b in pairs):
            continue
        rows.append({"model": name, "cells": [f"{_fmt(a)} / {_fmt(b)}" for a, b in pairs]})
    return {"k": k, "headers": keys, "rows": rows}


def _fmt(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.4f}"


def _metric_table(result: EvaluationResult, k: int) -> dict[str, Any]:
    present = {key.split("@")[0] for scores in result.results.values() for key in scores if key.endswith(f"@{k}")}
    columns = [f"{name}@{k}" for name in METRICS if name in present]
    return {"k": k, **_table(result, columns, higher_is_better=True)}


def _table(result: EvaluationResult, columns: list[str], higher_is_better: bool) -> dict[str, Any]:
    """Rows of formatted cells, the best of each column flagged for bold."""
    best: dict[str, float] = {}
    for column in columns:
        values = [v for v in (s.get(column) for s in result.results.values()) if _finite(v)]
        if values:
            best[column] = max(values) if higher_is_better else min(values)
    rows = []
    for model, scores in result.results.items():
        cells = [
            {"text": _format(scores.get(column)), "best": _finite(scores.get(column)) and scores[column] == best.get(column)}
            for column in columns
        ]
        rows.append({"model": model, "cells": cells})
    headers = [METRIC_LABELS.get(c.split("@")[0], c) for c in columns]
    return {"headers": headers, "rows": rows}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _format(value: Any) -> str:
    if not _finite(value):
        return "–"
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _bar_chart(result: EvaluationResult) -> Figure:
    """NDCG@k and recall@k per model, one bar per k."""
    models = list(result.results)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.5 * len(BAR_METRICS), 3.6), layout="tight")
    axes = figure.subplots(1, len(BAR_METRICS), squeeze=False)
    width = 0.8 / len(result.ks)
    for ax, metric in zip(axes[0], BAR_METRICS, strict=True):
        for i, k in enumerate(result.ks):
            values = [_or_zero(result.results[m].get(f"{metric}@{k}")) for m in models]
            ax.bar([x + (i - (len(result.ks) - 1) / 2) * width for x in range(len(models))], values, width, label=f"@{k}")
        ax.set_xticks(range(len(models)), models, rotation=20 if len(models) > 4 else 0)
        ax.set_title(METRIC_LABELS[metric])
        ax.grid(axis="y", alpha=0.3)
        ax.legend(frameon=False)
    return figure


def _curve_chart(result: EvaluationResult) -> Figure:
    """Each metric against K, one line per model."""
    columns = 2
    rows = math.ceil(len(CURVE_METRICS) / columns)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.5 * columns, 3.4 * rows), layout="tight")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, metric in zip(axes, CURVE_METRICS, strict=True):
        for model, scores in result.curves.items():
            points = sorted((int(key.split("@")[1]), v) for key, v in scores.items() if key.startswith(f"{metric}@"))
            ax.plot([k for k, _ in points], [_or_zero(v) for _, v in points], marker="o", label=model)
            ax.set_xticks([k for k, _ in points])
        ax.set_title(f"{METRIC_LABELS[metric]} against K")
        ax.set_xlabel("K")
        ax.grid(alpha=0.3)
    axes[0].legend(frameon=False)
    return figure


def _fusion_section(fusion: dict[str, Any]) -> dict[str, Any]:
    """What fusion learned, formatted for the template (importances as a chart and a table)."""
    importances = [(name, f"{share:.1%}") for name, share in fusion.get("ltr_importances", {}).items() if share > 0]
    chart = None
    if importances:
        from matplotlib.figure import Figure

        top = list(fusion["ltr_importances"].items())[:20][::-1]
        figure = Figure(figsize=(7, 0.28 * len(top) + 0.8), layout="tight")
        ax = figure.subplots()
        ax.barh([name for name, _ in top], [share for _, share in top])
        ax.set_xlabel("share of total gain")
        ax.grid(axis="x", alpha=0.3)
        chart = _png(figure)
    return {
        "members": fusion.get("members", []),
        "best": fusion.get("best_on_validation"),
        "validation_users": fusion.get("info", {}).get("n_validation_users", "?"),
        "validation": [(name, _format(value)) for name, value in fusion.get("validation_ndcg@10", {}).items()],
        "weights": [(method, [(n, f"{w:.3f}") for n, w in weights.items()]) for method, weights in fusion.get("weights", {}).items()],
        "importances": importances,
        "importance_chart": chart,
    }


def _or_zero(value: Any) -> float:
    return float(value) if _finite(value) else 0.0
