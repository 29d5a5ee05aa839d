"""Items: GET one, similar items, and catalogue writes that reach recommendations at once."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from shoprec.bundle import load_current
from shoprec.data import schema as S
from shoprec.data.history import Histories
from shoprec.data.schema import EVENT_TYPE_CODE
from shoprec.data.store import Store
from tests.service.conftest import ADMIN, STOREFRONT


def _ids(answer: dict) -> list[str]:
    return [item["item_id"] for item in answer["items"]]


def test_get_item_returns_the_catalogue_row(client: TestClient, shop: Path) -> None:
    row = Store(shop).items().set_index(S.ITEM_ID).loc["i000005"]
    answer = client.get("/v1/items/i000005")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["title"], body["brand"], body["price"], body["category"]) == (row[S.TITLE], row[S.BRAND], row[S.PRICE], row[S.CATEGORY])
    assert body["attributes"] is None or isinstance(body["attributes"], dict)
    missing = client.get("/v1/items/no-such-item")
    assert missing.status_code == 404 and "no-such-item" in missing.json()["message"]


def test_similar_items_follow_the_similarity_row_and_never_include_the_item(client: TestClient, shop: Path) -> None:
    bundle = load_current(shop)
    anchor = int(bundle.item_ids.index("i000010"))  # type: ignore[arg-type]
    # the bundle's similar_items entry (every trained bundle has one) scores the one-item history
    row = bundle.models["similar_items"].score(Histories.from_lists([[(anchor, EVENT_TYPE_CODE["view"], 0)]]))[0]
    items = Store(shop).items()
    out_of_stock = set(items.loc[items[S.IN_STOCK] == False, S.ITEM_ID])  # noqa: E712 - a nullable column
    by_hand = [str(bundle.item_ids.id_of([j])[0]) for j in sorted(range(len(row)), key=lambda j: (-row[j], j)) if row[j] > 0]
    by_hand = [i for i in by_hand if i not in out_of_stock and i != "i000010"][:5]
    answer = client.get("/v1/items/i000010/similar", params={"k": 5})
    assert answer.status_code == 200 and _ids(answer.json()) == by_hand
    assert client.get("/v1/items/nope/similar").status_code == 404
    assert client.get("/v1/items/i000010/similar", params={"k": 0}).status_code == 422


def test_put_creates_then_replaces_and_validates_with_the_ingestion_rules(client: TestClient, shop: Path) -> None:
    item = {"title": "Trail Lamp", "category": "Outdoors > Lights", "brand": "Lumo", "price": 19.5, "in_stock": True,
            "attributes": {"colour": "red"}}
    assert client.put("/v1/items/new-1", json=item).status_code == 401
    assert client.put("/v1/items/new-1", json=item, headers=STOREFRONT).status_code == 403
    created = client.put("/v1/items/new-1", json=item, headers=ADMIN)
    assert created.status_code == 201 and created.json() == {"item_id": "new-1", "created": True}
    got = client.get("/v1/items/new-1").json()
    assert got["title"] == "Trail Lamp" and got["attributes"] == {"colour": "red"} and got["price"] == 19.5
    replaced = client.put("/v1/items/new-1", json={"title": "Trail Lamp 2", "price": 21.0}, headers=ADMIN)
    assert replaced.status_code == 200 and replaced.json()["created"] is False
    got = client.get("/v1/items/new-1").json()
    assert (got["title"], got["brand"], got["price"]) == ("Trail Lamp 2", None, 21.0)  # PUT replaces the whole item
    assert Store(shop).items().set_index(S.ITEM_ID).loc["new-1", S.TITLE] == "Trail Lamp 2"

    bad = {"negative price": ({"price": -3.0}, "price"), "text price": ({"price": "cheap"}, "price"),
           "unknown field": ({"colour": "red"}, "colour"), "stock as text": ({"in_stock": "yes"}, "in_stock")}
    for label, (body, field) in bad.items():
        refused = client.put("/v1/items/new-2", json=body, headers=ADMIN)
        assert refused.status_code == 422 and field in refused.json()["message"], label
    assert client.get("/v1/items/new-2").status_code == 404


def test_deleted_and_out_of_stock_items_are_never_recommended(client: TestClient, shop: Path) -> None:
    shopper = "catalogue-watcher"
    client.post("/v1/events", json={"user_id": shopper, "item_id": "i000020", "event_type": "add_to_cart"}, headers=ADMIN)
    first = _ids(client.get("/v1/recommendations", params={"user_id": shopper, "k": 10}).json())
    gone, sold_out = first[0], first[1]
    assert client.delete(f"/v1/items/{gone}", headers=STOREFRONT).status_code == 403
    assert client.delete(f"/v1/items/{gone}", headers=ADMIN).status_code == 204
    assert client.delete(f"/v1/items/{gone}", headers=ADMIN).status_code == 404
    current = client.get(f"/v1/items/{sold_out}").json()
    fields = {k: v for k, v in current.items() if k != "item_id"}
    assert client.put(f"/v1/items/{sold_out}", json={**fields, "in_stock": False}, headers=ADMIN).status_code == 200

    everything = _ids(client.get("/v1/recommendations", params={"user_id": shopper, "k": 1000}).json())
    assert gone not in everything and sold_out not in everything
    assert everything[:8] == first[2:10]  # the rest keep their order
    catalogue = Store(shop).items()
    in_stock = catalogue[catalogue[S.IN_STOCK].fillna(True).astype(bool)]
    assert len(everything) == len(in_stock) - 1  # every other in-stock item, less the one in the history
    for other in ("u000001", "u000002", "somebody-new"):
        assert not {gone, sold_out} & set(_ids(client.get("/v1/recommendations", params={"user_id": other, "k": 1000}).json()))
    assert gone not in _ids(client.get("/v1/items/i000020/similar", params={"k": 1000}).json())
    assert client.get(f"/v1/items/{gone}").status_code == 404


def test_a_catalogue_change_made_by_another_process_is_seen_at_the_next_request(client: TestClient, shop: Path) -> None:
    top = _ids(client.get("/v1/recommendations", params={"user_id": "u000001", "k": 3}).json())[0]
    other = Store(shop)  # e.g. an ingest run beside the service
    other.delete_items([top])
    other.close()
    assert top not in _ids(client.get("/v1/recommendations", params={"user_id": "u000001", "k": 3}).json())


def test_similar_items_from_another_entry_of_the_bundle(client: TestClient, shop: Path) -> None:
    bundle = load_current(shop)
    row = bundle.models["itemknn"].similarity_[bundle.item_ids.index("i000010")].toarray().ravel()
    items = Store(shop).items()
    out_of_stock = set(items.loc[items[S.IN_STOCK] == False, S.ITEM_ID])  # noqa: E712 - a nullable column
    by_hand = [str(bundle.item_ids.id_of([j])[0]) for j in sorted(range(len(row)), key=lambda j: (-row[j], j)) if row[j] > 0]
    by_hand = [i for i in by_hand if i not in out_of_stock and i != "i000010"][:5]
    answer = client.get("/v1/items/i000010/similar", params={"k": 5, "model": "itemknn"}).json()
    assert answer["model"] == "itemknn" and _ids(answer) == by_hand  # item-kNN's own neighbours, best first
    assert client.get("/v1/items/i000010/similar", params={"k": 5}).json()["model"] == "similar_items"
    refused = client.get("/v1/items/i000010/similar", params={"model": "nope"})
    assert refused.status_code == 422 and "similar_items" in refused.json()["message"]


def test_the_command_line_gives_the_same_similar_items(client: TestClient, shop: Path) -> None:
    from click.testing import CliRunner

    from shoprec.cli import cli

    for item in ("i000010", "i000011", "i000040"):
        for model in (None, "itemknn"):
            flags = [] if model is None else ["--model", model]
            run = CliRunner().invoke(cli, ["recommend", "--workspace", str(shop), "--similar-to", item, "--k", "6", "--json", *flags])
            assert run.exit_code == 0, run.output
            printed = json.loads(run.stdout)
            answer = client.get(f"/v1/items/{item}/similar", params={"k": 6, **({} if model is None else {"model": model})}).json()
            assert [i["item_id"] for i in printed["items"]] == _ids(answer) and printed["model"] == answer["model"]
    refused = CliRunner().invoke(cli, ["recommend", "--workspace", str(shop), "--similar-to", "i000010", "--user", "u1"])
    assert refused.exit_code == 2 and "--similar-to answers one item" in refused.output
    refused = CliRunner().invoke(cli, ["recommend", "--workspace", str(shop), "--similar-to", "i000010", "--brand", "x"])
    assert refused.exit_code == 2 and "--brand" in refused.output
