"""Ingestion: spoiled rows go to the quarantine with the right reason, valid rows are all kept."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shoprec.data.ingest import Source, ingest
from shoprec.data.mapping import ColumnMapping
from shoprec.data.quarantine import read_quarantine
from shoprec.data.readers import ReadOptions, read_records
from shoprec.data.store import Store
from shoprec.errors import DataError

HEADER = "user_id,item_id,event_type,timestamp,price\n"
GOOD = [
    "u1,i1,view,2024-01-01 10:00:00,3.50",
    "u2,i2,purchase,2024-01-01T11:00:00Z,10",
    'u3,"i3",add_to_cart,1704106800,0',
    "u4,i4,view,1704106800000,",
]
# (line text, reason, field) for each spoiled row
SPOILED = [
    (",i5,view,2024-01-01,1", "missing_user_id", "user_id"),
    ("u6,,view,2024-01-01,1", "missing_item_id", "item_id"),
    ("u7,i7,view,yesterday,1", "invalid_timestamp", "timestamp"),
    ("u10,i10,view,9000000000000000,1", "future_timestamp", "timestamp"),  # epoch ms in the year 287,000
    ("u11,i11,view,1970-01-01T00:00:01Z,1", "ancient_timestamp", "timestamp"),
    ("u8,i8,view,2024-01-01,-4.5", "negative_price", "price"),
    ("u9,i9,view,2024-01-01,cheap", "invalid_price", "price"),
    ("u10,i10,teleport,2024-01-01,1", "unknown_event_type", "event_type"),
    ("u11,i11,view,2024-01-01", "wrong_column_count", ""),
    ('u12,"i12,view,2024-01-01,1', "broken_quoting", ""),
]


def _source(path: Path, mapping: ColumnMapping | None = None, **options) -> Source:
    return Source("events", str(path), lambda: read_records(path, ReadOptions(**options)), mapping or ColumnMapping())


@pytest.fixture
def spoiled_file(tmp_path: Path) -> Path:
    # Good and spoiled rows interleaved, so a spoiled row cannot hide a good one after it.
    lines = [HEADER.rstrip("\n")]
    for i, (bad, _, _) in enumerate(SPOILED):
        lines.append(bad)
        if i < len(GOOD):
            lines.append(GOOD[i])
    path = tmp_path / "spoiled.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_spoiled_rows_are_quarantined_and_valid_rows_kept(spoiled_file: Path, workspace: Path) -> None:
    store = Store(workspace)
    summary = ingest(store, [_source(spoiled_file)])
    assert summary.accepted == len(GOOD)
    assert summary.rejected == {reason: 1 for _, reason, _ in SPOILED}
    assert sorted(store.read_events()["user_id"]) == ["u1", "u2", "u3", "u4"]

    rows = read_quarantine(Path(summary.quarantine))
    by_reason = {row["reason"]: row for row in rows}
    file_lines = spoiled_file.read_text().splitlines()
    for bad, reason, field in SPOILED:
        row = by_reason[reason]
        assert row["file"] == str(spoiled_file)
        assert row["field"] == field
        assert file_lines[int(row["line"]) - 1] == bad  # the line number points at the spoiled row


def test_values_are_read_into_the_canonical_types(spoiled_file: Path, workspace: Path) -> None:
    store = Store(workspace)
    ingest(store, [_source(spoiled_file)])
    events = store.read_events().set_index("user_id")
    assert events.loc["u2", "timestamp"] == pd.Timestamp("2024-01-01T11:00:00Z")
    # 1704106800 s = 2024-01-01T11:00:00Z (19723 days * 86400 + 11 h); the ms form is the same instant.
    assert events.loc["u3", "timestamp"] == events.loc["u4", "timestamp"] == pd.Timestamp("2024-01-01T11:00:00Z")
    prices = store.items().set_index("item_id")["price"]
    assert prices["i1"] == 3.5 and prices["i3"] == 0.0 and pd.isna(prices["i4"])


def test_reingest_adds_no_duplicates_and_a_new_file_appends(spoiled_file: Path, tmp_path: Path, workspace: Path) -> None:
    store = Store(workspace)
    ingest(store, [_source(spoiled_file)])
    again = ingest(store, [_source(spoiled_file)])
    assert (again.accepted, again.duplicates) == (0, len(GOOD))
    more = tmp_path / "more.csv"
    more.write_text(HEADER + "u1,i1,view,2024-01-01 10:00:00,3.50\nu1,i9,view,2024-01-05 10:00:00,2\nu1,i9,view,2024-01-05 10:00:00,2\n")
    summary = ingest(store, [_source(more)])
    # the first row repeats a stored event, the third repeats the second: only one is new
    assert (summary.accepted, summary.duplicates) == (1, 2)
    assert len(store.read_events()) == len(GOOD) + 1


def test_strict_commits_nothing(spoiled_file: Path, workspace: Path) -> None:
    store = Store(workspace)
    summary = ingest(store, [_source(spoiled_file)], strict=True)
    assert not summary.committed
    assert len(store.read_events()) == 0
    assert list((workspace / "store" / "events").iterdir()) == []


def test_column_map_event_type_map_and_constant_type(tmp_path: Path, workspace: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("CustomerID,StockCode,InvoiceDate,act\nc1,s1,12/1/2010 8:26,pv\nc2,s2,12/1/2010 9:00,buy\nc3,s3,12/1/2010 9:30,fav\n")
    mapping = ColumnMapping(
        columns={"user_id": "CustomerID", "item_id": "StockCode", "timestamp": "InvoiceDate", "event_type": "act"},
        event_type_map={"pv": "view", "buy": "purchase", "fav": "add_to_cart"},
        time_format="%m/%d/%Y %H:%M",
    )
    store = Store(workspace)
    summary = ingest(store, [_source(path, mapping)])
    assert summary.accepted == 3
    events = store.read_events().set_index("user_id")
    assert events["event_type"].to_dict() == {"c1": "view", "c2": "purchase", "c3": "add_to_cart"}
    assert events.loc["c1", "timestamp"] == pd.Timestamp("2010-12-01T08:26:00Z")

    headerless = tmp_path / "orders.tsv"
    headerless.write_text("c1\ts1\t2010-12-01\nc2\ts2\t2010-12-02\n")
    summary = ingest(store, [_source(headerless, ColumnMapping(event_type="purchase"), columns=("user_id", "item_id", "timestamp"))])
    assert summary.accepted == 2
    assert (store.read_events()["event_type"] == "purchase").sum() == 3


def test_missing_columns_are_one_clear_error(tmp_path: Path, workspace: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("user,item,when\nu,i,2024-01-01\n")
    with pytest.raises(DataError, match="no 'user_id' column.*--map user_id=COLUMN"):
        ingest(Store(workspace), [_source(path)])
    with pytest.raises(DataError, match="--map user_id=customer: no column 'customer'"):
        ingest(Store(workspace), [_source(path, ColumnMapping(columns={"user_id": "customer"}))])


def test_events_for_items_outside_the_catalogue_are_kept_and_counted(tmp_path: Path, workspace: Path) -> None:
    items = tmp_path / "items.csv"
    items.write_text("item_id,title,price,in_stock,colour\ni1,Red shoe,30,yes,red\n")
    events = tmp_path / "events.csv"
    events.write_text("user_id,item_id,event_type,timestamp\nu1,i1,view,2024-01-01\nu1,zz,view,2024-01-02\nu2,zz,view,2024-01-02\n")
    store = Store(workspace)
    ingest(store, [Source("items", "items", lambda: read_records(items)), _source(events)])
    summary = ingest(store, [_source(events)])  # all repeats now; counts come from the first ingest
    assert summary.duplicates == 3
    first = ingest(Store(tmp_path / "ws2"), [Source("items", "items", lambda: read_records(items)), _source(events)])
    assert (first.unknown_items, first.events_with_unknown_items) == (1, 2)
    assert len(store.read_events()) == 3
    catalogue = store.items().set_index("item_id")
    assert catalogue.loc["i1", "in_stock"] == True  # noqa: E712 (a numpy bool)
    assert '"colour": "red"' in catalogue.loc["i1", "attributes"]  # an extra column becomes an attribute


def test_item_updates_merge_field_by_field(tmp_path: Path, workspace: Path) -> None:
    store = Store(workspace)
    first = tmp_path / "a.csv"
    first.write_text("item_id,title,price\ni1,Old title,10\ni2,Other,5\n")
    second = tmp_path / "b.csv"
    second.write_text("item_id,price\ni1,12\n")
    for path in (first, second):
        ingest(store, [Source("items", str(path), lambda p=path: read_records(p))])
    items = store.items().set_index("item_id")
    assert items.loc["i1", "title"] == "Old title"  # kept: the update had no title
    assert items.loc["i1", "price"] == 12.0
    assert items.loc["i2", "price"] == 5.0


def test_the_time_bounds_are_the_callers(tmp_path: Path, workspace: Path) -> None:
    from shoprec.data.timestamps import TimeBounds

    path = tmp_path / "e.csv"
    soon = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(hours=6)).isoformat()
    path.write_text(f"user_id,item_id,event_type,timestamp\nu1,i1,view,{soon}\nu2,i2,view,1985-06-01\n")
    strict = ColumnMapping(time_bounds=TimeBounds(floor=pd.Timestamp("1990-01-01", tz="UTC"), max_future=pd.Timedelta(hours=1)))
    summary = ingest(Store(workspace), [Source("events", str(path), lambda: read_records(path, ReadOptions()), strict)])
    assert summary.rejected == {"future_timestamp": 1, "ancient_timestamp": 1}
    loose = ColumnMapping(time_bounds=TimeBounds(floor=pd.Timestamp("1980-01-01", tz="UTC"), max_future=pd.Timedelta(days=1)))
    summary = ingest(Store(tmp_path / "ws2"), [Source("events", str(path), lambda: read_records(path, ReadOptions()), loose)])
    assert summary.accepted == 2 and not summary.rejected
