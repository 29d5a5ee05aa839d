"""The behavioural suite every registered model must pass (a new model joins by entering the registry)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.data.schema import EVENT_TYPE_CODE
from shoprec.errors import ConfigError, NotFittedError, ShoprecError
from shoprec.models.base import Recommender, seen_items
from shoprec.models.registry import MODELS, VARIANT_PARAMS, create, load_model, model_class, name_of

# Hyperparameters that keep a slow model quick on the tiny planted shop (none needed yet).
TEST_PARAMS: dict[str, dict[str, object]] = {
    # Two taste groups: more factors than that lets the 12-item shop's noise be fitted.
    "ials": {"factors": 2},
    "puresvd": {"factors": 2},
    # 20 short sequences: a small network, a high learning rate, no held-out epochs; the binary
    # loss with a few negatives recovers the groups more steadily than a softmax on so little data.
    "sasrec": {"max_len": 8, "dim": 16, "heads": 1, "blocks": 1, "epochs": 50, "learning_rate": 1e-2,
               "loss": "bce", "negatives": 4, "patience": None, "threads": 1},
    # 20 users: small batches give enough steps per epoch, a high learning rate few epochs.
    "two_tower": {"dim": 16, "epochs": 20, "batch_size": 16, "learning_rate": 1e-2},
}
PERSONALISED = [name for name in MODELS if model_class(name).personalised]

VIEW, PURCHASE = EVENT_TYPE_CODE["view"], EVENT_TYPE_CODE["purchase"]
T0 = 1_800_000_000_000  # after every training event


def make(name: str) -> Recommender:
    return create(name, **TEST_PARAMS.get(name, {}))


@pytest.fixture(params=sorted(MODELS))
def name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def fitted(name: str, planted: Dataset) -> Recommender:
    return make(name).fit(planted)


def request_histories(planted: Dataset) -> Histories:
    """Training users' histories, then a new user, a user with an event posted after training,
    an empty history and one naming an item added to the catalogue after training (index 99)."""
    known = planted.histories()
    extra = Histories.from_lists([
        [(0, VIEW, T0), (1, PURCHASE, T0 + 5)],
        [(5, VIEW, T0), (6, VIEW, T0 + 1), (7, PURCHASE, T0 + 2)],
        [],
        [(99, VIEW, T0), (2, VIEW, T0 + 1)],
    ])
    return _concat(known, extra)


def _concat(a: Histories, b: Histories) -> Histories:
    return Histories(
        indptr=np.concatenate([a.indptr, a.indptr[-1] + b.indptr[1:]]),
        items=np.concatenate([a.items, b.items]),
        event_types=np.concatenate([a.event_types, b.event_types]),
        timestamps=np.concatenate([a.timestamps, b.timestamps]),
        values=np.concatenate([a.values, b.values]),
    )


def test_scores_are_float32_users_by_items(fitted: Recommender, planted: Dataset) -> None:
    histories = request_histories(planted)
    scores = fitted.score(histories)
    assert scores.dtype == np.float32
    assert scores.shape == (len(histories), planted.n_items)
    assert np.isfinite(scores).all()


def test_batch_equals_one_by_one(fitted: Recommender, planted: Dataset) -> None:
    histories = request_histories(planted)
    batch = fitted.score(histories)
    for u in range(len(histories)):
        np.testing.assert_allclose(fitted.score(histories.user(u))[0], batch[u], rtol=1e-5, atol=1e-6)
    lists = fitted.recommend(histories, 5)
    for u in [0, len(histories) - 1]:
        single = fitted.recommend(histories.user(u), 5)[0]
        np.testing.assert_array_equal(single.items, lists[u].items)


def test_scoring_some_items_equals_the_full_row_at_those_items(fitted: Recommender, planted: Dataset) -> None:
    histories = request_histories(planted)
    chosen = np.random.default_rng(0).choice(planted.n_items, size=min(7, planted.n_items), replace=False)
    np.testing.assert_allclose(fitted.score(histories, chosen), fitted.score(histories)[:, chosen], rtol=1e-5, atol=1e-6)


def test_save_load_round_trip(fitted: Recommender, planted: Dataset, tmp_path: Path) -> None:
    histories = request_histories(planted)
    fitted.save(tmp_path / "model")
    loaded = type(fitted).load(tmp_path / "model")
    assert type(loaded) is type(fitted)
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.score(histories), fitted.score(histories))
    by_registry = load_model(tmp_path / "model")
    np.testing.assert_array_equal(by_registry.score(histories), fitted.score(histories))
    # No pickle anywhere: the state file loads with pickling disallowed.
    with np.load(tmp_path / "model" / "state.npz", allow_pickle=False) as npz:
        assert all(npz[key].dtype != object for key in npz.files)


def test_load_refuses_another_models_directory(fitted: Recommender, tmp_path: Path) -> None:
    fitted.save(tmp_path / "m")
    other = next(model_class(n) for n in MODELS if model_class(n) is not type(fitted))
    with pytest.raises(ShoprecError, match=type(fitted).__name__):
        other.load(tmp_path / "m")
    with pytest.raises(ShoprecError, match="model.json"):
        type(fitted).load(tmp_path / "missing")


def test_fit_is_deterministic_and_refit_equals_fresh_fit(name: str, planted: Dataset) -> None:
    histories = request_histories(planted)
    first = make(name).fit(planted).score(histories)
    np.testing.assert_array_equal(make(name).fit(planted).score(histories), first)
    # Fitting an instance again (here after fitting it on other data) equals a fresh fit.
    model = make(name).fit(planted.subset(planted.event_users < 5))
    np.testing.assert_array_equal(model.fit(planted).score(histories), first)


def test_empty_history_has_a_defined_answer(fitted: Recommender, planted: Dataset) -> None:
    empty = Histories.empty(2)
    scores = fitted.score(empty)
    assert scores.shape == (2, planted.n_items)
    assert np.isfinite(scores).all()
    lists = fitted.recommend(empty, 5)
    assert [len(ranked) for ranked in lists] == [5, 5]


def test_not_fitted_raises_a_clear_error(name: str, tmp_path: Path) -> None:
    model = make(name)
    with pytest.raises(NotFittedError, match="not fitted"):
        model.score(Histories.empty(1))
    with pytest.raises(NotFittedError):
        model.recommend(Histories.empty(1), 3)
    with pytest.raises(NotFittedError):
        model.save(tmp_path)


def test_recommend_is_the_top_k_of_score_best_first(fitted: Recommender, planted: Dataset) -> None:
    histories = request_histories(planted)
    scores = fitted.score(histories)
    for u, ranked in enumerate(fitted.recommend(histories, 4)):
        assert len(ranked) == 4
        assert len(set(ranked.items.tolist())) == 4
        assert np.all(np.diff(ranked.scores) <= 0)
        np.testing.assert_array_equal(ranked.scores, scores[u, ranked.items])
        # Nothing outside the list scores higher than the list's last entry.
        outside = np.setdiff1d(np.arange(planted.n_items), ranked.items)
        assert scores[u, outside].max() <= ranked.scores[-1]


def test_exclusion_removes_items(fitted: Recommender, planted: Dataset) -> None:
    histories = planted.histories()
    seen = seen_items(histories)
    for ranked, excluded in zip(fitted.recommend(histories, planted.n_items, exclude=seen), seen, strict=True):
        assert not set(ranked.items.tolist()) & set(excluded.tolist())
        assert len(ranked) == planted.n_items - len(excluded)
    # Excluding all but three items leaves exactly those three.
    keep = np.array([2, 7, 11])
    everything_else = [np.setdiff1d(np.arange(planted.n_items), keep)]
    ranked = fitted.recommend(histories.user(0), 10, exclude=everything_else)[0]
    assert sorted(ranked.items.tolist()) == keep.tolist()


def test_candidates_subset(fitted: Recommender, planted: Dataset) -> None:
    histories = request_histories(planted)
    candidates = np.array([9, 3, 0, 6])
    np.testing.assert_array_equal(fitted.score(histories, candidates), fitted.score(histories)[:, candidates])
    for ranked in fitted.recommend(histories, 3, candidates=candidates, exclude=[np.array([3])] * len(histories)):
        assert set(ranked.items.tolist()) <= {9, 0, 6}
        assert len(ranked) == 3
    with pytest.raises(ValueError, match="between 0 and"):
        fitted.score(histories, np.array([planted.n_items]))


def test_params_round_trip_through_the_registry(name: str) -> None:
    model = make(name)
    # a variant (itemknn_bm25) is its base class with preset hyperparameters
    assert name_of(model) == name or name in VARIANT_PARAMS
    assert create(name, **model.get_params()).get_params() == model.get_params()
    assert model.clone().get_params() == model.get_params()
    assert not model.clone().is_fitted


@pytest.mark.parametrize("name", PERSONALISED)
def test_planted_pattern_is_recovered(name: str, planted: Dataset) -> None:
    """A history inside group A's items gets group A's other items first (and likewise for B)."""
    model = make(name).fit(planted)
    histories = Histories.from_lists([[(0, VIEW, T0), (1, PURCHASE, T0 + 1)], [(5, VIEW, T0), (6, PURCHASE, T0 + 1)]])
    lists = model.recommend(histories, 3, exclude=seen_items(histories))
    assert set(lists[0].items.tolist()) <= {2, 3, 4}
    assert set(lists[1].items.tolist()) <= {7, 8, 9}


def test_registry_errors_name_what_is_known() -> None:
    with pytest.raises(ConfigError, match="popularity"):
        create("no-such-model")
    with pytest.raises(ConfigError, match="half_life_days"):
        create("popularity", half_life=3)
