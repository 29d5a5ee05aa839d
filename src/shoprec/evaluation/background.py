"""An evaluation run in the background while the storefront serves (`shoprec demo`).

`shoprec evaluate` runs in a child process, never a thread, so that the server stays responsive:
its own interpreter (no lock shared with the server), niced, in a session of its own so that
stopping it stops whatever it started, and ending with its parent even when the parent is killed.
Its output goes to `<workspace>/reports/evaluation.log`. While it runs, a marker file
(`evaluation.running`, holding its pid) tells the storefront that a report is on its way.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

REPORT = "evaluation.html"
RESULTS = "evaluation.json"
LOG = "evaluation.log"
RUNNING = "evaluation.running"
# The child yields the CPU to the server: on two cores a page must not wait for a fusion fit.
NICENESS = 10
STOP_GRACE_S = 10.0

ReportState = Literal["ready", "running", "none"]


def reports_dir(workspace: Path) -> Path:
    """Where evaluations write their results and report."""
    return Path(workspace) / "reports"


def report_state(workspace: Path) -> ReportState:
    """"ready" when the workspace's evaluation report exists, else "running" while a background
    evaluation of it is alive, else "none"."""
    folder = reports_dir(workspace)
    if (folder / REPORT).is_file():
        return "ready"
    try:
        pid = int(json.loads((folder / RUNNING).read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return "none"
    return "running" if _alive(pid) else "none"  # a marker left by a killed run is not a running one


class BackgroundEvaluation:
    """`shoprec evaluate --workspace WORKSPACE ARGUMENTS` in a child process: start it, wait for it,
    stop it. It writes the default report, `<workspace>/reports/evaluation.html`."""

    def __init__(self, workspace: Path, arguments: Sequence[str]) -> None:
        self.workspace = Path(workspace).resolve()
        self.arguments = list(arguments)
        self._process: subprocess.Popen[bytes] | None = None
        self._stopped = False
        self._lock = threading.Lock()

    @property
    def report(self) -> Path:
        """The report the evaluation writes."""
        return reports_dir(self.workspace) / REPORT

    @property
    def log(self) -> Path:
        """The evaluation's output (progress, the table, errors)."""
        return reports_dir(self.workspace) / LOG

    @property
    def pid(self) -> int | None:
        """The child's pid, once started."""
        return None if self._process is None else self._process.pid

    def command(self) -> list[str]:
        """The `shoprec evaluate` command line the child runs."""
        return ["shoprec", "evaluate", "--workspace", str(self.workspace), *self.arguments]

    def start(self) -> bool:
        """Start the child; False when `stop` came first (nothing is started then).

        The previous report and results are removed first: the storefront must never show them as
        this run's while it is still running.
        """
        with self._lock:
            if self._stopped:
                return False
            if self._process is not None:
                raise RuntimeError("this evaluation was already started")
            folder = reports_dir(self.workspace)
            folder.mkdir(parents=True, exist_ok=True)
            for old in (REPORT, RESULTS):
                (folder / old).unlink(missing_ok=True)
            with self.log.open("wb") as log:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", __name__, str(os.getpid()), *self.command()[1:]],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            (folder / RUNNING).write_text(json.dumps({"pid": self._process.pid, "started": time.time()}),
                                          encoding="utf-8")
            return True

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to end and return its exit status (negative: the signal that ended it);
        raises subprocess.TimeoutExpired after `timeout` seconds."""
        if self._process is None:
            raise RuntimeError("this evaluation was not started")
        code = self._process.wait(timeout)
        self._forget_marker()
        return code

    def stop(self, grace_s: float = STOP_GRACE_S) -> bool:
        """End the child and everything it started (SIGTERM, then SIGKILL after `grace_s`) and wait
        for it; a `start` after this does nothing. Returns whether the child was still running."""
        with self._lock:
            self._stopped = True
            process = self._process
        if process is None:
            return False
        running = process.poll() is None
        if running:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(grace_s)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
            # Whatever the child started and left behind in its session goes too.
            _signal_group(process.pid, signal.SIGKILL)
        self._forget_marker()
        return running

    def _forget_marker(self) -> None:
        (reports_dir(self.workspace) / RUNNING).unlink(missing_ok=True)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group has ended
        os.killpg(pgid, signum)


def _alive(pid: int) -> bool:
    """Whether process `pid` runs; a zombie (ended, not yet reaped: an orphan under an init that
    does not reap) does not."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except (OSError, IndexError):  # no /proc here
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _child(argv: list[str]) -> None:
    """The child's entry: `PARENT_PID COMMAND ARGS...` -> the shoprec command, niced and bound to its parent."""
    from shoprec.child_process import end_with_parent

    end_with_parent(int(argv[0]))
    os.nice(NICENESS)
    sys.argv = ["shoprec", *argv[1:]]
    from shoprec.cli import main

    main()


if __name__ == "__main__":
    _child(sys.argv[1:])
