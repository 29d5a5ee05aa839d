"""`shoprec simulate`: shoppers with a planted taste play against the running service over HTTP, so that
experiments, attribution and the report are tested end to end.

The taste model: each simulated shopper likes one top-level category of the catalogue (drawn at
random). On a visit they ask for recommendations (`k` items) and look down the list; the item at
position p is clicked with probability

    P(click) = bias(p) * (LIKED if the item's top-level category is theirs else OTHER),  bias(p) = 1 / log2(p + 1)

(a position-biased cascade-free model), and a clicked item is added to the cart with probability
CART and then bought with probability BUY (of a liked item; a tenth of that otherwise). Clicks and
carts are posted with the list's `request_id` and `position`; purchases without them (the report
credits them to the latest click, as a shop's checkout would post them). Before the first visit a
shopper views `history` items of their category (from a catalogue browse), so a model that reads
histories can learn their taste; every posted event also counts at once for the next answer.

A "day" is one round in which each shopper visits with probability `visit_rate`; events carry the
service's clock (the simulation does not fake time). Bounded: at most MAX_SHOPPERS shoppers,
MAX_DAYS days and MAX_REQUESTS requests, and only a service on this machine (`check_loopback`).
"""

from __future__ import annotations

import ipaddress
import math
import random
import socket
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from shoprec.errors import ConfigError

MAX_SHOPPERS = 100_000
MAX_DAYS = 365
MAX_REQUESTS = 1_000_000
BROWSE_K = 1000
BROWSE_PAGES = 5
LIKED, OTHER = 0.5, 0.05
CART, BUY = 0.5, 0.6


@dataclass(frozen=True)
class SimulationSettings:
    shoppers: int = 200
    days: int = 3
    seed: int = 0
    k: int = 10
    visit_rate: float = 0.8
    history: int = 3
    prefix: str = "sim"

    def check(self) -> None:
        if not 1 <= self.shoppers <= MAX_SHOPPERS:
            raise ConfigError(f"--shoppers must be 1..{MAX_SHOPPERS:,}, got {self.shoppers}")
        if not 1 <= self.days <= MAX_DAYS:
            raise ConfigError(f"--days must be 1..{MAX_DAYS}, got {self.days}")
        if not 1 <= self.k <= 100:
            raise ConfigError(f"--k must be 1..100, got {self.k}")
        if not 0 < self.visit_rate <= 1:
            raise ConfigError(f"the visit rate must be in (0, 1], got {self.visit_rate}")
        if self.shoppers * self.days > MAX_REQUESTS:
            raise ConfigError(f"{self.shoppers:,} shoppers for {self.days} days could make over {MAX_REQUESTS:,} requests")


@dataclass
class SimulationResult:
    shoppers: int
    days: int
    visits: int = 0
    requests: int = 0
    impressions: int = 0
    clicks: int = 0
    add_to_carts: int = 0
    purchases: int = 0
    liked_clicks: int = 0
    variants: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "variants": dict(self.variants)}


def check_loopback(url: str) -> str:
    """`url` if it names a service on this machine (loopback address or a name resolving only to one)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--url {url!r}: give http://127.0.0.1:PORT (the service on this machine)")
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(parts.hostname, parts.port or 80)}
    except OSError as exc:
        raise ConfigError(f"--url {url!r}: {parts.hostname} does not resolve ({exc})") from exc
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise ConfigError(f"--url {url!r}: the simulator plays only against a service on this machine (loopback), "
                          f"not {', '.join(sorted(addresses))}")
    return url.rstrip("/")


def simulate(client: httpx.Client, settings: SimulationSettings, surface_params: dict[str, Any] | None = None) -> SimulationResult:
    """Play the shoppers against the service `client` talks to (an httpx.Client with the base URL and
    a key that may post events; FastAPI's TestClient works too)."""
    settings.check()
    started = time.perf_counter()
    rng = random.Random(settings.seed)
    catalogue = _browse(client)
    by_taste: dict[str, list[str]] = {}
    for item_id, category in catalogue.items():
        by_taste.setdefault(_top(category), []).append(item_id)
    tastes = sorted(t for t, items in by_taste.items() if t and len(items) >= settings.history)
    if not tastes:
        raise ConfigError("the catalogue has no categories to plant a taste on")
    shoppers = [(f"{settings.prefix}-{settings.seed}-{n:06d}", rng.choice(tastes)) for n in range(settings.shoppers)]
    result = SimulationResult(settings.shoppers, settings.days)
    for user, taste in shoppers:
        views = rng.sample(by_taste[taste], settings.history)
        if views:
            _post(client, [{"user_id": user, "item_id": i, "event_type": "view"} for i in views])
    for _ in range(settings.days):
        for user, taste in shoppers:
            if rng.random() < settings.visit_rate:
                _visit(client, rng, user, taste, settings, result, surface_params or {})
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _visit(client: httpx.Client, rng: random.Random, user: str, taste: str, settings: SimulationSettings,
           result: SimulationResult, params: dict[str, Any]) -> None:
    answer = client.get("/v1/recommendations", params={"user_id": user, "k": settings.k, **params})
    answer.raise_for_status()
    body = answer.json()
    result.visits += 1
    result.requests += 1
    result.impressions += len(body["items"])
    result.variants[str(body.get("variant"))] += 1
    request_id = body["request_id"]
    events: list[dict[str, Any]] = []
    for position, item in enumerate(body["items"], start=1):
        liked = _top(item.get("category")) == taste
        if rng.random() >= (LIKED if liked else OTHER) / math.log2(position + 1):
            continue
        result.clicks += 1
        result.liked_clicks += liked
        shown = {"user_id": user, "item_id": item["item_id"], "request_id": request_id, "position": position}
        events.append({**shown, "event_type": "click"})
        if rng.random() < CART:
            result.add_to_carts += 1
            events.append({**shown, "event_type": "add_to_cart"})
            if rng.random() < (BUY if liked else BUY / 10):
                result.purchases += 1
                events.append({"user_id": user, "item_id": item["item_id"], "event_type": "purchase", "value": 1.0})
    if events:
        _post(client, events)
        result.requests += 1


def _post(client: httpx.Client, events: list[dict[str, Any]]) -> None:
    answer = client.post("/v1/events", json=events)
    if answer.status_code != 200:
        raise ConfigError(f"the service refused the simulated events ({answer.status_code}): {answer.text[:300]}")


def _browse(client: httpx.Client) -> dict[str, str]:
    """Item id -> category of the catalogue's first BROWSE_PAGES * BROWSE_K items (by popularity)."""
    found: dict[str, str] = {}
    for page in range(1, BROWSE_PAGES + 1):
        answer = client.get("/v1/search", params={"q": "", "k": BROWSE_K, "page": page})
        answer.raise_for_status()
        hits = answer.json()["hits"]
        found.update({h["item_id"]: h.get("category") or "" for h in hits})
        if len(hits) < BROWSE_K:
            break
    return found


def _top(category: str | None) -> str:
    return (category or "").split(">")[0].strip()
