"""The admin dashboard in a real browser (Playwright driving Debian's Chromium): sign in with the
form, see every plot drawn under the page's Content-Security-Policy, promote a bundle.

Set SHOPREC_DOCS_SCREENSHOT=1 to also write docs/admin.png.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from shoprec.bundle import current_version
from shoprec.cli import cli
from tests.service.conftest import ADMIN_KEY, serving
from tests.service.test_storefront_browser import CHROMIUM, CHROMIUM_ARGS

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "admin.png"

pytestmark = pytest.mark.browser


def test_sign_in_see_the_plots_and_promote_a_bundle(shop: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install it with 'apt-get install -y chromium'")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    first = current_version(shop)
    trained = CliRunner().invoke(cli, ["train", "--workspace", str(shop), "--models", "popularity"])
    assert trained.exit_code == 0, trained.output
    second = current_version(shop)

    with serving(shop) as (_, url), sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            refused_csp: list[str] = []
            page.on("console", lambda message: refused_csp.append(message.text) if "Content Security Policy" in message.text else None)
            page.goto(url + "/admin")
            assert "admin dashboard needs an admin key" in (page.text_content("body") or "")
            page.goto(url + "/admin/login")
            page.fill("#admin-key", ADMIN_KEY)
            with page.expect_navigation(wait_until="load"):
                page.click("#sign-in")
            assert page.url.endswith("/admin")
            assert page.text_content("#serving") == second
            drawn = page.eval_on_selector_all("img.plot", "images => images.map(i => i.complete && i.naturalWidth > 0)")
            assert len(drawn) >= 2 and all(drawn)
            assert not refused_csp, refused_csp
            page.screenshot(path=str(tmp_path / "admin.png"), full_page=True)
            assert (tmp_path / "admin.png").stat().st_size > 20_000
            if os.environ.get("SHOPREC_DOCS_SCREENSHOT") == "1":
                shutil.copyfile(tmp_path / "admin.png", DOCS_SCREENSHOT)
            with page.expect_navigation(wait_until="load"):
                page.click(f'button[data-promote="{first}"]')
            assert f"bundle {first} is current" in (page.text_content("#done") or "")
            assert page.text_content("#serving") == first and current_version(shop) == first
        finally:
            browser.close()
