"""`POST /v1/sessions`: a signed session for a shopper the shop has identified (e.g. logged in).

The shop's backend (admin key) asks for a token and sends the shopper to the storefront's
`/session?token=...`, which sets the session cookie; from then on the storefront shows that
shopper their own history and shelves, and nobody else can (sessions.py).
"""

from __future__ import annotations

import time
from typing import Annotated
from urllib.parse import urlencode

import pandas as pd
from fastapi import APIRouter, Depends

from shoprec.service.auth import require_admin
from shoprec.service.deps import Services, get_services
from shoprec.service.openapi_errors import ADMIN, errors
from shoprec.service.schemas import SessionIn, SessionOut

router = APIRouter(tags=["users"], dependencies=[Depends(require_admin)])


@router.post("/v1/sessions", response_model=SessionOut, responses=errors(*ADMIN, 413))
async def new_session(body: SessionIn, services: Annotated[Services, Depends(get_services)]) -> SessionOut:
    """A session token for `user_id`, valid for `max_age_s` seconds (30 days by default)."""
    now = time.time()
    token = services.sessions.sign(body.user_id, body.max_age_s, now=now)
    expires = pd.Timestamp(int(now + body.max_age_s), unit="s", tz="UTC").isoformat()
    return SessionOut(user_id=body.user_id, token=token, expires_at=expires, url="/session?" + urlencode({"token": token}))
