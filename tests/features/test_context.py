"""Context features on dates whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shoprec.errors import ConfigError
from shoprec.features.context import context_features


def ms(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").value // 1_000_000)


def test_christmas_afternoon_in_the_us():
    f = context_features(np.array([ms("2024-12-25 15:30")]), "US")
    assert f["hour"][0] == 15 and f["weekday"][0] == 2 and f["is_weekend"][0] == 0  # a Wednesday
    assert f["month"][0] == 12 and f["season"][0] == 0  # winter
    assert f["is_holiday"][0] == 1 and f["days_to_holiday"][0] == 0


def test_days_to_the_next_holiday_and_seasons():
    f = context_features(np.array([ms("2024-12-21 09:00"), ms("2024-07-10 09:00"), ms("2024-04-01 00:00")]), "US")
    assert f["days_to_holiday"][0] == 4  # Christmas
    assert f["is_weekend"][0] == 1  # a Saturday
    assert f["season"].tolist() == [0, 2, 1]


def test_the_country_decides_the_holidays():
    unity_day = np.array([ms("2024-10-03 12:00")])  # German Unity Day
    assert context_features(unity_day, "DE")["is_holiday"][0] == 1
    assert context_features(unity_day, "US")["is_holiday"][0] == 0
    with pytest.raises(ConfigError, match="holiday country"):
        context_features(unity_day, "XX")
