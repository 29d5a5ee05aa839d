"""Fusion learns from at most MAX_VALIDATION_USERS validation users: a seeded sample, the train side untouched."""

from __future__ import annotations

import numpy as np

from shoprec.data.dataset import Dataset
from shoprec.evaluation.splits import make_split
from shoprec.ranking.learn import prepare_validation, sample_users
from tests.ranking.conftest import shop_events, shop_items


def _dataset() -> Dataset:
    return Dataset.from_frames(shop_events(), shop_items())


def test_a_split_with_more_users_keeps_a_seeded_sample_of_them() -> None:
    split = make_split(_dataset(), "temporal", test_fraction=0.3)
    users = np.unique(split.test.event_users)
    assert len(users) > 6
    sampled = sample_users(split, 5, seed=1)
    kept = np.unique(sampled.test.event_users)
    assert len(kept) == 5 and set(kept) <= set(users)
    # every test event of a kept user stays, no event of another one
    assert sampled.test.n_events == int(np.isin(split.test.event_users, kept).sum())
    assert sampled.train is split.train
    assert sampled.info["validation_users_sampled"] == f"5 of {len(users)}"
    again = sample_users(split, 5, seed=1)
    np.testing.assert_array_equal(np.unique(again.test.event_users), kept)
    other = sample_users(split, 5, seed=2)
    assert not np.array_equal(np.unique(other.test.event_users), kept)


def test_no_cap_or_a_cap_above_the_users_changes_nothing() -> None:
    split = make_split(_dataset(), "temporal", test_fraction=0.3)
    n = len(np.unique(split.test.event_users))
    assert sample_users(split, None) is split
    assert sample_users(split, n) is split


def test_fusion_learning_sees_at_most_the_cap() -> None:
    dataset = _dataset()
    members = {"popularity": {}, "itemknn": {}}
    full = prepare_validation(members, dataset, protocol="temporal", options={"test_fraction": 0.3}, max_users=None)
    capped = prepare_validation(members, dataset, protocol="temporal", options={"test_fraction": 0.3}, max_users=4)
    assert len(full.task.users) > 4
    assert 1 <= len(capped.task.users) <= 4
    assert set(capped.task.users) <= set(full.task.users)
    assert capped.split_info["validation_users_sampled"].startswith("4 of ")
