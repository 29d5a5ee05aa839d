"""The real server process (`shoprec serve`): events acknowledged with 200 survive a kill -9."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx

from tests.service.conftest import ADMIN, process_alive, serving, worker_pids


def test_acknowledged_events_survive_kill_9_of_the_server(shop: Path) -> None:
    acked: list[str] = []
    with serving(shop) as (proc, url):
        stop = threading.Event()

        def post_forever() -> None:
            with httpx.Client(base_url=url, headers=ADMIN, timeout=5) as client:
                n = 0
                while not stop.is_set():
                    batch = [{"user_id": "durable", "item_id": f"i{n:06d}-{j}", "event_type": "view",
                              "timestamp": 1_727_000_000_000 + n * 10 + j} for j in range(1 + n % 3)]
                    try:
                        answer = client.post("/v1/events", json=batch)
                    except httpx.TransportError:
                        return  # the server is gone: this batch was never acknowledged
                    if answer.status_code == 200:
                        acked.extend(e["item_id"] for e in batch)
                    n += 1

        poster = threading.Thread(target=post_forever)
        poster.start()
        while len(acked) < 60 and poster.is_alive():
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: requests are in flight
        proc.wait(timeout=30)
        stop.set()
        poster.join(timeout=30)
    assert len(acked) >= 60

    with serving(shop) as (_, url):
        stored = httpx.get(f"{url}/v1/users/durable/events", headers=ADMIN, timeout=10).json()["events"]
        assert set(acked) <= {e["item_id"] for e in stored}
        recs = httpx.get(f"{url}/v1/recommendations", params={"user_id": "durable", "k": 3}, timeout=10)
        assert recs.status_code == 200 and len(recs.json()["items"]) == 3


def test_workers_each_take_connections_and_stop_together_on_sigterm(shop: Path) -> None:
    with serving(shop, "--workers", "2") as (proc, url):
        answered = worker_pids(url, 2)
        assert proc.pid not in answered
        recommended = httpx.get(f"{url}/v1/recommendations", params={"user_id": "someone", "k": 3}, timeout=10)
        assert recommended.status_code == 200 and len(recommended.json()["items"]) == 3
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        for pid in answered:  # no worker outlives the supervisor
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
                time.sleep(0.1)
            assert not os.path.exists(f"/proc/{pid}")


def test_workers_end_when_their_supervisor_is_killed(shop: Path) -> None:
    with serving(shop, "--workers", "2") as (proc, url):
        workers = worker_pids(url, 2)
        os.kill(proc.pid, signal.SIGKILL)  # no chance to stop them itself
        proc.wait(timeout=30)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(process_alive(pid) for pid in workers):
            time.sleep(0.1)
        assert not any(process_alive(pid) for pid in workers), "a worker outlived its killed supervisor"

