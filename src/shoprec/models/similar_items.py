"""Similar items: co-occurrence blended with content, trusted as far as the item has behaviour.

Co-occurrence ("shoppers who touched this also touched ...") is the best notion of "similar"
for an item many shoppers touched, and noise for one that few did: two views by one shopper
make a leather boot "similar" to a tent. Content (category, brand, text, price band) always
knows what the item is, but not what shoppers take together. This model blends the two per
anchor item, by how much behaviour the anchor has, so a well-bought item is answered mostly
from behaviour and a new or thin one mostly from what it is.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.errors import ConfigError
from shoprec.models.base import Recommender
from shoprec.models.content import ContentRecommender, profile_cosines
from shoprec.models.itemknn import ItemKNNRecommender
from shoprec.models.sparse_rows import rows_product

PARTS = ("similar_items.cooccurrence", "similar_items.content")  # the score's two terms, as explanations name them


class SimilarItemsRecommender(Recommender):
    """`score = trust * cooccurrence + (1 - trust) * content`, both in [0, 1].

    - cooccurrence: item-kNN cosine over the weighted shoppers x items matrix (`neighbours` per
      item; shoprec.models.itemknn), a history's votes divided by its best item's;
    - content: cosine between the history's content profile and each item (TF-IDF text,
      category levels, brand, log-price bucket; shoprec.models.content, with `category_weight`,
      `brand_weight`, `price_weight`);
    - trust: `max_trust * n / (n + shrink)` for an anchor item that `n` distinct shoppers touched
      in training (a history of several items: their mean, weighted by the history's weights).
      An item nobody touched has trust 0 (content only); `shrink` is the number of shoppers at
      which behaviour and content count alike (times `max_trust`).

    Defaults chosen on a validation carve of the train side (never the test side) of REES46 and
    the synthetic shop, over the tuning space below: shrink 50 and max_trust 0.7 had the best mean
    ratio to each dataset's best NDCG@10 (0.97 on REES46, 1.00 on the synthetic shop;
    docs/benchmarks.md "Similar items").

    `max_trust` below 1 keeps content in every answer (a tie-breaker among the item's neighbours,
    and the only source past them). A history with no usable item scores by popularity in
    training, scaled to [0, 1]. The engine answers "similar items" and "because you viewed" with
    this entry when the bundle has it (shoprec.ranking.engine SIMILARITY_PREFERENCE); it is
    measured on the item-to-item protocol (`shoprec evaluate --protocol item-to-item`).
    """

    tuning_space: ClassVar[dict[str, list[Any]]] = {"shrink": [2.0, 10.0, 50.0], "max_trust": [0.7, 0.9, 1.0]}

    def __init__(self, *, shrink: float = 50.0, max_trust: float = 0.7, neighbours: int = 100,
                 category_weight: float = 1.0, brand_weight: float = 0.5, price_weight: float = 0.3) -> None:
        self.shrink = shrink
        self.max_trust = max_trust
        self.neighbours = neighbours
        self.category_weight = category_weight
        self.brand_weight = brand_weight
        self.price_weight = price_weight

    def _check_params(self) -> None:
        if not isinstance(self.shrink, (int, float)) or isinstance(self.shrink, bool) or not math.isfinite(self.shrink) \
                or self.shrink < 0:
            raise ConfigError(f"shrink must be a finite number >= 0, got {self.shrink!r}")
        if not isinstance(self.max_trust, (int, float)) or isinstance(self.max_trust, bool) or not 0 <= self.max_trust <= 1:
            raise ConfigError(f"max_trust must be a number between 0 and 1, got {self.max_trust!r}")
        self._components()  # the parts check their own parameters

    def _components(self) -> tuple[ItemKNNRecommender, ContentRecommender]:
        cooccurrence = ItemKNNRecommender(neighbours=self.neighbours, similarity="cosine")
        content = ContentRecommender(category_weight=self.category_weight, brand_weight=self.brand_weight,
                                     price_weight=self.price_weight)
        cooccurrence._check_params()
        content._check_params()
        return cooccurrence, content

    # ----------------------------------------------------------------- fitting
    def _fit(self, dataset: Dataset) -> None:
        cooccurrence, content = self._components()
        cooccurrence.fit(dataset)
        content.fit(dataset)
        interactions = dataset.interactions()
        shoppers = np.asarray((interactions > 0).sum(axis=0), dtype=np.float64).ravel()
        popularity = np.asarray(interactions.sum(axis=0), dtype=np.float64).ravel()
        for name, value in self.state_of(cooccurrence.similarity_, content.item_vectors_, content.item_norms_,
                                          shoppers, popularity).items():
            setattr(self, name, value)

    def state_of(self, cooccurrence: sp.csr_matrix, item_vectors: sp.csr_matrix, item_norms: np.ndarray,
                 shoppers: np.ndarray, popularity: np.ndarray) -> dict[str, Any]:
        """The learned attributes from the parts' state and each item's count of distinct shoppers
        and summed interaction weight (what `fit` computes locally and Spark training on Spark)."""
        trust = (self.max_trust * shoppers / (shoppers + self.shrink) if self.shrink > 0
                 else np.where(shoppers > 0, float(self.max_trust), 0.0))
        top = popularity.max() if len(popularity) else 0.0
        return {"cooccurrence_": cooccurrence, "item_vectors_": item_vectors, "item_norms_": item_norms,
                "trust_": trust, "popularity_": popularity / top if top > 0 else popularity}

    # ----------------------------------------------------------------- scoring
    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        history = self.history_matrix(histories)
        cooccurrence, content = self._terms(history, items)
        scores = cooccurrence + content
        empty = history.getnnz(axis=1) == 0
        if empty.any():
            scores[empty] = self.popularity_ if items is None else self.popularity_[items]
        return scores

    def parts(self, histories: Histories, items: np.ndarray) -> dict[str, np.ndarray]:
        """The two terms of the score of `items` (histories x items): `PARTS[0]` is trust times
        co-occurrence, `PARTS[1]` the rest times content (what explanations show)."""
        self._check_fitted()
        return dict(zip(PARTS, self._terms(self.history_matrix(histories), self._check_items(items)), strict=True))

    def _terms(self, history: sp.csr_matrix, items: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        votes = rows_product(history.astype(np.float32), self.cooccurrence_)
        best = votes.max(axis=1) if votes.shape[1] else np.zeros(len(votes))  # over every item: a subset scores as the full row
        votes = np.divide(votes, best[:, None], out=np.zeros_like(votes), where=best[:, None] > 0)
        if items is not None:
            votes = votes[:, items]
        content = profile_cosines(self, sp.csr_matrix(history @ self.item_vectors_), items)  # in [0, 1]
        weight_sums = np.asarray(history.sum(axis=1)).ravel()
        trust = np.divide(history @ self.trust_, weight_sums, out=np.zeros_like(weight_sums), where=weight_sums > 0)
        return trust[:, None] * votes, (1.0 - trust[:, None]) * content
