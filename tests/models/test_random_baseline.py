"""The random baseline: reproducible per history, different across histories and seeds."""

from __future__ import annotations

import numpy as np
import pytest

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.data.schema import EVENT_TYPE_CODE
from shoprec.errors import ConfigError
from shoprec.models.random_baseline import RandomRecommender

VIEW = EVENT_TYPE_CODE["view"]


def test_same_history_same_scores_anywhere_in_a_batch(planted: Dataset) -> None:
    model = RandomRecommender(seed=3).fit(planted)
    histories = Histories.from_lists([[(1, VIEW, 10)], [(2, VIEW, 10)], [(1, VIEW, 10)]])
    scores = model.score(histories)
    np.testing.assert_array_equal(scores[0], scores[2])
    assert not np.array_equal(scores[0], scores[1])


def test_a_new_event_or_another_seed_gives_a_new_draw(planted: Dataset) -> None:
    before = Histories.from_lists([[(1, VIEW, 10)]])
    after = Histories.from_lists([[(1, VIEW, 10), (4, VIEW, 11)]])
    model = RandomRecommender(seed=3).fit(planted)
    assert not np.array_equal(model.score(before), model.score(after))
    assert not np.array_equal(model.score(before), RandomRecommender(seed=4).fit(planted).score(before))


def test_scores_are_uniform_in_unit_interval(planted: Dataset) -> None:
    model = RandomRecommender().fit(planted)
    scores = model.score(Histories.from_lists([[(1, VIEW, t)] for t in range(500)]))  # 500 distinct histories
    assert scores.min() >= 0 and scores.max() < 1
    # 500 x 12 = 6000 uniform draws: the mean is 0.5 within a few standard errors (0.29 / sqrt(6000) = 0.004).
    assert abs(scores.mean() - 0.5) < 0.02


def test_negative_seed_is_refused(planted: Dataset) -> None:
    with pytest.raises(ConfigError, match="seed must be an integer >= 0"):
        RandomRecommender(seed=-1).fit(planted)
