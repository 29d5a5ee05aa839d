"""Every worker serves the bundle `bundles/CURRENT` names, whoever changed it.

`shoprec bundles promote|rollback`, `shoprec train`, a promote on the dashboard or a
`POST /v1/admin/reload` naming a version all change CURRENT (shoprec.bundle.set_current); the
request that did it reaches one worker of `serve --workers N`. Each worker reads CURRENT on
requests, at most every FOLLOW_EVERY_S (a read of a few bytes), and when it names a bundle other
than the one serving, loads it in a thread of its own (seconds) and swaps it in as a reload does
(Services.reload: checked whole first; a partial or damaged bundle is refused and the serving one
kept). A refused version is not tried again until CURRENT changes. Requests go on being answered
by the serving bundle while the next one loads.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Protocol

from shoprec.bundle import Bundle, current_version
from shoprec.ranking.engine import RecommendationEngine
from shoprec.service.metrics import Metrics


class Services(Protocol):
    """What the follower needs of shoprec.service.deps.Services (which holds the follower)."""

    engine: RecommendationEngine | None
    metrics: Metrics

    def reload(self, version: str | None = None, *, make_current: bool = True, unless_serving: bool = False) -> Bundle: ...

    def reloading(self) -> bool: ...

FOLLOW_EVERY_S = 1.0
log = logging.getLogger(__name__)


class BundleFollower:
    """Reloads the process's bundle when CURRENT names another (one per Services)."""

    def __init__(self, workspace: Path, every_s: float = FOLLOW_EVERY_S) -> None:
        self.workspace = Path(workspace)
        self.every_s = every_s
        self._due = time.monotonic() + every_s
        self._lock = threading.Lock()
        self._loading: threading.Thread | None = None
        self.refused: str | None = None  # the version CURRENT named when a load was refused

    def due(self) -> bool:
        """Whether `follow` would read CURRENT now (a clock comparison, no lock)."""
        return time.monotonic() >= self._due

    def follow(self, services: Services, *, wait: bool = False) -> str | None:
        """Start loading the bundle CURRENT names if it is not the one serving; returns the version
        being loaded (None: nothing to do). `wait`: load on this thread (tests, start-up)."""
        with self._lock:
            self._due = time.monotonic() + self.every_s
            if self._loading is not None and self._loading.is_alive():
                return None
            wanted = current_version(self.workspace)
            serving = services.engine.bundle.version if services.engine is not None else None
            if wanted is None or wanted == serving or wanted == self.refused:
                return None
            if services.reloading():  # a reload in this process (it may be making this version current)
                return None
            if wait:
                self._load(services, wanted)
                return wanted
            self._loading = threading.Thread(target=self._load, args=(services, wanted), name="bundle-follower", daemon=True)
            self._loading.start()
            return wanted

    def _load(self, services: Services, wanted: str) -> None:
        try:
            bundle = services.reload(wanted, make_current=False, unless_serving=True)
        except Exception as exc:  # NotFound, InvalidInput (a partial or damaged bundle), anything else
            self.refused = wanted
            services.metrics.count_reload("refused")
            log.error("bundles/CURRENT names %s, which this worker could not load; it keeps serving %s: %s", wanted,
                      services.engine.bundle.version if services.engine is not None else "nothing", exc)
            return
        self.refused = None
        services.metrics.count_reload("succeeded")
        log.info("now serving bundle %s (bundles/CURRENT changed)", bundle.version)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a load in progress (tests; a clean stop)."""
        loading = self._loading
        if loading is not None:
            loading.join(timeout)
