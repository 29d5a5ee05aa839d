"""GET /v1/search and /v1/autocomplete through the service: matches as a brute-force scan finds them,
filters, pages, catalogue changes seen at once, bad input, and search switched off."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from shoprec.data import schema as S
from shoprec.data.store import Store
from shoprec.errors import ShoprecError
from shoprec.service import deps
from shoprec.service.app import create_app
from tests.service.conftest import ADMIN, settings_for

TEXT_FIELDS = [S.TITLE, S.DESCRIPTION, S.BRAND, S.CATEGORY]


def _matching(items: pd.DataFrame, word: str) -> set[str]:
    """In-stock items with `word` as a whole word in any text field (case ignored): a scan by hand."""
    pattern = re.compile(rf"\b{re.escape(word.lower())}\b")
    text = items[TEXT_FIELDS].fillna("").agg(" ".join, axis=1).str.lower()
    in_stock = items[S.IN_STOCK].fillna(True).astype(bool)
    return set(items.loc[text.map(lambda t: bool(pattern.search(t))) & in_stock, S.ITEM_ID])


def _one_word_brand(items: pd.DataFrame) -> str:
    brands = items[S.BRAND].dropna()
    return next(b for b in brands.value_counts().index if re.fullmatch(r"[A-Za-z]+", b))


def _search(client: TestClient, **params: object) -> dict:
    answer = client.get("/v1/search", params={"mode": "lexical", **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_search_finds_what_a_scan_finds_with_highlights_and_facets(client: TestClient, shop: Path) -> None:
    items = Store(shop).items()
    brand = _one_word_brand(items)
    expected = _matching(items, brand)
    assert len(expected) >= 3
    found = _search(client, q=brand.lower(), k=100)
    assert {h["item_id"] for h in found["hits"]} == expected and found["total"] == len(expected)
    titles = items.set_index(S.ITEM_ID)[S.TITLE]
    for hit in found["hits"]:
        assert hit["title"] == titles[hit["item_id"]]
        if brand.lower() in hit["title"].lower():
            assert f"<mark>{brand}</mark>".lower() in hit["highlight"].lower()
    assert {f["value"]: f["count"] for f in found["facets"]["brand"]}.get(brand, 0) >= 1
    assert sum(f["count"] for f in found["facets"]["brand"]) == found["total"]


def test_pages_follow_one_another_and_filters_hold(client: TestClient, shop: Path) -> None:
    items = Store(shop).items()
    brand = _one_word_brand(items)
    whole = [h["item_id"] for h in _search(client, q=brand, k=6)["hits"]]
    paged = [h["item_id"] for page in (1, 2, 3) for h in _search(client, q=brand, k=2, page=page)["hits"]]
    assert paged == whole
    top = items[S.CATEGORY].str.split(" > ").str[0].value_counts().index[0]
    browse = _search(client, q="", category=top, k=100, price_max=50)
    catalogue = items.set_index(S.ITEM_ID)
    assert browse["hits"] and all(catalogue.loc[h["item_id"], S.CATEGORY].startswith(top) for h in browse["hits"])
    assert all(catalogue.loc[h["item_id"], S.PRICE] <= 50 for h in browse["hits"])
    by_price = [h["price"] for h in _search(client, q="", k=20, sort="price_asc")["hits"]]
    assert by_price == sorted(by_price)


def test_catalogue_changes_reach_search_at_once(client: TestClient, shop: Path) -> None:
    items = Store(shop).items()
    brand = _one_word_brand(items)
    hits = [h["item_id"] for h in _search(client, q=brand, k=100)["hits"]]
    gone, sold_out = hits[0], hits[1]
    assert client.delete(f"/v1/items/{gone}", headers=ADMIN).status_code == 204
    fields = {k: v for k, v in client.get(f"/v1/items/{sold_out}").json().items() if k != "item_id"}
    client.put(f"/v1/items/{sold_out}", json={**fields, "in_stock": False}, headers=ADMIN)
    client.put("/v1/items/lantern-9", json={"title": f"Zyxquv {brand} Lantern", "price": 12.0}, headers=ADMIN)
    after = {h["item_id"] for h in _search(client, q=brand, k=100)["hits"]}
    assert gone not in after and sold_out not in after and "lantern-9" in after
    assert [h["item_id"] for h in _search(client, q="zyxquv")["hits"]] == ["lantern-9"]


def test_a_change_made_beside_the_service_reaches_search_too(client: TestClient, shop: Path) -> None:
    items = Store(shop).items()
    brand = _one_word_brand(items)
    first = _search(client, q=brand, k=1)["hits"][0]["item_id"]
    beside = Store(shop)
    beside.delete_items([first])
    beside.close()
    assert first not in {h["item_id"] for h in _search(client, q=brand, k=100)["hits"]}


def test_bad_search_queries_are_422(client: TestClient) -> None:
    for params in ({"q": "a", "k": 0}, {"q": "a", "page": 0}, {"q": "a", "sort": "cheapest"}, {"q": "a", "mode": "magic"},
                   {"q": "a", "colour": "red"}, {"q": "x" * 501}):
        answer = client.get("/v1/search", params=params)
        assert answer.status_code == 422 and answer.json()["details"][0]["field"].startswith("query."), params
    for params in ({"q": ""}, {"q": "a", "k": 0}, {"q": "a", "extra": 1}):
        assert client.get("/v1/autocomplete", params=params).status_code == 422, params


def test_autocomplete_suggests_the_brand_being_typed(client: TestClient, shop: Path) -> None:
    brand = _one_word_brand(Store(shop).items())
    answer = client.get("/v1/autocomplete", params={"q": brand[:3].lower(), "k": 20})
    assert answer.status_code == 200
    suggestions = answer.json()["suggestions"]
    assert {"text": brand, "kind": "brand"} in suggestions
    assert all(any(w.lower().startswith(brand[:3].lower()) for w in re.findall(r"\w+", s["text"])) for s in suggestions)


def test_without_a_search_engine_search_answers_501_and_the_rest_works(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(workspace: Path, semantic: bool = True, store: object = None, bundle: object = None) -> None:
        raise ShoprecError("the lexical index is damaged")

    monkeypatch.setattr(deps, "open_search", broken)
    with TestClient(create_app(settings_for(shop))) as client:
        answer = client.get("/v1/search", params={"q": "tent"})
        assert answer.status_code == 501 and "damaged" in answer.json()["message"]
        assert client.get("/v1/autocomplete", params={"q": "te"}).status_code == 501
        assert client.get("/ready").json()["search"] is False
        assert client.get("/v1/recommendations", params={"user_id": "u1"}).status_code == 200


def test_personalised_search_reads_the_services_store_and_bundle(client: TestClient) -> None:
    # One open store (its one-user reads indexed) and one loaded bundle serve both engines; a search
    # engine with its own would open the store per query and hold a second copy of every model.
    services = client.app.state.services
    assert services.search._store is services.store
    assert services.search._current_bundle() is services.engine.bundle
    assert client.post("/v1/admin/reload", headers=ADMIN).status_code == 200
    assert services.search._store is services.store and services.search._current_bundle() is services.engine.bundle
