"""Model names -> classes, for the CLI, configs and the shared test suite.

Classes are named by import path and imported on first use, so that asking for popularity never
imports PyTorch, and a missing optional dependency is reported for the model that needs it. The
module itself imports no model code (nor numpy): the command line reads its names to declare
options.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shoprec.errors import ConfigError, ShoprecError

if TYPE_CHECKING:
    from shoprec.models.base import Recommender

# Every model shoprec ships; the contract tests run over all of them. Variants of one algorithm
# are separate entries with other default hyperparameters (see VARIANT_PARAMS).
MODELS: dict[str, str] = {
    "popularity": "shoprec.models.popularity:PopularityRecommender",
    "random": "shoprec.models.random_baseline:RandomRecommender",
    "content": "shoprec.models.content:ContentRecommender",
    "itemknn": "shoprec.models.itemknn:ItemKNNRecommender",
    "itemknn_bm25": "shoprec.models.itemknn:ItemKNNRecommender",
    "ials": "shoprec.models.ials:IALSRecommender",
    "bpr": "shoprec.models.bpr:BPRRecommender",
    "puresvd": "shoprec.models.puresvd:PureSVDRecommender",
    "ease": "shoprec.models.ease:EASERecommender",
    "sasrec": "shoprec.models.sasrec:SASRecRecommender",
    "two_tower": "shoprec.models.two_tower:TwoTowerRecommender",
    "similar_items": "shoprec.models.similar_items:SimilarItemsRecommender",
}
# What `shoprec train` fits when no --models is given, chosen by measurement (docs/benchmarks.md,
# 2026-11-28; NDCG@10 and train seconds on REES46 temporal / MovieLens leave-last / stratified):
# content is REES46's best (0.0678); ease is best or second on every protocol (0.0531 / 0.0560 /
# 0.4128, 5-63 s); ials (0.0532 / 0.0504 / 0.3199, under 2 s), itemknn_bm25 (0.0494 / 0.0505 /
# 0.2875) and puresvd (0.0403 / 0.0524 / 0.3529, 0.1-1.4 s) are cheap and give fusion different
# views; popularity is the cold-start floor. Left out: the deep models, which pay only on
# MovieLens leave-last (SASRec 0.0757, two-tower 0.0739 vs ease 0.0560) at 230-550 s, 5-10 times
# everything else together, and lose on stratified (SASRec 0.0914 vs ease 0.4128); bpr and
# itemknn (cosine), dominated by ials and itemknn_bm25 on two protocols of three; random.
# `--models all` still fits every model.
DEFAULT_MODELS: tuple[str, ...] = ("popularity", "itemknn_bm25", "ials", "puresvd", "ease", "content")

# Classes a bundle holds besides the models above: fusion entries (learned over other entries,
# shoprec.ranking.learn) and the cold-start popularity. Never fitted by name; `load_model` reads them.
ENTRY_CLASSES: dict[str, str] = {
    "FusionRecommender": "shoprec.ranking.fused:FusionRecommender",
    "ContextPopularity": "shoprec.ranking.cold_start:ContextPopularity",
}
# Registry names that are a class with some hyperparameters preset (e.g. itemknn_bm25).
VARIANT_PARAMS: dict[str, dict[str, Any]] = {"itemknn_bm25": {"similarity": "bm25"}}
# Optional dependency behind each module, named in the error when it is missing.
EXTRAS: dict[str, str] = {"torch": "pip install 'shoprec[deep]' (torch==2.13.0)"}


def model_class(name: str) -> type[Recommender]:
    """The class registered as `name` (imported now)."""
    path = MODELS.get(name)
    if path is None:
        raise ConfigError(f"unknown model {name!r}, expected one of {', '.join(sorted(MODELS))}")
    module_name, _, class_name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        hint = EXTRAS.get((exc.name or "").split(".")[0])
        if hint is None:
            raise
        raise ConfigError(f"model {name!r} needs the package '{exc.name}': {hint}") from exc
    cls: type[Recommender] = getattr(module, class_name)
    return cls


def create(name: str, **params: Any) -> Recommender:
    """A new, unfitted model by registry name, with the given hyperparameters."""
    cls = model_class(name)
    known = cls._param_names()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ConfigError(
            f"model {name!r} has no hyperparameter {unknown[0]!r}, expected one of {', '.join(known) or '(none)'}"
        )
    return cls(**{**VARIANT_PARAMS.get(name, {}), **params})


def name_of(model: Recommender | type[Recommender]) -> str:
    """The registry name of a model or model class (the plain entry, not a variant)."""
    cls = model if isinstance(model, type) else type(model)
    path = f"{cls.__module__}:{cls.__name__}"
    for name, registered in MODELS.items():
        if registered == path and name not in VARIANT_PARAMS:
            return name
    raise ConfigError(f"{cls.__name__} is not in the model registry")


def load_model(directory: Path) -> Recommender:
    """Load whichever registered model `directory` holds."""
    from shoprec.models.base import read_model_meta

    class_name = read_model_meta(directory)["class"]
    for name, path in MODELS.items():
        if path.endswith(f":{class_name}"):
            return model_class(name).load(directory)
    if class_name in ENTRY_CLASSES:
        module_name, _, attribute = ENTRY_CLASSES[class_name].partition(":")
        cls: type[Recommender] = getattr(importlib.import_module(module_name), attribute)
        return cls.load(directory)
    raise ShoprecError(f"{directory} holds a {class_name}, which is not in the model registry")
