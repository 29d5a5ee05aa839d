"""Candidate generation: union of members' top-N, full scores, exclusions, broken models rejected."""

from __future__ import annotations

import numpy as np
import pytest

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.models.base import Recommender
from shoprec.ranking.candidates import generate
from shoprec.ranking.fusion import FusionError


class Fixed(Recommender):
    """Scores every history with one fixed row (a stand-in member)."""

    def __init__(self, *, row: tuple[float, ...] = ()) -> None:
        self.row = row

    def _fit(self, dataset: Dataset) -> None:
        pass

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        scores = np.tile(np.asarray(self.row, dtype=np.float32), (len(histories), 1))
        return scores if items is None else scores[:, items]


class Declared(Fixed):
    """The same member, declaring its row fixed: candidate generation walks its precomputed ranking."""

    def fixed_scores(self) -> np.ndarray | None:
        return np.asarray(self.row, dtype=np.float32)


def member(row: list[float], kind: type[Fixed] = Fixed) -> Fixed:
    model = kind(row=tuple(row))
    model.n_items_ = len(row)
    return model


@pytest.mark.parametrize("seed", range(5))
def test_a_declared_fixed_row_gives_the_same_candidates_as_scoring_it(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_items, n_users = 3_000, 4
    row = rng.integers(0, 50, n_items).astype(float)  # many ties
    row[rng.random(n_items) < 0.2] = -np.inf
    allowed = rng.random(n_items) < 0.7
    exclude = [rng.choice(n_items, size=int(rng.integers(0, 300)), replace=False) for _ in range(n_users)]
    other = member(rng.random(n_items).tolist())
    batches = [generate({"fixed": member(row.tolist(), kind), "other": other}, Histories.empty(n_users), n=150,
                        exclude=exclude, allowed=allowed) for kind in (Fixed, Declared)]
    scored, walked = batches
    np.testing.assert_array_equal(walked.user_rows, scored.user_rows)
    np.testing.assert_array_equal(walked.items, scored.items)
    np.testing.assert_array_equal(walked.scores, scored.scores)
    np.testing.assert_array_equal(walked.ranks, scored.ranks)
    np.testing.assert_array_equal(walked.lengths, scored.lengths)
    assert (walked.lengths[:, 0] == 150).all()


def test_union_of_top_n_with_every_members_score():
    a = member([5, 4, 3, 2, 1, 0])
    b = member([0, 1, 2, 3, 4, 5])
    batch = generate({"a": a, "b": b}, Histories.empty(1), n=2)
    assert batch.items.tolist() == [0, 1, 4, 5]
    np.testing.assert_array_equal(batch.scores[:, 0], [5, 4, 1, 0])  # a's score even outside its top 2
    np.testing.assert_array_equal(batch.ranks[:, 0], [1, 2, np.nan, np.nan])
    np.testing.assert_array_equal(batch.ranks[:, 1], [np.nan, np.nan, 2, 1])
    assert batch.lengths.tolist() == [[2, 2]]


@pytest.mark.parametrize("kind", [Fixed, Declared])
def test_excluded_and_disallowed_items_never_become_candidates(kind):
    a = member([5, 4, 3, 2, 1, 0], kind)
    allowed = np.array([True, True, True, False, True, True])
    batch = generate({"a": a}, Histories.empty(2), n=3, exclude=[np.array([0]), np.array([1])], allowed=allowed)
    first = batch.items[batch.user_rows == 0].tolist()
    second = batch.items[batch.user_rows == 1].tolist()
    assert first == [1, 2, 4] and second == [0, 2, 4]


@pytest.mark.parametrize("kind", [Fixed, Declared])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_member_scoring_nan_or_inf_is_rejected_by_name(bad, kind):
    with pytest.raises(FusionError, match=r"model 'broken' scored item 2"):
        generate({"good": member([1, 2, 3]), "broken": member([1, 2, bad], kind)}, Histories.empty(1), n=2)


def test_minus_infinity_means_never():
    batch = generate({"a": member([1, -np.inf, 3])}, Histories.empty(1), n=3)
    assert batch.items.tolist() == [0, 2]


def test_members_must_share_a_catalogue():
    with pytest.raises(FusionError, match="different catalogues"):
        generate({"a": member([1, 2]), "b": member([1, 2, 3])}, Histories.empty(1), n=1)
