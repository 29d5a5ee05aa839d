"""A shopper's data: right of access and erasure, and that later answers no longer use erased events."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from shoprec.data import schema as S
from shoprec.data.store import Store
from tests.service.conftest import ADMIN, STOREFRONT


def test_right_of_access_lists_every_stored_event_oldest_first(client: TestClient, shop: Path) -> None:
    stored = Store(shop).read_events("u000004")
    client.post("/v1/events", json={"user_id": "u000004", "item_id": "i000001", "event_type": "purchase",
                                    "timestamp": "2025-06-01T00:00:00Z"}, headers=ADMIN)
    assert client.get("/v1/users/u000004/events").status_code == 401
    assert client.get("/v1/users/u000004/events", headers=STOREFRONT).status_code == 403
    answer = client.get("/v1/users/u000004/events", headers=ADMIN).json()
    assert answer["user"]["user_id"] == "u000004"
    assert len(answer["events"]) == len(stored) + 1
    assert answer["events"][-1] == {"user_id": "u000004", "item_id": "i000001", "event_type": "purchase",
                                    "timestamp": "2025-06-01T00:00:00+00:00", "session_id": None, "value": None,
                                    "query": None, "review_text": None}
    times = [e["timestamp"] for e in answer["events"]]
    assert times == sorted(times)
    nobody = client.get("/v1/users/nobody/events", headers=ADMIN).json()
    assert nobody == {"user_id": "nobody", "user": None, "events": []}


def test_erasure_removes_events_everywhere_and_later_answers_forget_them(client: TestClient, shop: Path) -> None:
    shopper = "u000006"
    stored = len(Store(shop).read_events(shopper))
    assert stored > 0
    client.post("/v1/events", json={"user_id": shopper, "item_id": "i000030", "event_type": "add_to_cart"}, headers=ADMIN)
    personal = client.get("/v1/recommendations", params={"user_id": shopper, "k": 10}).json()
    stranger = client.get("/v1/recommendations", params={"user_id": "never-seen-before", "k": 10}).json()
    assert [i["item_id"] for i in personal["items"]] != [i["item_id"] for i in stranger["items"]]

    assert client.delete(f"/v1/users/{shopper}", headers=STOREFRONT).status_code == 403
    erased = client.delete(f"/v1/users/{shopper}", headers=ADMIN)
    assert erased.status_code == 200
    body = erased.json()
    assert (body["events"], body["live_events"], body["segment_events"], body["user_rows"]) == (stored + 1, 1, stored, 1)

    # on disk: no segment, live log row or users table holds the shopper any more
    for path in (shop / "store" / "events").glob("*.parquet"):
        assert shopper not in pq.read_table(path, columns=[S.USER_ID]).column(0).to_pylist()
    with sqlite3.connect(shop / "store" / "live.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM events WHERE user_id = ?", (shopper,)).fetchone()[0] == 0
    assert shopper not in set(Store(shop).users()[S.USER_ID])
    # through the API: no events, and the answer is a stranger's
    assert client.get(f"/v1/users/{shopper}/events", headers=ADMIN).json()["events"] == []
    after = client.get("/v1/recommendations", params={"user_id": shopper, "k": 10}).json()
    assert [i["item_id"] for i in after["items"]] == [i["item_id"] for i in stranger["items"]]
    # personalised search too: the shopper's search is now a stranger's
    searched = client.get("/v1/search", params={"q": "tent", "k": 20, "user_id": shopper}).json()
    unknown = client.get("/v1/search", params={"q": "tent", "k": 20, "user_id": "never-seen-before"}).json()
    assert searched["hits"] and [i["item_id"] for i in searched["hits"]] == [i["item_id"] for i in unknown["hits"]]
    again = client.delete(f"/v1/users/{shopper}", headers=ADMIN).json()
    assert again["events"] == 0 and again["user_rows"] == 0
    others = Store(shop).read_events("u000007")
    assert len(others) > 0
