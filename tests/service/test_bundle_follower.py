"""Every worker serves the bundle bundles/CURRENT names: a promote, rollback, train or reload that
reached one worker reaches the others (service/bundle_follower.py), and a damaged bundle is refused
once, the serving one kept."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from shoprec.bundle import write_bundle
from shoprec.data.store import load_events_dataset
from shoprec.models.registry import create
from shoprec.service.app import create_app
from shoprec.service.deps import open_services
from tests.service.conftest import ADMIN, client_per_worker, serving, settings_for
from tests.service.prometheus_text import sample


def _new_bundle(shop: Path, *, current: bool) -> Path:
    dataset, _ = load_events_dataset(shop)
    return write_bundle(shop, {"popularity": create("popularity").fit(dataset)}, dataset, make_current=current)


def _until(check, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not followed in time"
        time.sleep(0.1)


def test_a_process_loads_the_bundle_current_names_and_refuses_a_damaged_one_once(shop: Path) -> None:
    services = open_services(settings_for(shop))
    try:
        old = services.engine.bundle.version  # type: ignore[union-attr]
        assert services.bundle_follower.follow(services, wait=True) is None  # CURRENT names the serving one
        damaged = _new_bundle(shop, current=True)
        for state in (damaged / "models").rglob("*.npz"):
            state.write_bytes(b"not a numpy archive")
        assert services.bundle_follower.follow(services, wait=True) == damaged.name
        assert services.engine.bundle.version == old  # type: ignore[union-attr]  # refused, the serving one kept
        assert services.bundle_follower.refused == damaged.name
        assert services.bundle_follower.follow(services, wait=True) is None  # not tried again
        assert sample(services.metrics.render(), "shoprec_bundle_reloads_total", outcome="refused") == 1

        good = _new_bundle(shop, current=True)
        assert services.bundle_follower.follow(services, wait=True) == good.name
        assert services.engine.bundle.version == good.name  # type: ignore[union-attr]
        assert services.bundle_follower.refused is None
    finally:
        services.close()


def test_the_app_follows_current_on_requests(shop: Path) -> None:
    with TestClient(create_app(settings_for(shop))) as client:
        newer = _new_bundle(shop, current=True)  # e.g. `shoprec train` or `bundles promote` beside the service
        _until(lambda: client.get("/ready").json()["bundle"] == newer.name)
        assert client.get("/v1/recommendations", params={"user_id": "new", "k": 3}).json()["bundle"] == newer.name


def test_a_reload_on_one_worker_reaches_the_other(shop: Path) -> None:
    with serving(shop, "--workers", "2") as (_, url), client_per_worker(url, 2) as clients:
        first, second = clients.values()
        old = second.get("/ready").json()["bundle"]
        newer = _new_bundle(shop, current=False)
        assert first.post("/v1/admin/reload", json={"version": newer.name}, headers=ADMIN).json()["version"] == newer.name
        _until(lambda: second.get("/ready").json()["bundle"] == newer.name)
        assert second.get("/v1/recommendations", params={"user_id": "new", "k": 3}).json()["bundle"] == newer.name
        assert old != newer.name
        assert sample(httpx.get(f"{url}/metrics").text, "shoprec_model_info", version=newer.name) == 2  # both serve it


def test_a_service_started_before_any_bundle_serves_the_first_one_made_current(shop: Path) -> None:
    from shoprec.bundle import bundles_dir, current_version, set_current

    trained = current_version(shop)
    (bundles_dir(shop) / "CURRENT").unlink()  # as if the service started before `shoprec train` finished
    services = open_services(settings_for(shop))
    try:
        assert services.engine is None and services.not_ready
        assert services.bundle_follower.follow(services, wait=True) is None  # nothing current yet
        set_current(shop, str(trained), action="train")
        assert services.bundle_follower.follow(services, wait=True) == trained
        assert services.engine is not None and services.engine.bundle.version == trained and services.not_ready is None
    finally:
        services.close()
