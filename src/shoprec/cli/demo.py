"""`shoprec demo`: a synthetic shop, served as soon as a fast set of models is trained.

1. generate a synthetic shop and ingest it into the workspace;
2. train the serving models on all of it (a new current bundle);
3. serve the storefront and the API;
4. once the server answers, evaluate the same models on a temporal split (the last 20% of events)
   in a child process (shoprec.evaluation.background); the storefront links the report once it is
   written. Stopping the demo (Ctrl+C, SIGTERM) stops the server and the evaluation.

With `--no-serve`: steps 1 and 2, then the evaluation in the foreground, its table, and stop.
Each model is fitted once on all events (the bundle) and once on the split's train side (the
evaluation): the evaluation never retrains the serving bundle.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shoprec.cli import run_options, workspace_option
from shoprec.cli.generate import generate_into_store, shop_spec_options
from shoprec.cli.serve import run_server, serve_options

if TYPE_CHECKING:
    from shoprec.evaluation.background import BackgroundEvaluation

# The serving set, chosen by measurement on the default demo shop (100k events, 2 cores): each of
# these fits in 1-5 s and their average fusion in about 2 s more, and that fusion scores best on
# validation (NDCG@10 0.123, against 0.109 for EASE alone; content or puresvd as a fifth member
# lowered it). Learning the weighted or LTR fusion costs 25-85 s more; the deep models minutes.
DEMO_MODELS = ("popularity", "itemknn", "ease", "ials")
DEMO_FUSION = "average"
SPLIT = "temporal"
TEST_FRACTION = 0.2
KS = (10, 20)
READY_POLL_S = 0.2


@click.command("demo")
@run_options
@workspace_option
@shop_spec_options
@serve_options
@click.option("--models", "model_names", default=",".join(DEMO_MODELS), show_default=True,
              help="Models to train, serve and evaluate, comma-separated, or 'all' (the deep ones included: minutes).")
@click.option("--fusion", default=DEMO_FUSION, show_default=True,
              help="Fusion methods to learn over the members: none, all, or some of average,weighted,borda,vote,rrf,ltr.")
@click.option("--fusion-members",
              help=f"Models to fuse (default: the chosen models among {', '.join(DEMO_MODELS)}).")
@click.option("--no-semantic", is_flag=True, help="Lexical search only (no sentence model: a faster first start).")
@click.option("--no-serve", is_flag=True, help="Train, evaluate in the foreground, print the table, and stop.")
@click.pass_context
def command(ctx: click.Context, workspace: Path, users: int, items: int, events: int, seed: int, lang: str, days: int,
            start: str, host: str, port: int, model_names: str, fusion: str, fusion_members: str | None,
            no_semantic: bool, no_serve: bool) -> None:
    """Generate a synthetic shop, train a fast set of models, serve the storefront and the API, then
    evaluate in the background.

    The storefront links the evaluation report once it is written; a storefront key is made up so
    that its buttons can post events. Ctrl+C stops the server and the evaluation.
    """
    from shoprec.cli.train import command as train_command
    from shoprec.data.store import Store
    from shoprec.models.registry import create
    from shoprec.ranking.plan import choose_members, parse_methods
    from shoprec.training.settings import model_settings

    names = list(model_settings(model_names, ()))
    for name in names:
        create(name)  # an unknown name, or a model whose extra is missing, fails now, not after generating
    parse_methods(fusion)
    members = choose_members(names, fusion_members) if fusion_members else [n for n in names if n in DEMO_MODELS]
    if len(members) < 2:
        fusion = "none"
    members_text = ",".join(members) if fusion != "none" else None
    entries = ", ".join(names)
    if fusion != "none":
        entries += f" and the {fusion} fusion of " + ("them" if members == names else ", ".join(members))
    steps = Steps(3 if no_serve else 4)
    with _sigterm_stops():
        steps.begin(f"generating a synthetic shop ({users:,} users, {items:,} items, {events:,} events) into {workspace}")
        store = Store(workspace)
        try:
            summary = generate_into_store(store, users, items, events, seed, lang, days, start)
        finally:
            store.close()
        steps.done(f"accepted {summary.accepted:,} rows, merged {summary.duplicates:,} repeats, "
                   f"rejected {summary.rejected_total:,}")
        steps.begin(f"training {entries} on all events")
        ctx.invoke(train_command, workspace=workspace, model_names=model_names, params=(), default_model=None,
                   as_json=False, fusion=fusion, fusion_members=members_text)
        steps.done("trained")
        if no_serve:
            _evaluate_here(workspace, model_names, fusion, members_text, steps)
            return
        _serve_then_evaluate(workspace, host, port, not no_semantic, model_names, fusion, members_text, entries, steps)


class Steps:
    """The demo's numbered steps on stdout, each with the seconds it took and the time since the start."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.started = time.monotonic()
        self._number = 0
        self._step_started = self.started

    def begin(self, text: str) -> None:
        """Announce the next step."""
        self._number += 1
        self._step_started = time.monotonic()
        click.echo(f"{self._number}/{self.total} {text} ...")

    def done(self, text: str) -> None:
        """Say how the step ended, with its time."""
        now = time.monotonic()
        click.echo(f"    {text} [{now - self._step_started:.1f} s; {now - self.started:.1f} s since the demo started]")


def _evaluate_here(workspace: Path, model_names: str, fusion: str, members: str | None, steps: Steps) -> None:
    from shoprec.cli.evaluate import print_table, run_evaluation
    from shoprec.evaluation.background import REPORT, reports_dir

    steps.begin(f"evaluating ({SPLIT} split, last {TEST_FRACTION:.0%} of events)")
    result = run_evaluation(workspace, model_names, (), SPLIT, {"test_fraction": TEST_FRACTION}, KS, None, True, None,
                            None, fusion=fusion, fusion_members=members)
    print_table(result)
    steps.done(f"report: {reports_dir(workspace) / REPORT}")
    click.echo(f"    try: shoprec recommend --workspace {workspace} --user u000001")
    click.echo(f"    or:  shoprec serve --workspace {workspace} --demo")


def _serve_then_evaluate(workspace: Path, host: str, port: int, semantic: bool, model_names: str, fusion: str,
                         members: str | None, entries: str, steps: Steps) -> None:
    from shoprec.evaluation.background import BackgroundEvaluation

    port = port or _free_port(host)  # the evaluation waits for the server, so it must know the port
    arguments = ["--models", model_names, "--fusion", fusion, *(["--fusion-members", members] if members else []),
                 "--split", SPLIT, "--test-fraction", str(TEST_FRACTION), "--k", ",".join(map(str, KS))]
    evaluation = BackgroundEvaluation(workspace, arguments)
    stop = threading.Event()
    url = f"http://{_local(host)}:{port}"
    steps.begin("starting the server: store, bundle, search indexes"
                + (" (a first start embeds the catalogue for semantic search)" if semantic else ""))
    watcher = threading.Thread(target=_evaluate_once_serving, args=(url, evaluation, entries, steps, stop),
                               name="demo-evaluation", daemon=True)
    watcher.start()
    try:
        run_server(workspace, host, port, demo=True, semantic=semantic)
    finally:
        stop.set()
        if evaluation.stop() and not evaluation.report.exists():
            click.echo(f"stopped the evaluation before its report was written (its log: {evaluation.log})", err=True)
        watcher.join(timeout=5)


def _evaluate_once_serving(url: str, evaluation: BackgroundEvaluation, entries: str, steps: Steps, stop: threading.Event) -> None:
    """Wait until the server answers, then run the evaluation in its child process and say how it ended."""
    ready = _wait_until_serving(url, stop)
    if ready is None:
        return
    if ready:
        steps.done(f"serving: storefront {url}/  API {url}/docs  "
                   f"(try {url}/v1/recommendations?user_id=u000001&k=10); Ctrl+C stops")
    else:
        steps.done(f"serving {url}/, but without recommendations: see {url}/ready; Ctrl+C stops")
    if not evaluation.start():
        return
    steps.begin(f"evaluating {entries} in the background ({SPLIT} split, last {TEST_FRACTION:.0%} of events)")
    click.echo(f"    the report will be {evaluation.report}, linked from {url}/ when written; "
               f"progress: {evaluation.log}")
    code = evaluation.wait()
    if stop.is_set():
        return
    if code == 0:
        steps.done(f"report written: {evaluation.report} ({url}/report)")
    else:
        click.echo(f"error: the evaluation failed (exit status {code}): see {evaluation.log}", err=True)


def _wait_until_serving(url: str, stop: threading.Event) -> bool | None:
    """Poll `/ready` until the server answers: True when it can recommend, False when it answers
    without a bundle, None when `stop` came first."""
    while not stop.is_set():
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=5):
                return True
        except urllib.error.HTTPError:
            return False  # 503: serving, without a bundle
        except (urllib.error.URLError, OSError):
            stop.wait(READY_POLL_S)  # not listening yet
    return None


@contextlib.contextmanager
def _sigterm_stops() -> Iterator[None]:
    """SIGTERM ends the demo like Ctrl+C: through the `finally`s that stop the server and the
    evaluation, then exit status 0. (While serving, uvicorn takes either signal, stops gracefully and
    hands it on: SIGTERM then comes here; SIGINT ends in asyncio's handler, and the server returns.)"""

    def stopped(signum: int, frame: object) -> None:
        click.echo("stopped (SIGTERM)", err=True)
        raise SystemExit(0)

    try:
        previous = signal.signal(signal.SIGTERM, stopped)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _local(host: str) -> str:
    """The address this machine reaches a server listening on `host` at."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])

