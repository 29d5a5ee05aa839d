"""Hyperparameter tuning on a validation split carved from train, never from test.

Each model declares its key hyperparameters and the values worth trying (`tuning_space`).
`tune_model` carves a validation split out of the data it is given with the same protocol as
the test split (`validation_split`), fits every grid point on the validation split's train side,
scores it with the same runner as `evaluate` (so a trial measures what would be served), and
keeps the best. Callers hand it the *train side* of their split (or, for a bundle, all the
data): test events cannot influence the choice because they are never passed in.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shoprec.data.dataset import Dataset
from shoprec.errors import ConfigError, ShoprecError
from shoprec.evaluation.metrics import METRICS
from shoprec.evaluation.runner import evaluate
from shoprec.evaluation.splits import validation_split
from shoprec.evaluation.tuning_file import TUNING_FILE, load_tuning, save_tuning
from shoprec.models.registry import VARIANT_PARAMS, create, model_class

# TUNING_FILE, load_tuning and save_tuning: the tuning file, in shoprec.evaluation.tuning_file, still importable here.
__all__ = ["DEFAULT_METRIC", "TUNING_FILE", "Trial", "TuningResult", "grid_points", "load_tuning", "parse_metric",
           "save_tuning", "tune_model", "tune_models", "validation_options"]

DEFAULT_METRIC = "ndcg@10"


@dataclass(frozen=True)
class Trial:
    """One grid point: the tuned values, its validation metric and the seconds it took (fit + score)."""

    params: dict[str, Any]
    value: float
    seconds: float


@dataclass(frozen=True)
class TuningResult:
    """The chosen hyperparameters of one model and every trial that led to them.

    `params` is what to pass to `create(model, **params)`: the chosen grid point plus the values
    that were held fixed. `value` is the chosen point's validation metric.
    """

    model: str
    metric: str
    params: dict[str, Any]
    value: float
    trials: tuple[Trial, ...]
    validation: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the entry of one model in tuning.json); NaN becomes null."""
        return {
            "params": self.params,
            "metric": self.metric,
            "value": _finite_or_none(self.value),
            "trials": [{"params": t.params, "value": _finite_or_none(t.value), "seconds": round(t.seconds, 3)}
                       for t in self.trials],
            "validation": self.validation,
        }


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def parse_metric(metric: str) -> tuple[str, int]:
    """`"ndcg@10"` -> ("ndcg", 10), checked against the runner's metrics."""
    name, sep, k_text = metric.partition("@")
    if not sep or name not in METRICS or not k_text.isdigit() or int(k_text) < 1:
        raise ConfigError(f"metric must look like ndcg@10 with one of {', '.join(METRICS)}, got {metric!r}")
    return name, int(k_text)


def grid_points(space: Mapping[str, Sequence[Any]], max_trials: int | None = None, seed: int = 0) -> list[dict[str, Any]]:
    """Every combination of `space`'s values, in grid order (first key slowest).

    With `max_trials` smaller than the grid, a random subset of that size (drawn with `seed`),
    still in grid order so that ties keep going to the earlier point. An empty space has one
    point: the defaults.
    """
    if max_trials is not None and max_trials < 1:
        raise ConfigError(f"max_trials must be >= 1, got {max_trials}")
    for name, values in space.items():
        if len(values) == 0:
            raise ConfigError(f"tuning_space[{name!r}] lists no value to try")
    names = list(space)
    points = [dict(zip(names, combo)) for combo in itertools.product(*(space[n] for n in names))]
    if max_trials is not None and len(points) > max_trials:
        chosen = np.sort(np.random.default_rng(seed).choice(len(points), size=max_trials, replace=False))
        points = [points[i] for i in chosen]
    return points


def validation_options(method: str, split_options: Mapping[str, Any]) -> dict[str, Any]:
    """The test split's options, less a temporal cutoff: a cutoff lies inside test, so carving
    train with it would leave validation empty; the fraction (default 0.2) is used instead."""
    options = dict(split_options)
    if method.replace("_", "-") == "temporal":
        options.pop("cutoff", None)
    return options


def tune_model(
    name: str,
    train: Dataset,
    method: str,
    split_options: Mapping[str, Any],
    *,
    metric: str = DEFAULT_METRIC,
    ks: Sequence[int] = (10,),
    targets: Collection[str] | None = None,
    max_trials: int | None = None,
    seed: int = 0,
    fixed_params: Mapping[str, Any] | None = None,
    exclude_seen: bool = True,
) -> TuningResult:
    """Search registry model `name`'s `tuning_space` on a validation split carved from `train`.

    `method` and `split_options` are the protocol of the split `train` came from; the validation
    split uses the same. Hyperparameters in `fixed_params` (and those a registry variant presets)
    are held at their value and not searched. The best point by `metric` wins; ties go to the
    first in grid order. Raises ShoprecError when validation has no user to score.
    """
    _, metric_k = parse_metric(metric)
    fixed = dict(fixed_params or {})
    pinned = {**VARIANT_PARAMS.get(name, {}), **fixed}
    space = {key: list(values) for key, values in model_class(name).tuning_space.items() if key not in pinned}
    points = grid_points(space, max_trials, seed)
    validation = validation_split(train, method, **validation_options(method, split_options))
    ks = tuple(sorted(set(ks) | {metric_k}))

    trials: list[Trial] = []
    info: dict[str, Any] = {}
    # No bar of our own: the runner draws one per trial (rich allows one live display at a time).
    for i, point in enumerate(points):
        model = create(name, **{**fixed, **point})
        started = time.perf_counter()
        result = evaluate({f"{name} trial {i + 1}/{len(points)}": model}, validation, ks=ks,
                          target_event_types=targets, exclude_seen=exclude_seen)
        seconds = time.perf_counter() - started
        value = next(iter(result.results.values())).get(metric, float("nan"))
        trials.append(Trial(params=point, value=float(value), seconds=seconds))
        info = result.split
        del model  # a fitted model can be large (EASE holds items x items): free it before the next fit

    best = None
    for trial in trials:
        # Strictly greater: ties keep the earlier grid point; NaN (nobody scored) never wins.
        if math.isfinite(trial.value) and (best is None or trial.value > best.value):
            best = trial
    if best is None:
        counts = {key: info.get(key) for key in ("train_events", "test_events", "n_test_users", "n_evaluated_users")}
        raise ShoprecError(f"cannot tune {name}: the validation split carved from train has no user to score {metric} on ({counts})")
    validation_info: dict[str, Any] = {key: info[key] for key in ("method", "options", "train_events", "test_events",
                                                  "n_evaluated_users") if key in info}
    return TuningResult(model=name, metric=metric, params={**fixed, **best.params}, value=best.value,
                        trials=tuple(trials), validation=validation_info)


def tune_models(
    settings: Mapping[str, Mapping[str, Any]], train: Dataset, method: str, split_options: Mapping[str, Any], **kwargs: Any
) -> dict[str, TuningResult]:
    """`tune_model` for each model of `settings` (model -> hyperparameters held fixed)."""
    return {name: tune_model(name, train, method, split_options, fixed_params=fixed, **kwargs)
            for name, fixed in settings.items()}
