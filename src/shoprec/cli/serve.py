"""`shoprec serve`: the HTTP API and the storefront over a workspace (ingested, and trained for recommendations)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import click

from shoprec import progress
from shoprec.cli import run_options, workspace_option

LOG_LEVELS = ("debug", "info", "warning", "error")


def serve_options(func):  # type: ignore[no-untyped-def]
    """`--host` and `--port`, shared by `serve` and `demo`."""
    func = click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="TCP port.")(func)
    return click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0: every one).")(func)


def run_server(workspace: Path, host: str, port: int, *, api_keys: tuple[str, ...] = (), storefront_key: str | None = None,
               demo: bool = False, read_requires_key: bool = False, storefront: bool = True, max_batch: int | None = None,
               semantic: bool = True, access_log: bool = True, workers: int = 1, log_level: str | None = None) -> None:
    """Serve the workspace until interrupted (uvicorn; `workers` processes, each with its own copy
    of the bundle and indexes). `log_level` (one of LOG_LEVELS) is uvicorn's and shoprec's own
    loggers'; None: info, or warning under --quiet."""
    import os

    import uvicorn

    from shoprec.service.app import SETTINGS_ENV, create_app
    from shoprec.service.http_protocol import PROTOCOL
    from shoprec.service.settings import ServiceSettings

    if log_level is None:
        log_level = "warning" if progress.verbosity() == progress.QUIET else "info"
    if log_level not in LOG_LEVELS:
        raise click.BadParameter(f"expected one of {', '.join(LOG_LEVELS)}, got {log_level!r}", param_hint="--log-level")
    if not Path(workspace).is_dir():
        progress.note(f"{workspace} does not exist yet; serving an empty shop (ingest and train into it: the service loads the bundle once trained)")
    settings = ServiceSettings.from_env(workspace, api_keys=frozenset(api_keys), storefront_key=storefront_key, demo=demo,
                                        read_requires_key=read_requires_key or None, storefront=storefront,
                                        semantic_search=semantic, max_batch_events=max_batch)
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    click.echo(f"serving {workspace} on http://{shown}:{port}/  (storefront: /   API docs: /docs   metrics: /metrics)")
    if not settings.api_keys:
        progress.note("no admin API key (SHOPREC_API_KEYS or --api-key): catalogue writes, erasure and reload are refused")
    common = {"host": host, "port": port, "log_level": log_level, "log_config": log_config(log_level),
              "access_log": access_log, "timeout_graceful_shutdown": 5, "http": PROTOCOL}
    if workers == 1:
        uvicorn.run(create_app(settings), **common)  # type: ignore[arg-type]
        return
    # Every worker must hand out the same storefront key: fix it here, then pass the settings on.
    settings = settings.model_copy(update={"storefront_key": settings.effective_storefront_key()})
    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    # A listening socket per worker (not uvicorn's shared one), so connections spread evenly: see service/workers.py.
    from shoprec.service.workers import serve_workers

    serve_workers("shoprec.service.app:app_from_environment", workers, host, port,
                  {k: v for k, v in common.items() if k not in ("host", "port")})


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging configuration with shoprec's own loggers added at `level`, to stderr."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["shoprec"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config


@click.command("serve")
@run_options
@workspace_option
@serve_options
@click.option("--api-key", "api_keys", multiple=True, metavar="KEY", help="An admin API key (repeatable); added to $SHOPREC_API_KEYS.")
@click.option("--storefront-key", metavar="KEY", help="A key that may only read and post events, written into the storefront pages.")
@click.option("--demo", is_flag=True, help="Make up a storefront key so the storefront's buttons work (never on a public shop).")
@click.option("--read-requires-key", is_flag=True, help="Reads (recommendations, search, items) need a key too.")
@click.option("--no-storefront", is_flag=True, help="Serve the API only.")
@click.option("--max-batch", type=click.IntRange(1, 100_000), help="Most events one POST /v1/events takes (default 1000).")
@click.option("--no-semantic", is_flag=True, help="Lexical search only (no sentence model: faster start, less memory).")
@click.option("--no-access-log", is_flag=True, help="Do not log every request.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes (each loads the bundle and indexes; /metrics adds up all of them).")
@click.option("--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False),
              help="Log level of the server and shoprec's loggers (default: info; warning with --quiet).")
def command(workspace: Path, host: str, port: int, api_keys: tuple[str, ...], storefront_key: str | None, demo: bool,
            read_requires_key: bool, no_storefront: bool, max_batch: int | None, no_semantic: bool, no_access_log: bool,
            workers: int, log_level: str | None) -> None:
    """Serve recommendations, search, events and the storefront over HTTP (docs at /docs)."""
    run_server(workspace, host, port, api_keys=api_keys, storefront_key=storefront_key, demo=demo,
               read_requires_key=read_requires_key, storefront=not no_storefront, max_batch=max_batch,
               semantic=not no_semantic, access_log=not no_access_log, workers=workers,
               log_level=None if log_level is None else log_level.lower())
