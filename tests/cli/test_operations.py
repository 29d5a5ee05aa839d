"""`shoprec status`, `compact`, `bundles list|promote|rollback|prune` and `train --promote-if-better`
on a small trained shop."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from shoprec.bundle import bundles_dir, current_version
from shoprec.cli import cli
from shoprec.cli.generate import generate_into_store
from shoprec.data.store import Store


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _ok(*args: str) -> Result:
    result = _run(*args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def trained_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic shop with one item-kNN bundle, current."""
    workspace = tmp_path_factory.mktemp("ops-shop") / "ws"
    store = Store(workspace)
    try:
        generate_into_store(store, 150, 80, 5000, 7, "en", 30, "2024-09-01")
    finally:
        store.close()
    _ok("train", "--workspace", str(workspace), "--models", "itemknn", "--param", "itemknn.neighbours=20", "-q")
    return workspace


@pytest.fixture
def shop(trained_template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(trained_template, tmp_path / "ws"))


def _append_live(workspace: Path, n: int) -> None:
    store = Store(workspace)
    try:
        store.append_events(pd.DataFrame({
            "user_id": [f"u{i:06d}" for i in range(1, n + 1)], "item_id": ["i000001"] * n,
            "event_type": ["purchase"] * n, "timestamp": pd.to_datetime(["2024-09-30T12:00:00Z"] * n, utc=True)}))
    finally:
        store.close()


def test_status_and_compact(shop: Path) -> None:
    _append_live(shop, 4)
    before = json.loads(_ok("status", "--workspace", str(shop), "--json").output)
    store = Store(shop)
    try:
        counts = store.counts()
    finally:
        store.close()
    assert before["store"]["live_backlog"] == 4 and before["events"]["total"] == counts["events"]
    assert before["bundles"]["current"]["version"] == current_version(shop)
    assert before["bundles"]["current"]["default_model"] == "itemknn"
    compacted = json.loads(_ok("compact", "--workspace", str(shop), "--json").output)
    assert compacted["moved"] == 4 and compacted["segments"] == before["store"]["segments"] + 1
    after = json.loads(_ok("status", "--workspace", str(shop), "--json").output)
    assert after["store"]["live_backlog"] == 0 and after["events"]["total"] == before["events"]["total"]
    assert after["events"]["by_type"] == before["events"]["by_type"]
    assert "nothing to compact" in _ok("compact", "--workspace", str(shop)).output
    human = _ok("status", "--workspace", str(shop)).output
    assert current_version(shop) in human and "0 events not compacted" in human


def test_promote_rollback_prune(shop: Path) -> None:
    first = current_version(shop)
    assert first is not None
    _ok("train", "--workspace", str(shop), "--models", "popularity", "-q")
    second = current_version(shop)
    assert second != first
    listed = json.loads(_ok("bundles", "list", "--workspace", str(shop), "--json").output)
    assert [(b["version"], b["current"], b["previous"]) for b in listed] == [(first, False, True), (second, True, False)]

    rolled = _ok("bundles", "rollback", "--workspace", str(shop)).output
    assert current_version(shop) == first and "loads it within seconds" in rolled
    promoted = _ok("bundles", "promote", second, "--workspace", str(shop)).output
    assert current_version(shop) == second and f"was {first}" in promoted and "loads it within seconds" in promoted

    # A damaged bundle is refused the way the service refuses it; CURRENT stays.
    damaged = bundles_dir(shop) / first / "items.json"
    kept = damaged.read_text()
    damaged.write_text("[1, 2")
    refused = _run("bundles", "promote", first, "--workspace", str(shop))
    assert refused.exit_code != 0 and "damaged bundle" in str(refused.exception) and current_version(shop) == second
    damaged.write_text(kept)
    assert _run("bundles", "promote", "no-such-bundle", "--workspace", str(shop)).exit_code != 0
    assert _run("bundles", "promote", "../bundles", "--workspace", str(shop)).exit_code != 0
    assert current_version(shop) == second

    _ok("train", "--workspace", str(shop), "--models", "popularity", "-q")
    third = current_version(shop)
    pruned = _ok("bundles", "prune", "--keep", "0", "--workspace", str(shop), "--json").output
    # The current (third) and the previous one (second) stay; the first goes.
    assert json.loads(pruned)["removed"] == [first]
    assert sorted(p.name for p in bundles_dir(shop).iterdir() if p.is_dir()) == [second, third]
    _ok("bundles", "rollback", "--workspace", str(shop))
    assert current_version(shop) == second


def _train_gated(shop: Path, *models: str) -> dict:
    result = _ok("train", "--workspace", str(shop), "--models", ",".join(models), "--promote-if-better", "--json", "-q")
    return json.loads(result.output)


def test_the_gate_keeps_a_worse_bundle_out_and_lets_a_better_one_in(shop: Path) -> None:
    champion = current_version(shop)
    worse = _train_gated(shop, "random")
    gate = worse["gate"]
    assert not gate["promoted"] and current_version(shop) == champion  # written, not current
    assert Path(worse["bundle"]).is_dir() and gate["champion"] == champion
    assert gate["challenger_value"] < gate["champion_value"]
    assert gate["champion_source"] == "re-scored on this data"  # a single model records no validation number
    listed = {b["version"]: b for b in json.loads(_ok("bundles", "list", "--workspace", str(shop), "--json").output)}
    assert listed[gate["challenger"]]["validation"]["value"] == pytest.approx(gate["challenger_value"])  # kept

    _ok("bundles", "promote", gate["challenger"], "--workspace", str(shop))  # random is the champion now
    better = _train_gated(shop, "itemknn")["gate"]
    assert better["promoted"] and current_version(shop) == better["challenger"]
    assert better["challenger_value"] > better["champion_value"]
    assert better["champion_value"] == pytest.approx(gate["challenger_value"])  # the same split, the same number


def test_the_gate_reuses_a_number_only_on_the_same_data(shop: Path) -> None:
    first = _train_gated(shop, "itemknn", "popularity")["gate"]  # fusion: training records its numbers
    assert first["promoted"]
    again = _train_gated(shop, "itemknn", "popularity")["gate"]
    assert again["champion_source"] == "recorded on the same data"
    assert again["promoted"] and again["challenger_value"] == pytest.approx(again["champion_value"])  # a tie promotes
    _append_live(shop, 3)
    changed = _train_gated(shop, "itemknn", "popularity")["gate"]
    assert changed["champion_source"] == "re-scored on this data"


def test_the_gate_refuses_what_it_cannot_compare(shop: Path) -> None:
    refused = _run("train", "--workspace", str(shop), "--models", "popularity", "--promote-if-better", "--metric",
                   "recall@20")
    assert refused.exit_code != 0 and "ndcg@10" in str(refused.exception)


def test_evaluate_keeps_each_runs_report(shop: Path) -> None:
    args = ("evaluate", "--workspace", str(shop), "--models", "popularity", "--fusion", "none", "--k", "10")
    _ok(*args)
    _ok(*args)
    reports = shop / "reports"
    runs = sorted(p for p in reports.iterdir() if p.is_dir())
    assert len(runs) == 2 and all((run / "evaluation.html").is_file() and (run / "evaluation.json").is_file()
                                  for run in runs)
    assert (reports / "evaluation.html").read_bytes() == (runs[-1] / "evaluation.html").read_bytes()
    assert (reports / "evaluation.json").read_bytes() == (runs[-1] / "evaluation.json").read_bytes()
