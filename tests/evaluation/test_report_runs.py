"""Reports kept per run: a folder per run, the latest copied where the storefront reads it."""

from __future__ import annotations

from pathlib import Path

from shoprec.evaluation.background import REPORT, report_state, reports_dir
from shoprec.evaluation.report_runs import list_runs, new_run_dir, publish_latest


def test_runs_never_share_a_folder_and_the_latest_is_copied(workspace: Path) -> None:
    first, second = new_run_dir(workspace), new_run_dir(workspace)  # the same second, the same process
    assert first != second and first.parent == second.parent == reports_dir(workspace)
    assert list_runs(workspace) == sorted([first, second])
    for run, text in ((first, "first"), (second, "second")):
        (run / REPORT).write_text(text)
    assert report_state(workspace) == "none"
    publish_latest(first, [REPORT])
    publish_latest(second, [REPORT])
    assert (reports_dir(workspace) / REPORT).read_text() == "second"
    assert (first / REPORT).read_text() == "first"  # kept
    assert report_state(workspace) == "ready"
