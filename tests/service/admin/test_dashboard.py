"""The admin dashboard: only for an admin key or an admin session; each section shows the workspace's
own numbers; promote and roll back change the serving bundle."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from shoprec.bundle import current_version
from shoprec.cli import cli
from shoprec.data.store import Store
from shoprec.service.admin.access import ADMIN_COOKIE
from shoprec.service.app import create_app
from shoprec.service.sessions import COOKIE
from tests.service.conftest import ADMIN, ADMIN_KEY, STOREFRONT, settings_for


@pytest.fixture
def admin(shop: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(shop))) as client:
        yield client


def test_the_dashboard_needs_an_admin_key_or_session(admin: TestClient) -> None:
    assert admin.get("/admin").status_code == 401
    assert admin.get("/admin", headers=STOREFRONT).status_code == 401
    shopper = admin.post("/v1/sessions", json={"user_id": "u000001"}, headers=ADMIN).json()["token"]
    admin.cookies.set(ADMIN_COOKIE, shopper)  # a shopper's signed session is no admin's
    assert admin.get("/admin").status_code == 401
    admin.cookies.clear()
    refused = admin.post("/admin/login", data={"key": "not-the-key"}, follow_redirects=False)
    assert refused.status_code == 401 and "not an admin key" in refused.text
    signed = admin.post("/admin/login", data={"key": ADMIN_KEY}, follow_redirects=False)
    assert signed.status_code == 303 and "samesite=strict" in signed.headers["set-cookie"].lower()
    page = admin.get("/admin")
    assert page.status_code == 200 and "<h2>Data</h2>" in page.text
    admin.post("/admin/logout")
    assert admin.get("/admin").status_code == 401
    assert COOKIE not in admin.cookies


def test_each_section_shows_the_workspaces_numbers(admin: TestClient, shop: Path) -> None:
    quarantine = shop / "quarantine"
    quarantine.mkdir(exist_ok=True)
    (quarantine / "ingest-test.csv").write_text("file,line,field,reason,detail,raw\n"
                                                "a.csv,2,price,negative_price,x,r\na.csv,3,price,negative_price,x,r\n"
                                                "a.csv,4,user_id,invalid_id,x,r\n", encoding="utf-8")
    for _ in range(3):
        assert admin.get("/v1/recommendations", params={"user_id": "u000001"}).status_code == 200
    page = admin.get("/admin", headers=ADMIN).text
    events = len(Store(shop).read_events())
    assert f"<b>{events:,}</b> events" in page
    assert "<b>3</b> rejected rows in" in page
    assert len(re.findall(r'<img class="plot" src="data:image/png;base64,', page)) >= 3  # data, quarantine, latency
    row = re.search(r"<code>GET /v1/recommendations</code></td><td>([\d,]+)</td>", page)
    assert row and int(row.group(1).replace(",", "")) >= 3
    assert f'<code id="serving">{current_version(shop)}</code>' in page


def test_promote_and_roll_back_change_the_serving_bundle(admin: TestClient, shop: Path) -> None:
    first = current_version(shop)
    trained = CliRunner().invoke(cli, ["train", "--workspace", str(shop), "--models", "popularity"])
    assert trained.exit_code == 0, trained.output
    second = current_version(shop)
    assert second != first
    admin.post("/v1/admin/reload", headers=ADMIN)
    promoted = admin.post("/admin/bundles/promote", data={"version": first}, headers=ADMIN)
    assert promoted.status_code == 200 and f"bundle {first} is current" in promoted.text
    assert current_version(shop) == first and f'<code id="serving">{first}</code>' in promoted.text
    back = admin.post("/admin/bundles/rollback", headers=ADMIN)
    assert f"rolled back from {first} to {second}" in back.text and current_version(shop) == second
    refused = admin.post("/admin/bundles/promote", data={"version": "no-such-bundle"}, headers=ADMIN)
    assert "was not promoted" in refused.text and current_version(shop) == second
