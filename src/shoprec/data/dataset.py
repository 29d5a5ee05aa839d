"""Dataset: an immutable snapshot of the store with contiguous integer ids, for training and evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shoprec.config import WeightConfig
from shoprec.data import schema as S
from shoprec.data.history import Histories
from shoprec.data.idmap import IdMap
from shoprec.data.timestamps import clamp_times


@dataclass(frozen=True)
class Dataset:
    """Events as parallel numpy arrays (sorted by time), plus the catalogue and users.

    `items` has one row per item index (items known only from events have empty fields);
    `users` one row per user index. `sessions` holds a per-dataset session code, -1 for none.
    """

    user_ids: IdMap
    item_ids: IdMap
    users: pd.DataFrame
    items: pd.DataFrame
    event_users: np.ndarray  # int32
    event_items: np.ndarray  # int32
    event_types: np.ndarray  # int8, codes of schema.EVENT_TYPES
    timestamps: np.ndarray  # int64, epoch ms UTC
    values: np.ndarray  # float32, NaN when absent
    sessions: np.ndarray  # int64, -1 when absent
    weights: WeightConfig = field(default_factory=WeightConfig)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_events(self) -> int:
        return len(self.event_users)

    @classmethod
    def from_frames(
        cls,
        events: pd.DataFrame,
        items: pd.DataFrame | None = None,
        users: pd.DataFrame | None = None,
        weights: WeightConfig | None = None,
    ) -> Dataset:
        """Build from canonical frames (columns named as in schema; only user_id, item_id,
        event_type and timestamp are required in `events`)."""
        items = _with_columns(items, S.ITEM_COLUMNS)
        users = _with_columns(users, S.USER_COLUMNS)
        item_ids = IdMap.from_values(pd.concat([items[S.ITEM_ID].astype(str), events[S.ITEM_ID].astype(str)]).to_numpy())
        user_ids = IdMap.from_values(pd.concat([users[S.USER_ID].astype(str), events[S.USER_ID].astype(str)]).to_numpy())

        ts = events[S.TIMESTAMP]
        if pd.api.types.is_datetime64_any_dtype(ts):
            ts_ms = pd.to_datetime(ts, utc=True).dt.as_unit("ms").astype("int64").to_numpy(np.int64)
        else:
            ts_ms = np.asarray(ts, dtype=np.int64)
        ts_ms = clamp_times(ts_ms)  # a far-future or ancient time stored before times were checked
        order = np.argsort(ts_ms, kind="stable")
        codes = events[S.EVENT_TYPE].map(S.EVENT_TYPE_CODE)
        if codes.isna().any():
            bad = events[S.EVENT_TYPE][codes.isna()].iloc[0]
            raise ValueError(f"unknown event type {bad!r}, expected one of {', '.join(S.EVENT_TYPES)}")
        values = events[S.VALUE].to_numpy(np.float32, na_value=np.nan) if S.VALUE in events else np.full(len(events), np.nan, np.float32)
        if S.SESSION_ID in events:
            sessions = pd.factorize(events[S.SESSION_ID], use_na_sentinel=True)[0].astype(np.int64)
        else:
            sessions = np.full(len(events), -1, np.int64)

        return cls(
            user_ids=user_ids,
            item_ids=item_ids,
            users=align_rows(users, S.USER_ID, user_ids),
            items=align_rows(items, S.ITEM_ID, item_ids),
            event_users=user_ids.index_of(events[S.USER_ID].astype(str).to_numpy())[order].astype(np.int32),
            event_items=item_ids.index_of(events[S.ITEM_ID].astype(str).to_numpy())[order].astype(np.int32),
            event_types=codes.to_numpy(np.int8)[order],
            timestamps=ts_ms[order],
            values=values[order],
            sessions=sessions[order],
            weights=weights or WeightConfig(),
        )

    def subset(self, mask: np.ndarray) -> Dataset:
        """The same users, items and id maps, with only the events where `mask` is true."""
        return replace(
            self,
            event_users=self.event_users[mask],
            event_items=self.event_items[mask],
            event_types=self.event_types[mask],
            timestamps=self.timestamps[mask],
            values=self.values[mask],
            sessions=self.sessions[mask],
        )

    def histories(self, users: np.ndarray | None = None) -> Histories:
        """Histories of the given user indices (all users by default), oldest event first."""
        order = np.lexsort((self.timestamps, self.event_users))
        counts = np.bincount(self.event_users, minlength=self.n_users)
        full = Histories(
            indptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            items=self.event_items[order],
            event_types=self.event_types[order],
            timestamps=self.timestamps[order],
            values=self.values[order],
        )
        return full if users is None else full.select(users)

    def interactions(self, weighted: bool = True, now_ms: int | None = None) -> sp.csr_matrix:
        """Users x items matrix of summed event weights (or counts with `weighted=False`)."""
        return self.histories().to_matrix(self.n_items, self.weights if weighted else None, now_ms)

    def summary(self) -> dict[str, object]:
        """Counts for reports."""
        per_type = np.bincount(self.event_types.astype(np.int64), minlength=len(S.EVENT_TYPES))
        return {
            "users": self.n_users,
            "items": self.n_items,
            "events": self.n_events,
            "events_by_type": {name: int(n) for name, n in zip(S.EVENT_TYPES, per_type) if n},
            "first_event": _iso(self.timestamps.min()) if self.n_events else None,
            "last_event": _iso(self.timestamps.max()) if self.n_events else None,
        }


def _iso(ms: int) -> str:
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").isoformat()


def _with_columns(frame: pd.DataFrame | None, columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(columns=list(columns)) if frame is None else frame.copy()
    for col in columns:
        if col not in frame:
            frame[col] = None
    return frame[list(columns)]


def align_rows(frame: pd.DataFrame, key: str, ids: IdMap) -> pd.DataFrame:
    """One row per index of `ids`, in index order (missing fields for an id without a row); the
    last row wins for repeated keys."""
    frame = frame.assign(**{key: frame[key].astype(str)}).drop_duplicates(key, keep="last").set_index(key)
    aligned = frame.reindex(ids.ids)
    aligned.index.name = key
    return aligned.reset_index()
