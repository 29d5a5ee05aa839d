"""Timestamp parsing: ISO 8601, 'YYYY-MM-DD HH:MM:SS[ UTC]', epoch seconds or milliseconds, or a given format.

Everything becomes UTC; a time without a zone is taken as UTC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Epoch values at or above this are milliseconds: 1e11 s is the year 5138, 1e11 ms is 1973.
MS_THRESHOLD = 1e11
_NUMBER = r"^[+-]?\d+(\.\d+)?$"


@dataclass(frozen=True)
class TimeBounds:
    """Event times that are accepted: not before `floor`, at most `max_future` after the wall clock.

    A time outside is refused at the API (422) and quarantined at ingest (`ancient_timestamp`,
    `future_timestamp`): one far-future event would otherwise become "now" for every time window
    (popularity's last week, recency features) after the next training.
    """

    floor: pd.Timestamp = pd.Timestamp("1990-01-01", tz="UTC")
    max_future: pd.Timedelta = pd.Timedelta(days=1)

    def latest(self, now: pd.Timestamp | None = None) -> pd.Timestamp:
        """The latest time accepted at `now` (default: the wall clock)."""
        return (pd.Timestamp.now(tz="UTC") if now is None else now) + self.max_future


def reference_time_ms(timestamps: np.ndarray, bounds: TimeBounds | None = None) -> int:
    """The data's "now" for time windows: its latest event, but never past the wall clock plus the
    allowed skew, so a far-future event stored before times were checked moves nothing."""
    latest = int(timestamps.max())
    cap = int((bounds or TimeBounds()).latest().value // 1_000_000)
    return min(latest, cap)


def clamp_times(timestamps_ms: np.ndarray, bounds: TimeBounds | None = None) -> np.ndarray:
    """Event times (epoch ms) with those after the wall clock plus the skew moved to the latest
    time the data holds before it (or to that limit, when none is before it).

    Such times are refused at every door now; a store written before may hold some. Training data
    and request-time histories read times through this, so every time-based feature (windows,
    decay, recency, the request's "now") sees a far-future outlier as one ordinary event, and
    nothing else moves. (Times before the floor are left: they move nothing but their own item's
    age, and a library caller may count time from 0.)
    """
    if not len(timestamps_ms):
        return timestamps_ms
    cap = int((bounds or TimeBounds()).latest().value // 1_000_000)
    if timestamps_ms.max() <= cap:
        return timestamps_ms
    inside = timestamps_ms[timestamps_ms <= cap]
    latest = int(inside.max()) if len(inside) else cap
    return np.where(timestamps_ms > cap, latest, timestamps_ms).astype(np.int64)


def parse_timestamps(values: pd.Series, time_format: str | None = None) -> pd.Series:
    """Parse a column to datetime64[ms, UTC]; NaT where a value cannot be read."""
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.to_datetime(values, utc=True, errors="coerce")
        return parsed.dt.as_unit("ms")
    if pd.api.types.is_numeric_dtype(values):
        return _from_epoch(pd.to_numeric(values, errors="coerce"))

    text = values.astype("string").str.strip()
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ms, UTC]")
    if time_format:
        return pd.to_datetime(text, format=time_format, utc=True, errors="coerce").dt.as_unit("ms")
    numeric = text.str.match(_NUMBER).fillna(False).astype(bool)
    if numeric.any():
        result[numeric] = _from_epoch(pd.to_numeric(text[numeric], errors="coerce"))
    rest = ~numeric & text.notna() & (text != "")
    if rest.any():
        cleaned = text[rest].str.replace(r"\s*UTC$", "", regex=True)
        result[rest] = pd.to_datetime(cleaned, format="ISO8601", utc=True, errors="coerce").dt.as_unit("ms")
    return result


def _from_epoch(numbers: pd.Series) -> pd.Series:
    as_float = numbers.astype("float64")
    ms = np.where(np.abs(as_float) >= MS_THRESHOLD, as_float, as_float * 1000.0)
    ms_series = pd.Series(ms, index=numbers.index)
    out = pd.Series(pd.NaT, index=numbers.index, dtype="datetime64[ms, UTC]")
    ok = ms_series.notna() & np.isfinite(ms_series)
    out[ok] = pd.to_datetime(ms_series[ok].round().astype("int64"), unit="ms", utc=True)
    return out
