"""A bundle's validation number, and when two bundles' numbers can be compared.

Training measures every entry's NDCG@10 on a validation split carved from the stored data (members
refitted on its train side, shoprec.ranking.learn) and picks the default model by it. A bundle
records those numbers under `metrics.validation` with the *definition* of the measurement: a
fingerprint of the data, the event weights, the split protocol and options, the candidates per
member, the sampled users. Two numbers are comparable only when their definitions are equal.

`score_recipe` measures an entry the same way for a bundle that recorded no comparable number: its
models (hyperparameters from its manifest) are refitted on the validation split's train side of the
data given, never the loaded bundle scored there; the loaded models were fitted on data that
includes those validation events, and would be rewarded for remembering them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from shoprec.data.dataset import Dataset
from shoprec.errors import ConfigError, ShoprecError
from shoprec.evaluation.splits import validation_split
from shoprec.evaluation.tuning import validation_options
from shoprec.models.base import Recommender
from shoprec.models.registry import MODELS, create
from shoprec.ranking.fused import fusion_name
from shoprec.ranking.learn import MAX_VALIDATION_USERS, VALIDATION_K, learn_fusions, sample_users, validation_from

METRIC = f"ndcg@{VALIDATION_K}"
SEED = 42  # the user sample's seed, as training's (prepare_validation)


def fingerprint(dataset: Dataset) -> str:
    """A digest of the events, ids, catalogue and users a dataset holds: equal for the same data."""
    digest = hashlib.sha256()
    for array in (dataset.event_users, dataset.event_items, dataset.event_types, dataset.timestamps, dataset.values,
                  dataset.sessions):
        digest.update(np.ascontiguousarray(array).tobytes())
    for ids in (dataset.user_ids.ids, dataset.item_ids.ids):
        digest.update("\x1f".join(map(str, ids)).encode("utf-8"))
    for frame in (dataset.items, dataset.users):
        digest.update(_frame_digest(frame))
    return digest.hexdigest()[:32]


def definition(dataset: Dataset, split: str, options: Mapping[str, Any], n_candidates: int) -> dict[str, Any]:
    """What a validation number was measured on and how (equal definitions: comparable numbers)."""
    return {"metric": METRIC, "data": fingerprint(dataset), "events": dataset.n_events,
            "weights": {"event_weights": dict(dataset.weights.event_weights),
                        "half_life_days": dataset.weights.half_life_days},
            "split": split, "options": validation_options(split, options), "n_candidates": int(n_candidates),
            "max_users": MAX_VALIDATION_USERS, "seed": SEED}


def record(measured: Mapping[str, float], the_definition: Mapping[str, Any]) -> dict[str, Any]:
    """What a bundle's manifest keeps under `metrics.validation`."""
    return {"definition": dict(the_definition), "values": {name: _finite(v) for name, v in measured.items()}}


def recipe(manifest: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], tuple[str, ...], str]:
    """How to refit a bundle's default entry: its member models' hyperparameters (from the
    manifest), the fusion methods to learn (none for a plain model), and the entry's name."""
    entry = str(manifest.get("default_model"))
    models = manifest.get("models") or {}
    params = {name: dict((spec or {}).get("params") or {}) for name, spec in models.items() if name in MODELS}
    if entry in params:
        return {entry: params[entry]}, (), entry
    if entry.startswith("fusion:"):
        members = ((manifest.get("metrics") or {}).get("fusion") or {}).get("members") or \
            ((models.get(entry) or {}).get("params") or {}).get("members") or []
        missing = [name for name in members if name not in params]
        if len(members) < 2 or missing:
            raise ShoprecError(f"the bundle's default {entry} names members it does not hold: {missing or members}")
        return {name: params[name] for name in members}, (entry.split(":", 1)[1],), entry
    raise ShoprecError(f"the bundle's default {entry} is neither a model nor a fusion entry: it cannot be refitted")


def score_recipe(settings: Mapping[str, Mapping[str, Any]], methods: tuple[str, ...], entry: str, dataset: Dataset,
                 the_definition: Mapping[str, Any]) -> float:
    """`entry`'s validation NDCG@10 when `settings`' models (and `methods` learned over them) are
    fitted on the train side of the validation split `the_definition` carves from `dataset`: the
    number training records, measured the same way."""
    split = sample_users(validation_split(dataset, str(the_definition["split"]), **dict(the_definition["options"])),
                         int(the_definition["max_users"]), int(the_definition["seed"]))
    try:
        members: dict[str, Recommender] = {name: create(name, **dict(params)) for name, params in settings.items()}
    except ConfigError as exc:
        raise ShoprecError(f"cannot refit {entry}: {exc}") from exc
    members = {name: model.fit(split.train) for name, model in members.items()}
    validation = validation_from(split, members, n_candidates=int(the_definition["n_candidates"]))
    learning = learn_fusions(methods, members, split.train, validation)
    value = learning.validation.get(entry if not methods else fusion_name(methods[0]))
    if value is None:
        raise ShoprecError(f"validation measured no {entry}")
    return float(value)


def _finite(value: float) -> float | None:
    return None if value is None or value != value else float(value)


def _frame_digest(frame: pd.DataFrame) -> bytes:
    try:
        return pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
    except TypeError:  # a cell pandas cannot hash (a list): its text then
        return frame.to_csv().encode("utf-8")
