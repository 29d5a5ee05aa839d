"""Progress of long work and notes, on stderr, so that no step of a command is silent.

Library code calls `task(...)` or `track(...)`. Where stderr is a terminal, rich draws bars; where
it is not (a file, a pipe, a CI log), each task writes plain lines instead, at most one every
LINE_INTERVAL_S seconds and a last one when it ends:

    ingest events.csv: 250,000/1,000,000 rows (25%), 81,000 rows/s, ETA 9 s
    ingest events.csv: 1,000,000 rows in 12 s, 83,100 rows/s

`--quiet` (verbosity QUIET) silences progress and notes, never errors. SHOPREC_PROGRESS overrides
the choice: 0 is off (the test suite sets it), 1 on (bars on a terminal, lines elsewhere), `lines`
or `bars` that style wherever stderr goes. Machine-readable output never comes through here: it is
the command's, on stdout.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal, TypeVar

if TYPE_CHECKING:
    from rich.progress import Progress
    from rich.progress import Task as RichTask

T = TypeVar("T")

# How much goes to stderr: --quiet, the default, --verbose (shoprec.cli.run_options sets it).
QUIET, NORMAL, VERBOSE = -1, 0, 1
# Child processes (models fitted in isolation, server workers) read the level from here.
VERBOSITY_ENV = "SHOPREC_VERBOSITY"
_LEVEL_NAMES = {QUIET: "quiet", NORMAL: "normal", VERBOSE: "verbose"}
PROGRESS_ENV = "SHOPREC_PROGRESS"
# Off a terminal, a task writes at most one line this often (plus its steps and its last line).
LINE_INTERVAL_S = 5.0

Style = Literal["off", "bars", "lines"]
_verbosity: int | None = None


def set_verbosity(level: int) -> None:
    """QUIET, NORMAL or VERBOSE, for the rest of the process and the processes it starts."""
    global _verbosity
    if level not in _LEVEL_NAMES:
        raise ValueError(f"verbosity must be QUIET, NORMAL or VERBOSE, got {level!r}")
    _verbosity = level
    os.environ[VERBOSITY_ENV] = _LEVEL_NAMES[level]


def verbosity() -> int:
    """The level set in this process, else the one inherited through SHOPREC_VERBOSITY, else NORMAL."""
    if _verbosity is not None:
        return _verbosity
    inherited = {name: level for level, name in _LEVEL_NAMES.items()}.get(os.environ.get(VERBOSITY_ENV, ""))
    return NORMAL if inherited is None else inherited


def style() -> Style:
    """How progress shows: "off" (--quiet, SHOPREC_PROGRESS=0), "bars" on a terminal, else "lines"."""
    if verbosity() == QUIET:
        return "off"
    forced = os.environ.get(PROGRESS_ENV)
    if forced is not None:
        forced = forced.strip().lower()
        if forced in ("0", "", "false", "no", "off"):
            return "off"
        if forced in ("bars", "lines"):
            return forced  # type: ignore[return-value]
    return "bars" if _stderr_is_terminal() else "lines"


def enabled() -> bool:
    """Whether progress shows at all."""
    return style() != "off"


def note(message: str) -> None:
    """`note: message` on stderr, unless --quiet."""
    if verbosity() != QUIET:
        _write_stderr(f"note: {message}")


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced by an object without it, or closed
        return False


def _write_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


# ---------------------------------------------------------------------------------------- formatting
def format_seconds(seconds: float) -> str:
    """`0.4 s`, `9 s`, `4 min 05 s`, `2 h 03 min`."""
    if seconds < 9.95:
        return f"{seconds:.1f} s"
    if seconds < 59.5:
        return f"{seconds:.0f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def format_rate(per_second: float, unit: str) -> str:
    """`81,000 rows/s`, `2.5 models/s`, or for slow steps the time each takes: `12 s each`."""
    if per_second >= 100:
        return f"{per_second:,.0f} {unit}/s"
    if per_second >= 1:
        return f"{per_second:.1f} {unit}/s"
    return f"{format_seconds(1 / per_second)} each"


def _count(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


class LineReporter:
    """Plain progress lines of one task: the done count (of the total, when known), the mean rate
    since the start, and the ETA at that rate.

    `advance` writes a line only when `interval` seconds have passed since the last one; `step`
    always writes one (an epoch and its validation metric); `close` writes the last line. `clock`
    and `write` are there for tests.
    """

    def __init__(self, description: str, total: float | None = None, unit: str = "steps", *,
                 interval: float = LINE_INTERVAL_S, clock: Callable[[], float] = time.monotonic,
                 write: Callable[[str], None] = _write_stderr) -> None:
        self.description, self.total, self.unit = description, total, unit
        self.interval, self._clock, self._write = interval, clock, write
        self.done = 0.0
        self.started = self._last_line = clock()

    def advance(self, amount: float = 1) -> None:
        """Count `amount` more done; a line if the last one is `interval` seconds old."""
        self.done += amount
        now = self._clock()
        # a finished task's line is the last one, written by `close`
        if now - self._last_line >= self.interval and (self.total is None or self.done < self.total):
            self._line(now)

    def step(self, note: str = "") -> None:
        """Count one more done and write its line now, with `note` after the counts."""
        self.done += 1
        self._line(self._clock(), note)

    def close(self, failed: bool = False) -> None:
        """The last line: what was done, in how long, at what rate (or where it stopped)."""
        now = self._clock()
        elapsed = now - self.started
        done = self._done_text(show_share=False)
        if failed:  # the error that follows says why; a line only where some work was done
            if self.done:
                self._write(f"{self.description}: stopped after {done} {self.unit}, {format_seconds(elapsed)}")
            return
        rate = f", {format_rate(self.done / elapsed, self.unit)}" if elapsed > 0 and self.done > 0 else ""
        self._write(f"{self.description}: {done} {self.unit} in {format_seconds(elapsed)}{rate}")

    def status(self, now: float) -> str:
        """`description: done/total unit (share), rate, ETA` as of `now`."""
        parts = [f"{self.description}: {self._done_text(show_share=True)}"]
        elapsed = now - self.started
        if elapsed > 0 and self.done > 0:
            rate = self.done / elapsed
            parts.append(format_rate(rate, self.unit))
            if self.total is not None and self.total > self.done:
                parts.append(f"ETA {format_seconds((self.total - self.done) / rate)}")
        return ", ".join(parts)

    def _done_text(self, show_share: bool) -> str:
        if self.total is None:
            return f"{_count(self.done)} {self.unit}" if show_share else _count(self.done)
        if not show_share:
            return _count(self.done) if self.done == self.total else f"{_count(self.done)}/{_count(self.total)}"
        share = f" ({math.floor(100 * self.done / self.total)}%)" if self.total > 0 else ""
        return f"{_count(self.done)}/{_count(self.total)} {self.unit}{share}"

    def _line(self, now: float, note: str = "") -> None:
        self._last_line = now
        self._write(self.status(now) + (f", {note}" if note else ""))


# ---------------------------------------------------------------------------------------- tasks
class TaskProgress:
    """A task in progress, advanced by its code; shown as a bar, as lines, or not at all."""

    def __init__(self, description: str, total: float | None, unit: str, shown: Style) -> None:
        self._bar: Progress | None = None
        self._id: int | None = None
        self._lines: LineReporter | None = None
        if shown == "bars":
            self._bar = _progress(unit)
            self._bar.start()
            self._id = int(self._bar.add_task(description, total=total, unit=unit))
        elif shown == "lines":
            self._lines = LineReporter(description, total, unit)
        # the meter of `step` lines above a bar
        self._meter = LineReporter(description, total, unit, write=self._print_above_bar) if self._bar else None

    def advance(self, amount: float = 1) -> None:
        """`amount` more done."""
        if self._bar is not None:
            self._bar.advance(self._id, amount)  # type: ignore[arg-type]
            assert self._meter is not None
            self._meter.done += amount
        elif self._lines is not None:
            self._lines.advance(amount)

    def step(self, note: str = "") -> None:
        """One more done, with a line of its own now (e.g. an epoch and its validation metric)."""
        if self._bar is not None:
            self._bar.advance(self._id, 1)  # type: ignore[arg-type]
            assert self._meter is not None
            self._meter.step(note)
        elif self._lines is not None:
            self._lines.step(note)

    def set_total(self, total: float | None) -> None:
        """Change the total (e.g. an estimate of a file's rows refined as it is read)."""
        if self._bar is not None:
            self._bar.update(self._id, total=total)  # type: ignore[arg-type]
        for meter in (self._lines, self._meter):
            if meter is not None:
                meter.total = total

    def _close(self, failed: bool) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self._lines is not None:
            self._lines.close(failed)

    def _print_above_bar(self, line: str) -> None:
        assert self._bar is not None
        self._bar.console.print(line, highlight=False, markup=False, soft_wrap=True)


@contextmanager
def task(description: str, total: float | None = None, unit: str = "steps", *,
         min_total: float = 0) -> Iterator[TaskProgress]:
    """A task advanced by hand: `with task("ingest events.csv", total=n, unit="rows") as t: t.advance(k)`.

    A task whose known total is under `min_total` shows nothing (one item written through the API
    is not a step anyone waits for).
    """
    shown = "off" if total is not None and total < min_total else style()
    handle = TaskProgress(description, total, unit, shown)
    try:
        yield handle
    except BaseException:  # an error, or a generator over the task closed before its end
        handle._close(failed=True)
        raise
    handle._close(failed=False)


def track(items: Iterable[T], description: str, total: float | None = None, unit: str = "steps") -> Iterator[T]:
    """Iterate `items`, one step each."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with task(description, total, unit) as progress:
        for item in items:
            yield item
            progress.advance()


def _progress(unit: str) -> Progress:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: RichTask) -> Text:
            speed = task.finished_speed or task.speed
            return Text(format_rate(speed, task.fields.get("unit", unit)) if speed else "")

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
