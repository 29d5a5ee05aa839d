"""FusionRecommender: several fitted models combined by one fusion method, behind the model contract.

For each request the members' top-N candidates are gathered (`shoprec.ranking.candidates`),
scored by the method (`shoprec.ranking.fusion`, or the learned ranker for `ltr`) and cut to k.
Evaluation calls `recommend` exactly as for a single model, so what is measured is what is
served.

The members are not part of the fusion's saved state: a bundle saves each member once, under
its own name, and `attach` hands the loaded members to the fusion entries (`shoprec.bundle`).
Weights, the learned ranker and the item features it reads are saved with the fusion entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.errors import ConfigError, NotFittedError, ShoprecError
from shoprec.features.context import DEFAULT_COUNTRY
from shoprec.features.items import ItemFeatures
from shoprec.models.base import Recommender
from shoprec.models.ranked import RankedList
from shoprec.ranking.batch_fusion import borda_points_batch, contributions_batch
from shoprec.ranking.candidates import DEFAULT_N_CANDIDATES, CandidateBatch, generate
from shoprec.ranking.fusion import DEFAULT_RRF_K, FUSION_METHODS, NORMALISATIONS
from shoprec.ranking.ltr import LearnedRanker
from shoprec.ranking.ltr_features import Standardiser, build_features, feature_names
from shoprec.retrieval.ann import AnnIndex

LTR = "ltr"
ALL_METHODS = (*FUSION_METHODS, LTR)
PREFIX = "fusion:"
RANKER_DIR = "ranker"


def fusion_name(method: str) -> str:
    """The name of a fusion entry in results and bundles: `fusion:<method>`."""
    return PREFIX + method


@dataclass(frozen=True)
class Ranked:
    """One user's answer with, per item, what each member (or feature group) contributed."""

    ranked: RankedList
    contributions: list[dict[str, float]]


class FusionRecommender(Recommender):
    """Member models' candidates combined by `method` (average, weighted, borda, vote, rrf, ltr)."""

    personalised: ClassVar[bool] = True

    def __init__(self, *, method: str = "rrf", members: Sequence[str] = (), n_candidates: int = DEFAULT_N_CANDIDATES,
                 normalisation: str = "minmax", rrf_k: int = DEFAULT_RRF_K, vote_k: int = 10,
                 country: str = DEFAULT_COUNTRY) -> None:
        self.method = method
        self.members = tuple(members)
        self.n_candidates = n_candidates
        self.normalisation = normalisation
        self.rrf_k = rrf_k
        self.vote_k = vote_k
        self.country = country
        self._members: dict[str, Recommender] = {}
        self._ranker: LearnedRanker | None = None

    def get_params(self) -> dict[str, Any]:
        params = super().get_params()
        params["members"] = list(self.members)  # JSON-friendly in manifests
        return params

    def _check_params(self) -> None:
        if self.method not in ALL_METHODS:
            raise ConfigError(f"fusion method must be one of {', '.join(ALL_METHODS)}, got {self.method!r}")
        if len(self.members) < 1:
            raise ConfigError("fusion needs at least one member model")
        if self.normalisation not in NORMALISATIONS:
            raise ConfigError(f"normalisation must be one of {', '.join(NORMALISATIONS)}, got {self.normalisation!r}")
        if self.n_candidates < 1:
            raise ConfigError(f"n_candidates must be >= 1, got {self.n_candidates}")

    # ----------------------------------------------------------------- fitting
    def _fit(self, dataset: Dataset) -> None:
        raise ShoprecError("a fusion entry is learned, not fitted: shoprec.ranking.learn.fit_fusion(method, members, "
                           "dataset) learns one, learn_fusions several over shared members")

    def install(self, members: Mapping[str, Recommender], dataset: Dataset, *, weights: Mapping[str, float] | None = None,
                ranker: LearnedRanker | None = None, standardiser: Standardiser | None = None,
                validation: dict[str, Any] | None = None) -> FusionRecommender:
        """Make this entry fitted from members fitted on `dataset` and what was learned on validation."""
        self._check_params()
        self.n_items_ = dataset.n_items
        self.weights_ = dataset.weights
        self.fusion_weights_ = dict(weights) if weights is not None else None
        self.validation_ = validation or {}
        if self.method == LTR:
            if ranker is None or standardiser is None:
                raise ConfigError("the ltr method needs a fitted ranker and its standardiser")
            features = ItemFeatures.from_dataset(dataset)
            for name, value in features.to_state().items():
                setattr(self, name + "_", value)
            self.user_mean_, self.user_std_ = standardiser.mean, standardiser.std
        self.attach(members)
        self._ranker = ranker
        return self

    def attach(self, members: Mapping[str, Recommender]) -> None:
        """Hand over the fitted member models (by name); they must score the same catalogue."""
        missing = [name for name in self.members if name not in members]
        if missing:
            raise ConfigError(f"fusion {self.method} needs member model(s) {', '.join(missing)}, which are not available")
        for name in self.members:
            if members[name].n_items_ != self.n_items_:
                raise ConfigError(f"member {name} scores {members[name].n_items_} items, the fusion {self.n_items_}")
        self._members = {name: members[name] for name in self.members}

    # ----------------------------------------------------------------- persistence
    def _save_extra(self, directory: Path) -> None:
        if self._ranker is not None:
            self._ranker.save(directory / RANKER_DIR)

    def _load_extra(self, directory: Path) -> None:
        if self.method == LTR:
            self._ranker = LearnedRanker.load(directory / RANKER_DIR)
            expected = feature_names(tuple(self.members))
            if self._ranker.feature_names != expected:
                extra = sorted(set(expected) - set(self._ranker.feature_names))
                raise ShoprecError(f"{directory / RANKER_DIR}: the learned ranker was trained on other features than this "
                                   f"version builds (missing {', '.join(extra) or 'none'}, order or set differs); "
                                   "train the bundle again with 'shoprec train'")

    # ----------------------------------------------------------------- scoring
    def _ready(self) -> dict[str, Recommender]:
        self._check_fitted()
        if not self._members:
            raise NotFittedError(f"fusion {self.method} has no member models attached (load it through its bundle)")
        return self._members

    def recommend(self, histories: Histories, k: int, *, exclude: Sequence[np.ndarray] | None = None,
                  candidates: np.ndarray | None = None, now_ms: np.ndarray | None = None) -> list[RankedList]:
        """The fused top `k` per history (see `Recommender.recommend`)."""
        return [r.ranked for r in self.rank(histories, k, exclude=exclude, candidates=candidates, now_ms=now_ms,
                                            explain=False)]

    def rank(self, histories: Histories, k: int, *, exclude: Sequence[np.ndarray] | None = None,
             candidates: np.ndarray | None = None, now_ms: np.ndarray | None = None,
             allowed: np.ndarray | None = None, explain: bool = True,
             indexes: Mapping[str, AnnIndex] | None = None) -> list[Ranked]:
        """The fused top `k` per history, with each item's contributions by member (or feature group).

        `allowed` is a boolean mask over items (stock, filters); `candidates` limits the answer to
        those items; `now_ms` is each user's request time (default: their latest event). Without
        `explain`, the learned ranker skips its (costly) SHAP contributions and they are left empty.
        `indexes` maps member names to ANN indexes those members answer from (shoprec.retrieval).
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        members = self._ready()
        if candidates is not None:
            only = np.zeros(self.n_items_, dtype=bool)
            only[self._check_items(candidates)] = True
            allowed = only if allowed is None else (allowed & only)
        batch = generate(members, histories, max(self.n_candidates, k), exclude=exclude, allowed=allowed, indexes=indexes)
        scores, parts, tiebreak = self.score_batch(batch, histories, request_times(histories, now_ms), explain=explain)
        return _top_per_user(batch, scores, parts, tiebreak, k)

    def score_batch(self, batch: CandidateBatch, histories: Histories, now_ms: np.ndarray,
                    explain: bool = True) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray | None]:
        """Fused score of every candidate, its parts by member (or feature group), and a tiebreak (vote)."""
        if self.method == LTR:
            assert self._ranker is not None
            features, _ = build_features(batch, histories, self.item_features(), now_ms, self.country,
                                         Standardiser(self.user_mean_, self.user_std_))
            parts = self._ranker.contributions(features) if explain else {}
            return self._ranker.predict(features), parts, None
        parts = contributions_batch(batch, self.method, weights=self.fusion_weights_, rrf_k=self.rrf_k,
                                    normalisation=self.normalisation, vote_k=self.vote_k)
        tiebreak = borda_points_batch(batch).sum(axis=1) if self.method == "vote" else None
        return parts.sum(axis=1), {name: parts[:, j] for j, name in enumerate(batch.sources)}, tiebreak

    def item_features(self) -> ItemFeatures:
        """The item features the learned ranker reads (ltr only)."""
        return ItemFeatures.from_state({f"item_{f}": getattr(self, f"item_{f}_") for f in ItemFeatures.__dataclass_fields__})

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        """Fused scores of the candidates; every item outside them scores -inf (never recommended)."""
        n = self.n_items_
        out = np.full((len(histories), n), -np.inf, dtype=np.float32)
        for u, answer in enumerate(self.rank(histories, n, explain=False)):
            out[u, answer.ranked.items] = answer.ranked.scores
        return out if items is None else out[:, items]


def request_times(histories: Histories, now_ms: np.ndarray | None) -> np.ndarray:
    """Each user's request time: `now_ms` when given, else their latest event (else the wall clock)."""
    if now_ms is not None:
        now = np.asarray(now_ms, dtype=np.int64)
        if now.shape != (len(histories),):
            raise ValueError(f"now_ms must hold one time per user ({len(histories)}), got shape {now.shape}")
        return now
    clock = int(pd.Timestamp.now(tz="UTC").value // 1_000_000)
    latest = np.full(len(histories), clock, dtype=np.int64)
    rows = histories.row_of_each_event()
    if len(rows):
        seen = np.full(len(histories), np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(seen, rows, histories.timestamps)
        latest = np.where(seen > np.iinfo(np.int64).min, seen, latest)
    return latest


def _top_per_user(batch: CandidateBatch, scores: np.ndarray, parts: dict[str, np.ndarray],
                  tiebreak: np.ndarray | None, k: int) -> list[Ranked]:
    keys = [batch.items, -scores, batch.user_rows] if tiebreak is None else [batch.items, -tiebreak, -scores, batch.user_rows]
    order = np.lexsort(keys)
    bounds = np.searchsorted(batch.user_rows[order], np.arange(batch.n_users + 1))
    answers = []
    for u in range(batch.n_users):
        chosen = order[bounds[u]:bounds[u + 1]][:k]
        names = list(parts)
        columns = np.column_stack([parts[name][chosen] for name in names]) if names else np.zeros((len(chosen), 0))
        answers.append(Ranked(RankedList(batch.items[chosen], scores[chosen]),
                              [{name: float(v) for name, v in zip(names, row, strict=True)} for row in columns]))
    return answers
