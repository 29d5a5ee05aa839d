"""Search quality metrics on graded judgments, as the project's search protocol defines them.

- NDCG@k: gain = relevance - 1 (so "irrelevant" = 1 gains nothing), discount log2(rank + 1),
  an unjudged item gains 0, the ideal DCG is that of the query's judged items sorted by gain. A
  query whose judged items all gain 0 has no ideal and is left out (None).
- recall@k: the share of the query's items with relevance >= 2.33 found in the first k; a query
  with no such item is left out (None).
(shoprec.evaluation.metrics holds the recommendation metrics, on binary relevance.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

GAIN_OFFSET = 1.0
RELEVANT_FROM = 2.33
_EPS = 1e-9  # judgments such as 2.33 are stored rounded; compare with a tolerance


def gains(relevance: np.ndarray, offset: float = GAIN_OFFSET) -> np.ndarray:
    """relevance - offset, never below 0."""
    return np.maximum(np.asarray(relevance, dtype=np.float64) - offset, 0.0)


def dcg(gain: np.ndarray) -> float:
    """Sum of gain[i] / log2(i + 2) (rank i + 1)."""
    gain = np.asarray(gain, dtype=np.float64)
    return float((gain / np.log2(np.arange(2, len(gain) + 2))).sum())


def ndcg_at_k(ranked: Sequence[str], judged: Mapping[str, float], k: int = 10) -> float | None:
    """NDCG@k of one ranked list of item ids against the query's judgments (None: no ideal)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    ideal = dcg(np.sort(gains(np.fromiter(judged.values(), float, len(judged))))[::-1][:k])
    if ideal <= 0:
        return None
    got = gains(np.array([judged.get(item, GAIN_OFFSET) for item in list(ranked)[:k]], dtype=np.float64))
    return dcg(got) / ideal


def recall_at_k(ranked: Sequence[str], judged: Mapping[str, float], k: int = 100,
                relevant_from: float = RELEVANT_FROM) -> float | None:
    """Share of the items judged >= `relevant_from` in the first k (None: the query has none)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    relevant = {item for item, rel in judged.items() if rel >= relevant_from - _EPS}
    if not relevant:
        return None
    return len(relevant.intersection(list(ranked)[:k])) / len(relevant)


def percentile_ms(seconds: Sequence[float] | np.ndarray, q: float) -> float:
    """The q-th percentile (0-100, linear interpolation) of durations given in seconds, in ms."""
    values = np.asarray(seconds, dtype=np.float64)
    return float(np.percentile(values, q) * 1000.0) if len(values) else float("nan")
