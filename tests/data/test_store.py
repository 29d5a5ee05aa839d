"""The store: durable live appends, compaction, snapshots for training."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd

from shoprec.data.store import Store


def _events(n: int, user: str = "u1", start: int = 0) -> pd.DataFrame:
    return pd.DataFrame({
        "user_id": [user] * n,
        "item_id": [f"i{start + i}" for i in range(n)],
        "event_type": ["view"] * n,
        "timestamp": pd.to_datetime([1_700_000_000_000 + (start + i) * 1000 for i in range(n)], unit="ms", utc=True),
    })


def test_acknowledged_appends_survive_kill_9(workspace: Path) -> None:
    script = textwrap.dedent(f"""
        import sys, pandas as pd
        from shoprec.data.store import Store
        store = Store({str(workspace)!r})
        i = 0
        while True:
            frame = pd.DataFrame({{"user_id": ["u"], "item_id": [f"i{{i}}"], "event_type": ["view"],
                                   "timestamp": pd.to_datetime([1_700_000_000_000 + i], unit="ms", utc=True)}})
            store.append_events(frame)
            print(f"ack {{i}}", flush=True)
            i += 1
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    acked = []
    assert proc.stdout is not None
    for line in proc.stdout:
        acked.append(int(line.split()[1]))
        if len(acked) >= 40:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = set(Store(workspace).read_events()["item_id"])
    assert {f"i{i}" for i in acked} <= stored


def test_live_appends_are_read_with_segments_and_repeats_are_merged(workspace: Path) -> None:
    store = Store(workspace)
    assert store.append_events(_events(3)) == 3
    assert store.append_events(_events(3)) == 0  # exact repeats
    assert len(store.read_events(user_id="u1")) == 3
    assert len(store.read_events(user_id="someone else")) == 0


def test_compaction_moves_live_events_into_a_segment(workspace: Path) -> None:
    store = Store(workspace)
    store.append_events(_events(5))
    assert store.compact() == 5
    assert store.counts()["segments"] == 1
    assert store.compact() == 0
    store.append_events(_events(2, start=5))
    events = store.read_events()
    assert sorted(events["item_id"]) == sorted(f"i{i}" for i in range(7))
    # a fresh Store on the same folder sees the same state
    assert len(Store(workspace).read_events()) == 7


def test_dataset_snapshot_maps_ids_to_contiguous_integers(workspace: Path) -> None:
    store = Store(workspace)
    store.append_events(pd.concat([_events(2, "a"), _events(3, "b", start=1)]))
    ds = store.dataset()
    assert (ds.n_users, ds.n_items, ds.n_events) == (2, 4, 5)
    assert sorted(ds.user_ids.id_of(ds.event_users)) == ["a", "a", "b", "b", "b"]
    assert ds.event_items.min() == 0 and ds.event_items.max() == 3
