"""The HTTP service: `create_app(settings)` builds the FastAPI app (API, storefront, docs at /docs).

Nothing heavy happens at import or in `create_app`: the store, bundle and engines are opened in
the app's lifespan (startup), once per process. Run it with `shoprec serve`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from shoprec.service import problems
from shoprec.service.deps import Services, open_services
from shoprec.service.docs import install_docs
from shoprec.service.headers import SecurityHeadersMiddleware
from shoprec.service.limits import BodyLimitMiddleware
from shoprec.service.metrics import Metrics, MetricsMiddleware
from shoprec.service.request_checks import RequestChecksMiddleware
from shoprec.service.routes import admin, events, health, items, recommendations, search, sessions, users
from shoprec.service.settings import ServiceSettings

DESCRIPTION = """Recommendations, search and real-time events for an online shop.

Writes and admin calls need an API key in the `X-API-Key` header; reads are public unless the
service was started with `read_requires_key`. Errors are JSON: `{"error", "message", "details"}`.
See docs/service.md."""


def create_app(settings: ServiceSettings, services: Services | None = None) -> FastAPI:
    """The app for `settings`. Pass `services` to serve prepared ones (tests); otherwise the lifespan
    opens them from the workspace."""
    metrics = services.metrics if services is not None else Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = services if services is not None else await run_in_threadpool(open_services, settings, metrics)
        app.state.services = opened
        try:
            yield
        finally:
            if services is None:
                opened.close()

    app = FastAPI(title="shoprec", version=_version(), description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)  # /docs: service/docs.py, from local assets
    problems.install(app)
    install_docs(app)
    for module in (recommendations, items, search, events, users, sessions, admin, health):
        app.include_router(module.router)
    if settings.storefront:
        from shoprec.service.storefront import pages

        pages.mount(app)
    from shoprec.service.admin import pages as admin_pages

    admin_pages.mount(app)  # the dashboard, with or without the storefront
    app.add_middleware(RequestChecksMiddleware)  # reads a JSON body whole: inside the body limit
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # added last: outermost, so it sees every answer
    return app


SETTINGS_ENV = "SHOPREC_SERVICE_SETTINGS"


def app_from_environment() -> FastAPI:
    """The app for the settings in $SHOPREC_SERVICE_SETTINGS (JSON): the factory each uvicorn worker
    process calls when `shoprec serve --workers N` runs several."""
    return create_app(ServiceSettings.model_validate_json(os.environ[SETTINGS_ENV]))


def _version() -> str:
    try:
        return metadata.version("shoprec")
    except metadata.PackageNotFoundError:
        return "unknown"
