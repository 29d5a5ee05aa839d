"""`POST /v1/events`: one event or a batch, validated whole, stored durably before the answer."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Body, Depends

from shoprec.service.auth import require_events
from shoprec.service.deps import Services, get_services
from shoprec.service.intake import attributable, canonical_events, parse_events
from shoprec.service.openapi_errors import errors
from shoprec.service.schemas import EventIn, EventsAccepted

router = APIRouter(tags=["events"])

# The body is parsed by hand (an object or a list, with clear errors); the docs show its schema inline.
_EVENT = EventIn.model_json_schema()
_BODY_SCHEMA = {"oneOf": [_EVENT, {"type": "array", "items": _EVENT, "minItems": 1}]}


@router.post("/v1/events", response_model=EventsAccepted, dependencies=[Depends(require_events)],
             responses=errors(401, 413, 422),
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _BODY_SCHEMA}}}})
def post_events(payload: Annotated[Any, Body()], services: Annotated[Services, Depends(get_services)]) -> EventsAccepted:
    """Store one event, or a batch of up to `max_batch_events` (1000 by default).

    Every event is checked with the ingestion rules; if any is wrong nothing is stored and the
    answer (422) lists each problem. A 200 means the events are on disk (SQLite WAL,
    synchronous=FULL): they survive a crash, and the next recommendation for the shopper uses them.
    Exact repeats of stored events are stored once (`duplicates`).

    `request_id` and `position` (any event type) say which list shown and which place in it the
    event came from (the `request_id` of a recommendations, search or similar-items answer): the
    event is credited to that list. An add-to-cart or purchase without them is credited to the
    shopper's latest click within the experiment's window (docs/experiments.md).
    """
    events = parse_events(payload, services.settings.max_batch_events)
    frame = canonical_events(events, pd.Timestamp.now(tz="UTC"))
    added = services.store.append_events(frame)
    services.metrics.count_events(added)
    services.experiments.record_outcomes(attributable(events, frame, lambda item: _price(services, item)))
    return EventsAccepted(accepted=added, duplicates=len(frame) - added)


def _price(services: Services, item_id: str) -> float | None:
    price = (services.catalogue.get(item_id) or {}).get("price")
    try:
        return None if price is None else float(price)
    except (TypeError, ValueError):
        return None
