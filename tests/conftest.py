"""Shared fixtures: where the shared real datasets live, and a fresh workspace per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Progress bars off in tests, whatever the terminal.
os.environ.setdefault("SHOPREC_PROGRESS", "0")
# One thread per xdist worker for every library (shoprec.threads), set before numpy and friends load;
# subprocesses started by tests inherit it.
os.environ["SHOPREC_THREADS"] = "1"
from shoprec import progress, threads  # noqa: E402 - after the variable it reads

threads.set_threads(1)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_dataset(name: str) -> Path:
    """The path of a shared dataset, or skip the test with the reason when it is absent."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"shared dataset {name} not found at {path} (a clone without ../shared/data)")
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace folder."""
    return tmp_path / "ws"


@pytest.fixture(autouse=True)
def _verbosity_per_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--quiet` or `--verbose` given to a command run in-process lasts for that test only (the level
    is process-wide and passed to child processes through the environment)."""
    monkeypatch.setattr(progress, "_verbosity", None)
    monkeypatch.setenv(progress.VERBOSITY_ENV, "normal")
