"""`shoprec status`: the workspace at a glance, from files alone (no model is loaded).

Store size on disk, events (segments and the live log) by type and by day, the live log's backlog
(rows not compacted yet), item and user counts, the current bundle (version, age, default model,
its validation number), the other bundles, and the latest ingest's data warnings, plus a few
warnings of its own (no bundle, a large backlog, events stored since the bundle was trained).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shoprec.bundle import MANIFEST, bundles_dir, current_version
from shoprec.data import schema as S
from shoprec.data.profile import latest_warnings
from shoprec.data.store import Store
from shoprec.experiments.definitions import ExperimentFile
from shoprec.operations.bundles import folder_size, list_bundles

DAYS = 14  # days of the by-day table: those ending on the day of the latest event
DAY_MS = 86_400_000
BACKLOG_WARNING = 100_000  # live-log rows past which `status` says to compact


def status(workspace: Path, now: float | None = None) -> dict[str, Any]:
    """Everything `shoprec status` shows, as one JSON-ready object."""
    workspace = Path(workspace)
    now = time.time() if now is None else now
    out: dict[str, Any] = {"workspace": str(workspace), "time": _iso_s(now)}
    warnings: list[dict[str, Any]] = []
    out["store"], out["events"] = _store(workspace, now)
    out["bundles"] = _bundles(workspace, now)
    out["ingest_warnings"] = latest_warnings(workspace)
    out["experiments"] = [e.to_json() for e in ExperimentFile(workspace).all(fresh=True).values() if e.running]
    backlog = out["store"]["live_backlog"]
    if backlog >= BACKLOG_WARNING:
        warnings.append({"code": "live_log_backlog", "message": f"{backlog:,} events wait in the live log: "
                         "run 'shoprec compact' (training and every read go through them one by one)"})
    current = out["bundles"]["current"]
    named = current_version(workspace)
    if current is None and named is not None:
        warnings.append({"code": "current_missing", "message": f"CURRENT names bundle {named}, which is not in "
                         f"{bundles_dir(workspace)}: 'shoprec bundles promote VERSION' names another"})
    elif current is None:
        warnings.append({"code": "no_bundle", "message": "no current bundle: run 'shoprec train'"})
    elif current.get("trained_on_events") is not None and out["events"]["total"] > current["trained_on_events"]:
        arrived = out["events"]["total"] - current["trained_on_events"]
        warnings.append({"code": "events_since_training",
                         "message": f"{arrived:,} events stored since the current bundle was trained: 'shoprec train' "
                                    "learns from them"})
    out["warnings"] = warnings
    return out


def _store(workspace: Path, now: float) -> tuple[dict[str, Any], dict[str, Any]]:
    root = workspace / "store"
    by_day_type: Counter[tuple[int, str]] = Counter()
    if not (root / "manifest.json").exists() and not (root / "live.sqlite").exists():
        store_info = {"path": str(root), "bytes": folder_size(root), "segments": 0, "segment_events": 0,
                      "live_backlog": 0, "items": 0, "users": 0, "manifest_version": 0}
        return store_info, _events(by_day_type, now)
    store = Store(workspace)
    try:
        manifest = store.manifest()
        for path in store.event_segment_paths(manifest):
            table = pq.read_table(path, columns=[S.EVENT_TYPE, S.TIMESTAMP])
            _tally(by_day_type, table.column(S.EVENT_TYPE), table.column(S.TIMESTAMP).cast(pa.int64()).to_numpy())
        live, _ = store.live.read(manifest.live_compacted_upto)
        if len(live):
            ms = live[S.TIMESTAMP].dt.as_unit("ms").astype("int64").to_numpy()
            _tally(by_day_type, pa.chunked_array([pa.array(live[S.EVENT_TYPE].astype(str))]), ms)
        store_info = {"path": str(root), "bytes": folder_size(root), "segments": len(manifest.event_segments),
                      "segment_events": sum(int(s["rows"]) for s in manifest.event_segments),  # type: ignore[call-overload]
                      "live_backlog": len(live), "items": _rows(root, manifest.items),
                      "users": _rows(root, manifest.users), "manifest_version": manifest.version}
    finally:
        store.close()
    return store_info, _events(by_day_type, now)


def _tally(into: Counter[tuple[int, str]], types: pa.ChunkedArray, ms: np.ndarray) -> None:
    if not len(ms):
        return
    encoded = pc.dictionary_encode(types).combine_chunks()
    names = encoded.dictionary.to_pylist()
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    days = np.floor_divide(ms.astype(np.int64), DAY_MS)
    keys, counts = np.unique(np.stack([days, codes]), axis=1, return_counts=True)
    for (day, code), n in zip(keys.T.tolist(), counts.tolist(), strict=True):
        into[(int(day), names[int(code)])] += int(n)


def _events(by_day_type: Counter[tuple[int, str]], now: float) -> dict[str, Any]:
    by_type: Counter[str] = Counter()
    for (_, kind), n in by_day_type.items():
        by_type[kind] += n
    ordered = {kind: by_type[kind] for kind in S.EVENT_TYPES if by_type[kind]}
    if not by_day_type:
        return {"total": 0, "by_type": {}, "by_day": [], "first_day": None, "last_day": None, "last_day_age_days": None}
    days = sorted({day for day, _ in by_day_type})
    last = days[-1]
    rows = []
    for day in range(last - DAYS + 1, last + 1):
        types = {kind: by_day_type[(day, kind)] for kind in S.EVENT_TYPES if by_day_type[(day, kind)]}
        rows.append({"day": _day(day), "events": sum(types.values()), "by_type": types})
    return {"total": sum(by_type.values()), "by_type": ordered, "by_day": rows, "first_day": _day(days[0]),
            "last_day": _day(last), "last_day_age_days": max(int(now * 1000) // DAY_MS - last, 0)}


def _bundles(workspace: Path, now: float) -> dict[str, Any]:
    found = list_bundles(workspace, sizes=False)
    current = next((info for info in found if info.current), None)
    previous = next((info for info in found if info.previous), None)
    described: dict[str, Any] | None = None
    if current is not None:
        described = {**current.to_dict(), "age_seconds": _round(current.age_seconds(now)),
                     "trained_on_events": _trained_on(current.path)}
        del described["current"], described["previous"]
    return {"path": str(bundles_dir(workspace)), "bytes": folder_size(bundles_dir(workspace)), "current": described,
            "previous": previous.version if previous else None, "count": sum(info.complete for info in found),
            "incomplete": sum(not info.complete for info in found)}


def _trained_on(path: Path) -> int | None:
    try:
        events = json.loads((path / MANIFEST).read_text(encoding="utf-8"))["data"]["events"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return int(events) if isinstance(events, int) else None


def _rows(root: Path, name: str | None) -> int:
    return pq.ParquetFile(root / name).metadata.num_rows if name else 0


def _day(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))


def _iso_s(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
