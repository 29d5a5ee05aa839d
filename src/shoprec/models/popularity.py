"""Popularity: every history gets the catalogue ranked by (optionally recent, decayed) event weight."""

from __future__ import annotations

import numpy as np

from shoprec.data.dataset import Dataset
from shoprec.data.history import MS_PER_DAY, Histories
from shoprec.data.timestamps import reference_time_ms
from shoprec.errors import ConfigError
from shoprec.models.base import Recommender


class PopularityRecommender(Recommender):
    """Items scored by their summed event weights over the training data; the same for every history.

    - `weighted=True`: each event counts its type weight from the dataset's weight config
      (a purchase 5, a view 1, ...); `weighted=False`: each event of a type with a positive
      weight counts 1 (so searches and cart removals, weighted 0 by default, never count).
    - `window_days`: only events at most that many days older than the last training event count.
    - `half_life_days`: an event `d` days older than the last training event counts `0.5 ** (d / h)`.
      This hyperparameter governs decay here; the weight config's own half-life is not applied
      on top of it.
    """

    personalised = False

    def __init__(
        self, *, half_life_days: float | None = None, window_days: float | None = None, weighted: bool = True
    ) -> None:
        self.half_life_days = half_life_days
        self.window_days = window_days
        self.weighted = weighted

    def _check_params(self) -> None:
        for name in ("half_life_days", "window_days"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError(f"{name} must be > 0 or None, got {value}")

    def _fit(self, dataset: Dataset) -> None:
        type_weights = np.asarray(dataset.weights.weight_vector(), dtype=np.float64)[dataset.event_types.astype(np.int64)]
        weights = type_weights if self.weighted else (type_weights > 0).astype(np.float64)
        reference = reference_time_ms(dataset.timestamps) if dataset.n_events else None
        if reference is not None and (self.window_days is not None or self.half_life_days is not None):
            age_days = (reference - dataset.timestamps) / MS_PER_DAY
            weights = weights * (age_days >= 0)  # an event after "now" (stored before times were checked) counts nothing
            if self.window_days is not None:
                weights = weights * (age_days <= self.window_days)
            if self.half_life_days is not None:
                weights = weights * np.power(0.5, np.maximum(age_days, 0) / self.half_life_days)
        self.reference_time_ms_: int | None = reference
        # Returns (negative weights) take back what purchases gave, never below nothing.
        self.item_scores_ = np.maximum(np.bincount(dataset.event_items, weights=weights, minlength=dataset.n_items), 0.0)

    def fixed_scores(self) -> np.ndarray | None:
        self._check_fitted()
        row = self.item_scores_.astype(np.float32)
        row.flags.writeable = False
        return row

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        row = self.item_scores_ if items is None else self.item_scores_[items]
        return np.tile(row.astype(np.float32), (len(histories), 1))
