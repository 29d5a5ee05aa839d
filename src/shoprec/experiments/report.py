"""`shoprec experiment report`: per variant what was shown and what came of it, with the statistics.

Design ab (shoppers split between the variants): per variant the shoppers who were shown a list,
requests, impressions (items shown), clicks, CTR, add-to-cart rate and conversion rate (shares of
shoppers with at least one credited add-to-cart / purchase), purchases, revenue and revenue per
shopper, each rate with its 95% interval; per metric the difference B - A (the second variant
against the first) with its p-value (stats.py names each test); the sample-ratio-mismatch check;
and a winner on the primary metric (CTR) only when its p-value is below ALPHA and the split is
sound (SRM p-value at or above SRM_ALPHA).

Design interleaving (every shopper sees lists merged from both): per variant the clicks credited
to it and the requests it won; ties; the sign test's p-value; a winner when it is below ALPHA.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from shoprec.experiments import stats
from shoprec.experiments.attribution import Credited, attribute
from shoprec.experiments.definitions import Experiment
from shoprec.experiments.interleaving import credit, outcome
from shoprec.experiments.shown import ShownLog

ALPHA = 0.05
SRM_ALPHA = 0.001
PRIMARY = "ctr"
TESTS = {
    "ctr": "z-test on the delta-method variance of clicks/impressions over shoppers",
    "add_to_cart_rate": "two-proportion z-test (pooled) on shoppers with an add-to-cart",
    "conversion_rate": "two-proportion z-test (pooled) on shoppers with a purchase",
    "revenue_per_shopper": "Welch's t-test on revenue per shopper",
    "srm": "chi-square goodness of fit of shoppers per variant against the traffic split",
    "interleaving": "two-sided binomial sign test of requests won by A against requests won by B (ties left out)",
}


@dataclass
class _Shopper:
    requests: int = 0
    impressions: int = 0
    clicks: int = 0
    add_to_carts: int = 0
    purchases: int = 0
    revenue: float = 0.0


@dataclass
class _Variant:
    shoppers: dict[str, _Shopper] = field(default_factory=lambda: defaultdict(_Shopper))


def build_report(experiment: Experiment, log: ShownLog, now_ms: int | None = None) -> dict[str, Any]:
    """The report of `experiment` from the lists it answered and their outcomes so far."""
    served = {s.request_id: s for s in log.served_in(experiment.name)}
    window_ms = int(experiment.window_hours * 3_600_000)
    users = sorted({s.user_id for s in served.values() if s.user_id is not None})
    end = None if experiment.stopped_ms is None else experiment.stopped_ms + window_ms
    credited = attribute(served, log.outcomes_of(users, experiment.started_ms, end), window_ms)
    head: dict[str, Any] = {
        "name": experiment.name, "design": experiment.design, "surface": experiment.surface,
        "status": "running" if experiment.running else "stopped", "running": experiment.running,
        "started": _iso(experiment.started_ms), "stopped": None if experiment.stopped_ms is None else _iso(experiment.stopped_ms),
        "window_hours": experiment.window_hours, "alpha": ALPHA,
        "generated": _iso(int(time.time() * 1000) if now_ms is None else now_ms),
    }
    if experiment.design == "interleaving":
        return {**head, **interleaving_report(experiment, credited)}
    return {**head, **ab_report(experiment, credited)}


def ab_report(experiment: Experiment, credited: dict[str, Credited]) -> dict[str, Any]:
    """The A/B part of the report from the credited lists (`attribute`)."""
    variants = {name: _Variant() for name in experiment.names}
    for c in credited.values():
        if c.served.variant not in variants or c.served.user_id is None:
            continue
        shopper = variants[c.served.variant].shoppers[c.served.user_id]
        shopper.requests += 1
        shopper.impressions += len(c.served.items)
        shopper.clicks += len(c.clicks)
        shopper.add_to_carts += len(c.add_to_carts)
        shopper.purchases += len(c.purchases)
        shopper.revenue += c.revenue
    out = {name: _ab_variant(experiment, name, v) for name, v in variants.items()}
    control, treatment = experiment.names
    a, b = variants[control].shoppers.values(), variants[treatment].shoppers.values()
    ra, va = stats.ratio([s.clicks for s in a], [s.impressions for s in a])
    rb, vb = stats.ratio([s.clicks for s in b], [s.impressions for s in b])
    differences = {
        "ctr": _difference(ra, rb, stats.ratio_difference(ra, va, rb, vb)),
        "add_to_cart_rate": _share_difference(out[control], out[treatment], "add_to_cart_users"),
        "conversion_rate": _share_difference(out[control], out[treatment], "converted_users"),
        "revenue_per_shopper": _difference(out[control]["revenue_per_shopper"], out[treatment]["revenue_per_shopper"],
                                           stats.welch([s.revenue for s in a], [s.revenue for s in b])),
    }
    for metric, entry in differences.items():
        entry["test"] = TESTS[metric]
    srm_p = stats.sample_ratio([out[n]["users"] for n in experiment.names], experiment.traffic)
    srm = srm_p is not None and srm_p < SRM_ALPHA
    primary = differences[PRIMARY]
    winner = None
    if primary["p_value"] is not None and primary["p_value"] < ALPHA and not srm and primary["difference"]:
        winner = treatment if primary["difference"] > 0 else control
    return {"variants": out, "primary_metric": PRIMARY, "differences": differences, "p_value": primary["p_value"],
            "test": TESTS[PRIMARY], "srm_p_value": srm_p, "srm": srm, "srm_test": TESTS["srm"], "winner": winner}


def _ab_variant(experiment: Experiment, name: str, variant: _Variant) -> dict[str, Any]:
    shoppers = list(variant.shoppers.values())
    n = len(shoppers)
    ctr, ctr_var = stats.ratio([s.clicks for s in shoppers], [s.impressions for s in shoppers])
    carted = sum(1 for s in shoppers if s.add_to_carts)
    converted = sum(1 for s in shoppers if s.purchases)
    revenue, revenue_ci = stats.mean_ci([s.revenue for s in shoppers])
    return {
        "target": experiment.variants[name], "share": experiment.traffic[experiment.names.index(name)],
        "users": n, "requests": sum(s.requests for s in shoppers), "impressions": sum(s.impressions for s in shoppers),
        "clicks": sum(s.clicks for s in shoppers), "ctr": ctr, "ctr_ci": _pair(stats.normal_ci(ctr, ctr_var)),
        "add_to_carts": sum(s.add_to_carts for s in shoppers), "add_to_cart_users": carted,
        "add_to_cart_rate": carted / n if n else None, "add_to_cart_rate_ci": _pair(stats.wilson(carted, n)),
        "purchases": sum(s.purchases for s in shoppers), "converted_users": converted,
        "conversion_rate": converted / n if n else None, "conversion_rate_ci": _pair(stats.wilson(converted, n)),
        "revenue": round(sum(s.revenue for s in shoppers), 6),
        "revenue_per_shopper": revenue, "revenue_per_shopper_ci": _pair(revenue_ci),
    }


def interleaving_report(experiment: Experiment, credited: dict[str, Credited]) -> dict[str, Any]:
    """The interleaving part of the report: clicks credited per team, requests won, the sign test."""
    teams = (experiment.names[0], experiment.names[1])
    out = {name: {"target": experiment.variants[name], "impressions": 0, "clicks": 0, "wins": 0,
                  "add_to_carts": 0, "purchases": 0, "revenue": 0.0} for name in teams}
    users: set[str] = set()
    ties = requests = clicked = 0
    for c in credited.values():
        slots = c.served.teams or []
        requests += 1
        if c.served.user_id is not None:
            users.add(c.served.user_id)
        for team in slots:
            if team in out:
                out[team]["impressions"] += 1
        counts = credit(slots, c.clicks)
        for team, n in counts.items():
            if team in out:
                out[team]["clicks"] += n
        for kind, positions in (("add_to_carts", c.add_to_carts), ("purchases", c.purchases)):
            for team, n in credit(slots, positions).items():
                if team in out:
                    out[team][kind] += n
        won = outcome(counts, teams)
        clicked += bool(c.clicks)
        if won is None:
            ties += 1
        else:
            out[won]["wins"] += 1
    for entry in out.values():
        entry["users"] = len(users)
        entry["ctr"] = entry["clicks"] / entry["impressions"] if entry["impressions"] else None
        entry["ctr_ci"] = _pair(stats.wilson(entry["clicks"], entry["impressions"]))
    wins_a, wins_b = out[teams[0]]["wins"], out[teams[1]]["wins"]
    p = stats.sign_test(wins_a, wins_b)
    winner = None if p is None or p >= ALPHA or wins_a == wins_b else teams[0] if wins_a > wins_b else teams[1]
    return {"variants": out, "requests": requests, "requests_with_clicks": clicked, "ties": ties,
            "primary_metric": "wins", "p_value": p, "test": TESTS["interleaving"],
            "srm_p_value": None, "srm": False, "winner": winner}


def _difference(a: float | None, b: float | None, p: float | None) -> dict[str, Any]:
    return {"difference": None if a is None or b is None else b - a, "p_value": p}


def _share_difference(a: dict[str, Any], b: dict[str, Any], key: str) -> dict[str, Any]:
    metric = "add_to_cart_rate" if key == "add_to_cart_users" else "conversion_rate"
    return _difference(a[metric], b[metric], stats.two_proportions(a[key], a["users"], b[key], b["users"]))


def _pair(interval: tuple[float, float] | None) -> list[float] | None:
    return None if interval is None else [interval[0], interval[1]]


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))
