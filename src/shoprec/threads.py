"""One thread policy: how many threads every library in shoprec may use.

The count comes from `--threads N` (every command), else `$SHOPREC_THREADS`, else the cores this
process may run on (`os.sched_getaffinity`). Every library gets that count and no more, and they
run one after another, so shoprec never runs more threads than that in total:

- BLAS and OpenMP (numpy, scipy, implicit, scikit-learn): through threadpoolctl for the libraries
  already loaded, and through OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS for those
  loaded later and for child processes;
- LightGBM: `lightgbm_threads()` in its parameters (never its own default, one thread per core,
  whose OpenMP threads spin against each other on a busy machine: 2x to 80x slower);
- PyTorch: `torch.set_num_threads` (and its inter-op pool) when torch is loaded;
- faiss: `faiss.omp_set_num_threads` when faiss is loaded;
- tantivy's index writer: `tantivy_threads()`.

A library left at its own default sizes itself to the machine, and on two busy cores that costs
10-80x. Code that wants fewer threads for a small job (one request's rows) may use fewer, never more.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from shoprec.errors import ConfigError

ENV = "SHOPREC_THREADS"
# Environment variables that size a native library's pool when it loads (read once, at load).
_LIBRARY_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")

# OpenMP threads that wait for work sleep instead of spinning. On two busy cores spinning threads
# steal the time the working ones need: a LightGBM ranker fit with 2 busy processes beside it took
# 37 s with 2 spinning threads, 12 s with 2 passive ones and 7 s with 1; alone on the machine,
# 3.1 s spinning, 3.9 s passive, 5.9 s with 1 (benchmarks/bench_threads.py, docs/benchmarks.md).
WAIT_POLICY = ("OMP_WAIT_POLICY", "PASSIVE")

_configured: int | None = None


def init_environment() -> None:
    """Before any native library loads: OpenMP's wait policy, and every pool's size from the
    policy's count, where the environment does not set them already (shoprec.cli calls this
    first thing; a library user may too). Read once, when each library loads."""
    os.environ.setdefault(*WAIT_POLICY)
    n = str(count())
    for name in _LIBRARY_ENV:
        os.environ.setdefault(name, n)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def parse(value: object, source: str) -> int:
    """A thread count from `source` (an option or variable name): an integer >= 1."""
    try:
        count = int(str(value).strip())
    except ValueError:
        count = 0
    if count < 1 or str(value).strip() != str(count):
        raise ConfigError(f"{source}: expected a whole number of threads >= 1, got {value!r}")
    return count


def count() -> int:
    """The thread count in force: set by `set_threads`, else $SHOPREC_THREADS, else the cores."""
    if _configured is not None:
        return _configured
    raw = os.environ.get(ENV)
    if raw is not None and raw.strip():
        return parse(raw, ENV)
    return available_cores()


def set_threads(threads: int | None = None) -> int:
    """Set the policy's count (None: from $SHOPREC_THREADS or the cores) and apply it to every
    library now, to those loaded later and to child processes; returns the count."""
    global _configured
    chosen = count() if threads is None else parse(threads, "--threads")
    _configured = chosen
    os.environ[ENV] = str(chosen)
    os.environ.setdefault(*WAIT_POLICY)
    for name in _LIBRARY_ENV:
        os.environ[name] = str(chosen)
    apply(chosen)
    return chosen


def apply(threads: int | None = None) -> None:
    """Size the pools of the libraries loaded in this process to `threads` (default: the policy's)."""
    n = count() if threads is None else threads
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)  # BLAS and OpenMP libraries loaded so far
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
        # The inter-op pool is settable only before torch's first parallel work; the intra-op
        # count is the one that matters for shoprec's models.
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(n)
    faiss = sys.modules.get("faiss")
    if faiss is not None:
        faiss.omp_set_num_threads(n)


def lightgbm_threads() -> int:
    """`num_threads` for LightGBM's training."""
    return count()


def torch_threads() -> int:
    """torch's intra-op thread count for a model's fit."""
    return count()


def tantivy_threads() -> int:
    """The tantivy index writer's thread count."""
    return count()


def per_worker(workers: int) -> int:
    """Threads for each of `workers` processes sharing the policy's count (at least 1 each)."""
    return max(1, count() // max(1, workers))


def describe() -> dict[str, int]:
    """The thread count each loaded library would use now, read from the library itself (for
    `--verbose` and the tests): "policy", each BLAS/OpenMP pool by file, "torch", "faiss", "lightgbm"."""
    from threadpoolctl import threadpool_info

    seen: dict[str, int] = {"policy": count()}
    for pool in threadpool_info():
        seen[f"{pool['user_api']}:{os.path.basename(pool['filepath'])}"] = int(pool["num_threads"])
    torch = sys.modules.get("torch")
    if torch is not None:
        seen["torch"] = int(torch.get_num_threads())
    faiss = sys.modules.get("faiss")
    if faiss is not None:
        seen["faiss"] = int(faiss.omp_get_max_threads())
    seen["lightgbm"] = lightgbm_threads()
    return seen


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Run a block at the policy's count and put every pool back as it was afterwards, whatever a
    library set inside it (LightGBM resets the shared OpenMP runtime to every core after training)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=count()):
        yield
