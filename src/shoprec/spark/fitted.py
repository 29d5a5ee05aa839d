"""A model of the local engine's class, fitted from state that Spark computed.

Spark computes the learned arrays (item factors, item scores, neighbour weights); this module puts
them into the very class the local engine fits, so that the bundle entry is saved, loaded and
served exactly as a local one, with nothing in serving aware of Spark.
"""

from __future__ import annotations

from typing import Any, TypeVar

from shoprec.config import WeightConfig
from shoprec.models.base import Recommender

M = TypeVar("M", bound=Recommender)


def fitted(model: M, n_items: int, weights: WeightConfig, **state: Any) -> M:
    """`model` (hyperparameters checked as `fit` checks them) holding `state` as its learned
    attributes, like `Recommender.load` restores them. Every name must end in `_`."""
    model._check_params()
    model._forget()
    wrong = sorted(name for name in state if not name.endswith("_"))
    if wrong:
        raise ValueError(f"learned attributes end in '_', got {wrong[0]!r}")
    model.n_items_ = n_items
    model.weights_ = weights
    for name, value in state.items():
        setattr(model, name, value)
    return model
