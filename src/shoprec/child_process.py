"""Child processes that end with their parent: server workers, the demo's background evaluation."""

from __future__ import annotations

import ctypes
import os
import signal
import sys


def end_with_parent(parent: int) -> None:
    """Ask Linux to send this process SIGTERM when its parent dies, even by SIGKILL (which the parent
    cannot pass on): otherwise the child would go on as an orphan, holding a port or the CPU.

    `parent` is the pid the caller expects as its parent: if that parent already died before the
    request took effect, this process exits now. Elsewhere than Linux only that check is made.
    """
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1  # noqa: N806 - the C constant's name
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        sys.exit(0)
