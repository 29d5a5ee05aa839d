"""A database as a source: the rows of an SQL query, streamed in chunks (`shoprec ingest --from URL --query SQL`).

Any database SQLAlchemy reaches (the `sql` extra installs SQLAlchemy and psycopg for PostgreSQL;
SQLite needs nothing more). The query runs on a server-side cursor where the driver has one, so a
large table is read `chunk_rows` at a time, never whole. Each chunk becomes a RawChunk like a
file's: its `file` is the URL without the password plus " query", its `lines` the 1-based row
numbers of the result, so the validation, quarantine, `--map` and `--kind` apply unchanged.

Values arrive typed. They are handed on so the validators read them exactly: integers stay
integers (an id 123 becomes '123', also in a column with NULLs, where pandas would make it 123.0),
a Decimal becomes an int when whole and a float otherwise, date/time columns become UTC datetimes
(a time without a zone is UTC, as in files), UUIDs strings, bytes UTF-8 text.

The connection is only read from and rolled back at the end: the ingest never writes to the database.
The password is never printed: errors name the URL without it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shoprec.data.ingest import Source
from shoprec.data.readers import RawChunk
from shoprec.data.validate import ColumnMapping
from shoprec.errors import DataError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

DEFAULT_CHUNK_ROWS = 250_000
URL_HELP = "a SQLAlchemy URL such as postgresql://user:password@host:5432/shop or sqlite:///path/to/shop.db"
_SECRET_PARAM = re.compile(r"pass|secret|token|key", re.IGNORECASE)


def sql_source(url: str, query: str, kind: str = "events", mapping: ColumnMapping | None = None,
               chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Source:
    """A Source reading the rows of `query` from the database at `url`.

    The URL is parsed and the database reached now, so a bad URL, a missing driver or an
    unreachable server is one clear DataError before the ingest starts; a bad query fails the
    same way when the ingest runs it.
    """
    parsed = _parse(url)
    label = f"{redact(parsed)} query"
    _check_connects(parsed, label)
    return Source(kind, label, lambda: read_query(parsed, query, label, chunk_rows), mapping or ColumnMapping())


def redact(url: str | URL) -> str:
    """The URL as text without its password (nor query parameters that look like one)."""
    try:
        parsed = url if not isinstance(url, str) else _parse(url)
    except DataError:
        return _scrub(str(url))
    hidden = {k: "***" for k in parsed.query if _SECRET_PARAM.search(k)}
    text = parsed.update_query_dict(hidden).render_as_string(hide_password=True)
    return text.replace(":***@", "@", 1) if parsed.password is not None else text


def read_query(url: URL, query: str, label: str, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[RawChunk]:
    """The query's rows, `chunk_rows` at a time, as RawChunks labelled `label`."""
    from sqlalchemy import exc, text

    engine = _engine(url, label)
    try:
        with engine.connect() as connection:
            streaming = connection.execution_options(stream_results=True, max_row_buffer=chunk_rows)
            try:
                result = streaming.execute(text(query))
            except exc.SQLAlchemyError as error:
                raise DataError(f"the query failed: {_reason(error, url)}", file=label) from None
            if not result.returns_rows:
                raise DataError("the query returned no rows to read (give a SELECT)", file=label)
            columns = list(map(str, result.keys()))  # (a Result, not a dict: iterating it reads rows)
            start = 1
            try:
                for rows in result.partitions(chunk_rows):
                    frame = rows_frame(columns, rows)
                    yield RawChunk(label, frame, np.arange(start, start + len(frame), dtype=np.int64))
                    start += len(frame)
            except exc.SQLAlchemyError as error:
                raise DataError(f"reading the query's rows failed at row {start}: {_reason(error, url)}", file=label) from None
            connection.rollback()  # read only: nothing the query did is kept
    except exc.SQLAlchemyError as error:  # connecting, or closing the cursor
        raise DataError(f"database error: {_reason(error, url)}", file=label) from None
    finally:
        engine.dispose()


def rows_frame(columns: list[str], rows: list[Any]) -> pd.DataFrame:
    """A chunk's rows as a frame of columns the validators read exactly (see the module's docstring)."""
    if len(set(columns)) != len(columns):
        raise DataError(f"the query returns repeated column names {columns}: give each one its own name (AS ...)")
    values = list(zip(*rows)) if rows else [() for _ in columns]
    return pd.DataFrame({name: _column(list(col)) for name, col in zip(columns, values)}, index=pd.RangeIndex(len(rows)))


def _column(values: list[Any]) -> pd.Series:
    values = [_plain(v) for v in values]
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, datetime | date) for v in present):
        # A naive time is UTC (as in files); an aware one is converted to UTC.
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object), utc=True))
    if present and len(present) == len(values):
        if all(type(v) is int for v in values) and all(-(2**63) <= v < 2**63 for v in values):
            return pd.Series(np.asarray(values, dtype=np.int64))
        if all(type(v) is float for v in values):
            return pd.Series(np.asarray(values, dtype=np.float64))
    return pd.Series(values, dtype=object)


def _plain(value: Any) -> Any:
    """A database value as a plain Python value the validators read without loss."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            return float(value)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, memoryview | bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return value


def _scrub(url: str) -> str:
    """A URL that did not parse, with anything between '//user:' and '@' taken out."""
    return re.sub(r"//([^/@:]*):[^/@]*@", r"//\1@", str(url))


def _parse(url: str) -> URL:
    try:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError
    except ImportError:
        raise DataError("--from needs SQLAlchemy: pip install 'shoprec[sql]'") from None
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise DataError(f"--from: cannot read {_scrub(url)!r} as a database URL; expected {URL_HELP}") from None
    return parsed


def _engine(url: URL, label: str) -> Any:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError
    from sqlalchemy.pool import NullPool

    if url.drivername in ("postgres", "postgresql"):  # SQLAlchemy's default driver is psycopg2; the extra installs psycopg 3
        url = url.set(drivername="postgresql+psycopg")
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not database.startswith("file:") \
            and not Path(database).is_file():  # SQLite would make an empty database and say "no such table"
        raise DataError(f"no such SQLite database file: {url.database}", file=label)
    try:
        return create_engine(url, poolclass=NullPool)
    except NoSuchModuleError:
        raise DataError(f"SQLAlchemy knows no database '{url.drivername}'; expected {URL_HELP}", file=label) from None
    except ImportError as error:
        raise DataError(f"the driver for '{url.drivername}' is not installed ({error.name or error}): "
                        "pip install 'shoprec[sql]' for PostgreSQL, or the driver your database needs", file=label) from None
    except ArgumentError as error:
        raise DataError(f"--from: {_reason(error, url)}", file=label) from None


def _check_connects(url: URL, label: str) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    engine = _engine(url, label)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as error:
        raise DataError(f"cannot connect: {_reason(error, url)}", file=label) from None
    finally:
        engine.dispose()


def _reason(error: Exception, url: URL) -> str:
    """The driver's own message, on one line, without the SQL echo SQLAlchemy appends nor the password."""
    original = getattr(error, "orig", None) or error
    message = " ".join(str(original).split("\n(Background on this error")[0].split())
    if url.password:
        message = message.replace(str(url.password), "***")
    return message or type(original).__name__
