"""LambdaMART (LightGBM's lambdarank): the one learned-ranking estimator fusion and search both use.

`LambdaMART(settings, feature_names).fit(X, y, group_sizes)` fits on query groups (rows of a group
contiguous), stopping early on held-out groups when the caller gives them; `predict`,
`contributions` (SHAP values for trees), `gains`, `save` and `load` (LightGBM's own text format, no
pickle). Settings are validated once, here. Which groups are held out, and which rows of a group are
kept, is the caller's choice (shoprec.ranking.ltr samples negatives and bags; shoprec.search.ranker
holds out whole queries); LightGBM runs on the thread policy (shoprec.threads).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from shoprec import threads
from shoprec.errors import ConfigError, NotFittedError
from shoprec.lightgbm_module import lightgbm

if TYPE_CHECKING:  # imported where used (shoprec.lightgbm_module)
    import lightgbm as lgb

# A prediction of at most this many rows runs on one thread: starting OpenMP threads costs more
# than it saves for a request's few hundred candidates, and a server runs requests side by side.
SMALL_BATCH = 5_000


@dataclass(frozen=True)
class LambdaMARTSettings:
    """LightGBM lambdarank settings; boosting stops early on held-out groups when `fit` gets them."""

    n_estimators: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_data_in_leaf: int = 20
    feature_fraction: float = 1.0
    early_stopping_rounds: int = 30
    seed: int = 42
    eval_at: int = 10  # the NDCG cut-off early stopping watches
    label_gain: tuple[float, ...] | None = None  # gain of each integer label (LightGBM's default: 2^label - 1)
    truncation_level: int | None = None  # lambdarank_truncation_level (LightGBM's default when None)

    def __post_init__(self) -> None:
        checks = [
            (self.n_estimators >= 1, f"n_estimators must be >= 1, got {self.n_estimators}"),
            (self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}"),
            (self.num_leaves >= 2, f"num_leaves must be >= 2, got {self.num_leaves}"),
            (self.min_data_in_leaf >= 1, f"min_data_in_leaf must be >= 1, got {self.min_data_in_leaf}"),
            (0.0 < self.feature_fraction <= 1.0, f"feature_fraction must be in (0, 1], got {self.feature_fraction}"),
            (self.early_stopping_rounds >= 1, f"early_stopping_rounds must be >= 1, got {self.early_stopping_rounds}"),
            (self.eval_at >= 1, f"eval_at must be >= 1, got {self.eval_at}"),
            (self.truncation_level is None or self.truncation_level >= 1,
             f"truncation_level must be >= 1, got {self.truncation_level}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    def params(self) -> dict[str, Any]:
        """LightGBM's parameters for these settings, on the thread policy."""
        params: dict[str, Any] = {
            "objective": "lambdarank", "metric": "ndcg", "eval_at": [self.eval_at],
            "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf, "feature_fraction": self.feature_fraction,
            "seed": self.seed, "deterministic": True, "num_threads": threads.lightgbm_threads(), "verbose": -1,
        }
        if self.label_gain is not None:
            params["label_gain"] = list(self.label_gain)
        if self.truncation_level is not None:
            params["lambdarank_truncation_level"] = self.truncation_level
        return params


@dataclass(frozen=True)
class Groups:
    """Rows of query groups (each group's rows contiguous), their labels, sizes and optional start scores."""

    features: np.ndarray
    labels: np.ndarray
    sizes: np.ndarray
    init_score: np.ndarray | None = None


class LambdaMART:
    """One fitted LambdaMART model over named features (some categorical)."""

    def __init__(self, settings: LambdaMARTSettings | None = None, feature_names: Sequence[str] = (),
                 categorical: Sequence[str] = ()) -> None:
        self.settings = settings or LambdaMARTSettings()
        self.feature_names = list(feature_names)
        unknown = [name for name in categorical if name not in self.feature_names]
        if unknown:
            raise ConfigError(f"categorical feature {unknown[0]!r} is not one of the features")
        self.categorical = list(categorical)

    def fit(self, train: Groups, valid: Groups | None = None) -> Self:
        """Boost on `train`'s groups; with `valid` (other groups), stop when their NDCG stops rising."""
        lgb = lightgbm()

        train_set = self._dataset(train)
        valid_sets: list[lgb.Dataset] = []
        callbacks: list[Any] = []
        if valid is not None and len(valid.sizes):
            valid_sets = [self._dataset(valid, reference=train_set)]
            callbacks = [lgb.early_stopping(self.settings.early_stopping_rounds, verbose=False)]
        with threads.held():
            booster = lgb.train(self.settings.params(), train_set, num_boost_round=self.settings.n_estimators,
                                valid_sets=valid_sets, callbacks=callbacks)
        self.booster_ = booster
        self.best_iteration_ = int(booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration())
        return self

    def _dataset(self, groups: Groups, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        lgb = lightgbm()

        categorical = [self.feature_names.index(name) for name in self.categorical]
        return lgb.Dataset(groups.features, groups.labels, group=groups.sizes, init_score=groups.init_score,
                           feature_name=self.feature_names or "auto", categorical_feature=categorical or "auto",
                           reference=reference, free_raw_data=False, params={"feature_pre_filter": False})

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError("the LambdaMART model is not fitted: call fit() or LambdaMART.load()")

    def predict(self, features: np.ndarray) -> np.ndarray:
        """One score per row (higher is better); the trees only, without any start score."""
        self._check_fitted()
        if not len(features):
            return np.zeros(0)
        return np.asarray(self.booster_.predict(features, num_iteration=self.best_iteration_,
                                                num_threads=_threads_for(len(features))), dtype=np.float64)

    def contributions(self, features: np.ndarray) -> np.ndarray:
        """(rows, features + 1): each feature's SHAP contribution to each score, the expected value last."""
        self._check_fitted()
        return np.asarray(self.booster_.predict(features, num_iteration=self.best_iteration_, pred_contrib=True,
                                                num_threads=_threads_for(len(features))), dtype=np.float64)

    def gains(self) -> np.ndarray:
        """Total split gain of each feature (in `feature_names` order)."""
        self._check_fitted()
        return np.asarray(self.booster_.feature_importance(importance_type="gain", iteration=self.best_iteration_),
                          dtype=np.float64)

    def save(self, path: Path) -> None:
        """Write the model (its best iterations) in LightGBM's text format."""
        self._check_fitted()
        self.booster_.save_model(str(path), num_iteration=self.best_iteration_)

    @classmethod
    def load(cls, path: Path, settings: LambdaMARTSettings | None = None, feature_names: Sequence[str] = (),
             categorical: Sequence[str] = ()) -> LambdaMART:
        """Read what `save` wrote."""
        lgb = lightgbm()

        model = cls(settings, feature_names, categorical)
        model.booster_ = lgb.Booster(model_file=str(path))
        model.best_iteration_ = model.booster_.current_iteration()
        return model


def _threads_for(rows: int) -> int:
    """One thread for a request's rows, the thread policy's count for batches."""
    return 1 if rows <= SMALL_BATCH else threads.lightgbm_threads()
