"""The history of CURRENT: every change recorded, and the stack a rollback walks back along."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shoprec import bundle_history
from shoprec.bundle import CURRENT, MANIFEST, bundles_dir, current_version, set_current
from shoprec.errors import ShoprecError


def _bundle(workspace: Path, version: str) -> str:
    folder = bundles_dir(workspace) / version
    folder.mkdir(parents=True)
    (folder / MANIFEST).write_text(json.dumps({"version": version}))
    return version


def test_each_change_of_current_is_recorded_with_what_it_replaced(workspace: Path) -> None:
    a, b = _bundle(workspace, "A"), _bundle(workspace, "B")
    set_current(workspace, a, action="train")
    set_current(workspace, b)
    set_current(workspace, b)  # no change: no line
    entries = bundle_history.read(bundles_dir(workspace))
    assert [(e["version"], e["previous"], e["action"]) for e in entries] == [("A", None, "train"), ("B", "A", "promote")]
    assert current_version(workspace) == "B"
    assert bundle_history.previous(bundles_dir(workspace), "B") == "A"


def test_an_incomplete_bundle_is_never_made_current_nor_recorded(workspace: Path) -> None:
    (bundles_dir(workspace) / "half").mkdir(parents=True)
    with pytest.raises(ShoprecError, match="not a complete bundle"):
        set_current(workspace, "half")
    assert current_version(workspace) is None and bundle_history.read(bundles_dir(workspace)) == []


def test_rollbacks_walk_back_along_the_stack_not_back_and_forth() -> None:
    lines = [{"version": v, "action": "train"} for v in ("A", "B", "C")]
    assert bundle_history.chain(lines, "C") == ["A", "B", "C"]
    lines.append({"version": "B", "action": "rollback"})
    assert bundle_history.chain(lines, "B") == ["A", "B"]  # a second rollback goes to A, not back to C
    lines.append({"version": "A", "action": "rollback"})
    assert bundle_history.chain(lines, "A") == ["A"]
    lines.append({"version": "C", "action": "promote"})
    assert bundle_history.chain(lines, "C") == ["A", "C"]


def test_a_current_set_without_history_ends_the_stack(workspace: Path) -> None:
    folder = bundles_dir(workspace)
    _bundle(workspace, "A"), _bundle(workspace, "B")
    set_current(workspace, "A")
    (folder / CURRENT).write_text("B\n")  # by hand, or by a version before HISTORY existed
    assert bundle_history.previous(folder, "B") == "A"
    assert bundle_history.previous(folder, None) is None


def test_a_damaged_line_is_skipped(workspace: Path) -> None:
    folder = bundles_dir(workspace)
    _bundle(workspace, "A"), _bundle(workspace, "B")
    set_current(workspace, "A")
    with (folder / bundle_history.HISTORY).open("a") as history:
        history.write('{"version": "B", "prev')  # a line a crash cut short
    set_current(workspace, "B")
    assert [e["version"] for e in bundle_history.read(folder)] == ["A", "B"]
