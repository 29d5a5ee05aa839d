"""The `shoprec` command end to end: exit codes, JSON summaries, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from shoprec.cli import cli

EVENTS = "user_id,item_id,event_type,timestamp\nu1,i1,view,2024-01-01\nu1,i2,purchase,2024-01-02\nu2,i1,view,2024-01-03\n"


def _shoprec(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from shoprec.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=120)


def test_ingest_json_summary_and_exit_codes(tmp_path: Path) -> None:
    good = tmp_path / "events.csv"
    good.write_text(EVENTS + "u3,i3,teleport,2024-01-01\n")
    ws = str(tmp_path / "ws")
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", str(good), "--workspace", ws, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["accepted"] == 3 and summary["duplicates"] == 0
    assert summary["rejected"] == {"unknown_event_type": 1}
    assert Path(summary["quarantine"]).exists()

    again = runner.invoke(cli, ["ingest", str(good), "--workspace", ws, "--json"])
    assert json.loads(again.stdout)["duplicates"] == 3  # valid rows read: exit 0
    assert again.exit_code == 0

    strict = runner.invoke(cli, ["ingest", str(good), "--workspace", str(tmp_path / "ws2"), "--strict"])
    assert strict.exit_code == 1

    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,item_id,event_type,timestamp\n,,view,2024-01-01\n")
    nothing = runner.invoke(cli, ["ingest", str(bad), "--workspace", ws])
    assert nothing.exit_code == 1


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    missing = _shoprec("ingest", str(tmp_path / "nope.csv"), "--workspace", str(tmp_path / "ws"))
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0
    assert "nope.csv" in missing.stderr and "Traceback" not in missing.stderr

    untrained = _shoprec("recommend", "--user", "u1", "--workspace", str(tmp_path / "ws"))
    assert untrained.returncode == 2
    assert "shoprec train" in untrained.stderr and "Traceback" not in untrained.stderr


def test_train_then_recommend_reflects_events_added_after_training(tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text(EVENTS)
    ws = str(tmp_path / "ws")
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(events), "--workspace", ws]).exit_code == 0
    trained = runner.invoke(cli, ["train", "--workspace", ws, "--models", "popularity", "--json"])
    assert trained.exit_code == 0, trained.output
    first = json.loads(runner.invoke(cli, ["recommend", "--workspace", ws, "--user", "u2", "--json"]).stdout)
    # popularity: i2 (one purchase, weight 5) before i1 (two views, 2); u2 has seen i1
    assert [r["item_id"] for r in first["items"]] == ["i2"]

    later = tmp_path / "later.csv"
    later.write_text("user_id,item_id,event_type,timestamp\nu2,i2,view,2024-02-01\n")
    assert runner.invoke(cli, ["ingest", str(later), "--workspace", ws]).exit_code == 0
    second = json.loads(runner.invoke(cli, ["recommend", "--workspace", ws, "--user", "u2", "--json"]).stdout)
    assert second["items"] == []  # both items now seen, no retraining needed to know it
    newcomer = json.loads(runner.invoke(cli, ["recommend", "--workspace", ws, "--user", "new", "--json", "--k", "5"]).stdout)
    assert [r["item_id"] for r in newcomer["items"]] == ["i2", "i1"]


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for name in ("generate", "ingest", "train", "evaluate", "recommend", "demo"):
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "--workspace" in result.output, name


def test_recommend_for_an_unknown_shopper_from_given_item_ids(tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text(EVENTS)
    ws = str(tmp_path / "ws")
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(events), "--workspace", ws]).exit_code == 0
    assert runner.invoke(cli, ["train", "--workspace", ws, "--models", "popularity"]).exit_code == 0
    answer = runner.invoke(cli, ["recommend", "--workspace", ws, "--user", "stranger", "--history", "i2", "--json"])
    assert answer.exit_code == 0, answer.output
    assert [r["item_id"] for r in json.loads(answer.stdout)["items"]] == ["i1"]  # i2 is in the given history
    unknown = _shoprec("recommend", "--workspace", ws, "--user", "s", "--history", "nope")
    assert unknown.returncode == 2 and "'nope' is not in bundle" in unknown.stderr
