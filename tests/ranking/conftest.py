"""A small shop with known structure, ingested and trained once for the ranking tests.

Kitchen shoppers view and buy kitchen items, garden shoppers garden items. `k_new` is a kitchen
pan nobody touched; `k5` is a kitchen item out of stock; `d0`-`d2` are decor items that only
evening shoppers view (for context-aware popularity).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from shoprec.cli import cli
from shoprec.data import schema as S
from shoprec.data.ingest import Source, ingest
from shoprec.data.store import Store

T0 = pd.Timestamp("2024-03-04 09:00", tz="UTC")  # a Monday morning


def shop_items() -> pd.DataFrame:
    rows = []
    for i in range(6):
        rows.append((f"k{i}", f"kitchen steel frying pan model {i}", "Home > Kitchen", "chefco", 20.0 + i, i != 5))
    for i in range(6):
        rows.append((f"g{i}", f"garden hose green reel {i}", "Home > Garden", "greenly", 30.0 + i, True))
    for i in range(3):
        rows.append((f"d{i}", f"decor candle lamp {i}", "Home > Decor", "glowco", 10.0 + i, True))
    rows.append(("k_new", "kitchen steel frying pan deluxe", "Home > Kitchen", "chefco", 45.0, True))
    frame = pd.DataFrame(rows, columns=["item_id", "title", "category", "brand", "price", "in_stock"])
    return frame.reindex(columns=list(S.ITEM_COLUMNS))


def shop_events(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(60):
        prefix = "k" if u < 30 else "g"
        day = int(rng.integers(0, 20))
        for j, i in enumerate(rng.choice(6, size=int(rng.integers(3, 6)), replace=False)):
            when = T0 + pd.Timedelta(days=day, minutes=5 * j)
            rows.append((f"u{u:02d}", f"{prefix}{i}", "view", when))
            if rng.random() < 0.3:
                rows.append((f"u{u:02d}", f"{prefix}{i}", "purchase", when + pd.Timedelta(minutes=1)))
    for u in range(60):  # evening decor browsers, each looking twice
        evening = T0 + pd.Timedelta(days=int(rng.integers(0, 20)), hours=11)  # 20:00 UTC
        rows.append((f"e{u:02d}", f"d{u % 3}", "view", evening))
        rows.append((f"e{u:02d}", f"d{u % 3}", "view", evening + pd.Timedelta(minutes=2)))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "timestamp"])


def build_workspace(path: Path, models: str, fusion: str) -> Path:
    store = Store(path)
    try:
        ingest(store, [Source.from_frames("items", "items", lambda: [shop_items()]),
                       Source.from_frames("events", "events", lambda: [shop_events()])])
    finally:
        store.close()
    result = CliRunner().invoke(cli, ["train", "--workspace", str(path), "--models", models, "--fusion", fusion])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop trained with four models and three fusion methods."""
    return build_workspace(tmp_path_factory.mktemp("ranking") / "ws", "popularity,itemknn,ease,content", "rrf,weighted,ltr")
