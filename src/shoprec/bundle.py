"""Bundles: a trained set of models, written once to a versioned folder, loaded whole.

`<workspace>/bundles/<version>/` holds `manifest.json` (data snapshot, models, parameters,
metrics, library versions), `items.json` (the item id map the models were trained with) and
`models/<name>/` per model. `<workspace>/bundles/CURRENT` names the bundle in use; it is
replaced atomically, so a reader sees the old bundle or the new one, never a half-written one.
A bundle without a manifest (an interrupted write) is never made current. Each change of CURRENT
is recorded in `bundles/HISTORY` (bundle_history.py), which `shoprec bundles rollback` reads.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from shoprec import bundle_history
from shoprec.atomic import fsync_path, write_atomic
from shoprec.config import WeightConfig
from shoprec.data.idmap import IdMap
from shoprec.errors import ShoprecError
from shoprec.models.base import Recommender
from shoprec.models.registry import load_model

MANIFEST = "manifest.json"
CURRENT = "CURRENT"
FORMAT_VERSION = 1
_LIBRARIES = ("shoprec", "numpy", "scipy", "pandas", "pyarrow")


@dataclass
class Bundle:
    """A loaded bundle: its models, the item ids they index, and its manifest."""

    path: Path
    manifest: dict[str, Any]
    item_ids: IdMap
    models: dict[str, Recommender]

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def default_model(self) -> str:
        return str(self.manifest["default_model"])


class TrainingData(Protocol):
    """What a bundle records of the data its models were fitted on: a Dataset, or the snapshot
    Spark read (shoprec.spark.prepare.SparkSnapshot), which never gathers the events in one process."""

    @property
    def item_ids(self) -> IdMap: ...

    @property
    def weights(self) -> WeightConfig: ...

    def summary(self) -> dict[str, object]: ...


def bundles_dir(workspace: Path) -> Path:
    return Path(workspace) / "bundles"


def new_bundle_folder(workspace: Path) -> Path:
    """A new, empty bundle folder (with `models/`); it becomes a bundle when `write_bundle(...,
    folder=...)` writes its manifest, and is never made current before."""
    # UTC time to the microsecond, then the process: versions sort in the order they were made
    # (list_bundles, prune --keep), two trainings in one second included.
    now = time.time_ns() // 1000
    version = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 10**6)) + f".{now % 10**6:06d}Z-{os.getpid()}"
    path = bundles_dir(workspace) / version
    (path / "models").mkdir(parents=True)
    return path


def model_path(folder: Path, name: str) -> Path:
    """Where model `name` is saved inside bundle folder `folder`."""
    return Path(folder) / "models" / model_folder(name)


def write_bundle(workspace: Path, models: dict[str, Recommender], dataset: TrainingData, *,
                 default_model: str | None = None, train_seconds: dict[str, float] | None = None,
                 data_snapshot: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None,
                 make_current: bool = True, folder: Path | None = None, saved: Collection[str] = (),
                 ann: Mapping[str, Mapping[str, Any]] | None = None) -> Path:
    """Write fitted models as a new bundle and (by default) make it the current one.

    `folder` (from `new_bundle_folder`) is filled instead of a new one; the models named in `saved`
    are already saved there (at `model_path`) and are not written again. `ann`: the ANN indexes
    training built into the folder (shoprec.retrieval.indexes.publish_indexes), for the manifest.
    """
    if not models:
        raise ShoprecError("a bundle needs at least one model")
    path = Path(folder) if folder is not None else new_bundle_folder(workspace)
    version = path.name
    for name, model in models.items():
        if name not in saved:
            model.save(model_path(path, name))
    (path / "items.json").write_text(json.dumps(dataset.item_ids.to_list()), encoding="utf-8")
    manifest = {
        "format_version": FORMAT_VERSION,
        "version": version,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "default_model": default_model or next(iter(models)),
        "models": {name: {"class": type(m).__name__, "params": m.get_params(), "folder": model_folder(name),
                          "train_seconds": (train_seconds or {}).get(name)} for name, m in models.items()},
        "data": {**dataset.summary(), **(data_snapshot or {})},
        "weights": {"event_weights": dataset.weights.event_weights, "half_life_days": dataset.weights.half_life_days},
        "metrics": metrics or {},
        "ann": {name: dict(entry) for name, entry in (ann or {}).items()},
        "libraries": _library_versions(),
        "python": platform.python_version(),
    }
    for written in path.rglob("*"):  # the models and items on disk before a manifest names them
        if written.is_file():
            fsync_path(written)
    write_atomic(path / MANIFEST, json.dumps(manifest, indent=2, default=str))
    if make_current:
        set_current(workspace, version, action="train")
    return path


def set_current(workspace: Path, version: str, *, action: str = "promote") -> None:
    """Make bundle `version` the one `load_current` returns (atomic), and record the change in the
    history (`action`: what made it current: "train", "promote", "rollback")."""
    if not (bundles_dir(workspace) / version / MANIFEST).exists():
        raise ShoprecError(f"bundle {version} has no {MANIFEST}: not a complete bundle")
    with bundle_history.locked(bundles_dir(workspace)):
        before = current_version(workspace)
        write_atomic(bundles_dir(workspace) / CURRENT, version + "\n")
        if before != version:
            bundle_history.append(bundles_dir(workspace), version, before, action)


def recorded_validation(manifest: Mapping[str, Any], entry: str | None = None) -> tuple[float | None, dict[str, Any] | None]:
    """A bundle's validation NDCG@10 for `entry` (default: its default model) as training recorded
    it under `metrics.validation`, with the definition of the measurement
    (shoprec.training.validation); (None, None) when none was measured. A bundle trained before
    definitions were recorded gives its fusion learning's number with no definition."""
    entry = entry or str(manifest.get("default_model"))
    metrics = manifest.get("metrics") or {}
    validation = metrics.get("validation") or {}
    value = (validation.get("values") or {}).get(entry)
    if value is not None and value == value:
        return float(value), dict(validation.get("definition") or {})
    older = ((metrics.get("fusion") or {}).get("validation_ndcg@10") or {}).get(entry)
    return (None, None) if older is None or older != older else (float(older), None)


def current_version(workspace: Path) -> str | None:
    """The version CURRENT names, or None when nothing was made current yet."""
    try:
        return (bundles_dir(workspace) / CURRENT).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def current_path(workspace: Path) -> Path:
    """The current bundle's folder; a clear error when nothing was trained yet."""
    pointer = bundles_dir(workspace) / CURRENT
    if not pointer.exists():
        raise ShoprecError(f"no trained bundle in {workspace}: run 'shoprec train --workspace {workspace}' first")
    return bundles_dir(workspace) / pointer.read_text(encoding="utf-8").strip()


def load_bundle(path: Path) -> Bundle:
    """Load a bundle folder; a missing or damaged part is a ShoprecError naming it."""
    manifest_path = Path(path) / MANIFEST
    if not manifest_path.exists():
        raise ShoprecError(f"{path}: no {MANIFEST}; not a complete bundle")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        item_ids = IdMap(json.loads((Path(path) / "items.json").read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as exc:
        raise ShoprecError(f"{path}: damaged bundle: {exc}") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ShoprecError(f"{manifest_path}: format_version must be {FORMAT_VERSION}, got {manifest.get('format_version')}")
    models: dict[str, Recommender] = {}
    try:
        for name, entry in manifest["models"].items():
            models[name] = load_model(Path(path) / "models" / entry.get("folder", name))
    except (OSError, ValueError, KeyError) as exc:
        raise ShoprecError(f"{path}: damaged bundle: {exc}") from exc
    for model in models.values():
        model.attach(models)  # entries built on other entries (fusion) get them
    for name, model in models.items():
        if model.n_items_ != len(item_ids):
            raise ShoprecError(f"{path}: model {name} scores {model.n_items_} items but the bundle lists {len(item_ids)}")
    return Bundle(Path(path), manifest, item_ids, models)


def model_folder(name: str) -> str:
    """The folder of a model inside a bundle: its name, with ':' (fusion:ltr) made file-system safe."""
    return name.replace(":", "-")


def load_current(workspace: Path) -> Bundle:
    """The workspace's current bundle."""
    return load_bundle(current_path(workspace))


def _library_versions() -> dict[str, str]:
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
