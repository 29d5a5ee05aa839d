"""/health, /ready and /metrics, with and without a trained bundle."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from shoprec.bundle import load_current
from shoprec.cli.generate import generate_into_store
from shoprec.data.store import Store
from shoprec.service.app import create_app
from tests.service.conftest import ADMIN, settings_for
from tests.service.prometheus_text import sample as _sample


def test_health_ready_and_openapi(client: TestClient, shop: Path) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["ready"] is True and ready["bundle"] == load_current(shop).version
    assert ready["items"] == len(Store(shop).items())
    spec = client.get("/openapi.json").json()
    for path in ("/v1/recommendations", "/v1/items/{item_id}", "/v1/items/{item_id}/similar", "/v1/search", "/v1/autocomplete",
                 "/v1/events", "/v1/users/{user_id}/events", "/v1/users/{user_id}", "/v1/admin/reload", "/health", "/ready", "/metrics"):
        assert path in spec["paths"], path
    assert "X-API-Key" in str(spec["components"]["securitySchemes"])
    assert client.get("/docs").status_code == 200


def test_without_a_bundle_the_service_starts_but_is_not_ready(workspace: Path) -> None:
    store = Store(workspace)
    generate_into_store(store, 20, 10, 200, 1, "en", 5, "2024-09-01")  # ingested, never trained
    store.close()
    with TestClient(create_app(settings_for(workspace))) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503 and "shoprec train" in ready.json()["reason"]
        recs = client.get("/v1/recommendations", params={"user_id": "u1"})
        assert recs.status_code == 503 and recs.json()["error"] == "not_ready"
        assert client.post("/v1/events", json={"user_id": "u1", "item_id": "i000001", "event_type": "view"}, headers=ADMIN).status_code == 200
        assert client.get("/v1/items/i000001").status_code == 200


def test_metrics_count_requests_per_route_and_events(client: TestClient) -> None:
    for user in ("a", "b", "c"):
        client.get("/v1/recommendations", params={"user_id": user})
    client.get("/v1/recommendations", params={"user_id": "a", "k": 0})
    client.get("/v1/items/i000001")
    client.get("/v1/items/i000002")
    client.get("/no/such/page")
    client.post("/v1/events", json=[{"user_id": "m", "item_id": "i000001", "event_type": "view"},
                                    {"user_id": "m", "item_id": "i000002", "event_type": "view"}], headers=ADMIN)
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert _sample(text, "shoprec_http_requests_total", method="GET", route="/v1/recommendations", status="200") == 3
    assert _sample(text, "shoprec_http_requests_total", method="GET", route="/v1/recommendations", status="422") == 1
    assert _sample(text, "shoprec_http_requests_total", method="GET", route="/v1/items/{item_id}", status="200") == 2
    assert _sample(text, "shoprec_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert _sample(text, "shoprec_http_request_duration_seconds_count", method="GET", route="/v1/recommendations") == 4
    assert _sample(text, "shoprec_http_request_duration_seconds_bucket", method="GET", route="/v1/recommendations", le="+Inf") == 4
    assert _sample(text, "shoprec_events_ingested_total") == 2
    assert _sample(text, "shoprec_workers") == 1
    assert _sample(text, "process_resident_memory_bytes") > 0  # one process: the standard process metrics


def test_an_unexpected_failure_is_a_json_500_and_counted(shop: Path) -> None:
    from shoprec.service.deps import get_services

    app = create_app(settings_for(shop))

    def broken() -> None:
        raise RuntimeError("disk on fire")

    app.dependency_overrides[get_services] = broken
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/v1/recommendations", params={"user_id": "u1"})
        assert answer.status_code == 500
        assert answer.json()["error"] == "internal_error" and "RuntimeError" in answer.json()["message"]
        assert "disk on fire" not in answer.text  # internals stay in the log
        app.dependency_overrides.clear()  # /metrics needs the real services
        text = client.get("/metrics").text
        assert _sample(text, "shoprec_http_requests_total", method="GET", route="/v1/recommendations", status="500") == 1
        assert _sample(text, "shoprec_http_exceptions_total", method="GET", route="/v1/recommendations",
                       exception="RuntimeError") == 1
