"""Validation: raw chunks in a source's own columns -> canonical rows, and rejects with reasons.

This is the one place where data is checked; everything after it trusts the canonical tables.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from shoprec.data import schema as S
from shoprec.data.ids import RULE as ID_RULE
from shoprec.data.ids import id_problem, invalid_ids
from shoprec.data.mapping import CANCELLED, ColumnMapping, split_category
from shoprec.data.quarantine import Reject, RejectReason
from shoprec.data.readers import RawChunk
from shoprec.data.timestamps import parse_timestamps
from shoprec.errors import DataError

_TRUE = {"1", "true", "t", "yes", "y", "in stock", "in_stock", "instock", "available"}
_FALSE = {"0", "false", "f", "no", "n", "out of stock", "out_of_stock", "outofstock", "unavailable"}


MAX_JSON_DEPTH = 32  # attributes nest at most this deep (the API's JSON bodies too: service/request_checks.py)


@dataclass
class Validated:
    """The canonical rows of a chunk, their source lines, and the rejects."""

    frame: pd.DataFrame
    lines: np.ndarray
    rejects: list[Reject]


def select_columns(chunk: RawChunk, mapping: ColumnMapping, wanted: tuple[str, ...]) -> dict[str, pd.Series]:
    """The source columns that hold each wanted canonical column (absent ones are left out), with
    missing-value markers as None. A mapped field that is not wanted, or whose column is absent, is an error."""
    mapping.check_fields(wanted, chunk.file)
    available = list(chunk.frame.columns)
    selected: dict[str, pd.Series] = {}
    for canonical in wanted:
        source = mapping.columns.get(canonical, canonical)
        if source in chunk.frame.columns:
            selected[canonical] = mapping.missing_as_none(chunk.frame[source])
        elif canonical in mapping.columns:
            raise DataError(f"--map {canonical}={source}: no column '{source}'; the file has {available}", file=chunk.file)
    return selected


def _missing_column(chunk: RawChunk, required: str, kind: str) -> DataError:
    """The error for a table without a required column, pointing at --kind when the columns look
    like another table's (items.csv ingested as events), else at --map."""
    columns = {str(c) for c in chunk.frame.columns}
    guesses = {"items": {S.ITEM_ID, S.TITLE} <= columns and S.USER_ID not in columns,
               "users": S.USER_ID in columns and S.ITEM_ID not in columns and bool(columns & {S.AGE, S.GENDER, S.LOCATION}),
               "judgments": {S.QUERY, "relevance"} <= columns, "events": {S.USER_ID, S.ITEM_ID} <= columns}
    likely = next((k for k, looks in guesses.items() if looks and k != kind), None)
    hint = f"these columns look like a table of {likely}: use --kind {likely}" if likely else f"use --map {required}=COLUMN"
    return DataError(f"no '{required}' column (columns: {list(chunk.frame.columns)}); {hint}", file=chunk.file)


def validate_events(chunk: RawChunk, mapping: ColumnMapping) -> Validated:
    """Canonical event rows (with any item columns the log carries inline) and rejects."""
    wanted = S.EVENT_COLUMNS + S.ITEM_COLUMNS_IN_EVENTS + (CANCELLED,)
    cols = select_columns(chunk, mapping, wanted)
    n = len(chunk.frame)
    for required in (S.USER_ID, S.ITEM_ID, S.TIMESTAMP):
        if required not in cols and n:
            if required == S.USER_ID and mapping.anonymous_user == "event":
                cols[S.USER_ID] = pd.Series([None] * n, index=chunk.frame.index, dtype=object)
                continue
            raise _missing_column(chunk, required, "events")
    if S.EVENT_TYPE not in cols and mapping.event_type is None and n:
        raise DataError(f"no 'event_type' column (columns: {list(chunk.frame.columns)}); use --event-type TYPE or --map event_type=COLUMN", file=chunk.file)

    out = pd.DataFrame(index=chunk.frame.index)
    checks = _Checks(chunk, mapping)
    out[S.USER_ID] = checks.id_column(_with_anonymous(chunk, cols, mapping) if n else None, S.USER_ID, RejectReason.MISSING_USER_ID)
    out[S.ITEM_ID] = checks.id_column(cols[S.ITEM_ID] if n else None, S.ITEM_ID, RejectReason.MISSING_ITEM_ID)

    if S.EVENT_TYPE in cols:
        raw_type = text(cols[S.EVENT_TYPE])
        mapped = raw_type.str.lower()
        if mapping.event_type_map:
            # map keys are matched as written, then lower-cased
            exact = raw_type.map(mapping.event_type_map)
            lowered = mapped.map({k.lower(): v for k, v in mapping.event_type_map.items()})
            mapped = exact.where(exact.notna(), lowered.where(lowered.notna(), mapped))
        if mapping.event_type is not None:
            mapped = mapped.fillna(mapping.event_type)
        checks.add(mapped.isna(), S.EVENT_TYPE, RejectReason.MISSING_EVENT_TYPE, "empty")
        unknown = mapped.notna() & ~mapped.isin(S.EVENT_TYPES)
        checks.add(unknown, S.EVENT_TYPE, RejectReason.UNKNOWN_EVENT_TYPE, lambda i: f"'{raw_type.iloc[i]}' is not one of {', '.join(S.EVENT_TYPES)} (see --event-type-map)")
        out[S.EVENT_TYPE] = mapped
    else:
        out[S.EVENT_TYPE] = mapping.event_type

    raw_ts = cols.get(S.TIMESTAMP, pd.Series([None] * n, index=chunk.frame.index, dtype=object))
    ts = parse_timestamps(raw_ts, mapping.time_format)
    empty_ts = _empty(raw_ts)
    checks.add(empty_ts, S.TIMESTAMP, RejectReason.MISSING_TIMESTAMP, "empty")
    checks.add(ts.isna() & ~empty_ts, S.TIMESTAMP, RejectReason.INVALID_TIMESTAMP, lambda i: f"cannot read '{raw_ts.iloc[i]}' as a time (ISO 8601, 'YYYY-MM-DD HH:MM:SS[ UTC]', epoch s/ms, or --time-format)")
    bounds = mapping.time_bounds
    latest = bounds.latest()
    checks.add(ts > latest, S.TIMESTAMP, RejectReason.FUTURE_TIMESTAMP,
               lambda i: f"'{raw_ts.iloc[i]}' is {ts.iloc[i]}, more than {bounds.max_future} after now ({latest - bounds.max_future:%Y-%m-%d %H:%M} UTC): a clock or unit error? (--max-future)")
    checks.add(ts < bounds.floor, S.TIMESTAMP, RejectReason.ANCIENT_TIMESTAMP,
               lambda i: f"'{raw_ts.iloc[i]}' is {ts.iloc[i]}, before {bounds.floor:%Y-%m-%d} (--time-floor)")
    out[S.TIMESTAMP] = ts

    out[S.SESSION_ID] = checks.id_column(cols[S.SESSION_ID], S.SESSION_ID, None) if S.SESSION_ID in cols else None
    out[S.VALUE] = checks.number(cols.get(S.VALUE), S.VALUE, RejectReason.INVALID_VALUE, allow_negative=True)
    _returns(out, mapping.cancelled(cols.get(CANCELLED)), mapping, checks)
    out[S.QUERY] = text(cols[S.QUERY]) if S.QUERY in cols else None
    out[S.REVIEW_TEXT] = text(cols[S.REVIEW_TEXT]) if S.REVIEW_TEXT in cols else None
    _item_columns(out, cols, checks)
    return checks.finish(out)


def _with_anonymous(chunk: RawChunk, cols: dict[str, pd.Series], mapping: ColumnMapping) -> pd.Series:
    """The user column, with an anonymous shopper where it is missing when `anonymous_user` says how:
    the session's (`anon-session-<id>`), or one per event (`anon-<source>-<line>`)."""
    users = cols[S.USER_ID]
    if mapping.anonymous_user is None:
        return users
    missing = ids(users).isna()
    if not missing.any():
        return users
    if mapping.anonymous_user == "session":
        sessions = ids(cols[S.SESSION_ID]) if S.SESSION_ID in cols else pd.Series(None, index=users.index, dtype=object)
        named = sessions.map(lambda v: f"anon-session-{v}" if isinstance(v, str) else None)
    else:
        tag = hashlib.sha1(chunk.file.encode()).hexdigest()[:8]
        named = pd.Series([f"anon-{tag}-{line}" for line in chunk.lines], index=users.index, dtype=object)
    return users.astype(object).where(~missing, named)


def _returns(out: pd.DataFrame, cancelled: pd.Series | None, mapping: ColumnMapping, checks: _Checks) -> None:
    """Purchases with a negative quantity, or marked cancelled, become `return` events (quantity
    made positive), or go to the quarantine with `returns="quarantine"`."""
    purchase = (out[S.EVENT_TYPE] == S.EventType.PURCHASE.value).to_numpy(dtype=bool)
    quantity = pd.to_numeric(out[S.VALUE], errors="coerce")
    negative = (quantity < 0).to_numpy(dtype=bool)
    returned = purchase & (negative | (cancelled.to_numpy(dtype=bool) if cancelled is not None else False))
    if not returned.any():
        return
    if mapping.returns == "quarantine":
        checks.add(pd.Series(returned, index=out.index), S.EVENT_TYPE, RejectReason.RETURNED_PURCHASE,
                   "a returned or cancelled purchase (negative quantity or cancelled mark; --returns event keeps it as a return)")
        return
    out.loc[returned, S.EVENT_TYPE] = S.EventType.RETURN.value
    out[S.VALUE] = quantity.where(~(returned & negative), -quantity)  # the quantity returned, positive


def validate_items(chunk: RawChunk, mapping: ColumnMapping) -> Validated:
    """Canonical catalogue rows; source columns that are not canonical become attributes."""
    cols = select_columns(chunk, mapping, S.ITEM_COLUMNS)
    if S.ITEM_ID not in cols and len(chunk.frame):
        raise _missing_column(chunk, S.ITEM_ID, "items")
    out = pd.DataFrame(index=chunk.frame.index)
    checks = _Checks(chunk, mapping)
    out[S.ITEM_ID] = checks.id_column(cols[S.ITEM_ID] if len(chunk.frame) else None, S.ITEM_ID, RejectReason.MISSING_ITEM_ID)
    _item_columns(out, cols, checks)
    out[S.ATTRIBUTES] = _attributes(chunk, cols, mapping, S.ITEM_COLUMNS, checks)
    return checks.finish(out[list(S.ITEM_COLUMNS)])


def validate_users(chunk: RawChunk, mapping: ColumnMapping) -> Validated:
    """Canonical user rows; source columns that are not canonical become attributes."""
    cols = select_columns(chunk, mapping, S.USER_COLUMNS)
    if S.USER_ID not in cols and len(chunk.frame):
        raise _missing_column(chunk, S.USER_ID, "users")
    out = pd.DataFrame(index=chunk.frame.index)
    checks = _Checks(chunk, mapping)
    out[S.USER_ID] = checks.id_column(cols[S.USER_ID] if len(chunk.frame) else None, S.USER_ID, RejectReason.MISSING_USER_ID)
    out[S.AGE] = checks.number(cols.get(S.AGE), S.AGE, RejectReason.INVALID_AGE, allow_negative=False)
    out[S.GENDER] = text(cols[S.GENDER]) if S.GENDER in cols else None
    out[S.LOCATION] = text(cols[S.LOCATION]) if S.LOCATION in cols else None
    out[S.ATTRIBUTES] = _attributes(chunk, cols, mapping, S.USER_COLUMNS, checks)
    return checks.finish(out[list(S.USER_COLUMNS)])


def _item_columns(out: pd.DataFrame, cols: dict[str, pd.Series], checks: _Checks) -> None:
    out[S.TITLE] = text(cols[S.TITLE]) if S.TITLE in cols else None
    out[S.DESCRIPTION] = text(cols[S.DESCRIPTION]) if S.DESCRIPTION in cols else None
    out[S.CATEGORY] = category_path(cols[S.CATEGORY], checks.mapping.category_sep or ">") if S.CATEGORY in cols else None
    out[S.BRAND] = text(cols[S.BRAND]) if S.BRAND in cols else None
    price = checks.number(cols.get(S.PRICE), S.PRICE, RejectReason.INVALID_PRICE, allow_negative=True)
    if price is not None:
        checks.add(price < 0, S.PRICE, RejectReason.NEGATIVE_PRICE, lambda i: f"{price.iloc[i]} is below 0")
    out[S.PRICE] = price
    out[S.IN_STOCK] = checks.boolean(cols.get(S.IN_STOCK), S.IN_STOCK, RejectReason.INVALID_IN_STOCK)


def _attributes(chunk: RawChunk, cols: dict[str, pd.Series], mapping: ColumnMapping, canonical: tuple[str, ...], checks: _Checks) -> pd.Series:
    used = {mapping.columns.get(c, c) for c in canonical}
    extra = [c for c in chunk.frame.columns if c not in used]
    base = cols.get(S.ATTRIBUTES)
    parsed: list[str | None] = []
    bad = np.zeros(len(chunk.frame), dtype=bool)
    base_values = base.tolist() if base is not None else [None] * len(chunk.frame)
    extra_values = [chunk.frame[c].tolist() for c in extra]
    for i, raw in enumerate(base_values):
        attrs: dict[str, object] = {}
        if isinstance(raw, dict):
            attrs.update(raw)
        elif isinstance(raw, str) and raw.strip():
            try:
                loaded = json.loads(raw, parse_constant=_no_constant)
            except (ValueError, RecursionError):  # not JSON, NaN/Infinity, or nested past Python's limit
                loaded = None
            if not isinstance(loaded, dict):
                bad[i] = True
            else:
                attrs.update(loaded)
        for name, values in zip(extra, extra_values):
            value = values[i]
            if value is not None and not (isinstance(value, float) and np.isnan(value)) and value != "":
                attrs[name] = value if isinstance(value, (int, float, bool, str)) else str(value)
        try:
            text_value = json.dumps(attrs, ensure_ascii=False, default=str, allow_nan=False) if attrs else None
        except ValueError:  # an infinite number
            bad[i], text_value = True, None
        if attrs and json_depth(attrs) > MAX_JSON_DEPTH:
            bad[i], text_value = True, None
        parsed.append(text_value)
    checks.add(pd.Series(bad, index=chunk.frame.index), S.ATTRIBUTES, RejectReason.INVALID_ATTRIBUTES,
               f"expected a JSON object of finite numbers, nested at most {MAX_JSON_DEPTH} levels deep")
    return pd.Series(parsed, index=chunk.frame.index, dtype=object)


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def json_depth(value: object) -> int:
    """How deeply lists and dicts nest in `value` (a scalar: 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children = current.values() if isinstance(current, dict) else current if isinstance(current, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _empty(values: pd.Series) -> pd.Series:
    """True where a value is missing or blank (typed columns are only checked for missing)."""
    if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return values.isna()
    return values.isna() | (values.astype("string").str.strip() == "").fillna(True).astype(bool)


def ids(values: pd.Series) -> pd.Series:
    """Ids as strings (a number read as 12.0 becomes '12'), kept as written otherwise (data/ids.py
    checks them); empty or blank -> None."""
    if pd.api.types.is_float_dtype(values):
        as_int = values.dropna()
        if (as_int == as_int.round()).all():
            return values.map(lambda v: None if pd.isna(v) else str(int(v))).astype(object)
    if pd.api.types.is_integer_dtype(values):
        return values.map(lambda v: None if pd.isna(v) else str(v)).astype(object)
    strings = values.astype("string")
    blank = (strings.str.strip() == "").fillna(True).astype(bool).to_numpy()
    return pd.Series(np.where(blank, None, strings.to_numpy(dtype=object, na_value=None)), index=values.index, dtype=object)


def text(values: pd.Series) -> pd.Series:
    """Stripped strings; empty -> None."""
    stripped = values.astype("string").str.strip()
    return stripped.where(stripped != "", None).astype(object).where(stripped.notna() & (stripped != ""), None)


def category_path(values: pd.Series, separator: str = ">") -> pd.Series:
    """A category path with levels joined by ' > ' (the source's `separator` with any spacing)."""
    return split_category(text(values), separator)


class _Checks:
    """Collects per-row failures; a row gets the first reason found (checks run in column order)."""

    def __init__(self, chunk: RawChunk, mapping: ColumnMapping) -> None:
        self.chunk, self.mapping = chunk, mapping
        self.failed = np.zeros(len(chunk.frame), dtype=bool)
        self.rejects: list[tuple[int, Reject]] = []

    def add(self, mask: pd.Series, field_name: str, reason: RejectReason, detail: str | Callable[[int], str]) -> None:
        new = np.asarray(mask.fillna(False), dtype=bool) & ~self.failed
        for i in np.flatnonzero(new):
            message = detail(int(i)) if callable(detail) else detail
            self.rejects.append((int(i), Reject(self.chunk.file, int(self.chunk.lines[i]), field_name, reason, message, self._raw(int(i)))))
        self.failed |= new

    def id_column(self, values: pd.Series | None, field_name: str, missing: RejectReason | None) -> pd.Series:
        """The ids of `values` as written; a missing one is rejected with `missing` (when given),
        one that breaks the id rule (data/ids.py) with invalid_id."""
        if values is None:
            return pd.Series(dtype=object)
        out = ids(values)
        if missing is not None:
            self.add(out.isna(), field_name, missing, "empty")
        self.add(invalid_ids(out), field_name, RejectReason.INVALID_ID, lambda i: f"{out.iloc[i]!r} {id_problem(out.iloc[i])}: {ID_RULE}")
        return out

    def number(self, values: pd.Series | None, field_name: str, reason: RejectReason, *, allow_negative: bool) -> pd.Series | None:
        if values is None:
            return None
        raw = values if pd.api.types.is_numeric_dtype(values) else text(values)
        readable = raw if pd.api.types.is_numeric_dtype(raw) else self.mapping.numbers_text(raw.astype("string"))
        numbers = pd.to_numeric(readable, errors="coerce").astype("float64")
        self.add(raw.notna() & (numbers.isna() | ~np.isfinite(numbers.fillna(0))), field_name, reason, lambda i: f"expected a number, got '{values.iloc[i]}'")
        if not allow_negative:
            self.add(numbers < 0, field_name, reason, lambda i: f"expected a number >= 0, got {numbers.iloc[i]}")
        return numbers

    def boolean(self, values: pd.Series | None, field_name: str, reason: RejectReason) -> pd.Series | None:
        if values is None:
            return None
        if pd.api.types.is_bool_dtype(values):
            return values.astype(object)
        lowered = text(values).map(lambda v: v.lower() if isinstance(v, str) else v)
        result = lowered.map(lambda v: True if v in _TRUE else (False if v in _FALSE else None)).astype(object)
        self.add(lowered.notna() & result.isna(), field_name, reason, lambda i: f"expected true/false, got '{values.iloc[i]}'")
        return result

    def finish(self, out: pd.DataFrame) -> Validated:
        ok = ~self.failed
        self.rejects.sort(key=lambda pair: pair[0])
        rejects = list(self.chunk.rejects) + [r for _, r in self.rejects]
        return Validated(out[ok].reset_index(drop=True), self.chunk.lines[ok], rejects)

    def _raw(self, i: int) -> str:
        if self.chunk.raw_lines is not None:
            return self.chunk.raw_lines[i]  # the record as the file has it
        row = self.chunk.frame.iloc[i]
        return ",".join("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in row.tolist())


def validate_judgments(chunk: RawChunk, mapping: ColumnMapping) -> Validated:
    """Search relevance judgments: query, item_id, relevance (a number)."""
    cols = select_columns(chunk, mapping, (S.QUERY, S.ITEM_ID, "relevance"))
    for required in (S.QUERY, S.ITEM_ID, "relevance"):
        if required not in cols and len(chunk.frame):
            raise _missing_column(chunk, required, "judgments")
    out = pd.DataFrame(index=chunk.frame.index)
    checks = _Checks(chunk, mapping)
    out[S.QUERY] = text(cols[S.QUERY]) if len(chunk.frame) else pd.Series(dtype=object)
    checks.add(out[S.QUERY].isna(), S.QUERY, RejectReason.MISSING_QUERY, "empty")
    out[S.ITEM_ID] = checks.id_column(cols[S.ITEM_ID] if len(chunk.frame) else None, S.ITEM_ID, RejectReason.MISSING_ITEM_ID)
    relevance = checks.number(cols.get("relevance"), "relevance", RejectReason.INVALID_RELEVANCE, allow_negative=False)
    checks.add(relevance.isna() if relevance is not None else out[S.QUERY].isna(), "relevance", RejectReason.INVALID_RELEVANCE, "empty")
    out["relevance"] = relevance
    return checks.finish(out)


VALIDATORS = {"events": validate_events, "items": validate_items, "users": validate_users, "judgments": validate_judgments}
