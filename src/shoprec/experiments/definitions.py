"""Experiments as the workspace holds them: `<workspace>/experiments/experiments.json`.

`shoprec experiment start/stop` change the file (under a file lock, replaced atomically); every
process of the service reads it again when it changed (its inode, mtime or size), looking at most
every CHECK_EVERY_S, so an experiment starts and stops while the service runs, in every worker.

An experiment compares two variants on one surface (recommendations, search or similar items):

- design `ab`: each shopper is assigned to one variant by a stable hash (assignment.py) in the
  proportions of `traffic`;
- design `interleaving`: every shopper gets one list merged from both variants' lists by team draft
  (interleaving.py), each slot remembering which variant put it there.

A variant's target is, on recommendations and similar items, an entry of the current bundle
(`itemknn`, `fusion:rrf`), a bundle version (its default model), or `VERSION/ENTRY`; on search, a
search mode (hybrid, lexical, semantic, ltr). At most one experiment runs per surface.
"""

from __future__ import annotations

import fcntl
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shoprec.atomic import write_atomic
from shoprec.errors import ConfigError

FILE = "experiments.json"
CHECK_EVERY_S = 0.5
SURFACES = ("recommendations", "search", "similar")
DESIGNS = ("ab", "interleaving")
SEARCH_MODES = ("hybrid", "lexical", "semantic", "ltr")
DEFAULT_WINDOW_HOURS = 24.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Experiment:
    """One experiment, running or stopped."""

    name: str
    variants: dict[str, str]  # variant name -> target, in order (the first is the control)
    traffic: tuple[float, ...]  # shares of shoppers per variant (design ab), summing to 1
    surface: str = "recommendations"
    design: str = "ab"
    window_hours: float = DEFAULT_WINDOW_HOURS  # a cart or purchase this long after a click is credited to it
    started_ms: int = 0
    stopped_ms: int | None = None

    @property
    def running(self) -> bool:
        return self.stopped_ms is None

    @property
    def names(self) -> list[str]:
        return list(self.variants)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["traffic"] = list(self.traffic)
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Experiment:
        return cls(**{**raw, "traffic": tuple(raw["traffic"]), "variants": dict(raw["variants"])})


def new_experiment(name: str, variants: list[tuple[str, str]], *, traffic: list[float] | None = None,
                   surface: str = "recommendations", design: str = "ab", window_hours: float = DEFAULT_WINDOW_HOURS,
                   now_ms: int | None = None) -> Experiment:
    """A checked experiment definition (targets are checked against the workspace by `check_targets`)."""
    if not _NAME.match(name):
        raise ConfigError(f"experiment name {name!r}: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if surface not in SURFACES:
        raise ConfigError(f"surface must be one of {', '.join(SURFACES)}, got {surface!r}")
    if design not in DESIGNS:
        raise ConfigError(f"design must be one of {', '.join(DESIGNS)}, got {design!r}")
    if len(variants) != 2:
        raise ConfigError(f"an experiment compares two variants (--variant A=... --variant B=...), got {len(variants)}")
    names = [v for v, _ in variants]
    if len(set(names)) != len(names):
        raise ConfigError(f"variant names must differ, got {', '.join(names)}")
    for variant, target in variants:
        if not _NAME.match(variant) or not target:
            raise ConfigError(f"--variant {variant}={target}: give NAME=TARGET, NAME of letters, digits, '.', '_' or '-'")
    shares = [1.0] * len(variants) if traffic is None else [float(t) for t in traffic]
    if len(shares) != len(variants) or any(not s > 0 for s in shares):
        raise ConfigError(f"--traffic needs one positive share per variant ({len(variants)}), e.g. 50,50; got {traffic}")
    if design == "interleaving" and traffic is not None and len(set(shares)) > 1:
        raise ConfigError("interleaving shows every shopper both variants: --traffic does not apply")
    if not window_hours > 0:
        raise ConfigError(f"the attribution window must be positive, got {window_hours} hours")
    total = sum(shares)
    return Experiment(name=name, variants=dict(variants), traffic=tuple(s / total for s in shares), surface=surface,
                      design=design, window_hours=float(window_hours),
                      started_ms=int(time.time() * 1000) if now_ms is None else int(now_ms))


def parse_variant(text: str) -> tuple[str, str]:
    """`A=itemknn` -> ("A", "itemknn")."""
    name, sep, target = text.partition("=")
    if not sep or not name.strip() or not target.strip():
        raise ConfigError(f"--variant {text!r}: give NAME=MODEL_OR_BUNDLE, e.g. A=itemknn")
    return name.strip(), target.strip()


@dataclass
class ExperimentFile:
    """The workspace's experiments: read (cheaply, when changed) by the service, written by the CLI."""

    workspace: Path
    _read: tuple[tuple[int, int, int], dict[str, Experiment]] | None = None
    _checked_at: float = -1e18
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def path(self) -> Path:
        return Path(self.workspace) / "experiments" / FILE

    def all(self, fresh: bool = False) -> dict[str, Experiment]:
        """Every experiment by name (re-read when the file changed; looked at most every CHECK_EVERY_S
        unless `fresh`)."""
        now = time.monotonic()
        if not fresh and self._read is not None and now - self._checked_at < CHECK_EVERY_S:
            return self._read[1]
        with self._lock:
            self._checked_at = now
            try:
                stat = self.path.stat()
            except FileNotFoundError:
                self._read = ((0, 0, 0), {})
                return self._read[1]
            key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if self._read is None or self._read[0] != key:
                self._read = (key, _parse(self.path))
            return self._read[1]

    def running(self, surface: str) -> Experiment | None:
        """The experiment running on `surface`, if any."""
        return next((e for e in self.all().values() if e.running and e.surface == surface), None)

    def get(self, name: str) -> Experiment:
        found = self.all(fresh=True).get(name)
        if found is None:
            known = ", ".join(sorted(self.all())) or "none"
            raise ConfigError(f"no experiment named {name!r} in {self.workspace} (experiments: {known})")
        return found

    def start(self, experiment: Experiment) -> Experiment:
        """Add a running experiment (its name new, its surface free)."""
        with self._editing() as experiments:
            if experiment.name in experiments:
                raise ConfigError(f"experiment {experiment.name!r} exists already (its data stays with it): choose another name")
            busy = next((e for e in experiments.values() if e.running and e.surface == experiment.surface), None)
            if busy is not None:
                raise ConfigError(f"experiment {busy.name!r} is running on {busy.surface}: stop it first "
                                  f"(shoprec experiment stop {busy.name})")
            experiments[experiment.name] = experiment
        return experiment

    def stop(self, name: str, now_ms: int | None = None) -> Experiment:
        """Stop a running experiment: the service answers as without it from the next read on."""
        with self._editing() as experiments:
            found = experiments.get(name)
            if found is None:
                raise ConfigError(f"no experiment named {name!r} in {self.workspace}")
            if not found.running:
                return found
            stopped = Experiment.from_json({**found.to_json(), "stopped_ms": int(time.time() * 1000) if now_ms is None else now_ms})
            experiments[name] = stopped
        return stopped

    @contextmanager
    def _editing(self) -> Iterator[dict[str, Experiment]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with (self.path.parent / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                experiments = _parse(self.path) if self.path.exists() else {}
                yield experiments
                body = {"format": 1, "experiments": {n: e.to_json() for n, e in experiments.items()}}
                write_atomic(self.path, json.dumps(body, indent=2))
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        self._read = None


def _parse(path: Path) -> dict[str, Experiment]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {name: Experiment.from_json(entry) for name, entry in raw.get("experiments", {}).items()}
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"{path}: unreadable experiments file: {exc}") from exc
