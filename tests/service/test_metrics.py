"""The service's Prometheus metrics (prometheus_client): buckets, families, labels, the model version,
content negotiation; and `shoprec serve --workers 2`, where one scrape adds up every worker."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from shoprec.service.metrics import BUCKETS, CONTENT_TYPE, MULTIPROC_ENV, Metrics, MultiprocessDir, multiprocess_mode
from shoprec.service.workers import RESTART_WINDOW_S
from tests.service.conftest import client_per_worker, serving
from tests.service.prometheus_text import families, sample, samples


def test_histogram_buckets_are_cumulative_and_sum_the_latencies() -> None:
    assert not multiprocess_mode()  # the test process: one registry per Metrics
    metrics = Metrics()
    for seconds in (0.0005, 0.001, 0.003, 0.2, 20.0):  # 0.001 is in the le="0.001" bucket (le: less or equal)
        metrics.observe_request("GET", "/r", 200, seconds)
    text = metrics.render()
    buckets = {labels["le"]: value for labels, value in samples(text, "shoprec_http_request_duration_seconds_bucket")}
    expected = {"0.001": 2, "0.0025": 2, "0.005": 3, "0.01": 3, "0.025": 3, "0.05": 3, "0.1": 3, "0.25": 4,
                "0.5": 4, "1.0": 4, "2.5": 4, "5.0": 4, "10.0": 4, "+Inf": 5}
    assert buckets == expected and len(expected) == len(BUCKETS) + 1
    assert abs(sample(text, "shoprec_http_request_duration_seconds_sum", method="GET", route="/r") - 20.2045) < 1e-9
    assert sample(text, "shoprec_http_request_duration_seconds_count", method="GET", route="/r") == 5
    assert sample(text, "shoprec_http_requests_total", method="GET", route="/r", status="200") == 5
    assert Metrics().render().count("shoprec_http_requests_total{") == 0  # each Metrics counts from zero


def test_families_types_labels_and_the_model_version() -> None:
    metrics = Metrics()
    metrics.set_model_version('v"1\\x\ny')
    metrics.count_events(3)
    metrics.count_reload("refused")
    metrics.observe_request("POST", "/v1/events", 500, 0.01, exception="RuntimeError")
    text = metrics.render()
    assert sample(text, "shoprec_model_info", version='v"1\\x\ny') == 1  # escaped on the wire, read back whole
    assert sample(text, "shoprec_events_ingested_total") == 3
    assert sample(text, "shoprec_bundle_reloads_total", outcome="refused") == 1
    assert sample(text, "shoprec_bundle_reloads_total", outcome="succeeded") == 0  # there from the start
    assert sample(text, "shoprec_http_exceptions_total", method="POST", route="/v1/events", exception="RuntimeError") == 1
    types = families(text)
    for family, kind in (("shoprec_http_requests", "counter"), ("shoprec_http_request_duration_seconds", "histogram"),
                         ("shoprec_http_exceptions", "counter"), ("shoprec_events_ingested", "counter"),
                         ("shoprec_bundle_reloads", "counter"), ("shoprec_model_info", "gauge"),
                         ("shoprec_workers", "gauge"), ("process_cpu_seconds", "counter"),
                         ("process_resident_memory_bytes", "gauge")):
        assert types.get(family) == kind, family
    assert "_created" not in text
    metrics.set_model_version("v2")  # a reload: the old version's series goes
    text = metrics.render()
    assert [labels for labels, _ in samples(text, "shoprec_model_info")] == [{"version": "v2"}]


def test_a_scrape_negotiates_openmetrics() -> None:
    metrics = Metrics()
    metrics.count_events(1)
    body, content_type = metrics.exposition(None)
    assert content_type == CONTENT_TYPE and content_type.startswith("text/plain; version=0.0.4")
    body, content_type = metrics.exposition("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text") and body.endswith(b"# EOF\n")


def test_the_workers_folder_is_private_and_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MULTIPROC_ENV, "/somewhere/else")
    folder = MultiprocessDir()
    assert os.environ[MULTIPROC_ENV] == folder.path != "/somewhere/else" and os.listdir(folder.path) == []
    Path(folder.path, "gauge_livesum_123.db").write_bytes(b"")
    folder.mark_dead(123)
    assert os.listdir(folder.path) == []
    folder.remove()
    assert not os.path.exists(folder.path) and os.environ[MULTIPROC_ENV] == "/somewhere/else"


def test_a_folder_left_by_a_killed_supervisor_is_removed_by_the_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = tmp_path / f"{MultiprocessDir.PREFIX}{dead.pid}-abc"
    alive = tmp_path / f"{MultiprocessDir.PREFIX}{os.getpid()}-abc"
    orphan.mkdir()
    alive.mkdir()
    folder = MultiprocessDir()
    try:
        assert not orphan.exists() and alive.exists() and Path(folder.path).parent == tmp_path
    finally:
        folder.remove()


def _scrape_until(client: httpx.Client, done: Callable[[str], bool], seconds: float = 5.0) -> str:
    """The scrape once `done` holds for it, or the last one after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        text = client.get("/metrics").text
        if done(text) or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def _items_answered(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return sample(text, "shoprec_http_requests_total", method="GET", route="/v1/items/{item_id}", status="200")


@pytest.mark.slow
def test_one_scrape_adds_up_every_worker_and_a_restart_loses_nothing(shop: Path) -> None:
    n = 7
    with serving(shop, "--workers", "2") as (proc, url):
        started = time.monotonic()
        with client_per_worker(url, 2) as clients:
            for client in clients.values():
                for _ in range(n):
                    assert client.get("/v1/items/i000001").status_code == 200
            pids = set(clients)
            for client in clients.values():  # whichever worker takes the scrape, it reports both
                # A request is counted once its answer is sent: the other worker's last one may land
                # a moment after its client has the answer, so wait for it (briefly) before checking.
                text = _scrape_until(client, lambda t: sample(t, "shoprec_http_requests_total", method="GET",
                                                              route="/v1/items/{item_id}", status="200") >= 2 * n)
                assert sample(text, "shoprec_http_requests_total", method="GET", route="/v1/items/{item_id}",
                              status="200") == 2 * n
                assert sample(text, "shoprec_workers") == 2
                assert {int(labels["pid"]) for labels, _ in samples(text, "process_resident_memory_bytes")} == pids
                assert all(value > 0 for _, value in samples(text, "process_cpu_seconds_total"))
        victim = min(pids)
        # A worker that dies sooner than RESTART_WINDOW_S after its start stops the server (a crash loop).
        time.sleep(max(0.0, RESTART_WINDOW_S + 1 - (time.monotonic() - started)))
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "the worker was not replaced"
            try:
                with client_per_worker(url, 2) as clients:
                    now = set(clients)
                    if victim not in now:
                        break
            except (httpx.TransportError, AssertionError):
                pass
            time.sleep(0.5)
        with client_per_worker(url, 2) as clients:
            for client in clients.values():
                text = client.get("/metrics").text
                # The dead worker's counts stay; its process metrics and live gauges went.
                assert sample(text, "shoprec_http_requests_total", method="GET", route="/v1/items/{item_id}",
                              status="200") == 2 * n
                assert sample(text, "shoprec_workers") == 2
                assert {int(labels["pid"]) for labels, _ in samples(text, "process_resident_memory_bytes")} == now
                assert victim not in now
            assert clients[max(now)].get("/v1/items/i000002").status_code == 200
            counted = _scrape_until(clients[max(now)], lambda t: sample(t, "shoprec_http_requests_total", method="GET",
                                                                        route="/v1/items/{item_id}", status="200") > 2 * n)
            assert sample(counted, "shoprec_http_requests_total", method="GET", route="/v1/items/{item_id}",
                          status="200") == 2 * n + 1
        assert _items_answered(url) == 2 * n + 1
