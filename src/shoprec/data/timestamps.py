"""Timestamp parsing: ISO 8601, 'YYYY-MM-DD HH:MM:SS[ UTC]', epoch seconds or milliseconds, or a given format.

Everything becomes UTC; a time without a zone is taken as UTC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Epoch values at or above this are milliseconds: 1e11 s is the year 5138, 1e11 ms is 1973.
MS_THRESHOLD = 1e11
_NUMBER = r"^[+-]?\d+(\.\d+)?$"


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
