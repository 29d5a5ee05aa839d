"""Search relevance judgments: which items are how relevant to which query.

Three sources give the same frame (columns QUERY, ITEM_ID, RELEVANCE):
- a Home Depot `train.csv` (Kaggle: id, product_uid, product_title, search_term, relevance; the
  original is latin-1, the copy in shared data UTF-8: both are read);
- a plain CSV with the columns query, item_id, relevance;
- the store's judgments table (`shoprec ingest --kind judgments`, or the homedepot adapter).
A bad row is an error naming the file, the line and the column.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd

from shoprec.data import schema as S
from shoprec.data.store import JUDGMENT_SCHEMA, Store
from shoprec.errors import DataError, ShoprecError

RELEVANCE = JUDGMENT_SCHEMA.names[2]  # "relevance", the store's column
JUDGMENT_COLUMNS = (S.QUERY, S.ITEM_ID, RELEVANCE)
# Header names of each accepted file layout -> canonical column.
_LAYOUTS = {
    "homedepot": {"search_term": S.QUERY, "product_uid": S.ITEM_ID, "relevance": RELEVANCE},
    "plain": {"query": S.QUERY, "item_id": S.ITEM_ID, "relevance": RELEVANCE},
}


def read_judgments(path: Path) -> pd.DataFrame:
    """Judgments from a Home Depot train.csv or a plain query,item_id,relevance CSV.

    UTF-8 is tried first, then latin-1. A repeated (query, item) keeps its last relevance.
    Raises DataError naming file, line and column for a missing column, an empty query or
    item id, or a relevance that is not a finite number.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("judgments file not found", file=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    return _parse(text, str(path))


def _parse(text: str, file: str) -> pd.DataFrame:
    reader = csv.reader(text.splitlines(keepends=True))
    header = next(reader, None)
    if header is None:
        raise DataError("the judgments file is empty; expected a header line", file=file, line=1)
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    layout = next((m for m in _LAYOUTS.values() if set(m) <= set(names)), None)
    if layout is None:
        raise DataError(f"expected the columns query,item_id,relevance (or Home Depot's search_term,product_uid,"
                        f"relevance), got {','.join(names)}", file=file, line=1)
    at = {canonical: names.index(raw) for raw, canonical in layout.items()}
    rows: list[tuple[str, str, float]] = []
    start = reader.line_num + 1
    for record in reader:
        line, start = start, reader.line_num + 1
        if not any(field.strip() for field in record):
            continue
        if len(record) < len(names):
            raise DataError(f"expected {len(names)} fields, got {len(record)}", file=file, line=line)
        query, item, raw = (record[at[c]].strip() for c in JUDGMENT_COLUMNS)
        if not query:
            raise DataError("empty query", file=file, line=line, field=_raw_name(layout, S.QUERY))
        if not item:
            raise DataError("empty item id", file=file, line=line, field=_raw_name(layout, S.ITEM_ID))
        try:
            relevance = float(raw)
        except ValueError:
            relevance = math.nan
        if not math.isfinite(relevance):
            raise DataError(f"expected a number, got {raw!r}", file=file, line=line, field=_raw_name(layout, RELEVANCE))
        rows.append((query, item, relevance))
    if not rows:
        raise DataError("no judgments after the header", file=file)
    return _canonical(pd.DataFrame(rows, columns=list(JUDGMENT_COLUMNS)))


def _raw_name(layout: dict[str, str], canonical: str) -> str:
    return next(raw for raw, c in layout.items() if c == canonical)


def judgments_from_store(workspace: Path) -> pd.DataFrame:
    """The store's judgments table; a ShoprecError when the store holds none."""
    store = Store(Path(workspace))
    try:
        frame = store.judgments()
    finally:
        store.close()
    if not len(frame):
        raise ShoprecError(f"the store in {workspace} holds no search judgments: give --judgments FILE, or ingest "
                           "them with 'shoprec ingest --kind judgments'")
    frame = frame.dropna(subset=[RELEVANCE])
    frame[S.QUERY] = frame[S.QUERY].astype(str).str.strip()
    return _canonical(frame[frame[S.QUERY] != ""])


def load_judgments(path: Path | None, workspace: Path) -> pd.DataFrame:
    """Judgments from `path` when given, else from the workspace's store."""
    return read_judgments(path) if path is not None else judgments_from_store(workspace)


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[list(JUDGMENT_COLUMNS)].copy()
    frame[S.ITEM_ID] = frame[S.ITEM_ID].astype(str).str.replace(r"\.0$", "", regex=True)
    frame[RELEVANCE] = frame[RELEVANCE].astype("float64")
    return frame.drop_duplicates([S.QUERY, S.ITEM_ID], keep="last").reset_index(drop=True)


def by_query(judgments: pd.DataFrame) -> dict[str, dict[str, float]]:
    """query -> {item_id: relevance}, queries in first-seen order."""
    grouped: dict[str, dict[str, float]] = {}
    for query, item, relevance in zip(judgments[S.QUERY], judgments[S.ITEM_ID], judgments[RELEVANCE]):
        grouped.setdefault(str(query), {})[str(item)] = float(relevance)
    return grouped
