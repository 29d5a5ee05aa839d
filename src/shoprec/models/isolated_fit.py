"""Fit one model in a child process, so that a crash inside a native library (a segmentation fault in
LAPACK, the kernel's out-of-memory killer) costs that model and not the whole training run.

The child fits the model and saves it into the given folder (the bundle being written), so a fitted
model is on disk as soon as it is fitted; the parent then loads it from there. Children come from a
multiprocessing fork server: a clean process started once, before this process has run any OpenMP
code, so a child never inherits a thread pool that fork would leave half-alive (GNU OpenMP hangs in
a forked child of a process that used it), and it starts in milliseconds with shoprec imported.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

from shoprec import threads
from shoprec.data.dataset import Dataset
from shoprec.errors import ShoprecError
from shoprec.models.base import Recommender

_PRELOAD = ["shoprec.models.registry", "shoprec.data.dataset", "numpy", "scipy.sparse"]


class FitFailed(ShoprecError):
    """A model's fit failed (an exception in the child, or the child died); `reason` says how."""

    def __init__(self, name: str, reason: str, crashed: bool) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason
        self.crashed = crashed  # the child died (a signal or an exit without a word), not an exception


def _context() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def _child(model: Recommender, dataset: Dataset, directory: str, conn: Connection, thread_count: int) -> None:
    threads.set_threads(thread_count)  # the fork server started with the environment of its first use
    try:
        model.fit(dataset)
        model.save(Path(directory))
    except Exception as exc:  # reported to the parent; a native crash never gets here, the parent sees it
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    else:
        conn.send(("ok", ""))
    finally:
        conn.close()


def fit_isolated(name: str, model: Recommender, dataset: Dataset, directory: Path) -> Recommender:
    """`model` fitted on `dataset` in a child process and saved into `directory`; the fitted copy
    loaded back from there. Raises FitFailed naming `name` when the fit raised or the child died."""
    from shoprec.models.registry import load_model

    if type(model).__module__ == "__main__":  # a class the child could not import: fit here
        model.fit(dataset)
        model.save(directory)
        return model
    context = _context()
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(model, dataset, str(directory), send, threads.count()), name=f"fit-{name}",
                              daemon=True)
    with _main_hidden():
        process.start()
    send.close()  # the child holds the only writing end: reading sees EOF when it dies
    try:
        try:
            status, message = receive.recv()
        except EOFError:
            status, message = "died", ""
        process.join()
    except BaseException:  # Ctrl+C or the parent's own error: never leave the child fitting
        process.terminate()
        process.join(5)
        raise
    finally:
        receive.close()
    if status == "ok" and process.exitcode == 0:
        return load_model(directory)
    if status == "error":
        raise FitFailed(name, message, crashed=False)
    raise FitFailed(name, _death(process.exitcode), crashed=True)


@contextmanager
def _main_hidden() -> Iterator[None]:
    """Start a child without it running the main script again.

    multiprocessing makes each child of a fork server import the parent's `__main__` (for
    `shoprec`, the whole command line: seconds per child; for a script without an
    `if __name__ == "__main__"` guard, the script itself). The child needs only importable modules
    (this one and the model's class), so `__main__` is shown as an empty module while the child's
    start-up data is taken.
    """
    real = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = real


def _death(exitcode: int | None) -> str:
    """How a child that sent nothing ended, in words."""
    if exitcode is not None and exitcode < 0:
        try:
            signame = signal.Signals(-exitcode).name
        except ValueError:
            signame = f"signal {-exitcode}"
        hint = {
            "SIGSEGV": "a crash inside a native library",
            "SIGBUS": "a crash inside a native library",
            "SIGABRT": "a native library aborted",
            "SIGKILL": "killed from outside, often by the out-of-memory killer",
        }.get(signame, "ended by a signal")
        return f"the fitting process died with {signame} ({hint})"
    return f"the fitting process exited with code {exitcode} before reporting"


def fit_each(models: dict[str, Recommender], dataset: Dataset, folder: Path, *, isolate: bool = True,
             on_start: Callable[[str], None] | None = None,
             on_end: Callable[[str, float, FitFailed | None], None] | None = None,
             ) -> tuple[dict[str, Recommender], dict[str, float], dict[str, FitFailed]]:
    """Fit every model on `dataset`, each saved into `model_path(folder, name)` as soon as it is
    fitted; a model whose fit fails is reported (`on_end`) and skipped, never ending the others.

    With `isolate`, each fit runs in a child process (`fit_isolated`), so a native crash is a
    failure like any other; without it, fits run here and only Python exceptions are caught.
    Returns the fitted models, the seconds each took, and the failures by name.
    """
    from shoprec.bundle import model_path

    fitted: dict[str, Recommender] = {}
    seconds: dict[str, float] = {}
    failures: dict[str, FitFailed] = {}
    for name, model in models.items():
        if on_start is not None:
            on_start(name)
        started = time.perf_counter()
        failure: FitFailed | None = None
        try:
            if isolate:
                fitted[name] = fit_isolated(name, model, dataset, model_path(folder, name))
            else:
                model.fit(dataset)
                model.save(model_path(folder, name))
                fitted[name] = model  # only once saved: a failed save is a failure, not a half-fitted entry
        except FitFailed as exc:
            failure = exc
        except Exception as exc:  # in-process fit: the model's own error
            failure = FitFailed(name, f"{type(exc).__name__}: {exc}", crashed=False)
        seconds[name] = time.perf_counter() - started
        if failure is not None:
            failures[name] = failure
        if on_end is not None:
            on_end(name, seconds[name], failure)
    return fitted, seconds, failures
