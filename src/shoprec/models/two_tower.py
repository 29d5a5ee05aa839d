"""Two-tower network: an item tower over item content and id, a user tower over the history and the time.

Training turns every user's sequence into (history, item at t, time of t) examples and fits both
towers with an in-batch sampled softmax. After training the item tower is run once over the
catalogue (`item_vectors_`); a request runs only the user tower on the history and takes dot
products, so new events and new users need no retraining, and an item nobody touched is reached
through its content. See docs/models.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from shoprec import progress
from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.errors import ConfigError
from shoprec.models.base import Recommender
from shoprec.models.content import brand_tokens, category_tokens, item_texts, one_hot, price_bucket_tokens, tfidf_matrix
from shoprec.models.torch_utils import (
    EarlyStopping,
    embedding_bag_input,
    epoch_note,
    load_weights,
    save_weights,
    seeded,
    threads,
)
from shoprec.models.two_tower_nets import Towers
from shoprec.retrieval.embeddings import cached_item_vectors, with_constant_one

# Ranking cut-off of the validation metric that early stopping watches (NDCG@20), and at most how
# many users' last items are held out for it (a sample beyond that: enough to rank epochs).
VALIDATION_K = 20
MAX_VALIDATION_USERS = 10_000
# Share of training examples whose history is the user's other events from any time rather than
# the events just before the target (see docs/models.md: it trades next-item accuracy for taste).
BAG_SHARE = 0.5
# CPU threads for torch (see torch_utils.threads): the towers are small, one thread is fastest
# on a shared machine and keeps results identical from run to run.
TORCH_THREADS = 1
# Uniformly drawn catalogue items added to each batch's in-batch negatives, as a share of the
# batch: without them items that are rarely a target (new ones above all) are never pushed away.
UNIFORM_NEGATIVE_SHARE = 0.5


class TwoTowerRecommender(Recommender):
    """Item tower (text, category levels, brand, price bucket, item id -> MLP -> unit vector and a
    bias) and user tower (history pooled with event-type and learned recency weights, latest item,
    hour / weekday / month -> MLP -> unit vector); score = cosine / temperature + item bias.

    Trained with an in-batch softmax (plus uniform negatives), log-q corrected for popularity.
    Each user's last target is held out for validation; training stops when NDCG@20 on it has not
    improved for `patience` epochs and the best epoch's weights are restored (`best_epoch_`,
    `epochs_run_`, `validation_ndcg_`). An empty history gets the user tower's learned cold-start
    vector. Same seed, data and machine: identical weights.
    """

    tuning_space: ClassVar[dict[str, list[Any]]] = {"dim": [32, 64, 128], "temperature": [0.05, 0.1]}

    def __init__(
        self,
        *,
        dim: int = 64,
        epochs: int = 30,
        batch_size: int = 512,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-6,
        temperature: float = 0.05,
        max_history: int = 50,
        patience: int = 5,
        seed: int = 0,
        text_features: int = 2048,
    ) -> None:
        self.dim = dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.temperature = temperature
        self.max_history = max_history
        self.patience = patience
        self.seed = seed
        self.text_features = text_features

    def _check_params(self) -> None:
        minimum = {"dim": 1, "epochs": 1, "batch_size": 2, "max_history": 1, "patience": 1, "seed": 0,
                   "text_features": 1}
        for name, low in minimum.items():
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
        for name in ("learning_rate", "temperature"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
                raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")
        if not isinstance(self.weight_decay, (int, float)) or not np.isfinite(self.weight_decay) or self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be a finite number >= 0, got {self.weight_decay!r}")

    # ----------------------------------------------------------------- state
    def _learned_state(self) -> dict[str, Any]:
        # The torch module is saved by _save_extra in torch's own format, not by the base.
        return {k: v for k, v in super()._learned_state().items() if k != "towers_"}

    def _save_extra(self, directory: Path) -> None:
        save_weights(self.towers_, directory)

    def _load_extra(self, directory: Path) -> None:
        self.towers_ = self._build_towers()
        load_weights(self.towers_, directory)

    def _build_towers(self) -> Towers:
        return Towers(
            n_items=self.n_items_, n_text=self.item_text_.shape[1], n_categories=self.item_categories_.shape[1],
            n_brands=int(self.item_brands_.max(initial=0)), n_prices=int(self.item_prices_.max(initial=0)), dim=self.dim,
        )

    # ----------------------------------------------------------------- fitting
    def _fit(self, dataset: Dataset) -> None:
        items, n = dataset.items, dataset.n_items
        self.item_text_ = tfidf_matrix(item_texts(items), self.text_features).astype(np.float32)
        self.item_categories_ = one_hot(category_tokens(items), n).astype(np.float32)
        # Brand and price bucket as codes, 0 for none (one token per item at most).
        self.item_brands_ = _codes(one_hot(brand_tokens(items), n))
        self.item_prices_ = _codes(one_hot(price_bucket_tokens(items), n))
        sequences = _Sequences.from_histories(dataset.histories(), np.asarray(dataset.weights.weight_vector()), n)
        with seeded(self.seed, TORCH_THREADS):
            self.towers_ = self._build_towers()
            self._train(sequences, np.random.default_rng(self.seed))  # numpy draws batches and negatives
            self.towers_.eval()
            with torch.no_grad():
                self.item_vectors_ = self.towers_.items(self._item_inputs(np.arange(n))).numpy()

    def _item_inputs(self, rows: np.ndarray) -> dict[str, Any]:
        return {
            "ids": torch.from_numpy(rows.astype(np.int64)),
            "text": embedding_bag_input(self.item_text_, rows),
            "categories": embedding_bag_input(self.item_categories_, rows),
            "brands": torch.from_numpy(self.item_brands_[rows]),
            "prices": torch.from_numpy(self.item_prices_[rows]),
        }

    def _train(self, seqs: _Sequences, rng: np.random.Generator) -> None:
        train, valid = seqs.carve_validation(rng)
        self.epochs_run_, self.best_epoch_, self.validation_ndcg_ = 0, -1, []
        if not len(train):
            return
        counts = np.bincount(seqs.items[train], minlength=self.n_items_).astype(np.float64)
        batch = min(self.batch_size, len(train))
        n_uniform = int(UNIFORM_NEGATIVE_SHARE * batch)
        # log-q: a candidate's chance to be in the batch, as a target (by frequency) or a uniform draw.
        log_q = np.log(batch * counts / counts.sum() + n_uniform / self.n_items_).astype(np.float32)
        optimizer = torch.optim.Adam(self.towers_.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        stopper = EarlyStopping(self.patience)
        # one line per epoch, with its validation metric
        with progress.task("two_tower: training", total=self.epochs, unit="epochs") as bar:
            for epoch in range(self.epochs):
                self.towers_.train()
                order = rng.permutation(train)
                for start in range(0, len(order) - batch + 1, batch):  # full batches: a stable softmax size
                    loss = self._batch_loss(seqs, order[start:start + batch], rng, n_uniform, log_q)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                self.epochs_run_ = epoch + 1
                if not len(valid):
                    bar.step()
                    continue
                self.validation_ndcg_.append(self._validation_ndcg(seqs, valid))
                stop = stopper.update(self.validation_ndcg_[-1], self.towers_, epoch)
                bar.step(epoch_note(self.validation_ndcg_[-1], VALIDATION_K, stopper, stop))
                if stop:
                    break
        if len(valid):
            stopper.restore(self.towers_)
            self.best_epoch_ = stopper.best_epoch

    def _batch_loss(self, seqs: _Sequences, examples: np.ndarray, rng: np.random.Generator, n_uniform: int,
                    log_q: np.ndarray) -> torch.Tensor:
        history, weights = seqs.before(examples, self.max_history)
        # Some examples read the user's other events from any time instead of the ones just before:
        # the model learns the whole taste as well as what comes next.
        bag = rng.random(len(examples)) < BAG_SHARE
        if bag.any():
            history[bag], weights[bag] = seqs.others(examples[bag], self.max_history, rng)
        targets = seqs.items[examples]
        candidates = np.concatenate([targets, rng.integers(0, self.n_items_, n_uniform)])
        known = history >= 0
        # The item tower runs once per distinct item of the batch (histories and candidates).
        unique, inverse = np.unique(np.concatenate([history[known], candidates]), return_inverse=True)
        vectors = self.towers_.items(self._item_inputs(unique))
        rows = np.full(history.shape, len(unique))  # the zero row appended below pads
        rows[known] = inverse[: known.sum()]
        padded = torch.cat([vectors, vectors.new_zeros(1, vectors.shape[1])])
        times = np.where(known.any(axis=1), seqs.timestamps[examples], -1)
        users = self.towers_.users(padded[:, :-1], torch.from_numpy(rows), torch.from_numpy(weights), _context(times))
        logits = _scores(users, vectors[torch.from_numpy(inverse[known.sum():])], self.temperature)
        logits = logits - torch.from_numpy(log_q[candidates])
        # Another copy of a user's own target is not a negative for them.
        same = torch.from_numpy(candidates[None, :] == targets[:, None])
        same.fill_diagonal_(False)
        return F.cross_entropy(logits.masked_fill(same, float("-inf")), torch.arange(len(targets)))

    def _validation_ndcg(self, seqs: _Sequences, valid: np.ndarray) -> float:
        """NDCG@20 of the held-out targets, each user's earlier items excluded (as evaluation does)."""
        self.towers_.eval()
        with torch.no_grad():
            vectors = self.towers_.items(self._item_inputs(np.arange(self.n_items_))).numpy()
        gains = []
        for chunk in np.array_split(valid, -(-len(valid) // 1000)):  # users x items blocks of ~1000 rows
            history, weights = seqs.before(chunk, self.max_history)
            scores = _scores(self._user_vectors(vectors, history, weights, seqs.timestamps[chunk]), vectors,
                             self.temperature)
            starts = seqs.starts_of(chunk)
            earlier = np.repeat(starts - np.r_[0, np.cumsum(chunk - starts)[:-1]], chunk - starts)
            earlier += np.arange(len(earlier))  # every position from each user's start to the target
            scores[np.repeat(np.arange(len(chunk)), chunk - starts), seqs.items[earlier]] = -np.inf
            ranks = (scores > scores[np.arange(len(chunk)), seqs.items[chunk]][:, None]).sum(axis=1)
            gains.append(np.where(ranks < VALIDATION_K, 1.0 / np.log2(ranks + 2.0), 0.0))
        return float(np.concatenate(gains).mean())

    def _user_vectors(self, item_vectors: np.ndarray, history: np.ndarray, weights: np.ndarray,
                      times: np.ndarray) -> np.ndarray:
        self.towers_.eval()
        padded = np.vstack([item_vectors[:, :-1], np.zeros((1, item_vectors.shape[1] - 1), np.float32)])
        with torch.no_grad(), threads(TORCH_THREADS):
            rows = np.where(history >= 0, history, len(item_vectors))
            users = self.towers_.users(torch.from_numpy(padded), torch.from_numpy(rows), torch.from_numpy(weights),
                                       _context(times))
        return users.numpy()

    # ----------------------------------------------------------------- scoring
    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        users = self._tower_users(histories)
        return _scores(users, self.item_vectors_ if items is None else self.item_vectors_[items], self.temperature)

    def _tower_users(self, histories: Histories) -> np.ndarray:
        """The user tower's unit vector of each history."""
        seqs = _Sequences.from_histories(histories, np.asarray(self.weights_.weight_vector()), self.n_items_)
        starts, ends = seqs.indptr[:-1], seqs.indptr[1:]
        history, weights = seqs.before(ends, self.max_history, starts)
        # The request is taken to happen at the user's latest event (the contract carries no clock);
        # an empty history has no time and gets the "unknown" context, as in training.
        latest = np.full(len(histories), -1, dtype=np.int64)
        latest[ends > starts] = seqs.timestamps[ends[ends > starts] - 1]
        return self._user_vectors(self.item_vectors_, history, weights, latest)

    # ----------------------------------------------------------------- embedding protocol
    def item_vectors(self) -> np.ndarray:
        """The item tower's unit vectors with each item's bias as the last dimension, items x (dim + 1)
        float32, read-only (the learned `item_vectors_`)."""
        self._check_fitted()
        return cached_item_vectors(self, lambda: self.item_vectors_)

    def user_vectors(self, histories: Histories) -> np.ndarray:
        """The user tower's vector divided by the temperature, and a constant 1 for the item bias:
        `user_vectors(h) @ item_vectors().T` equals `score(h)`."""
        self._check_fitted()
        return with_constant_one(self._tower_users(histories) / np.float32(self.temperature))


def _scores(users: Any, items: Any, temperature: float) -> Any:
    """Users x items: cosine / temperature plus the item's bias (the last column of an item vector)."""
    return users @ items[:, :-1].T / temperature + items[:, -1]


def _context(times: np.ndarray) -> torch.Tensor:
    """Hour (1-24), weekday (1-7) and month (1-12) of each time (UTC), all 0 where the time is -1."""
    known = times >= 0
    stamps = pd.to_datetime(np.where(known, times, 0), unit="ms")
    codes = np.stack([stamps.hour + 1, stamps.day_of_week + 1, stamps.month], axis=1).astype(np.int64)
    return torch.from_numpy(np.where(known[:, None], codes, 0))


def _codes(matrix: sp.csr_matrix) -> np.ndarray:
    """One-hot rows -> 1-based column codes, 0 for an empty row."""
    codes = np.zeros(matrix.shape[0], dtype=np.int64)
    rows, cols = matrix.nonzero()
    codes[rows] = cols + 1
    return codes


class _Sequences:
    """Users' usable events (positive weight, known item) flattened oldest first, user u owning
    `indptr[u]:indptr[u+1]`; a training example is the position of its target event."""

    def __init__(self, indptr: np.ndarray, items: np.ndarray, weights: np.ndarray, timestamps: np.ndarray) -> None:
        self.indptr, self.items, self.weights, self.timestamps = indptr, items, weights, timestamps
        self.user_of = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))

    @classmethod
    def from_histories(cls, histories: Histories, type_weights: np.ndarray, n_items: int) -> _Sequences:
        weights = type_weights[histories.event_types.astype(np.int64)].astype(np.float32)
        keep = (weights > 0) & (histories.items >= 0) & (histories.items < n_items)
        rows = histories.row_of_each_event()[keep]
        indptr = np.searchsorted(rows, np.arange(len(histories) + 1)).astype(np.int64)
        return cls(indptr, histories.items[keep].astype(np.int64), weights[keep], histories.timestamps[keep])

    def starts_of(self, positions: np.ndarray) -> np.ndarray:
        return self.indptr[self.user_of[positions]]

    def carve_validation(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation examples. An example is a user's first event on an item (a
        repeat is excluded from recommendations, so not worth learning); each user with at least
        3 examples gives their last one to validation (up to MAX_VALIDATION_USERS users)."""
        keys = self.user_of * (int(self.items.max(initial=0)) + 1) + self.items
        examples = np.sort(np.unique(keys, return_index=True)[1])
        users = self.user_of[examples]
        last = np.flatnonzero(np.r_[users[1:] != users[:-1], True]) if len(examples) else np.zeros(0, np.int64)
        per_user = np.bincount(users, minlength=len(self.indptr) - 1)
        valid = examples[last][per_user[users[last]] >= 3]
        if len(valid) > MAX_VALIDATION_USERS:
            valid = np.sort(rng.choice(valid, MAX_VALIDATION_USERS, replace=False))
        return np.setdiff1d(examples, valid), valid

    def before(self, positions: np.ndarray, length: int,
               starts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Items (-1 padded, latest last) and weights of the `length` events before each position
        (`starts`: where each position's user begins, when the position is past the sequence)."""
        starts = self.starts_of(positions) if starts is None else starts
        index = positions[:, None] - np.arange(length, 0, -1)[None, :]
        valid = index >= starts[:, None]
        safe = np.where(valid, index, 0)
        if not len(self.items):
            return np.full(index.shape, -1), np.zeros(index.shape, np.float32)
        return np.where(valid, self.items[safe], -1), np.where(valid, self.weights[safe], 0.0).astype(np.float32)

    def others(self, positions: np.ndarray, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Like `before`, from the user's events on other items at any time: all of them when they fit
        in `length`, else `length` drawn uniformly (with replacement), in time order."""
        starts = self.starts_of(positions)
        n_other = self.indptr[self.user_of[positions] + 1] - starts - 1
        every = np.arange(length)[None, :] - (length - n_other)[:, None]  # right-aligned, < 0 pads
        drawn = np.sort((rng.random((len(positions), length)) * np.maximum(n_other, 1)[:, None]).astype(np.int64), axis=1)
        index = np.where((n_other <= length)[:, None], every, drawn)
        valid = index >= 0
        index = starts[:, None] + index
        index = np.where(valid, index + (index >= positions[:, None]), 0)  # skip the target itself
        # Nor its other events (a later cart or purchase of the item): the history must not hold the answer.
        valid &= self.items[index] != self.items[positions][:, None]
        return np.where(valid, self.items[index], -1), np.where(valid, self.weights[index], 0.0).astype(np.float32)
