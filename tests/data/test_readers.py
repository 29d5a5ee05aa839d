"""Readers: formats, compression, delimiters, encodings, and rows that cannot be split."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from shoprec.data.quarantine import RejectReason
from shoprec.data.readers import ReadOptions, read_records
from shoprec.errors import DataError


def _read(path: Path, **options) -> tuple[pd.DataFrame, list[int], list]:
    chunks = list(read_records(path, ReadOptions(**options)))
    frame = pd.concat([c.frame for c in chunks], ignore_index=True) if chunks else pd.DataFrame()
    lines = [int(n) for c in chunks for n in c.lines]
    rejects = [r for c in chunks for r in c.rejects]
    return frame, lines, rejects


CSV = "user_id,item_id,event_type,timestamp\nu1,i1,view,2024-01-01\nu2,i2,purchase,2024-01-02\n"


def test_csv_with_header(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(CSV)
    frame, lines, rejects = _read(path)
    assert list(frame.columns) == ["user_id", "item_id", "event_type", "timestamp"]
    assert frame["item_id"].tolist() == ["i1", "i2"]
    assert lines == [2, 3]
    assert rejects == []


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "e.txt"
    path.write_text(CSV.replace(",", delimiter))
    frame, _, _ = _read(path)
    assert frame["user_id"].tolist() == ["u1", "u2"]


def test_headerless_file_takes_given_columns(tmp_path: Path) -> None:
    path = tmp_path / "u.data"
    path.write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    frame, lines, _ = _read(path, file_format="tsv", columns=("user_id", "item_id", "rating", "timestamp"))
    assert frame["user_id"].tolist() == ["196", "186"]
    assert frame["timestamp"].tolist() == ["881250949", "891717742"]
    assert lines == [1, 2]


def test_gzip_and_zip(tmp_path: Path) -> None:
    gz = tmp_path / "e.csv.gz"
    gz.write_bytes(gzip.compress(CSV.encode()))
    archive = tmp_path / "e.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("inner/events.csv", CSV)
    for path in (gz, archive):
        frame, _, _ = _read(path)
        assert frame["item_id"].tolist() == ["i1", "i2"]


def test_jsonl_keeps_good_lines_and_rejects_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps({"user_id": "u1", "item_id": 7}) + "\n{not json\n[1, 2]\n" + json.dumps({"user_id": "u3"}) + "\n")
    frame, lines, rejects = _read(path)
    assert frame["user_id"].tolist() == ["u1", "u3"]
    assert lines == [1, 4]
    assert [(r.line, r.reason) for r in rejects] == [(2, RejectReason.INVALID_JSON), (3, RejectReason.INVALID_JSON)]


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    pd.DataFrame({"user_id": ["a", "b", "c"], "x": [1, 2, 3]}).to_parquet(path)
    frame, lines, _ = _read(path, chunk_rows=2)
    assert frame["x"].tolist() == [1, 2, 3]
    assert lines == [1, 2, 3]


def test_latin1_needs_the_encoding_option(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes("user_id,title\nu1,Café\nu2,plain\n".encode("latin-1"))
    frame, _, rejects = _read(path)
    assert frame["user_id"].tolist() == ["u2"]  # the undecodable row is rejected, the other kept
    assert [(r.line, r.reason) for r in rejects] == [(2, RejectReason.INVALID_ENCODING)]
    assert "--encoding" in rejects[0].detail
    frame, _, rejects = _read(path, encoding="latin-1")
    assert frame["title"].tolist() == ["Café", "plain"]
    assert rejects == []


def test_quoted_fields_may_span_lines(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text('item_id,description\ni1,"two\nlines, with comma"\ni2,"say ""hi"""\n')
    frame, lines, rejects = _read(path)
    assert frame["description"].tolist() == ["two\nlines, with comma", 'say "hi"']
    assert lines == [2, 4]
    assert rejects == []


def test_an_unclosed_quote_does_not_swallow_the_next_rows(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text('a,b,c\n1,"open,3\n4,5,6\n7,8,9\n')
    frame, lines, rejects = _read(path)
    assert frame["a"].tolist() == ["4", "7"]
    assert lines == [3, 4]
    assert [(r.line, r.reason) for r in rejects] == [(2, RejectReason.BROKEN_QUOTING)]


def test_wrong_column_count_is_rejected_with_counts(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("a,b,c\n1,2\n1,2,3\n1,2,3,4\n")
    frame, _, rejects = _read(path)
    assert frame["a"].tolist() == ["1"]
    assert [(r.line, r.detail) for r in rejects] == [(2, "expected 3 fields, got 2"), (4, "expected 3 fields, got 4")]


def test_missing_file_and_folder_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        list(read_records(tmp_path / "nope.csv"))
    with pytest.raises(DataError, match="is a folder"):
        list(read_records(tmp_path))


@pytest.mark.parametrize("kind", ["csv", "csv.gz", "jsonl", "parquet"])
def test_each_chunk_says_how_much_of_the_file_is_read(tmp_path: Path, kind: str) -> None:
    # what ingest's progress estimates the total rows from: growing, and the whole file at the end
    frame = pd.DataFrame({"user_id": [f"u{i}" for i in range(50_000)], "item_id": "i1", "event_type": "view",
                          "timestamp": "2024-01-01"})
    path = tmp_path / f"events.{kind}"
    if kind == "parquet":
        frame.to_parquet(path)
    elif kind == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, index=False, compression="gzip" if kind.endswith(".gz") else None)
    chunks = list(read_records(path, ReadOptions(chunk_rows=10_000)))
    shares = [chunk.read_share for chunk in chunks]
    assert len(chunks) == 5 and sum(len(c.frame) for c in chunks) == 50_000
    assert all(s is not None for s in shares) and shares == sorted(shares)  # type: ignore[type-var]
    assert shares[-1] == 1.0
    if kind == "parquet":  # rows, exactly
        assert shares == [0.2, 0.4, 0.6, 0.8, 1.0]
    else:  # bytes read ahead of the rows parsed, never behind them
        assert all(share >= (i + 1) / 5 * 0.95 for i, share in enumerate(shares))  # type: ignore[operator]
