"""Content-based recommender: items as TF-IDF text plus category, brand and price features; a user
is the weighted sum of the items in their history, and items are scored by cosine similarity.

Items are vectorised once at fit, so an item nobody has touched yet is reachable as soon as it
is in the catalogue, and a history is scored with two sparse products (no refit).
"""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shoprec.data import schema as S
from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.errors import ConfigError
from shoprec.models.base import Recommender
from shoprec.models.sparse_rows import rows_product
from shoprec.retrieval.embeddings import cached

# Log-price quantile buckets: enough to tell budget from premium, few enough that each bucket
# holds many items.
PRICE_BUCKETS = 10
# One Han (CJK) character is a token, so unspaced Chinese text still yields words and, with
# ngram_max=2, character bigrams; any other run of 2+ word characters is a token as usual.
TOKEN_PATTERN = r"(?u)[\u3400-\u4dbf\u4e00-\u9fff]|\b\w\w+\b"


class ContentRecommender(Recommender):
    """Cosine similarity between a user's profile and item content vectors.

    An item vector is the horizontal stack of four blocks, each L2-normalised per item and then
    scaled by its weight: TF-IDF over title, description, category words, brand and attribute
    values (weight 1); one-hot category levels (each prefix of the category path, so "Home" and
    "Home > Kitchen" both count; `category_weight`); one-hot brand (`brand_weight`); one-hot
    log-price quantile bucket (`price_weight`). An item missing a field simply has a zero block.

    A profile is the user's event-weighted (and, with the weight config's half-life, decayed)
    sum of item vectors. A history with no usable event (empty, or only items unknown at
    training time) gets item popularity at fit time, scaled to [0, 1], as its scores.
    """

    tuning_space: ClassVar[dict[str, list[Any]]] = {"category_weight": [0.5, 1.0, 2.0], "brand_weight": [0.0, 0.5, 1.0]}

    def __init__(
        self,
        *,
        max_features: int = 50_000,
        ngram_max: int = 2,
        category_weight: float = 1.0,
        brand_weight: float = 0.5,
        price_weight: float = 0.3,
        min_df: int | float = 1,
    ) -> None:
        self.max_features = max_features
        self.ngram_max = ngram_max
        self.category_weight = category_weight
        self.brand_weight = brand_weight
        self.price_weight = price_weight
        self.min_df = min_df

    def _check_params(self) -> None:
        for name in ("max_features", "ngram_max"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        for name in ("category_weight", "brand_weight", "price_weight"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
        min_df = self.min_df
        valid_count = isinstance(min_df, (int, np.integer)) and not isinstance(min_df, bool) and min_df >= 1
        valid_share = isinstance(min_df, float) and 0.0 < min_df <= 1.0
        if not (valid_count or valid_share):
            raise ConfigError(f"min_df must be an integer >= 1 or a fraction in (0, 1], got {min_df!r}")

    # ----------------------------------------------------------------- fitting
    def _fit(self, dataset: Dataset) -> None:
        self.item_vectors_, self.item_norms_ = self.vectors_of(dataset.items)
        popularity = np.asarray(dataset.interactions().sum(axis=0), dtype=np.float64).ravel()
        top = popularity.max() if len(popularity) else 0.0
        self.item_popularity_ = popularity / top if top > 0 else popularity

    def vectors_of(self, items: pd.DataFrame) -> tuple[sp.csr_matrix, np.ndarray]:
        """The item vectors of a catalogue table (one row per item, in item index order) and their
        norms: TF-IDF text, category levels, brand and price bucket, each block unit length and
        weighted. What `fit` learns; Spark training calls it on the driver."""
        from sklearn.preprocessing import normalize  # imported here: loading a saved model needs no scikit-learn

        n = len(items)
        blocks = [
            (self._text_block(items), 1.0),
            (one_hot(category_tokens(items), n), self.category_weight),
            (one_hot(brand_tokens(items), n), self.brand_weight),
            (one_hot(price_bucket_tokens(items), n), self.price_weight),
        ]
        kept = [normalize(block, norm="l2") * weight for block, weight in blocks if weight > 0 and block.shape[1]]
        matrix = sp.csr_matrix(sp.hstack(kept, format="csr") if kept else sp.csr_matrix((n, 0)), dtype=np.float64)
        return matrix, np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())

    def _text_block(self, items: pd.DataFrame) -> sp.csr_matrix:
        return tfidf_matrix(item_texts(items), self.max_features, self.ngram_max, self.min_df)

    # ----------------------------------------------------------------- scoring
    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        profiles = sp.csr_matrix(self.history_matrix(histories) @ self.item_vectors_)
        scores = profile_cosines(self, profiles, items)
        empty = profiles.getnnz(axis=1) == 0
        if empty.any():
            scores[empty] = self.item_popularity_ if items is None else self.item_popularity_[items]
        return scores


def profile_cosines(model: Recommender, profiles: sp.csr_matrix, items: np.ndarray | None) -> np.ndarray:
    """Cosine between each profile (a row over the features of `model.item_vectors_`) and each item
    (or `items`); 0 where either has no feature. Over every item, the product reads only the
    profile's features' rows of the vectors transposed (kept per fit), through
    sparse_rows.rows_product; over a few items (fusion's candidates), a sparse product of those."""
    profile_norms = np.sqrt(np.asarray(profiles.multiply(profiles).sum(axis=1)).ravel())
    if items is None:
        by_feature = cached(model, "vectors_by_feature", lambda: sp.csr_matrix(model.item_vectors_.T))  # type: ignore[attr-defined]
        dots, norms = rows_product(profiles, by_feature), model.item_norms_  # type: ignore[attr-defined]
    else:
        dots = np.asarray((profiles @ model.item_vectors_[items].T).toarray(), dtype=np.float64)  # type: ignore[attr-defined]
        norms = model.item_norms_[items]  # type: ignore[attr-defined]
    scale = profile_norms[:, None] * norms[None, :]
    return np.divide(dots, scale, out=np.zeros_like(dots), where=scale > 0)


# --------------------------------------------------------------------- item features
# Public: the two-tower model reads items through the same features.
def item_texts(items: pd.DataFrame) -> list[str]:
    """Each item's words: title, description, category levels, brand and attribute values."""
    return [
        " ".join(filter(None, (_clean(title), _clean(description), " ".join(S.category_levels(_clean(category))),
                               _clean(brand), _attribute_words(attributes))))
        for title, description, category, brand, attributes in zip(
            items[S.TITLE], items[S.DESCRIPTION], items[S.CATEGORY], items[S.BRAND], items[S.ATTRIBUTES])
    ]


def tfidf_matrix(texts: list[str], max_features: int, ngram_max: int = 1, min_df: int | float = 1) -> sp.csr_matrix:
    """Items x terms TF-IDF (sublinear tf, smooth idf, rows L2-normalised); no columns when no term survives."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # imported here: scikit-learn takes seconds to import

    vectorizer = TfidfVectorizer(max_features=max_features, ngram_range=(1, ngram_max), min_df=min_df,
                                 token_pattern=TOKEN_PATTERN, sublinear_tf=True, dtype=np.float64)
    try:
        return sp.csr_matrix(vectorizer.fit_transform(texts))
    except ValueError:  # no term survives (no text at all, or min_df above every count)
        return sp.csr_matrix((len(texts), 0))


def category_tokens(items: pd.DataFrame) -> list[list[str]]:
    """'A > B > C' -> ['A', 'A > B', 'A > B > C']: a level is named by its path, so that two
    leaves of the same name under different parents stay apart."""
    tokens = []
    for path in items[S.CATEGORY]:
        levels = S.category_levels(_clean(path))
        tokens.append([S.CATEGORY_SEPARATOR.join(levels[: i + 1]) for i in range(len(levels))])
    return tokens


def brand_tokens(items: pd.DataFrame) -> list[list[str]]:
    """Each item's brand, case-folded, as a one-element list ([] without a brand)."""
    return [[brand] if (brand := _clean(value).lower()) else [] for value in items[S.BRAND]]


def price_bucket_tokens(items: pd.DataFrame) -> list[list[str]]:
    """Each item's log-price quantile bucket as a one-element list ([] without a price)."""
    values = pd.to_numeric(items[S.PRICE], errors="coerce").to_numpy(np.float64)
    known = np.isfinite(values) & (values > 0)
    if not known.any():
        return [[] for _ in values]
    log_price = np.log(np.where(known, values, 1.0))
    edges = np.unique(np.quantile(log_price[known], np.linspace(0, 1, PRICE_BUCKETS + 1)[1:-1]))
    buckets = np.searchsorted(edges, log_price, side="right")
    return [[f"price:{b}"] if k else [] for b, k in zip(buckets, known)]


def one_hot(tokens: list[list[str]], n_items: int) -> sp.csr_matrix:
    """Items x distinct tokens, 1 where an item has a token (tokens numbered in sorted order)."""
    vocabulary = {t: j for j, t in enumerate(sorted({t for row in tokens for t in row}))}
    rows = np.repeat(np.arange(n_items), [len(row) for row in tokens])
    cols = np.array([vocabulary[t] for row in tokens for t in row], dtype=np.int64)
    return sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(n_items, len(vocabulary)))


def _clean(value: Any) -> str:
    """A catalogue field as text: '' for missing values (None, NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _attribute_words(raw: Any) -> str:
    """The values of an attributes JSON object as text (lists flattened); keys are left out."""
    text = _clean(raw)
    if not text:
        return ""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return text  # not JSON: keep the raw text rather than lose it
    if not isinstance(parsed, dict):
        return ""
    words: list[str] = []
    for value in parsed.values():
        values = value if isinstance(value, list) else [value]
        words.extend(str(v) for v in values if v is not None and not isinstance(v, (dict, list)))
    return " ".join(words)
