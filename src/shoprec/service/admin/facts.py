"""What the dashboard shows, gathered from the workspace and the serving process: plain dicts of
numbers, with the plots drawn from them (charts.py). Nothing here loads a model."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

from shoprec.service.admin import charts

QUARANTINE_ROWS_READ = 1_000_000  # rows counted per dashboard view at most (the count then says "at least")


def data_volume(workspace: Path) -> dict[str, Any]:
    """Events by day and type (the last days of `shoprec status`), the store's size, and the plot."""
    from shoprec.operations.status import status

    facts = status(workspace)
    events = facts["events"]
    days = [row["day"] for row in events.get("by_day", [])]
    types = sorted({t for row in events.get("by_day", []) for t in row.get("by_type", {})})
    series = {t: [row.get("by_type", {}).get(t, 0) for row in events.get("by_day", [])] for t in types}
    return {"status": facts, "plot": charts.stacked_days(days, series, "Events per day, by type")}


def quarantine(workspace: Path) -> dict[str, Any]:
    """Rejected rows by reason over every quarantine file, and the plot."""
    counts: Counter[str] = Counter()
    files = sorted((Path(workspace) / "quarantine").glob("*.csv"))
    read = 0
    for path in files:
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            for row in csv.DictReader(handle):
                counts[row.get("reason") or "?"] += 1
                read += 1
                if read >= QUARANTINE_ROWS_READ:
                    break
        if read >= QUARANTINE_ROWS_READ:
            break
    reasons = [reason for reason, _ in counts.most_common()]
    return {"files": len(files), "rows": read, "capped": read >= QUARANTINE_ROWS_READ, "by_reason": dict(counts),
            "plot": charts.horizontal_bars(reasons, [counts[r] for r in reasons], "Quarantined rows by reason")}


def bundles(workspace: Path) -> dict[str, Any]:
    """Every bundle (newest first) with its validation number, and a plot of those numbers."""
    from shoprec.operations.bundles import list_bundles

    found = [b.to_dict() for b in reversed(list_bundles(workspace, sizes=False))]
    scored = [b for b in found if b["validation"]["value"] is not None][:12]
    plot = charts.horizontal_bars([b["version"][:24] for b in scored], [b["validation"]["value"] for b in scored],
                                  f"Validation {scored[0]['validation']['metric']} of each bundle's default model") if scored else None
    return {"list": found, "plot": plot}


def experiments(workspace: Path) -> dict[str, Any]:
    """Every experiment with its report (shoprec experiment report's numbers), running ones first,
    and for each a plot of its variants' primary rate with the 95% intervals."""
    from shoprec.experiments.definitions import ExperimentFile
    from shoprec.experiments.report import build_report
    from shoprec.experiments.shown import ShownLog, path_in

    known = sorted(ExperimentFile(workspace).all().values(), key=lambda e: (not e.running, e.name))
    if not known:
        return {"list": []}
    log = ShownLog(path_in(Path(workspace) / "store"))
    try:
        reports = [build_report(experiment, log) for experiment in known]
    finally:
        log.close()
    for report in reports:
        report["plot"] = _variant_plot(report)
    return {"list": reports}


def _variant_plot(report: dict[str, Any]) -> str | None:
    """CTR per variant with its interval (design ab); clicks credited per variant (interleaving)."""
    variants = report.get("variants") or {}
    if report.get("design") == "ab":
        shown = {name: v for name, v in variants.items() if v.get("ctr") is not None and v.get("ctr_ci")}
        return charts.intervals(list(shown), [v["ctr"] for v in shown.values()], [v["ctr_ci"][0] for v in shown.values()],
                                [v["ctr_ci"][1] for v in shown.values()], "Click-through rate per variant (95% interval)")
    counts = {name: float(v.get("clicks", 0) or 0) for name, v in variants.items()}
    return charts.horizontal_bars(list(counts), list(counts.values()), "Clicks credited per variant (team draft)")


def service(services: Any) -> dict[str, Any]:
    """Requests, errors and latency per route since the service started (over every worker when several
    serve), from the service's Prometheus metrics."""
    per_route: dict[str, dict[str, Any]] = {}
    for family in services.metrics.scrape_registry().collect():
        for sample in family.samples:
            route = sample.labels.get("route")
            if route is None:
                continue
            row = per_route.setdefault(f"{sample.labels.get('method', '')} {route}".strip(),
                                       {"requests": 0, "errors": 0, "buckets": {}})
            if sample.name == "shoprec_http_requests_total":
                row["requests"] += int(sample.value)
                if sample.labels.get("status", "").startswith("5"):
                    row["errors"] += int(sample.value)
            elif sample.name == "shoprec_http_request_duration_seconds_bucket":
                bound = float(sample.labels["le"])
                row["buckets"][bound] = row["buckets"].get(bound, 0) + sample.value
    rows = []
    for route, row in sorted(per_route.items(), key=lambda kv: -kv[1]["requests"]):
        if not row["requests"]:
            continue
        rows.append({"route": route, "requests": row["requests"], "errors": row["errors"],
                     "p50_ms": _quantile_ms(row["buckets"], 0.5), "p95_ms": _quantile_ms(row["buckets"], 0.95)})
    top = rows[:10]
    plot = charts.horizontal_bars([r["route"] for r in top if r["p95_ms"] is not None],
                                  [r["p95_ms"] for r in top if r["p95_ms"] is not None],
                                  "Latency p95 per route (upper bucket bound)", unit=" ms")
    return {"routes": rows, "requests": sum(r["requests"] for r in rows), "errors": sum(r["errors"] for r in rows),
            "plot": plot}


def _quantile_ms(buckets: dict[float, float], q: float) -> float | None:
    """The upper bound of the histogram bucket holding quantile `q` (cumulative counts), in ms."""
    if not buckets:
        return None
    total = buckets.get(float("inf"), max(buckets.values()))
    if not total:
        return None
    for bound in sorted(buckets):
        if buckets[bound] >= q * total:
            return None if bound == float("inf") else bound * 1000
    return None
