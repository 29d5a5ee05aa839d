"""A small shop with a planted pattern, shared by the model tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shoprec.data.dataset import Dataset

N_ITEMS = 12  # items "i00".."i11": i00-i04 are group A's, i05-i09 group B's, i10-i11 rarely touched


def item_id(i: int) -> str:
    return f"i{i:02d}"


@pytest.fixture(scope="session")
def planted() -> Dataset:
    """20 users in two taste groups: group A touches items 0-4, group B items 5-9, each user a
    random subset of 3-5 of their group's items (views, some carts and purchases)."""
    rng = np.random.default_rng(7)
    rows = []
    t = 1_700_000_000_000
    for u in range(20):
        group = range(0, 5) if u < 10 else range(5, 10)
        for i in rng.choice(list(group), size=rng.integers(3, 6), replace=False):
            t += 60_000
            rows.append((f"u{u:02d}", item_id(int(i)), "view", t))
            if rng.random() < 0.4:
                t += 60_000
                rows.append((f"u{u:02d}", item_id(int(i)), "purchase", t))
    rows.append(("u00", item_id(10), "view", t + 1))
    rows.append(("u19", item_id(11), "add_to_cart", t + 2))
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "timestamp"])
    # Items carry text, so content models can find the groups too: A's are kitchen, B's garden.
    titles = [f"kitchen pan steel {i}" for i in range(5)] + [f"garden hose green {i}" for i in range(5, 10)] + ["lamp", "rug"]
    categories = ["Home > Kitchen"] * 5 + ["Home > Garden"] * 5 + ["Home > Decor"] * 2
    items = pd.DataFrame({"item_id": [item_id(i) for i in range(N_ITEMS)], "title": titles, "category": categories,
                          "brand": ["chefco"] * 5 + ["greenly"] * 5 + [None, None], "price": [20.0 + i for i in range(N_ITEMS)]})
    return Dataset.from_frames(events, items)
