"""Training on this machine: fit each model (in its own process), learn the fusion entries, write a bundle.

`shoprec train` (and the demo) call `train_local` with settings already chosen
(shoprec.training.settings); it returns what was written and what failed, and prints nothing
but progress: the command decides how to show the result.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shoprec.bundle import new_bundle_folder, write_bundle
from shoprec.data.dataset import Dataset
from shoprec.errors import ConfigError, ShoprecError
from shoprec.models.base import Recommender
from shoprec.models.isolated_fit import FitFailed, fit_each
from shoprec.models.registry import create
from shoprec.ranking.candidates import DEFAULT_N_CANDIDATES
from shoprec.ranking.cold_start import ContextPopularity
from shoprec.ranking.engine import CONTEXT_POPULARITY, SIMILAR_ITEMS
from shoprec.ranking.fused import fusion_name
from shoprec.ranking.plan import learn as learn_fusion
from shoprec.retrieval.indexes import publish_indexes
from shoprec.training.validation import definition, record


@dataclass
class TrainResult:
    """A written bundle: where, its default entry, what each entry cost, and what failed."""

    path: Path
    default_model: str
    dataset: Dataset
    seconds: dict[str, float]
    metrics: dict[str, Any]
    entries: list[str]
    failures: dict[str, FitFailed] = field(default_factory=dict)

    def summary(self, settings: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """What `shoprec train --json` prints."""
        out = {"bundle": str(self.path), "default_model": self.default_model, "data": self.dataset.summary(),
               "train_seconds": {k: round(v, 3) for k, v in self.seconds.items()},
               "params": {name: dict(settings[name]) for name in self.entries if name in settings}}
        if "fusion" in self.metrics:
            out["validation_ndcg@10"] = self.metrics["fusion"]["validation_ndcg@10"]
        return out


def train_local(workspace: Path, dataset: Dataset, settings: Mapping[str, Mapping[str, Any]], *,
                methods: Sequence[str] = (), members: Sequence[str] = (), default_model: str | None = None,
                split: str = "temporal", split_options: Mapping[str, Any] | None = None,
                n_candidates: int | None = None, isolate: bool = True, tuning: Mapping[str, Any] | None = None,
                data_snapshot: Mapping[str, Any] | None = None, on_start: Callable[[str], None] | None = None,
                on_end: Callable[[str, float, FitFailed | None], None] | None = None,
                make_current: bool = True) -> TrainResult:
    """Fit `settings`' models on `dataset`, learn `methods` over `members` (two or more) on a
    validation split carved with `split`, and write a new bundle of `workspace`, made current
    unless `make_current` is false. The validation numbers are recorded with their definition
    (shoprec.training.validation), so that a later gate can compare bundles on the same data.

    Besides `settings`' models, the bundle gets `similar_items` (shoprec.models.similar_items: what
    similar items and "because you viewed" answer with; fitted like the others, never a fusion
    member) and `context_popularity` (what a shopper with no history gets).

    A model that fails is left out (see `TrainResult.failures`); when every model asked for fails
    nothing is written and a ShoprecError says why. `on_start(name)` and `on_end(name, seconds, failure)` are
    called around each model's fit (the command's progress lines).
    """
    models = {name: create(name, **given) for name, given in settings.items()}
    if SIMILAR_ITEMS not in models:  # what "similar items" and "because you viewed" answer with; not a fusion member
        models[SIMILAR_ITEMS] = create(SIMILAR_ITEMS)
    folder = new_bundle_folder(workspace)
    fitted, seconds, failures = fit_each(models, dataset, folder, isolate=isolate, on_start=on_start, on_end=on_end)
    if not set(fitted) & set(settings):
        shutil.rmtree(folder, ignore_errors=True)
        raise ShoprecError(f"every model failed, no bundle written: {failed_list(failures)}")
    members = [name for name in members if name in fitted]
    if failures and default_model is not None and default_model not in fitted and not (
            default_model.startswith("fusion:") and len(members) >= 2):
        default_model = None  # it failed (or its fusion lost members): the usual choice instead
    metrics: dict[str, Any] = {"tuning": dict(tuning)} if tuning else {}
    entries: dict[str, Recommender] = dict(fitted)
    started = time.perf_counter()
    entries[CONTEXT_POPULARITY] = ContextPopularity().fit(dataset)  # what shoppers with no history get
    seconds[CONTEXT_POPULARITY] = time.perf_counter() - started
    preferred = default_model or ("popularity" if "popularity" in fitted else next(iter(fitted)))
    if methods and len(members) >= 2:
        extra = {} if n_candidates is None else {"n_candidates": n_candidates}
        learning, fusion_seconds = learn_fusion(tuple(methods), settings, {name: fitted[name] for name in members},
                                                dataset, split, dict(split_options or {}), **extra)
        for method, entry in learning.fusions.items():
            entries[fusion_name(method)] = entry
            seconds[fusion_name(method)] = fusion_seconds
        metrics["fusion"] = {**learning.to_dict(), "members": list(members), "best_on_validation": learning.best()}
        metrics["validation"] = record(learning.validation, definition(
            dataset, split, dict(split_options or {}), DEFAULT_N_CANDIDATES if n_candidates is None else n_candidates))
        preferred = default_model or learning.best()
    if failures:
        metrics["failed"] = {name: failure.reason for name, failure in failures.items()}
    path = write_bundle(workspace, entries, dataset, default_model=preferred, train_seconds=seconds,
                        data_snapshot=dict(data_snapshot or {}), metrics=metrics or None, folder=folder,
                        saved=fitted, ann=publish_indexes(folder, entries), make_current=make_current)
    return TrainResult(path, preferred, dataset, seconds, metrics, list(entries), failures)


def check_default_model(default_model: str | None, entries: Sequence[str]) -> None:
    """A clear error, before any work, when `--default-model` names nothing that will be trained."""
    if default_model is not None and default_model not in entries:
        raise ConfigError(f"--default-model {default_model} is not among the trained models: {', '.join(entries)}")


def failed_list(failures: Mapping[str, FitFailed]) -> str:
    return "; ".join(f"{name}: {failure.reason}" for name, failure in failures.items())


