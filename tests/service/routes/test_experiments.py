"""Experiments through the service: request ids and variants on every list, stable routing of shoppers,
attribution of posted events, interleaving, erasure of what was shown, and `/v1/recommendations`'
parity with `shoprec recommend`."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from shoprec.cli import cli
from shoprec.data import schema as S
from shoprec.data.store import Store
from shoprec.experiments.assignment import assign
from shoprec.experiments.definitions import ExperimentFile, new_experiment
from shoprec.experiments.report import build_report
from shoprec.experiments.shown import FLUSH_EVERY_S, ShownLog, path_in
from tests.service.conftest import ADMIN, STOREFRONT

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _start(shop: Path, name: str = "exp", a: str = "context_popularity", b: str = "itemknn", **options: object) -> None:
    ExperimentFile(shop).start(new_experiment(name, [("A", a), ("B", b)], **options))  # type: ignore[arg-type]


def _report(shop: Path, client: TestClient, name: str = "exp") -> dict:
    client.app.state.services.experiments.shown.flush()  # type: ignore[attr-defined]  # the writer's job within 0.25 s
    log = ShownLog(path_in(shop / "store"))
    try:
        return build_report(ExperimentFile(shop).get(name), log)
    finally:
        log.close()


def test_every_list_carries_a_request_id_and_no_variant_outside_experiments(client: TestClient) -> None:
    recs = client.get("/v1/recommendations", params={"user_id": "u000003", "k": 5}).json()
    again = client.get("/v1/recommendations", params={"user_id": "u000003", "k": 5}).json()
    assert HEX32.match(recs["request_id"]) and recs["request_id"] != again["request_id"]
    assert recs["variant"] is None and recs["experiment"] is None and recs["model"] == "itemknn"
    hits = client.get("/v1/search", params={"q": "", "k": 3}).json()
    assert HEX32.match(hits["request_id"]) and hits["variant"] is None
    item = recs["items"][0]["item_id"]
    similar = client.get(f"/v1/items/{item}/similar", params={"k": 3}).json()
    assert HEX32.match(similar["request_id"]) and similar["variant"] is None


def test_shoppers_are_routed_to_their_stable_variant_until_the_experiment_stops(client: TestClient, shop: Path) -> None:
    _start(shop)
    targets = {"A": "context_popularity", "B": "itemknn"}
    seen = set()
    for n in range(30):
        user = f"routed-{n}"
        first = client.get("/v1/recommendations", params={"user_id": user, "k": 4}).json()
        second = client.get("/v1/recommendations", params={"user_id": user, "k": 4}).json()
        expected = assign("exp", user, ["A", "B"], [0.5, 0.5])
        assert first["variant"] == second["variant"] == expected and first["experiment"] == "exp"
        assert first["model"] == targets[expected]
        seen.add(expected)
    assert seen == {"A", "B"}
    assert client.get("/v1/recommendations", params={"user_id": "x", "k": 4, "model": "itemknn"}).json()["variant"] is None
    ExperimentFile(shop).stop("exp")
    services = client.app.state.services  # type: ignore[attr-defined]
    services.experiments.definitions._checked_at = -1e18  # skip the half-second wait
    assert client.get("/v1/recommendations", params={"user_id": "routed-1", "k": 4}).json()["variant"] is None


def test_posted_events_are_attributed_to_the_list_and_reported(client: TestClient, shop: Path) -> None:
    _start(shop)
    users = {assign("exp", f"buyer-{n}", ["A", "B"], [0.5, 0.5]): f"buyer-{n}" for n in range(20)}
    prices = Store(shop).items().set_index(S.ITEM_ID)[S.PRICE]
    for variant, user in sorted(users.items()):
        answer = client.get("/v1/recommendations", params={"user_id": user, "k": 5}).json()
        assert answer["variant"] == variant
        item = answer["items"][1]["item_id"]
        events = [{"user_id": user, "item_id": item, "event_type": "click", "request_id": answer["request_id"], "position": 2}]
        assert client.post("/v1/events", json=events, headers=STOREFRONT).status_code == 200
        if variant == "B":  # B's shopper also buys two of it, without the request id: credited to the click
            purchase = {"user_id": user, "item_id": item, "event_type": "purchase", "value": 2,
                        "timestamp": pd.Timestamp.now(tz="UTC").isoformat()}
            assert client.post("/v1/events", json=purchase, headers=STOREFRONT).json()["accepted"] == 1
            assert client.post("/v1/events", json=purchase, headers=STOREFRONT).json()["duplicates"] == 1  # a retry
    report = _report(shop, client)
    a, b = report["variants"]["A"], report["variants"]["B"]
    assert (a["users"], a["impressions"], a["clicks"], a["purchases"]) == (1, 5, 1, 0)
    assert (b["users"], b["clicks"], b["purchases"], b["converted_users"]) == (1, 1, 1, 1)
    bought = client.app.state.services.experiments.shown.served_in("exp")  # type: ignore[attr-defined]
    item = next(s for s in bought if s.variant == "B").items[1]
    assert b["revenue"] == pytest.approx(2 * float(prices[item]))


def test_an_event_with_a_bad_request_id_or_position_is_refused(client: TestClient) -> None:
    bad = [{"request_id": "has spaces"}, {"position": 0}, {"position": "2"}, {"request_id": "x" * 65}]
    for extra in bad:
        event = {"user_id": "u1", "item_id": "i000001", "event_type": "click", **extra}
        assert client.post("/v1/events", json=event, headers=STOREFRONT).status_code == 422, extra


def test_interleaving_merges_both_variants_and_credits_the_clicked_team(client: TestClient, shop: Path) -> None:
    _start(shop, "mix", design="interleaving")
    user = "u000005"
    answer = client.get("/v1/recommendations", params={"user_id": user, "k": 6}).json()
    assert answer["variant"] == "interleaved" and answer["model"] is None and len(answer["items"]) == 6
    services = client.app.state.services  # type: ignore[attr-defined]
    served = services.experiments.shown.served(answer["request_id"])
    assert served.teams is not None and len(served.teams) == 6 and set(served.teams) <= {"A", "B"}
    position = served.teams.index("B") + 1
    client.post("/v1/events", json={"user_id": user, "item_id": served.items[position - 1], "event_type": "click",
                                    "request_id": answer["request_id"], "position": position}, headers=STOREFRONT)
    report = _report(shop, client, "mix")
    assert report["variants"]["B"]["wins"] == 1 and report["variants"]["B"]["clicks"] == 1 and report["ties"] == 0


def test_erasure_deletes_the_lists_shown_and_their_events(client: TestClient, shop: Path) -> None:
    _start(shop)
    shopper = "u000007"
    answer = client.get("/v1/recommendations", params={"user_id": shopper, "k": 3}).json()
    client.post("/v1/events", json={"user_id": shopper, "item_id": answer["items"][0]["item_id"], "event_type": "click",
                                    "request_id": answer["request_id"], "position": 1}, headers=STOREFRONT)
    client.app.state.services.experiments.shown.flush()  # type: ignore[attr-defined]  # the writer's job within 0.25 s
    log = ShownLog(path_in(shop / "store"))
    try:
        assert log.served(answer["request_id"]) is not None and log.outcomes_of([shopper], 0)
        erased = client.delete(f"/v1/users/{shopper}", headers=ADMIN).json()
        assert erased["shown_rows"] == 2
        assert log.served(answer["request_id"]) is None and not log.outcomes_of([shopper], 0)
        # erased while the list answered is still queued for the writer: deleted and counted too
        queued = client.get("/v1/recommendations", params={"user_id": "u000008", "k": 3}).json()
        assert client.delete("/v1/users/u000008", headers=ADMIN).json()["shown_rows"] == 1
        time.sleep(2 * FLUSH_EVERY_S)
        assert log.served(queued["request_id"]) is None
    finally:
        log.close()


def _cli_items(shop: Path, *args: str) -> list[str]:
    result = CliRunner().invoke(cli, ["recommend", "--workspace", str(shop), "--json", *args])
    assert result.exit_code == 0, result.output
    return [i["item_id"] for i in json.loads(result.output)["items"]]


@pytest.mark.parametrize(("params", "flags"), [
    ({"diversity": "cap"}, ["--diversity", "cap"]),
    ({"diversity": "mmr", "exclude": "purchase"}, ["--diversity", "mmr", "--exclude", "purchase"]),
    ({"include_seen": "true", "model": "context_popularity"}, ["--include-seen", "--model", "context_popularity"]),
])
def test_recommendation_options_answer_as_the_cli_does(client: TestClient, shop: Path, params: dict, flags: list[str]) -> None:
    answer = client.get("/v1/recommendations", params={"user_id": "u000002", "k": 8, **params}).json()
    assert [i["item_id"] for i in answer["items"]] == _cli_items(shop, "--user", "u000002", "--k", "8", *flags)


def test_a_guest_history_answers_as_the_cli_and_unknown_ids_are_ignored(client: TestClient, shop: Path) -> None:
    items = list(Store(shop).items()[S.ITEM_ID][:3])
    answer = client.get("/v1/recommendations", params={"user_id": "guest-1", "k": 6,
                                                       "history": ",".join([*items, "not-an-item"])}).json()
    cli_items = _cli_items(shop, "--user", "guest-1", "--k", "6", "--history", ",".join(items))
    assert [i["item_id"] for i in answer["items"]] == cli_items
    stranger = client.get("/v1/recommendations", params={"user_id": "guest-1", "k": 6}).json()
    assert [i["item_id"] for i in stranger["items"]] != cli_items


def test_an_unknown_model_is_422_listing_the_bundle_entries(client: TestClient) -> None:
    answer = client.get("/v1/recommendations", params={"user_id": "u1", "model": "nope"})
    assert answer.status_code == 422
    assert "itemknn" in answer.json()["message"] and "itemknn" in answer.json()["details"][0]["entries"]
    assert client.get("/v1/recommendations", params={"user_id": "u1", "exclude": "purchase,bogus"}).status_code == 422
    assert client.get("/v1/recommendations", params={"user_id": "u1", "diversity": "most"}).status_code == 422


def test_storefront_shelves_and_results_link_to_items_with_their_list_and_position(client: TestClient, shop: Path) -> None:
    _start(shop)
    home = client.get("/")
    assert home.status_code == 200
    links = re.findall(r'href="/items/([^"?]+)\?rid=([0-9a-f]{32})&amp;pos=(\d+)"', home.text)
    assert links and [int(p) for _, _, p in links[:3]] == [1, 2, 3]
    item, request_id, _ = links[0]
    served = client.app.state.services.experiments.shown.served(request_id)  # type: ignore[attr-defined]
    assert served.surface == "recommendations" and served.items[0] == item and served.variant in ("A", "B")
    results = client.get("/search", params={"q": ""})
    found = re.findall(r'\?rid=([0-9a-f]{32})&amp;pos=1"', results.text)
    assert found and client.app.state.services.experiments.shown.served(found[0]).surface == "search"  # type: ignore[attr-defined]


def test_a_variant_can_be_another_bundle_loaded_beside_the_current_one(client: TestClient, shop: Path) -> None:
    current = (shop / "bundles" / "CURRENT").read_text().strip()
    other = shop / "bundles" / "other-bundle"
    shutil.copytree(shop / "bundles" / current, other)
    manifest = json.loads((other / "manifest.json").read_text())
    (other / "manifest.json").write_text(json.dumps({**manifest, "version": "other-bundle", "default_model": "context_popularity"}))
    _start(shop, "bundles", a="itemknn", b="other-bundle")
    users = {assign("bundles", f"v{n}", ["A", "B"], [0.5, 0.5]): f"v{n}" for n in range(20)}
    b = client.get("/v1/recommendations", params={"user_id": users["B"], "k": 5}).json()
    a = client.get("/v1/recommendations", params={"user_id": users["A"], "k": 5}).json()
    assert (b["variant"], b["model"], a["variant"], a["model"]) == ("B", "context_popularity", "A", "itemknn")
    assert b["bundle"] == current  # the serving bundle; the variant's answer came from the other one
    direct = client.get("/v1/recommendations", params={"user_id": users["B"], "k": 5, "model": "context_popularity"}).json()
    assert [i["item_id"] for i in b["items"]] == [i["item_id"] for i in direct["items"]]
