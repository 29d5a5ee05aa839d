"""A small trained shop for the service tests: a synthetic shop with an item-kNN bundle (a model that
reads the shopper's history, so that posted events change its answer), built once and copied per test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from shoprec.cli import cli
from shoprec.cli.generate import generate_into_store
from shoprec.data.store import Store
from shoprec.search.engine import SearchEngine
from shoprec.service.app import create_app
from shoprec.service.settings import ServiceSettings

ADMIN_KEY = "admin-key-for-tests"
STOREFRONT_KEY = "storefront-key-for-tests"
ADMIN = {"X-API-Key": ADMIN_KEY}
STOREFRONT = {"X-API-Key": STOREFRONT_KEY}


def build_shop(workspace: Path, *, users: int = 150, items: int = 80, events: int = 5000, seed: int = 7) -> Path:
    """Generate a synthetic shop into `workspace` and train an item-kNN bundle on it with `shoprec train`
    (which adds what the engine's fallback chain needs)."""
    store = Store(workspace)
    try:
        generate_into_store(store, users, items, events, seed, "en", 30, "2024-09-01")
    finally:
        store.close()
    trained = CliRunner().invoke(cli, ["train", "--workspace", str(workspace), "--models", "itemknn",
                                       "--param", "itemknn.neighbours=20"])
    assert trained.exit_code == 0, trained.output
    SearchEngine.open(workspace, use_semantic=False)  # builds the lexical index, copied with the workspace
    return workspace


@pytest.fixture(scope="session")
def trained_shop_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shop(tmp_path_factory.mktemp("service-shop") / "ws")


@pytest.fixture
def shop(trained_shop_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the trained shop's workspace, for one test to change."""
    return Path(shutil.copytree(trained_shop_template, tmp_path / "ws"))


def settings_for(workspace: Path, **overrides: object) -> ServiceSettings:
    # Lexical search only: loading the sentence model costs seconds per app (one test covers it).
    values: dict[str, object] = {"workspace": workspace, "api_keys": frozenset({ADMIN_KEY}), "storefront_key": STOREFRONT_KEY,
                                 "semantic_search": False}
    values.update(overrides)
    return ServiceSettings.model_validate(values)


@pytest.fixture
def client(shop: Path) -> Iterator[TestClient]:
    """A client of the app over the copied shop (lifespan run: store and bundle opened)."""
    with TestClient(create_app(settings_for(shop))) as test_client:
        yield test_client


def process_alive(pid: int) -> bool:
    """Whether process `pid` still runs (from /proc); a zombie has ended, only its parent's wait is missing."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(workspace: Path, *extra: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`shoprec serve` (a real server process) on a free port, ready to answer; killed (if still alive) on exit."""
    port = _free_port()
    env = {**os.environ, "SHOPREC_API_KEYS": ADMIN_KEY}
    proc = subprocess.Popen([sys.executable, "-c", "from shoprec.cli import main; main()", "serve", "--workspace", str(workspace),
                             "--port", str(port), "--no-semantic", "--no-access-log", *extra],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (proc.stderr.read() if proc.stderr else b"").decode()
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not become ready in 90 s"
            time.sleep(0.2)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()


@contextmanager
def client_per_worker(url: str, expected: int) -> Iterator[dict[int, httpx.Client]]:
    """A keep-alive client for each of the `expected` worker processes answering at `url`, keyed by
    the worker's pid (/ready's `worker`). Each new client is a new connection, which the kernel
    hands to one worker's socket; one that reached a worker already seen is closed, until every
    worker was seen. A client's later requests stay on its connection, so with its worker."""
    clients: dict[int, httpx.Client] = {}
    try:
        deadline = time.monotonic() + 60
        while len(clients) < expected and time.monotonic() < deadline:
            client = httpx.Client(base_url=url, timeout=10)
            answer = client.get("/ready")
            worker = answer.json()["worker"] if answer.status_code == 200 else None
            if worker is None or worker in clients:
                client.close()
            else:
                clients[worker] = client
        assert len(clients) == expected, f"only workers {set(clients)} answered"
        yield clients
    finally:
        for client in clients.values():
            client.close()


def worker_pids(url: str, expected: int) -> set[int]:
    """The pids of the `expected` worker processes answering at `url` (see `client_per_worker`)."""
    with client_per_worker(url, expected) as clients:
        return set(clients)
