"""The admin dashboard: `/admin` (data volume, the quarantine, bundles with promote and roll back,
experiments, the service's latency and errors), `/admin/login` and `/admin/logout`.

Pages are server-rendered with plots as PNG (charts.py) under the same Content-Security-Policy as
the storefront: no script at all. Actions are forms posting to /admin/...; the admin session cookie
is SameSite=Strict, so another site cannot post them with it.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from shoprec.errors import ShoprecError
from shoprec.service.admin import facts
from shoprec.service.admin.access import require_admin_page, sign_in, sign_out
from shoprec.service.deps import Services, get_services

_HERE = resources.files("shoprec.service.admin")
templates = Jinja2Templates(directory=str(_HERE / "templates"))
router = APIRouter(include_in_schema=False, dependencies=[Depends(require_admin_page)])
entry = APIRouter(include_in_schema=False)
ServicesDep = Annotated[Services, Depends(get_services)]


def mount(app: FastAPI) -> None:
    """Add the dashboard's pages and style sheet to `app`."""
    app.include_router(router)
    app.include_router(entry)
    app.mount("/admin-static", StaticFiles(directory=str(_HERE / "static")), name="admin-static")


@router.get("/admin", response_class=HTMLResponse)
async def dashboard(request: Request, services: ServicesDep, done: str | None = None, problem: str | None = None) -> Response:
    """Everything on one page (computed in a worker thread: it reads the store and draws plots)."""
    context = await run_in_threadpool(gather, services)
    context.update(done=done, problem=problem)
    return templates.TemplateResponse(request, "dashboard.html", context)


def gather(services: Services) -> dict[str, Any]:
    """The dashboard's facts, each section on its own: one that fails says why, the others show."""
    sections: dict[str, Any] = {}
    for name, make in (("data", lambda: facts.data_volume(services.workspace)),
                       ("quarantine", lambda: facts.quarantine(services.workspace)),
                       ("bundles", lambda: facts.bundles(services.workspace)),
                       ("experiments", lambda: facts.experiments(services.workspace)),
                       ("service", lambda: facts.service(services))):
        try:
            sections[name] = make()
        except (ShoprecError, OSError, ValueError) as exc:
            sections[name] = {"problem": f"{type(exc).__name__}: {exc}"}
    serving = services.engine.bundle.version if services.engine is not None else None
    return {"sections": sections, "serving": serving}


@router.post("/admin/bundles/promote")
def promote(services: ServicesDep, version: Annotated[str, Form(max_length=200)]) -> Response:
    """Load bundle `version` whole, serve it in this process and make it current (as POST
    /v1/admin/reload does): the other workers follow bundles/CURRENT."""
    try:
        bundle = services.reload(version)
    except ShoprecError as exc:
        return _back(problem=f"bundle {version} was not promoted: {exc}")
    return _back(done=f"bundle {bundle.version} is current: it serves in this process now, in every worker within seconds")


@router.post("/admin/bundles/rollback")
def rollback(services: ServicesDep) -> Response:
    """Make the previous bundle current again (bundles/HISTORY) and load it."""
    from shoprec.operations.bundles import rollback as roll_back

    try:
        left, back_to = roll_back(services.workspace)
        services.reload(back_to)
    except ShoprecError as exc:
        return _back(problem=f"no rollback: {exc}")
    return _back(done=f"rolled back from {left} to {back_to}")


@entry.get("/admin/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return templates.TemplateResponse(request, "login.html", {"problem": None})


@entry.post("/admin/login")
def login(request: Request, services: ServicesDep, key: Annotated[str, Form(max_length=500)]) -> Response:
    """An admin key typed into the form opens an admin session (8 hours)."""
    response = RedirectResponse("/admin", status_code=303)
    if not sign_in(response, request, services, key):
        return templates.TemplateResponse(request, "login.html", {"problem": "That is not an admin key."}, status_code=401)
    return response


@entry.post("/admin/logout")
def logout() -> Response:
    response = RedirectResponse("/admin/login", status_code=303)
    sign_out(response)
    return response


def _back(**message: str) -> Response:
    from urllib.parse import urlencode

    return RedirectResponse("/admin?" + urlencode(message), status_code=303)
