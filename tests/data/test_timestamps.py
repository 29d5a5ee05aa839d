"""Timestamp parsing against epoch values worked out by hand."""

from __future__ import annotations

import pandas as pd

from shoprec.data.timestamps import parse_timestamps

# 2019-10-01T00:00:00Z is 18170 days after 1970-01-01: 18170 * 86400 = 1569888000 s.
OCT_1_2019 = 1_569_888_000_000


def _ms(series: pd.Series) -> list[object]:
    return [None if pd.isna(v) else int(v.value // 1_000_000) for v in series]


def test_string_forms() -> None:
    values = pd.Series([
        "2019-10-01 00:00:00 UTC",      # REES46
        "2019-10-01T00:00:00Z",
        "2019-10-01 02:00:00+02:00",    # an offset is converted to UTC
        "2019-10-01",
        "1569888000",                   # epoch seconds
        "1569888000123",                # epoch milliseconds
        "2019-13-45 00:00:00",          # impossible date
        "soon",
    ], dtype=object)
    assert _ms(parse_timestamps(values)) == [OCT_1_2019, OCT_1_2019, OCT_1_2019, OCT_1_2019, OCT_1_2019, OCT_1_2019 + 123, None, None]


def test_numbers_are_epoch_seconds_or_milliseconds() -> None:
    assert _ms(parse_timestamps(pd.Series([1_569_888_000, 1_569_888_000_500]))) == [OCT_1_2019, OCT_1_2019 + 500]


def test_explicit_format() -> None:
    # Online Retail style: month/day/year hour:minute; 2019-10-01 08:26 is 8*3600+26*60 = 30360 s later.
    parsed = parse_timestamps(pd.Series(["10/1/2019 8:26"]), "%m/%d/%Y %H:%M")
    assert _ms(parsed) == [OCT_1_2019 + 30_360_000]
