"""Models whose fit fails on purpose, for the tests of isolated fitting (importable by a child process)."""

from __future__ import annotations

import os
import signal

import numpy as np

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.models.base import Recommender


class _Failing(Recommender):
    def __init__(self, *, note: str = "") -> None:
        self.note = note

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        raise AssertionError("never fitted")


class SegfaultRecommender(_Failing):
    """Dies in fit the way a native library's crash does: SIGSEGV to its own process."""

    def _fit(self, dataset: Dataset) -> None:
        os.kill(os.getpid(), signal.SIGSEGV)


class RaisingRecommender(_Failing):
    """Fails in fit with an ordinary Python error."""

    def _fit(self, dataset: Dataset) -> None:
        raise ValueError(f"planted failure on {dataset.n_items} items")
