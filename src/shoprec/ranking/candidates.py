"""Candidate generation: the union of several models' top-N for a batch of users.

Each candidate carries every model's score (read from the model's full score row, so a model
that did not put the item in its top-N still says how much it likes it) and its rank in that
model's top-N (NaN outside it). Fusion methods that combine lists read the ranks; the learned
ranker reads both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from shoprec.data.history import Histories
from shoprec.models.base import Recommender, mask_excluded, top_k
from shoprec.models.ranked import RankedList
from shoprec.ranking.fusion import Candidates, FusionError
from shoprec.retrieval.ann import AnnIndex, retrieve
from shoprec.retrieval.embeddings import is_embedding_model

DEFAULT_N_CANDIDATES = 100
# Members' users x items float32 score blocks held at once are capped at about this many cells.
MAX_BATCH_CELLS = 30_000_000


@dataclass(frozen=True)
class CandidateBatch:
    """Candidates of a batch of users as one flat table, grouped by user (rows of a user are contiguous).

    `user_rows[i]` is the row in the batch of the user candidate i belongs to; `scores[i, j]` is
    member j's score of `items[i]` for that user (NaN where the member scored it -inf), `ranks[i, j]`
    its 1-based rank in member j's top-N (NaN outside); `lengths[u, j]` how many items member j
    returned for user u.
    """

    user_rows: np.ndarray  # int64 (N,)
    items: np.ndarray  # int64 (N,)
    scores: np.ndarray  # float64 (N, m)
    ranks: np.ndarray  # float64 (N, m)
    lengths: np.ndarray  # int64 (n_users, m)
    sources: tuple[str, ...]

    @property
    def n_users(self) -> int:
        return len(self.lengths)

    def bounds(self) -> np.ndarray:
        """Start of each user's rows, with the end appended (len n_users + 1)."""
        return np.searchsorted(self.user_rows, np.arange(self.n_users + 1))

    def for_user(self, u: int) -> Candidates:
        """User u's candidates as the table `shoprec.ranking.fusion.fuse` takes (scores outside a
        member's top-N kept: score-based methods use them)."""
        lo, hi = self.bounds()[u:u + 2]
        return Candidates(self.items[lo:hi], self.scores[lo:hi], self.ranks[lo:hi], self.sources, self.lengths[u])


def generate(members: Mapping[str, Recommender], histories: Histories, n: int = DEFAULT_N_CANDIDATES, *,
             exclude: Sequence[np.ndarray] | None = None, allowed: np.ndarray | None = None,
             indexes: Mapping[str, AnnIndex] | None = None) -> CandidateBatch:
    """The union of each member's top `n` for every history (excluded items never appear).

    `allowed` (a boolean mask over items), when given, keeps only those items (stock, filters).
    A member that scores an item NaN or +inf is a broken model: FusionError names it. A member
    with an ANN index in `indexes` (an embedding model, shoprec.retrieval) finds its top `n` there
    and scores only the candidates, never the whole catalogue.
    """
    if not members:
        raise FusionError("candidate generation needs at least one member model")
    if n < 1:
        raise FusionError(f"the number of candidates per model must be >= 1, got {n}")
    n_items = _common_catalogue(members)
    batch = max(1, MAX_BATCH_CELLS // max(n_items * len(members), 1))
    parts = []
    for start in range(0, len(histories), batch):
        rows = np.arange(start, min(start + batch, len(histories)))
        chunk_exclude = None if exclude is None else [exclude[int(i)] for i in rows]
        parts.append(_generate_chunk(members, histories.select(rows), n, chunk_exclude, allowed, n_items, start,
                                     indexes or {}))
    return _concat(parts, tuple(members), len(histories))


def _generate_chunk(members: Mapping[str, Recommender], histories: Histories, n: int,
                    exclude: Sequence[np.ndarray] | None, allowed: np.ndarray | None, n_items: int,
                    offset: int, indexes: Mapping[str, AnnIndex]) -> CandidateBatch:
    columns = np.arange(n_items)
    full_scores: list[np.ndarray | None] = []  # None: an indexed member, scored at the candidates only
    lists_per_member = []
    for name, model in members.items():
        if name in indexes and is_embedding_model(model):
            lists_per_member.append(retrieve(model, histories, n, allowed=allowed, exclude=exclude, index=indexes[name]))
            full_scores.append(None)
            continue
        fixed = model.fixed_ranking()
        if fixed is not None:  # the same row for everyone (popularity): its ranking is walked, not recomputed
            row, order = fixed
            _check_finite(name, row[None, :], offset)
            full_scores.append(np.broadcast_to(row, (len(histories), n_items)))
            lists_per_member.append([_walk(row, order, allowed, None if exclude is None else exclude[u], n)
                                     for u in range(len(histories))])
            continue
        scores = model.score(histories)
        if not scores.flags.writeable:
            scores = scores.copy()
        _check_finite(name, scores, offset)
        if exclude is not None:
            mask_excluded(scores, columns, exclude)
        if allowed is not None:
            np.copyto(scores, -np.inf, where=~allowed[None, :])  # faster than boolean-index assignment
        full_scores.append(scores)
        lists_per_member.append(top_k(scores, columns, n))
    n_users, m = len(histories), len(members)
    names = list(members)
    keys_per_user = []
    for u in range(n_users):
        keys_per_user.append(np.unique(np.concatenate([lists[u].items for lists in lists_per_member])))
    counts = np.array([len(k) for k in keys_per_user], dtype=np.int64)
    user_rows = np.repeat(np.arange(n_users), counts)
    items = np.concatenate([np.zeros(0, np.int64), *keys_per_user])
    scores_out = np.empty((len(items), m))
    ranks_out = np.full((len(items), m), np.nan)
    lengths = np.zeros((n_users, m), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)])
    for j, (scores, lists) in enumerate(zip(full_scores, lists_per_member, strict=True)):
        if scores is None:
            column = _vector_scores(members[names[j]], histories, keys_per_user)
        else:
            column = scores[user_rows, items].astype(np.float64)
        scores_out[:, j] = np.where(np.isneginf(column), np.nan, column)
        for u, ranked in enumerate(lists):
            lengths[u, j] = len(ranked)
            positions = starts[u] + np.searchsorted(keys_per_user[u], ranked.items)
            ranks_out[positions, j] = np.arange(1, len(ranked) + 1)
    return CandidateBatch(user_rows + offset, items, scores_out, ranks_out, lengths, tuple(members))


def _vector_scores(model: Recommender, histories: Histories, keys_per_user: list[np.ndarray]) -> np.ndarray:
    """An embedding model's scores of each user's candidates (user vector . item vector), flat."""
    assert is_embedding_model(model)
    users, items = model.user_vectors(histories), model.item_vectors()
    parts = [items[keys] @ users[u] for u, keys in enumerate(keys_per_user)]
    return np.concatenate([np.zeros(0), *parts]).astype(np.float64)


def _check_finite(name: str, scores: np.ndarray, offset: int) -> None:
    highest = scores.max() if scores.size else 0.0  # NaN if any is NaN: one pass where all is well
    if np.isnan(highest) or highest == np.inf:
        broken = np.isnan(scores) | (scores == np.inf)
        row, item = (int(v) for v in np.argwhere(broken)[0])
        raise FusionError(f"model '{name}' scored item {item} {scores[row, item]} for user row {offset + row}; "
                          "fusion takes finite scores (or -inf for never) only")


def _walk(row: np.ndarray, order: np.ndarray, allowed: np.ndarray | None, exclude: np.ndarray | None,
          n: int) -> RankedList:
    """The first `n` items of `order` that are allowed, not excluded and finite: `top_k` of the masked
    row, found by reading the precomputed order a block at a time."""
    chosen: list[np.ndarray] = []
    found, start, block = 0, 0, max(4 * n, 1024)
    while found < n and start < len(order):
        items = order[start:start + block]
        keep = row[items] > -np.inf
        if allowed is not None:
            keep &= allowed[items]
        if exclude is not None and len(exclude):
            keep &= ~np.isin(items, exclude)
        chosen.append(items[keep][:n - found])
        found += len(chosen[-1])
        start += block
        block *= 2
    items = np.concatenate(chosen) if chosen else np.zeros(0, np.int64)
    return RankedList(items.astype(np.int64), row[items])


def _concat(parts: list[CandidateBatch], sources: tuple[str, ...], n_users: int) -> CandidateBatch:
    m = len(sources)
    if not parts:
        return CandidateBatch(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, m)), np.zeros((0, m)),
                              np.zeros((n_users, m), np.int64), sources)
    return CandidateBatch(
        np.concatenate([p.user_rows for p in parts]),
        np.concatenate([p.items for p in parts]),
        np.concatenate([p.scores for p in parts]),
        np.concatenate([p.ranks for p in parts]),
        np.concatenate([p.lengths for p in parts]),
        sources,
    )


def _common_catalogue(members: Mapping[str, Recommender]) -> int:
    sizes = {name: model.n_items_ for name, model in members.items()}
    if len(set(sizes.values())) != 1:
        raise FusionError(f"member models were trained on different catalogues: {sizes}")
    return next(iter(sizes.values()))
