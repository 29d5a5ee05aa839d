"""Fusion: several ranked lists for one request combined into one.

`gather` takes each source's ranked list (a model's recommendations, a search engine's hits) and
builds the candidate table: the union of the items, with every source's score and rank (NaN
where a source did not return the item). `fuse` turns the table into one ranked list by one of
the methods below. Recommendations and search both use this module.

Methods (see docs/fusion.md):

- `average`: the mean of the sources' normalised scores; an item a source did not return gets
  that source's floor (0 for min-max and rank normalisation, the source's lowest z for z-score).
- `weighted`: the same with per-source weights (learned on a validation split, see
  `shoprec.ranking.weights`).
- `borda`: Borda count: a source of n candidates gives its first item n points, its last 1,
  an item it did not return 0; points summed (weighted when weights are given).
- `vote`: majority of top-k memberships: the number of sources that put the item in their
  first `vote_k`; ties broken by Borda points, then by item index.
- `rrf`: reciprocal rank fusion, sum of w / (rrf_k + rank), rrf_k = 60 by default (Cormack et
  al., 2009).

Every method breaks remaining ties by the lower item index, so answers are deterministic. A
non-finite score from a source is rejected with an error naming the source and the item: a NaN
would otherwise silently sort anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from shoprec.errors import ShoprecError
from shoprec.models.ranked import RankedList

FUSION_METHODS = ("average", "weighted", "borda", "vote", "rrf")
NORMALISATIONS = ("minmax", "zscore", "rank")
DEFAULT_RRF_K = 60


class FusionError(ShoprecError):
    """A source handed fusion something it cannot combine (a NaN or infinite score, a repeated item)."""


@dataclass(frozen=True)
class Candidates:
    """The union of several sources' lists for one request.

    `scores[i, j]` and `ranks[i, j]` (1-based) are what source j said about `items[i]`, NaN when
    source j did not return it. `lengths[j]` is how many items source j returned.
    """

    items: np.ndarray  # int64 (n,)
    scores: np.ndarray  # float64 (n, m)
    ranks: np.ndarray  # float64 (n, m)
    sources: tuple[str, ...]
    lengths: np.ndarray  # int64 (m,)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def present(self) -> np.ndarray:
        """(n, m) booleans: whether source j returned item i."""
        return ~np.isnan(self.ranks)


def gather(lists: Mapping[str, RankedList]) -> Candidates:
    """The candidate table of `lists` (source name -> its ranked list, best first).

    Raises FusionError when a list holds a NaN or infinite score or repeats an item.
    """
    if not lists:
        raise FusionError("fusion needs at least one source list")
    sources = tuple(lists)
    for name, ranked in lists.items():
        bad = ~np.isfinite(ranked.scores)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise FusionError(
                f"source '{name}' gave item {int(ranked.items[first])} the score {float(ranked.scores[first])}; "
                "fusion takes finite scores only"
            )
        if len(np.unique(ranked.items)) != len(ranked.items):
            raise FusionError(f"source '{name}' returned an item twice; a ranked list names each item once")
    items = np.unique(np.concatenate([np.zeros(0, np.int64), *(r.items for r in lists.values())]))
    scores = np.full((len(items), len(sources)), np.nan)
    ranks = np.full((len(items), len(sources)), np.nan)
    for j, ranked in enumerate(lists.values()):
        rows = np.searchsorted(items, ranked.items)
        scores[rows, j] = ranked.scores
        ranks[rows, j] = np.arange(1, len(ranked) + 1)
    lengths = np.array([len(r) for r in lists.values()], dtype=np.int64)
    return Candidates(items, scores, ranks, sources, lengths)


def normalise(scores: np.ndarray, method: str = "minmax") -> np.ndarray:
    """Each column of `scores` mapped to a common scale; NaN (absent) stays NaN.

    minmax: (s - min) / (max - min), 1 when every present score is equal; zscore: (s - mean) /
    std, 0 when std is 0; rank: (n - rank + 1) / n by descending score, so the best is 1.
    """
    if method not in NORMALISATIONS:
        raise FusionError(f"normalisation must be one of {', '.join(NORMALISATIONS)}, got {method!r}")
    scores = np.asarray(scores, dtype=np.float64)
    single = scores.ndim == 1
    matrix = scores[:, None] if single else scores
    out = np.full(matrix.shape, np.nan)
    for j in range(matrix.shape[1]):
        column = matrix[:, j]
        present = ~np.isnan(column)
        values = column[present]
        if not len(values):
            continue
        if method == "minmax":
            span = values.max() - values.min()
            out[present, j] = (values - values.min()) / span if span > 0 else 1.0
        elif method == "zscore":
            std = values.std()
            out[present, j] = (values - values.mean()) / std if std > 0 else 0.0
        else:
            order = np.argsort(-values, kind="stable")
            ranks = np.empty(len(values))
            ranks[order] = np.arange(1, len(values) + 1)
            out[present, j] = (len(values) - ranks + 1) / len(values)
    return out[:, 0] if single else out


def fuse(candidates: Candidates, method: str, *, weights: Mapping[str, float] | None = None,
         rrf_k: int = DEFAULT_RRF_K, normalisation: str = "minmax", vote_k: int = 10) -> RankedList:
    """All candidates ranked by `method` (one of FUSION_METHODS), best first.

    `weights` (source -> non-negative weight) is required by `weighted` and optional for the
    others (default: every source 1). Sources missing from `weights` get 0.
    """
    parts = contributions(candidates, method, weights=weights, rrf_k=rrf_k, normalisation=normalisation, vote_k=vote_k)
    score = parts.sum(axis=1)
    if method == "vote":  # ties in votes go to Borda points
        points = borda_points(candidates) @ source_weights(candidates.sources, weights)
        order = np.lexsort((candidates.items, -points, -score))
    else:
        order = np.lexsort((candidates.items, -score))
    return RankedList(candidates.items[order], score[order])


def contributions(candidates: Candidates, method: str, *, weights: Mapping[str, float] | None = None,
                  rrf_k: int = DEFAULT_RRF_K, normalisation: str = "minmax", vote_k: int = 10) -> np.ndarray:
    """(n, m): what each source adds to each candidate's fused score; a row sums to the score.

    This is what explanations report as "how much each model contributed".
    """
    if method not in FUSION_METHODS:
        raise FusionError(f"fusion method must be one of {', '.join(FUSION_METHODS)}, got {method!r}")
    if method == "weighted" and weights is None:
        raise FusionError("the weighted method needs weights (learn them with shoprec.ranking.weights.learn_weights)")
    if rrf_k < 0:
        raise FusionError(f"rrf_k must be >= 0, got {rrf_k}")
    if vote_k < 1:
        raise FusionError(f"vote_k must be >= 1, got {vote_k}")
    w = source_weights(candidates.sources, weights)
    if method in ("average", "weighted"):
        total = w.sum()
        return filled_normalised(candidates, normalisation) * (w / total if total > 0 else w)
    if method == "borda":
        return borda_points(candidates) * w
    if method == "rrf":
        return np.where(candidates.present, 1.0 / (rrf_k + np.nan_to_num(candidates.ranks, nan=0.0)), 0.0) * w
    return (np.nan_to_num(candidates.ranks, nan=np.inf) <= vote_k).astype(np.float64) * w


def source_weights(sources: tuple[str, ...], weights: Mapping[str, float] | None) -> np.ndarray:
    """The weight of each source, in `sources` order (1 each when `weights` is None)."""
    if weights is None:
        return np.ones(len(sources))
    unknown = sorted(set(weights) - set(sources))
    if unknown:
        raise FusionError(f"weights name {unknown[0]!r}, which is not a source here ({', '.join(sources)})")
    w = np.array([float(weights.get(name, 0.0)) for name in sources])
    if not np.isfinite(w).all() or (w < 0).any():
        raise FusionError(f"weights must be finite and >= 0, got {dict(zip(sources, w.tolist()))}")
    return w


def filled_normalised(candidates: Candidates, normalisation: str) -> np.ndarray:
    """Normalised scores with each source's floor where it gave no score (see module doc).

    Candidates gathered from lists have a score exactly where they have a rank; candidates from
    `shoprec.ranking.candidates` carry the model's score even outside its top-N.
    """
    normalised = normalise(candidates.scores, normalisation)
    scored = ~np.isnan(normalised)
    if normalisation == "zscore":
        lowest = np.min(np.where(scored, normalised, np.inf), axis=0, initial=np.inf)
        floors = np.where(np.isfinite(lowest), lowest, 0.0)
    else:
        floors = np.zeros(normalised.shape[1])
    return np.where(scored, normalised, floors)


def borda_points(candidates: Candidates) -> np.ndarray:
    """(n, m) Borda points: a source's first item gets its list length, its last 1, absent 0."""
    return np.where(candidates.present, candidates.lengths[None, :] - np.nan_to_num(candidates.ranks, nan=0.0) + 1, 0.0)
