"""create_app and the per-worker factory: settings travel whole, nothing heavy happens before startup."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from shoprec.cli import cli
from shoprec.service.app import SETTINGS_ENV, app_from_environment, create_app
from tests.service.conftest import ADMIN, settings_for


def test_creating_the_app_opens_nothing_until_startup(tmp_path: Path) -> None:
    missing = tmp_path / "not-yet"
    app = create_app(settings_for(missing))
    assert not missing.exists()  # the store is opened in the lifespan, not when the app is built
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
    assert (missing / "store").is_dir()


def test_each_worker_builds_the_same_app_from_the_environment(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(shop, max_batch_events=2, storefront_key="shared-front-key")
    monkeypatch.setenv(SETTINGS_ENV, settings.model_dump_json())
    with TestClient(app_from_environment()) as client:
        event = {"user_id": "w", "item_id": "i000001", "event_type": "view"}
        assert client.post("/v1/events", json=[event] * 3, headers=ADMIN).status_code == 413  # max_batch_events=2 arrived
        assert client.post("/v1/events", json=event, headers={"X-API-Key": "shared-front-key"}).status_code == 200
        assert 'content="shared-front-key"' in client.get("/").text


def test_serve_and_demo_document_their_options() -> None:
    runner = CliRunner()
    serve = runner.invoke(cli, ["serve", "--help"])
    assert serve.exit_code == 0 and "--api-key" in serve.output and "--demo" in serve.output and "--workspace" in serve.output
    demo = runner.invoke(cli, ["demo", "--help"])
    assert demo.exit_code == 0 and "--no-serve" in demo.output and "--port" in demo.output
