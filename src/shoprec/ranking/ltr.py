"""The learned ranker: LightGBM LambdaMART over candidate features.

Trained on a validation split (candidates of the validation users, labelled by what they did
next), never on test. Saved in LightGBM's own text format beside a JSON description, so loading
needs no pickle. Per-candidate contributions (LightGBM's `pred_contrib`, SHAP values for trees)
are grouped by model for explanations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shoprec.errors import ConfigError, ShoprecError
from shoprec.ranking.lambdamart import Groups, LambdaMART, LambdaMARTSettings
from shoprec.ranking.ltr_features import CATEGORICAL_FEATURES, group_of

MODEL_FILE = "ranker-{}.txt"
SINGLE_MODEL_FILE = "ranker.txt"  # the layout before bagging, still read
META_FILE = "ranker.json"
# Labels by what the shopper did with a candidate next: the strongest event counts.
GRADE_OF_EVENT = {"purchase": 3, "add_to_cart": 2}
DEFAULT_GRADE = 1


@dataclass(frozen=True)
class RankerSettings:
    """The fusion ranker: LambdaMART settings (small trees and early stopping: validation sets are
    small; the tree settings are validated by LambdaMARTSettings) and how it is trained."""

    n_estimators: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_data_in_leaf: int = 20
    early_stopping_rounds: int = 30
    holdout_fraction: float = 0.2
    seed: int = 42
    # Training rows per user: every labelled candidate plus a random sample of the others, this
    # many at most. LambdaMART's cost grows with the square of a group's size.
    max_rows_per_user: int = 100
    # Models fitted with successive seeds and averaged: bagging lowers the seed-to-seed spread that
    # small validation sets give a single model (NDCG@10 std 0.0068 over 3 seeds on MovieLens stratified).
    # Fusion learning (shoprec.ranking.learn) fits them cross-fitted, each on all folds of the
    # validation users but its own, and measures each on its own fold.
    bags: int = 3
    # Boosting from a base: the trees start from `base_weight` times one feature (the best member's
    # normalised score, chosen by the caller) instead of from zero, so they learn corrections to
    # that member's order, and early stopping keeps it where no correction helps. 0: off; None:
    # the learner chooses among BASE_WEIGHT_CHOICES on validation (shoprec.ranking.learn).
    base_weight: float | None = None

    def __post_init__(self) -> None:
        self.trees(self.seed)  # the LambdaMART settings check themselves
        if not 0.0 <= self.holdout_fraction < 1.0:
            raise ConfigError(f"holdout_fraction must be in [0, 1), got {self.holdout_fraction}")
        if self.max_rows_per_user < 1 or self.bags < 1:
            raise ConfigError(f"max_rows_per_user and bags must be >= 1, got {self.max_rows_per_user}, {self.bags}")
        if self.base_weight is not None and not self.base_weight >= 0:
            raise ConfigError(f"base_weight must be >= 0 (or None: chosen on validation), got {self.base_weight}")

    def trees(self, seed: int) -> LambdaMARTSettings:
        """The LambdaMART settings of one model, with its seed."""
        return LambdaMARTSettings(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                                  num_leaves=self.num_leaves, min_data_in_leaf=self.min_data_in_leaf,
                                  early_stopping_rounds=self.early_stopping_rounds, seed=seed)


# Tried when RankerSettings.base_weight is None. Measured on MovieLens stratified (validation
# NDCG@10 out of fold / test, seed 0): 0 -> 0.2198 / 0.4122, 1 -> 0.2243 / 0.4189, 3 -> 0.2235 / 0.4196.
BASE_WEIGHT_CHOICES = (0.0, 1.0, 3.0)


class LearnedRanker:
    """One or more fitted LambdaMART models (bagged over seeds, averaged), their feature names, and
    the base they boost from (score = base_weight * features[base_feature] + the trees; no base:
    trees only)."""

    def __init__(self, models: list[LambdaMART], feature_names: list[str],
                 base_feature: str | None = None, base_weight: float = 0.0) -> None:
        self.models = models
        self.feature_names = feature_names
        if base_feature is not None and base_feature not in feature_names:
            raise ShoprecError(f"the ranker's base feature {base_feature!r} is not one of its features")
        self.base_feature = base_feature if base_weight else None
        self.base_weight = float(base_weight) if base_feature is not None else 0.0

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray, group_sizes: np.ndarray, feature_names: list[str],
            settings: RankerSettings | None = None, base_feature: str | None = None) -> LearnedRanker:
        """Fit on query groups (one per user, rows contiguous); a random share of the groups is held
        out to stop boosting early. Groups without any positive label teach nothing and are dropped.
        With `settings.bags` > 1, that many models are fitted with successive seeds (other samples
        of negatives, other held-out groups) and their scores averaged. With `base_feature` and
        `settings.base_weight` > 0 the trees boost from that feature (see RankerSettings)."""
        settings = settings or RankerSettings()
        ranker = cls([], feature_names, base_feature, settings.base_weight or 0.0)
        base = ranker.base(features)
        ranker.models = [_fit_one(features, labels, group_sizes, feature_names, settings, settings.seed + b, base)
                         for b in range(settings.bags)]
        return ranker

    def base(self, features: np.ndarray) -> np.ndarray | None:
        """The score the trees start from, per row (None without a base; a missing value counts 0)."""
        if self.base_feature is None:
            return None
        column = np.asarray(features[:, self.feature_names.index(self.base_feature)], dtype=np.float64)
        return self.base_weight * np.nan_to_num(column, nan=0.0)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """One score per row (higher is better)."""
        if not len(features):
            return np.zeros(0)
        trees = np.mean([model.predict(features) for model in self.models], axis=0).astype(np.float64)
        base = self.base(features)
        return trees if base is None else trees + base

    def contributions(self, features: np.ndarray, with_bias: bool = False) -> dict[str, np.ndarray]:
        """Per row, the score's SHAP contributions summed by model or feature group (averaged over the
        bagged models); with `with_bias`, the expected value too (key "bias"), so the parts sum to the score."""
        raw = np.mean([model.contributions(features) for model in self.models], axis=0)
        out: dict[str, np.ndarray] = {}
        for i, name in enumerate(self.feature_names):
            group = group_of(name)
            out[group] = out.get(group, 0.0) + raw[:, i]
        base = self.base(features)
        if base is not None and self.base_feature is not None:  # the base is its model's part too
            group = group_of(self.base_feature)
            out[group] = out.get(group, 0.0) + base
        if with_bias:
            out["bias"] = raw[:, -1]
        return out

    def importances(self) -> dict[str, float]:
        """Total gain of each feature, as shares summing to 1 (largest first; averaged over bags)."""
        gain = np.zeros(len(self.feature_names))
        for model in self.models:
            one = model.gains()
            gain += one / (one.sum() or 1.0)
        total = float(gain.sum()) or 1.0
        pairs = sorted(zip(self.feature_names, gain.tolist()), key=lambda p: -p[1])
        return {name: round(value / total, 6) for name, value in pairs}

    def save(self, directory: Path) -> None:
        """Write ranker-<i>.txt (LightGBM's format) per bagged model and ranker.json."""
        directory.mkdir(parents=True, exist_ok=True)
        for i, model in enumerate(self.models):
            model.save(directory / MODEL_FILE.format(i))
        meta = {"feature_names": self.feature_names, "bags": len(self.models), "base_feature": self.base_feature,
                "base_weight": self.base_weight}
        (directory / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> LearnedRanker:
        """Read what `save` wrote; a clear error when a file is missing."""
        if not (directory / META_FILE).exists():
            raise ShoprecError(f"{directory}: no {META_FILE}; the learned ranker was not saved completely")
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        # Rankers saved before bagging hold one model in ranker.txt and no "bags" entry.
        paths = [directory / MODEL_FILE.format(i) for i in range(int(meta["bags"]))] if "bags" in meta \
            else [directory / SINGLE_MODEL_FILE]
        names = list(meta["feature_names"])
        models = []
        for path in paths:
            if not path.exists():
                raise ShoprecError(f"{directory}: no {path.name}; the learned ranker was not saved completely")
            models.append(LambdaMART.load(path, feature_names=names, categorical=_categorical(names)))
        return cls(models, names, meta.get("base_feature"), float(meta.get("base_weight", 0.0)))


def _categorical(feature_names: list[str]) -> list[str]:
    return [f for f in CATEGORICAL_FEATURES if f in feature_names]


def _fit_one(features: np.ndarray, labels: np.ndarray, group_sizes: np.ndarray, feature_names: list[str],
             settings: RankerSettings, seed: int, base: np.ndarray | None = None) -> LambdaMART:
    """One model: negatives sampled per user, users without a positive dropped, a seeded share of the
    others held out for early stopping."""
    keep, group_sizes = _sample_rows(labels, group_sizes, settings.max_rows_per_user, seed)
    features, labels = features[keep], labels[keep]
    base = None if base is None else base[keep]
    bounds = np.concatenate([[0], np.cumsum(group_sizes)]).astype(np.int64)
    useful = np.array([labels[bounds[g]:bounds[g + 1]].max(initial=0) > 0 for g in range(len(group_sizes))], dtype=bool)
    if useful.sum() < 2:
        raise ShoprecError(f"the learned ranker needs at least 2 users with a relevant candidate, got {int(useful.sum())}")
    rng = np.random.default_rng(seed)
    groups = np.flatnonzero(useful)
    held = set(rng.choice(groups, size=max(1, int(len(groups) * settings.holdout_fraction)), replace=False).tolist()) if len(groups) >= 10 else set()

    def part(chosen: list[int]) -> Groups:
        rows = np.concatenate([np.arange(bounds[g], bounds[g + 1]) for g in chosen]) if chosen else np.zeros(0, np.int64)
        return Groups(features[rows], labels[rows], group_sizes[chosen], None if base is None else base[rows])

    model = LambdaMART(settings.trees(seed), feature_names, _categorical(feature_names))
    valid = [int(g) for g in groups if g in held]
    return model.fit(part([int(g) for g in groups if g not in held]), part(valid) if valid else None)


def _sample_rows(labels: np.ndarray, group_sizes: np.ndarray, limit: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows to train on: per group every positive and a uniform random sample of the negatives, `limit`
    rows at most. Uniform, not "hardest": keeping only the negatives the members rank best would teach
    the ranker that a worse member rank means relevance (the positives are spread over all ranks)."""
    rng = np.random.default_rng(seed)
    keep = np.zeros(len(labels), dtype=bool)
    sizes = []
    start = 0
    for size in group_sizes:
        rows = np.arange(start, start + size)
        positive = rows[labels[rows] > 0]
        negative = rows[labels[rows] <= 0]
        room = max(limit - len(positive), 0)
        chosen = rng.choice(negative, size=min(room, len(negative)), replace=False) if len(negative) else negative
        keep[positive] = True
        keep[chosen] = True
        sizes.append(len(positive) + len(chosen))
        start += size
    return keep, np.array(sizes, dtype=np.int64)
