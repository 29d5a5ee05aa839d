"""Context-aware popularity: what a shopper with no history is shown.

Popularity counted over the most recent weeks (events weighted by type as in training, and decayed
so this week's favourites lead), then
scaled by how much of each item's traffic falls in the request's part of the day and kind of
day (weekday or weekend): a breakfast item leads in the morning, a party item on Saturday
night. Each affinity is smoothed towards 1 (an item with few events keeps its overall rank).
Also keeps each item's events of the last seven days, for "popular in <category> this week".
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from shoprec.data import schema as S
from shoprec.data.dataset import Dataset
from shoprec.data.history import MS_PER_DAY, Histories
from shoprec.data.timestamps import reference_time_ms
from shoprec.errors import ConfigError
from shoprec.models.base import Recommender

N_DAYPARTS = 4  # night 0-6, morning 6-12, afternoon 12-18, evening 18-24 (UTC hours)


def daypart(hours: np.ndarray) -> np.ndarray:
    """0 night, 1 morning, 2 afternoon, 3 evening."""
    return (np.asarray(hours, dtype=np.int64) // 6).clip(0, N_DAYPARTS - 1)


class ContextPopularity(Recommender):
    """Recent, decayed popularity scaled by the item's affinity to the request's daypart and weekday/weekend."""

    personalised: ClassVar[bool] = False

    def __init__(self, *, window_days: float = 28.0, half_life_days: float = 7.0, smoothing: float = 20.0) -> None:
        self.window_days = window_days
        self.half_life_days = half_life_days
        self.smoothing = smoothing

    def _check_params(self) -> None:
        for name in ("window_days", "half_life_days"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.smoothing < 0:
            raise ConfigError(f"smoothing must be >= 0, got {self.smoothing}")

    def _fit(self, dataset: Dataset) -> None:
        n = dataset.n_items
        if not dataset.n_events:
            self.recent_ = np.zeros(n)
            self.by_daypart_ = np.zeros((n, N_DAYPARTS))
            self.by_weekend_ = np.zeros((n, 2))
            self.last_week_ = np.zeros(n)
            return
        # "Now" is the latest event, but never past the wall clock plus the allowed skew; an event after
        # it (a far-future time stored before times were checked) is outside every window.
        end = reference_time_ms(dataset.timestamps)
        age = (end - dataset.timestamps) / MS_PER_DAY
        inside = (age >= 0) & (age <= self.window_days)
        # Each event counts with its type's weight (a purchase says more than a view), decayed by age.
        type_weight = np.asarray(dataset.weights.weight_vector(), dtype=np.float64)[dataset.event_types[inside].astype(np.int64)]
        weight = type_weight * np.power(0.5, age[inside] / self.half_life_days)
        items = dataset.event_items[inside]
        stamps = pd.to_datetime(dataset.timestamps[inside], unit="ms", utc=True)
        parts = daypart(stamps.hour.to_numpy())
        weekend = (stamps.day_of_week.to_numpy() >= 5).astype(np.int64)
        self.recent_ = np.maximum(np.bincount(items, weights=weight, minlength=n), 0.0)  # returns subtract, not below 0
        self.by_daypart_ = np.zeros((n, N_DAYPARTS))
        np.add.at(self.by_daypart_, (items, parts), weight)
        self.by_weekend_ = np.zeros((n, 2))
        np.add.at(self.by_weekend_, (items, weekend), weight)
        np.maximum(self.by_daypart_, 0.0, out=self.by_daypart_)
        np.maximum(self.by_weekend_, 0.0, out=self.by_weekend_)
        week = (age >= 0) & (age <= 7) & (dataset.event_types != S.EVENT_TYPE_CODE[S.EventType.RETURN.value])
        self.last_week_ = np.bincount(dataset.event_items[week], minlength=n).astype(np.float64)

    def scores_at(self, now_ms: int) -> np.ndarray:
        """Every item's score for a request at `now_ms` (epoch ms, UTC)."""
        self._check_fitted()
        stamp = pd.Timestamp(int(now_ms), unit="ms", tz="UTC")
        part = int(daypart(np.array([stamp.hour]))[0])
        weekend = int(stamp.weekday() >= 5)
        return self._scores_in(part, weekend)

    def _scores_in(self, part: int, weekend: int) -> np.ndarray:
        """The scores for one daypart and weekday/weekend, computed once per fitted model (read-only)."""
        cache: dict[tuple[int, int], np.ndarray] = self.__dict__.setdefault("_cached_scores", {})
        if (part, weekend) not in cache:
            scores = self._compute(part, weekend)
            scores.flags.writeable = False
            cache[(part, weekend)] = scores
        return cache[(part, weekend)]

    def _compute(self, part: int, weekend: int) -> np.ndarray:
        share_daypart = self._affinity(self.by_daypart_, part, N_DAYPARTS)
        # Weekend days are 2 of 7: an item with no weekday/weekend preference has weekend share 2/7.
        expected_weekend = np.array([5 / 7, 2 / 7])
        totals = self.by_weekend_.sum(axis=1)
        share_weekend = (self.by_weekend_[:, weekend] + self.smoothing * expected_weekend[weekend]) / (
            (totals + self.smoothing) * expected_weekend[weekend])
        return self.recent_ * share_daypart * share_weekend

    def _affinity(self, counts: np.ndarray, column: int, n_columns: int) -> np.ndarray:
        """The item's share of traffic in `column` over an even share, smoothed towards 1."""
        totals = counts.sum(axis=1)
        return (counts[:, column] + self.smoothing / n_columns) / ((totals + self.smoothing) / n_columns)

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        """Scores at each user's latest event (the wall clock for an empty history)."""
        clock = int(pd.Timestamp.now(tz="UTC").value // 1_000_000)
        rows = histories.row_of_each_event()
        latest = np.full(len(histories), clock, dtype=np.int64)
        if len(rows):
            seen = np.full(len(histories), np.iinfo(np.int64).min, dtype=np.int64)
            np.maximum.at(seen, rows, histories.timestamps)
            latest = np.where(seen > np.iinfo(np.int64).min, seen, latest)
        out = np.vstack([self.scores_at(int(t)) for t in latest]) if len(latest) else np.zeros((0, self.n_items_))
        return out if items is None else out[:, items]
