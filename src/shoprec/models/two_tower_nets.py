"""The two-tower network's PyTorch modules (shoprec.models.two_tower fits and serves them)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

# Training-time share of items whose id embedding is dropped, so that content alone learns to place
# an item (what a new item has).
ID_DROPOUT = 0.2
# Size of each context embedding (hour of day, weekday, month).
CONTEXT_DIM = 8


class ItemTower(nn.Module):
    """Text (TF-IDF weighted bag), category levels (mean bag), brand, price bucket and id -> MLP -> unit vector."""

    def __init__(self, n_items: int, n_text: int, n_categories: int, n_brands: int, n_prices: int, dim: int) -> None:
        super().__init__()
        self.text = nn.EmbeddingBag(max(n_text, 1), dim, mode="sum")
        self.categories = nn.EmbeddingBag(max(n_categories, 1), dim, mode="mean")
        self.brands = nn.Embedding(n_brands + 1, dim, padding_idx=0)
        self.prices = nn.Embedding(n_prices + 1, dim, padding_idx=0)
        self.ids = nn.Embedding(max(n_items, 1), dim)
        # Zero at start, and Adam leaves an id that is never in a batch at zero: an item unseen in
        # training is placed by its content alone.
        nn.init.zeros_(self.ids.weight)
        self.mlp = nn.Sequential(nn.Linear(5 * dim, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim + 1))

    def forward(self, inputs: dict[str, Any]) -> torch.Tensor:
        ids = self.ids(inputs["ids"])
        if self.training:
            ids = ids * (torch.rand(len(ids), 1) >= ID_DROPOUT)
        text_index, text_offsets, text_weights = inputs["text"]
        category_index, category_offsets, _ = inputs["categories"]
        parts = [
            self.text(text_index, text_offsets, per_sample_weights=text_weights),
            self.categories(category_index, category_offsets),
            self.brands(inputs["brands"]),
            self.prices(inputs["prices"]),
            ids,
        ]
        out = self.mlp(torch.cat(parts, dim=1))
        return torch.cat([F.normalize(out[:, :-1], dim=1), out[:, -1:]], dim=1)


class UserTower(nn.Module):
    """History item vectors pooled by event weight x learned per-position decay, the latest item,
    and hour / weekday / month embeddings -> MLP -> unit vector."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.decay = nn.Parameter(torch.tensor(-3.0))  # softplus(-3) ~ 0.05 per position back
        self.hour = nn.Embedding(25, CONTEXT_DIM)  # code 0: unknown (an empty history)
        self.weekday = nn.Embedding(8, CONTEXT_DIM)
        self.month = nn.Embedding(13, CONTEXT_DIM)
        for table in (self.hour, self.weekday, self.month):
            # Zero, like ids: a time bucket never seen in training (a month not in the data) adds nothing.
            nn.init.zeros_(table.weight)
        self.mlp = nn.Sequential(nn.Linear(2 * dim + 3 * CONTEXT_DIM, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim))

    def forward(self, vectors: torch.Tensor, history: torch.Tensor, weights: torch.Tensor,
                context: torch.Tensor) -> torch.Tensor:
        """`history`: rows of `vectors` (latest last; padding points at a zero row), `weights`: event weights."""
        age = torch.arange(history.shape[1] - 1, -1, -1, dtype=vectors.dtype)
        w = weights * torch.exp(-F.softplus(self.decay) * age)
        # A weighted bag: cheaper than gathering a users x length x dim block, forward and backward.
        offsets = torch.arange(0, history.numel(), history.shape[1])
        pooled = F.embedding_bag(history.reshape(-1), vectors, offsets, mode="sum", per_sample_weights=w.reshape(-1))
        pooled = pooled / w.sum(dim=1, keepdim=True).clamp_min(1e-8)
        features = [pooled, vectors[history[:, -1]], self.hour(context[:, 0]), self.weekday(context[:, 1]),
                    self.month(context[:, 2])]
        return F.normalize(self.mlp(torch.cat(features, dim=1)), dim=1)


class Towers(nn.Module):
    """The item tower and the user tower, trained together."""

    def __init__(self, *, n_items: int, n_text: int, n_categories: int, n_brands: int, n_prices: int, dim: int) -> None:
        super().__init__()
        self.items = ItemTower(n_items, n_text, n_categories, n_brands, n_prices, dim)
        self.users = UserTower(dim)
