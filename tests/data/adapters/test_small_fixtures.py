"""Adapters for releases not in ../shared/data, on small files written by the tests (same layouts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoprec.data.adapters import adapter_sources
from shoprec.data.ingest import ingest
from shoprec.data.readers import ReadOptions
from shoprec.data.store import Store
from shoprec.errors import DataError


def test_movielens_100k(tmp_path: Path, workspace: Path) -> None:
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    genres = ["unknown", "Action", "Comedy"]
    (folder / "u.genre").write_text("".join(f"{g}|{i}\n" for i, g in enumerate(genres)) + "\n")
    (folder / "u.item").write_bytes(
        "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|1\n2|GoldenEye (1995)|01-Jan-1995||http://y|0|1|0\n3|Café (1996)|01-Jan-1996||http://z|0|1|1\n".encode("latin-1")
    )
    (folder / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n")
    (folder / "u.data").write_text("1\t1\t5\t874965758\n1\t2\t3\t876893171\n2\t3\t4\t878542960\n")
    store = Store(workspace)
    summary = ingest(store, adapter_sources("movielens", folder / "u.data", ReadOptions()))
    assert summary.rejected_total == 0
    assert summary.by_kind["events"]["accepted"] == 3
    items = store.items().set_index("item_id")
    assert items.loc["3", "title"] == "Café (1996)"
    assert items.loc["3", "category"] == "Action"
    users = store.users().set_index("user_id")
    assert users.loc["2", "age"] == 53 and users.loc["2", "gender"] == "F"
    assert '"occupation": "other"' in users.loc["2", "attributes"]
    events = store.read_events().set_index("item_id")
    assert events.loc["1", "value"] == 5.0 and events.loc["1", "event_type"] == "rating"


def test_retailrocket(tmp_path: Path, workspace: Path) -> None:
    folder = tmp_path / "retailrocket"
    folder.mkdir()
    (folder / "events.csv").write_text(
        "timestamp,visitorid,event,itemid,transactionid\n"
        "1433221332117,257597,view,355908,\n1433224214164,992329,addtocart,248676,\n1433221955914,111016,transaction,355908,4000\n"
    )
    (folder / "category_tree.csv").write_text("categoryid,parentid\n1016,213\n213,\n")
    (folder / "item_properties_part1.csv").write_text(
        "timestamp,itemid,property,value\n1435460400000,355908,categoryid,1016\n1435460400000,355908,790,n277.200\n"
        "1431226800000,355908,790,n100.000\n1435460400000,355908,available,1\n1435460400000,355908,888,1116713 960601\n"
    )
    store = Store(workspace)
    summary = ingest(store, adapter_sources("retailrocket", folder, ReadOptions()))
    assert summary.rejected_total == 0
    events = store.read_events().set_index("user_id")
    assert events["event_type"].to_dict() == {"257597": "view", "992329": "add_to_cart", "111016": "purchase"}
    assert events.loc["257597", "timestamp"].value // 1_000_000 == 1433221332117
    item = store.items().set_index("item_id").loc["355908"]
    assert item["price"] == 277.2  # the latest price wins
    assert item["category"] == "213 > 1016"
    assert item["in_stock"] == True  # noqa: E712
    assert summary.unknown_items == 1  # 248676 has no properties


def test_adapter_errors_name_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="expected one of movies.csv"):
        adapter_sources("movielens", tmp_path, ReadOptions())
    with pytest.raises(DataError, match="unknown --format 'amazon'"):
        adapter_sources("amazon", tmp_path, ReadOptions())
