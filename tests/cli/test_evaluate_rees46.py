"""`shoprec evaluate` on REES46 with a temporal split, checked against an independent computation.

The check below re-derives the protocol from its definition with plain pandas and Python:
exact repeats merged, the last 20% of events in time order (ties at the boundary go to test)
as test, popularity = summed event weights (view 1, cart 3, purchase 5) over train, items the
user had in train excluded and not counted as relevant, ties broken by item id.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from shoprec.cli import cli
from tests.conftest import shared_dataset

WEIGHTS = {"view": 1.0, "cart": 3.0, "purchase": 5.0}


def _independent_popularity_metrics(csv: Path, k: int) -> dict[str, float]:
    raw = pd.read_csv(csv, dtype=str).drop_duplicates()
    raw["t"] = pd.to_datetime(raw["event_time"].str.replace(" UTC", ""), utc=True)
    raw = raw.sort_values("t", kind="stable")
    n_test = round(len(raw) * 0.2)
    cutoff = raw["t"].iloc[len(raw) - n_test]
    train, test = raw[raw["t"] < cutoff], raw[raw["t"] >= cutoff]

    score = train.assign(w=train["event_type"].map(WEIGHTS)).groupby("product_id")["w"].sum()
    all_items = sorted(set(raw["product_id"]))
    ranking = sorted(all_items, key=lambda item: (-score.get(item, 0.0), item))

    seen = train.groupby("user_id")["product_id"].agg(set).to_dict()
    totals = {"ndcg": 0.0, "recall": 0.0, "precision": 0.0, "hit_rate": 0.0}
    users = 0
    for user, items in test.groupby("user_id")["product_id"]:
        had = seen.get(user, set())
        relevant = set(items) - had
        if not relevant:
            continue
        users += 1
        top = [item for item in ranking if item not in had][:k]
        hits = [item in relevant for item in top]
        dcg = sum(1 / math.log2(rank + 2) for rank, hit in enumerate(hits) if hit)
        idcg = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(relevant))))
        totals["ndcg"] += dcg / idcg
        totals["recall"] += sum(hits) / len(relevant)
        totals["precision"] += sum(hits) / k
        totals["hit_rate"] += float(any(hits))
    return {f"{name}@{k}": value / users for name, value in totals.items()} | {"users": users}


def test_evaluate_rees46_temporal_matches_an_independent_check(tmp_path: Path) -> None:
    csv = shared_dataset("rees46") / "2019-Oct.csv"
    ws = tmp_path / "ws"
    runner = CliRunner()
    ingested = runner.invoke(cli, ["ingest", "--format", "rees46", str(csv), "--workspace", str(ws), "--json"])
    assert ingested.exit_code == 0, ingested.output
    out_json, report = tmp_path / "eval.json", tmp_path / "eval.html"
    result = runner.invoke(cli, ["evaluate", "--workspace", str(ws), "--models", "popularity,random", "--split", "temporal",
                                 "--test-fraction", "0.2", "--k", "10,20", "--stage", "model",
                                     "--json-out", str(out_json), "--report", str(report)])
    assert result.exit_code == 0, result.output

    written = json.loads(out_json.read_text())
    assert set(written) >= {"dataset", "split", "results"}
    assert set(written["results"]) == {"popularity", "random"}
    for k in (10, 20):
        expected = _independent_popularity_metrics(csv, k)
        got = written["results"]["popularity"]
        assert written["split"]["n_evaluated_users"] == expected["users"]
        for metric in ("ndcg", "recall", "precision", "hit_rate"):
            assert math.isclose(got[f"{metric}@{k}"], expected[f"{metric}@{k}"], rel_tol=1e-9, abs_tol=1e-12), metric
    # The model stage: random's own lists (the engine would give its cold two thirds the popular fallback).
    assert written["results"]["popularity"]["ndcg@10"] > 10 * written["results"]["random"]["ndcg@10"]
    assert "train_seconds" in written["results"]["random"]

    html = report.read_text()
    assert "popularity" in html and "random" in html and "ndcg@10" in html.lower()
    assert html.count("<img") >= 2 and "data:image/png;base64," in html
