"""Offline evaluation: splits, metrics, the runner and the HTML report.

The names below are imported on first use, so that a light module of the package (the tuning
file, the background run) loads without pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shoprec.evaluation.runner import EvaluationResult, evaluate
    from shoprec.evaluation.splits import Split, make_split, validation_split

__all__ = ["EvaluationResult", "Split", "evaluate", "make_split", "validation_split"]
_HOMES = {"EvaluationResult": "runner", "evaluate": "runner", "Split": "splits", "make_split": "splits",
          "validation_split": "splits"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
