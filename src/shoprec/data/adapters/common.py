"""Small pieces the adapters share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from shoprec.data.ingest import Source
from shoprec.data.mapping import ColumnMapping
from shoprec.data.readers import RawChunk, ReadOptions, read_records
from shoprec.errors import DataError


def find(folder: Path, *names: str, required: bool = True) -> Path | None:
    """The first of `names` (plain or .gz/.zip) present in `folder`."""
    for name in names:
        for candidate in (folder / name, folder / f"{name}.gz", folder / f"{name}.zip"):
            if candidate.exists():
                return candidate
    if required:
        raise DataError(f"expected one of {', '.join(names)} in this folder", file=str(folder))
    return None


def dataset_folder(path: Path, main_files: tuple[str, ...]) -> Path:
    """The dataset's folder, given the folder itself or one of its main files."""
    if path.is_dir():
        return path
    if path.name in main_files or path.name.removesuffix(".gz").removesuffix(".zip") in main_files:
        return path.parent
    raise DataError(f"expected the dataset folder or one of {', '.join(main_files)}", file=str(path))


def file_source(kind: str, path: Path, options: ReadOptions, mapping: ColumnMapping,
                prepare: Callable[[RawChunk], RawChunk] | None = None) -> Source:
    """A Source reading one file through the common readers."""
    return Source(kind, str(path), lambda: read_records(path, options), mapping, prepare)


def frame_source(kind: str, label: str, build: Callable[[], pd.DataFrame], mapping: ColumnMapping | None = None) -> Source:
    """A Source for a table an adapter assembles itself (joined or aggregated from several files)."""
    return Source.from_frames(kind, label, lambda: [build()], mapping)


def with_columns(chunk: RawChunk, **columns: pd.Series) -> RawChunk:
    """The chunk with columns added or replaced."""
    return RawChunk(chunk.file, chunk.frame.assign(**columns), chunk.lines, chunk.rejects, raw_lines=chunk.raw_lines)
