"""The embedding protocol: for every model that follows it, user_vectors @ item_vectors.T is its score."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.data.schema import EVENT_TYPE_CODE
from shoprec.errors import NotFittedError
from shoprec.models.base import Recommender
from shoprec.models.registry import create
from shoprec.retrieval.embeddings import is_embedding_model
from tests.models.random_shop import T0, shop

VIEW, PURCHASE = EVENT_TYPE_CODE["view"], EVENT_TYPE_CODE["purchase"]
TORCH_MODELS = {"two_tower", "sasrec"}
# Quick settings on a 30 x 25 shop.
EMBEDDING_MODELS: dict[str, dict[str, Any]] = {
    "ials": {"factors": 4, "iterations": 5},
    "bpr": {"factors": 4, "iterations": 20},
    "puresvd": {"factors": 4},
    "two_tower": {"dim": 8, "epochs": 2, "batch_size": 16},
    "sasrec": {"max_len": 8, "dim": 8, "heads": 1, "blocks": 1, "epochs": 2, "patience": None, "threads": 1},
}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return shop(5, n_users=30, n_items=25)[0]


@pytest.fixture(params=sorted(EMBEDDING_MODELS))
def fitted(request: pytest.FixtureRequest, dataset: Dataset) -> Recommender:
    if request.param in TORCH_MODELS:
        pytest.importorskip("torch")
    return create(request.param, **EMBEDDING_MODELS[request.param]).fit(dataset)


def histories(dataset: Dataset) -> Histories:
    """Every training user, then an empty history, one naming only an item the model does not know
    (index 99), and a new user's two events."""
    extra = Histories.from_lists([[], [(99, VIEW, T0)], [(3, VIEW, T0), (7, PURCHASE, T0 + 5)]])
    known = dataset.histories()
    return Histories(
        indptr=np.concatenate([known.indptr, known.indptr[-1] + extra.indptr[1:]]),
        items=np.concatenate([known.items, extra.items]),
        event_types=np.concatenate([known.event_types, extra.event_types]),
        timestamps=np.concatenate([known.timestamps, extra.timestamps]),
        values=np.concatenate([known.values, extra.values]),
    )


def test_user_vectors_times_item_vectors_is_the_score(fitted: Recommender, dataset: Dataset) -> None:
    h = histories(dataset)
    users, items = fitted.user_vectors(h), fitted.item_vectors()  # type: ignore[attr-defined]
    assert users.dtype == np.float32 and items.dtype == np.float32
    assert items.shape[0] == dataset.n_items and users.shape == (len(h), items.shape[1])
    scores = fitted.score(h)
    np.testing.assert_allclose(users @ items.T, scores, rtol=1e-4, atol=1e-5 * float(np.abs(scores).max()))


def test_item_vectors_are_computed_once_read_only_and_dropped_on_refit(fitted: Recommender,
                                                                      dataset: Dataset) -> None:
    items = fitted.item_vectors()  # type: ignore[attr-defined]
    assert fitted.item_vectors() is items  # type: ignore[attr-defined]
    assert not items.flags.writeable
    fitted.fit(dataset.subset(dataset.event_users < 15))
    assert fitted.item_vectors() is not items  # type: ignore[attr-defined]


def test_vectors_survive_save_and_load(fitted: Recommender, dataset: Dataset, tmp_path: Path) -> None:
    fitted.save(tmp_path / "m")
    loaded = type(fitted).load(tmp_path / "m")
    h = histories(dataset)
    np.testing.assert_array_equal(loaded.item_vectors(), fitted.item_vectors())  # type: ignore[attr-defined]
    np.testing.assert_array_equal(loaded.user_vectors(h), fitted.user_vectors(h))  # type: ignore[attr-defined]


def test_which_models_follow_the_protocol(dataset: Dataset) -> None:
    for name in EMBEDDING_MODELS:
        if name in TORCH_MODELS and importlib.util.find_spec("torch") is None:
            continue
        assert is_embedding_model(create(name, **EMBEDDING_MODELS[name])), name
    # Models that do not score by a dot product do not claim to.
    for name in ("ease", "itemknn", "popularity", "content"):
        assert not is_embedding_model(create(name)), name


def test_an_unfitted_model_says_so() -> None:
    with pytest.raises(NotFittedError):
        create("ials").item_vectors()  # type: ignore[attr-defined]
    with pytest.raises(NotFittedError):
        create("bpr").user_vectors(Histories.empty(1))  # type: ignore[attr-defined]
