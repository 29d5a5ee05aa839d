"""`shoprec search`: builds its index on first use, refreshes it, filters, pages, JSON, suggestions."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from shoprec.cli import cli
from shoprec.errors import ConfigError, ShoprecError

ITEMS = ("item_id,title,category,brand,price,in_stock\n"
         "a,Cordless Drill,Tools > Power Tools,Bosch,99.0,true\n"
         "b,Claw Hammer,Tools > Hand Tools,Stanley,15.5,true\n"
         "c,Drill Bit Set,Tools > Accessories,Bosch,25.0,false\n"
         "d,Garden Hose,Garden,Gardena,30.0,true\n")


def _workspace(tmp_path: Path) -> str:
    items = tmp_path / "items.csv"
    items.write_text(ITEMS)
    ws = str(tmp_path / "ws")
    result = CliRunner().invoke(cli, ["ingest", str(items), "--kind", "items", "--workspace", ws])
    assert result.exit_code == 0, result.output
    return ws


def _search(ws: str, *args: str) -> dict:  # type: ignore[type-arg]
    # lexical unless told: the sentence model is covered in tests/search/test_answer.py
    mode = () if "--mode" in args else ("--mode", "lexical")
    result = CliRunner().invoke(cli, ["search", "--workspace", ws, "--json", *mode, *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_search_a_catalogue_without_events(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    found = _search(ws, "drill")
    assert found["total"] == 2 and {i["item_id"] for i in found["hits"]} == {"a", "c"}
    assert set(found) == {"q", "total", "page", "k", "hits", "facets"} and found["q"] == "drill"
    assert set(found["hits"][0]) == {"item_id", "title", "score", "highlight", "category", "brand", "price"}
    assert found["hits"][0]["brand"] == "Bosch" and isinstance(found["hits"][0]["price"], float)
    assert "<mark>Drill</mark>" in found["hits"][0]["highlight"]
    assert found["facets"]["brand"] == [{"value": "Bosch", "count": 2}]
    assert {f["value"]: f["count"] for f in found["facets"]["category"]} == {"Tools": 2, "Tools > Accessories": 1,
                                                                              "Tools > Power Tools": 1}
    assert (Path(ws) / "search" / "lexical" / "state.json").exists()


def test_filters_sort_and_pages(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    assert [i["item_id"] for i in _search(ws, "drill", "--in-stock")["hits"]] == ["a"]
    assert [i["item_id"] for i in _search(ws, "--category", "tools", "--sort", "price_asc")["hits"]] == ["b", "c", "a"]
    assert [i["item_id"] for i in _search(ws, "--brand", "BOSCH", "--price-max", "50")["hits"]] == ["c"]
    second = _search(ws, "--sort", "price_desc", "--k", "2", "--page", "2")
    assert second["total"] == 4 and [i["item_id"] for i in second["hits"]] == ["c", "b"]  # 99, 30 | 25, 15.5
    text = CliRunner().invoke(cli, ["search", "--workspace", ws, "--mode", "lexical", "--", "-drill"])
    assert text.exit_code == 0 and "Cordless Drill" in text.stdout


def test_a_changed_catalogue_is_searched_at_once(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    assert _search(ws, "kettle")["total"] == 0
    more = tmp_path / "more.csv"
    more.write_text("item_id,title\ne,Whistling Kettle\n")
    assert CliRunner().invoke(cli, ["ingest", str(more), "--kind", "items", "--workspace", ws]).exit_code == 0
    assert [i["item_id"] for i in _search(ws, "kettle")["hits"]] == ["e"]


def test_user_is_accepted_and_the_missing_personalisation_is_said(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    result = CliRunner().invoke(cli, ["search", "--workspace", ws, "--mode", "lexical", "--user", "u1", "hammer"])
    assert result.exit_code == 0
    assert "not personalised" in result.stderr and "Claw Hammer" in result.stdout


def test_suggestions(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    result = CliRunner().invoke(cli, ["search", "--workspace", ws, "--suggest", "--json", "gar"])
    assert result.exit_code == 0, result.output
    # one item each, so equal weights: ordered by kind (query, brand, category, title)
    assert json.loads(result.stdout)["suggestions"] == [{"text": "Gardena", "kind": "brand"},
                                                         {"text": "Garden", "kind": "category"},
                                                         {"text": "Garden Hose", "kind": "title"}]


def test_bad_input_is_a_shoprec_error(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    bad_range = CliRunner().invoke(cli, ["search", "--workspace", ws, "--mode", "lexical", "--price-min", "5", "--price-max", "1", "x"])
    assert isinstance(bad_range.exception, ConfigError)
    empty = CliRunner().invoke(cli, ["search", "--workspace", str(tmp_path / "empty"), "--mode", "lexical", "x"])
    assert isinstance(empty.exception, ShoprecError) and "holds no items" in str(empty.exception)
