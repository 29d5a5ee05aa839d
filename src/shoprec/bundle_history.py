"""The history of `bundles/CURRENT`: every change of the bundle in use, one JSON line each, in
`<workspace>/bundles/HISTORY`, so that `shoprec bundles rollback` knows which bundle was in use before.

A line is `{"time", "version", "previous", "action"}`: the bundle made current, the one it replaced
(null for the first), and what did it ("train", "promote", "rollback"). Changes of CURRENT and the
line recording them happen under one lock (`locked`), so two writers never interleave them.

The bundles in use over time form a stack: training or a promotion pushes a bundle, a rollback
pops one. `chain` replays the lines into that stack, so rolling back twice after A, B, C goes back to
B, then to A (not back to C).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HISTORY = "HISTORY"
LOCK = ".lock"
ROLLBACK = "rollback"


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the bundles folder's writer lock (CURRENT, HISTORY, pruning) for the block."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    with (Path(folder) / LOCK).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def append(folder: Path, version: str, previous: str | None, action: str) -> None:
    """Record that `version` replaced `previous` as the current bundle (call under `locked`); the
    line is on disk when this returns."""
    line = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "version": version,
                       "previous": previous, "action": action})
    fd = os.open(Path(folder) / HISTORY, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        cut = size > 0 and os.pread(fd, 1, size - 1) != b"\n"  # a line a crash cut short ends here
        os.write(fd, ("\n" if cut else "").encode("utf-8") + (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read(folder: Path) -> list[dict[str, Any]]:
    """Every recorded change, oldest first (an unreadable line, e.g. one cut by a crash, is skipped)."""
    try:
        text = (Path(folder) / HISTORY).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    entries = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("version"), str):
            entries.append(entry)
    return entries


def chain(entries: list[dict[str, Any]], current: str | None) -> list[str]:
    """The bundles in use over time as a stack, the current one last: each change pushes its
    bundle, a rollback pops one. A CURRENT set before there was a history (or by hand) is pushed
    last, so the stack always ends with `current`."""
    stack: list[str] = []
    for entry in entries:
        version = entry["version"]
        if entry.get("action") == ROLLBACK and len(stack) >= 2 and stack[-2] == version:
            stack.pop()
        elif not stack or stack[-1] != version:
            stack.append(version)
    if current is not None and (not stack or stack[-1] != current):
        stack.append(current)
    return stack


def previous(folder: Path, current: str | None) -> str | None:
    """The bundle in use before the current one (what a rollback goes back to), or None."""
    stack = chain(read(folder), current)
    return stack[-2] if len(stack) >= 2 else None
