"""The learned ranker's features for a batch of candidates.

Per candidate (user, item): each member model's score (min-max normalised over the user's
candidates) and rank (NaN outside its top-N); item features (popularity, recency, age, price,
top category); user features (activity, recency, price level, breadth), standardised with the
means and deviations of the ranker's training rows; context (hour, weekday, season, public
holiday); and user-item match (the item's category share in the history, brand seen, price
against the user's usual price); and timing (the item's first and last event against the span
of the user's events).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shoprec.data.history import MS_PER_DAY, Histories
from shoprec.features.context import CONTEXT_FEATURES, context_features
from shoprec.features.items import NO_TIME, ItemFeatures
from shoprec.features.users import (
    MATCH_FEATURES,
    TIMING_FEATURES,
    USER_FEATURES,
    match_features,
    timing_features,
    user_features,
)
from shoprec.ranking.candidates import CandidateBatch
from shoprec.ranking.fusion import normalise

ITEM_FEATURES = ("item_log_popularity", "item_days_since_last", "item_age_days", "item_log_price", "item_top_category")
CATEGORICAL_FEATURES = ("item_top_category",)
# Between a member's name and its feature (LightGBM refuses ':' and other JSON characters in names).
MODEL_SEPARATOR = "__"
# Groups for explanations: a feature's contribution is credited to its model or to one of these.
FEATURE_GROUPS = {**{f: "item" for f in ITEM_FEATURES}, **{f: "user" for f in USER_FEATURES},
                  **{f: "context" for f in CONTEXT_FEATURES}, **{f: "match" for f in (*MATCH_FEATURES, "price_vs_user")},
                  **{f: "timing" for f in TIMING_FEATURES}}


def feature_names(sources: tuple[str, ...]) -> list[str]:
    """Column names of the feature matrix for these member models, in order."""
    per_model = [name for s in sources for name in (f"{s}{MODEL_SEPARATOR}score", f"{s}{MODEL_SEPARATOR}rank")]
    return [*per_model, *ITEM_FEATURES, *USER_FEATURES, *CONTEXT_FEATURES, *MATCH_FEATURES, "price_vs_user", *TIMING_FEATURES]


def group_of(feature: str) -> str:
    """The model a feature belongs to (`ease__score` -> `ease`), or its group (item, user, context, match)."""
    return feature.rsplit(MODEL_SEPARATOR, 1)[0] if MODEL_SEPARATOR in feature else FEATURE_GROUPS[feature]


@dataclass(frozen=True)
class Standardiser:
    """Means and deviations of the user features on the ranker's training rows."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> Standardiser:
        """Column means and deviations over the present (non-NaN) values; 0 and 1 for an empty column."""
        present = ~np.isnan(values)
        count = present.sum(axis=0)
        filled = np.where(present, values, 0.0)
        mean = np.divide(filled.sum(axis=0), count, out=np.zeros(values.shape[1]), where=count > 0)
        var = np.divide((np.where(present, values - mean, 0.0) ** 2).sum(axis=0), count, out=np.zeros(values.shape[1]),
                        where=count > 0)
        std = np.sqrt(var)
        return cls(mean, np.where(std > 0, std, 1.0))

    def apply(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.std


def build_features(batch: CandidateBatch, histories: Histories, items: ItemFeatures, now_ms: np.ndarray,
                   country: str, standardiser: Standardiser | None = None) -> tuple[np.ndarray, Standardiser]:
    """(N, F) float32 features of every candidate, in `feature_names(batch.sources)` order, and the
    standardiser used for the user features (fitted here when none is given)."""
    now_ms = np.asarray(now_ms, dtype=np.int64)
    users, cand = batch.user_rows, batch.items
    columns: list[np.ndarray] = []
    for j in range(len(batch.sources)):
        columns.append(_per_user_minmax(batch, j))
        columns.append(batch.ranks[:, j])
    now = now_ms[users]
    last, first = items.last_event_ms[cand], items.first_event_ms[cand]
    columns += [
        items.log_popularity[cand],
        np.where(last != NO_TIME, (now - last) / MS_PER_DAY, np.nan),
        np.where(first != NO_TIME, (now - first) / MS_PER_DAY, np.nan),
        items.log_price[cand],
        np.where(items.top_category[cand] >= 0, items.top_category[cand], np.nan),  # unknown: missing, not a category
    ]
    per_user = user_features(histories, items, now_ms)
    user_matrix = np.column_stack([per_user[name] for name in USER_FEATURES]) if len(histories) else np.zeros((0, len(USER_FEATURES)))
    standardiser = standardiser or Standardiser.fit(user_matrix[users])
    user_matrix = standardiser.apply(user_matrix)
    columns += [user_matrix[users, i] for i in range(len(USER_FEATURES))]
    context = context_features(now_ms, country)
    columns += [context[name][users] for name in CONTEXT_FEATURES]
    match = match_features(histories, items, users, cand)
    columns += [match[name] for name in MATCH_FEATURES]
    columns.append(items.log_price[cand] - per_user["user_log_price"][users])
    timing = timing_features(histories, items, users, cand)
    columns += [timing[name] for name in TIMING_FEATURES]
    matrix = np.column_stack(columns) if columns else np.zeros((len(cand), 0))
    return matrix.astype(np.float32), standardiser


def _per_user_minmax(batch: CandidateBatch, j: int) -> np.ndarray:
    """Member j's scores min-max normalised within each user's candidates."""
    out = np.full(len(batch.items), np.nan)
    bounds = batch.bounds()
    for u in range(batch.n_users):
        lo, hi = bounds[u], bounds[u + 1]
        if hi > lo:
            out[lo:hi] = normalise(batch.scores[lo:hi, j], "minmax")
    return out

