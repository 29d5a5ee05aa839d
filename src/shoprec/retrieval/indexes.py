"""A bundle's ANN indexes: built at training time for the embedding models of a large catalogue,
saved beside the models (`<bundle>/ann/<model folder>/`), loaded by the recommendation engine.

Small catalogues get no index: below `ann.EXACT_MAX_ITEMS` items scoring every item is about as
fast as an index and exact. A bundle without an `ann` folder (older, or small) is served exactly.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shoprec.bundle import Bundle, model_folder
from shoprec.models.base import Recommender
from shoprec.progress import track
from shoprec.retrieval import ann
from shoprec.retrieval.ann import AnnIndex
from shoprec.retrieval.embeddings import is_embedding_model

ANN_DIR = "ann"


def build_indexes(models: Mapping[str, Recommender], min_items: int | None = None) -> dict[str, AnnIndex]:
    """An HNSW index per embedding model whose catalogue has at least `min_items` items (default:
    more than ann.EXACT_MAX_ITEMS); about a minute per million items on two cores."""
    min_items = ann.EXACT_MAX_ITEMS + 1 if min_items is None else min_items
    chosen = {name: model for name, model in models.items() if is_embedding_model(model) and model.n_items_ >= min_items}
    indexes = {}
    for name, model in track(chosen.items(), f"ANN indexes ({', '.join(chosen)})", total=len(chosen), unit="indexes"):
        indexes[name] = AnnIndex.build(model.item_vectors(), kind="hnsw")  # type: ignore[attr-defined]
    return indexes


def save_indexes(bundle_dir: Path, indexes: Mapping[str, AnnIndex]) -> None:
    """Write each index to `<bundle_dir>/ann/<model folder>/`."""
    for name, index in indexes.items():
        index.save(Path(bundle_dir) / ANN_DIR / model_folder(name))


def publish_indexes(bundle_dir: Path, models: Mapping[str, Recommender]) -> dict[str, dict[str, Any]]:
    """Build and save the indexes of `models` into a bundle folder before it is published (training
    calls this, then `write_bundle(..., ann=...)`); what was built, for the bundle's manifest."""
    started = time.perf_counter()
    indexes = build_indexes(models)
    save_indexes(bundle_dir, indexes)
    seconds = round(time.perf_counter() - started, 1)
    return {name: {"kind": index.kind, **index.params, "build_seconds": seconds} for name, index in indexes.items()}


def load_indexes(bundle: Bundle) -> dict[str, AnnIndex]:
    """The bundle's saved indexes, by model name (checked against each model's catalogue size)."""
    root = bundle.path / ANN_DIR
    if not root.is_dir():
        return {}
    return {name: AnnIndex.load(root / model_folder(name), n_items=model.n_items_)
            for name, model in bundle.models.items()
            if is_embedding_model(model) and (root / model_folder(name)).is_dir()}
