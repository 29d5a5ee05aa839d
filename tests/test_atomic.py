"""Atomic publishing: the new version whole or the old one untouched, and no staged leftovers."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoprec.atomic import staged_folder, write_atomic, write_with


def test_a_file_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_atomic(path, '{"v": 1}')
    write_atomic(path, b'{"v": 2}')
    assert path.read_text() == '{"v": 2}'
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_failed_write_leaves_the_old_file_and_no_staged_one(tmp_path: Path) -> None:
    path = tmp_path / "catalog.parquet"
    write_atomic(path, "old")

    def half_then_fail(staged: Path) -> None:
        staged.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_with(path, half_then_fail)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["catalog.parquet"]


def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    final = tmp_path / "index"
    with staged_folder(final) as staged:
        (staged / "a.txt").write_text("1")
        (staged / "sub").mkdir()
        (staged / "sub" / "b.txt").write_text("2")
    assert (final / "sub" / "b.txt").read_text() == "2"
    with pytest.raises(RuntimeError), staged_folder(final) as staged:
        (staged / "a.txt").write_text("new")
        raise RuntimeError("build failed")
    assert (final / "a.txt").read_text() == "1"  # the old folder, untouched
    with staged_folder(final) as staged:
        (staged / "c.txt").write_text("3")
    assert sorted(p.name for p in final.iterdir()) == ["c.txt"]  # replaced whole: a.txt and sub are gone
    assert [p.name for p in tmp_path.iterdir()] == ["index"]
