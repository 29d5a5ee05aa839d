"""Shared fixtures: where the shared real datasets live, and a fresh workspace per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Progress bars off in tests, whatever the terminal.
os.environ.setdefault("SHOPREC_PROGRESS", "0")

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
