"""How a source's columns and values become canonical ones (`ColumnMapping`), and the reading of
values real exports spoil: missing-value markers, decimal commas, category separators, returns.

Every option is checked when the mapping is made or first applied, and a wrong one is an error
that lists what is valid: a mapping never drops a column silently.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from shoprec.data import schema as S
from shoprec.data.timestamps import TimeBounds
from shoprec.errors import DataError

# Written for "no value" by spreadsheets, R, pandas, SQL exports and people.
DEFAULT_NA_VALUES = frozenset({"", "NA", "N/A", "n/a", "null", "NULL", "Null", "None", "none", "nan", "NaN", "NAN", "-"})
# A column marking cancelled rows (`--map cancelled=COLUMN`): a purchase so marked is a return.
CANCELLED = "cancelled"
RETURN_POLICIES = ("event", "quarantine")
ANONYMOUS_POLICIES = ("session", "event")
CATEGORY_SEPARATORS = (">", "/", "|")
# What a source column name suggests, for the error on an unknown --map field.
_ALIASES = {"customer": S.USER_ID, "customer_id": S.USER_ID, "visitor": S.USER_ID, "user": S.USER_ID,
            "product": S.ITEM_ID, "product_id": S.ITEM_ID, "sku": S.ITEM_ID, "item": S.ITEM_ID,
            "quantity": S.VALUE, "qty": S.VALUE, "amount": S.VALUE, "rating": S.VALUE, "time": S.TIMESTAMP,
            "date": S.TIMESTAMP, "datetime": S.TIMESTAMP, "type": S.EVENT_TYPE, "event": S.EVENT_TYPE,
            "session": S.SESSION_ID, "name": S.TITLE, "cost": S.PRICE, "unit_price": S.PRICE}


@dataclass(frozen=True)
class ColumnMapping:
    """How a source's columns and values become canonical ones.

    - `columns` maps a canonical field to the source column holding it (a field whose name the
      source already uses needs no entry); an unknown field is an error (`check_fields`).
    - `event_type` is the type of every row of a log without a type column; `event_type_map`
      renames source event types (`buy` -> `purchase`).
    - `na_values`: text that means "no value" in every column (exact match after trimming).
    - `anonymous_user`: how to keep an event without a user: None (quarantine it,
      missing_user_id), "session" (the shopper is its session: `anon-session-<id>`), "event" (each
      such event its own anonymous shopper).
    - `returns`: a purchase with a negative quantity (or marked in the `cancelled` column) becomes
      a `return` event ("event"), or goes to the quarantine ("quarantine"). `cancelled_prefix`:
      the cancelled column marks a row when its value starts with this (invoice numbers "C536379").
    - `decimal`: the decimal mark of numbers ("," reads "1.234,50" as 1234.5).
    - `category_sep`: the separator of category levels; None detects it from the data (">", "/"
      or "|", when only one of them appears).
    """

    columns: dict[str, str] = field(default_factory=dict)
    event_type: str | None = None
    event_type_map: dict[str, str] = field(default_factory=dict)
    time_format: str | None = None
    time_bounds: TimeBounds = field(default_factory=TimeBounds)
    na_values: frozenset[str] = DEFAULT_NA_VALUES
    anonymous_user: str | None = None
    returns: str = "event"
    cancelled_prefix: str | None = None
    decimal: str = "."
    category_sep: str | None = None

    def __post_init__(self) -> None:
        for target in self.event_type_map.values():
            if target not in S.EVENT_TYPES:
                raise DataError(f"--event-type-map: '{target}' is not an event type, expected one of {', '.join(S.EVENT_TYPES)}")
        if self.event_type is not None and self.event_type not in S.EVENT_TYPES:
            raise DataError(f"--event-type: '{self.event_type}' is not an event type, expected one of {', '.join(S.EVENT_TYPES)}")
        if self.returns not in RETURN_POLICIES:
            raise DataError(f"--returns: expected one of {', '.join(RETURN_POLICIES)}, got '{self.returns}'")
        if self.anonymous_user is not None and self.anonymous_user not in ANONYMOUS_POLICIES:
            raise DataError(f"--anonymous-user: expected one of {', '.join(ANONYMOUS_POLICIES)}, got '{self.anonymous_user}'")
        if self.decimal not in (".", ","):
            raise DataError(f"--decimal: expected '.' or ',', got '{self.decimal}'")
        if self.category_sep is not None and (not self.category_sep or self.category_sep.isspace()):
            raise DataError("--category-sep: expected a separator such as '>', '/' or '|'")

    def check_fields(self, valid: tuple[str, ...], file: str | None = None) -> None:
        """Raise DataError when `columns` maps a field that is not one of `valid`, listing them."""
        for target, source in self.columns.items():
            if target in valid:
                continue
            guess = _ALIASES.get(target.lower())
            hint = f" (did you mean --map {guess}={source}?)" if guess in valid else ""
            raise DataError(f"--map {target}={source}: '{target}' is not a field of this table{hint}; "
                            f"the fields are {', '.join(valid)}", file=file)

    def missing_as_none(self, values: pd.Series) -> pd.Series:
        """`values` with every missing-value marker as None (typed columns are left as they are)."""
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)) or not self.na_values:
            return values
        marked = values.astype("string").str.strip().isin(self.na_values).to_numpy(dtype=bool, na_value=False)
        if not marked.any():
            return values
        return values.astype(object).where(~marked, None)

    def numbers_text(self, text: pd.Series) -> pd.Series:
        """Number text in the source's convention as Python's ("1.234,50" -> "1234.50" with decimal ',')."""
        if self.decimal == ".":
            return text
        return text.str.replace(r"[.\s\u00a0']", "", regex=True).str.replace(",", ".", regex=False)

    def cancelled(self, values: pd.Series | None) -> pd.Series | None:
        """True where the cancelled column marks a row (a prefix when given, else a true-like value)."""
        if values is None:
            return None
        text = values.astype("string").str.strip()
        if self.cancelled_prefix:
            marked = text.str.startswith(self.cancelled_prefix)
        else:
            marked = text.str.lower().isin(("1", "true", "t", "yes", "y", "cancelled", "canceled", "x"))
        return pd.Series(marked.to_numpy(dtype=bool, na_value=False), index=values.index)


def detect_category_separator(values: pd.Series) -> tuple[str, str]:
    """The separator of category paths in `values` and why: the one of >, /, | that appears when
    only one does; '>' when several or none do (then the reason says so)."""
    text = values.dropna().astype(str)
    found = Counter({sep: int(text.str.contains(re.escape(sep), regex=True).sum()) for sep in CATEGORY_SEPARATORS})
    present = [sep for sep in CATEGORY_SEPARATORS if found[sep]]
    if len(present) == 1:
        return present[0], f"'{present[0]}' (found in {found[present[0]]:,} of {len(text):,} categories)"
    if not present:
        return ">", "'>' (no category has levels)"
    return ">" if ">" in present else present[0], (f"ambiguous: {', '.join(repr(s) for s in present)} all appear; "
                                                  f"using '{'>' if '>' in present else present[0]}' (set --category-sep)")


def split_category(values: pd.Series, separator: str) -> pd.Series:
    """Category paths with levels joined by ' > ' (empty levels, as in 'Home/Drinkware/', dropped)."""
    return values.map(
        lambda v: S.CATEGORY_SEPARATOR.join(p.strip() for p in v.split(separator) if p.strip()) or None
        if isinstance(v, str) else None
    ).astype(object)
