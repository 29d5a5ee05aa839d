"""Context-aware popularity: the hour and the kind of day move items."""

from __future__ import annotations

import pandas as pd

from shoprec.data.dataset import Dataset
from shoprec.ranking.cold_start import ContextPopularity


def ms(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").value // 1_000_000)


def test_breakfast_leads_in_the_morning_and_party_on_saturday_night():
    rows = []
    for day in range(1, 22):
        date = f"2024-05-{day:02d}"
        weekend = pd.Timestamp(date).day_of_week >= 5
        rows += [("u", "coffee", "view", ms(f"{date} 07:00"))] * 3
        rows += [("u", "party", "view", ms(f"{date} 21:00"))] * (6 if weekend else 1)
        rows += [("u", "bread", "view", ms(f"{date} 13:00"))] * 2
    model = ContextPopularity(smoothing=2.0).fit(Dataset.from_frames(pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "timestamp"])))
    ids = model.n_items_
    assert ids == 3

    def best(when: str) -> str:
        ds_ids = ["bread", "coffee", "party"]  # IdMap sorts ids
        return ds_ids[int(model.scores_at(ms(when)).argmax())]

    assert best("2024-05-22 07:30") == "coffee"  # a Wednesday morning
    assert best("2024-05-22 13:30") == "bread"
    assert best("2024-05-25 21:30") == "party"  # a Saturday night
    assert model.last_week_.sum() > 0
