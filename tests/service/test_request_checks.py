"""Hostile and careless input is refused, never altered, and every refusal has the documented JSON shape
(issue 14: ids silently stripped or mapped to U+FFFD, NaN stored as null, deep nesting answered
500 on read, parse errors in other shapes)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shoprec.service.request_checks import MAX_QUERY_BYTES, body_problem, json_depth
from tests.service.conftest import ADMIN


def _live_count(shop: Path) -> int:
    with sqlite3.connect(shop / "store" / "live.sqlite") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def _error(answer, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error", "message", "details"} and body["error"] == code
    return body


@pytest.mark.parametrize(("user_id", "rule"), [(" sp ", "spaces around"), ("sp\n", "U+000A"), ("a\x00b", "U+0000"),
                                               ("a/b", "'/'"), ("x" * 257, "at most 256"), ("bad\ufffd", "U+FFFD")])
def test_event_ids_breaking_the_rule_are_refused_naming_it(client: TestClient, shop: Path, user_id: str, rule: str) -> None:
    answer = client.post("/v1/events", json={"user_id": user_id, "item_id": "i000001", "event_type": "view"}, headers=ADMIN)
    body = _error(answer, 422, "invalid_input")
    assert rule in body["message"]
    assert _live_count(shop) == 0  # not stored, and certainly not stored altered


@pytest.mark.parametrize("path", ["/v1/items/%20i000001%20", "/v1/items/i000001%0A", "/v1/users/%20sp/events"])
def test_ids_in_paths_are_checked_by_the_same_rule(client: TestClient, path: str) -> None:
    body = _error(client.get(path, headers=ADMIN), 422, "invalid_request")
    assert "an id is 1-256 characters" in body["message"]


def test_query_ids_are_checked_too(client: TestClient) -> None:
    body = _error(client.get("/v1/recommendations", params={"user_id": " u000001"}), 422, "invalid_request")
    assert "spaces around it" in body["message"]


@pytest.mark.parametrize("url", ["/v1/items/i%FF1", "/v1/recommendations?user_id=u%FF1", "/v1/search?q=%C3%28"])
def test_invalid_utf8_in_path_or_query_is_refused_not_replaced(client: TestClient, url: str) -> None:
    body = _error(client.get(url), 422, "invalid_request")
    assert "not valid UTF-8" in body["message"]


def test_a_long_query_string_is_refused_in_the_json_shape(client: TestClient) -> None:
    body = _error(client.get("/v1/search", params={"q": "a" * (MAX_QUERY_BYTES + 1)}), 414, "uri_too_long")
    assert f"{MAX_QUERY_BYTES:,}" in body["message"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_not_stored_as_null(client: TestClient, shop: Path, token: str) -> None:
    raw = '{"user_id": "ann", "item_id": "i000001", "event_type": "rating", "value": ' + token + "}"
    answer = client.post("/v1/events", content=raw, headers={**ADMIN, "content-type": "application/json"})
    assert "NaN or Infinity" in _error(answer, 422, "invalid_request")["message"]
    assert _live_count(shop) == 0
    # The same word inside a string is text, not a number.
    fine = '{"user_id": "ann", "item_id": "i000001", "event_type": "search", "query": "NaN Infinity"}'
    assert client.post("/v1/events", content=fine, headers={**ADMIN, "content-type": "application/json"}).status_code == 200


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_nan_in_a_query_number_is_refused(client: TestClient, value: str) -> None:
    _error(client.get("/v1/search", params={"q": "shoe", "price_min": value}), 422, "invalid_request")


def _nested(depth: int) -> dict:
    value: object = "leaf"
    for _ in range(depth - 1):
        value = {"a": value}
    return {"a": value}


def test_nesting_is_limited_and_what_is_accepted_reads_back(client: TestClient) -> None:
    for depth in (33, 300, 100_000):
        raw = '{"title": "deep", "attributes": ' + '{"a": ' * depth + '1' + '}' * depth + '}'
        answer = client.put("/v1/items/deep", content=raw, headers={**ADMIN, "content-type": "application/json"})
        assert "nests" in _error(answer, 422, "invalid_request")["message"]
    assert client.get("/v1/items/deep").status_code == 404  # nothing was stored
    ok = client.put("/v1/items/deep", json={"title": "deep", "attributes": _nested(31)}, headers=ADMIN)
    assert ok.status_code == 201, ok.text
    read = client.get("/v1/items/deep")
    assert read.status_code == 200 and read.json()["attributes"] == _nested(31)


def test_a_body_that_is_not_utf8_is_refused_in_the_json_shape(client: TestClient) -> None:
    raw = '{"user_id": "ann", "item_id": "i000001", "event_type": "view", "query": "caf\xe9"}'.encode("latin-1")
    body = _error(client.post("/v1/events", content=raw, headers={**ADMIN, "content-type": "application/json"}),
                  422, "invalid_request")
    assert "not valid UTF-8" in body["message"]


def test_malformed_json_is_an_invalid_request(client: TestClient) -> None:
    answer = client.post("/v1/events", content=b'{"user_id": ', headers={**ADMIN, "content-type": "application/json"})
    _error(answer, 422, "invalid_request")


def test_the_depth_scan_ignores_brackets_and_words_inside_strings() -> None:
    tricky = {"a": "[[[[{{{{ NaN", "b": ["x\\\"[[ Infinity", {"c": []}], "d": "\\"}
    assert body_problem(json.dumps(tricky).encode()) is None
    assert json_depth(b'{"a": [{"c": []}]}') == 4
    assert body_problem(json.dumps({"q": "[" * 100}).encode()) is None
    assert "nests 40 levels" in (body_problem(json.dumps(_nested(40)).encode()) or "")


def test_a_page_past_the_search_depth_is_refused_with_the_reachable_pages(client: TestClient) -> None:
    body = _error(client.get("/v1/search", params={"q": "shoe", "page": 10000, "k": 1000}), 422, "invalid_request")
    assert "first 10,000 results" in body["message"] and "pages 1-10" in body["message"]
    assert client.get("/v1/search", params={"q": "shoe", "page": 10, "k": 1000}).status_code == 200


def test_right_of_access_survives_extreme_times_already_stored(client: TestClient, shop: Path) -> None:
    # Times outside the bounds are refused now, but a store written before may hold them.
    with sqlite3.connect(shop / "store" / "live.sqlite") as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(events)")]
        for ts in (9_000_000_000_000_000, -9_000_000_000_000_000, 1_727_784_000_000):
            row = {"user_id": "old", "item_id": "i000001", "event_type": "view", "ts_ms": ts, "event_hash": ts}
            present = [c for c in columns if c in row]
            conn.execute(f"INSERT INTO events ({', '.join(present)}) VALUES ({', '.join('?' * len(present))})",
                         [row[c] for c in present])
    answer = client.get("/v1/users/old/events", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    times = [event["timestamp"] for event in answer.json()["events"]]
    assert len(times) == 3 and "2024-10-01T12:00:00+00:00" in times
