"""A shopper's data: `GET /v1/users/{user_id}/events` (right of access) and `DELETE /v1/users/{user_id}`
(erasure). Both need an admin key: they are personal data."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Path
from pandas.errors import OutOfBoundsDatetime

from shoprec.data import schema as S
from shoprec.service.auth import require_admin
from shoprec.service.catalogue import plain_value
from shoprec.service.deps import Services, get_services
from shoprec.service.openapi_errors import ADMIN, errors
from shoprec.service.schemas import ErasureOut, EventOut, Id, UserDataOut

router = APIRouter(tags=["users"], dependencies=[Depends(require_admin)])

UserId = Annotated[Id, Path()]
ServicesDep = Annotated[Services, Depends(get_services)]


@router.get("/v1/users/{user_id}/events", response_model=UserDataOut, responses=errors(*ADMIN))
def user_data(user_id: UserId, services: ServicesDep) -> UserDataOut:
    """Everything shoprec holds about the shopper: their user row and every stored event, oldest first."""
    events = services.store.read_events(user_id).sort_values(S.TIMESTAMP, kind="stable")
    users = services.store.users()
    row = users[users[S.USER_ID] == user_id]
    user = {c: plain_value(v) for c, v in row.iloc[0].items()} if len(row) else None
    times = events[S.TIMESTAMP].dt.as_unit("ms").astype(np.int64).to_numpy()  # not via pd.Timestamp: see _iso
    return UserDataOut(user_id=user_id, user=user,
                       events=[_event(r, ms) for r, ms in zip(events.drop(columns=[S.TIMESTAMP]).to_dict("records"), times)])


@router.delete("/v1/users/{user_id}", response_model=ErasureOut, responses=errors(*ADMIN))
def delete_user(user_id: UserId, services: ServicesDep) -> ErasureOut:
    """Erase the shopper: events (segments rewritten, live log rows deleted), user row, quarantined rows,
    and what the engines keep about them. Later answers no longer use any of it. Idempotent."""
    erased = services.erase_user(user_id)  # the service's other processes follow it within a second
    return ErasureOut(**erased.to_json())  # type: ignore[arg-type]


def _event(row: dict[str, object], ms: int) -> EventOut:
    fields = {c: plain_value(row.get(c)) for c in S.EVENT_COLUMNS if c != S.TIMESTAMP}
    return EventOut(**fields, timestamp=_iso(int(ms)))  # type: ignore[arg-type]


def _iso(ms: int) -> str:
    """An event time in ISO 8601. A store written before times were bounded may hold one far outside
    pandas' range (years -290,000 to 290,000 fit in milliseconds): numpy writes those too."""
    try:
        return pd.Timestamp(ms, unit="ms", tz="UTC").isoformat()
    except (ValueError, OverflowError, OutOfBoundsDatetime, NotImplementedError):
        return f"{np.datetime_as_string(np.datetime64(ms, 'ms'), unit='ms')}+00:00"
