"""The base class's own machinery, through small test-only models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from shoprec.config import WeightConfig
from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.data.idmap import IdMap
from shoprec.data.schema import EVENT_TYPE_CODE
from shoprec.errors import ConfigError, ShoprecError
from shoprec.models import state_codec
from shoprec.models.base import Recommender, kth_largest, seen_items, top_k
from shoprec.models.ranked import RankedList

DAY = 86_400_000
VIEW, PURCHASE, SEARCH = EVENT_TYPE_CODE["view"], EVENT_TYPE_CODE["purchase"], EVENT_TYPE_CODE["search"]


class Cooccurrence(Recommender):
    """Scores `history @ C`, C the item co-occurrence counts: personalised, with sparse state."""

    def __init__(self, *, min_count: int = 1) -> None:
        self.min_count = min_count

    def _fit(self, dataset: Dataset) -> None:
        touched = dataset.interactions(weighted=False)
        touched.data[:] = 1
        counts = (touched.T @ touched).tocsr()
        counts.setdiag(0)
        counts.data[counts.data < self.min_count] = 0
        counts.eliminate_zeros()
        self.similarity_ = counts
        self.label_ = "co-occurrence"

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        scores = (self.history_matrix(histories) @ self.similarity_).toarray()
        return scores if items is None else scores[:, items]


class Fixed(Recommender):
    """Returns the scores it is given, for testing recommend's masking."""

    personalised = False

    def __init__(self, *, values: tuple[float, ...] = ()) -> None:
        self.values = values

    def _fit(self, dataset: Dataset) -> None:
        self.n_items_ = len(self.values)

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        row = np.array(self.values, dtype=np.float32)
        return np.tile(row if items is None else row[items], (len(histories), 1))


class Broken(Recommender):
    def _fit(self, dataset: Dataset) -> None:
        raise RuntimeError("boom")

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        return np.zeros((1, 1))


def fixed(*values: float, planted: Dataset) -> Fixed:
    return Fixed(values=values).fit(planted)


def test_planted_pattern_with_a_personalised_model(planted: Dataset) -> None:
    model = Cooccurrence().fit(planted)
    histories = Histories.from_lists([[(0, VIEW, 0), (1, PURCHASE, 1)], [(5, VIEW, 0), (6, PURCHASE, 1)]])
    lists = model.recommend(histories, 3, exclude=seen_items(histories))
    assert set(lists[0].items.tolist()) <= {2, 3, 4}
    assert set(lists[1].items.tolist()) <= {7, 8, 9}


def test_sparse_and_json_state_round_trip(planted: Dataset, tmp_path: Path) -> None:
    model = Cooccurrence(min_count=2).fit(planted)
    model.save(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["class"] == "Cooccurrence"
    assert meta["params"] == {"min_count": 2}
    loaded = Cooccurrence.load(tmp_path)
    assert sp.issparse(loaded.similarity_)
    assert (loaded.similarity_ != model.similarity_).nnz == 0
    assert loaded.label_ == "co-occurrence"
    assert loaded.weights_ == planted.weights


class DenseCooccurrence(Cooccurrence):
    """The same scores from a dense matrix, to test how large dense state is saved."""

    def _fit(self, dataset: Dataset) -> None:
        super()._fit(dataset)
        self.dense_ = self.similarity_.toarray().astype(np.float32)
        self.small_ = np.arange(3)

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        scores = np.asarray(self.history_matrix(histories) @ self.dense_)
        return scores if items is None else scores[:, items]


def test_large_dense_state_is_memory_mapped_read_only_and_scores_the_same(planted: Dataset, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    model = DenseCooccurrence().fit(planted)
    monkeypatch.setattr(state_codec, "MMAP_MIN_BYTES", model.dense_.nbytes)  # dense_ is large enough, small_ is not
    model.save(tmp_path)
    assert (tmp_path / "dense_.npy").exists() and not (tmp_path / "small_.npy").exists()
    with np.load(tmp_path / "state.npz") as npz:
        assert "dense_" not in npz.files and "small_" in npz.files
    loaded = DenseCooccurrence.load(tmp_path)
    assert isinstance(loaded.dense_, np.memmap) and not loaded.dense_.flags.writeable
    assert not isinstance(loaded.small_, np.memmap)
    histories = Histories.from_lists([[(0, VIEW, 0), (1, PURCHASE, 1)], [(5, VIEW, 0)]])
    np.testing.assert_array_equal(loaded.score(histories), model.score(histories))


def test_a_state_file_outside_the_model_folder_is_refused(planted: Dataset, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_codec, "MMAP_MIN_BYTES", 0)
    DenseCooccurrence().fit(planted).save(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    meta["state"]["dense_"]["file"] = "../elsewhere.npy"
    (tmp_path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ShoprecError, match="dense_.*'../elsewhere.npy'"):
        DenseCooccurrence.load(tmp_path)


def test_unsavable_state_names_the_attribute(planted: Dataset, tmp_path: Path) -> None:
    model = Cooccurrence().fit(planted)
    model.net_ = object()
    with pytest.raises(TypeError, match="Cooccurrence.net_"):
        model.save(tmp_path)


def test_history_matrix_decays_per_user(planted: Dataset) -> None:
    model = Cooccurrence().fit(planted)
    model.weights_ = WeightConfig(half_life_days=1.0)
    alone = Histories.from_lists([[(0, VIEW, 0), (1, PURCHASE, DAY)]])
    # Item 0 was viewed a day before the user's latest event: 1 * 0.5; item 1 purchased then: 5.
    np.testing.assert_allclose(model.history_matrix(alone).toarray()[0, :2], [0.5, 5.0])
    # A second user with much later events in the batch does not change the first user's row.
    batch = Histories.from_lists([[(0, VIEW, 0), (1, PURCHASE, DAY)], [(3, VIEW, 100 * DAY)]])
    np.testing.assert_allclose(model.history_matrix(batch).toarray()[0], model.history_matrix(alone).toarray()[0])


def test_history_matrix_drops_unknown_items_and_weightless_events(planted: Dataset) -> None:
    model = Cooccurrence().fit(planted)
    histories = Histories.from_lists([[(2, VIEW, 0), (2, VIEW, 1), (3, SEARCH, 2), (planted.n_items + 5, VIEW, 3)]])
    matrix = model.history_matrix(histories)
    assert matrix.shape == (1, planted.n_items)
    assert matrix.toarray()[0].tolist() == [0, 0, 2] + [0] * (planted.n_items - 3)


def test_failed_fit_leaves_the_model_unfitted(planted: Dataset) -> None:
    model = Broken()
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(planted)
    assert not model.is_fitted


def test_recommend_skips_minus_inf_and_nan(planted: Dataset) -> None:
    model = fixed(0.5, -np.inf, np.nan, 2.0, 0.5, planted=planted)
    ranked = model.recommend(Histories.empty(1), 10)[0]
    assert ranked.items.tolist() == [3, 0, 4]  # 0 and 4 tie: the lower index first
    np.testing.assert_allclose(ranked.scores, [2.0, 0.5, 0.5])


def test_recommend_checks_its_arguments(planted: Dataset) -> None:
    model = fixed(1.0, 2.0, planted=planted)
    with pytest.raises(ValueError, match="k must be >= 1, got 0"):
        model.recommend(Histories.empty(1), 0)
    with pytest.raises(ValueError, match="one array per user"):
        model.recommend(Histories.empty(2), 1, exclude=[np.array([0])])


def test_exclusion_ignores_items_outside_the_catalogue(planted: Dataset) -> None:
    model = fixed(3.0, 2.0, 1.0, planted=planted)
    ranked = model.recommend(Histories.empty(1), 3, exclude=[np.array([0, 7, -1])])[0]
    assert ranked.items.tolist() == [1, 2]


def test_seen_items_by_event_type() -> None:
    histories = Histories.from_lists([[(4, VIEW, 0), (2, PURCHASE, 1), (4, PURCHASE, 2)], [], [(1, SEARCH, 0)]])
    assert [s.tolist() for s in seen_items(histories)] == [[2, 4], [], [1]]
    assert [s.tolist() for s in seen_items(histories, {"purchase"})] == [[2, 4], [], []]
    assert [s.tolist() for s in seen_items(histories, {"view"})] == [[4], [], []]
    with pytest.raises(ConfigError, match="unknown event type 'bought'"):
        seen_items(histories, {"bought"})


def test_repr_and_params() -> None:
    assert repr(Cooccurrence(min_count=3)) == "Cooccurrence(min_count=3)"
    assert Cooccurrence(min_count=3).get_params() == {"min_count": 3}


def test_ranked_list() -> None:
    ranked = RankedList([3, 1], [0.9, 0.2])
    assert len(ranked) == 2
    assert ranked.items.dtype == np.int64 and ranked.scores.dtype == np.float32
    assert ranked.head(1).items.tolist() == [3]
    assert ranked.to_external(IdMap(["a", "b", "c", "d"])) == [("d", pytest.approx(0.9)), ("b", pytest.approx(0.2))]
    assert len(RankedList.empty()) == 0
    with pytest.raises(ValueError, match="one length"):
        RankedList([1, 2], [0.5])


# ----------------------------------------------------------------- top_k and kth_largest
@pytest.mark.parametrize("shape", ["random", "mostly_zero", "mostly_minus_inf", "all_equal", "few_distinct"])
@pytest.mark.parametrize("k", [1, 10, 1000, 9000])
def test_kth_largest_matches_a_full_sort(shape: str, k: int) -> None:
    rng = np.random.default_rng(len(shape) * 7 + k)
    n = 20_000
    values = {
        "random": rng.normal(size=n),
        "mostly_zero": np.where(rng.random(n) < 0.02, rng.random(n), 0.0),
        "mostly_minus_inf": np.where(rng.random(n) < 0.01, rng.random(n), -np.inf),
        "all_equal": np.full(n, 3.5),
        "few_distinct": rng.integers(0, 4, n).astype(float),
    }[shape].astype(np.float32)
    assert kth_largest(values, k) == np.sort(values)[::-1][k - 1]


def test_top_k_on_a_sparse_score_row_keeps_ties_to_the_lower_index() -> None:
    n = 50_000
    scores = np.zeros((1, n), dtype=np.float32)
    scores[0, [40_000, 7, 123]] = [0.9, 0.5, 0.9]
    scores[0, 10:20] = -np.inf
    ranked = top_k(scores, np.arange(n), 6)[0]
    # 123 and 40000 tie at 0.9 (lower index first), then 7, then zeros from index 0 upwards
    assert ranked.items.tolist() == [123, 40_000, 7, 0, 1, 2]
    assert ranked.scores.tolist() == pytest.approx([0.9, 0.9, 0.5, 0.0, 0.0, 0.0])
