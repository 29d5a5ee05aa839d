"""Reports kept per run: each evaluation writes `<workspace>/reports/<run-id>/` (its JSON and HTML
report), never over an earlier run's, and its files are then copied to `reports/evaluation.json` and
`reports/evaluation.html`, the latest run's, which the storefront's /report page shows.

A run id is the run's UTC start time and process id (`20250301T120000Z-4242`): runs sort by time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from shoprec.atomic import write_atomic
from shoprec.evaluation.background import reports_dir


def new_run_dir(workspace: Path) -> Path:
    """A new, empty folder for one run's reports."""
    base = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{os.getpid()}"
    folder = reports_dir(workspace)
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    while True:
        run = folder / (base if n == 0 else f"{base}-{n}")
        try:
            run.mkdir()
            return run
        except FileExistsError:
            n += 1


def publish_latest(run_dir: Path, names: Iterable[str]) -> list[Path]:
    """Copy the run's files `names` to the reports folder (each replaced whole: a reader sees the
    previous run's file or this run's); returns the copies."""
    copies = []
    for name in names:
        target = Path(run_dir).parent / name
        write_atomic(target, (Path(run_dir) / name).read_bytes())
        copies.append(target)
    return copies


def list_runs(workspace: Path) -> list[Path]:
    """The run folders, oldest first."""
    folder = reports_dir(workspace)
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.is_dir() and path.name[:1].isdigit())
