"""Train/test splits of a Dataset, all by event masks (the id maps stay the same on both sides).

Four protocols: global temporal, leave-last-N per user, random stratified (by item or by user),
and last session per user. `make_split` picks one by name; `validation_split` carves a
validation split out of a train set with the same protocol (fusion tunes on it).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from shoprec.data.dataset import Dataset
from shoprec.errors import ConfigError

MS_PER_MINUTE = 60_000
SPLIT_METHODS = ("temporal", "leave-last", "stratified", "last-session")


@dataclass(frozen=True)
class Split:
    """A train and a test Dataset over the same users and items, and how they were made.

    `info` holds at least `method`, `options` (JSON-able) and the event counts of each side.
    """

    train: Dataset
    test: Dataset
    info: dict[str, Any]


def _split(ds: Dataset, test_mask: np.ndarray, method: str, options: dict[str, Any]) -> Split:
    info = {
        "method": method,
        "options": options,
        "train_events": int((~test_mask).sum()),
        "test_events": int(test_mask.sum()),
    }
    return Split(train=ds.subset(~test_mask), test=ds.subset(test_mask), info=info)


def _to_ms(cutoff: int | str | datetime | pd.Timestamp) -> int:
    if isinstance(cutoff, (int, np.integer)):
        return int(cutoff)
    stamp = pd.Timestamp(cutoff)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value // 1_000_000)


def temporal_split(
    ds: Dataset, test_fraction: float = 0.2, cutoff: int | str | datetime | pd.Timestamp | None = None
) -> Split:
    """The latest events go to test: those at or after `cutoff` (epoch ms, ISO string or datetime,
    naive times read as UTC), or else the last `test_fraction` of events in time order.

    Events sharing the boundary timestamp all go to test, so every test event is strictly later
    than every train event; the test share can then be a little above `test_fraction`.
    """
    if cutoff is None:
        if not 0 < test_fraction < 1:
            raise ConfigError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")
        n_test = int(round(ds.n_events * test_fraction))
        if n_test == 0:
            return _split(ds, np.zeros(ds.n_events, dtype=bool), "temporal", {"test_fraction": test_fraction})
        cutoff_ms = int(np.sort(ds.timestamps)[ds.n_events - n_test])
        options: dict[str, Any] = {"test_fraction": test_fraction}
    else:
        cutoff_ms = _to_ms(cutoff)
        options = {}
    options["cutoff"] = pd.Timestamp(cutoff_ms, unit="ms", tz="UTC").isoformat()
    return _split(ds, ds.timestamps >= cutoff_ms, "temporal", options)


def _user_time_order(ds: Dataset) -> np.ndarray:
    """Event positions sorted by user, then time, then original position (a stable tie order)."""
    return np.lexsort((np.arange(ds.n_events), ds.timestamps, ds.event_users))


def leave_last_split(ds: Dataset, last_n: int = 1) -> Split:
    """Each user's last `last_n` events (by time) go to test.

    Counted by event, not by distinct item: the last n events may repeat an item. Users with at
    most `last_n` events stay wholly in train, so every test user has a train history.
    """
    if last_n < 1:
        raise ConfigError(f"last_n must be >= 1, got {last_n}")
    order = _user_time_order(ds)
    users = ds.event_users[order]
    counts = np.bincount(users, minlength=ds.n_users)
    ends = np.cumsum(counts)  # one past each user's last sorted position
    from_end = ends[users] - 1 - np.arange(ds.n_events)  # 0 for a user's last event
    test_sorted = (from_end < last_n) & (counts[users] > last_n)
    test_mask = np.zeros(ds.n_events, dtype=bool)
    test_mask[order] = test_sorted
    return _split(ds, test_mask, "leave-last", {"last_n": last_n})


def stratified_split(ds: Dataset, ratio: float = 0.75, by: str = "item", seed: int = 42) -> Split:
    """Within each item's (or each user's) interactions, a random `ratio` go to train.

    An interaction is a distinct (user, item) pair; all its events go to the same side, so a
    view and a later purchase of one item never straddle the split. A group of m interactions
    puts `round(ratio * m)` in train, rounding half to even as Python and Microsoft Recommenders'
    `python_stratified_split` do (the protocol of its MovieLens benchmark table, with `by="item"`).
    """
    if not 0 < ratio < 1:
        raise ConfigError(f"ratio must be between 0 and 1 (exclusive), got {ratio}")
    if by not in ("item", "user"):
        raise ConfigError(f"by must be 'item' or 'user', got {by!r}")
    if ds.n_events == 0:
        return _split(ds, np.zeros(0, dtype=bool), "stratified", {"ratio": ratio, "by": by, "seed": seed})
    pair_keys = ds.event_users.astype(np.int64) * ds.n_items + ds.event_items.astype(np.int64)
    pairs, pair_of_event = np.unique(pair_keys, return_inverse=True)
    group = pairs % ds.n_items if by == "item" else pairs // ds.n_items
    shuffle = np.random.default_rng(seed).random(len(pairs))
    order = np.lexsort((shuffle, group))  # within each group, a random order
    sorted_group = group[order]
    sizes = np.bincount(sorted_group, minlength=ds.n_items if by == "item" else ds.n_users)
    starts = np.cumsum(sizes) - sizes
    rank = np.arange(len(pairs)) - starts[sorted_group]
    n_train = np.round(ratio * sizes)  # numpy rounds half to even, like Python's round
    pair_in_test = np.zeros(len(pairs), dtype=bool)
    pair_in_test[order] = rank >= n_train[sorted_group]
    return _split(ds, pair_in_test[pair_of_event], "stratified", {"ratio": ratio, "by": by, "seed": seed})


def session_keys(ds: Dataset, gap_minutes: float = 30.0) -> np.ndarray:
    """A session key per event: the dataset's session where there is one, else sessions cut from
    each user's sessionless events by gaps longer than `gap_minutes`."""
    order = _user_time_order(ds)
    users, times = ds.event_users[order], ds.timestamps[order]
    new_run = np.ones(ds.n_events, dtype=bool)
    new_run[1:] = (users[1:] != users[:-1]) | (np.diff(times) > gap_minutes * MS_PER_MINUTE)
    run_sorted = np.cumsum(new_run) - 1
    runs = np.empty(ds.n_events, dtype=np.int64)
    runs[order] = run_sorted
    offset = int(ds.sessions.max()) + 1 if ds.n_events else 0
    # Gap-made keys are shifted past the dataset's own session codes so the two never collide.
    return np.where(ds.sessions >= 0, ds.sessions, offset + runs)


def last_session_split(ds: Dataset, gap_minutes: float = 30.0) -> Split:
    """Each user's last session (the session of their latest event) goes to test.

    Users with a single session stay wholly in train. Events without a session id are grouped
    into sessions by `gap_minutes` of inactivity (see `session_keys`).
    """
    if gap_minutes <= 0:
        raise ConfigError(f"gap_minutes must be > 0, got {gap_minutes}")
    keys = session_keys(ds, gap_minutes)
    order = _user_time_order(ds)
    users = ds.event_users[order]
    last_of_user = np.ones(ds.n_events, dtype=bool)
    last_of_user[:-1] = users[1:] != users[:-1]
    last_key = np.full(ds.n_users, -1, dtype=np.int64)
    last_key[users[last_of_user]] = keys[order][last_of_user]
    in_last = keys == last_key[ds.event_users]
    # A user whose events all sit in the last session has no other session to train on.
    events_per_user = np.bincount(ds.event_users, minlength=ds.n_users)
    last_per_user = np.bincount(ds.event_users[in_last], minlength=ds.n_users)
    several = last_per_user < events_per_user
    return _split(ds, in_last & several[ds.event_users], "last-session", {"gap_minutes": gap_minutes})


_SPLITTERS: dict[str, Callable[..., Split]] = {
    "temporal": temporal_split,
    "leave-last": leave_last_split,
    "stratified": stratified_split,
    "last-session": last_session_split,
}


def make_split(ds: Dataset, method: str, **options: Any) -> Split:
    """Split by protocol name (`temporal`, `leave-last`, `stratified`, `last-session`; `_` works for `-`)."""
    splitter = _SPLITTERS.get(method.replace("_", "-"))
    if splitter is None:
        raise ConfigError(f"unknown split {method!r}, expected one of {', '.join(SPLIT_METHODS)}")
    known = [name for name in inspect.signature(splitter).parameters if name != "ds"]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ConfigError(f"split {method!r} has no option {unknown[0]!r}, expected one of {', '.join(known)}")
    return splitter(ds, **options)


def validation_split(source: Split | Dataset, method: str | None = None, **options: Any) -> Split:
    """A split of the train side into train and validation, by the same protocol by default.

    Given a Split, its method and options are reused (a temporal split's fixed cutoff is
    dropped in favour of its fraction, since a cutoff inside test would leave validation empty);
    given a Dataset, `method` is required. `options` override what is reused.
    """
    if isinstance(source, Split):
        dataset = source.train
        method = method or source.info["method"]
        reused = dict(source.info.get("options", {})) if method == source.info["method"] else {}
        reused.pop("cutoff", None)
    elif method is None:
        raise ConfigError("validation_split of a Dataset needs a method")
    else:
        dataset, reused = source, {}
    split = make_split(dataset, method, **{**reused, **options})
    return Split(split.train, split.test, {**split.info, "validation": True})
