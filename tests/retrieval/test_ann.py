"""AnnIndex and retrieve: exact search equals numpy, HNSW recall, filters, persistence, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shoprec.data.history import Histories
from shoprec.errors import ShoprecError
from shoprec.models.base import seen_items, top_k
from shoprec.models.ials import IALSRecommender
from shoprec.retrieval import ann
from shoprec.retrieval.ann import AnnIndex, retrieve
from tests.models.random_shop import shop

N_ITEMS, DIM, N_QUERIES, K = 20_000, 32, 200, 10


@pytest.fixture(scope="module")
def items() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((N_ITEMS, DIM)).astype(np.float32)


@pytest.fixture(scope="module")
def queries() -> np.ndarray:
    return np.random.default_rng(1).standard_normal((N_QUERIES, DIM)).astype(np.float32)


@pytest.fixture(scope="module")
def hnsw(items: np.ndarray) -> AnnIndex:
    return AnnIndex.build(items, "hnsw")


def numpy_top(queries: np.ndarray, items: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(queries @ items.T), axis=1, kind="stable")[:, :k]


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(np.intersect1d(a, b)) / len(b) for a, b in zip(found, truth, strict=True)]))


class VectorModel:
    """A test double following the embedding protocol: fixed item vectors, and the i-th history of
    a batch gets the i-th row of `users`."""

    def __init__(self, items: np.ndarray, users: np.ndarray) -> None:
        self.items, self.users = items, users

    def item_vectors(self) -> np.ndarray:
        return self.items

    def user_vectors(self, histories: Histories) -> np.ndarray:
        return self.users[: len(histories)]

    def score(self, histories: Histories, items: np.ndarray | None = None) -> np.ndarray:
        return self.user_vectors(histories) @ self.items.T


def exact_lists(model: VectorModel, k: int, allowed: np.ndarray | None, exclude: list[np.ndarray]) -> list:
    """The reference answer: every item scored, disallowed and excluded ones at -inf, top_k."""
    scores = model.users @ model.items.T
    if allowed is not None:
        scores[:, ~allowed] = -np.inf
    for u, e in enumerate(exclude):
        scores[u, e] = -np.inf
    return top_k(scores, np.arange(len(model.items)), k)


# --------------------------------------------------------------------- the index
def test_exact_index_equals_numpy_top_k(items: np.ndarray, queries: np.ndarray) -> None:
    index = AnnIndex.build(items, "exact")
    found, scores = index.search(queries, K)
    np.testing.assert_array_equal(found, numpy_top(queries, items, K))
    expected = np.take_along_axis(queries @ items.T, found, axis=1)
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)
    assert found.dtype == np.int64 and scores.dtype == np.float32


def test_hnsw_recall_at_10_against_exact_is_at_least_095(hnsw: AnnIndex, items: np.ndarray,
                                                         queries: np.ndarray) -> None:
    truth = numpy_top(queries, items, K)
    found, scores = hnsw.search(queries, K)
    assert recall_at(found, truth) >= 0.95
    # Scores are the exact inner products of the returned items, best first.
    np.testing.assert_allclose(scores, np.take_along_axis(queries @ items.T, found, axis=1), rtol=1e-5, atol=1e-5)
    assert (np.diff(scores, axis=1) <= 0).all()
    # A narrower beam finds fewer of the true neighbours: the setting is live.
    narrow, _ = hnsw.search(queries, K, ef_search=10)
    assert recall_at(narrow, truth) < recall_at(found, truth)


def test_auto_is_exact_for_small_catalogues_and_hnsw_above(monkeypatch: pytest.MonkeyPatch) -> None:
    vectors = np.random.default_rng(2).standard_normal((300, 4)).astype(np.float32)
    assert AnnIndex.build(vectors).kind == "exact"
    monkeypatch.setattr(ann, "EXACT_MAX_ITEMS", 299)
    index = AnnIndex.build(vectors)
    assert index.kind == "hnsw" and index.params["ef_search"] == ann.HNSW_EF_SEARCH


def test_ivf_finds_the_neighbours_when_it_scans_every_list(items: np.ndarray, queries: np.ndarray) -> None:
    index = AnnIndex.build(items[:2_000], "ivf", nlist=16)
    assert index.params == {"nlist": 16, "nprobe": 2}
    found, _ = index.search(queries, K, nprobe=16)
    np.testing.assert_array_equal(found, numpy_top(queries, items[:2_000], K))


def test_equal_scores_go_to_the_lower_item_and_k_is_capped_at_the_catalogue() -> None:
    vectors = np.array([[1.0, 0.0], [2.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    found, scores = AnnIndex.build(vectors, "exact").search(np.array([[1.0, 0.0]], dtype=np.float32), 10)
    np.testing.assert_array_equal(found, [[1, 3, 0, 2, 4]])
    np.testing.assert_array_equal(scores, [[2.0, 2.0, 1.0, 1.0, 0.0]])


@pytest.mark.parametrize("kind", ["exact", "hnsw", "ivf"])
def test_save_load_round_trip_gives_identical_results(kind: str, items: np.ndarray, queries: np.ndarray,
                                                      tmp_path: Path) -> None:
    vectors = items[:3_000]
    index = AnnIndex.build(vectors, kind, ef_search=40) if kind == "hnsw" else AnnIndex.build(vectors, kind)
    index.save(tmp_path / "index")
    loaded = AnnIndex.load(tmp_path / "index", n_items=3_000, dim=DIM)
    assert (loaded.kind, loaded.n_items, loaded.dim, loaded.params) == (kind, 3_000, DIM, index.params)
    for a, b in zip(index.search(queries, K), loaded.search(queries, K), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_loaded_index_that_does_not_match_the_model_is_refused(items: np.ndarray, tmp_path: Path) -> None:
    AnnIndex.build(items[:100], "exact").save(tmp_path / "index")
    with pytest.raises(ShoprecError, match="covers 100 items but the model has 101"):
        AnnIndex.load(tmp_path / "index", n_items=101)
    with pytest.raises(ShoprecError, match="32 dimensions but the model's have 33"):
        AnnIndex.load(tmp_path / "index", dim=33)
    with pytest.raises(ShoprecError, match="not a saved index"):
        AnnIndex.load(tmp_path / "missing")


@pytest.mark.parametrize(("vectors", "message"), [
    (np.zeros((0, 8), dtype=np.float32), "empty"),
    (np.zeros((5, 0), dtype=np.float32), "empty"),
    (np.zeros(8, dtype=np.float32), "2-d"),
    (np.zeros((5, 8), dtype=np.int64), "floating point"),
    (np.array([[1.0, np.nan], [0.0, 1.0]]), "row 0 holds NaN"),
])
def test_bad_item_vectors_give_clear_errors(vectors: np.ndarray, message: str) -> None:
    with pytest.raises(ShoprecError, match=message):
        AnnIndex.build(vectors)


def test_bad_settings_and_queries_give_clear_errors(items: np.ndarray) -> None:
    with pytest.raises(ShoprecError, match="index kind must be one of"):
        AnnIndex.build(items[:50], "lsh")  # type: ignore[arg-type]
    with pytest.raises(ShoprecError, match="m must be an integer >= 1"):
        AnnIndex.build(items[:50], "hnsw", m=0)
    with pytest.raises(ShoprecError, match="nlist must be at most the number of items"):
        AnnIndex.build(items[:50], "ivf", nlist=60)
    index = AnnIndex.build(items[:50], "exact")
    with pytest.raises(ShoprecError, match="must have 32 dimensions"):
        index.search(np.zeros((1, 31), dtype=np.float32), 5)
    with pytest.raises(ShoprecError, match="k must be >= 1"):
        index.search(np.zeros((1, 32), dtype=np.float32), 0)
    with pytest.raises(ShoprecError, match="holds NaN"):
        index.search(np.full((1, 32), np.nan, dtype=np.float32), 5)


# --------------------------------------------------------------------- retrieve
@pytest.fixture(scope="module")
def model(items: np.ndarray, queries: np.ndarray) -> VectorModel:
    return VectorModel(items, queries[:50])


def exclusions(model: VectorModel, per_user: int) -> list[np.ndarray]:
    """Each user's exact top `per_user` items among every second user (what they have seen), none
    for the others."""
    top = numpy_top(model.users, model.items, per_user)
    return [top[u] if u % 2 == 0 else np.zeros(0, np.int64) for u in range(len(model.users))]


@pytest.mark.parametrize("kind", [None, "exact"])
def test_exact_retrieval_equals_scoring_everything(kind: str | None, model: VectorModel) -> None:
    allowed = np.random.default_rng(3).random(N_ITEMS) < 0.5
    exclude = exclusions(model, 30)
    index = None if kind is None else AnnIndex.build(model.items, kind)
    got = retrieve(model, Histories.empty(len(model.users)), K, allowed, exclude, index)  # type: ignore[arg-type]
    for a, b in zip(got, exact_lists(model, K, allowed, exclude), strict=True):
        np.testing.assert_array_equal(a.items, b.items)
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5, atol=1e-5)


def test_hnsw_retrieval_honours_filters_and_exclusions(model: VectorModel, hnsw: AnnIndex) -> None:
    allowed = np.random.default_rng(4).random(N_ITEMS) < 0.3
    exclude = exclusions(model, 200)  # more than the first ask: the index is asked again, wider
    got = retrieve(model, Histories.empty(len(model.users)), K, allowed, exclude, hnsw)  # type: ignore[arg-type]
    expected = exact_lists(model, K, allowed, exclude)
    for u, ranked in enumerate(got):
        assert len(ranked) == K
        assert allowed[ranked.items].all()
        assert not np.isin(ranked.items, exclude[u]).any()
        assert (np.diff(ranked.scores) <= 0).all()
    assert recall_at(np.array([r.items for r in got]), np.array([r.items for r in expected])) >= 0.95


def test_the_index_is_asked_again_wider_while_too_few_survive(model: VectorModel, hnsw: AnnIndex,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # The catalogue's best 300 items for user 0 are not allowed: 98.5% of items are, so the first
    # ask is for about k + margin items, and nearly all of them are filtered out.
    allowed = np.ones(N_ITEMS, dtype=bool)
    allowed[numpy_top(model.users[:1], model.items, 300)[0]] = False
    widths: list[int] = []
    search = hnsw.search
    monkeypatch.setattr(hnsw, "search", lambda users, k, **kw: widths.append(k) or search(users, k, **kw))
    got = retrieve(model, Histories.empty(1), K, allowed, None, hnsw)  # type: ignore[arg-type]
    assert widths[0] < 300 < widths[-1] and all(b == 2 * a for a, b in zip(widths, widths[1:], strict=False))
    expected = exact_lists(model, K, allowed, [np.zeros(0, np.int64)])[0]
    assert len(got[0]) == K and allowed[got[0].items].all()
    assert len(np.intersect1d(got[0].items, expected.items)) >= 9


def test_restrictive_filters_fall_back_to_exhaustive_scoring(model: VectorModel, hnsw: AnnIndex) -> None:
    allowed = np.zeros(N_ITEMS, dtype=bool)
    allowed[np.random.default_rng(5).choice(N_ITEMS, 100, replace=False)] = True  # 0.5% of the catalogue
    exclude = exclusions(model, 5)
    got = retrieve(model, Histories.empty(len(model.users)), K, allowed, exclude, hnsw)  # type: ignore[arg-type]
    for a, b in zip(got, exact_lists(model, K, allowed, exclude), strict=True):
        np.testing.assert_array_equal(a.items, b.items)


def test_fewer_eligible_items_than_k_returns_them_all(model: VectorModel, hnsw: AnnIndex) -> None:
    allowed = np.zeros(N_ITEMS, dtype=bool)
    allowed[[7, 70, 700]] = True
    exclude = [np.array([70]), np.array([7, 70, 700])] + [np.zeros(0, np.int64)] * (len(model.users) - 2)
    got = retrieve(model, Histories.empty(len(model.users)), K, allowed, exclude, hnsw)  # type: ignore[arg-type]
    assert sorted(got[0].items.tolist()) == [7, 700]
    assert len(got[1]) == 0
    assert sorted(got[2].items.tolist()) == [7, 70, 700]


def test_retrieve_from_a_fitted_model_equals_its_recommendations(tmp_path: Path) -> None:
    dataset, _ = shop(9, n_users=40, n_items=30)
    fitted = IALSRecommender(factors=4, iterations=5).fit(dataset)
    histories = dataset.histories()
    seen = seen_items(histories)
    expected = fitted.recommend(histories, 5, exclude=seen)
    for index in (None, AnnIndex.build(fitted.item_vectors())):
        got = retrieve(fitted, histories, 5, exclude=seen, index=index)
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_array_equal(a.items, b.items)
            np.testing.assert_allclose(a.scores, b.scores, rtol=1e-4, atol=1e-5)


def test_retrieve_refuses_what_it_cannot_serve(model: VectorModel, items: np.ndarray) -> None:
    histories = Histories.empty(2)
    with pytest.raises(ShoprecError, match="has no item and user vectors"):
        retrieve(object(), histories, K)  # type: ignore[arg-type]
    with pytest.raises(ShoprecError, match="covers 100 items but the model has 20000"):
        retrieve(model, histories, K, index=AnnIndex.build(items[:100], "exact"))  # type: ignore[arg-type]
    with pytest.raises(ShoprecError, match="boolean mask of 20000 items"):
        retrieve(model, histories, K, allowed=np.ones(5, dtype=bool))  # type: ignore[arg-type]
    with pytest.raises(ShoprecError, match="one array per user"):
        retrieve(model, histories, K, exclude=[np.zeros(0, np.int64)])  # type: ignore[arg-type]
