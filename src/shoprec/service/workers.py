"""Several server processes on one port, each with a listening socket of its own (SO_REUSEPORT), so
that the kernel spreads connections evenly across them.

uvicorn's own `--workers` shares one listening socket between its processes, and a burst of new
connections goes to whichever process wakes first: under a 16-client load (keep-alive connections
opened together) all 16 landed on one of two workers and the other stayed idle
(docs/benchmarks.md, "Service load"). With a socket per process, Linux hashes each new connection
to one of the sockets. This module is the small supervisor that makes that work: it reserves the
port, starts `workers` processes (spawned, so each loads the bundle itself), restarts one that
dies, and stops them all on SIGINT or SIGTERM. The workers write their metrics into a private folder
(PROMETHEUS_MULTIPROC_DIR) that the supervisor creates and removes, so that /metrics adds them up.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import sys
import time
from typing import Any

import click

from shoprec import threads
from shoprec.child_process import end_with_parent

RESTART_WINDOW_S = 10.0  # a worker that dies sooner than this after its start is a crash loop: stop
STOP_GRACE_S = 10.0
BACKLOG = 2048


def listening_socket(host: str, port: int, listen: bool = True) -> socket.socket:
    """A TCP socket bound to (host, port) with SO_REUSEPORT (and listening, unless `listen` is False)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    if listen:
        sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def _worker(app: str, host: str, port: int, config: dict[str, Any], parent: int, thread_count: int) -> None:
    import uvicorn

    from shoprec import threads

    threads.set_threads(thread_count)  # the workers share the policy's count
    end_with_parent(parent)  # no worker outlives the supervisor, even one killed by SIGKILL
    sock = listening_socket(host, port)
    uvicorn.Server(uvicorn.Config(app, factory=True, **config)).run(sockets=[sock])


def serve_workers(app: str, workers: int, host: str, port: int, config: dict[str, Any]) -> None:
    """Run `workers` processes of the app factory `app` ("module:function") on host:port until
    SIGINT/SIGTERM. `config` holds further uvicorn.Config settings (log level, access log...)."""
    reserved = listening_socket(host, port, listen=False)  # a clear error now if the port is taken; port 0 resolved
    port = reserved.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    per_worker = threads.per_worker(workers)  # never more threads in all than the policy's count
    stopping = False
    from shoprec.service.metrics import MultiprocessDir

    metrics_dir = MultiprocessDir()  # the workers' metrics, merged by a scrape of any of them (service/metrics.py)

    def start(i: int) -> tuple[multiprocessing.process.BaseProcess, float]:
        process = context.Process(target=_worker, args=(app, host, port, config, os.getpid(), per_worker),
                                  name=f"shoprec-worker-{i}")
        process.start()
        return process, time.monotonic()

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    running = [start(i) for i in range(workers)]
    try:
        while not stopping:
            time.sleep(0.2)
            for i, (process, started) in enumerate(running):
                if process.is_alive() or stopping:
                    continue
                if time.monotonic() - started < RESTART_WINDOW_S:
                    click.echo(f"worker {process.pid} exited with code {process.exitcode} "
                               f"{time.monotonic() - started:.1f} s after starting: stopping", err=True)
                    stopping = True
                    break
                click.echo(f"worker {process.pid} exited with code {process.exitcode}: starting another", err=True)
                metrics_dir.mark_dead(process.pid)
                running[i] = start(i)
    finally:
        for process, _ in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        deadline = time.monotonic() + STOP_GRACE_S
        for process, _ in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        reserved.close()
        metrics_dir.remove()
        for s, handler in previous.items():
            signal.signal(s, handler)
    failed = [p.exitcode for p, _ in running if p.exitcode not in (0, -signal.SIGTERM)]
    if failed:
        sys.exit(1)
