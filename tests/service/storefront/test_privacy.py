"""Personal content reaches only its shopper (issue 14): the storefront knows a shopper by a signed
session, not by `?user=`; the demo's switcher exists only in a demo; `explain=true` names a history
only for an admin key or that shopper's session; with `read_requires_key` pages need it too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shoprec.service.app import create_app
from shoprec.service.sessions import COOKIE
from tests.service.conftest import ADMIN, STOREFRONT, settings_for
from tests.service.storefront.test_pages import sign_in

VICTIM = "u000005"


def _current(page: str) -> str:
    found = re.search(r'<code id="current-user">([^<]+)</code>', page)
    assert found, "no current shopper on the page"
    return found.group(1)


def test_a_user_in_the_url_or_an_unsigned_cookie_shows_nobodys_history(client: TestClient) -> None:
    victims_titles = [r["text"] for item in client.get("/v1/recommendations", params={"user_id": VICTIM, "explain": "true"},
                                                        headers=ADMIN).json()["items"] for r in item["reasons"]]
    assert victims_titles, "the planted shopper should have a history to leak"
    for params, cookie in (({"user": VICTIM}, None), ({}, COOKIE), ({}, "shoprec_user")):
        fresh = TestClient(client.app)
        if cookie:
            fresh.cookies.set(cookie, VICTIM)
        page = fresh.get("/", params=params)
        assert page.status_code == 200
        assert _current(page.text).startswith("visitor-")
        because = page.text.split('id="shelf-because"')[1].split("</section>")[0]
        assert 'class="card"' not in because  # a new visitor has viewed nothing
        assert VICTIM not in page.text


def test_a_new_visitor_keeps_one_signed_session(client: TestClient) -> None:
    first = client.get("/")
    assert COOKIE in first.cookies and "httponly" in first.headers["set-cookie"].lower()
    visitor = _current(first.text)
    second = client.get("/")
    assert _current(second.text) == visitor and COOKIE not in second.cookies  # no new cookie: the session holds


def test_a_shops_token_opens_that_shoppers_session_and_nothing_else_does(client: TestClient) -> None:
    sign_in(client, VICTIM)
    assert _current(client.get("/").text) == VICTIM
    assert client.get("/session", params={"token": "forged.token"}).status_code == 401
    token = client.post("/v1/sessions", json={"user_id": VICTIM}, headers=ADMIN).json()["token"]
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil", "/items/i000001"):
        answer = client.get("/session", params={"token": token, "next": target}, follow_redirects=False)
        assert answer.headers["location"] == (target if target == "/items/i000001" else "/")  # never off this site
    assert client.post("/v1/sessions", json={"user_id": VICTIM}, headers=STOREFRONT).status_code == 403


def test_explanations_need_an_admin_key_or_the_shoppers_own_session(client: TestClient) -> None:
    params = {"user_id": VICTIM, "explain": "true"}
    assert client.get("/v1/recommendations", params=params).status_code == 403
    assert client.get("/v1/recommendations", params=params, headers=STOREFRONT).status_code == 403
    assert client.get("/v1/recommendations", params={"user_id": VICTIM}).status_code == 200  # no history named
    assert client.get("/v1/recommendations", params=params, headers=ADMIN).status_code == 200
    sign_in(client, VICTIM)
    assert client.get("/v1/recommendations", params=params).status_code == 200
    sign_in(client, "u000006")
    assert client.get("/v1/recommendations", params=params).status_code == 403


def test_the_switcher_is_a_demos_only_and_drops_an_erased_shopper(shop: Path) -> None:
    with TestClient(create_app(settings_for(shop))) as plain:
        assert 'id="user-switcher"' not in plain.get("/").text
        assert plain.post("/session/switch", data={"user": VICTIM}).status_code == 404
    with TestClient(create_app(settings_for(shop, demo=True))) as demo:
        listed = re.findall(r'<option value="([^"]+)"', demo.get("/").text)
        assert VICTIM in listed
        switched = demo.post("/session/switch", data={"user": VICTIM, "next": "/search"}, follow_redirects=False)
        assert switched.status_code == 303 and switched.headers["location"] == "/search"
        assert _current(demo.get("/").text) == VICTIM
        assert demo.post("/session/switch", data={"user": "not-listed"}).status_code == 404
        assert demo.delete(f"/v1/users/{VICTIM}", headers=ADMIN).status_code == 200
        other_visitor = TestClient(demo.app)
        assert VICTIM not in re.findall(r'<option value="([^"]+)"', other_visitor.get("/").text)


@pytest.fixture
def locked(shop: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(shop, read_requires_key=True))) as test_client:
        yield test_client


@pytest.mark.parametrize("path", ["/", "/search?q=shoe", "/items/i000001", "/shelves/for-you", "/shelves/because",
                                  "/shelves/similar/i000001", "/report", "/report/evaluation.html"])
def test_with_read_requires_key_every_page_and_fragment_needs_a_key_or_session(locked: TestClient, path: str) -> None:
    refused = locked.get(path)
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
    assert COOKIE not in refused.cookies  # no anonymous session is handed out either
    assert locked.get(path, headers=STOREFRONT).status_code in (200, 404)  # 404: no report written yet
    sign_in(locked, "u000007")
    assert locked.get(path).status_code in (200, 404)
    assert locked.get("/static/storefront.css").status_code == 200  # styles are not content
