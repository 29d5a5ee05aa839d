"""Progress bars for long work, on stderr, shown only where a person is watching.

Library code calls `track(...)` or `task(...)`; the bars are drawn by rich when stderr is a
terminal (or SHOPREC_PROGRESS=1) and stay silent in tests, CI logs and pipes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

T = TypeVar("T")

# How much goes to stderr: --quiet, the default, --verbose (shoprec.cli.run_options sets it).
QUIET, NORMAL, VERBOSE = -1, 0, 1
_verbosity = NORMAL


def set_verbosity(level: int) -> None:
    """QUIET, NORMAL or VERBOSE, for the rest of the process."""
    global _verbosity
    if level not in (QUIET, NORMAL, VERBOSE):
        raise ValueError(f"verbosity must be QUIET, NORMAL or VERBOSE, got {level!r}")
    _verbosity = level


def verbosity() -> int:
    return _verbosity


def enabled() -> bool:
    """Whether progress bars are drawn (SHOPREC_PROGRESS=0/1 overrides the terminal check)."""
    forced = os.environ.get("SHOPREC_PROGRESS")
    if forced is not None:
        return forced not in ("0", "", "false", "no")
    return sys.stderr.isatty()


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )


def track(items: Iterable[T], description: str, total: float | None = None) -> Iterator[T]:
    """Iterate `items`, drawing a bar when enabled."""
    if not enabled():
        yield from items
        return
    with _progress() as bar:
        yield from bar.track(items, total=total, description=description)


class _Task:
    def __init__(self, bar: Progress | None, task_id: int | None) -> None:
        self._bar, self._id = bar, task_id

    def advance(self, amount: float = 1) -> None:
        if self._bar is not None and self._id is not None:
            self._bar.advance(self._id, amount)  # type: ignore[arg-type]


@contextmanager
def task(description: str, total: float | None = None) -> Iterator[_Task]:
    """A bar advanced by hand: `with task("ingest", total=n) as t: t.advance(k)`."""
    if not enabled():
        yield _Task(None, None)
        return
    with _progress() as bar:
        yield _Task(bar, bar.add_task(description, total=total))
