"""Readers: files (CSV/TSV, JSON Lines, Parquet; plain, gzip or zip) -> chunks of raw records.

A reader knows nothing of shoprec's schema: it yields the source's own columns, each row tagged
with the file and line it came from, and the rows it could not even split into fields (wrong
column count, broken quoting, undecodable bytes, malformed JSON) as rejects for the quarantine.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from shoprec.data.quarantine import Reject, RejectReason
from shoprec.errors import DataError

FORMATS = ("csv", "tsv", "jsonl", "parquet")
# A quoted field may span lines; beyond this many lines an open quote is taken as broken.
MAX_LINES_PER_RECORD = 50
# Lines parsed together on the fast path.
BLOCK_LINES = 10_000
# surrogateescape maps undecodable bytes to lone surrogates U+DC80..U+DCFF.
_BAD_BYTES = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file. `None` means: infer it (format from the name, delimiter by sniffing)."""

    file_format: str | None = None
    delimiter: str | None = None
    encoding: str = "utf-8"
    columns: tuple[str, ...] | None = None  # names for a header-less file
    chunk_rows: int = 250_000


@dataclass
class RawChunk:
    """Up to `chunk_rows` parsed records: source columns as strings (or typed, for Parquet)."""

    file: str
    frame: pd.DataFrame
    lines: np.ndarray  # int64: the line (row, for Parquet) each record starts on, 1-based
    rejects: list[Reject] = field(default_factory=list)
    # Share of the file read once this chunk was parsed (bytes, or rows for Parquet), for the ETA of
    # ingest's progress; None where it is not known (a member of a zip archive).
    read_share: float | None = None
    # Each record's text as in the file (delimited and JSON Lines files), for the quarantine.
    raw_lines: list[str] | None = None


def read_records(path: Path, options: ReadOptions = ReadOptions()) -> Iterator[RawChunk]:
    """Yield the records of `path` chunk by chunk; a zip archive yields each member in turn."""
    path = Path(path)
    if not path.exists():
        raise DataError("no such file", file=str(path))
    if path.is_dir():
        raise DataError("is a folder; give a file (or use --format with an adapter for a dataset folder)", file=str(path))
    with path.open("rb") as probe:
        magic = probe.read(4)
    size = path.stat().st_size
    if magic[:2] == b"\x1f\x8b":
        inner = path.name[:-3] if path.name.endswith(".gz") else path.name
        with path.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as stream:
            # compressed bytes read so far: the share of the file behind the text decoded
            yield from _read_stream(stream, str(path), inner, options, lambda: raw.tell() / max(size, 1))  # type: ignore[arg-type]
    elif magic == b"PK\x03\x04":
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")]
            if not members:
                raise DataError("zip archive holds no files", file=str(path))
            for member in members:
                with archive.open(member) as stream:
                    yield from _read_stream(stream, f"{path}!{member.filename}", member.filename, options, None)
    else:
        with path.open("rb") as stream:
            yield from _read_stream(stream, str(path), path.name, options, lambda: stream.tell() / max(size, 1))


def detect_format(name: str, options: ReadOptions) -> str:
    """The file format: the option when given, else from the file name."""
    if options.file_format:
        if options.file_format not in FORMATS:
            raise DataError(f"unknown file format '{options.file_format}', expected one of {', '.join(FORMATS)}")
        return options.file_format
    lower = name.lower().removesuffix(".gz")
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lower.endswith((".tsv", ".tab")):
        return "tsv"
    return "csv"


def _read_stream(stream: IO[bytes], file: str, name: str, options: ReadOptions,
                 read_share: Callable[[], float] | None) -> Iterator[RawChunk]:
    fmt = detect_format(name, options)
    if fmt == "parquet":
        # Parquet needs random access; a compressed or zipped one is read into memory first.
        source = stream if stream.seekable() else io.BytesIO(stream.read())
        yield from _read_parquet(source, file, options)
        return
    text = io.TextIOWrapper(stream, encoding=options.encoding, errors="surrogateescape", newline="")
    chunks = (_read_jsonl(text, file, options) if fmt == "jsonl" else
              _read_delimited(text, file, options, "\t" if fmt == "tsv" and not options.delimiter else options.delimiter))
    for chunk in chunks:
        if read_share is not None:
            chunk.read_share = min(1.0, read_share())
        yield chunk


def _read_parquet(source: IO[bytes], file: str, options: ReadOptions) -> Iterator[RawChunk]:
    parquet = pq.ParquetFile(source)
    total = max(parquet.metadata.num_rows, 1)
    start = 1
    for batch in parquet.iter_batches(batch_size=options.chunk_rows):
        frame = batch.to_pandas()
        if options.columns:
            frame.columns = list(options.columns)[: len(frame.columns)]
        start += len(frame)
        yield RawChunk(file, frame, np.arange(start - len(frame), start, dtype=np.int64), read_share=(start - 1) / total)


def _read_jsonl(text: IO[str], file: str, options: ReadOptions) -> Iterator[RawChunk]:
    rows: list[dict[str, object]] = []
    lines: list[int] = []
    raws: list[str] = []
    rejects: list[Reject] = []
    for number, line in enumerate(text, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if _has_bad_bytes(stripped):
            rejects.append(Reject(file, number, None, RejectReason.INVALID_ENCODING, _encoding_hint(options), _printable(stripped)))
            continue
        try:
            record = json.loads(stripped)
        except json.JSONDecodeError as exc:
            rejects.append(Reject(file, number, None, RejectReason.INVALID_JSON, str(exc), stripped))
            continue
        if not isinstance(record, dict):
            rejects.append(Reject(file, number, None, RejectReason.INVALID_JSON, "expected a JSON object per line", stripped))
            continue
        rows.append(record)
        lines.append(number)
        raws.append(stripped)
        if len(rows) >= options.chunk_rows:
            yield RawChunk(file, pd.DataFrame.from_records(rows), np.asarray(lines, np.int64), rejects, raw_lines=raws)
            rows, lines, raws, rejects = [], [], [], []
    if rows or rejects:
        yield RawChunk(file, pd.DataFrame.from_records(rows), np.asarray(lines, np.int64), rejects, raw_lines=raws)


def _read_delimited(text: IO[str], file: str, options: ReadOptions, delimiter: str | None) -> Iterator[RawChunk]:
    physical = _numbered_lines(text)
    first = next(physical, None)
    if first is None:
        return
    if delimiter is None:
        delimiter = _sniff_delimiter(first[1])
    if options.columns:
        header = list(options.columns)
        pending: list[tuple[int, str]] = [first]
    else:
        header_fields = next(csv.reader([first[1]], delimiter=delimiter))
        header = [h.strip().lstrip("\ufeff") for h in header_fields]
        pending = []
        if len(set(header)) != len(header):
            raise DataError(f"repeated column names in header: {header}", file=file, line=first[0])
    width = len(header)
    records = _records(_Lines(pending, physical), delimiter, width, file, options)
    rows: list[list[str]] = []
    lines: list[int] = []
    raws: list[str] = []
    rejects: list[Reject] = []
    for number, fields, reject, raw in records:
        if reject is not None:
            rejects.append(reject)
        else:
            rows.append(fields)  # type: ignore[arg-type]
            lines.append(number)
            raws.append(raw)
        if len(rows) >= options.chunk_rows:
            yield RawChunk(file, _frame(header, rows), np.asarray(lines, np.int64), rejects, raw_lines=raws)
            rows, lines, raws, rejects = [], [], [], []
    if rows or rejects:
        yield RawChunk(file, _frame(header, rows), np.asarray(lines, np.int64), rejects, raw_lines=raws)


def _frame(header: list[str], rows: list[list[str]]) -> pd.DataFrame:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    return pd.DataFrame({name: np.asarray(col, dtype=object) for name, col in zip(header, columns)})


def _records(
    physical: Iterator[tuple[int, str]], delimiter: str, width: int, file: str, options: ReadOptions
) -> Iterator[tuple[int, list[str] | None, Reject | None, str]]:
    """Split physical lines into records, never letting one bad quote swallow the lines after it.

    Lines are taken in blocks: a block whose every line has balanced quotes and clean bytes is
    parsed in one pass of the C csv reader (the common case, fast). Any other block is read line
    by line: a line with an open quote is joined with the following lines until the quote
    closes; if the joined record is not a well-formed row of the right width, only the first
    line is rejected and the lines after it are read again on their own.
    """
    lookahead: list[tuple[int, str]] = []
    source = _Lines(lookahead, physical)
    while True:
        block = list(islice(source, BLOCK_LINES))
        if not block:
            return
        rows = _parse_clean_block([line for _, line in block], delimiter)
        if rows is None:
            lookahead[:0] = block
            yield from _records_one_by_one(source, len(block), lookahead, delimiter, width, file, options)
            continue
        for (number, line), fields in zip(block, rows, strict=True):
            if not fields and not line.strip():
                continue
            if len(fields) != width:
                yield number, None, _wrong_width(file, number, width, len(fields), line), line
            else:
                yield number, fields, None, line


def _parse_clean_block(lines: list[str], delimiter: str) -> list[list[str]] | None:
    """All lines parsed at once, or None when any line needs the careful path."""
    text = "".join(lines)
    if not text.isascii() and _BAD_BYTES.search(text):
        return None
    if '"' in text and any(line.count('"') % 2 for line in lines):
        return None
    try:
        rows = list(csv.reader(lines, delimiter=delimiter, strict=True))
    except csv.Error:
        return None
    return rows if len(rows) == len(lines) else None


def _records_one_by_one(
    source: _Lines, n_lines: int, lookahead: list[tuple[int, str]], delimiter: str, width: int, file: str,
    options: ReadOptions,
) -> Iterator[tuple[int, list[str] | None, Reject | None, str]]:
    for _ in range(n_lines):
        item = next(source, None)
        if item is None:
            return
        number, line = item
        if not line.strip():
            continue
        if _has_bad_bytes(line):
            yield number, None, Reject(file, number, None, RejectReason.INVALID_ENCODING, _encoding_hint(options), _printable(line)), line
            continue
        if line.count('"') % 2 == 0:
            fields = _parse_quoted(line, delimiter)
            if fields is None:
                yield number, None, Reject(file, number, None, RejectReason.BROKEN_QUOTING, "malformed quoted field", line), line
            elif len(fields) != width:
                yield number, None, _wrong_width(file, number, width, len(fields), line), line
            else:
                yield number, fields, None, line
            continue
        joined, used = line, []
        for extra in source:
            used.append(extra)
            joined += "\n" + extra[1]
            if joined.count('"') % 2 == 0 or len(used) >= MAX_LINES_PER_RECORD:
                break
        parsed = _parse_quoted(joined, delimiter) if joined.count('"') % 2 == 0 else None
        if parsed is not None and len(parsed) == width:
            yield number, parsed, None, joined
            continue
        lookahead[:0] = used
        yield number, None, Reject(file, number, None, RejectReason.BROKEN_QUOTING, "unbalanced quote", line), line


def _wrong_width(file: str, number: int, width: int, got: int, line: str) -> Reject:
    return Reject(file, number, None, RejectReason.WRONG_COLUMN_COUNT, f"expected {width} fields, got {got}", line)


def _parse_quoted(text: str, delimiter: str) -> list[str] | None:
    try:
        rows = list(csv.reader([text], delimiter=delimiter, strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


def _numbered_lines(text: IO[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text, start=1):
        yield number, line.rstrip("\r\n")


class _Lines:
    """Numbered lines with push-back: lines put back in `front` come out first, even after the
    underlying file is exhausted (a plain generator would stay finished)."""

    def __init__(self, front: list[tuple[int, str]], rest: Iterator[tuple[int, str]]) -> None:
        self.front, self.rest = front, rest

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> tuple[int, str]:
        if self.front:
            return self.front.pop(0)
        return next(self.rest)


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _has_bad_bytes(text: str) -> bool:
    return not text.isascii() and _BAD_BYTES.search(text) is not None


def _encoding_hint(options: ReadOptions) -> str:
    return f"bytes not valid in {options.encoding}; pass --encoding (e.g. latin-1)"


def _printable(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
