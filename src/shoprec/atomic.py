"""The one way shoprec publishes a file or a folder: write beside it, flush, rename over it, flush the folder.

A reader sees the old version or the new one, never half of one, and after `publish` returns the
new version survives a power cut: the data is flushed before the rename (so the name never points
to unwritten blocks) and the parent folder after it (so the rename itself is on disk). The store's
manifest and segments, bundle pointers, search indexes and caches, and reports all go through here.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def fsync_path(path: Path) -> None:
    """Flush a file's data, or a folder's entries, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(staged: Path, final: Path) -> None:
    """Make `staged` (a file or folder written beside `final`, on the same file system) become
    `final`, durably. A folder replaces an existing folder whole (the old one is removed after)."""
    staged, final = Path(staged), Path(final)
    if staged.is_dir():
        for path in sorted(staged.rglob("*"), reverse=True):  # files before the folders holding them
            fsync_path(path)
        fsync_path(staged)
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        if final.exists():
            os.replace(final, old)
        os.replace(staged, final)
        fsync_path(final.parent)
        shutil.rmtree(old, ignore_errors=True)
        return
    fsync_path(staged)
    os.replace(staged, final)
    fsync_path(final.parent)


def staged_path(final: Path) -> Path:
    """Where to write a new version of `final` before `publish` (beside it, unique to this process)."""
    return Path(final).with_name(f".{Path(final).name}.{os.getpid()}.tmp")


def write_atomic(path: Path, data: bytes | str) -> None:
    """Replace the file `path` with `data` (str is written as UTF-8)."""
    write_with(path, lambda staged: staged.write_bytes(data.encode("utf-8") if isinstance(data, str) else data))


def write_with(path: Path, write: Callable[[Path], object]) -> None:
    """Replace the file `path` with what `write(staged)` writes to the staged path it is given."""
    staged = staged_path(path)
    try:
        write(staged)
        publish(staged, path)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise


@contextmanager
def staged_folder(final: Path) -> Iterator[Path]:
    """A fresh folder beside `final` to build into; on success it is published as `final`, on an
    error it is removed and `final` is left as it was."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staged = final.with_name(f".{final.name}.building-{os.getpid()}")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir()
    try:
        yield staged
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    publish(staged, final)
