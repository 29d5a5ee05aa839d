"""Recommender models behind one contract (`Recommender`), and the one ranked-list shape.

The names below are imported on first use, so that a light module of the package (the registry,
which the command line reads to declare its options) loads without numpy and SciPy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shoprec.models.base import Recommender, seen_items
    from shoprec.models.ranked import RankedList

__all__ = ["RankedList", "Recommender", "seen_items"]
_HOMES = {"RankedList": "ranked", "Recommender": "base", "seen_items": "base"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
