"""Who may call what: admin keys, the storefront key, public or keyed reads."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from shoprec.service.app import create_app
from tests.service.conftest import ADMIN, STOREFRONT, settings_for

EVENT = {"user_id": "auth-user", "item_id": "i000001", "event_type": "view"}
WRONG = {"X-API-Key": "not-a-key"}


def _calls(client: TestClient, headers: dict[str, str]) -> dict[str, int]:
    """The status of one call of each kind."""
    return {
        "read": client.get("/v1/recommendations", params={"user_id": "u1", "k": 2}, headers=headers).status_code,
        "item": client.get("/v1/items/i000001", headers=headers).status_code,
        "events": client.post("/v1/events", json=EVENT, headers=headers).status_code,
        "catalogue": client.put("/v1/items/auth-item", json={"title": "t"}, headers=headers).status_code,
        "access": client.get("/v1/users/auth-user/events", headers=headers).status_code,
        "erase": client.delete("/v1/users/nobody", headers=headers).status_code,
        "reload": client.post("/v1/admin/reload", headers=headers).status_code,
    }


def test_public_reads_keyed_writes(client: TestClient) -> None:
    assert _calls(client, {}) == {"read": 200, "item": 200, "events": 401, "catalogue": 401, "access": 401, "erase": 401, "reload": 401}
    assert _calls(client, WRONG) == {"read": 200, "item": 200, "events": 401, "catalogue": 401, "access": 401, "erase": 401, "reload": 401}
    assert _calls(client, STOREFRONT) == {"read": 200, "item": 200, "events": 200, "catalogue": 403, "access": 403, "erase": 403, "reload": 403}
    assert _calls(client, ADMIN) == {"read": 200, "item": 200, "events": 200, "catalogue": 201, "access": 200, "erase": 200, "reload": 200}
    refused = client.post("/v1/events", json=EVENT, headers=WRONG).json()
    assert refused["error"] == "unauthorized" and "X-API-Key" in refused["message"]


def test_reads_can_require_a_key(shop: Path) -> None:
    with TestClient(create_app(settings_for(shop, read_requires_key=True))) as client:
        assert _calls(client, {})["read"] == 401 and _calls(client, {})["item"] == 401
        assert _calls(client, WRONG)["read"] == 401
        assert _calls(client, STOREFRONT)["read"] == 200
        assert _calls(client, ADMIN)["read"] == 200
        assert client.get("/health").status_code == 200  # probes stay open


def test_without_admin_keys_every_admin_call_is_refused_and_says_how_to_set_one(shop: Path) -> None:
    with TestClient(create_app(settings_for(shop, api_keys=frozenset(), storefront_key=None))) as client:
        answer = client.post("/v1/admin/reload")
        assert answer.status_code == 401 and "SHOPREC_API_KEYS" in answer.json()["message"]
        assert client.post("/v1/events", json=EVENT, headers=STOREFRONT).status_code == 401
        assert "shoprec-key" not in client.get("/").text  # no key to hand to the storefront
