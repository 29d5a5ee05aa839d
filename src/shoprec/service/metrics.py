"""Prometheus metrics: request counts and latency histograms per route, events ingested, model version.

Written by hand: prometheus_client is not a dependency, and the text exposition format
(https://prometheus.io/docs/instrumenting/exposition_formats/) for a few counters and one
histogram is short. Routes are labelled by their template (`/v1/items/{item_id}`), never by
the raw path, so that the number of series stays bounded.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Upper bounds in seconds; a request lands in the first bucket at or above its latency.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))  # last: above every bound
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds


class Metrics:
    """The service's counters, safe to update from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, str]] = Counter()
        self._latency: dict[tuple[str, str], _Histogram] = {}
        self._events = 0
        self._reloads: Counter[str] = Counter()
        self._model_version: str | None = None

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        with self._lock:
            self._requests[(method, route, str(status))] += 1
            self._latency.setdefault((method, route), _Histogram()).observe(seconds)

    def count_events(self, n: int) -> None:
        """Events stored by `POST /v1/events`."""
        with self._lock:
            self._events += n

    def count_reload(self, outcome: str) -> None:
        """A bundle reload that `succeeded` or was `refused`."""
        with self._lock:
            self._reloads[outcome] += 1

    def set_model_version(self, version: str | None) -> None:
        """The bundle now serving."""
        with self._lock:
            self._model_version = version

    def render(self) -> str:
        """The text exposition format."""
        with self._lock:
            lines = ["# HELP shoprec_http_requests_total HTTP requests answered, by method, route and status.",
                     "# TYPE shoprec_http_requests_total counter"]
            for (method, route, status), n in sorted(self._requests.items()):
                lines.append(f"shoprec_http_requests_total{_labels(method=method, route=route, status=status)} {n}")
            lines += ["# HELP shoprec_http_request_duration_seconds Time to answer a request, by method and route.",
                      "# TYPE shoprec_http_request_duration_seconds histogram"]
            for (method, route), hist in sorted(self._latency.items()):
                cumulative = 0
                for bound, n in zip((*BUCKETS, float("inf")), hist.counts):
                    cumulative += n
                    le = "+Inf" if bound == float("inf") else repr(bound)
                    lines.append(f"shoprec_http_request_duration_seconds_bucket{_labels(method=method, route=route, le=le)} {cumulative}")
                lines.append(f"shoprec_http_request_duration_seconds_sum{_labels(method=method, route=route)} {hist.total!r}")
                lines.append(f"shoprec_http_request_duration_seconds_count{_labels(method=method, route=route)} {cumulative}")
            lines += ["# HELP shoprec_events_ingested_total Events stored through POST /v1/events.",
                      "# TYPE shoprec_events_ingested_total counter",
                      f"shoprec_events_ingested_total {self._events}",
                      "# HELP shoprec_bundle_reloads_total Bundle reloads, by outcome.",
                      "# TYPE shoprec_bundle_reloads_total counter"]
            for outcome in ("succeeded", "refused"):
                lines.append(f"shoprec_bundle_reloads_total{_labels(outcome=outcome)} {self._reloads[outcome]}")
            lines += ["# HELP shoprec_model_info The bundle serving now (value 1; version as a label).",
                      "# TYPE shoprec_model_info gauge"]
            if self._model_version is not None:
                lines.append(f"shoprec_model_info{_labels(version=self._model_version)} 1")
        return "\n".join(lines) + "\n"


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in labels.items()) + "}"


def _escape(value: str) -> str:
    """A label value as the format wants it: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


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

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            # The router writes the matched route into the scope; unmatched paths share one label.
            template = getattr(route, "path", None) or ("/static" if scope.get("path", "").startswith("/static/") else "unmatched")
            self.metrics.observe_request(scope["method"], template, status, time.perf_counter() - started)
