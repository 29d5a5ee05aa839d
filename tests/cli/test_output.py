"""What a command writes where: progress lines on stderr also when it is a file, nothing with
--quiet; with --json, stdout is the JSON alone; the old `--json FILE` still writes the file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shoprec import progress
from shoprec.cli import cli

# "<label>: 5,000 rows in 1.2 s, 4,100 rows/s": a count, a duration and a rate
FINAL_LINE = re.compile(r"^(?P<label>.+): (?P<done>[\d,]+) (?P<unit>\w+) in [\d.]+ (s|min \d+ s), [\d,.]+ (?P=unit)/s$")
SHOP = ["--users", "120", "--items", "60", "--events", "5000", "--seed", "5"]


def run_shoprec(args: list[str], stderr_file: Path) -> subprocess.CompletedProcess[str]:
    """The real command in a child process, stderr redirected to a file; progress left to its default
    (the test suite turns it off for everything else, and a child would inherit that)."""
    env = {k: v for k, v in os.environ.items() if k not in (progress.PROGRESS_ENV, progress.VERBOSITY_ENV)}
    with stderr_file.open("w") as stderr:
        return subprocess.run([sys.executable, "-c", "from shoprec.cli import main; main()", *args], stdout=subprocess.PIPE,
                              stderr=stderr, text=True, env=env, timeout=300)


def test_progress_lines_go_to_a_redirected_stderr_and_quiet_silences_them(tmp_path: Path) -> None:
    log = tmp_path / "stderr.txt"
    done = run_shoprec(["generate", "--workspace", str(tmp_path / "ws"), *SHOP], log)
    assert done.returncode == 0, log.read_text()
    finals = {m["label"]: m for m in map(FINAL_LINE.match, log.read_text().splitlines()) if m}
    assert int(finals["generate events"]["done"].replace(",", "")) == 5000  # every event asked for, with a rate
    assert "generate events" not in done.stdout  # progress is not the command's output

    quiet = run_shoprec(["generate", "--workspace", str(tmp_path / "quiet"), *SHOP, "--quiet"], log)
    assert quiet.returncode == 0
    assert log.read_text() == ""
    assert "generated" in quiet.stdout  # the result itself still comes


def test_with_json_stdout_is_the_json_alone_while_progress_goes_to_stderr(tmp_path: Path) -> None:
    log = tmp_path / "stderr.txt"
    done = run_shoprec(["generate", "--workspace", str(tmp_path / "ws"), *SHOP, "--json"], log)
    assert done.returncode == 0, log.read_text()
    summary = json.loads(done.stdout)
    assert summary["by_kind"]["events"]["accepted"] + summary["duplicates"] == 5000
    assert any(FINAL_LINE.match(line) for line in log.read_text().splitlines())


def test_ingest_shows_rows_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(progress.PROGRESS_ENV, "lines")
    header = "user_id,item_id,event_type,timestamp\n"
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(header + "".join(f"u{i},i{i % 7},view,2024-01-0{1 + i % 9}\n" for i in range(30)))
    second.write_text(header + "u1,i1,purchase,2024-02-01\nu2,i2,purchase,2024-02-02\n")
    result = CliRunner().invoke(cli, ["ingest", str(first), str(second), "--workspace", str(tmp_path / "ws"), "--json"])
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)
    rows = {m["label"]: int(m["done"]) for m in map(FINAL_LINE.match, result.stderr.splitlines()) if m}
    assert rows == {f"ingest {first}": 30, f"ingest {second}": 2}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("shop") / "ws"
    result = CliRunner().invoke(cli, ["generate", "--workspace", str(workspace), *SHOP])
    assert result.exit_code == 0, result.output
    return workspace


EVALUATE = ["evaluate", "--models", "popularity", "--fusion", "none", "--k", "10"]


def test_evaluate_json_flag_prints_what_it_writes(shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(progress.PROGRESS_ENV, "lines")
    out = tmp_path / "eval.json"
    # `--json` before another option is the flag, not a file named "--k"
    result = CliRunner().invoke(cli, [*EVALUATE[:-2], "--json", "--k", "10", "--workspace", str(shop), "--json-out", str(out)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == json.loads(out.read_text())
    assert set(printed["results"]) == {"popularity"} and "ndcg@10" in printed["results"]["popularity"]
    assert "popularity: recommending" in result.stderr and "deprecated" not in result.stderr


def test_the_old_json_file_form_still_writes_the_file_with_a_note(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "old.json"
    result = CliRunner().invoke(cli, [*EVALUATE, "--workspace", str(shop), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert set(json.loads(out.read_text())["results"]) == {"popularity"}
    assert "deprecated" in result.stderr and f"--json-out {out}" in result.stderr
    assert "popularity" in result.stdout and not result.stdout.lstrip().startswith("{")  # the table, as before

    both = CliRunner().invoke(cli, [*EVALUATE, "--workspace", str(shop), "--json", str(out), "--json-out", str(out)])
    assert both.exit_code == 2


def test_tune_json_prints_the_choices_and_keeps_the_file(shop: Path) -> None:
    result = CliRunner().invoke(cli, ["tune", "--workspace", str(shop), "--models", "popularity", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert set(printed) == {"popularity"} and printed["popularity"]["metric"] == "ndcg@10"
    assert json.loads((shop / "tuning.json").read_text())["popularity"] == printed["popularity"]


def test_serve_passes_its_log_level_to_uvicorn_and_shoprec_loggers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    runner = CliRunner()
    for args in (["--log-level", "debug"], ["--quiet"], []):
        result = runner.invoke(cli, ["serve", "--workspace", str(tmp_path / "ws"), "--no-semantic", *args])
        assert result.exit_code == 0, result.output
        monkeypatch.setattr(progress, "_verbosity", None)  # --quiet lasts for its own run only
        monkeypatch.setenv(progress.VERBOSITY_ENV, "normal")
    assert [c["log_level"] for c in calls] == ["debug", "warning", "info"]
    assert [c["log_config"]["loggers"]["shoprec"]["level"] for c in calls] == ["DEBUG", "WARNING", "INFO"]
    refused = runner.invoke(cli, ["serve", "--workspace", str(tmp_path / "ws"), "--log-level", "chatty"])
    assert refused.exit_code == 2
