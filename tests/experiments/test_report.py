"""The report's statistics against a case worked out by hand (formulas written out here, not the
code's), sample-ratio mismatch, and the interleaving report."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from scipy import stats as scipy_stats

from shoprec.experiments.definitions import new_experiment
from shoprec.experiments.report import build_report
from shoprec.experiments.shown import Outcome, Served, ShownLog

START = int(time.time() * 1000) - 3_600_000  # recent: older rows are pruned (90 days)


def _phi_two_sided(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))  # 2 * (1 - Phi(|z|))


def _log(tmp_path: Path) -> ShownLog:
    return ShownLog(tmp_path / "shown.sqlite")


def _shopper(log: ShownLog, user: str, variant: str, clicks: int, revenue: float, t: int) -> None:
    """One list of 10 items shown to `user`, `clicks` of them clicked, and a purchase of `revenue`
    (no request id: credited to the latest click) when positive."""
    items = [f"{user}-item{p}" for p in range(1, 11)]
    log.record_served(Served(f"req-{user}", START + t, user, "recommendations", "hand", variant, items))
    outcomes = [Outcome(START + t + 10 + p, user, items[p - 1], "click", request_id=f"req-{user}", position=p)
                for p in range(1, clicks + 1)]
    if revenue:
        outcomes.append(Outcome(START + t + 100, user, items[0], "purchase", revenue))
    log.record_outcomes(outcomes)


def test_ab_report_matches_the_hand_computed_case(tmp_path: Path) -> None:
    log = _log(tmp_path)
    experiment = new_experiment("hand", [("A", "itemknn"), ("B", "ease")], now_ms=START)
    # A: clicks 1, 0, 2 of 10 each; revenue 10, 0, 0.  B: clicks 3, 2, 4; revenue 20, 15, 0.
    for i, (user, variant, clicks, revenue) in enumerate([("a1", "A", 1, 10.0), ("a2", "A", 0, 0.0), ("a3", "A", 2, 0.0),
                                                          ("b1", "B", 3, 20.0), ("b2", "B", 2, 15.0), ("b3", "B", 4, 0.0)]):
        _shopper(log, user, variant, clicks, revenue, 1000 * i)
    report = build_report(experiment, log)
    a, b = report["variants"]["A"], report["variants"]["B"]
    assert (a["users"], a["impressions"], a["clicks"], b["users"], b["impressions"], b["clicks"]) == (3, 30, 3, 3, 30, 9)

    # CTR by the delta method: R = 3/30; y - R x = 0, -1, 1; sample variance 1; Var(R) = 1 / (3 * 10^2)
    assert a["ctr"] == pytest.approx(0.1) and b["ctr"] == pytest.approx(0.3)
    half = 1.959964 * math.sqrt(1 / 300)
    assert a["ctr_ci"] == pytest.approx([0.1 - half, 0.1 + half], rel=1e-5)
    assert b["ctr_ci"] == pytest.approx([0.3 - half, 0.3 + half], rel=1e-5)
    z = 0.2 / math.sqrt(2 / 300)  # 2.449
    assert report["differences"]["ctr"]["difference"] == pytest.approx(0.2)
    assert report["p_value"] == pytest.approx(_phi_two_sided(z), rel=1e-6)
    assert report["p_value"] == pytest.approx(0.01431, abs=1e-4)

    # Conversion: 1 of 3 against 2 of 3; pooled 0.5, se = sqrt(0.25 * 2/3); Wilson intervals
    assert a["conversion_rate"] == pytest.approx(1 / 3) and b["conversion_rate"] == pytest.approx(2 / 3)
    zc = (2 / 3 - 1 / 3) / math.sqrt(0.25 * (2 / 3))
    assert report["differences"]["conversion_rate"]["p_value"] == pytest.approx(_phi_two_sided(zc), rel=1e-6)
    n, p, z95 = 3, 1 / 3, 1.959964
    centre = (p + z95**2 / (2 * n)) / (1 + z95**2 / n)
    spread = z95 / (1 + z95**2 / n) * math.sqrt(p * (1 - p) / n + z95**2 / (4 * n**2))
    assert a["conversion_rate_ci"] == pytest.approx([centre - spread, centre + spread], rel=1e-5)

    # Revenue per shopper: means 10/3 and 35/3; Welch's t and Welch-Satterthwaite degrees of freedom
    va, vb = sum((x - 10 / 3) ** 2 for x in (10, 0, 0)) / 2, sum((x - 35 / 3) ** 2 for x in (20, 15, 0)) / 2
    t = (35 / 3 - 10 / 3) / math.sqrt(va / 3 + vb / 3)
    df = (va / 3 + vb / 3) ** 2 / ((va / 3) ** 2 / 2 + (vb / 3) ** 2 / 2)
    assert report["differences"]["revenue_per_shopper"]["p_value"] == pytest.approx(2 * scipy_stats.t.sf(t, df), rel=1e-6)
    assert a["revenue_per_shopper"] == pytest.approx(10 / 3) and b["revenue"] == pytest.approx(35.0)
    ta = scipy_stats.t.ppf(0.975, 2) * math.sqrt(va / 3)
    assert a["revenue_per_shopper_ci"] == pytest.approx([10 / 3 - ta, 10 / 3 + ta], rel=1e-6)

    # SRM: 3 and 3 at 50/50: chi-square 0, p 1; CTR significant: B wins
    assert report["srm_p_value"] == pytest.approx(1.0) and report["srm"] is False
    assert report["winner"] == "B"
    assert set(report) >= {"name", "design", "variants", "p_value", "srm_p_value", "winner"}


def test_a_sample_ratio_mismatch_is_flagged_and_names_no_winner(tmp_path: Path) -> None:
    log = _log(tmp_path)
    experiment = new_experiment("hand", [("A", "itemknn"), ("B", "ease")], now_ms=START)
    for i in range(60):  # 60 against 40 at 50/50... at n=100, chi-square 4: p 0.0455, not yet a mismatch
        _shopper(log, f"a{i}", "A", 0, 0.0, i)
    for i in range(40):
        _shopper(log, f"b{i}", "B", 5, 0.0, 100 + i)
    report = build_report(experiment, log)
    assert report["srm_p_value"] == pytest.approx(math.erfc(math.sqrt(4.0 / 2)), rel=1e-6)  # chi-square, 1 df
    assert report["srm"] is False and report["winner"] == "B"
    for i in range(60, 300):  # 300 against 40: chi-square (130^2 + 130^2) / 170 = 198.8
        _shopper(log, f"a{i}", "A", 0, 0.0, 1000 + i)
    report = build_report(experiment, log)
    assert report["srm_p_value"] == pytest.approx(math.erfc(math.sqrt(2 * 130**2 / 170 / 2)), rel=1e-6)
    assert report["srm"] is True and report["winner"] is None  # CTR differs hugely, but the split is broken


def test_identical_variants_name_no_winner(tmp_path: Path) -> None:
    log = _log(tmp_path)
    experiment = new_experiment("hand", [("A", "itemknn"), ("B", "itemknn")], now_ms=START)
    for i in range(20):
        _shopper(log, f"a{i}", "A", i % 3, 0.0, i)
        _shopper(log, f"b{i}", "B", (i + 1) % 3, 0.0, 100 + i)
    report = build_report(experiment, log)
    assert report["p_value"] > 0.05 and report["winner"] is None


def test_interleaving_report_credits_clicks_and_counts_wins(tmp_path: Path) -> None:
    log = _log(tmp_path)
    experiment = new_experiment("mix", [("A", "itemknn"), ("B", "ease")], design="interleaving", now_ms=START)
    teams = ["A", "B", "A", "B"]
    # 9 requests won by B (a click on slot 2), 1 won by A (slot 1), 2 ties (slots 1 and 2), 3 without clicks
    plan = [[2]] * 9 + [[1]] + [[1, 2]] * 2 + [[]] * 3
    for r, clicks in enumerate(plan):
        rid = f"r{r}"
        log.record_served(Served(rid, START + r, f"u{r}", "recommendations", "mix", "interleaved", ["w", "x", "y", "z"], teams))
        log.record_outcomes([Outcome(START + r + 5, f"u{r}", "wxyz"[p - 1], "click", request_id=rid, position=p) for p in clicks])
    report = build_report(experiment, log)
    assert report["variants"]["A"]["wins"] == 1 and report["variants"]["B"]["wins"] == 9
    assert report["ties"] == 5 and report["requests"] == 15 and report["requests_with_clicks"] == 12
    assert report["variants"]["A"]["clicks"] == 3 and report["variants"]["B"]["clicks"] == 11
    assert report["variants"]["A"]["impressions"] == 30
    # sign test by hand: P(X <= 1 or X >= 9), X ~ Binomial(10, 1/2) = 2 * (1 + 10) / 1024
    assert report["p_value"] == pytest.approx(22 / 1024)
    assert report["winner"] == "B"
