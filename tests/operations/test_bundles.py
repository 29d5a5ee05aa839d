"""Bundles as an operator sees them: listed from their manifests, rolled back, pruned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shoprec.bundle import MANIFEST, bundles_dir, current_version, set_current
from shoprec.errors import ShoprecError
from shoprec.operations.bundles import list_bundles, prune, rollback


def _bundle(workspace: Path, version: str, *, default: str = "itemknn", validation: float | None = None) -> str:
    folder = bundles_dir(workspace) / version
    (folder / "models").mkdir(parents=True)
    (folder / "models" / "weights.bin").write_bytes(b"x" * 1000)
    metrics = {"validation": {"definition": {}, "values": {default: validation}}} if validation is not None else {}
    manifest = {"version": version, "created": "2025-03-01T12:00:00Z", "default_model": default, "metrics": metrics}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    return version


def test_the_list_reads_manifests_and_marks_current_and_previous(workspace: Path) -> None:
    _bundle(workspace, "20250301T000000Z-1", validation=0.25)
    _bundle(workspace, "20250302T000000Z-1", default="fusion:rrf", validation=0.3)
    (bundles_dir(workspace) / "20250303T000000Z-1").mkdir()  # a training still writing
    set_current(workspace, "20250301T000000Z-1")
    set_current(workspace, "20250302T000000Z-1")
    found = {info.version: info for info in list_bundles(workspace)}
    assert list(found) == ["20250301T000000Z-1", "20250302T000000Z-1", "20250303T000000Z-1"]
    second = found["20250302T000000Z-1"]
    assert second.current and second.default_model == "fusion:rrf" and second.validation == 0.3
    assert second.size_bytes > 1000 and second.trained_at == "2025-03-01T12:00:00Z"
    assert found["20250301T000000Z-1"].previous and not found["20250301T000000Z-1"].current
    assert not found["20250303T000000Z-1"].complete
    assert second.to_dict()["validation"] == {"metric": "ndcg@10", "value": 0.3}


def test_rollback_goes_back_one_change_at_a_time(workspace: Path) -> None:
    for version in ("A", "B", "C"):
        _bundle(workspace, version)
        set_current(workspace, version, action="train")
    assert rollback(workspace) == ("C", "B")
    assert rollback(workspace) == ("B", "A")
    assert current_version(workspace) == "A"
    with pytest.raises(ShoprecError, match="nothing to roll back to"):
        rollback(workspace)


def test_rollback_without_a_bundle_is_a_clear_error(workspace: Path) -> None:
    with pytest.raises(ShoprecError, match="no current bundle"):
        rollback(workspace)


def test_prune_keeps_the_newest_the_current_and_the_previous(workspace: Path) -> None:
    versions = [_bundle(workspace, f"2025030{day}T000000Z-1") for day in range(1, 7)]
    set_current(workspace, versions[1])
    set_current(workspace, versions[2])  # current: the third; previous: the second
    (bundles_dir(workspace) / "20250309T000000Z-1").mkdir()  # no manifest: left alone
    removed, incomplete = prune(workspace, keep=2)
    assert [info.version for info in removed] == [versions[0], versions[3]]
    left = {info.version for info in list_bundles(workspace)}
    assert left == {versions[1], versions[2], versions[4], versions[5], "20250309T000000Z-1"}
    assert [info.version for info in incomplete] == ["20250309T000000Z-1"]
    assert not any(path.name.startswith(".") and "pruned" in path.name for path in bundles_dir(workspace).iterdir())
    removed, _ = prune(workspace, keep=0)
    assert {info.version for info in removed} == {versions[4], versions[5]}
    assert current_version(workspace) == versions[2] and rollback(workspace) == (versions[2], versions[1])
