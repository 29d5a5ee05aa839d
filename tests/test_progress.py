"""Progress lines off a terminal: throttled, with a rate and an ETA; the style each setting picks;
--quiet silences progress and notes."""

from __future__ import annotations

import pytest

from shoprec import progress
from shoprec.progress import LineReporter, format_rate, format_seconds


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def reporter(total: float | None = 1000, interval: float = 5.0) -> tuple[LineReporter, FakeClock, list[str]]:
    clock, lines = FakeClock(), []
    return LineReporter("ingest events.csv", total, "rows", interval=interval, clock=clock, write=lines.append), clock, lines


def test_a_line_only_after_the_interval_with_rate_and_eta() -> None:
    bar, clock, lines = reporter()
    clock.now += 1.0
    bar.advance(100)
    assert lines == []  # 1 s since the start: too soon
    clock.now += 4.0
    bar.advance(150)
    # 250 rows in 5 s: 50 rows/s; 750 left at 50 rows/s: 15 s
    assert lines == ["ingest events.csv: 250/1,000 rows (25%), 50.0 rows/s, ETA 15 s"]
    clock.now += 1.0
    bar.advance(50)
    assert len(lines) == 1  # 1 s since the last line
    clock.now += 4.0
    bar.advance(200)
    # 500 rows in 10 s: 50 rows/s, 500 left: 10 s
    assert lines[1] == "ingest events.csv: 500/1,000 rows (50%), 50.0 rows/s, ETA 10 s"
    clock.now += 10.0
    bar.advance(500)
    bar.close()
    # the finished task's line is the last one alone: 1,000 rows in 20 s
    assert lines[2:] == ["ingest events.csv: 1,000 rows in 20 s, 50.0 rows/s"]


def test_lines_are_throttled_whatever_the_number_of_updates() -> None:
    bar, clock, lines = reporter(total=None, interval=5.0)
    for _ in range(1000):  # an update every 0.1 s for 100 s
        clock.now += 0.1
        bar.advance(7)
    assert 19 <= len(lines) <= 20  # one per 5 s at most
    bar.close()
    assert lines[-1] == "ingest events.csv: 7,000 rows in 1 min 40 s, 70.0 rows/s"  # 7,000 in 100 s
    assert all("ETA" not in line for line in lines)  # no total, no ETA


def test_a_step_is_written_at_once_with_its_note() -> None:
    clock, lines = FakeClock(), []
    epochs = LineReporter("sasrec: training", 10, "epochs", clock=clock, write=lines.append)
    clock.now += 4.0
    epochs.step("validation ndcg@10 0.2000")
    # 1 epoch in 4 s: 4 s each; 9 left: 36 s
    assert lines == ["sasrec: training: 1/10 epochs (10%), 4.0 s each, ETA 36 s, validation ndcg@10 0.2000"]
    clock.now += 4.0
    epochs.step("validation ndcg@10 0.2500")
    assert len(lines) == 2


def test_a_failed_task_says_where_it_stopped() -> None:
    bar, clock, lines = reporter()
    clock.now += 2.0
    bar.close(failed=True)
    assert lines == []  # nothing done: the error says it all
    clock.now += 1.0
    bar.advance(300)
    bar.close(failed=True)
    assert lines == ["ingest events.csv: stopped after 300/1,000 rows, 3.0 s"]


@pytest.mark.parametrize(("seconds", "text"), [(0.42, "0.4 s"), (9.0, "9.0 s"), (12.4, "12 s"), (245, "4 min 05 s"),
                                               (7380, "2 h 03 min")])
def test_durations(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


@pytest.mark.parametrize(("rate", "text"), [(81_000.4, "81,000 rows/s"), (2.5, "2.5 rows/s"), (0.125, "8.0 s each")])
def test_rates(rate: float, text: str) -> None:
    assert format_rate(rate, "rows") == text


@pytest.mark.parametrize(("setting", "terminal", "expected"), [
    (None, True, "bars"), (None, False, "lines"), ("0", True, "off"), ("1", False, "lines"),
    ("lines", True, "lines"), ("bars", False, "bars"),
])
def test_the_style_follows_the_terminal_and_shoprec_progress(monkeypatch: pytest.MonkeyPatch, setting: str | None,
                                                             terminal: bool, expected: str) -> None:
    if setting is None:
        monkeypatch.delenv(progress.PROGRESS_ENV, raising=False)
    else:
        monkeypatch.setenv(progress.PROGRESS_ENV, setting)
    monkeypatch.setattr(progress, "_stderr_is_terminal", lambda: terminal)
    assert progress.style() == expected
    progress.set_verbosity(progress.QUIET)
    assert progress.style() == "off"


def test_quiet_silences_tasks_and_notes_and_is_inherited(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(progress.PROGRESS_ENV, "lines")
    with progress.task("shown", total=3, unit="rows") as bar:
        bar.advance(3)
    progress.note("also shown")
    shown = capsys.readouterr().err
    assert "shown: 3 rows in" in shown and "note: also shown" in shown
    progress.set_verbosity(progress.QUIET)
    with progress.task("hidden", total=3, unit="rows") as bar:
        bar.advance(3)
    progress.note("hidden")
    assert "hidden" not in capsys.readouterr().err
    # a child process reads the level from the environment
    monkeypatch.setattr(progress, "_verbosity", None)
    assert progress.verbosity() == progress.QUIET


def test_a_task_writes_its_last_line_to_stderr_and_small_tasks_can_stay_silent(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(progress.PROGRESS_ENV, "lines")
    for _ in progress.track(range(4), "scoring", unit="users"):
        pass
    with progress.task("one item", total=1, unit="documents", min_total=100) as bar:
        bar.advance()
    progress.note("a note")
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("scoring: 4 users in ")
    assert lines[1] == "note: a note"
