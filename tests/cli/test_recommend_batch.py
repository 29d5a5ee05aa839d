"""`shoprec recommend --all-users / --users FILE --out PATH`: every shopper's list in one file (Parquet,
CSV or JSON Lines), the same lists `recommend --user` prints, with clear errors for mixed modes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from shoprec.cli import cli
from shoprec.cli.generate import generate_into_store
from shoprec.data.store import Store


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic shop (150 shoppers, 5 of them without events; 80 items, 2 out of stock) with an item-kNN bundle."""
    ws = tmp_path_factory.mktemp("batch-cli") / "ws"
    store = Store(ws)
    try:
        generate_into_store(store, 150, 80, 5000, 7, "en", 30, "2024-09-01")
    finally:
        store.close()
    trained = CliRunner().invoke(cli, ["train", "--workspace", str(ws), "--models", "itemknn", "--param", "itemknn.neighbours=20"])
    assert trained.exit_code == 0, trained.output
    return ws


def _invoke(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout, and stderr with any error the command raised (`shoprec` prints those as one line)."""
    result = CliRunner().invoke(cli, ["recommend", *args])
    error = f"error: {result.exception}" if result.exception and not isinstance(result.exception, SystemExit) else ""
    return result.exit_code, result.stdout, result.stderr + error


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype={"user_id": str, "item_id": str})
    return pd.read_json(path, lines=True, dtype={"user_id": str, "item_id": str})


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_every_user_gets_k_rows_in_each_format(shop: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"recs{suffix}"
    code, stdout, stderr = _invoke("--workspace", str(shop), "--all-users", "--k", "7", "--out", str(out), "--json")
    assert code == 0, stderr
    summary = json.loads(stdout)
    rows = _read(out)
    store = Store(shop)
    try:
        users = sorted(set(store.users()["user_id"]) | set(store.read_events()["user_id"]))
    finally:
        store.close()
    assert summary["users"] == len(users) == 150 and summary["rows"] == len(rows) == 150 * 7
    assert summary["format"] == suffix[1:] and summary["path"] == str(out) and summary["model"] == "itemknn"
    assert list(rows.columns) == ["user_id", "rank", "item_id", "score"]
    assert list(pd.unique(rows["user_id"])) == users  # every user of the store, in id order
    assert (rows.groupby("user_id")["rank"].apply(list) == [list(range(1, 8))] * len(users)).all()
    assert not rows.duplicated(["user_id", "item_id"]).any()
    assert (rows.groupby("user_id")["score"].apply(lambda s: s.is_monotonic_decreasing)).all()


def test_each_list_is_what_recommend_user_prints(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "recs.parquet"
    code, stdout, stderr = _invoke("--workspace", str(shop), "--all-users", "--out", str(out), "--diversity", "cap",
                                   "--exclude", "purchase")
    assert code == 0, stderr
    assert "150 users, 1,500 rows in" in stdout and str(out) in stdout
    rows = pd.read_parquet(out)
    assert pq.read_schema(out).metadata[b"shoprec.model"] == b"itemknn"
    for user in ["u000000", "u000042", "u000149", *rows["user_id"].sample(5, random_state=1)]:
        code, one, stderr = _invoke("--workspace", str(shop), "--user", user, "--json", "--diversity", "cap",
                                    "--exclude", "purchase")
        assert code == 0, stderr
        assert rows.loc[rows["user_id"] == user, "item_id"].tolist() == [r["item_id"] for r in json.loads(one)["items"]]


def test_a_users_file_with_an_unknown_id_gets_fallback_items(shop: Path, tmp_path: Path) -> None:
    users = tmp_path / "users.csv"
    users.write_text("user_id,segment\nu000003,a\nsomeone-new,b\nu000003,a\n")
    out = tmp_path / "recs.out"
    code, stdout, stderr = _invoke("--workspace", str(shop), "--users", str(users), "--k", "5", "--out", str(out),
                                   "--format", "jsonl", "--json")
    assert code == 0, stderr
    assert "1 of 2 users" in stderr and json.loads(stdout)["users"] == 2
    rows = pd.read_json(out, lines=True, dtype={"user_id": str, "item_id": str})
    assert rows["user_id"].tolist() == ["u000003"] * 5 + ["someone-new"] * 5
    code, one, _ = _invoke("--workspace", str(shop), "--user", "someone-new", "--k", "5", "--json")
    fallback = json.loads(one)["items"]
    assert {r["source"] for r in fallback} == {"popular"}
    assert rows.loc[rows["user_id"] == "someone-new", "item_id"].tolist() == [r["item_id"] for r in fallback]


def test_filters_apply_to_every_list(shop: Path, tmp_path: Path) -> None:
    store = Store(shop)
    try:
        items = store.items().set_index("item_id")
        events = store.read_events()
        users = set(store.users()["user_id"]) | set(events["user_id"])
    finally:
        store.close()
    category = items["category"].str.split(" > ").str[0].value_counts().index[0]  # the largest top category
    out = tmp_path / "recs.csv"
    code, _, stderr = _invoke("--workspace", str(shop), "--all-users", "--k", "5", "--out", str(out),
                              "--category", category, "--price-max", "60")
    assert code == 0, stderr
    rows = pd.read_csv(out, dtype={"user_id": str, "item_id": str})
    eligible = set(items.index[items["category"].str.startswith(category) & (items["price"] <= 60)
                               & items["in_stock"].fillna(True).astype(bool)])
    assert set(rows["item_id"]) <= eligible
    # each list is k long, shorter only where the filters and the shopper's own history leave fewer items
    seen = events.groupby("user_id")["item_id"].agg(set)
    expected = {u: n for u in users if (n := min(5, len(eligible - seen.get(u, set()))))}  # none left: no row
    per_user = rows.groupby("user_id").size()
    assert per_user.to_dict() == expected and per_user.max() == 5 and per_user.min() < 5


@pytest.mark.parametrize(("args", "message"), [
    (["--user", "u1", "--all-users", "--out", "r.csv"], "--user and --all-users cannot be combined"),
    (["--all-users", "--users", "FILE", "--out", "r.csv"], "--all-users and --users cannot be combined"),
    ([], "give one of --user ID, --all-users or --users FILE"),
    (["--all-users"], "--all-users writes a file: give --out PATH"),
    (["--user", "u1", "--out", "r.csv"], "--out goes with --all-users or --users FILE"),
    (["--all-users", "--out", "r.csv", "--explain"], "--explain answers one shopper"),
    (["--all-users", "--out", "r.csv", "--history", "i1"], "--history answers one shopper"),
    (["--all-users", "--out", "recs.txt"], "name it .parquet, .csv or .jsonl"),
    (["--all-users", "--out", "r.csv", "--model", "nope"], "model 'nope' is not in bundle"),
])
def test_mixed_or_missing_modes_are_refused_clearly(shop: Path, tmp_path: Path, args: list[str], message: str) -> None:
    users = tmp_path / "users.txt"
    users.write_text("u000001\n")
    args = [str(users) if a == "FILE" else str(tmp_path / a) if a.startswith("r") and "." in a else a for a in args]
    code, stdout, stderr = _invoke("--workspace", str(shop), *args)
    assert code != 0 and message in stderr, stderr
    assert not list(tmp_path.glob("r*.*")) and not list(tmp_path.glob(".r*"))
