"""Incremental loads (`shoprec ingest --watch DIR`): each complete new file once, across restarts."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from shoprec.cli import cli
from shoprec.data.ingest import Source
from shoprec.data.quarantine import read_quarantine
from shoprec.data.readers import read_records
from shoprec.data.store import Store
from shoprec.data.watch import LEDGER, FolderWatch, is_data_file

HEADER = "user_id,item_id,event_type,timestamp\n"


def _export(folder: Path, name: str, *rows: str) -> Path:
    path = folder / name
    path.write_text(HEADER + "".join(f"{r}\n" for r in rows))
    return path


def _watch(folder: Path, workspace: Path, *args: str) -> tuple[int, list[dict[str, object]]]:
    result = CliRunner().invoke(cli, ["ingest", "--watch", str(folder), "--once", "--interval", "0",
                                      "--workspace", str(workspace), "--json", *args])
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _sources(path: Path) -> list[Source]:
    return [Source("events", str(path), lambda: read_records(path))]


def test_each_file_is_ingested_once_across_restarts(tmp_path: Path, workspace: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    _export(drop, "2024-01-01.csv", "u1,i1,view,2024-01-01", "u2,i2,purchase,2024-01-01")
    _export(drop, "2024-01-02.csv", "u1,i3,view,2024-01-02")
    (drop / "notes.md").write_text("not data\n")
    (drop / "2024-01-03.csv.part").write_text(HEADER + "u9,i9,view,2024-01-03\n")  # still being copied

    code, lines = _watch(drop, workspace)
    assert code == 0
    assert [(Path(str(line["file"])).name, line["accepted"]) for line in lines] == [("2024-01-01.csv", 2), ("2024-01-02.csv", 1)]
    assert (workspace / "store" / LEDGER).exists()

    code, lines = _watch(drop, workspace)  # a restart: nothing is new
    assert code == 0 and lines == []

    (drop / "2024-01-03.csv.part").rename(drop / "2024-01-03.csv")  # the copy is done
    code, lines = _watch(drop, workspace)
    assert [Path(str(line["file"])).name for line in lines] == ["2024-01-03.csv"]
    assert sorted(Store(workspace).read_events()["item_id"]) == ["i1", "i2", "i3", "i9"]


def test_a_file_still_growing_is_taken_once_it_stops(tmp_path: Path, workspace: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    growing = _export(drop, "big.csv", "u1,i1,view,2024-01-01")
    watch = FolderWatch(Store(workspace), drop, _sources)
    watch.stable_files()  # the first look
    with growing.open("a") as handle:
        handle.write("u2,i2,view,2024-01-02\n")
    assert list(watch.poll()) == []  # its size changed between the polls
    (taken,) = list(watch.poll())  # unchanged since the previous poll: complete
    assert taken.summary is not None and taken.summary.accepted == 2
    assert list(watch.poll()) == []


def test_rejected_rows_go_to_the_quarantine(tmp_path: Path, workspace: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    path = _export(drop, "day.csv", "u1,i1,view,2024-01-01", "u2,i2,teleport,2024-01-01")
    code, (line,) = _watch(drop, workspace)
    assert code == 0 and line["accepted"] == 1 and line["rejected"] == {"unknown_event_type": 1}
    (reject,) = read_quarantine(Path(str(line["quarantine"])))
    assert reject["file"] == str(path) and reject["line"] == "3"


def test_a_crash_before_the_ledger_write_only_merges_repeats(tmp_path: Path, workspace: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    _export(drop, "day.csv", "u1,i1,view,2024-01-01", "u2,i2,view,2024-01-01")
    assert _watch(drop, workspace)[1][0]["accepted"] == 2
    (workspace / "store" / LEDGER).unlink()  # as if the process died between the commit and the ledger write
    code, (line,) = _watch(drop, workspace)
    assert code == 0 and line["accepted"] == 0 and line["duplicates"] == 2
    assert len(Store(workspace).read_events()) == 2


def test_a_file_rewritten_in_place_is_ingested_again(tmp_path: Path, workspace: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    path = _export(drop, "latest.csv", "u1,i1,view,2024-01-01")
    assert _watch(drop, workspace)[1][0]["accepted"] == 1
    _export(drop, "latest.csv", "u1,i1,view,2024-01-01", "u1,i2,view,2024-01-02")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    (line,) = _watch(drop, workspace)[1]
    assert (line["accepted"], line["duplicates"]) == (1, 1)


def test_a_broken_file_is_reported_once_and_fails_the_run(tmp_path: Path, workspace: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "broken.csv").write_text("shopper,thing\nu1,i1\n")  # no user_id column
    _export(drop, "good.csv", "u1,i1,view,2024-01-01")
    code, lines = _watch(drop, workspace)
    assert code == 1
    by_name = {Path(str(line["file"])).name: line for line in lines}
    assert "no 'user_id' column" in str(by_name["broken.csv"]["error"]) and by_name["good.csv"]["error"] is None
    assert _watch(drop, workspace) == (0, [])  # recorded: not retried until the file changes


def test_a_pattern_chooses_the_files(tmp_path: Path, workspace: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    _export(drop, "orders-1.csv", "u1,i1,purchase,2024-01-01")
    _export(drop, "stock-1.csv", "u1,i1,view,2024-01-01")
    code, lines = _watch(drop, workspace, "--pattern", "orders-*.csv")
    assert code == 0 and [Path(str(line["file"])).name for line in lines] == ["orders-1.csv"]
    assert is_data_file("x.csv.gz") and is_data_file("x.zip") and is_data_file("x.parquet")
    assert not is_data_file(".x.csv") and not is_data_file("x.csv.tmp") and not is_data_file("readme.md")


def test_watch_options_need_watch(tmp_path: Path, workspace: Path) -> None:
    events = _export(tmp_path, "e.csv", "u1,i1,view,2024-01-01")
    runner = CliRunner()
    alone = runner.invoke(cli, ["ingest", str(events), "--once", "--workspace", str(workspace)])
    assert alone.exit_code == 2 and "go with --watch" in alone.output
    both = runner.invoke(cli, ["ingest", str(events), "--watch", str(tmp_path), "--workspace", str(workspace)])
    assert both.exit_code == 2 and "no PATHS" in both.output
    missing = runner.invoke(cli, ["ingest", "--watch", str(tmp_path / "nope"), "--once", "--workspace", str(workspace)])
    assert missing.exit_code != 0 and "no such folder" in str(missing.exception or missing.output)


def test_without_once_it_keeps_polling(tmp_path: Path, workspace: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    _export(drop, "first.csv", "u1,i1,view,2024-01-01")
    naps: list[float] = []

    class Stop(Exception):
        pass

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            _export(drop, "second.csv", "u2,i2,view,2024-01-02")  # lands while the watcher runs
        if len(naps) == 4:
            raise Stop

    taken: list[str] = []
    try:
        for result in FolderWatch(Store(workspace), drop, _sources).run(7.0, sleep=nap):
            taken.append(f"{len(naps)}:{result.path.name}")
    except Stop:
        pass
    # first.csv on the first poll; second.csv is seen on the second and taken on the third, once stable
    assert taken == ["1:first.csv", "3:second.csv"] and set(naps) == {7.0}
