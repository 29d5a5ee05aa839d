"""The invariants of each split protocol."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shoprec.data.dataset import Dataset
from shoprec.errors import ConfigError
from shoprec.evaluation.splits import (
    last_session_split,
    leave_last_split,
    make_split,
    stratified_split,
    temporal_split,
    validation_split,
)

MINUTE = 60_000


def frame(rows: list[tuple], sessions: bool = False) -> Dataset:
    columns = ["user_id", "item_id", "event_type", "timestamp"] + (["session_id"] if sessions else [])
    return Dataset.from_frames(pd.DataFrame(rows, columns=columns))


def random_shop(n_events: int = 2000, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    return frame([
        (f"u{rng.integers(50)}", f"i{rng.integers(40)}", str(rng.choice(["view", "purchase"])), int(rng.integers(10**9)))
        for _ in range(n_events)
    ])


def events(ds: Dataset) -> list[tuple[str, str, int]]:
    """(user, item, time) of each event, for comparing sides."""
    return sorted(zip(ds.user_ids.id_of(ds.event_users), ds.item_ids.id_of(ds.event_items), ds.timestamps.tolist(), strict=True))


def test_sides_partition_the_events_and_keep_id_maps() -> None:
    ds = random_shop()
    for method in ("temporal", "leave-last", "stratified", "last-session"):
        split = make_split(ds, method)
        assert split.train.n_events + split.test.n_events == ds.n_events
        assert sorted(events(split.train) + events(split.test)) == events(ds)
        assert split.train.item_ids is ds.item_ids and split.test.user_ids is ds.user_ids
        assert split.info["method"] == method
        assert split.info["test_events"] == split.test.n_events


def test_temporal_fraction_and_order() -> None:
    ds = frame([(f"u{i % 3}", f"i{i}", "view", i * MINUTE) for i in range(10)])
    split = temporal_split(ds, test_fraction=0.2)
    assert split.test.timestamps.tolist() == [8 * MINUTE, 9 * MINUTE]  # the last 2 of 10
    assert split.train.timestamps.max() < split.test.timestamps.min()


def test_temporal_ties_at_the_boundary_go_to_test() -> None:
    # Times 0..7 and then three events at time 8: 20% of 11 is 2 events, but all three share a time.
    ds = frame([(f"u{i}", "i", "view", min(i, 8)) for i in range(11)])
    split = temporal_split(ds, test_fraction=0.2)
    assert split.test.n_events == 3
    assert split.train.timestamps.max() < split.test.timestamps.min()


def test_temporal_cutoff() -> None:
    day = 86_400_000
    ds = frame([("u", f"i{d}", "view", d * day) for d in range(5)])  # 1970-01-01 .. 1970-01-05
    split = temporal_split(ds, cutoff="1970-01-04")
    assert split.test.timestamps.tolist() == [3 * day, 4 * day]
    assert split.info["options"]["cutoff"].startswith("1970-01-04T00:00:00")
    assert temporal_split(ds, cutoff=3 * day).test.n_events == 2


def test_leave_last_takes_each_users_last_n() -> None:
    rows = [("a", f"i{t}", "view", t) for t in range(5)] + [("b", "x", "view", 1), ("b", "y", "view", 2)]
    split = leave_last_split(frame(rows), last_n=2)
    assert events(split.test) == [("a", "i3", 3), ("a", "i4", 4)]
    # b has only 2 events (not more than last_n): b stays wholly in train.
    assert [e for e in events(split.train) if e[0] == "b"] == [("b", "x", 1), ("b", "y", 2)]


def test_leave_last_on_a_random_shop() -> None:
    ds = random_shop()
    split = leave_last_split(ds, last_n=3)
    for u in range(ds.n_users):
        train_times = split.train.timestamps[split.train.event_users == u]
        test_times = split.test.timestamps[split.test.event_users == u]
        if len(test_times):
            assert len(test_times) == 3
            assert train_times.max() <= test_times.min()


def test_stratified_by_item_puts_the_ratio_of_each_items_interactions_in_train() -> None:
    # Item p: 8 users; q: 4 users; r: 2 users; s: 1 user. Train shares: round(0.75 * m) =
    # 6, 3, round(1.5) = 2 (half to even), round(0.75) = 1.
    rows = [(f"u{u}", item, "view", u) for item, n in (("p", 8), ("q", 4), ("r", 2), ("s", 1)) for u in range(n)]
    split = stratified_split(frame(rows), ratio=0.75, by="item", seed=1)
    train_counts = pd.Series(split.train.item_ids.id_of(split.train.event_items)).value_counts().to_dict()
    assert train_counts == {"p": 6, "q": 3, "r": 2, "s": 1}


def test_stratified_by_user_and_pairs_stay_together() -> None:
    # One user with 8 items, each viewed and then purchased: 6 items (12 events) go to train.
    rows = [("u", f"i{i}", kind, 2 * i + (kind == "purchase")) for i in range(8) for kind in ("view", "purchase")]
    split = stratified_split(frame(rows), ratio=0.75, by="user", seed=3)
    train_items = set(split.train.event_items.tolist())
    test_items = set(split.test.event_items.tolist())
    assert len(train_items) == 6 and len(test_items) == 2
    assert not train_items & test_items  # a view and its purchase never straddle the split
    assert split.train.n_events == 12


def test_stratified_is_deterministic_per_seed() -> None:
    ds = random_shop()
    first, again = stratified_split(ds, seed=42), stratified_split(ds, seed=42)
    assert events(first.test) == events(again.test)
    assert events(first.test) != events(stratified_split(ds, seed=43).test)


def test_last_session_with_session_ids() -> None:
    rows = [
        ("a", "x", "view", 1, "s1"), ("a", "y", "view", 2, "s1"),
        ("a", "z", "view", 3, "s2"), ("a", "w", "purchase", 4, "s2"),
        ("b", "x", "view", 5, "s3"), ("b", "y", "view", 6, "s3"),  # one session only: stays in train
    ]
    split = last_session_split(frame(rows, sessions=True))
    assert events(split.test) == [("a", "w", 4), ("a", "z", 3)]
    assert {e[0] for e in events(split.train)} == {"a", "b"}


def test_last_session_cut_by_gaps_without_session_ids() -> None:
    minutes = [0, 10, 50, 60]  # 40 minutes between 10 and 50: a new session starts at 50
    rows = [("a", f"i{m}", "view", m * MINUTE) for m in minutes] + [("b", "j", "view", 0), ("b", "k", "view", 29 * MINUTE)]
    split = last_session_split(frame(rows))
    assert events(split.test) == [("a", "i50", 50 * MINUTE), ("a", "i60", 60 * MINUTE)]
    assert split.train.n_events == 4  # a's first session and all of b (one session: 29 minutes < 30)


def test_make_split_errors_name_the_choices() -> None:
    ds = random_shop(50)
    with pytest.raises(ConfigError, match="leave-last"):
        make_split(ds, "chronological")
    with pytest.raises(ConfigError, match="last_n"):
        make_split(ds, "leave_last", n=3)
    with pytest.raises(ConfigError, match="between 0 and 1"):
        make_split(ds, "temporal", test_fraction=1.5)
    assert make_split(ds, "leave_last", last_n=2).info["options"] == {"last_n": 2}


def test_validation_split_is_carved_from_train_with_the_same_protocol() -> None:
    ds = random_shop()
    split = make_split(ds, "temporal", test_fraction=0.2)
    validation = validation_split(split)
    assert validation.info["method"] == "temporal" and validation.info["validation"] is True
    assert validation.train.n_events + validation.test.n_events == split.train.n_events
    assert validation.test.timestamps.max() < split.test.timestamps.min()
    assert validation.train.timestamps.max() < validation.test.timestamps.min()
    # Another protocol, or a plain Dataset with a method, works too.
    assert validation_split(split, "leave-last", last_n=1).info["options"] == {"last_n": 1}
    assert validation_split(split.train, "stratified").train.n_events > 0
    with pytest.raises(ConfigError, match="needs a method"):
        validation_split(split.train)
