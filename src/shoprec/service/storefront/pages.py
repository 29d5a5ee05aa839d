"""Storefront pages: home ("for you"), search with facets, item pages, the evaluation report.

Pages are rendered on the server from the same services the API uses (no HTTP round trip);
the shelves are also served as HTML fragments under /shelves/ so that the page's JavaScript can
refresh them after posting an event. The shopper is the one the signed session names
(shoppers.py); with `read_requires_key` every page and fragment needs a session or a key.
"""

from __future__ import annotations

import html
import uuid
from importlib import resources
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from shoprec.data import schema as S
from shoprec.errors import ShoprecError
from shoprec.evaluation.background import REPORT, report_state, reports_dir
from shoprec.ranking.filters import ItemFilters
from shoprec.ranking.limits import MAX_SEARCH_DEPTH
from shoprec.service.auth import require_page
from shoprec.service.deps import Services, get_services
from shoprec.service.problems import NotBuilt, NotFound
from shoprec.service.routes.recommendations import answer_in_plan, item_filters
from shoprec.service.routes.search import search_out
from shoprec.service.schemas import SORTS, Id, SearchQuery
from shoprec.service.storefront import shoppers
from shoprec.service.storefront.shoppers import NEW_SHOPPER, Shopper, current_shopper, remember, switcher_choices

SHELF_K = 8
PAGE_K = 24
_HERE = resources.files("shoprec.service.storefront")

templates = Jinja2Templates(directory=str(_HERE / "templates"))
router = APIRouter(include_in_schema=False, dependencies=[Depends(require_page)])
ServicesDep = Annotated[Services, Depends(get_services)]


def mount(app: FastAPI) -> None:
    """Add the storefront's pages and static files to `app`."""
    app.include_router(router)
    app.include_router(shoppers.router)
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")


# ------------------------------------------------------------------ pages
@router.get("/", response_class=HTMLResponse)
def home(request: Request, services: ServicesDep) -> Response:
    """Search box, the shopper's "for you" shelf and "because you viewed"."""
    user = current_shopper(request, services)
    return _page(request, services, "home.html", user, **page_shelves(services, user.user_id))


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, services: ServicesDep, q: str = "", category: str | None = None,
                brand: str | None = None, price_min: float | None = None, price_max: float | None = None,
                sort: str = "relevance", page: Annotated[int, Query(ge=1, le=MAX_SEARCH_DEPTH // PAGE_K)] = 1) -> Response:
    """Results grid with highlighted titles, prices and facets."""
    user = current_shopper(request, services)
    chosen = {"q": q, "category": category or None, "brand": brand or None, "price_min": price_min, "price_max": price_max,
              "sort": sort if sort in SORTS else "relevance"}
    applied = _applied(chosen)
    context: dict[str, Any] = {**chosen, "sorts": SORTS, "page": page, "result": None, "problem": None, "facets": {},
                               "filtered": any(chosen[f] is not None for f in ("category", "brand", "price_min", "price_max")),
                               "page_href": lambda n: "/search?" + urlencode({**applied, "page": n})}
    try:
        query = SearchQuery(user_id=user.user_id, k=PAGE_K, page=page, **chosen)  # type: ignore[arg-type]
        result = services.searcher().search(query.q, mode=query.mode, k=query.k, offset=(page - 1) * PAGE_K,
                                            filters=item_filters(query), sort=query.sort, user_id=user.user_id)
        context["result"] = search_out(services, query, result)
        services.experiments.record(context["result"].request_id, "search", user.user_id,
                                    [h.item_id for h in context["result"].hits], None)
        context["facets"] = facet_links(context["result"].facets, chosen)
    except NotBuilt as exc:
        context["problem"] = exc.message
    except (ShoprecError, ValueError) as exc:
        context["problem"] = str(exc)
    return _page(request, services, "search.html", user, **context)


def facet_links(facets: dict[str, list[Any]], chosen: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per facet, each value with its count, the URL that applies it, and whether it is applied
    (clicking an applied value removes it). Price buckets ("25-50", "2500+") become a price range."""
    links: dict[str, list[dict[str, Any]]] = {}
    for name, values in facets.items():
        entries = []
        for facet in values[:12]:
            params = _applied(chosen)
            if name == "price":
                low, _, high = facet.value.rstrip("+").partition("-")
                wanted = {"price_min": _number(low), "price_max": _number(high)}
                active = all(chosen.get(k) == v for k, v in wanted.items())
                for key, value in wanted.items():
                    params.pop(key, None)
                    if not active and value is not None:
                        params[key] = f"{value:g}"
            else:
                active = chosen.get(name) == facet.value
                params.pop(name, None)
                if not active:
                    params[name] = facet.value
            entries.append({"value": facet.value, "count": facet.count, "active": active, "href": "/search?" + urlencode(params)})
        links[name] = entries
    return links


def _applied(chosen: dict[str, Any]) -> dict[str, Any]:
    """The query string of the choices made (defaults left out, prices without a trailing .0)."""
    out: dict[str, Any] = {}
    for key, value in chosen.items():
        if value in (None, "") or (key == "sort" and value == "relevance"):
            continue
        out[key] = f"{value:g}" if isinstance(value, float) else value
    return out


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item_page(request: Request, services: ServicesDep, item_id: Annotated[Id, Path()]) -> Response:
    """One product with buttons that post events, similar items, and the shopper's shelves."""
    user = current_shopper(request, services)
    services.catalogue.sync()
    item = services.catalogue.get(item_id)
    if item is None:
        return _page(request, services, "missing.html", user, item_id=item_id, status_code=404)
    return _page(request, services, "item.html", user, item=item, **page_shelves(services, user.user_id, item_id))


@router.get("/report", response_class=HTMLResponse)
def report_page(request: Request, services: ServicesDep) -> Response:
    """The latest evaluation report (written by `shoprec evaluate` / `shoprec demo`), or what is
    happening to it (the demo's evaluation may still be running)."""
    return _page(request, services, "report.html", current_shopper(request, services))


@router.get("/report/evaluation.html")
def report_file(services: ServicesDep) -> Response:
    """The report itself (self-contained HTML, plots embedded)."""
    path = _report_path(services)
    if not path.exists():
        raise NotFound("no evaluation report yet: run 'shoprec evaluate' or 'shoprec demo'")
    # Self-contained: its own inline style and data: images, no script; framed by /report, from this origin.
    return FileResponse(path, media_type="text/html", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'",
        "X-Frame-Options": "SAMEORIGIN"})


# ------------------------------------------------------------------ shelves (fragments the JS refreshes)
@router.get("/shelves/for-you", response_class=HTMLResponse)
def for_you_fragment(request: Request, services: ServicesDep, item: Annotated[Id | None, Query()] = None) -> Response:
    """The "for you" shelf as its page shows it (`item`: on that item's page, below its other shelves)."""
    user = current_shopper(request, services)
    shelves = page_shelves(services, user.user_id, item, upto="for_you")
    return templates.TemplateResponse(request, "_shelf.html", {"shelf": shelves["for_you"]})


@router.get("/shelves/because", response_class=HTMLResponse)
def because_fragment(request: Request, services: ServicesDep, item: Annotated[Id | None, Query()] = None) -> Response:
    user = current_shopper(request, services)
    shelves = page_shelves(services, user.user_id, item, upto="because")
    return templates.TemplateResponse(request, "_shelf.html", {"shelf": shelves["because"]})


@router.get("/shelves/similar/{item_id}", response_class=HTMLResponse)
def similar_fragment(request: Request, services: ServicesDep, item_id: Annotated[Id, Path()]) -> Response:
    user = current_shopper(request, services)
    return templates.TemplateResponse(request, "_shelf.html", {"shelf": similar(services, item_id, user.user_id)})


# ------------------------------------------------------------------ shelves' content
def page_shelves(services: Services, user: str, item_id: str | None = None, upto: str | None = None) -> dict[str, Any]:
    """A page's shelves, assembled once in the page's order: an item page shows similar items, then
    "because you viewed", then "for you"; the home page "for you", then "because you viewed". Each
    shelf leaves out what the shelves above it show (and the page's own item), so no item is on a
    page twice. `upto` stops after that shelf (a fragment needs only the shelves down to its own)."""
    order = ("similar", "because", "for_you") if item_id is not None else ("for_you", "because")
    shown: set[str] = {item_id} if item_id is not None else set()
    query = "" if item_id is None else "?" + urlencode({"item": item_id})
    shelves: dict[str, Any] = {}
    for name in order:
        if name == "similar":
            shelves[name] = similar(services, str(item_id), user)
        elif name == "because":
            shelves[name] = because(services, user, frozenset(shown), "/shelves/because" + query,
                                    besides=() if item_id is None else (item_id,))
        else:
            shelves[name] = for_you(services, user, frozenset(shown), "/shelves/for-you" + query)
        shown.update(card["item_id"] for card in shelves[name]["items"])
        if name == upto:
            break
    return shelves


def for_you(services: Services, user: str, exclude: frozenset[str] = frozenset(), src: str = "/shelves/for-you") -> dict[str, Any]:
    """The "for you" shelf (the shopper's experiment variant on recommendations, if one runs),
    without the items in `exclude`."""
    return _shelf("for-you", "For you", src,
                  lambda engine, model: _without(engine.recommend(user, SHELF_K + len(exclude), filters=ItemFilters(in_stock=True),
                                                                  explain=True, model=model), exclude),
                  services, ("recommendations", user))


def because(services: Services, user: str, exclude: frozenset[str] = frozenset(), src: str = "/shelves/because",
            besides: tuple[str, ...] = ()) -> dict[str, Any]:
    """The "because you viewed …" shelf, titled after the item the shopper touched last other than
    `besides` (an item page's own item: its similar items are the shelf above), without the items
    in `exclude`."""
    shelf = _shelf("because", "Because you viewed …", src, lambda engine, model: [], services)
    shelf["besides"] = besides
    if services.engine is None:
        return shelf
    anchor, recs = services.recommender().because_you_viewed(user, SHELF_K + len(exclude), besides=besides)
    if anchor is not None:
        title = (services.catalogue.get(anchor) or {}).get(S.TITLE) or anchor
        shelf.update(title=f"Because you viewed {title}", anchor=anchor, items=_cards(services, _without(recs, exclude)))
    return shelf


def _without(recs: list[Any], exclude: frozenset[str]) -> list[Any]:
    """The first SHELF_K of `recs` whose items are not in `exclude`."""
    return [r for r in recs if r.item_id not in exclude][:SHELF_K]


def similar(services: Services, item_id: str, user: str | None = None) -> dict[str, Any]:
    """The "similar items" shelf of an item page."""
    return _shelf("similar", "Similar items", f"/shelves/similar/{item_id}",
                  lambda engine, model: services.experiments.similar_engine(engine, model).similar(item_id, SHELF_K),
                  services, ("similar", user))


def _shelf(key: str, title: str, src: str, fetch: Any, services: Services,
           shown: tuple[str, str | None] | None = None) -> dict[str, Any]:
    """A shelf from `fetch(engine, model)`; with `shown` (surface, shopper), answered in the shopper's
    experiment variant and recorded as shown under a `request_id` its cards' links carry
    (shoprec.experiments; the product page posts its view with it)."""
    shelf: dict[str, Any] = {"key": key, "title": title, "src": src, "items": [], "problem": None, "anchor": None,
                             "request_id": None}
    try:
        engine = services.recommender()
        if shown is None:
            shelf["items"] = _cards(services, fetch(engine, None))
            return shelf
        runtime, request_id = services.experiments, uuid.uuid4().hex
        plan = runtime.plan(*shown)
        if plan is not None and runtime.needs_loading(plan, engine):
            runtime.load(plan, engine)
        recs, _, teams = answer_in_plan(runtime, plan, engine, None, SHELF_K, request_id, fetch)
        runtime.record(request_id, shown[0], shown[1], [r.item_id for r in recs], plan, teams)
        shelf.update(items=_cards(services, recs), request_id=request_id)
    except ShoprecError as exc:
        shelf["problem"] = str(exc)
    return shelf


def _cards(services: Services, recs: list[Any]) -> list[dict[str, Any]]:
    return [{"item_id": r.item_id, "title": r.title or r.item_id, "price": r.price, "brand": r.brand,
             "category": r.category, "why": r.reasons[0].text if getattr(r, "reasons", None) else None} for r in recs]


# ------------------------------------------------------------------ helpers
def highlight(text: str | None) -> Markup:
    """A search highlight (HTML: escaped text with <mark> around matched words) made safe whatever
    it holds: decoded, escaped whole, then only <mark>, <b> and <em> restored."""
    escaped = str(escape(html.unescape(text or "")))
    for tag in ("mark", "b", "em"):
        escaped = escaped.replace(f"&lt;{tag}&gt;", f"<{tag}>").replace(f"&lt;/{tag}&gt;", f"</{tag}>")
    return Markup(escaped)  # noqa: S704 - built from escaped text above


def price(value: float | None) -> str:
    """A price for display."""
    return "" if value is None else f"{value:,.2f}"


templates.env.filters["highlight"] = highlight
templates.env.filters["price"] = price


def _report_path(services: Services) -> FilePath:
    return reports_dir(services.workspace) / REPORT


def _page(request: Request, services: Services, name: str, user: Shopper, status_code: int = 200, **context: Any) -> Response:
    context.update(user=user.user_id, shoppers=switcher_choices(request, services), new_shopper=NEW_SHOPPER,
                   storefront_key=services.storefront_key, path=request.url.path,
                   bundle=services.engine.bundle.version if services.engine is not None else None,
                   search_ready=services.search is not None, report=report_state(services.workspace))
    return remember(templates.TemplateResponse(request, name, context, status_code=status_code), request, services, user)
