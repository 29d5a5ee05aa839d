"""A random shop for the model oracle tests, with its weight matrix worked out independently."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shoprec.data.dataset import Dataset

T0 = 1_700_000_000_000


def shop(seed: int, n_users: int, n_items: int, density: float = 0.4) -> tuple[Dataset, np.ndarray]:
    """Random views (1-3 per touched item) and purchases, and the users x items weight matrix
    worked out here from the default weights (view 1, purchase 5)."""
    rng = np.random.default_rng(seed)
    rows, weights = [], np.zeros((n_users, n_items))
    for u in range(n_users):
        touched = rng.random(n_items) < density
        touched[rng.integers(n_items)] = True  # every user has an event
        for i in np.flatnonzero(touched):
            kinds = ["view"] * int(rng.integers(1, 4)) + (["purchase"] if rng.random() < 0.3 else [])
            for kind in kinds:
                rows.append((f"u{u:02d}", f"i{i:02d}", kind, T0 + len(rows) * 1000))
                weights[u, i] += 5.0 if kind == "purchase" else 1.0
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "timestamp"])
    items = pd.DataFrame({"item_id": [f"i{i:02d}" for i in range(n_items)]})
    return Dataset.from_frames(events, items), weights
