"""The thread policy: one count, from --threads / $SHOPREC_THREADS / the cores, followed by every library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shoprec import threads
from shoprec.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]

# Runs a command with --threads, then loads the libraries (after the option, as the commands do
# lazily) and prints what each of them reports.
PROBE = """
import json, sys
from shoprec.cli import cli
import click

@cli.command("probe-threads")
@__import__("shoprec.cli", fromlist=["run_options"]).run_options
def probe():
    import numpy, scipy.linalg, sklearn.utils, implicit.cpu.als, lightgbm, faiss
    import shoprec.models.torch_utils  # how shoprec loads torch
    import torch
    from shoprec import threads
    captured = {}
    real_train = lightgbm.train
    def spy(params, *a, **k):
        captured["lightgbm_train"] = params["num_threads"]
        return real_train(params, *a, **k)
    lightgbm.train = spy
    from shoprec.ranking.ltr import LearnedRanker, RankerSettings
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.random((400, 3)); y = (rng.random(400) * 3).astype(int)
    try:
        LearnedRanker.fit(x, y, np.full(20, 20), ["a", "b", "c"], RankerSettings())
    except Exception as exc:  # the spy has seen the parameters either way
        captured["fit_error"] = repr(exc)
    print(json.dumps({**threads.describe(), **captured}))

cli.main(sys.argv[1:], standalone_mode=False)
"""


def _probe(*args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    run = subprocess.run([sys.executable, "-c", PROBE, "probe-threads", *args], capture_output=True, text=True,
                         timeout=180, cwd=REPO, env={**os.environ, **(env or {})})
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("args", "env", "expected"), [
    (("--threads", "3"), {"SHOPREC_THREADS": "1"}, 3),  # the option wins over the variable
    ((), {"SHOPREC_THREADS": "2"}, 2),
])
def test_every_library_follows_the_thread_count(args: tuple[str, ...], env: dict[str, str], expected: int) -> None:
    seen = _probe(*args, env=env)
    assert seen["policy"] == expected
    pools = {k: v for k, v in seen.items() if k.startswith(("blas:", "openmp:"))}
    # numpy's and scipy's OpenBLAS, and the OpenMP runtimes of implicit, scikit-learn, LightGBM, faiss, torch
    assert sum(k.startswith("blas:") for k in pools) >= 2 and sum(k.startswith("openmp:") for k in pools) >= 1
    assert set(pools.values()) == {expected}, pools
    assert seen["torch"] == expected and seen["faiss"] == expected
    assert seen["lightgbm"] == expected and seen["lightgbm_train"] == expected


def test_without_option_or_variable_the_count_is_the_cores_this_process_may_use() -> None:
    env = {k: v for k, v in os.environ.items() if k != threads.ENV}
    run = subprocess.run([sys.executable, "-c", "from shoprec import threads; print(threads.count())"],
                         capture_output=True, text=True, timeout=60, env=env, cwd=REPO)
    assert int(run.stdout) == len(os.sched_getaffinity(0))
    # and a narrower affinity narrows it
    pinned = subprocess.run(["taskset", "-c", "0", sys.executable, "-c",
                             "from shoprec import threads; print(threads.count())"],
                            capture_output=True, text=True, timeout=60, env=env, cwd=REPO)
    if pinned.returncode == 0:
        assert int(pinned.stdout) == 1


def test_bad_counts_are_refused_naming_where_they_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in ("0", "-2", "two", "1.5", ""):
        with pytest.raises(ConfigError, match="--threads: expected a whole number of threads >= 1"):
            threads.parse(bad, "--threads")
    monkeypatch.setattr(threads, "_configured", None)
    monkeypatch.setenv(threads.ENV, "lots")
    with pytest.raises(ConfigError, match="SHOPREC_THREADS: expected a whole number"):
        threads.count()


def test_workers_share_the_count() -> None:
    assert threads.per_worker(1) == threads.count()
    assert threads.per_worker(10 * threads.count()) == 1


def test_the_suite_itself_runs_one_thread_per_worker() -> None:
    assert threads.count() == 1
    import numpy  # noqa: F401 - at least its BLAS is loaded
    from threadpoolctl import threadpool_info

    assert {pool["num_threads"] for pool in threadpool_info()} == {1}
