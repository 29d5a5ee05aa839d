"""Built-in adapters for public datasets: each turns a dataset's folder (or main file) into Sources.

One file per format. An adapter only says where the tables are and how their columns map;
reading, validation, quarantine and storing are the common ingest path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from shoprec.errors import DataError

if TYPE_CHECKING:  # the adapters and the ingest path load pandas: imported when a format is used
    from shoprec.data.ingest import Source
    from shoprec.data.readers import ReadOptions

    Adapter = Callable[[Path, ReadOptions], list[Source]]


def _registry() -> dict[str, Adapter]:
    from shoprec.data.adapters import homedepot, movielens, rees46, retailrocket

    return {
        "rees46": rees46.sources,
        "retailrocket": retailrocket.sources,
        "movielens": movielens.sources,
        "homedepot": homedepot.sources,
    }


FORMAT_NAMES = ("rees46", "retailrocket", "movielens", "homedepot")


def adapter_sources(name: str, path: Path, options: ReadOptions) -> list[Source]:
    """The sources of dataset `name` at `path` (its folder or its main file)."""
    registry = _registry()
    if name not in registry:
        raise DataError(f"unknown --format '{name}', expected one of {', '.join(FORMAT_NAMES)}")
    if not Path(path).exists():
        raise DataError("no such file or folder", file=str(path))
    return registry[name](Path(path), options)
