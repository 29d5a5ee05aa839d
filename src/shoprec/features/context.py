"""Context features of a request: hour, weekday, month, season and public holidays.

Holidays come from the `holidays` package for a configurable country (ISO code, default US),
so a shop in Germany gets German holidays.
"""

from __future__ import annotations

from functools import lru_cache

import holidays
import numpy as np
import pandas as pd

from shoprec.errors import ConfigError

CONTEXT_FEATURES = ("hour", "weekday", "is_weekend", "month", "season", "is_holiday", "days_to_holiday")
DEFAULT_COUNTRY = "US"


HOUR_MS = 3_600_000


def context_features(now_ms: np.ndarray, country: str = DEFAULT_COUNTRY) -> dict[str, np.ndarray]:
    """Per request time (epoch ms, UTC): hour 0-23, weekday 0 (Monday)-6, is_weekend, month 1-12,
    season 0-3 (northern meteorological: Dec-Feb 0 winter ... Sep-Nov 3 autumn), is_holiday and
    the days until the next holiday (capped at 60)."""
    now_ms = np.asarray(now_ms, dtype=np.int64)
    if now_ms.shape == (1,):  # one request: every feature is fixed by its UTC hour, so cache by hour
        return {name: values.copy() for name, values in _one_hour(int(now_ms[0]) // HOUR_MS, country).items()}
    return _features(now_ms, country)


@lru_cache(maxsize=256)
def _one_hour(hour: int, country: str) -> dict[str, np.ndarray]:
    return _features(np.array([hour * HOUR_MS], dtype=np.int64), country)


def _features(now_ms: np.ndarray, country: str) -> dict[str, np.ndarray]:
    stamps = pd.to_datetime(np.asarray(now_ms, dtype=np.int64), unit="ms", utc=True)
    days = stamps.normalize().tz_localize(None).to_numpy().astype("datetime64[D]")
    years = tuple(sorted({int(y) for y in stamps.year} | {int(y) + 1 for y in stamps.year}))
    holiday_days = _holiday_days(country, years)
    month = stamps.month.to_numpy()
    position = np.searchsorted(holiday_days, days)
    next_day = holiday_days[np.minimum(position, len(holiday_days) - 1)] if len(holiday_days) else days
    until = np.clip((next_day - days).astype(np.int64), 0, 60) if len(holiday_days) else np.full(len(days), 60)
    return {
        "hour": stamps.hour.to_numpy(np.float64),
        "weekday": stamps.day_of_week.to_numpy(np.float64),
        "is_weekend": (stamps.day_of_week.to_numpy() >= 5).astype(np.float64),
        "month": month.astype(np.float64),
        "season": ((month % 12) // 3).astype(np.float64),
        "is_holiday": np.isin(days, holiday_days).astype(np.float64),
        "days_to_holiday": until.astype(np.float64),
    }


@lru_cache(maxsize=32)
def _holiday_days(country: str, years: tuple[int, ...]) -> np.ndarray:
    try:
        calendar = holidays.country_holidays(country, years=years)
    except NotImplementedError as exc:
        raise ConfigError(f"holiday country {country!r} is not known to the holidays package (use an ISO code such as US, DE, CN)") from exc
    return np.array(sorted(calendar.keys()), dtype="datetime64[D]")
