"""Prometheus metrics with prometheus_client: requests and latency per route, unhandled exceptions,
events ingested, bundle reloads, the bundle serving, and the process's own numbers.

Routes are labelled by their template (`/v1/items/{item_id}`), never by the raw path, so that the
number of series stays bounded.

One process (`shoprec serve`): each `Metrics` has a registry of its own (so every app built in a
test counts from zero) with the standard process, platform and GC collectors.

Several processes (`shoprec serve --workers N`): the supervisor gives the workers a fresh private
folder in $PROMETHEUS_MULTIPROC_DIR (`MultiprocessDir`), prometheus_client's multiprocess mode
writes each worker's numbers there, and a scrape of any worker merges every worker's files
(MultiProcessCollector): counters and histograms are sums over the workers, including workers that
have since died and were replaced. prometheus_client's ProcessCollector reads only its own process
and does not work across processes (its docs: "custom collectors do not work" in multiprocess
mode), so `WorkerProcessCollector` reads /proc for each live worker and labels the standard
`process_*` families with `pid`.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    multiprocess,
    values,
)
from prometheus_client.exposition import choose_encoder, generate_latest
from prometheus_client.metrics_core import Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Upper bounds in seconds; a request lands in the first bucket at or above its latency.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what a scrape without an Accept header gets
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
RELOAD_OUTCOMES = ("succeeded", "refused")

# No `*_created` series: multiprocess mode cannot have them, so one process goes without them too.
disable_created_metrics()


def multiprocess_mode() -> bool:
    """Whether prometheus_client writes its values to $PROMETHEUS_MULTIPROC_DIR in this process
    (decided when it was imported, from the environment then)."""
    return values.ValueClass is not values.MutexValue


class Metrics:
    """The service's metrics (prometheus_client's are safe to update from many threads)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()  # one process: what a scrape reads; several: not read
        self._multiprocess = multiprocess_mode()
        r = self.registry
        self.requests = Counter("shoprec_http_requests", "HTTP requests answered, by method, route and status.",
                                ("method", "route", "status"), registry=r)
        self.latency = Histogram("shoprec_http_request_duration_seconds", "Time to answer a request, by method and route.",
                                 ("method", "route"), buckets=BUCKETS, registry=r)
        self.exceptions = Counter("shoprec_http_exceptions", "Requests that raised an unhandled exception (answered 500), "
                                  "by method, route and exception class.", ("method", "route", "exception"), registry=r)
        self.events = Counter("shoprec_events_ingested", "Events stored through POST /v1/events.", registry=r)
        self.reloads = Counter("shoprec_bundle_reloads", "Bundle reloads, by outcome.", ("outcome",), registry=r)
        for outcome in RELOAD_OUTCOMES:
            self.reloads.labels(outcome)  # both series from the start, at 0
        # livesum: over several workers, how many live ones serve each version (a reload reaches one worker).
        self.model = Gauge("shoprec_model_info", "The bundle serving now: 1 per process serving the version in the label.",
                           ("version",), multiprocess_mode="livesum", registry=r)
        self.workers = Gauge("shoprec_workers", "Server processes running.", multiprocess_mode="livesum", registry=r)
        self.workers.set(1)
        self._version: str | None = None
        if not self._multiprocess:
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)

    def observe_request(self, method: str, route: str, status: int, seconds: float, exception: str | None = None) -> None:
        """Count one answered request and its latency (and its exception, if it raised one)."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        if exception is not None:
            self.exceptions.labels(method, route, exception).inc()

    def count_events(self, n: int) -> None:
        """Events stored by `POST /v1/events`."""
        self.events.inc(n)

    def count_reload(self, outcome: str) -> None:
        """A bundle reload that `succeeded` or was `refused`."""
        self.reloads.labels(outcome).inc()

    def set_model_version(self, version: str | None) -> None:
        """The bundle now serving."""
        if version == self._version:
            return
        if self._version is not None:
            if self._multiprocess:  # labels cannot be removed in multiprocess mode
                self.model.labels(self._version).set(0)
            else:
                self.model.remove(self._version)
        if version is not None:
            self.model.labels(version).set(1)
        self._version = version

    def scrape_registry(self) -> CollectorRegistry:
        """What a scrape reads: this registry, or every worker's files merged (multiprocess mode)."""
        if not self._multiprocess:
            return self.registry
        path = os.environ[MULTIPROC_ENV]
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=path)
        WorkerProcessCollector(path, registry=merged)
        PlatformCollector(registry=merged)
        return merged

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """The scrape's body and content type: the text format, or OpenMetrics when `accept` asks for it."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.scrape_registry()), content_type

    def render(self) -> str:
        """The text exposition format."""
        return generate_latest(self.scrape_registry()).decode()


_DB_FILE = re.compile(r"^gauge_livesum_(\d+)\.db$")


class WorkerProcessCollector:
    """The standard `process_*` metrics (CPU seconds, resident and virtual memory, start time, open
    and most file descriptors) of each live worker, labelled `pid`. The workers are the processes
    whose live gauges (`shoprec_workers`) are in the multiprocess folder: the supervisor removes a
    dead worker's with `mark_process_dead`."""

    def __init__(self, path: str, registry: CollectorRegistry | None = None) -> None:
        self.path = path
        if registry is not None:
            registry.register(self)

    def pids(self) -> list[int]:
        try:
            names = os.listdir(self.path)
        except OSError:
            return []
        return sorted(int(m.group(1)) for m in map(_DB_FILE.match, names) if m)

    def collect(self) -> Iterable[Metric]:
        merged: dict[str, Metric] = {}
        for pid in self.pids():
            # ProcessCollector reads /proc/<pid>; a process that ended meanwhile yields nothing.
            for family in ProcessCollector(pid=functools.partial(int, pid), registry=None).collect():
                out = merged.setdefault(family.name, Metric(family.name, family.documentation, family.type))
                for sample in family.samples:
                    out.add_sample(sample.name, {**sample.labels, "pid": str(pid)}, sample.value)
        return list(merged.values())


class MultiprocessDir:
    """The private folder the supervisor of `--workers N` gives its workers for their metrics: fresh
    for each run, in $PROMETHEUS_MULTIPROC_DIR for the workers it spawns, removed when it stops."""

    PREFIX = "shoprec-metrics-"

    def __init__(self) -> None:
        _remove_orphans(tempfile.gettempdir(), self.PREFIX)
        self.path = tempfile.mkdtemp(prefix=f"{self.PREFIX}{os.getpid()}-")
        self._previous = os.environ.get(MULTIPROC_ENV)
        os.environ[MULTIPROC_ENV] = self.path  # before any worker starts: each reads it when it imports prometheus_client

    def mark_dead(self, pid: int | None) -> None:
        """A worker ended: its live gauges go (its counters stay, so that no count is lost)."""
        if pid is not None:
            multiprocess.mark_process_dead(pid, self.path)

    def remove(self) -> None:
        if self._previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = self._previous
        shutil.rmtree(self.path, ignore_errors=True)


def _remove_orphans(parent: str, prefix: str) -> None:
    """Remove the folders a supervisor killed with SIGKILL left behind (named after its pid, which no
    longer runs)."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        pid = name[len(prefix):].split("-", 1)[0]
        if name.startswith(prefix) and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's
    return True


class MetricsMiddleware:
    """ASGI middleware timing every HTTP request into a `Metrics`."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        exception: str | None = None

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except Exception as exc:
            exception = type(exc).__name__
            raise
        finally:
            route = scope.get("route")
            # The router writes the matched route into the scope; unmatched paths share one label.
            template = getattr(route, "path", None) or ("/static" if scope.get("path", "").startswith("/static/") else "unmatched")
            self.metrics.observe_request(scope["method"], template, status, time.perf_counter() - started, exception)
