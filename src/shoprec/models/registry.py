"""Model names -> classes, for the CLI, configs and the shared test suite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shoprec.errors import ConfigError, ShoprecError
from shoprec.models.base import Recommender, read_model_meta
from shoprec.models.popularity import PopularityRecommender
from shoprec.models.random_baseline import RandomRecommender

# Every model shoprec ships; the contract tests run over all of them.
MODELS: dict[str, type[Recommender]] = {
    "popularity": PopularityRecommender,
    "random": RandomRecommender,
}


def create(name: str, **params: Any) -> Recommender:
    """A new, unfitted model by registry name, with the given hyperparameters."""
    cls = MODELS.get(name)
    if cls is None:
        raise ConfigError(f"unknown model {name!r}, expected one of {', '.join(sorted(MODELS))}")
    known = cls._param_names()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ConfigError(
            f"model {name!r} has no hyperparameter {unknown[0]!r}, expected one of {', '.join(known) or '(none)'}"
        )
    return cls(**params)


def name_of(model: Recommender | type[Recommender]) -> str:
    """The registry name of a model or model class."""
    cls = model if isinstance(model, type) else type(model)
    for name, registered in MODELS.items():
        if registered is cls:
            return name
    raise ConfigError(f"{cls.__name__} is not in the model registry")


def load_model(directory: Path) -> Recommender:
    """Load whichever registered model `directory` holds."""
    class_name = read_model_meta(directory)["class"]
    for cls in MODELS.values():
        if cls.__name__ == class_name:
            return cls.load(directory)
    raise ShoprecError(f"{directory} holds a {class_name}, which is not in the model registry")
