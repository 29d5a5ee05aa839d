"""`shoprec demo` on a tiny shop, as a real process: it serves recommendations before its evaluation
report exists, the report appears later and the storefront then links it, each model is trained once
for serving, and stopping the demo (SIGTERM or Ctrl+C) ends the server and the evaluation with it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from click.testing import CliRunner

from shoprec.cli import cli
from shoprec.evaluation.background import LOG, REPORT, RUNNING, report_state
from tests.service.conftest import _free_port, process_alive

T = TypeVar("T")
TINY_SHOP = ("--users", "150", "--items", "80", "--events", "5000", "--days", "30")
SERVING_DEADLINE_S = 180
REPORT_DEADLINE_S = 300


def _until(condition: Callable[[], T | None], seconds: float, what: str, proc: subprocess.Popen[str] | None = None) -> T:
    """Poll `condition` until it returns something truthy; fail naming `what` after `seconds`
    (at once when `proc` ended first)."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the demo ended (status {proc.returncode}) before {what}:\n{_output(proc)}")
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        time.sleep(0.1)


def _output(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.kill()
    out, _ = proc.communicate(timeout=30)
    return out[-4000:]


@contextmanager
def demo(workspace: Path, *extra: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`shoprec demo` on the tiny shop, on a free loopback port; killed (if still alive) on exit."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from shoprec.cli import main; main()", "demo",
                             "--workspace", str(workspace), "--port", str(port), "--no-semantic", *TINY_SHOP, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def _recommendations(url: str, k: int = 10) -> list[str] | None:
    """The items of one `/v1/recommendations` answer, or None while the server does not answer 200."""
    try:
        answer = httpx.get(f"{url}/v1/recommendations", params={"user_id": "u000001", "k": k}, timeout=5)
    except httpx.TransportError:
        return None
    return [item["item_id"] for item in answer.json()["items"]] if answer.status_code == 200 else None


def _descendants(pid: int) -> set[int]:
    """Every live process below `pid` (children, their children...), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # ended while we looked
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found



def test_the_demo_serves_before_its_report_then_links_it(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    report = workspace / "reports" / REPORT
    with demo(workspace) as (proc, url):
        served = _until(lambda: _recommendations(url), SERVING_DEADLINE_S, "recommendations", proc)
        home = httpx.get(f"{url}/", timeout=10).text
        # Checked after the page: no report then, so the page was served before the report existed.
        assert not report.exists()
        assert len(served) == 10 and len(set(served)) == 10
        assert "Evaluation report" not in home and 'href="/report/evaluation.html"' not in home

        _until(report.exists, REPORT_DEADLINE_S, "evaluation report", proc)
        linked = httpx.get(f"{url}/", timeout=10).text
        assert '<a id="report-link" href="/report">Evaluation report</a>' in linked
        assert 'src="/report/evaluation.html"' in httpx.get(f"{url}/report", timeout=10).text
        page = httpx.get(f"{url}/report/evaluation.html", timeout=10)
        assert page.status_code == 200
        results = json.loads((workspace / "reports" / "evaluation.json").read_text())["results"]
        assert set(results) == {"popularity", "itemknn", "ease", "ials", "fusion:average"}
        for name in results:
            assert name in page.text
        # One bundle, fitted on all events: the evaluation fitted its own models on its split, never a bundle.
        bundles = [p for p in (workspace / "bundles").iterdir() if p.is_dir()]
        assert len(bundles) == 1

        _until(lambda: not (workspace / "reports" / RUNNING).exists(), 60, "end of the evaluation", proc)
        below = _descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        _until(lambda: not any(process_alive(pid) for pid in below), 30, "end of every process the demo started")


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 0), (signal.SIGINT, 0), (signal.SIGKILL, -signal.SIGKILL)])
def test_stopping_the_demo_mid_evaluation_stops_the_evaluation_too(tmp_path: Path, signum: int, status: int) -> None:
    """SIGINT (Ctrl+C) and SIGTERM: the demo stops the evaluation itself. SIGKILL: the evaluation
    learns of its parent's death from the kernel and ends too."""
    workspace = tmp_path / "ws"
    with demo(workspace) as (proc, url):
        _until(lambda: report_state(workspace) == "running", SERVING_DEADLINE_S, "background evaluation", proc)
        evaluation = json.loads((workspace / "reports" / RUNNING).read_text())["pid"]
        below = _descendants(proc.pid)
        assert evaluation in below
        assert _recommendations(url) is not None  # served while the evaluation runs
        proc.send_signal(signum)
        assert proc.wait(timeout=60) == status  # SIGINT too: uvicorn takes it as a request to stop, as in serve
        _until(lambda: not any(process_alive(pid) for pid in below), 30, "end of every process the demo started")
        assert report_state(workspace) == "none"  # the storefront would no longer say "running"
        assert (workspace / "reports" / LOG).exists()


def test_no_serve_trains_evaluates_in_the_foreground_and_stops(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    result = CliRunner().invoke(cli, ["demo", "--workspace", str(workspace), "--no-serve", *TINY_SHOP,
                                      "--models", "popularity,itemknn", "--fusion", "none"])
    assert result.exit_code == 0, result.output
    steps = [line.split(" ", 1)[0] for line in result.stdout.splitlines() if line[:1].isdigit()]
    assert steps == ["1/3", "2/3", "3/3"]
    results = json.loads((workspace / "reports" / "evaluation.json").read_text())["results"]
    assert set(results) == {"popularity", "itemknn"}
    assert (workspace / "reports" / REPORT).exists()
    assert "itemknn" in result.stdout and "ndcg@10" in result.stdout  # the table
    assert len([p for p in (workspace / "bundles").iterdir() if p.is_dir()]) == 1


def test_unknown_models_are_refused_before_anything_is_generated(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--workspace", str(tmp_path / "ws"), "--models", "popularity,nope"])
    assert result.exit_code != 0 and "nope" in str(result.exception or result.output)
    assert not (tmp_path / "ws").exists()

