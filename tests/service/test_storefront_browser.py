"""The storefront in a real browser (Playwright driving Debian's Chromium, headless): search, open an
item, add it to the cart, and watch the "for you" shelf change.

Needs /usr/bin/chromium (`apt-get install -y chromium`) and the playwright package; Playwright's own
browser download is never used. Set SHOPREC_DOCS_SCREENSHOT=1 to also write docs/storefront.png (the
item page) and docs/search.png (the search page).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from shoprec.data import schema as S
from shoprec.data.store import Store
from tests.service.conftest import serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DOCS = Path(__file__).resolve().parents[2] / "docs"

pytestmark = pytest.mark.browser


def _shelf_ids(page, shelf: str) -> list[str]:  # type: ignore[no-untyped-def]
    return page.eval_on_selector_all(f"#shelf-{shelf} .card", "cards => cards.map(c => c.dataset.itemId)")


def test_search_open_an_item_add_to_cart_and_the_shelf_changes(shop: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install it with 'apt-get install -y chromium'")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    items = Store(shop).items()
    brand = next(b for b in items[S.BRAND].dropna().value_counts().index if re.fullmatch(r"[A-Za-z]+", b))

    with serving(shop, "--demo") as (_, url), sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url + "/")
            last = page.eval_on_selector("#user-switcher", "s => s.options.length - 1")
            with page.expect_navigation(wait_until="load"):  # the switcher sets a cookie and reloads the page
                page.select_option("#user-switcher", index=last)
            shopper = page.text_content("#current-user")
            assert shopper and shopper.startswith("visitor-")
            before = _shelf_ids(page, "for-you")
            assert len(before) == 8
            elsewhere = str(items.loc[items[S.BRAND] != brand, S.ITEM_ID].iloc[0])  # a product of another brand first
            page.goto(f"{url}/items/{elsewhere}")
            page.wait_for_selector("#toast:not([hidden])")  # its view was posted

            page.fill("#search-box", brand.lower())
            page.press("#search-box", "Enter")
            page.wait_for_selector("#results .card")
            assert page.locator("#results .card mark").count() > 0
            assert page.locator(".facets a.facet").count() > 0
            _screenshot(page, tmp_path / "search.png")
            first = page.locator("#results .card").first
            chosen = first.get_attribute("data-item-id")
            first.locator("a").click()

            page.wait_for_selector("#item-title")
            # the link carries the results' request id and the card's position (?rid=&pos=), which the
            # page's view event sends and then drops from the address
            assert page.url.split("?")[0].endswith(f"/items/{chosen}")
            page.wait_for_selector("#toast:not([hidden])")  # the automatic view was posted
            _wait_until(page, "document.body.dataset.shelvesVersion !== undefined")
            stamp = page.get_attribute("body", "data-shelves-version")
            page.click("#add-to-cart")
            _wait_until(page, f"document.body.dataset.shelvesVersion !== '{stamp}'")
            assert page.text_content("#toast") == "Added to cart"
            after = _shelf_ids(page, "for-you")
            assert len(after) == 8 and after != before and chosen not in after and elsewhere not in after
            # "because you viewed" is about the product opened before: this one's similar items are above it
            elsewhere_title = str(items.loc[items[S.ITEM_ID] == elsewhere, S.TITLE].iloc[0])
            assert page.text_content("#shelf-because h2") == f"Because you viewed {elsewhere_title}"
            on_page = [i for shelf in ("similar", "because", "for-you") for i in _shelf_ids(page, shelf)]
            assert len(on_page) == len(set(on_page)) and chosen not in on_page  # no item on two shelves, nor the item itself
            _screenshot(page, tmp_path / "storefront.png")
        finally:
            browser.close()


def _screenshot(page, path: Path) -> None:  # type: ignore[no-untyped-def]
    """The whole page as a PNG (and into docs/ with SHOPREC_DOCS_SCREENSHOT=1)."""
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    if os.environ.get("SHOPREC_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(path, DOCS / path.name)


def _wait_until(page, expression: str, timeout_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Poll `expression` from the test (page.evaluate goes through the debugging protocol): Playwright's
    wait_for_function compiles it inside the page, which the page's Content-Security-Policy forbids."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.05)
