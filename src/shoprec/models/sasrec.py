"""SASRec (Kang & McAuley, 2018): a causal transformer over each user's item sequence.

Training predicts the next item at every position of every user's sequence; serving reads the
history as it is at request time, so a new user or an event posted after training changes the
answer without a refit. The item embeddings are shared between the input and the output layer:
a history's score for item i is the last position's hidden state . embedding(i).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from shoprec import progress
from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.errors import ConfigError
from shoprec.models.base import Recommender
from shoprec.models.torch_utils import EarlyStopping, epoch_note, load_weights, save_weights, seeded
from shoprec.retrieval.embeddings import (
    cached,
    cached_item_vectors,
    fallback_scale,
    with_fallback_column,
    with_fallback_users,
)

LOSSES = ("softmax", "bce")
# Above this catalogue size a full softmax's users x items logits get too big for a CPU batch,
# so `negatives=None` switches to a softmax over this many sampled negatives.
FULL_SOFTMAX_MAX_ITEMS = 50_000
SAMPLED_NEGATIVES = 1_000
# Early stopping scores a sample of users, so an epoch's check stays cheap on a large shop.
MAX_VALIDATION_USERS = 10_000
VALIDATION_K = 10
# Scoring runs in blocks of at most this many users x items cells (about 80 MB of float32).
SCORE_CELLS = 20_000_000


class SASRecRecommender(Recommender):
    """Self-attentive sequential recommendation: the next item from the order of the last `max_len` items.

    - Sequences: each user's items, oldest first; events of types weighted 0 in the dataset's
      weight config (search, remove_from_cart) and items unknown to the model are dropped, and
      consecutive repeats of one item (a view, then a purchase of it) collapse into one step.
    - `loss="softmax"`: cross-entropy over the whole catalogue (`negatives=None`, up to
      FULL_SOFTMAX_MAX_ITEMS items) or over `negatives` items sampled per batch; `loss="bce"`:
      the paper's binary loss with `negatives` (default 1) sampled negatives per position.
    - `patience`: each user's last item is held out (when it is not a repeat) and training stops
      once NDCG@10 on it has not improved for `patience` epochs; the best epoch's weights are
      kept. `patience=None` trains all `epochs` on every item.
    - An empty history (or one with only dropped events) gets the items' training popularity.
    - `threads`: torch CPU threads (None: torch's default); fits with the same seed and thread
      count are identical.
    """

    tuning_space: ClassVar[dict[str, list[Any]]] = {"dim": [32, 64, 128], "dropout": [0.1, 0.2, 0.5]}

    def __init__(
        self, *, max_len: int = 50, dim: int = 64, heads: int = 2, blocks: int = 2, dropout: float = 0.2,
        epochs: int = 50, batch_size: int = 64, learning_rate: float = 5e-3, loss: str = "softmax",
        negatives: int | None = None, patience: int | None = 5, threads: int | None = None, seed: int = 0,
    ) -> None:
        self.max_len = max_len
        self.dim = dim
        self.heads = heads
        self.blocks = blocks
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.loss = loss
        self.negatives = negatives
        self.patience = patience
        self.threads = threads
        self.seed = seed

    def _check_params(self) -> None:
        for name in ("max_len", "dim", "heads", "blocks", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("negatives", "patience", "threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be >= 1 or None, got {value}")
        if self.dim % self.heads:
            raise ConfigError(f"dim must be a multiple of heads ({self.heads}), got {self.dim}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if not self.learning_rate > 0:
            raise ConfigError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.loss not in LOSSES:
            raise ConfigError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.seed < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed}")

    # ----------------------------------------------------------------- fitting
    def _fit(self, dataset: Dataset) -> None:
        indptr, items = _sequences(dataset.histories(), self._type_weights(), self.n_items_)
        self.item_popularity_ = np.bincount(items, minlength=self.n_items_).astype(np.float32)
        rng = np.random.default_rng(self.seed)
        held_out = _hold_out_last(indptr, items, self.max_len, rng) if self.patience else None
        validation = None
        if held_out is not None:
            indptr, items, validation = held_out
        inputs, targets = (torch.from_numpy(a) for a in _training_windows(indptr, items, self.max_len))
        with seeded(self.seed, self.threads) as generator:
            network = self._network()
            optimizer = torch.optim.Adam(network.parameters(), lr=self.learning_rate, betas=(0.9, 0.98))
            stopping = EarlyStopping(self.patience or self.epochs)
            # one line per epoch, with its validation metric
            with progress.task("sasrec: training", total=self.epochs, unit="epochs") as bar:
                for epoch in range(1, self.epochs + 1):
                    network.train()
                    for batch in torch.randperm(len(inputs), generator=generator).split(self.batch_size):
                        optimizer.zero_grad()
                        self._loss(network, inputs[batch], targets[batch], generator).backward()
                        optimizer.step()
                    if validation is None:
                        bar.step()
                        continue
                    network.eval()
                    ndcg = validation.ndcg(network)
                    stop = stopping.update(ndcg, network, epoch)
                    bar.step(epoch_note(ndcg, VALIDATION_K, stopping, stop))
                    if stop:
                        break
            stopping.restore(network)
        network.eval()
        self.network_ = network
        self.epochs_trained_ = epoch
        self.best_epoch_ = stopping.best_epoch if validation is not None else epoch
        self.validation_ndcg_ = stopping.best if validation is not None else None

    def _network(self) -> _SASRecNetwork:
        return _SASRecNetwork(self.n_items_, self.max_len, self.dim, self.heads, self.blocks, self.dropout)

    def _type_weights(self) -> np.ndarray:
        return np.asarray(self.weights_.weight_vector(), dtype=np.float64)

    def _loss(self, network: _SASRecNetwork, inputs: torch.Tensor, targets: torch.Tensor,
              generator: torch.Generator) -> torch.Tensor:
        present = targets > 0
        hidden, positives = network(inputs)[present], targets[present]
        table = network.item_embedding.weight
        if self.loss == "bce":
            negatives = torch.randint(1, self.n_items_ + 1, (len(positives), self.negatives or 1), generator=generator)
            positive_logits = (hidden * table[positives]).sum(-1)
            negative_logits = torch.einsum("nd,nkd->nk", hidden, table[negatives])
            return (F.binary_cross_entropy_with_logits(positive_logits, torch.ones_like(positive_logits))
                    + F.binary_cross_entropy_with_logits(negative_logits, torch.zeros_like(negative_logits)))
        sampled = self.negatives or (SAMPLED_NEGATIVES if self.n_items_ > FULL_SOFTMAX_MAX_ITEMS else None)
        if sampled is None:
            return F.cross_entropy(hidden @ table[1:].T, positives - 1)
        # One set of uniform negatives for the whole batch; a negative that is the position's own
        # target is masked rather than counted against it.
        negatives = torch.randint(1, self.n_items_ + 1, (sampled,), generator=generator)
        negative_logits = (hidden @ table[negatives].T).masked_fill(negatives[None, :] == positives[:, None], -torch.inf)
        logits = torch.cat([(hidden * table[positives]).sum(-1, keepdim=True), negative_logits], dim=1)
        return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.int64))

    # ----------------------------------------------------------------- scoring
    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        indptr, sequence_items = _sequences(histories, self._type_weights(), self.n_items_)
        windows = _last_windows(indptr, sequence_items, self.max_len)
        scores = np.tile(self.item_popularity_, (len(histories), 1))
        active = np.flatnonzero(np.diff(indptr) > 0)
        block = _block_rows(self.n_items_)
        # Deterministic kernels and the configured thread count, as in training.
        with seeded(self.seed, self.threads), torch.no_grad():
            for start in range(0, len(active), block):
                rows = active[start:start + block]
                scores[rows] = self.network_.next_item_scores(torch.from_numpy(windows[rows])).numpy()
        # The whole catalogue is always scored, so a candidate subset sees exactly the same numbers.
        return scores if items is None else scores[:, items]

    # ----------------------------------------------------------------- embedding protocol
    def item_vectors(self) -> np.ndarray:
        """The (output) item embeddings plus the popularity fallback dimension
        (shoprec.retrieval.embeddings), items x (dim + 1) float32, read-only."""
        self._check_fitted()
        return cached_item_vectors(self, lambda: with_fallback_column(self._item_table(), self.item_popularity_))

    def user_vectors(self, histories: Histories) -> np.ndarray:
        """The last position's hidden state plus the fallback dimension: `user_vectors(h) @
        item_vectors().T` equals `score(h)`, an empty history (scored by popularity) included."""
        self._check_fitted()
        indptr, sequence_items = _sequences(histories, self._type_weights(), self.n_items_)
        windows = _last_windows(indptr, sequence_items, self.max_len)
        hidden = np.zeros((len(histories), self.dim), dtype=np.float32)
        active = np.flatnonzero(np.diff(indptr) > 0)
        block = _block_rows(self.n_items_)
        with seeded(self.seed, self.threads), torch.no_grad():
            for start in range(0, len(active), block):
                rows = active[start:start + block]
                hidden[rows] = self.network_(torch.from_numpy(windows[rows]))[:, -1].numpy()
        empty = np.diff(indptr) == 0
        scale = cached(self, "fallback_scale", lambda: fallback_scale(self.item_popularity_, self._item_table()))
        return with_fallback_users(hidden, empty, scale)

    def _item_table(self) -> np.ndarray:
        """The item embeddings without the padding row, n_items x dim float32."""
        return self.network_.item_embedding.weight[1:].detach().numpy()

    # ----------------------------------------------------------------- persistence
    def _learned_state(self) -> dict[str, Any]:
        state = super()._learned_state()
        state.pop("network_", None)  # torch weights go to their own file (_save_extra)
        return state

    def _forget(self) -> None:
        super()._forget()
        self.__dict__.pop("network_", None)

    def _save_extra(self, directory: Path) -> None:
        save_weights(self.network_, directory)

    def _load_extra(self, directory: Path) -> None:
        network = self._network()
        load_weights(network, directory)
        self.network_ = network


class _Block(nn.Module):
    """A pre-norm transformer block: causal multi-head self-attention, then a position-wise feed-forward."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.attention_dropout = heads, dropout
        self.attention_norm, self.feed_forward_norm = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.project = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.feed_forward = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(dim, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        q, k, v = self.qkv(self.attention_norm(x)).view(batch, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(
            q, k, v, attn_mask=allowed, dropout_p=self.attention_dropout if self.training else 0.0
        )
        x = x + self.dropout(self.project(attended.transpose(1, 2).reshape(batch, length, dim)))
        return x + self.dropout(self.feed_forward(self.feed_forward_norm(x)))


class _SASRecNetwork(nn.Module):
    """Item + learned position embeddings -> causal blocks -> hidden state per position.

    Sequences are users x max_len item indices shifted by one (0 is padding), right-aligned so
    that the latest item always sits in the last position.
    """

    def __init__(self, n_items: int, max_len: int, dim: int, heads: int, blocks: int, dropout: float) -> None:
        super().__init__()
        self.item_embedding = nn.Embedding(n_items + 1, dim, padding_idx=0)
        self.position_embedding = nn.Embedding(max_len, dim)
        self.blocks = nn.ModuleList(_Block(dim, heads, dropout) for _ in range(blocks))
        self.dropout, self.norm = nn.Dropout(dropout), nn.LayerNorm(dim)
        # Small embeddings: the output logits are dot products with the same table.
        nn.init.normal_(self.item_embedding.weight, std=1 / math.sqrt(dim))
        nn.init.normal_(self.position_embedding.weight, std=1 / math.sqrt(dim))
        with torch.no_grad():
            self.item_embedding.weight[0].zero_()

    def forward(self, sequences: torch.Tensor) -> torch.Tensor:
        """Hidden states, users x max_len x dim; position t depends only on positions <= t."""
        present = (sequences > 0).unsqueeze(-1)
        length = sequences.shape[1]
        x = self.item_embedding(sequences) + self.position_embedding.weight[-length:]
        x = self.dropout(x) * present
        # A position attends to earlier real items and itself (so a padding row never has an
        # all-masked softmax row, which would give NaN).
        causal = torch.ones(length, length, dtype=torch.bool).tril()
        allowed = (causal & present.transpose(1, 2)) | torch.eye(length, dtype=torch.bool)
        for block in self.blocks:
            x = block(x, allowed.unsqueeze(1)) * present
        return self.norm(x)

    def next_item_scores(self, sequences: torch.Tensor) -> torch.Tensor:
        """Scores of every item (users x n_items) as the item after each sequence's last position."""
        return self(sequences)[:, -1] @ self.item_embedding.weight[1:].T


class _Validation:
    """Sampled users' last items, held out of training, and the histories before them."""

    def __init__(self, indptr: np.ndarray, items: np.ndarray, targets: np.ndarray, max_len: int) -> None:
        self.targets = torch.from_numpy(targets)
        self.windows = torch.from_numpy(_last_windows(indptr, items, max_len))
        self.rows, self.seen = np.repeat(np.arange(len(targets)), np.diff(indptr)), items

    def ndcg(self, network: _SASRecNetwork) -> float:
        """Mean NDCG@10 of the held-out items, items already in a history excluded (as in evaluation)."""
        gains, block = [], _block_rows(network.item_embedding.num_embeddings - 1)
        with torch.no_grad():
            for start in range(0, len(self.targets), block):
                stop = min(start + block, len(self.targets))
                scores = network.next_item_scores(self.windows[start:stop])
                mask = (self.rows >= start) & (self.rows < stop)
                scores[self.rows[mask] - start, self.seen[mask]] = -torch.inf
                target = self.targets[start:stop, None]
                rank = (scores > scores.gather(1, target)).sum(1)
                gains.append(torch.where(rank < VALIDATION_K, 1 / torch.log2(rank + 2.0), 0.0))
        return float(torch.cat(gains).mean())


# --------------------------------------------------------------------- sequences
def _block_rows(n_items: int) -> int:
    return max(1, SCORE_CELLS // max(n_items, 1))


def _sequences(histories: Histories, type_weights: np.ndarray, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Each user's item sequence as (indptr, items): weight-0 events and unknown items dropped,
    consecutive repeats collapsed."""
    rows = histories.row_of_each_event()
    items = histories.items.astype(np.int64)
    keep = (type_weights[histories.event_types.astype(np.int64)] > 0) & (items >= 0) & (items < n_items)
    rows, items = rows[keep], items[keep]
    repeat = np.zeros(len(items), dtype=bool)
    repeat[1:] = (items[1:] == items[:-1]) & (rows[1:] == rows[:-1])
    rows, items = rows[~repeat], items[~repeat]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(histories)))]).astype(np.int64)
    return indptr, items


def _last_windows(indptr: np.ndarray, items: np.ndarray, max_len: int) -> np.ndarray:
    """Users x max_len: each sequence's last `max_len` items shifted by one, right-aligned, 0-padded."""
    windows = np.zeros((len(indptr) - 1, max_len), dtype=np.int64)
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    from_end = indptr[rows + 1] - 1 - np.arange(len(items))
    keep = from_end < max_len
    windows[rows[keep], max_len - 1 - from_end[keep]] = items[keep] + 1
    return windows


def _training_windows(indptr: np.ndarray, items: np.ndarray, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and next-item targets (windows x max_len, items shifted by one, 0 = padding).

    Each sequence's (item, next item) pairs are cut from its end into windows of `max_len`, so
    a long history trains on all its items, not only on its latest `max_len`.
    """
    lengths = np.diff(indptr)
    per_user = -(-np.maximum(lengths - 1, 0) // max_len)
    first_window = np.cumsum(per_user) - per_user
    rows = np.repeat(np.arange(len(lengths)), lengths)
    targets_at = np.flatnonzero(np.arange(len(items)) > indptr[rows])  # every item but a sequence's first
    from_end = indptr[rows[targets_at] + 1] - 1 - targets_at
    window = first_window[rows[targets_at]] + from_end // max_len
    column = max_len - 1 - from_end % max_len
    inputs = np.zeros((int(per_user.sum()), max_len), dtype=np.int64)
    targets = np.zeros_like(inputs)
    inputs[window, column] = items[targets_at - 1] + 1
    targets[window, column] = items[targets_at] + 1
    return inputs, targets


def _hold_out_last(
    indptr: np.ndarray, items: np.ndarray, max_len: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, _Validation] | None:
    """Hold out the last item of up to MAX_VALIDATION_USERS users with at least three items whose
    last item is new to them (a repeat is never recommended: seen items are excluded).

    Returns the training sequences without those items, and the validation; None when no user
    qualifies.
    """
    lengths = np.diff(indptr)
    last = indptr[1:] - 1
    rows = np.repeat(np.arange(len(lengths)), lengths)
    repeated = np.zeros(len(lengths), dtype=bool)
    repeated[rows[(np.arange(len(items)) != last[rows]) & (items == items[last[rows]])]] = True
    users = np.flatnonzero((lengths >= 3) & ~repeated)
    if not len(users):
        return None
    if len(users) > MAX_VALIDATION_USERS:
        users = np.sort(rng.choice(users, size=MAX_VALIDATION_USERS, replace=False))
    held = np.zeros(len(lengths), dtype=bool)
    held[users] = True
    keep = np.ones(len(items), dtype=bool)
    keep[last[users]] = False
    train_indptr = indptr - np.concatenate([[0], np.cumsum(held)])
    train_items = items[keep]
    # The validation users' own training histories, as a CSR of their own.
    starts, stops = train_indptr[users], train_indptr[users + 1]
    history_indptr = np.concatenate([[0], np.cumsum(stops - starts)])
    history_items = train_items[np.concatenate([np.arange(a, b) for a, b in zip(starts, stops)])]
    return train_indptr, train_items, _Validation(history_indptr, history_items, items[last[users]], max_len)
