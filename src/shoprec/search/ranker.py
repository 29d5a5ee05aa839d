"""Learned search ranking: LightGBM LambdaMART over query-item features, re-ranking hybrid candidates.

The candidates of a query are the lexical engine's top N and the semantic engine's top N. Each
gets the features in FEATURES (shoprec.search.ranker_features: BM25 per field, cosine, word
overlaps, character trigrams, loose and number-with-unit matches, popularity, both engines'
ranks), all computed at request time. The model is trained on judged queries
(graded relevance, LightGBM's label gains set to relevance - 1 so that it optimises the NDCG the
evaluation reports) and saved in LightGBM's own text format (`model.txt`) beside `ranker.json`:
no pickle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from shoprec.errors import ConfigError, NotFittedError, ShoprecError
from shoprec.ranking.lambdamart import Groups, LambdaMART, LambdaMARTSettings
from shoprec.search.metrics import GAIN_OFFSET
from shoprec.search.ranker_features import FEATURES

FOLDER = Path("search") / "ranker"
MODEL_FILE = "model.txt"
META_FILE = "ranker.json"
# Relevance is graded in thirds (1, 1.33, ... 3); labels are those steps, their gains relevance - 1.
LABEL_STEPS = 3
LABEL_GAIN = [i / LABEL_STEPS for i in range(2 * LABEL_STEPS + 1)]



def relevance_labels(relevance: np.ndarray) -> np.ndarray:
    """Graded relevance (1..3, NaN unjudged) -> integer labels 0..6 whose LABEL_GAIN is relevance - 1."""
    steps = np.rint((np.nan_to_num(np.asarray(relevance, np.float64), nan=GAIN_OFFSET) - GAIN_OFFSET) * LABEL_STEPS)
    return np.clip(steps, 0, len(LABEL_GAIN) - 1).astype(np.int32)


@dataclass(frozen=True)
class SearchRankerSettings:
    """LambdaMART settings of the search ranker (validated by LambdaMARTSettings); a share of the
    training queries is held out to stop boosting early."""

    n_estimators: int = 1000
    learning_rate: float = 0.05
    num_leaves: int = 7  # small trees: measured best on Home Depot (7: 0.406, 15: 0.404, 31: 0.400)
    min_data_in_leaf: int = 20
    feature_fraction: float = 0.9
    early_stopping_rounds: int = 50
    holdout_fraction: float = 0.2
    seed: int = 42

    def __post_init__(self) -> None:
        self.trees()  # the LambdaMART settings check themselves
        if not 0.0 <= self.holdout_fraction < 1.0:
            raise ConfigError(f"holdout_fraction must be in [0, 1), got {self.holdout_fraction}")

    def trees(self) -> LambdaMARTSettings:
        """The LambdaMART settings: graded labels' gains, and lambdas over each query's top 20."""
        return LambdaMARTSettings(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                                  num_leaves=self.num_leaves, min_data_in_leaf=self.min_data_in_leaf,
                                  feature_fraction=self.feature_fraction,
                                  early_stopping_rounds=self.early_stopping_rounds, seed=self.seed,
                                  label_gain=tuple(LABEL_GAIN), truncation_level=20)


class SearchRanker:
    """LambdaMART re-ranker of search candidates: `fit(groups)`, `predict`, `save`/`load`."""

    def __init__(self, settings: SearchRankerSettings | None = None) -> None:
        self.settings = settings or SearchRankerSettings()

    def fit(self, groups: Sequence[tuple[np.ndarray, np.ndarray]]) -> SearchRanker:
        """Fit on one (features, relevance) pair per training query; relevance NaN = unjudged.

        Queries without any candidate of relevance above 1 teach nothing and are skipped.
        """
        useful = [(x, relevance_labels(r)) for x, r in groups if len(r) and relevance_labels(r).max() > 0]
        if len(useful) < 2:
            raise ShoprecError(f"the search ranker needs at least 2 judged queries with a relevant candidate, got {len(useful)}")
        order = np.random.default_rng(self.settings.seed).permutation(len(useful))
        n_valid = int(len(useful) * self.settings.holdout_fraction) if len(useful) >= 10 else 0
        valid, train = order[:n_valid], order[n_valid:]
        model = LambdaMART(self.settings.trees(), FEATURES)
        self.model_ = model.fit(_groups(useful, train), _groups(useful, valid) if len(valid) else None)
        self.trained_queries_ = len(useful)
        return self

    @property
    def best_iteration_(self) -> int:
        self._check_fitted()
        return self.model_.best_iteration_

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("the search ranker is not fitted: call fit() or SearchRanker.load()")

    def predict(self, features: np.ndarray) -> np.ndarray:
        """One score per candidate row (higher is better)."""
        self._check_fitted()
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or features.shape[1] != len(FEATURES):
            raise ConfigError(f"features must be n x {len(FEATURES)} ({', '.join(FEATURES)}), got shape {features.shape}")
        return self.model_.predict(features)

    @property
    def feature_importances_(self) -> dict[str, float]:
        """Each feature's share of the total split gain, largest first."""
        self._check_fitted()
        gain = self.model_.gains()
        total = float(gain.sum()) or 1.0
        return dict(sorted(((n, float(g) / total) for n, g in zip(FEATURES, gain)), key=lambda p: -p[1]))

    def save(self, directory: Path, extra: Mapping[str, Any] | None = None) -> Path:
        """Write model.txt (LightGBM's format) and ranker.json (features, settings, `extra` notes)."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model_.save(directory / MODEL_FILE)
        meta = {"features": list(FEATURES), "settings": asdict(self.settings), "best_iteration": self.best_iteration_,
                "trained_queries": self.trained_queries_, "importances": self.feature_importances_, **(extra or {})}
        (directory / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: Path) -> SearchRanker:
        """Read what `save` wrote; a ShoprecError for a missing file or other features."""
        directory = Path(directory)
        for name in (MODEL_FILE, META_FILE):
            if not (directory / name).exists():
                raise ShoprecError(f"{directory}: no {name}; train the search ranker with 'shoprec search-train'")
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        if meta.get("features") != list(FEATURES):
            raise ShoprecError(f"{directory}: the ranker was trained on other features; train it again")
        saved = dict(meta.get("settings", {}))
        if "valid_fraction" in saved:  # its name before the one LambdaMART estimator
            saved["holdout_fraction"] = saved.pop("valid_fraction")
        known = {f.name for f in fields(SearchRankerSettings)}
        ranker = cls(SearchRankerSettings(**{k: v for k, v in saved.items() if k in known}))
        ranker.model_ = LambdaMART.load(directory / MODEL_FILE, ranker.settings.trees(), FEATURES)
        ranker.trained_queries_ = int(meta.get("trained_queries", 0))
        return ranker


def _groups(groups: list[tuple[np.ndarray, np.ndarray]], chosen: np.ndarray) -> Groups:
    """The chosen queries' rows, labels and sizes, in the order chosen."""
    return Groups(np.vstack([groups[g][0] for g in chosen]), np.concatenate([groups[g][1] for g in chosen]),
                  np.array([len(groups[g][1]) for g in chosen], dtype=np.int64))
