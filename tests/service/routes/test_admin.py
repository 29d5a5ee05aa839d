"""POST /v1/admin/reload: a good bundle is swapped in; a missing, partial or corrupt one is refused and
the old one keeps serving."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from shoprec.bundle import current_path, load_current, write_bundle
from shoprec.data import schema as S
from shoprec.data.store import Store, load_events_dataset
from shoprec.models.registry import create
from tests.service.conftest import ADMIN, STOREFRONT
from tests.service.prometheus_text import sample


def _new_bundle(shop: Path, *, current: bool = False) -> Path:
    dataset, _ = load_events_dataset(shop)
    return write_bundle(shop, {"popularity": create("popularity").fit(dataset)}, dataset, make_current=current)


def _serving(client: TestClient) -> str:
    return client.get("/ready").json()["bundle"]


def test_reload_swaps_in_a_named_bundle_and_makes_it_current(client: TestClient, shop: Path) -> None:
    old = _serving(client)
    path = _new_bundle(shop)
    assert client.post("/v1/admin/reload", json={"version": path.name}).status_code == 401
    assert client.post("/v1/admin/reload", json={"version": path.name}, headers=STOREFRONT).status_code == 403
    answer = client.post("/v1/admin/reload", json={"version": path.name}, headers=ADMIN)
    assert answer.status_code == 200
    assert answer.json() == {"version": path.name, "previous": old, "default_model": "popularity", "models": ["popularity"]}
    assert _serving(client) == path.name and current_path(shop).name == path.name
    recs = client.get("/v1/recommendations", params={"user_id": "someone-new", "k": 3}).json()
    assert recs["bundle"] == path.name
    bundle = load_current(shop)
    scores = bundle.models["popularity"].item_scores_
    items = Store(shop).items()
    out_of_stock = set(items.loc[items[S.IN_STOCK] == False, S.ITEM_ID])  # noqa: E712 - a nullable column
    by_hand = [str(bundle.item_ids.id_of([j])[0]) for j in sorted(range(len(scores)), key=lambda j: (-scores[j], j))]
    assert [r["item_id"] for r in recs["items"]] == [i for i in by_hand if i not in out_of_stock][:3]
    assert sample(client.get("/metrics").text, "shoprec_model_info", version=path.name) == 1


def test_reload_without_a_version_loads_what_current_names(client: TestClient, shop: Path) -> None:
    path = _new_bundle(shop, current=True)  # e.g. `shoprec train` ran beside the service
    assert client.post("/v1/admin/reload", headers=ADMIN).json()["version"] == path.name
    assert _serving(client) == path.name


def test_missing_partial_and_corrupt_bundles_are_refused_and_the_old_one_keeps_serving(client: TestClient, shop: Path) -> None:
    old = _serving(client)
    before = client.get("/v1/recommendations", params={"user_id": "u000001", "k": 5}).json()

    missing = client.post("/v1/admin/reload", json={"version": "20990101T000000Z-1-000001"}, headers=ADMIN)
    assert missing.status_code == 404

    partial = _new_bundle(shop)
    (partial / "manifest.json").unlink()  # an interrupted write
    refused = client.post("/v1/admin/reload", json={"version": partial.name}, headers=ADMIN)
    assert refused.status_code == 422 and "manifest.json" in refused.json()["message"]

    corrupt = _new_bundle(shop)
    for state in (corrupt / "models").rglob("*.npz"):
        state.write_bytes(b"not a numpy archive")
    refused = client.post("/v1/admin/reload", json={"version": corrupt.name}, headers=ADMIN)
    assert refused.status_code == 422 and "the serving one is kept" in refused.json()["message"]

    wrong_items = _new_bundle(shop)
    (wrong_items / "items.json").write_text(json.dumps(["only-one-item"]))
    refused = client.post("/v1/admin/reload", json={"version": wrong_items.name}, headers=ADMIN)
    assert refused.status_code == 422 and "scores" in refused.json()["message"]

    for version in ("../outside", "", "a/b"):
        assert client.post("/v1/admin/reload", json={"version": version}, headers=ADMIN).status_code == 422, version
    assert client.post("/v1/admin/reload", json={"version": "x", "force": True}, headers=ADMIN).status_code == 422

    assert _serving(client) == old and current_path(shop).name == old
    after = client.get("/v1/recommendations", params={"user_id": "u000001", "k": 5}).json()
    assert after.pop("request_id") != before.pop("request_id") and after == before  # each answer has its own id
    assert sample(client.get("/metrics").text, "shoprec_bundle_reloads_total", outcome="refused") == 4
