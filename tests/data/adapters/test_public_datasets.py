"""The built-in adapters on the shared real datasets (skipped when ../shared/data is absent)."""

from __future__ import annotations

from pathlib import Path

from shoprec.data.adapters import adapter_sources
from shoprec.data.ingest import ingest
from shoprec.data.readers import ReadOptions
from shoprec.data.store import Store
from tests.conftest import shared_dataset


def _ingest(name: str, path: Path, workspace: Path):
    store = Store(workspace)
    return store, ingest(store, adapter_sources(name, path, ReadOptions()))


def test_rees46_accounts_for_every_row(workspace: Path) -> None:
    path = shared_dataset("rees46") / "2019-Oct.csv"
    rows = sum(1 for _ in path.open()) - 1  # the data README says 17,434
    store, summary = _ingest("rees46", path, workspace)
    assert summary.rejected_total == 0
    assert summary.accepted + summary.duplicates == rows == 17_434
    events = store.read_events()
    assert len(events) == summary.accepted
    # README: 17,055 views, 165 carts, 214 purchases (counted before merging repeats)
    counts = events["event_type"].value_counts()
    assert counts["add_to_cart"] <= 165 and counts["purchase"] <= 214
    assert counts.sum() + summary.duplicates == 17_055 + 165 + 214
    assert events["user_id"].nunique() == 4_504
    items = store.items().set_index("item_id")
    assert len(items) == 6_493
    assert items.loc["3900821", "category"] == "appliances > environment > water_heater"
    assert items.loc["3900821", "brand"] == "aqua"


def test_rees46_folder_works_like_its_file(workspace: Path) -> None:
    _, summary = _ingest("rees46", shared_dataset("rees46"), workspace)
    assert summary.accepted + summary.duplicates == 17_434


def test_movielens_latest_small(workspace: Path) -> None:
    store, summary = _ingest("movielens", shared_dataset("movielens-latest-small"), workspace)
    assert summary.rejected_total == 0
    assert summary.by_kind["events"]["accepted"] == 100_836
    assert summary.unknown_items == 0
    events = store.read_events()
    assert events["user_id"].nunique() == 610
    assert set(events["event_type"]) == {"rating"}
    assert events["value"].between(0.5, 5).all()
    toy_story = store.items().set_index("item_id").loc["1"]
    assert toy_story["title"] == "Toy Story (1995)"
    assert toy_story["category"] == "Adventure"
    assert "Animation" in toy_story["description"]


def test_homedepot(workspace: Path) -> None:
    store, summary = _ingest("homedepot", shared_dataset("homedepot"), workspace)
    assert summary.rejected_total == 0
    judgments = store.judgments()
    assert len(judgments) == 37_531
    assert judgments["query"].nunique() == 5_991
    items = store.items().set_index("item_id")
    assert items["title"].notna().sum() == 54_667
    assert items.loc["100001", "title"] == "Simpson Strong-Tie 12-Gauge Angle"
    assert items.loc["100001", "description"].startswith("Not only do angles make joints stronger")
