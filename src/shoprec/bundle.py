"""Bundles: a trained set of models, written once to a versioned folder, loaded whole.

`<workspace>/bundles/<version>/` holds `manifest.json` (data snapshot, models, parameters,
metrics, library versions), `items.json` (the item id map the models were trained with) and
`models/<name>/` per model. `<workspace>/bundles/CURRENT` names the bundle in use; it is
replaced atomically, so a reader sees the old bundle or the new one, never a half-written one.
A bundle without a manifest (an interrupted write) is never made current.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Collection
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from shoprec.config import WeightConfig
from shoprec.data.idmap import IdMap
from shoprec.errors import ShoprecError
from shoprec.models.base import Recommender
from shoprec.models.registry import load_model
from shoprec.ranking.cold_start import ContextPopularity
from shoprec.ranking.fused import FusionRecommender

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
    version = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{os.getpid()}-{time.time_ns() % 10**6:06d}"
    path = bundles_dir(workspace) / version
    (path / "models").mkdir(parents=True)
    return path


def model_path(folder: Path, name: str) -> Path:
    """Where model `name` is saved inside bundle folder `folder`."""
    return Path(folder) / "models" / model_folder(name)


def write_bundle(workspace: Path, models: dict[str, Recommender], dataset: TrainingData, *,
                 default_model: str | None = None, train_seconds: dict[str, float] | None = None,
                 data_snapshot: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None,
                 make_current: bool = True, folder: Path | None = None, saved: Collection[str] = ()) -> Path:
    """Write fitted models as a new bundle and (by default) make it the current one.

    `folder` (from `new_bundle_folder`) is filled instead of a new one; the models named in `saved`
    are already saved there (at `model_path`) and are not written again.
    """
    if not models:
        raise ShoprecError("a bundle needs at least one model")
    path = Path(folder) if folder is not None else new_bundle_folder(workspace)
    version = path.name
    for name, model in models.items():
        if name not in saved:
            model.save(model_path(path, name))
    (path / "items.json").write_text(json.dumps(dataset.item_ids.to_list()), encoding="utf-8")
    indexes = _ann_indexes(path, models)
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
        "ann": indexes,
        "libraries": _library_versions(),
        "python": platform.python_version(),
    }
    _write_atomic(path / MANIFEST, json.dumps(manifest, indent=2, default=str))
    if make_current:
        set_current(workspace, version)
    return path


def _ann_indexes(path: Path, models: dict[str, Recommender]) -> dict[str, dict[str, Any]]:
    """Build and save the ANN index of each embedding model of a large catalogue (shoprec.retrieval)
    into the bundle before it is published; what was built, for the manifest."""
    from shoprec.retrieval.indexes import build_indexes, save_indexes  # imported here: it imports this module

    started = time.perf_counter()
    indexes = build_indexes(models)
    save_indexes(path, indexes)
    seconds = round(time.perf_counter() - started, 1)
    return {name: {"kind": index.kind, **index.params, "build_seconds": seconds} for name, index in indexes.items()}


def set_current(workspace: Path, version: str) -> None:
    """Make bundle `version` the one `load_current` returns (atomic)."""
    if not (bundles_dir(workspace) / version / MANIFEST).exists():
        raise ShoprecError(f"bundle {version} has no {MANIFEST}: not a complete bundle")
    _write_atomic(bundles_dir(workspace) / CURRENT, version + "\n")


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
            models[name] = _load_entry(Path(path) / "models" / entry.get("folder", name), entry)
    except (OSError, ValueError, KeyError) as exc:
        raise ShoprecError(f"{path}: damaged bundle: {exc}") from exc
    for model in models.values():
        if isinstance(model, FusionRecommender):
            model.attach(models)
    for name, model in models.items():
        if model.n_items_ != len(item_ids):
            raise ShoprecError(f"{path}: model {name} scores {model.n_items_} items but the bundle lists {len(item_ids)}")
    return Bundle(Path(path), manifest, item_ids, models)


def model_folder(name: str) -> str:
    """The folder of a model inside a bundle: its name, with ':' (fusion:ltr) made file-system safe."""
    return name.replace(":", "-")


def _load_entry(directory: Path, entry: dict[str, Any]) -> Recommender:
    # Bundle entries that are not registry models: fusion entries and the cold-start popularity.
    special: dict[str, type[Recommender]] = {cls.__name__: cls for cls in (FusionRecommender, ContextPopularity)}
    cls = special.get(str(entry.get("class")))
    return cls.load(directory) if cls is not None else load_model(directory)


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


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
