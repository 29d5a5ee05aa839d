"""`GET /health` (the process answers), `GET /ready` (a bundle is loaded) and `GET /metrics` (Prometheus)."""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from shoprec.service.deps import Services, get_services
from shoprec.service.schemas import HealthOut, ReadyOut

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=HealthOut)
def health() -> HealthOut:
    """Liveness: 200 while the process answers."""
    return HealthOut(status="ok")


@router.get("/ready", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
def ready(services: Annotated[Services, Depends(get_services)]) -> Response:
    """Readiness: 200 when a bundle is loaded and recommendations can be answered, else 503 with the reason."""
    engine = services.engine
    body = ReadyOut(ready=engine is not None, bundle=engine.bundle.version if engine is not None else None,
                    search=services.search is not None, items=len(services.catalogue),
                    reason=services.not_ready, search_reason=services.search_off, worker=os.getpid())
    return JSONResponse(body.model_dump(), status_code=200 if engine is not None else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request, services: Annotated[Services, Depends(get_services)]) -> Response:
    """Request counts and latency histograms per route, exceptions, events ingested, reloads, the bundle
    version and process metrics; summed over every worker under `--workers N`. Prometheus text format,
    or OpenMetrics when the Accept header asks for it."""
    body, content_type = services.metrics.exposition(request.headers.get("accept"))
    return Response(body, media_type=content_type)
