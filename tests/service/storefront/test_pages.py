"""Storefront pages rendered on the server: shelves hold what the API answers, search results are
highlighted and escaped, the shelves' fragments follow posted events, the report page."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from shoprec.data import schema as S
from shoprec.data.store import Store
from shoprec.evaluation.background import RUNNING
from tests.service.conftest import ADMIN, STOREFRONT, STOREFRONT_KEY


def _card_ids(page: str, shelf: str | None = None) -> list[str]:
    if shelf is not None:
        start = page.index(f'id="shelf-{shelf}"')
        page = page[start:page.index("</section>", start)]
    return re.findall(r'class="card" data-item-id="([^"]+)"', page)


def _api_ids(client: TestClient, user: str, k: int) -> list[str]:
    return [i["item_id"] for i in client.get("/v1/recommendations", params={"user_id": user, "k": k}).json()["items"]]


def sign_in(client: TestClient, user: str) -> None:
    """Open `user`'s session as a shop would: a token from POST /v1/sessions, then /session?token=."""
    token = client.post("/v1/sessions", json={"user_id": user}, headers=ADMIN).json()["token"]
    opened = client.get("/session", params={"token": token}, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/"


def test_home_shows_the_signed_in_shoppers_for_you_shelf_and_the_storefront_key(client: TestClient) -> None:
    sign_in(client, "u000002")
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert _card_ids(page.text, "for-you") == _api_ids(client, "u000002", 8)
    assert f'<meta name="shoprec-key" content="{STOREFRONT_KEY}">' in page.text
    assert '<code id="current-user">u000002</code>' in page.text
    assert 'id="user-switcher"' not in page.text  # the switcher is a demo's, not a shop's
    sign_in(client, "u000003")
    assert _card_ids(client.get("/").text, "for-you") == _api_ids(client, "u000003", 8)
    assert client.get("/static/storefront.css").status_code == 200
    assert "X-API-Key" in client.get("/static/storefront.js").text


def test_the_for_you_fragment_follows_a_posted_event(client: TestClient) -> None:
    sign_in(client, "fragment-shopper")
    before = _card_ids(client.get("/shelves/for-you").text)
    assert before and client.get("/shelves/because").text.count('class="card"') == 0
    client.post("/v1/events", json={"user_id": "fragment-shopper", "item_id": "i000040", "event_type": "add_to_cart"}, headers=STOREFRONT)
    after = _card_ids(client.get("/shelves/for-you").text)
    assert after == _api_ids(client, "fragment-shopper", 8) and after != before
    because = client.get("/shelves/because").text
    assert "Because you viewed" in because and _card_ids(because)


def test_item_page_has_event_buttons_similar_items_and_404s(client: TestClient, shop: Path) -> None:
    page = client.get("/items/i000012").text
    title = Store(shop).items().set_index(S.ITEM_ID).loc["i000012", S.TITLE]
    assert html.escape(title) in page
    for event in ("view", "add_to_cart", "purchase"):
        assert f'data-event="{event}" data-item="i000012"' in page
    similar = [i["item_id"] for i in client.get("/v1/items/i000012/similar", params={"k": 8}).json()["items"]]
    assert _card_ids(page, "similar") == similar
    missing = client.get("/items/not-there")
    assert missing.status_code == 404 and "not-there" in missing.text


def test_search_page_highlights_and_escapes(client: TestClient) -> None:
    client.put("/v1/items/evil-1", json={"title": "Qwertz <script>alert(1)</script> lamp", "price": 5.0, "brand": "Zed"}, headers=ADMIN)
    page = client.get("/search", params={"q": "qwertz"}).text
    assert "<script>alert(1)</script>" not in page
    assert "<mark>Qwertz</mark> &lt;script&gt;" in page
    assert _card_ids(page) == ["evil-1"]
    assert re.search(r'href="/search\?q=qwertz&amp;brand=Zed"', page)  # a facet link applies the brand
    filtered = client.get("/search", params={"q": "qwertz", "brand": "Zed"}).text
    assert "Clear filters" in filtered and _card_ids(filtered) == ["evil-1"]


def test_report_page_with_and_without_a_report(client: TestClient, shop: Path) -> None:
    assert "No evaluation report yet" in client.get("/report").text
    assert client.get("/report/evaluation.html").status_code == 404
    assert 'id="report-link"' not in client.get("/").text  # the link appears with the report
    (shop / "reports").mkdir(exist_ok=True)
    (shop / "reports" / "evaluation.html").write_text("<html><body><h1>NDCG 0.42</h1></body></html>")
    assert 'src="/report/evaluation.html"' in client.get("/report").text
    assert "NDCG 0.42" in client.get("/report/evaluation.html").text
    assert '<a id="report-link" href="/report">Evaluation report</a>' in client.get("/").text


def test_the_nav_says_when_an_evaluation_is_running_and_forgets_a_dead_one(client: TestClient, shop: Path) -> None:
    (shop / "reports").mkdir(exist_ok=True)
    marker = shop / "reports" / RUNNING
    marker.write_text(json.dumps({"pid": os.getpid(), "started": 0}))  # a live process: running
    assert "Evaluation running" in client.get("/").text
    assert "running in the background" in client.get("/report").text
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()  # ended and reaped: a marker a killed demo left behind
    marker.write_text(json.dumps({"pid": ended.pid, "started": 0}))
    assert 'id="report-link"' not in client.get("/").text
    assert "No evaluation report yet" in client.get("/report").text


def test_api_only_mode_serves_no_pages(shop: Path) -> None:
    from shoprec.service.app import create_app
    from tests.service.conftest import settings_for

    with TestClient(create_app(settings_for(shop, storefront=False))) as api_only:
        assert api_only.get("/").status_code == 404
        assert api_only.get("/health").status_code == 200


def _section(page: str, shelf: str) -> str:
    start = page.index(f'id="shelf-{shelf}"')
    return html.unescape(page[start:page.index("</section>", start)])


def _title(client: TestClient, item: str) -> str:
    return str(client.get(f"/v1/items/{item}").json()["title"])


def _shelf_ids(page: str) -> dict[str, list[str]]:
    return {shelf: _card_ids(page, shelf) for shelf in ("similar", "because", "for-you") if f'id="shelf-{shelf}"' in page}


def test_no_item_is_on_two_shelves_of_a_page_and_fragments_agree(client: TestClient) -> None:
    sign_in(client, "shelf-shopper")
    for item in ("i000012", "i000013"):  # a history: "because you viewed" is filled, and similar to the item above it
        client.post("/v1/events", json={"user_id": "shelf-shopper", "item_id": item, "event_type": "view"}, headers=STOREFRONT)
    page = client.get("/items/i000013").text
    shelves = _shelf_ids(page)
    assert all(shelves.values()), shelves  # every shelf has items
    every = [item for ids in shelves.values() for item in ids]
    assert len(every) == len(set(every)) and "i000013" not in every
    assert all(len(ids) == 8 for ids in shelves.values())  # excluding above still fills each shelf
    # What the page's JavaScript refreshes is each shelf as the page shows it.
    for shelf, src in re.findall(r'id="shelf-([a-z-]+)" data-shelf-src="([^"]+)"', page):
        assert _card_ids(client.get(html.unescape(src)).text) == shelves[shelf]
    # the item page's "because you viewed" is about the shopper's latest other item (its own item's
    # similar items are the shelf above); the home page's about the latest item
    assert "Because you viewed" in page and _title(client, "i000012") in _section(page, "because")
    home_page = client.get("/").text
    assert _title(client, "i000013") in _section(home_page, "because")
    home = _shelf_ids(home_page)
    assert not set(home["for-you"]) & set(home["because"])
