"""The service's heavy objects (store, catalogue, recommendation and search engines), built once in
the app's lifespan and handed to routes through `Depends(get_services)`.

`open_engine` and `open_search` are the one place that names the engines: tests replace the
whole `Services` with `app.dependency_overrides[get_services]`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

from fastapi import Request

from shoprec.bundle import Bundle
from shoprec.data.store import Store
from shoprec.errors import ShoprecError
from shoprec.ranking.engine import RecommendationEngine
from shoprec.search.engine import SearchEngine
from shoprec.service.catalogue import ItemCache
from shoprec.service.catalogue_sync import CatalogueSync
from shoprec.service.histories import IndexedStore
from shoprec.service.metrics import Metrics
from shoprec.service.problems import NotBuilt, NotReady
from shoprec.service.reloader import load_for_serving
from shoprec.service.settings import ServiceSettings

Engine: TypeAlias = RecommendationEngine


def open_engine(workspace: Path, store: Store, bundle: Bundle | None = None) -> Engine:
    """The recommendation engine over `store` with `bundle` (default: the current one)."""
    return RecommendationEngine.open(workspace, store, bundle)


def open_search(workspace: Path, semantic: bool = True, store: Store | None = None,
                bundle: Bundle | None = None) -> SearchEngine:
    """The search engine over the workspace's catalogue (indexes built or refreshed on open);
    personalised queries read histories through `store` and score with `bundle` when given."""
    return SearchEngine.open(workspace, use_semantic=semantic, store=store, bundle=bundle)


@dataclass
class Services:
    """Everything a request needs, one per app: the state it serves from (store, catalogue cache,
    engines, why one is missing), swapped whole on reload."""

    settings: ServiceSettings
    store: Store
    catalogue: ItemCache
    metrics: Metrics
    storefront_key: str | None = None
    engine: Engine | None = None
    search: SearchEngine | None = None
    not_ready: str | None = None  # why there is no engine
    search_off: str | None = None  # why there is no search engine
    _reload_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.catalogue_sync = CatalogueSync(self.catalogue)

    @property
    def workspace(self) -> Path:
        return self.settings.workspace

    def recommender(self) -> Engine:
        """The engine, after catching up with catalogue changes; 503 when no bundle is loaded."""
        self.sync_catalogue()
        engine = self.engine
        if engine is None:
            raise NotReady(self.not_ready or "no trained bundle is loaded")
        return engine

    def searcher(self) -> SearchEngine:
        """The search engine, after catching up with catalogue changes; 501 when search is unavailable."""
        self.sync_catalogue()
        if self.search is None:
            raise NotBuilt(self.search_off or "search is not available")
        return self.search

    def sync_catalogue(self) -> None:
        """Hand the store's catalogue changes to both engines before answering (catalogue_sync.py)."""
        self.catalogue_sync.apply(self.engine, self.search)

    def reload(self, version: str | None = None) -> Bundle:
        """Load bundle `version` (default: the one CURRENT names) beside the serving one, then swap
        (reloader.py: a missing, partial or damaged bundle raises and the serving engine stays)."""
        with self._reload_lock:
            bundle, engine = load_for_serving(self.workspace, version, lambda b: open_engine(self.workspace, self.store, b))
            self.engine, self.not_ready = engine, None  # one reference assignment: requests see old or new
            self.metrics.set_model_version(bundle.version)
            self._reopen_search()  # its personalisation reads the current bundle
            return bundle

    def _bundle(self) -> Bundle | None:
        """The serving engine's bundle (search personalises with it), if one is loaded."""
        return getattr(self.engine, "bundle", None)

    def _reopen_search(self) -> None:
        """Open the search engine afresh and swap it in; on failure the serving one stays."""
        try:
            self.search, self.search_off = open_search(self.workspace, self.settings.semantic_search, self.store,
                                                       self._bundle()), None
        except ShoprecError as exc:
            if self.search is None:
                self.search_off = f"search is not available: {exc}"

    def forget_user(self, user_id: str) -> None:
        """After an erasure: drop what the engines derived from the shopper's events (the search
        engine's click counts; the recommendation engine keeps nothing per shopper)."""
        if self.search is not None:
            self.search.forget_user(user_id)

    def close(self) -> None:
        self.store.close()


def open_services(settings: ServiceSettings, metrics: Metrics | None = None) -> Services:
    """Open the store and load the current bundle and the engines (the app's lifespan calls this).

    Without a usable bundle the service still starts: /ready says why, recommendations answer 503,
    and `POST /v1/admin/reload` loads one once trained.
    """
    store = IndexedStore(settings.workspace)
    store.live  # noqa: B018 - open the live log now, not racing in the first requests' threads
    store.warm()
    services = Services(settings, store, ItemCache(store), metrics or Metrics(), settings.effective_storefront_key())
    try:
        services.engine = open_engine(settings.workspace, store)
        services.metrics.set_model_version(services.engine.bundle.version)
    except ShoprecError as exc:
        services.not_ready = str(exc)
    except Exception as exc:  # a damaged bundle fails deep inside numpy or scipy: serve without it
        services.not_ready = f"the current bundle could not be loaded: {type(exc).__name__}: {exc}"
    try:
        services.search = open_search(settings.workspace, settings.semantic_search, store, services._bundle())
        # The sentence model loads on the first query: pay that at startup, not in a shopper's request.
        services.search.search("warm up", k=1)
    except ShoprecError as exc:
        services.search_off = f"search is not available: {exc}"
    return services


async def get_services(request: Request) -> Services:
    """The app's services (a dependency; override it in tests). Async: FastAPI would otherwise hand
    this attribute lookup to a worker thread on every request."""
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        raise NotReady("the service is starting")
    return services
