"""POST /v1/events: single events and batches, the ingestion rules, nothing half-applied, durability."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from shoprec.data import schema as S
from shoprec.data.store import Store
from tests.service.conftest import ADMIN, STOREFRONT


def _live_rows(shop: Path) -> list[tuple[str, str, str, int]]:
    """The live log's rows, read with sqlite3 directly (what is on disk, not what the service says)."""
    with sqlite3.connect(shop / "store" / "live.sqlite") as conn:
        return list(conn.execute("SELECT user_id, item_id, event_type, ts_ms FROM events ORDER BY seq"))


def test_one_event_and_a_batch_are_stored_with_their_times(client: TestClient, shop: Path) -> None:
    one = client.post("/v1/events", json={"user_id": "ann", "item_id": "i000001", "event_type": "view",
                                          "timestamp": "2024-10-01T12:00:00Z"}, headers=STOREFRONT)
    assert one.status_code == 200 and one.json() == {"accepted": 1, "duplicates": 0}
    batch = [
        {"user_id": "ann", "item_id": "i000002", "event_type": "add_to_cart", "timestamp": 1727784000},  # epoch seconds
        {"user_id": "ann", "item_id": "i000002", "event_type": "purchase", "timestamp": 1727784060000, "value": 2},  # ms
        {"user_id": "bob", "item_id": "i000003", "event_type": "rating", "timestamp": "2024-10-01 12:02:00", "value": 4.5},
    ]
    answer = client.post("/v1/events", json=batch, headers=STOREFRONT)
    assert answer.status_code == 200 and answer.json() == {"accepted": 3, "duplicates": 0}
    base = int(pd.Timestamp("2024-10-01T12:00:00Z").value // 1_000_000)
    assert _live_rows(shop) == [("ann", "i000001", "view", base), ("ann", "i000002", "add_to_cart", base),
                                ("ann", "i000002", "purchase", base + 60_000), ("bob", "i000003", "rating", base + 120_000)]
    again = client.post("/v1/events", json=batch, headers=STOREFRONT)
    assert again.json() == {"accepted": 0, "duplicates": 3}  # exact repeats are stored once
    assert list(Store(shop).read_events("bob")[S.VALUE]) == [4.5]


def test_an_event_without_a_time_gets_the_time_it_arrived(client: TestClient, shop: Path) -> None:
    before = pd.Timestamp.now(tz="UTC").value // 1_000_000
    assert client.post("/v1/events", json={"user_id": "cy", "item_id": "i000004", "event_type": "click"}, headers=ADMIN).status_code == 200
    after = pd.Timestamp.now(tz="UTC").value // 1_000_000
    (_, _, _, ts), = _live_rows(shop)
    assert before <= ts <= after


def test_a_batch_with_one_bad_event_is_refused_whole_with_every_reason(client: TestClient, shop: Path) -> None:
    batch = [
        {"user_id": "dee", "item_id": "i000001", "event_type": "view", "timestamp": "2024-10-01T10:00:00Z"},
        {"user_id": "dee", "item_id": "i000002", "event_type": "teleport", "timestamp": "2024-10-01T10:00:00Z"},
        {"user_id": "dee", "item_id": "i000003", "event_type": "view", "timestamp": "the day after tomorrow"},
        {"user_id": "  ", "item_id": "i000003", "event_type": "view"},
    ]
    answer = client.post("/v1/events", json=batch, headers=ADMIN)
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid_input" and "nothing was stored" in body["message"]
    found = {(d["index"], d["field"], d["reason"]) for d in body["details"]}
    assert found == {(1, "event_type", "unknown_event_type"), (2, "timestamp", "invalid_timestamp"), (3, "user_id", "missing_user_id")}
    assert "teleport" in body["message"] and "view, click" in body["message"]
    assert _live_rows(shop) == []


def test_shape_errors_name_the_field(client: TestClient, shop: Path) -> None:
    cases = {
        "unknown field": ({"user_id": "e", "item_id": "i1", "event_type": "view", "colour": "red"}, "body.colour", "Extra inputs"),
        "number as id": ({"user_id": 7, "item_id": "i1", "event_type": "view"}, "body.user_id", "valid string"),
        "missing item": ({"user_id": "e", "event_type": "view"}, "body.item_id", "Field required"),
        "text value": ({"user_id": "e", "item_id": "i1", "event_type": "rating", "value": "five"}, "body.value", "valid number"),
        "bool time": ({"user_id": "e", "item_id": "i1", "event_type": "view", "timestamp": True}, "body.timestamp", ""),
        "in a batch": ([{"user_id": "e", "item_id": "i1", "event_type": "view"}, {"user_id": "e", "item_id": ["i2"], "event_type": "view"}],
                       "body[1].item_id", "valid string"),
    }
    for label, (payload, field, words) in cases.items():
        answer = client.post("/v1/events", json=payload, headers=ADMIN)
        assert answer.status_code == 422, label
        body = answer.json()
        assert body["details"][0]["field"] == field and words in body["message"], (label, body)
    not_json = client.post("/v1/events", content=b"{not json", headers={**ADMIN, "Content-Type": "application/json"})
    assert not_json.status_code == 422 and not_json.json()["error"] == "invalid_request"
    for payload in ("a string", 42, []):
        assert client.post("/v1/events", json=payload, headers=ADMIN).status_code == 422, payload
    assert _live_rows(shop) == []


def test_batches_over_the_limit_and_bodies_over_the_size_limit_are_413(shop: Path) -> None:
    from shoprec.service.app import create_app
    from tests.service.conftest import settings_for

    with TestClient(create_app(settings_for(shop, max_batch_events=3, max_body_bytes=4096))) as small:
        event = {"user_id": "f", "item_id": "i000001", "event_type": "view", "timestamp": "2024-10-01T10:00:00Z"}
        assert small.post("/v1/events", json=[event] * 3, headers=ADMIN).status_code == 200
        over = small.post("/v1/events", json=[event] * 4, headers=ADMIN)
        assert over.status_code == 413 and "limit is 3" in over.json()["message"]
        huge = small.post("/v1/events", json={**event, "review_text": "x" * 5000}, headers=ADMIN)
        assert huge.status_code == 413 and "4,096 bytes" in huge.json()["message"]

        def chunks():  # no Content-Length: the limit is enforced while the body streams in
            yield b'{"user_id": "f", "item_id": "i1", "event_type": "view", "query": "'
            for _ in range(10):
                yield b"y" * 1000
            yield b'"}'

        streamed = small.post("/v1/events", content=chunks(), headers={**ADMIN, "Content-Type": "application/json"})
        assert streamed.status_code == 413
    assert len(_live_rows(shop)) == 1  # only the first event


@pytest.mark.parametrize(("timestamp", "reason"), [
    (9000000000000000, "future_timestamp"), ("9999-12-31T23:59:59Z", "future_timestamp"),
    ("3000-01-01T00:00:00Z", "future_timestamp"), ("1900-01-01T00:00:00Z", "ancient_timestamp"),
])
def test_a_time_far_in_the_future_or_past_is_refused_and_nothing_stored(client: TestClient, shop: Path, timestamp: object,
                                                                        reason: str) -> None:
    before = len(Store(shop).read_events("mallory"))
    event = {"user_id": "mallory", "item_id": "i000001", "event_type": "purchase", "timestamp": timestamp}
    for key in (ADMIN, STOREFRONT):
        answer = client.post("/v1/events", json=event, headers=key)
        assert answer.status_code == 422
        assert answer.json()["details"][0]["reason"] == reason
    assert len(Store(shop).read_events("mallory")) == before == 0
