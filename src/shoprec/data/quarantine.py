"""The quarantine: every rejected row, with its file, line, field and reason, kept for a person to read."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO


class RejectReason(str, Enum):
    """Why a row was rejected (the keys of the ingest summary's `rejected`)."""

    WRONG_COLUMN_COUNT = "wrong_column_count"
    BROKEN_QUOTING = "broken_quoting"
    INVALID_ENCODING = "invalid_encoding"
    INVALID_JSON = "invalid_json"
    MISSING_USER_ID = "missing_user_id"
    MISSING_ITEM_ID = "missing_item_id"
    INVALID_ID = "invalid_id"
    MISSING_EVENT_TYPE = "missing_event_type"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    MISSING_TIMESTAMP = "missing_timestamp"
    INVALID_TIMESTAMP = "invalid_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    ANCIENT_TIMESTAMP = "ancient_timestamp"
    INVALID_PRICE = "invalid_price"
    NEGATIVE_PRICE = "negative_price"
    INVALID_VALUE = "invalid_value"
    INVALID_IN_STOCK = "invalid_in_stock"
    INVALID_AGE = "invalid_age"
    INVALID_ATTRIBUTES = "invalid_attributes"
    INVALID_RELEVANCE = "invalid_relevance"
    MISSING_QUERY = "missing_query"
    RETURNED_PURCHASE = "returned_purchase"


@dataclass(frozen=True)
class Reject:
    """One rejected row."""

    file: str
    line: int
    field: str | None
    reason: RejectReason
    detail: str
    raw: str


class QuarantineWriter:
    """Appends rejects to a CSV file (created on the first reject) and counts them by reason."""

    COLUMNS = ("file", "line", "field", "reason", "detail", "raw")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counts: Counter[str] = Counter()
        self._handle: TextIO | None = None
        self._writer: Any = None  # a csv writer, made on the first reject

    def write(self, rejects: list[Reject]) -> None:
        """Record rejects (a no-op for an empty list)."""
        if not rejects:
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = self.path.open("w", encoding="utf-8", newline="")
            self._handle = handle
            self._writer = csv.writer(handle)
            self._writer.writerow(self.COLUMNS)
        for r in rejects:
            self._writer.writerow((r.file, r.line, r.field or "", r.reason.value, r.detail, r.raw))
            self.counts[r.reason.value] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.flush()
            self._handle.close()
            self._handle = None

    def __enter__(self) -> QuarantineWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def read_quarantine(path: Path) -> list[dict[str, str]]:
    """The rows of a quarantine file, as dicts (for tests and the CLI)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))
