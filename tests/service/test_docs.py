"""/docs: Swagger UI from this machine's own assets (no CDN), under a Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from shoprec.service.headers import CONTENT_SECURITY_POLICY

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def _references(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(r"""url:\s*["']([^"']+)["']""", html)


def test_docs_reference_only_local_urls(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    urls = _references(html)
    assert len(urls) == 4, urls  # the style sheet, the favicon, the script, the OpenAPI document
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
    assert "/openapi.json" in urls


def test_each_asset_answers_with_its_type_and_the_normal_security_headers(client: TestClient) -> None:
    assets = [url for url in _references(client.get("/docs").text) if url != "/openapi.json"]
    assert {Path(url).suffix for url in assets} == set(CONTENT_TYPES)
    for url in assets:
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert CONTENT_TYPES[Path(url).suffix] in answer.headers["content-type"], (url, answer.headers["content-type"])
        assert len(answer.content) > 500, url
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, url
        assert answer.headers["x-content-type-options"] == "nosniff", url
    assert client.get("/docs-assets/nothing.js").status_code == 404
    assert client.get("/openapi.json").headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_the_docs_policy_allows_its_inline_script_by_hash_only(client: TestClient) -> None:
    page = client.get("/docs")
    policy = page.headers["content-security-policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "frame-ancestors 'none'" in policy
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert policy == CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' 'sha256-{digest}'")
    assert page.headers["x-frame-options"] == "DENY"


@pytest.mark.browser
def test_swagger_ui_renders_offline_under_its_policy(client: TestClient) -> None:
    """Chromium loads /docs with every request answered by the app in-process; a request to any other
    host is refused (as offline) and recorded, and the page must still show the operations, with no
    console error (a policy violation is one)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install it with 'apt-get install -y chromium'")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    origin = "http://shoprec.test"
    foreign: list[str] = []
    errors: list[str] = []

    def answer(route) -> None:  # type: ignore[no-untyped-def]
        url = urlsplit(route.request.url)
        if f"{url.scheme}://{url.netloc}" != origin:
            foreign.append(route.request.url)
            route.abort()
            return
        got = client.request(route.request.method, url.path + (f"?{url.query}" if url.query else ""))
        route.fulfill(status=got.status_code, headers=dict(got.headers), body=got.content)

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.route("**/*", answer)
            page.goto(f"{origin}/docs")
            page.wait_for_selector(".opblock", timeout=30_000)
            assert page.locator(".opblock").count() >= 10
            assert "shoprec" in page.text_content(".info .title")
        finally:
            browser.close()
    assert not foreign, foreign
    assert not errors, errors
