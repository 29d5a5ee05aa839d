"""The rule every id (user, item, session) obeys, in one place: ingest quarantines an id that breaks
it, the API refuses one with 422 naming the rule.

An id is kept exactly as given, so it must be unambiguous as given: 1 to 256 characters, no
control characters, no '/' (ids are path segments of the API: /v1/items/{item_id}), no spaces
around it (" sp " and "sp" would be two shoppers that look alike), and no U+FFFD, the character a
decoder puts where bytes were not valid UTF-8 (two different byte strings would collide on it).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

MAX_ID_LENGTH = 256
RULE = f"an id is 1-{MAX_ID_LENGTH} characters without control characters, '/', surrounding spaces or U+FFFD"

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_BAD = r"[\x00-\x1f\x7f-\x9f\u2028\u2029/\ufffd]"


# The rule as a regular expression for the OpenAPI document (ECMA-262 and Python alike): no banned
# character anywhere, and no whitespace at either end.
_BANNED = r"\u0000-\u001f\u007f-\u009f\u2028\u2029/\ufffd"
ID_PATTERN = rf"^[^\s{_BANNED}](?:[^{_BANNED}]*[^\s{_BANNED}])?$"


def id_problem(value: str) -> str | None:
    """What is wrong with `value` as an id (a short phrase), or None when it is a valid id."""
    if not value:
        return "is empty"
    if len(value) > MAX_ID_LENGTH:
        return f"is {len(value):,} characters long; the limit is {MAX_ID_LENGTH}"
    found = _CONTROL.search(value)
    if found:
        return f"holds the control character U+{ord(found.group()):04X}"
    if "/" in value:
        return "holds '/'"
    if value != value.strip():
        return "has spaces around it"
    if "\ufffd" in value:
        return "holds U+FFFD (bytes that were not valid UTF-8)"
    return None


def invalid_ids(values: pd.Series) -> pd.Series:
    """True where a value breaks the rule (vectorised; `id_problem` says how). Missing values are
    not this rule's business."""
    text = values.astype("string")
    masks = (text.str.len() > MAX_ID_LENGTH, text.str.contains(_BAD, regex=True), text != text.str.strip())
    bad = np.logical_or.reduce([np.asarray(m.to_numpy(dtype=bool, na_value=False)) for m in masks])
    return pd.Series(bad, index=values.index)


def checked_id(value: str, what: str = "id") -> str:
    """`value` unchanged when it is a valid id; a ValueError naming the rule otherwise (for pydantic)."""
    problem = id_problem(value)
    if problem is not None:
        raise ValueError(f"{what} {problem}: {RULE}")
    return value
