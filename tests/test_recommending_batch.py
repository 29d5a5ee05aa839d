"""Batch recommendations (`shoprec.recommending_batch`): every shopper's list equals what the one-user
`recommend` answers at the same moment, through the same engine, whatever the model, rules and filters;
written a batch at a time, and never as half a file."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from shoprec.bundle import load_current
from shoprec.data import schema as S
from shoprec.data.store import Store
from shoprec.errors import ConfigError
from shoprec.ranking.engine import RecommendationEngine
from shoprec.ranking.filters import ItemFilters
from shoprec.ranking.rules import RuleSettings
from shoprec.recommending import history_of
from shoprec.recommending_batch import StoredHistories, output_format, read_user_ids, write_recommendations
from tests.ranking.conftest import T0, build_workspace

NOW = int((T0 + pd.Timedelta(days=30, hours=3)).value // 1_000_000)  # a request time after every event
UNKNOWN = np.array(["nobody", "ghost"], dtype=object)


@pytest.fixture(scope="session")
def fused_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ranking tests' shop, trained with four models and three fusion methods, and then given live
    events (not yet compacted): a new shopper, a purchase by a known one, and an event far in the future
    (as a store written before times were checked may hold)."""
    ws = build_workspace(tmp_path_factory.mktemp("batch") / "ws", "popularity,itemknn,ease,content", "rrf,weighted,ltr")
    store = Store(ws)
    try:
        when = [T0 + pd.Timedelta(days=25, minutes=m) for m in range(3)] + [pd.Timestamp("2099-01-01", tz="UTC")]
        store.append_events(pd.DataFrame({S.USER_ID: ["newcomer", "newcomer", "u03", "u07"], S.ITEM_ID: ["g1", "g2", "k_new", "k1"],
                                          S.EVENT_TYPE: ["view", "view", "purchase", "view"],
                                          S.TIMESTAMP: pd.to_datetime(when, utc=True)}))
    finally:
        store.close()
    return ws


@pytest.fixture
def shop(fused_shop: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(fused_shop, tmp_path / "ws"))


def _run(ws: Path, out: Path, k: int, rules: RuleSettings | None = None, *, users: np.ndarray | None = None,
         **options: object) -> tuple[pd.DataFrame, dict[str, list[tuple[str, float]]]]:
    """The batch's rows, and the one-user answer of each of the same users (same engine, same time)."""
    store = Store(ws)
    try:
        engine = RecommendationEngine(store, load_current(ws), rules)
        histories = StoredHistories(store, engine.bundle)
        chosen = histories.user_ids.ids if users is None else users
        summary = write_recommendations(engine, histories, chosen, k, out, now_ms=NOW, **options)  # type: ignore[arg-type]
        single = {u: [(r.item_id, r.score) for r in engine.recommend(u, k, now_ms=NOW, model=options.get("model"),  # type: ignore[arg-type]
                                                                      filters=options.get("filters"))]  # type: ignore[arg-type]
                  for u in chosen}
    finally:
        store.close()
    rows = pd.read_parquet(out) if out.suffix == ".parquet" else pd.read_csv(out, dtype={"user_id": str, "item_id": str})
    assert summary.users == len(chosen) and summary.rows == len(rows)
    return rows, single


def _assert_same(rows: pd.DataFrame, single: dict[str, list[tuple[str, float]]]) -> None:
    assert list(pd.unique(rows["user_id"])) == [u for u, items in single.items() if items]
    for user, expected in single.items():
        mine = rows[rows["user_id"] == user]
        assert mine["rank"].tolist() == list(range(1, len(expected) + 1)), user
        assert mine["item_id"].tolist() == [item for item, _ in expected], user
        assert mine["score"].to_numpy() == pytest.approx([score for _, score in expected], rel=1e-5, abs=1e-6), user


def test_histories_are_what_history_of_reads_for_each_user(shop: Path) -> None:
    store = Store(shop)
    try:
        bundle = load_current(shop)
        histories = StoredHistories(store, bundle)
        users = np.array([*histories.user_ids.ids, *UNKNOWN], dtype=object)
        batch = histories.read(users)
        assert len(batch) == len(users) and len(histories) == len(users) - 2
        for row, user in enumerate(users):
            one, mine = history_of(store, bundle, str(user)), batch.user(row)
            for name in ("indptr", "items", "event_types", "timestamps", "values"):
                np.testing.assert_array_equal(getattr(mine, name), getattr(one, name), err_msg=f"{user} {name}")
        assert batch.user(int(np.flatnonzero(users == "u07")[0])).timestamps.max() < NOW  # the far-future time clamped
    finally:
        store.close()


@pytest.mark.parametrize("chunks", [{}, {"batch_users": 5, "read_users": 13}])
def test_every_stored_user_gets_what_recommend_gives_them(shop: Path, tmp_path: Path, chunks: dict[str, int]) -> None:
    rows, single = _run(shop, tmp_path / "recs.parquet", 5, **chunks)  # read in one chunk, or in many
    # every shopper of the store, live-log newcomers too, in id order, each with a full list
    assert list(single) == sorted(single) and {"newcomer", "u03", "e00"} <= set(single)
    assert all(len(items) == 5 for items in single.values())
    _assert_same(rows, single)
    meta = pq.read_schema(tmp_path / "recs.parquet").metadata
    bundle = load_current(shop)
    assert meta[b"shoprec.model"].decode() == bundle.default_model and meta[b"shoprec.bundle"].decode() == bundle.version
    # the live purchase counts: u03 is not shown the item it just bought
    assert "k_new" not in rows.loc[rows["user_id"] == "u03", "item_id"].tolist()


@pytest.mark.parametrize("model", ["fusion:ltr", "fusion:rrf", "itemknn", "popularity"])
def test_rules_filters_and_models_apply_as_for_one_user(shop: Path, tmp_path: Path, model: str) -> None:
    rules = RuleSettings(exclude_event_types=("purchase",), diversity="cap", max_per_category=2)
    filters = ItemFilters(category="Home > Kitchen", price_max=24.0)
    rows, single = _run(shop, tmp_path / "recs.csv", 4, rules, model=model, filters=filters, batch_users=7,
                        users=np.array(["u00", "u03", "u31", "e05", "newcomer", *UNKNOWN], dtype=object))
    _assert_same(rows, single)
    # only kitchen items up to 24 in stock (k0..k4); fewer than k where purchases leave fewer
    assert set(rows["item_id"]) <= {"k0", "k1", "k2", "k3", "k4"}
    assert (rows.groupby("user_id").size() <= 4).all() and len(rows) > 0


def test_unknown_users_get_the_fallback_chain(shop: Path, tmp_path: Path) -> None:
    rows, single = _run(shop, tmp_path / "recs.parquet", 6, users=np.array(["u00", *UNKNOWN], dtype=object))
    _assert_same(rows, single)
    lists = rows.groupby("user_id", sort=False)["item_id"].apply(list)
    assert len(lists["nobody"]) == 6 and lists["nobody"] == lists["ghost"]  # both: popular right now


def test_rows_are_written_a_batch_at_a_time(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "recs.parquet"
    rows, _ = _run(shop, out, 3, batch_users=50)
    users = rows["user_id"].nunique()
    assert pq.ParquetFile(out).metadata.num_row_groups == -(-users // 50)  # one row group per batch


def test_a_run_that_fails_leaves_the_old_file_and_no_staged_one(shop: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "recs.jsonl"
    out.write_text("previous run\n")
    calls = {"n": 0}
    real = RecommendationEngine.lists

    def failing(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:  # the check of the model, then the first batch, then this
            raise RuntimeError("killed")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(RecommendationEngine, "lists", failing)
    with pytest.raises(RuntimeError, match="killed"):
        _run(shop, out, 3, batch_users=20)
    assert out.read_text() == "previous run\n" and sorted(p.name for p in tmp_path.iterdir()) == ["recs.jsonl", "ws"]


def test_an_unknown_model_fails_before_any_file_is_made(shop: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model 'nope' is not in bundle"):
        _run(shop, tmp_path / "recs.csv", 3, model="nope")
    assert not list(tmp_path.glob("*recs*"))


def test_the_format_comes_from_the_suffix_or_is_given() -> None:
    assert output_format(Path("a.parquet")) == "parquet" and output_format(Path("a.CSV")) == "csv"
    assert output_format(Path("a.jsonl")) == "jsonl" and output_format(Path("a.out"), "csv") == "csv"
    with pytest.raises(ConfigError, match="name it .parquet, .csv or .jsonl"):
        output_format(Path("recs.txt"))


def test_a_users_file_is_one_id_a_line_or_a_csv_with_a_user_id_column(tmp_path: Path) -> None:
    lines = tmp_path / "users.txt"
    lines.write_text("u1\n\n u2 \nu1\n007\n")
    assert read_user_ids(lines).tolist() == ["u1", "u2", "007"]  # blanks and repeats dropped, ids kept as text
    table = tmp_path / "users.csv"
    table.write_text('\ufeffsegment,user_id\nA,u9\nB,"u,8"\nA,u9\n')
    assert read_user_ids(table).tolist() == ["u9", "u,8"]
    single = tmp_path / "one.csv"
    single.write_text("user_id\nNA\n")
    assert read_user_ids(single).tolist() == ["NA"]
    other = tmp_path / "other.csv"
    other.write_text("customer,segment\nu1,A\n")
    with pytest.raises(ConfigError, match="needs a user_id column"):
        read_user_ids(other)
