"""Peer libraries' models wrapped as shoprec Recommenders, so that the runner scores them exactly as it
scores shoprec's own (same users, same histories, same exclusions, same top-k and tie rule, same
metric code).

Benchmark-only: these classes are not in the package registry. Every peer trains on the train
side's users x items matrix of summed event weights (`history_matrix`, the input the contract
gives shoprec's models) and answers a batch of request histories through the library itself:

- implicit ALS: `recommend(..., recalculate_user=True)`, implicit's own fold-in (a least-squares
  solve against the learned item factors), as shoprec's iALS answers a history;
- implicit BPR has no fold-in: a user whose history is exactly one it trained on (every
  evaluated user's history is their train history) gets their learned factors; any other history,
  an empty one included, gets implicit's answer for a user without data (zero factors with the
  bias column at 1, i.e. items ranked by their learned bias);
- implicit item-kNN (cosine, or BM25): `recommend(...)` on the history row;
- cornac EASE: `history @ B` with cornac's learned B, which for a trained user is what cornac's
  own `score(user)` computes (`U[user] @ B`); cornac's `posB` clipping is off, so it is Steck's EASE;
- cornac MostPop: its item counts (users per item), the same for everyone.

Items the library never saw in training score 0, as they would in the library's own maths.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.errors import ConfigError
from shoprec.models.base import Recommender


def _need(module: str, install: str) -> Any:
    """Import a peer library, or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"this peer needs {install}: pip install 'shoprec[bench]'") from exc


def _columns(scores: np.ndarray, items: np.ndarray | None) -> np.ndarray:
    return scores if items is None else scores[:, items]


def _scatter(ids: np.ndarray, values: np.ndarray, n_items: int) -> np.ndarray:
    """Dense users x items scores from per-user (ids, values) lists; unreturned items score 0."""
    ids, values = np.atleast_2d(ids), np.atleast_2d(values)
    dense = np.zeros((len(ids), n_items), dtype=np.float32)
    rows = np.broadcast_to(np.arange(len(ids))[:, None], ids.shape)
    valid = ids >= 0  # implicit pads short lists with -1
    dense[rows[valid], ids[valid]] = values[valid]
    return dense


def _history_signature(histories: Histories, u: int) -> bytes:
    start, end = histories.indptr[u], histories.indptr[u + 1]
    return b"".join(a[start:end].tobytes() for a in (histories.items, histories.event_types, histories.timestamps))


class ImplicitALS(Recommender):
    """implicit's AlternatingLeastSquares (CPU), histories folded in with `recalculate_user`."""

    def __init__(self, *, factors: int = 64, regularization: float = 0.01, alpha: float = 1.0,
                 iterations: int = 15, seed: int = 0) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.seed = seed

    def _fit(self, dataset: Dataset) -> None:
        als = _need("implicit.cpu.als", "implicit")
        with threadpool_limits(1, "blas"):  # implicit's advice: its own threads, single-threaded BLAS
            self.model_ = als.AlternatingLeastSquares(factors=self.factors, regularization=self.regularization,
                                                      alpha=self.alpha, iterations=self.iterations, random_state=self.seed)
            self.model_.fit(self.history_matrix(dataset.histories()).astype(np.float32), show_progress=False)

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        rows = self.history_matrix(histories).astype(np.float32)
        with threadpool_limits(1, "blas"):
            ids, values = self.model_.recommend(np.arange(len(histories)), rows, N=self.n_items_,
                                                filter_already_liked_items=False, recalculate_user=True)
        return _columns(_scatter(ids, values, self.n_items_), items)


class ImplicitBPR(Recommender):
    """implicit's BayesianPersonalizedRanking (CPU); a trained user is recognised by their history."""

    def __init__(self, *, factors: int = 64, learning_rate: float = 0.01, regularization: float = 0.01,
                 iterations: int = 100, seed: int = 0) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.seed = seed

    def _fit(self, dataset: Dataset) -> None:
        bpr = _need("implicit.cpu.bpr", "implicit")
        self.model_ = bpr.BayesianPersonalizedRanking(factors=self.factors, learning_rate=self.learning_rate,
                                                      regularization=self.regularization,
                                                      iterations=self.iterations, random_state=self.seed)
        histories = dataset.histories()
        with threadpool_limits(1, "blas"):
            self.model_.fit(self.history_matrix(histories).astype(np.float32), show_progress=False)
        self.known_users_ = {_history_signature(histories, u): u for u in range(len(histories))
                             if histories.indptr[u + 1] > histories.indptr[u]}

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        factors = self.model_.user_factors
        no_data = np.zeros(factors.shape[1], dtype=factors.dtype)
        no_data[-1] = 1.0  # implicit's user without data: zero factors, bias column 1
        users = [self.known_users_.get(_history_signature(histories, u)) for u in range(len(histories))]
        vectors = np.stack([no_data if u is None else factors[u] for u in users]) if users else no_data[None, :][:0]
        return _columns(np.asarray(vectors @ self.model_.item_factors.T, dtype=np.float32), items)


class ImplicitItemKNN(Recommender):
    """implicit's item-item recommender: cosine (CosineRecommender) or BM25 (BM25Recommender)."""

    def __init__(self, *, neighbours: int = 20, weighting: str = "cosine", k1: float = 1.2, b: float = 0.75) -> None:
        self.neighbours = neighbours
        self.weighting = weighting
        self.k1 = k1
        self.b = b

    def _check_params(self) -> None:
        if self.weighting not in ("cosine", "bm25"):
            raise ConfigError(f"weighting must be 'cosine' or 'bm25', got {self.weighting!r}")

    def _fit(self, dataset: Dataset) -> None:
        nn = _need("implicit.nearest_neighbours", "implicit")
        self.model_ = (nn.CosineRecommender(K=self.neighbours) if self.weighting == "cosine"
                       else nn.BM25Recommender(K=self.neighbours, K1=self.k1, B=self.b))
        self.model_.fit(self.history_matrix(dataset.histories()).astype(np.float32), show_progress=False)

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        rows = sp.csr_matrix(self.history_matrix(histories).astype(np.float32))
        if not len(histories):
            return np.zeros((0, self.n_items_ if items is None else len(items)), dtype=np.float32)
        ids, values = self.model_.recommend(np.arange(len(histories)), rows, N=self.n_items_,
                                            filter_already_liked_items=False)
        return _columns(_scatter(ids, values, self.n_items_), items)


def _cornac_train_set(matrix: sp.csr_matrix) -> Any:
    """A cornac Dataset holding `matrix`'s non-zero cells (user and item indices as raw ids)."""
    cornac_data = _need("cornac.data", "cornac")
    coo = matrix.tocoo()
    triples = list(zip(coo.row.astype(str), coo.col.astype(str), coo.data.astype(float)))
    return cornac_data.Dataset.from_uir(triples, seed=0)


def _known_items(train_set: Any) -> np.ndarray:
    """Our item index of each of cornac's item columns, in cornac's order."""
    known = np.empty(len(train_set.iid_map), dtype=np.int64)
    for raw, column in train_set.iid_map.items():
        known[column] = int(raw)
    return known


class CornacEASE(Recommender):
    """cornac's EASE (Steck 2019); `lamb` is the L2 weight on the item-item matrix."""

    def __init__(self, *, lamb: float = 500.0, pos_b: bool = False) -> None:
        self.lamb = lamb
        self.pos_b = pos_b

    def _fit(self, dataset: Dataset) -> None:
        models = _need("cornac.models", "cornac")
        train_set = _cornac_train_set(self.history_matrix(dataset.histories()))
        self.model_ = models.EASE(lamb=self.lamb, posB=self.pos_b, verbose=False, seed=0).fit(train_set)
        self.known_items_ = _known_items(train_set)

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        rows = self.history_matrix(histories)[:, self.known_items_]  # in cornac's column order
        scores = np.zeros((len(histories), self.n_items_), dtype=np.float32)
        scores[:, self.known_items_] = np.asarray(rows @ self.model_.B, dtype=np.float32)
        return _columns(scores, items)


class CornacMostPop(Recommender):
    """cornac's MostPop: items ranked by how many training users interacted with them."""

    personalised = False

    def _fit(self, dataset: Dataset) -> None:
        models = _need("cornac.models", "cornac")
        train_set = _cornac_train_set(self.history_matrix(dataset.histories()))
        model = models.MostPop().fit(train_set)
        self.item_scores_ = np.zeros(self.n_items_, dtype=np.float32)
        self.item_scores_[_known_items(train_set)] = model.item_pop

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        row = self.item_scores_ if items is None else self.item_scores_[items]
        return np.tile(row, (len(histories), 1))


PEERS: dict[str, type[Recommender]] = {
    "implicit_als": ImplicitALS,
    "implicit_bpr": ImplicitBPR,
    "implicit_itemknn": ImplicitItemKNN,
    "implicit_itemknn_bm25": ImplicitItemKNN,
    "cornac_ease": CornacEASE,
    "cornac_mostpop": CornacMostPop,
}
# Peer-name presets (like the registry's variants).
PEER_PRESETS: dict[str, dict[str, Any]] = {"implicit_itemknn_bm25": {"weighting": "bm25"}}
# The shoprec model each peer is compared with, and which of the twin's hyperparameters feeds each
# of the peer's (the first of the listed names the twin has): same factors, regularisation, ...
# The libraries' scales can differ (e.g. how alpha enters the confidence), which the report notes.
TWINS: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "implicit_als": ("ials", {
        "factors": ("factors", "n_factors", "rank", "dim"),
        "regularization": ("regularization", "regularisation", "reg", "l2", "lambda_"),
        "alpha": ("alpha",),
        "iterations": ("iterations", "n_iterations", "epochs"),
        "seed": ("seed", "random_state")}),
    "implicit_bpr": ("bpr", {
        "factors": ("factors", "n_factors", "rank", "dim"),
        "learning_rate": ("learning_rate", "lr"),
        "regularization": ("regularization", "regularisation", "reg", "l2"),
        "iterations": ("iterations", "n_iterations", "epochs"),
        "seed": ("seed", "random_state")}),
    "implicit_itemknn": ("itemknn", {"neighbours": ("neighbours", "neighbors", "n_neighbours", "n_neighbors", "k", "top_k")}),
    "implicit_itemknn_bm25": ("itemknn_bm25", {
        "neighbours": ("neighbours", "neighbors", "n_neighbours", "n_neighbors", "k", "top_k"),
        "k1": ("k1", "bm25_k1"), "b": ("b", "bm25_b")}),
    "cornac_ease": ("ease", {"lamb": ("l2", "lamb", "lambda_", "lam", "regularization", "regularisation", "reg")}),
    "cornac_mostpop": ("popularity", {}),
}


def peer_params(peer: str, twin_params: dict[str, Any] | None) -> dict[str, Any]:
    """The peer's hyperparameters: its preset, then the twin's corresponding values where it has them."""
    params = dict(PEER_PRESETS.get(peer, {}))
    for target, aliases in TWINS[peer][1].items():
        for alias in aliases:
            if twin_params is not None and twin_params.get(alias) is not None:
                params[target] = twin_params[alias]
                break
    return params


def create_peer(peer: str, **params: Any) -> Recommender:
    """A new, unfitted peer model by name."""
    if peer not in PEERS:
        raise ConfigError(f"unknown peer {peer!r}, expected one of {', '.join(PEERS)}")
    return PEERS[peer](**{**PEER_PRESETS.get(peer, {}), **params})
