"""`POST /v1/admin/reload`: load a bundle beside the serving one and swap; a bad one is refused."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from shoprec.service.auth import require_admin
from shoprec.service.deps import Services, get_services
from shoprec.service.openapi_errors import ADMIN, errors
from shoprec.service.schemas import ReloadIn, ReloadOut

router = APIRouter(tags=["admin"], dependencies=[Depends(require_admin)])


@router.post("/v1/admin/reload", response_model=ReloadOut, responses=errors(*ADMIN, 404, 413))
def reload(services: Annotated[Services, Depends(get_services)],
           body: Annotated[ReloadIn | None, Body()] = None) -> ReloadOut:
    """Load bundle `version` (default: the one `bundles/CURRENT` names, e.g. after `shoprec train`),
    check it whole, then swap it in atomically. A missing bundle is 404; a partial or damaged one is
    422; in both cases the serving bundle keeps serving."""
    previous = services.engine.bundle.version if services.engine is not None else None
    try:
        bundle = services.reload(body.version if body is not None else None)
    except Exception:
        services.metrics.count_reload("refused")
        raise
    services.metrics.count_reload("succeeded")
    return ReloadOut(version=bundle.version, previous=previous, default_model=bundle.default_model, models=sorted(bundle.models))
