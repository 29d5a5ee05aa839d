"""API bodies -> canonical rows, through the same validators as file ingestion (shoprec.data.validate).

Pydantic has checked the JSON shape (fields, types); here the content rules apply: event types,
timestamps, prices, ids. A batch with any rejected row is refused whole, with every reason.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from pydantic import TypeAdapter, ValidationError

from shoprec.data import schema as S
from shoprec.data.event_hash import event_hashes
from shoprec.data.mapping import ColumnMapping
from shoprec.data.readers import RawChunk
from shoprec.data.validate import Validated, validate_events, validate_items
from shoprec.experiments.shown import Outcome
from shoprec.service.problems import InvalidInput, PayloadTooLarge
from shoprec.service.schemas import EventIn, ItemIn

_EVENTS = TypeAdapter(list[EventIn])
# The API's own conventions: categories are '>'-separated (documented), never guessed from one row;
# JSON has its own null, so no text is taken for a missing value.
_API_MAPPING = ColumnMapping(category_sep=">", na_values=frozenset())


def parse_events(payload: object, max_events: int) -> list[EventIn]:
    """The events of a body holding one event object or a list of them (at most `max_events`)."""
    batch = [payload] if isinstance(payload, dict) else payload
    if not isinstance(batch, list):
        raise InvalidInput(f"the body must be an event object or a list of events, got {type(payload).__name__}")
    if not batch:
        raise InvalidInput("the list of events is empty")
    if len(batch) > max_events:
        raise PayloadTooLarge(f"{len(batch):,} events in one batch; the limit is {max_events:,}")
    try:
        return _EVENTS.validate_python(batch)
    except ValidationError as exc:
        details = [{"field": _where(e["loc"], single=isinstance(payload, dict)), "message": e["msg"], "type": e["type"]}
                   for e in exc.errors()]
        raise InvalidInput(f"{details[0]['field']}: {details[0]['message']}; no event was stored", details) from exc


def canonical_events(events: list[EventIn], received: pd.Timestamp) -> pd.DataFrame:
    """Validated canonical events (schema.EVENT_COLUMNS); an event without a time gets `received`."""
    rows = [e.model_dump() for e in events]
    for row in rows:
        if row[S.TIMESTAMP] is None:
            row[S.TIMESTAMP] = received.isoformat()
    valid = _validated(validate_events, rows, S.EVENT_COLUMNS, "event", single=len(rows) == 1)
    return valid.frame[list(S.EVENT_COLUMNS)]


# Events credited to a list even without its request_id: to the shopper's latest click (experiments/attribution.py).
CONVERSIONS = (S.EventType.ADD_TO_CART.value, S.EventType.PURCHASE.value)


def attributable(events: list[EventIn], frame: pd.DataFrame, price_of: Callable[[str], float | None]) -> list[Outcome]:
    """The events that may be credited to a list shown (experiments/shown.py): every event posted with a
    `request_id`, and every add-to-cart and purchase. `frame`: the events as `canonical_events` made
    them (same order); a purchase's revenue is the item's price (`price_of`) times its quantity (`value`, else 1)."""
    chosen = [i for i, e in enumerate(events) if e.request_id is not None or frame[S.EVENT_TYPE].iat[i] in CONVERSIONS]
    if not chosen:
        return []
    rows = frame.iloc[chosen]
    times = pd.to_datetime(rows[S.TIMESTAMP], utc=True).dt.as_unit("ms").astype("int64").to_numpy()
    hashes = event_hashes(rows)
    out = []
    for j, i in enumerate(chosen):
        event_type, item, value = str(rows[S.EVENT_TYPE].iat[j]), str(rows[S.ITEM_ID].iat[j]), rows[S.VALUE].iat[j]
        revenue = None
        if event_type == S.EventType.PURCHASE.value:
            quantity = float(value) if value is not None and not pd.isna(value) and float(value) > 0 else 1.0
            revenue = (price_of(item) or 0.0) * quantity
        request_id, position = events[i].request_id, events[i].position
        out.append(Outcome(int(times[j]), str(rows[S.USER_ID].iat[j]), item, event_type, revenue, request_id, position,
                           key=f"{int(hashes[j])}:{request_id}:{position}"))
    return out


def canonical_item(item_id: str, item: ItemIn) -> pd.DataFrame:
    """One validated catalogue row (schema.ITEM_COLUMNS)."""
    row = {**item.model_dump(), S.ITEM_ID: item_id}
    return _validated(validate_items, [row], S.ITEM_COLUMNS, "item", single=True).frame


def _validated(validator, rows: list[dict[str, object]], columns: tuple[str, ...], what: str, *, single: bool) -> Validated:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame(rows, columns=list(columns), dtype=object)
    valid: Validated = validator(RawChunk("request body", frame, pd.RangeIndex(len(frame)).to_numpy()), _API_MAPPING)
    if valid.rejects:
        details = [{"index": r.line, "field": r.field, "reason": r.reason.value, "message": r.detail} for r in valid.rejects]
        first = valid.rejects[0]
        where = what if single else f"{what} {first.line}"
        more = f" ({len(valid.rejects)} of {len(rows)} {what}s rejected)" if len(valid.rejects) > 1 else ""
        raise InvalidInput(f"{where}: field '{first.field}': {first.reason.value}: {first.detail}{more}; nothing was stored", details)
    return valid


def _where(loc: tuple[int | str, ...], *, single: bool) -> str:
    parts = list(loc[1:] if single else loc)
    text = "body"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text
