"""The service's side of experiments: which variant answers a request, with which engine, and the
record of what was shown (shown.py).

One `ExperimentRuntime` per service process (Services.experiments). For each request on a surface
it looks up the running experiment (definitions.ExperimentFile: a stat at most every 0.5 s) and
the shopper's variant (assignment.py); requests without a shopper id, or asking for a `model`
themselves, are outside experiments. A variant's target (definitions.py) resolves to an engine
and a bundle entry: the serving engine for an entry of the current bundle, or an engine over
another bundle version, loaded beside on first use (in a worker thread) and kept, at most
MAX_OTHER_BUNDLES of them. A target that cannot be served (an entry a reload removed, a bundle
deleted) leaves the request to the default answer, outside the experiment.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

from shoprec.bundle import MANIFEST, bundles_dir, load_bundle
from shoprec.data.store import Store
from shoprec.errors import ConfigError, ShoprecError
from shoprec.experiments.assignment import assign
from shoprec.experiments.definitions import SEARCH_MODES, Experiment, ExperimentFile
from shoprec.experiments.shown import Outcome, Served, ShownLog, path_in
from shoprec.ranking.engine import RecommendationEngine
from shoprec.ranking.rules import RuleSettings

MAX_OTHER_BUNDLES = 2
INTERLEAVED = "interleaved"  # the `variant` of an interleaved answer
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Arm:
    """A variant a request is answered with: its name and target."""

    variant: str
    target: str


@dataclass(frozen=True)
class Plan:
    """How one request takes part in an experiment: one arm (ab) or two (interleaving)."""

    experiment: Experiment
    arms: tuple[Arm, ...]

    @property
    def variant(self) -> str:
        return self.arms[0].variant if len(self.arms) == 1 else INTERLEAVED


class ExperimentRuntime:
    """Experiments as one service process serves them."""

    def __init__(self, workspace: Path, store: Store) -> None:
        self.workspace = Path(workspace)
        self.store = store
        self.definitions = ExperimentFile(self.workspace)
        self._shown: ShownLog | None = None
        self._lock = threading.Lock()
        self._engines: OrderedDict[str, tuple[RecommendationEngine, str | None]] = OrderedDict()
        self._warned = False

    @property
    def shown(self) -> ShownLog:
        if self._shown is None:
            with self._lock:
                if self._shown is None:
                    self._shown = ShownLog(path_in(self.store.root))
        return self._shown

    # ---- which variant --------------------------------------------------------------------------
    def plan(self, surface: str, user_id: str | None) -> Plan | None:
        """The experiment this request takes part in (None: none runs on the surface, or no shopper)."""
        if user_id is None:
            return None
        try:
            experiment = self.definitions.running(surface)
        except ShoprecError as exc:  # a damaged file: serve as without experiments, say so once
            if not self._warned:
                log.error("experiments are off: %s", exc)
                self._warned = True
            return None
        if experiment is None:
            return None
        if experiment.design == "interleaving":
            return Plan(experiment, tuple(Arm(v, t) for v, t in experiment.variants.items()))
        variant = assign(experiment.name, user_id, experiment.names, experiment.traffic)
        return Plan(experiment, (Arm(variant, experiment.variants[variant]),))

    # ---- which engine ---------------------------------------------------------------------------
    def needs_loading(self, plan: Plan, current: RecommendationEngine) -> bool:
        """Whether an arm's engine is a bundle not loaded yet (`load` it in a worker thread first)."""
        return any(self._other_version(a.target, current) not in (None, *self._engines) for a in plan.arms)

    def load(self, plan: Plan, current: RecommendationEngine) -> None:
        """Load the other bundles the plan's arms need (blocking: seconds)."""
        for arm in plan.arms:
            version = self._other_version(arm.target, current)
            if version is None or version in self._engines:
                continue
            with self._lock:
                if version in self._engines:
                    continue
                bundle = load_bundle(bundles_dir(self.workspace) / version)
                self._engines[version] = (RecommendationEngine(self.store, bundle, current.rules), self.store.manifest().items)
                while len(self._engines) > MAX_OTHER_BUNDLES:
                    self._engines.popitem(last=False)

    def engine(self, target: str, current: RecommendationEngine) -> tuple[RecommendationEngine, str | None]:
        """The engine and bundle entry (None: the engine's default) a target answers with."""
        version, model = split_target(self.workspace, target)
        if version is None or version == current.bundle.version:
            engine = current
        else:
            cached = self._engines.get(version)
            if cached is None:
                raise ConfigError(f"bundle {version} is not loaded")
            engine, items_file = cached
            if items_file != self.store.manifest().items:  # the catalogue changed: prices, stock, deletions
                engine.refresh_catalogue()
                self._engines[version] = (engine, self.store.manifest().items)
        if model is not None and model not in engine.bundle.models:
            raise ConfigError(f"model '{model}' is not in bundle {engine.bundle.version}")
        return engine, model

    @staticmethod
    def similar_engine(engine: RecommendationEngine, model: str | None) -> RecommendationEngine:
        """The engine answering similar items from bundle entry `model` (None: the engine's own choice)."""
        return engine if model is None else with_similarity(engine, model)

    def _other_version(self, target: str, current: RecommendationEngine) -> str | None:
        version, _ = split_target(self.workspace, target)
        return None if version is None or version == current.bundle.version else version

    # ---- what was shown and what came of it -------------------------------------------------------
    def record(self, request_id: str, surface: str, user_id: str | None, items: list[str], plan: Plan | None,
               teams: list[str] | None = None) -> None:
        """Record a list answered (a failure to record is logged, never the request's failure)."""
        served = Served(request_id, int(time.time() * 1000), user_id, surface, plan.experiment.name if plan else None,
                        plan.variant if plan else None, items, teams)
        try:
            self.shown.record_served(served)
        except Exception:  # sqlite3 errors, a full disk: the answer still goes out
            log.exception("could not record the list served for request %s", request_id)

    def record_outcomes(self, outcomes: list[Outcome]) -> None:
        try:
            self.shown.record_outcomes(outcomes)
        except Exception:
            log.exception("could not record %d attributable events", len(outcomes))

    def flush(self) -> None:
        """Commit the lists queued for the shown log now (they are committed within FLUSH_EVERY_S anyway)."""
        if self._shown is not None:
            try:
                self._shown.flush()
            except Exception:
                log.exception("could not write the lists shown")

    def forget_user(self, user_id: str) -> None:
        """Delete the shopper's rows from the record of what was shown (queued ones included)."""
        if self._shown is not None:
            try:
                self._shown.delete_user(user_id)
            except Exception:
                log.exception("could not delete an erased shopper's lists shown")

    def close(self) -> None:
        if self._shown is not None:
            self._shown.close()
        self._engines.clear()


def split_target(workspace: Path, target: str) -> tuple[str | None, str | None]:
    """(bundle version or None for the current bundle, bundle entry or None for its default)."""
    if "/" in target:
        version, _, model = target.partition("/")
        return version, model or None
    if (bundles_dir(workspace) / target / MANIFEST).exists():
        return target, None
    return None, target


def check_targets(workspace: Path, experiment: Experiment) -> None:
    """Refuse a target the service could not serve (read from the bundles' manifests: no model loaded)."""
    import json

    from shoprec.bundle import current_path

    for variant, target in experiment.variants.items():
        if experiment.surface == "search":
            if target not in SEARCH_MODES:
                raise ConfigError(f"--variant {variant}={target}: on search a variant is a search mode ({', '.join(SEARCH_MODES)})")
            continue
        version, model = split_target(workspace, target)
        folder = bundles_dir(workspace) / version if version is not None else current_path(workspace)
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--variant {variant}={target}: bundle {folder.name} cannot be read ({exc})") from exc
        if model is not None and model not in manifest.get("models", {}):
            raise ConfigError(f"--variant {variant}={target}: '{model}' is neither a bundle version nor an entry of bundle "
                              f"{manifest.get('version')} (entries: {', '.join(manifest.get('models', {}))})")
    if experiment.design == "interleaving" and experiment.surface == "search":
        raise ConfigError("interleaving merges two lists of the same request: it runs on recommendations or similar, not search")


def with_rules(engine: RecommendationEngine, rules: RuleSettings | None) -> RecommendationEngine:
    """The engine answering under other rules (a shallow copy: models and catalogue shared)."""
    if rules is None or rules == engine.rules:
        return engine
    clone = copy.copy(engine)
    clone.rules = rules
    return clone


def request_rules(engine: RecommendationEngine, include_seen: bool, exclude: list[str] | None,
                  diversity: str | None) -> RuleSettings | None:
    """The rules a request asks for, as `shoprec recommend` reads the same options (None: the engine's)."""
    if not include_seen and not exclude and diversity is None:
        return None
    excluded = () if include_seen else (tuple(exclude) if exclude else engine.rules.exclude_event_types)
    return replace(engine.rules, exclude_event_types=excluded, diversity=diversity or engine.rules.diversity)


def with_similarity(engine: RecommendationEngine, model: str) -> RecommendationEngine:
    """The engine answering similar items from bundle entry `model` (a shallow copy)."""
    if model == engine.similarity_name:
        return engine
    clone = copy.copy(engine)
    clone.similarity, clone.similarity_name = engine.bundle.models[model], model
    return clone
