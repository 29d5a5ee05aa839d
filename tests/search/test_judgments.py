"""Reading relevance judgments: Home Depot layout, plain CSV, the store, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shoprec.data import schema as S
from shoprec.data.store import JUDGMENT_SCHEMA, Store
from shoprec.errors import DataError, ShoprecError
from shoprec.search.judgments import RELEVANCE, by_query, judgments_from_store, load_judgments, read_judgments
from tests.conftest import shared_dataset


def test_home_depot_layout_in_latin_1(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_bytes(
        "id,product_uid,product_title,search_term,relevance\n"
        "2,100001,\"Simpson Strong-Tie 12-Gauge Angle\",angle bracket,3\n"
        "3,100001,\"Simpson, \"\"Strong\"\" Tie\",l bracket,2.5\n"
        "9,100002,BEHR Premium Textured DeckOver,d\u00e9ck over,3\n".encode("latin-1")
    )
    frame = read_judgments(path)
    assert list(frame.columns) == [S.QUERY, S.ITEM_ID, RELEVANCE]
    assert frame[S.QUERY].tolist() == ["angle bracket", "l bracket", "d\u00e9ck over"]
    assert frame[S.ITEM_ID].tolist() == ["100001", "100001", "100002"]
    assert frame[RELEVANCE].tolist() == [3.0, 2.5, 3.0]


def test_plain_layout_and_grouping(tmp_path: Path) -> None:
    path = tmp_path / "j.csv"
    path.write_text("query,item_id,relevance\nred shoe,i1,3\nred shoe,i2,1\nblue hat,i1,2\nred shoe,i2,2\n")
    grouped = by_query(read_judgments(path))
    assert grouped == {"red shoe": {"i1": 3.0, "i2": 2.0}, "blue hat": {"i1": 2.0}}  # a repeat keeps the last


def test_a_bad_relevance_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "j.csv"
    path.write_text("query,item_id,relevance\nred shoe,i1,3\n\"two\nlines\",i2,high\n")
    with pytest.raises(DataError) as error:
        read_judgments(path)
    message = str(error.value)
    assert f"{path}:3" in message and "relevance" in message and "'high'" in message


def test_missing_columns_and_empty_fields_are_named(tmp_path: Path) -> None:
    path = tmp_path / "j.csv"
    path.write_text("q,item,score\na,b,1\n")
    with pytest.raises(DataError, match="query,item_id,relevance"):
        read_judgments(path)
    path.write_text("search_term,product_uid,relevance\n ,100001,2\n")
    with pytest.raises(DataError, match=r":2: field 'search_term': empty query"):
        read_judgments(path)
    with pytest.raises(DataError, match="not found"):
        read_judgments(tmp_path / "absent.csv")


def test_store_judgments_are_read_and_their_absence_is_explained(workspace: Path) -> None:
    with pytest.raises(ShoprecError, match="no search judgments"):
        judgments_from_store(workspace)
    store = Store(workspace)
    with store.writing() as manifest:
        frame = pd.DataFrame({S.QUERY: ["drill ", "saw"], S.ITEM_ID: ["1", "2"], RELEVANCE: [3.0, 1.0]})
        store.write_table(manifest, "judgments", frame)
    store.close()
    loaded = load_judgments(None, workspace)
    assert loaded[S.QUERY].tolist() == ["drill", "saw"] and loaded[RELEVANCE].tolist() == [3.0, 1.0]
    assert JUDGMENT_SCHEMA.names[2] == RELEVANCE


def test_home_depot_train_csv() -> None:
    frame = read_judgments(shared_dataset("homedepot") / "train.csv")
    assert len(frame) == 37_531  # the count in shared/data/README.md
    assert frame[S.QUERY].nunique() == 5_991
    assert frame[RELEVANCE].between(1, 3).all()
