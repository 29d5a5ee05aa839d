"""The service's heavy objects (store, catalogue, recommendation and search engines), built once in
the app's lifespan and handed to routes through `Depends(get_services)`.

`open_engine` and `open_search` are the one place that names the engines: tests replace the
whole `Services` with `app.dependency_overrides[get_services]`.

Erasures reach every process: an erasure is recorded in the store's erasure log
(shoprec.data.erasure_log), and `get_services` has each process follow that log before it answers,
at most every FOLLOW_EVERY_S, so every worker of `serve --workers N` (and any other service on the
workspace) drops what it derived from the erased shopper within a second.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TypeAlias

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from shoprec.bundle import Bundle
from shoprec.data.store import Store, UserErasure
from shoprec.errors import ShoprecError
from shoprec.experiments.serving import ExperimentRuntime
from shoprec.ranking.engine import RecommendationEngine
from shoprec.search.engine import SearchEngine
from shoprec.service.bundle_follower import BundleFollower
from shoprec.service.catalogue import ItemCache
from shoprec.service.catalogue_sync import CatalogueSync
from shoprec.service.histories import IndexedStore
from shoprec.service.metrics import Metrics
from shoprec.service.problems import NotBuilt, NotReady
from shoprec.service.reloader import load_for_serving
from shoprec.service.sessions import SessionSigner, session_secret
from shoprec.service.settings import ServiceSettings

Engine: TypeAlias = RecommendationEngine
FOLLOW_EVERY_S = 0.5  # how often a process reads the erasure log (when it answers requests)
PRUNE_EVERY_S = 3600.0  # how often it also deletes the log's expired entries


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
    erasure_generation: int = 0  # +1 each time this process applies erasures: caches of shopper ids refresh on it
    _reload_lock: threading.Lock = field(default_factory=threading.Lock)
    _erasure_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.catalogue_sync = CatalogueSync(self.catalogue)
        # Follow the erasure log from its current end: this process's caches are built from the
        # store as it is from now on, without the shoppers erased so far.
        self._erasure_seq = self.store.erasures.last()
        self._own_erasures: set[int] = set()  # log entries of this process's erasures, applied already
        self._erasures_due = time.monotonic() + FOLLOW_EVERY_S
        self._prune_due = time.monotonic()
        self.bundle_follower = BundleFollower(self.settings.workspace)  # serve what bundles/CURRENT names

    @cached_property
    def sessions(self) -> SessionSigner:
        """Signs and checks shoppers' session tokens (sessions.py)."""
        return SessionSigner(self._session_secret)

    @cached_property
    def admin_sessions(self) -> SessionSigner:
        """Signs and checks the dashboard's admin sessions: a key derived apart from shoppers', so no
        shopper's token is ever an admin's (service/admin/access.py)."""
        return SessionSigner(hmac.new(self._session_secret, b"shoprec admin session", "sha256").digest())

    @cached_property
    def _session_secret(self) -> bytes:
        return session_secret(self.workspace, self.settings.session_secret)

    @cached_property
    def experiments(self) -> ExperimentRuntime:
        """Running experiments, and the record of lists shown and what came of them (shoprec.experiments)."""
        return ExperimentRuntime(self.workspace, self.store)

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

    def reload(self, version: str | None = None, *, make_current: bool = True, unless_serving: bool = False) -> Bundle:
        """Load bundle `version` (default: the one CURRENT names) beside the serving one, then swap
        (reloader.py: a missing, partial or damaged bundle raises and the serving engine stays). A
        version named becomes CURRENT unless `make_current` is false, and the other workers follow.
        `unless_serving`: nothing to do when `version` is serving already (a reload just did it)."""
        with self._reload_lock:
            if unless_serving and self.engine is not None and self.engine.bundle.version == version:
                return self.engine.bundle
            bundle, engine = load_for_serving(self.workspace, version, lambda b: open_engine(self.workspace, self.store, b),
                                              make_current=make_current)
            self.engine, self.not_ready = engine, None  # one reference assignment: requests see old or new
            self.metrics.set_model_version(bundle.version)
            self._reopen_search()  # its personalisation reads the current bundle
            return bundle

    def reloading(self) -> bool:
        """Whether a reload is loading a bundle in this process now."""
        return self._reload_lock.locked()

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

    def erase_user(self, user_id: str) -> UserErasure:
        """Erase the shopper from the store and from what this process derived from them; the other
        processes learn of it from the store's erasure log (`follow_erasures`)."""
        if "experiments" in self.__dict__:
            self.experiments.flush()  # lists queued for the shown log are deleted (and counted) with the rest
        erased = self.store.delete_user(user_id)
        with self._erasure_lock:
            self.forget_user(user_id)
            self.erasure_generation += 1
            self._own_erasures.add(erased.log_seq)  # so that following the log does not apply it again
        return erased

    def forget_user(self, user_id: str | None) -> None:
        """After an erasure (None: of shoppers no longer known): drop what this process derived from
        the shopper's events: the search engine's click counts and past queries, the history index of
        rewritten segments, the lists recorded as shown to them since (a request answered while the
        erasure ran). The recommendation engine keeps nothing per shopper."""
        if self.search is not None:
            self.search.forget_user(user_id)
        if user_id is not None and "experiments" in self.__dict__:  # a list queued or written after the erasure
            self.experiments.forget_user(user_id)
        if isinstance(self.store, IndexedStore):
            self.store.drop_removed_segments()

    def erasures_due(self) -> bool:
        """Whether `follow_erasures` would read the log now (a clock comparison, no lock)."""
        return time.monotonic() >= self._erasures_due

    def follow_erasures(self, force: bool = False) -> int:
        """Apply the erasures recorded in the store's log since the last call, by any process:
        `forget_user` for each, and `erasure_generation` + 1 when there was any. Reads the log at
        most every FOLLOW_EVERY_S (unless `force`): one indexed read of SQLite when nothing is new.
        Entries pruned before this process read them (it idled past the log's retention) are a
        gap in the sequence: then every shopper's derived data is dropped. Returns how many applied."""
        with self._erasure_lock:
            now = time.monotonic()
            if not force and now < self._erasures_due:
                return 0  # another thread just read it
            self._erasures_due = now + FOLLOW_EVERY_S
            log = self.store.erasures
            if now >= self._prune_due:
                self._prune_due = now + PRUNE_EVERY_S
                log.prune()
            last = log.last()
            if last <= self._erasure_seq:
                return 0
            entries = log.after(self._erasure_seq)
            gap = not entries or entries[0][0] > self._erasure_seq + 1
            applied = 0
            for seq, user_id in entries:
                if seq in self._own_erasures:
                    self._own_erasures.discard(seq)
                    continue
                self.forget_user(user_id)
                applied += 1
            if gap:
                self.forget_user(None)
                applied += 1
            self._erasure_seq = max(last, entries[-1][0] if entries else 0)
            if applied:
                self.erasure_generation += 1
            return applied

    def close(self) -> None:
        if "experiments" in self.__dict__:
            self.experiments.close()
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
    """The app's services (a dependency; override it in tests), after following the erasure log and
    bundles/CURRENT when that is due. Async: FastAPI would otherwise hand this to a worker thread on every request; the
    log is read in one only when due (at most every FOLLOW_EVERY_S)."""
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        raise NotReady("the service is starting")
    if services.erasures_due():
        await run_in_threadpool(services.follow_erasures)
    if services.bundle_follower.due():
        services.bundle_follower.follow(services)  # reads a few bytes; a changed bundle loads in its own thread
    return services
