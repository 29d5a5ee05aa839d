"""Segments written in sorted runs: every row kept, narrow user ranges per row group, fast one-user reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shoprec.data import schema as S
from shoprec.data import segment_writer
from shoprec.data.segment_writer import SegmentWriter


def _events(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    users = [f"u{u:04d}" for u in rng.integers(0, 500, n)]
    return pa.table({
        S.USER_ID: users,
        S.ITEM_ID: [f"i{i}" for i in rng.integers(0, 50, n)],
        S.EVENT_TYPE: ["view"] * n,
        S.TIMESTAMP: pa.array(1_700_000_000_000 + rng.integers(0, 10**9, n), pa.timestamp("ms", tz="UTC")),
        S.SESSION_ID: [None] * n, S.VALUE: [None] * n, S.QUERY: [None] * n, S.REVIEW_TEXT: [None] * n,
        S.EVENT_HASH: pa.array(rng.integers(0, 2**63, n).astype(np.uint64)),
    }, schema=S.STORED_EVENT_SCHEMA)


def _write(path: Path, tables: list[pa.Table], run_rows: int) -> SegmentWriter:
    writer = SegmentWriter(path, run_rows=run_rows)
    for table in tables:
        writer.write(table)
    writer.close()
    return writer


def test_every_row_is_kept_and_each_run_is_sorted_by_user_then_time(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(segment_writer, "ROW_GROUP_ROWS", 100)
    chunks = [_events(700, seed) for seed in range(4)]  # 2,800 rows in runs of >= 1,000
    writer = _write(tmp_path / "seg.parquet", chunks, run_rows=1000)
    written = pq.read_table(tmp_path / "seg.parquet")
    assert writer.rows == written.num_rows == 2800
    expected = pa.concat_tables(chunks)
    assert sorted(written.column(S.EVENT_HASH).to_pylist()) == sorted(expected.column(S.EVENT_HASH).to_pylist())
    # Runs close at the first chunk boundary at or past 1,000 rows: 1,400 + 1,400.
    for run in (written.slice(0, 1400), written.slice(1400, 1400)):
        keys = list(zip(run.column(S.USER_ID).to_pylist(), run.column(S.TIMESTAMP).to_pylist()))
        assert keys == sorted(keys)


def test_row_groups_cover_narrow_user_ranges_so_a_one_user_read_skips_most(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(segment_writer, "ROW_GROUP_ROWS", 100)
    path = tmp_path / "seg.parquet"
    _write(path, [_events(2000, 1)], run_rows=10_000)
    meta = pq.ParquetFile(path).metadata
    user_column = S.STORED_EVENT_SCHEMA.get_field_index(S.USER_ID)
    ranges = [(meta.row_group(g).column(user_column).statistics.min, meta.row_group(g).column(user_column).statistics.max)
              for g in range(meta.num_row_groups)]
    assert meta.num_row_groups == 20
    # One sorted run: the groups' user ranges follow each other, overlapping at most at their ends.
    assert all(hi <= next_lo for (_, hi), (next_lo, _) in zip(ranges, ranges[1:]))
    user = "u0250"
    holding = [g for g, (lo, hi) in enumerate(ranges) if lo <= user <= hi]
    assert 1 <= len(holding) <= 2
    read = pq.read_table(path, filters=[(S.USER_ID, "=", user)])
    everything = pq.read_table(path)
    assert read.num_rows == sum(u == user for u in everything.column(S.USER_ID).to_pylist()) > 0


def test_nothing_is_created_when_no_row_is_written(tmp_path: Path) -> None:
    writer = _write(tmp_path / "seg.parquet", [], run_rows=10)
    assert writer.rows == 0 and not (tmp_path / "seg.parquet").exists()
