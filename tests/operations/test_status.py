"""`status`: the workspace's numbers, each checked against the store itself."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from shoprec.bundle import MANIFEST, bundles_dir, set_current
from shoprec.cli.generate import generate_into_store
from shoprec.data.store import Store
from shoprec.operations.status import BACKLOG_WARNING, DAYS, status


def _live_events(n: int) -> pd.DataFrame:
    return pd.DataFrame({"user_id": ["live-shopper"] * n, "item_id": [f"i{i:06d}" for i in range(1, n + 1)],
                         "event_type": ["purchase"] * n,
                         "timestamp": pd.to_datetime(["2024-10-15T10:00:00Z"] * n, utc=True)})


def test_status_counts_what_the_store_holds(workspace: Path) -> None:
    store = Store(workspace)
    try:
        generate_into_store(store, 60, 40, 2000, 3, "en", 30, "2024-09-01")
        store.append_events(_live_events(7))
        events = store.read_events()
        counts = store.counts()
    finally:
        store.close()
    found = status(workspace)
    assert found["store"]["live_backlog"] == 7
    assert found["events"]["total"] == counts["events"] == len(events)
    assert found["events"]["by_type"] == events["event_type"].value_counts().to_dict()
    assert (found["store"]["items"], found["store"]["users"], found["store"]["segments"]) == (
        counts["items"], counts["users"], counts["segments"])
    assert found["store"]["bytes"] > 0
    days = events["timestamp"].dt.strftime("%Y-%m-%d")
    assert found["events"]["last_day"] == days.max() and found["events"]["first_day"] == days.min()
    shown = found["events"]["by_day"]
    assert len(shown) == DAYS and shown[-1]["day"] == days.max()
    per_day = days.value_counts()
    assert all(row["events"] == per_day.get(row["day"], 0) for row in shown)
    assert found["bundles"]["current"] is None and found["bundles"]["count"] == 0
    assert [w["code"] for w in found["warnings"]] == ["no_bundle"]
    assert json.loads(json.dumps(found)) == found  # one JSON object


def test_status_describes_the_current_bundle_and_what_arrived_since(workspace: Path) -> None:
    store = Store(workspace)
    try:
        generate_into_store(store, 60, 40, 2000, 3, "en", 30, "2024-09-01")
        stored = store.counts()["events"]
    finally:
        store.close()
    for version, events in (("20250301T000000Z-1", stored - 10), ("20250302T000000Z-1", stored - 5)):
        (bundles_dir(workspace) / version).mkdir(parents=True)
        manifest = {"version": version, "created": "2025-03-01T12:00:00Z", "default_model": "fusion:rrf",
                    "data": {"events": events},
                    "metrics": {"validation": {"definition": {}, "values": {"fusion:rrf": 0.125}}}}
        (bundles_dir(workspace) / version / MANIFEST).write_text(json.dumps(manifest))
        set_current(workspace, version)
    found = status(workspace, now=pd.Timestamp("2025-03-02T12:00:00Z").timestamp())
    current = found["bundles"]["current"]
    assert current["version"] == "20250302T000000Z-1" and current["default_model"] == "fusion:rrf"
    assert current["validation"] == {"metric": "ndcg@10", "value": 0.125}
    assert current["age_seconds"] == 86400.0 and current["trained_on_events"] == stored - 5
    assert found["bundles"]["previous"] == "20250301T000000Z-1" and found["bundles"]["count"] == 2
    assert [w["code"] for w in found["warnings"]] == ["events_since_training"]
    assert "5 events stored since" in found["warnings"][0]["message"]
    assert found["store"]["live_backlog"] < BACKLOG_WARNING


def test_status_of_an_empty_workspace_creates_nothing(workspace: Path) -> None:
    workspace.mkdir()
    found = status(workspace)
    assert found["events"]["total"] == 0 and found["store"]["live_backlog"] == 0
    assert list(workspace.iterdir()) == []


def test_status_lists_the_running_experiments_only(workspace: Path) -> None:
    from shoprec.experiments.definitions import ExperimentFile, new_experiment

    experiments = ExperimentFile(workspace)
    experiments.start(new_experiment("first", [("A", "itemknn"), ("B", "popularity")], traffic=[70, 30]))
    experiments.start(new_experiment("second", [("A", "itemknn"), ("B", "ease")], surface="similar"))
    experiments.stop("second")
    running = status(workspace)["experiments"]
    assert [e["name"] for e in running] == ["first"]
    assert running[0]["variants"] == {"A": "itemknn", "B": "popularity"} and running[0]["traffic"] == [0.7, 0.3]
