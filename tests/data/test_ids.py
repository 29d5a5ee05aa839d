"""The id rule: ids are kept exactly as written, and one that is ambiguous as written is quarantined
(ingest) with the rule it breaks, never altered."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shoprec.data.ids import MAX_ID_LENGTH, checked_id, id_problem, invalid_ids
from shoprec.data.ingest import Source, ingest
from shoprec.data.mapping import ColumnMapping
from shoprec.data.quarantine import read_quarantine
from shoprec.data.readers import ReadOptions, read_records
from shoprec.data.store import Store

BAD_IDS = {
    " sp ": "spaces around",
    "sp ": "spaces around",
    "a/b": "'/'",
    "tab\there": "U+0009",
    "bell\x07": "U+0007",
    "next\x85line": "U+0085",
    "x" * (MAX_ID_LENGTH + 1): "257 characters",
    "broken\ufffd": "U+FFFD",
}
GOOD_IDS = ["sp", "u-1", "a.b@c:d", "x" * MAX_ID_LENGTH, "käse", "商品", "with inner space"]


@pytest.mark.parametrize("value", list(BAD_IDS))
def test_each_broken_rule_is_named(value: str) -> None:
    problem = id_problem(value)
    assert problem is not None and BAD_IDS[value] in problem
    with pytest.raises(ValueError, match="an id is 1-256 characters"):
        checked_id(value)


@pytest.mark.parametrize("value", GOOD_IDS)
def test_valid_ids_pass_unchanged(value: str) -> None:
    assert id_problem(value) is None
    assert checked_id(value) == value


def test_the_vectorised_check_agrees_with_the_one_value_check() -> None:
    values = pd.Series([*BAD_IDS, *GOOD_IDS, None], dtype=object)
    flagged = invalid_ids(values)
    assert flagged.tolist() == [True] * len(BAD_IDS) + [False] * len(GOOD_IDS) + [False]


def test_ingest_quarantines_ambiguous_ids_and_keeps_the_rest_as_written(tmp_path: Path) -> None:
    header = "user_id,item_id,event_type,timestamp"
    good = ['"sp","i1",view,2024-01-01 10:00:00', '"u2","käse",view,2024-01-01 10:00:00',
            '"with inner space","i3",view,2024-01-01 10:00:00']
    bad = [('" sp ","i1",view,2024-01-01 10:00:00', "user_id"), ('"u1","a/b",view,2024-01-01 10:00:00', "item_id"),
           ('"u1\x07","i1",view,2024-01-01 10:00:00', "user_id"),
           (f'"u1","{"x" * 300}",view,2024-01-01 10:00:00', "item_id")]
    path = tmp_path / "events.csv"
    lines = [header]
    for (row, _), ok in zip(bad, good + [good[0]]):
        lines += [row, ok]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = Store(tmp_path / "ws")
    summary = ingest(store, [Source("events", str(path), lambda: read_records(path, ReadOptions()), ColumnMapping())])

    assert summary.rejected == {"invalid_id": len(bad)}
    stored = store.read_events()
    assert sorted(set(stored["user_id"])) == ["sp", "u2", "with inner space"]  # " sp " was not stored as "sp"
    assert "käse" in set(stored["item_id"])
    rows = read_quarantine(Path(summary.quarantine))
    assert [row["field"] for row in rows] == [field for _, field in bad]
    assert all("an id is 1-256 characters" in row["detail"] for row in rows)
    file_lines = path.read_text(encoding="utf-8").splitlines()
    assert [file_lines[int(row["line"]) - 1] for row in rows] == [row for row, _ in bad]
