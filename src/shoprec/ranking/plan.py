"""Which fusion methods to learn over which members: the `--fusion` and `--fusion-members` options,
and the one call that learns them for `evaluate` and `train`."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from typing import Any

from shoprec.data.dataset import Dataset
from shoprec.errors import ConfigError
from shoprec.evaluation.tuning import validation_options
from shoprec.models.base import Recommender
from shoprec.ranking.candidates import DEFAULT_N_CANDIDATES
from shoprec.ranking.fused import ALL_METHODS
from shoprec.ranking.learn import FusionLearning, learn_fusions, prepare_validation

# Models that never join a fusion by default: random scores add noise, nothing else.
NEVER_MEMBERS = ("random",)


def parse_methods(text: str) -> tuple[str, ...]:
    """`all`, `none`, or a comma list of fusion methods."""
    text = text.strip()
    if text == "all":
        return ALL_METHODS
    if text == "none":
        return ()
    chosen = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [m for m in chosen if m not in ALL_METHODS]
    if unknown:
        raise ConfigError(f"--fusion: unknown method {unknown[0]!r}; expected all, none or some of {', '.join(ALL_METHODS)}")
    return chosen


def choose_members(models: Collection[str], text: str | None) -> list[str]:
    """`--fusion-members a,b` (each must be among the models), or every model but random."""
    if not text:
        return [name for name in models if name not in NEVER_MEMBERS]
    chosen = [p.strip() for p in text.split(",") if p.strip()]
    missing = [name for name in chosen if name not in models]
    if missing:
        raise ConfigError(f"--fusion-members: {missing[0]} is not among the models ({', '.join(models)})")
    return chosen


def learn(methods: tuple[str, ...], settings: Mapping[str, Mapping[str, Any]], fitted: Mapping[str, Recommender],
          dataset: Dataset, protocol: str, options: Mapping[str, Any], *, targets: Collection[str] | None = None,
          exclude_seen: bool = True, n_candidates: int = DEFAULT_N_CANDIDATES) -> tuple[FusionLearning, float]:
    """Fusion entries over `fitted` (members fitted on `dataset`), learned on a validation split
    carved from `dataset` with `protocol`; returns them and the seconds the learning took."""
    started = time.perf_counter()
    validation = prepare_validation({name: settings[name] for name in fitted}, dataset, protocol=protocol,
                                    options=validation_options(protocol, options), targets=targets,
                                    exclude_seen=exclude_seen, n_candidates=n_candidates)
    learning = learn_fusions(methods, fitted, dataset, validation)
    return learning, time.perf_counter() - started
