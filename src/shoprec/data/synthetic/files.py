"""Writing a synthetic shop as files: items, users and events as CSV, Parquet or JSON Lines.

Events are streamed chunk by chunk into one open writer, so a shop of any size is written in
bounded memory. Timestamps in text formats read as ISO 8601 ('2024-09-01T18:30:05.123Z');
categories and attribute JSON are written as the strings they are stored as.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from shoprec import progress
from shoprec.data import schema as S
from shoprec.errors import ConfigError

if TYPE_CHECKING:
    from shoprec.data.synthetic import SyntheticShop

FILE_FORMATS = ("csv", "parquet", "jsonl")
WRITE_CHUNK_EVENTS = 500_000


def _iso_timestamps(table: pa.Table) -> pa.Table:
    """The same table with timestamp columns as ISO 8601 text (milliseconds, 'Z')."""
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            text = pc.strftime(table.column(i), format="%Y-%m-%dT%H:%M:%SZ")  # %S carries the milliseconds
            table = table.set_column(i, pa.field(f.name, pa.string(), f.nullable), text)
    return table


class _Writer:
    """One open output file of a given format, written table by table."""

    def __init__(self, path: Path, schema: pa.Schema, file_format: str) -> None:
        self.path, self.format = path, file_format
        if file_format == "parquet":
            self._writer: pq.ParquetWriter | pcsv.CSVWriter | None = pq.ParquetWriter(path, schema)
        elif file_format == "csv":
            self._writer = pcsv.CSVWriter(path, _iso_timestamps(schema.empty_table()).schema)
        else:
            self._writer = None
            self._text = path.open("w", encoding="utf-8")

    def write(self, table: pa.Table) -> None:
        if self.format == "parquet":
            self._writer.write_table(table)  # type: ignore[union-attr]
        elif self.format == "csv":
            self._writer.write_table(_iso_timestamps(table))  # type: ignore[union-attr]
        elif table.num_rows:
            frame = _iso_timestamps(table).to_pandas()
            text = frame.to_json(orient="records", lines=True, force_ascii=False)
            self._text.write(text if text.endswith("\n") else text + "\n")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        else:
            self._text.close()


def write_table(tables: Iterable[pa.Table], path: Path, schema: pa.Schema, file_format: str,
                on_chunk: Callable[[int], None] | None = None) -> Path:
    """Write `tables` (all of `schema`) to one file; the file is complete (with a header) even if empty."""
    writer = _Writer(path, schema, file_format)
    try:
        for table in tables:
            writer.write(table)
            if on_chunk is not None:
                on_chunk(table.num_rows)
    finally:
        writer.close()
    return path


def write_shop_files(shop: SyntheticShop, out_dir: Path, file_format: str = "csv") -> dict[str, Path]:
    """Write items.<ext>, users.<ext> and events.<ext> under `out_dir`; returns {kind: path}.

    `file_format` is "csv" (with a header), "parquet" or "jsonl"; events are streamed.
    """
    if file_format not in FILE_FORMATS:
        raise ConfigError(f"file format must be one of {', '.join(FILE_FORMATS)}, got {file_format!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind, frame, schema in (("items", shop.items, S.ITEM_SCHEMA), ("users", shop.users, S.USER_SCHEMA)):
        table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False).replace_schema_metadata(None)
        paths[kind] = write_table([table], out_dir / f"{kind}.{file_format}", schema, file_format)
    with progress.task("generate events", total=shop.spec.events, unit="events") as bar:
        paths["events"] = write_table(shop.event_tables(WRITE_CHUNK_EVENTS), out_dir / f"events.{file_format}",
                                      S.EVENT_SCHEMA, file_format, on_chunk=bar.advance)
    return paths
