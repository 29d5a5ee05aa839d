"""The demo's background evaluation: a `shoprec evaluate` child whose status, log and marker tell
how it went. (The demo's own tests run one to completion and stop others mid-way.)"""

from __future__ import annotations

from pathlib import Path

from shoprec.evaluation.background import REPORT, RESULTS, RUNNING, BackgroundEvaluation, report_state


def test_a_failed_evaluation_says_why_in_its_log_and_leaves_no_marker(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    reports = workspace / "reports"
    reports.mkdir(parents=True)
    for old in (REPORT, RESULTS):
        (reports / old).write_text("a previous run's")
    assert report_state(workspace) == "ready"

    evaluation = BackgroundEvaluation(workspace, ["--models", "popularity"])
    assert evaluation.start()
    # The previous report is gone at once: never shown as this run's.
    assert not (reports / REPORT).exists() and not (reports / RESULTS).exists()
    assert evaluation.wait(timeout=120) == 2  # a ShoprecError's status: the store holds no events
    assert "holds no events" in evaluation.log.read_text()
    assert not (reports / RUNNING).exists()
    assert report_state(workspace) == "none"
    assert not evaluation.stop()  # it had ended


def test_stopped_before_it_starts_it_never_starts(tmp_path: Path) -> None:
    evaluation = BackgroundEvaluation(tmp_path / "ws", ["--models", "popularity"])
    assert not evaluation.stop()
    assert not evaluation.start()
    assert evaluation.pid is None and not (tmp_path / "ws" / "reports").exists()
