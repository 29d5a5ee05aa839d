"""GET /v1/recommendations: answers, filters, unknown shoppers, the real-time effect of events, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from shoprec.bundle import load_current
from shoprec.data import schema as S
from shoprec.data.store import Store
from tests.service.conftest import ADMIN, STOREFRONT


def _ids(answer: dict) -> list[str]:
    return [item["item_id"] for item in answer["items"]]


def _neighbours_by_hand(shop: Path, item_id: str) -> list[str]:
    """Item-kNN's answer to a history of one item, worked out from its learned similarity row:
    the item's neighbours by weight (ties to the lower index), best first."""
    bundle = load_current(shop)
    model = bundle.models["itemknn"]
    row = model.similarity_[bundle.item_ids.index(item_id)].toarray().ravel()
    order = sorted(np.flatnonzero(row > 0), key=lambda j: (-row[j], j))
    return [str(bundle.item_ids.id_of([j])[0]) for j in order]


def test_a_posted_event_changes_the_next_answer_without_retraining(client: TestClient, shop: Path) -> None:
    newcomer = "brand-new-shopper"
    before = client.get("/v1/recommendations", params={"user_id": newcomer, "k": 5})
    assert before.status_code == 200 and len(before.json()["items"]) == 5
    # no history yet: the same answer as for any other stranger
    assert _ids(before.json()) == _ids(client.get("/v1/recommendations", params={"user_id": "another-stranger", "k": 5}).json())

    bundle = load_current(shop)
    popularity = bundle.models["itemknn"].popularity_
    anchor = str(bundle.item_ids.id_of([int(np.argmin(popularity))])[0])  # an item far from the popular ones
    items = Store(shop).items()
    out_of_stock = set(items.loc[items[S.IN_STOCK] == False, S.ITEM_ID])  # noqa: E712 - a nullable column
    expected = [i for i in _neighbours_by_hand(shop, anchor) if i != anchor and i not in out_of_stock][:5]
    assert len(expected) == 5
    posted = client.post("/v1/events", json={"user_id": newcomer, "item_id": anchor, "event_type": "add_to_cart"}, headers=STOREFRONT)
    assert posted.status_code == 200 and posted.json() == {"accepted": 1, "duplicates": 0}
    after = client.get("/v1/recommendations", params={"user_id": newcomer, "k": 5})
    assert _ids(after.json()) == expected != _ids(before.json())
    assert anchor not in _ids(after.json())  # what the shopper touched is not recommended back


def test_known_shopper_gets_k_items_with_catalogue_fields_and_reasons(client: TestClient, shop: Path) -> None:
    answer = client.get("/v1/recommendations", params={"user_id": "u000003", "k": 7, "explain": "true"}, headers=ADMIN).json()
    assert len(answer["items"]) == 7 and answer["bundle"] == load_current(shop).version
    catalogue = Store(shop).items().set_index(S.ITEM_ID)
    seen = set(Store(shop).read_events("u000003")[S.ITEM_ID])
    for item in answer["items"]:
        assert item["item_id"] not in seen
        assert item["title"] == catalogue.loc[item["item_id"], S.TITLE]
        assert item["price"] == catalogue.loc[item["item_id"], S.PRICE]
        assert item["reasons"] and item["reasons"][0]["text"]
    scores = [item["score"] for item in answer["items"]]
    assert scores == sorted(scores, reverse=True)
    plain = client.get("/v1/recommendations", params={"user_id": "u000003", "k": 7}).json()
    assert all(item["reasons"] is None for item in plain["items"])


def test_filters_keep_only_matching_items(client: TestClient, shop: Path) -> None:
    items = Store(shop).items()
    top = items[S.CATEGORY].str.split(" > ").str[0].value_counts().index[0]
    brand = items[S.BRAND].value_counts().index[0]
    answer = client.get("/v1/recommendations", params={"user_id": "u000010", "k": 50, "category": top}).json()
    categories = items.set_index(S.ITEM_ID).loc[_ids(answer), S.CATEGORY]
    assert len(categories) > 0 and all(c == top or c.startswith(top + " > ") for c in categories)
    # every in-stock item of the category the shopper has not touched is eligible: the list holds min(50, that many)
    seen = set(Store(shop).read_events("u000010")[S.ITEM_ID])
    eligible = items[(items[S.CATEGORY].str.startswith(top)) & ~items[S.ITEM_ID].isin(seen) & items[S.IN_STOCK].fillna(True).astype(bool)]
    assert len(answer["items"]) == min(50, len(eligible))

    by_brand = client.get("/v1/recommendations", params={"user_id": "u000010", "k": 20, "brand": brand.upper()}).json()
    assert set(items.set_index(S.ITEM_ID).loc[_ids(by_brand), S.BRAND]) == {brand}

    priced = client.get("/v1/recommendations", params={"user_id": "u000010", "k": 30, "price_min": 20, "price_max": 60}).json()
    prices = [item["price"] for item in priced["items"]]
    assert prices and all(20 <= p <= 60 for p in prices)


def test_bad_queries_get_422_naming_the_parameter(client: TestClient) -> None:
    cases = {
        "k=0": {"user_id": "u1", "k": 0},
        "k=1001": {"user_id": "u1", "k": 1001},
        "k=ten": {"user_id": "u1", "k": "ten"},
        "unknown parameter": {"user_id": "u1", "colour": "red"},
        "no user": {"k": 5},
        "explain=maybe": {"user_id": "u1", "explain": "maybe"},
        "negative price": {"user_id": "u1", "price_min": -1},
    }
    for label, params in cases.items():
        answer = client.get("/v1/recommendations", params=params)
        assert answer.status_code == 422, label
        body = answer.json()
        assert body["error"] == "invalid_request" and body["details"][0]["field"].startswith("query."), label
    assert "query.k" in client.get("/v1/recommendations", params={"user_id": "u1", "k": 0}).json()["message"]
    crossed = client.get("/v1/recommendations", params={"user_id": "u1", "price_min": 50, "price_max": 10})
    assert crossed.status_code == 422 and "price_min" in crossed.json()["message"]
    ok = client.get("/v1/recommendations", params={"user_id": "u1", "k": 1000})
    assert ok.status_code == 200


def test_unknown_shopper_with_events_on_unknown_items_still_gets_an_answer(client: TestClient) -> None:
    posted = client.post("/v1/events", json=[{"user_id": "ghost", "item_id": "not-in-catalogue", "event_type": "view",
                                              "timestamp": int(pd.Timestamp("2024-10-01", tz="UTC").timestamp())}], headers=ADMIN)
    assert posted.status_code == 200
    answer = client.get("/v1/recommendations", params={"user_id": "ghost", "k": 3})
    assert answer.status_code == 200 and len(answer.json()["items"]) == 3
