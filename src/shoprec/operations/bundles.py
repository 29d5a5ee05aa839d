"""The workspace's bundles as an operator sees them: listed, rolled back, pruned.

Everything here reads manifests (JSON) and sizes on disk, never a model: listing a hundred
bundles takes milliseconds. Promoting checks that a bundle loads whole first, as the service does
(`shoprec bundles promote`, shoprec.service.reloader), and records the change like every change of
CURRENT (shoprec.bundle_history).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shoprec import bundle_history
from shoprec.bundle import MANIFEST, bundles_dir, current_version, recorded_validation, set_current
from shoprec.errors import ShoprecError

METRIC = "ndcg@10"  # what training measures on validation (shoprec.training.validation.METRIC)


@dataclass
class BundleInfo:
    """One bundle folder, from its manifest."""

    version: str
    path: Path
    complete: bool  # has a manifest: an interrupted (or running) training leaves a folder without one
    trained_at: str | None = None
    default_model: str | None = None
    validation: float | None = None  # the default model's validation ndcg@10, when training measured it
    size_bytes: int = 0
    current: bool = False
    previous: bool = False  # what a rollback goes back to

    def age_seconds(self, now: float | None = None) -> float | None:
        if not self.trained_at:
            return None
        try:
            trained = datetime.strptime(self.trained_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        except ValueError:
            return None
        return max((now if now is not None else time.time()) - trained, 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "path": str(self.path), "complete": self.complete,
                "trained_at": self.trained_at, "age_seconds": _rounded(self.age_seconds()),
                "default_model": self.default_model, "validation": {"metric": METRIC, "value": self.validation},
                "size_bytes": self.size_bytes, "current": self.current, "previous": self.previous}


def describe(path: Path, *, sizes: bool = True) -> BundleInfo:
    """A bundle folder's facts (a folder without a readable manifest is `complete=False`)."""
    path = Path(path)
    info = BundleInfo(path.name, path, False, size_bytes=folder_size(path) if sizes else 0)
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return info
    if not isinstance(manifest, dict):
        return info
    info.complete = True
    info.trained_at = manifest.get("created")
    info.default_model = manifest.get("default_model")
    info.validation = recorded_validation(manifest)[0]
    return info


def list_bundles(workspace: Path, *, sizes: bool = True) -> list[BundleInfo]:
    """Every bundle folder, oldest first (versions start with their UTC time), CURRENT and the
    rollback target marked."""
    folder = bundles_dir(workspace)
    if not folder.is_dir():
        return []
    current = current_version(workspace)
    before = bundle_history.previous(folder, current)
    found = [describe(path, sizes=sizes) for path in sorted(folder.iterdir())
             if path.is_dir() and not path.name.startswith(".")]
    for info in found:
        info.current = info.version == current
        info.previous = info.version == before
    return found


def rollback(workspace: Path) -> tuple[str, str]:
    """Make the bundle in use before the current one current again; returns (from, to)."""
    folder = bundles_dir(workspace)
    current = current_version(workspace)
    if current is None:
        raise ShoprecError(f"no current bundle in {workspace}: nothing to roll back")
    target = bundle_history.previous(folder, current)
    if target is None:
        raise ShoprecError(f"bundle {current} is the first in {folder / bundle_history.HISTORY}: nothing to roll back "
                           "to; make another one current with 'shoprec bundles promote VERSION'")
    if not (folder / target / MANIFEST).exists():
        raise ShoprecError(f"the previous bundle {target} is gone from {folder}: promote another one by version")
    set_current(workspace, target, action=bundle_history.ROLLBACK)
    return current, target


def prune(workspace: Path, keep: int) -> tuple[list[BundleInfo], list[BundleInfo]]:
    """Remove complete bundles but the `keep` newest, the current one and the one a rollback goes
    back to. Folders without a manifest are left alone (a training may be writing them). Returns
    (removed, incomplete folders left)."""
    if keep < 0:
        raise ShoprecError(f"--keep must be 0 or more, got {keep}")
    folder = bundles_dir(workspace)
    with bundle_history.locked(folder):  # no CURRENT change between choosing and removing
        bundles = list_bundles(workspace, sizes=True)
        complete = [info for info in bundles if info.complete]
        newest = {info.version for info in complete[len(complete) - keep:]} if keep else set()
        removed = [info for info in complete if not (info.current or info.previous or info.version in newest)]
        for info in removed:
            # Renamed away first: no reader ever finds a half-deleted bundle under its version.
            doomed = folder / f".{info.version}.pruned-{os.getpid()}"
            os.replace(info.path, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
    return removed, [info for info in bundles if not info.complete]


def folder_size(path: Path) -> int:
    """Bytes of the files under `path` (0 when it is gone)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # removed meanwhile
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def human_age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
