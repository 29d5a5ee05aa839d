"""Diversity rules by hand."""

from __future__ import annotations

import numpy as np
import pytest

from shoprec.data.history import Histories
from shoprec.data.schema import EVENT_TYPE_CODE
from shoprec.errors import ConfigError
from shoprec.models.ranked import RankedList
from shoprec.ranking.rules import RuleSettings, diversify, excluded

CATEGORIES = np.array([0, 0, 0, 1, 1, 2, -1])


def test_cap_keeps_at_most_n_per_category_in_rank_order():
    ranked = RankedList([0, 1, 2, 3, 4, 5, 6], [7, 6, 5, 4, 3, 2, 1])
    capped = diversify(ranked, CATEGORIES, 5, RuleSettings(diversity="cap", max_per_category=1))
    assert capped.items.tolist() == [0, 3, 5, 6]  # unknown category (-1) never counts as a repeat


def test_mmr_by_hand():
    ranked = RankedList([0, 1, 3], [1.0, 0.9, 0.0])
    # lambda 0.5: first 0 (relevance 1); then 1 scores .5*.9 - .5*1 = -.05, 3 scores .5*0 - 0 = 0 -> 3; then 1.
    chosen = diversify(ranked, CATEGORIES, 3, RuleSettings(diversity="mmr", mmr_lambda=0.5))
    assert chosen.items.tolist() == [0, 3, 1]
    relevance_only = diversify(ranked, CATEGORIES, 3, RuleSettings(diversity="mmr", mmr_lambda=1.0))
    assert relevance_only.items.tolist() == [0, 1, 3]


def test_exclusion_by_event_type():
    history = Histories.from_lists([[(1, EVENT_TYPE_CODE["view"], 1), (2, EVENT_TYPE_CODE["purchase"], 2)]])
    assert excluded(history, None)[0].tolist() == [1, 2]
    assert excluded(history, ("purchase",))[0].tolist() == [2]
    assert excluded(history, ())[0].tolist() == []


def test_bad_rule_settings():
    with pytest.raises(ConfigError, match="diversity"):
        RuleSettings(diversity="shuffle")
    with pytest.raises(ConfigError, match="mmr_lambda"):
        RuleSettings(mmr_lambda=2)
