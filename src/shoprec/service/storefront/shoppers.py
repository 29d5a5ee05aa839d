"""The storefront's shopper: read from the signed session cookie (service/sessions.py), never from the URL.

- A visitor without a valid session gets a fresh anonymous id, and a cookie holding it with the
  first page (unless reads need a key: then only the shop's token opens a session).
- `/session?token=...` turns a token from the shop (`POST /v1/sessions`) into the cookie.
- `POST /session/switch` exists only with `--demo`: it lets a demo's visitor be any of a few
  real shoppers (a convenience that shows their personal shelves to anyone, so never in a shop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from shoprec.data import schema as S
from shoprec.service.auth import session_user
from shoprec.service.deps import Services, get_services
from shoprec.service.problems import NotFound, Unauthorized
from shoprec.service.sessions import COOKIE, MAX_AGE_S, new_visitor_id

SWITCHER_SIZE = 12
NEW_SHOPPER = "+new"

router = APIRouter(include_in_schema=False)
ServicesDep = Annotated[Services, Depends(get_services)]


@dataclass(frozen=True)
class Shopper:
    """Who the page is for, and whether the answer must set their session cookie."""

    user_id: str
    new: bool = False


def current_shopper(request: Request, services: Services) -> Shopper:
    """The session's shopper, or a new anonymous visitor."""
    user = session_user(request, services)
    if user is not None:
        return Shopper(user)
    return Shopper(new_visitor_id(), new=not services.settings.read_requires_key)


def remember(response: Response, request: Request, services: Services, shopper: Shopper) -> Response:
    """Set the session cookie on `response` when the shopper is new."""
    if shopper.new:
        set_session(response, request, services, shopper.user_id)
    return response


def set_session(response: Response, request: Request, services: Services, user_id: str, max_age_s: int = MAX_AGE_S) -> None:
    response.set_cookie(COOKIE, services.sessions.sign(user_id, max_age_s), max_age=max_age_s, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https", path="/")


@router.get("/session")
def open_session(request: Request, services: ServicesDep, token: Annotated[str, Query(max_length=2048)],
                 next: Annotated[str, Query(max_length=500)] = "/") -> Response:
    """Sign in with a token from the shop (`POST /v1/sessions`): sets the cookie, then opens `next`."""
    if services.sessions.user(token) is None:
        raise Unauthorized("the session token is not valid (expired, or not signed by this service)")
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(COOKIE, token, max_age=MAX_AGE_S, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/session/switch")
def switch_shopper(request: Request, services: ServicesDep, user: Annotated[str, Form(max_length=256)],
                   next: Annotated[str, Form(max_length=500)] = "/") -> Response:
    """The demo's shopper switcher: be one of the listed shoppers, or a new visitor."""
    if not services.settings.demo:
        raise NotFound("the shopper switcher exists only in a demo (shoprec serve --demo)")
    if user != NEW_SHOPPER and user not in switcher_choices(request, services):
        raise NotFound(f"{user!r} is not one of the demo's shoppers")
    response = RedirectResponse(_local(next), status_code=303)
    set_session(response, request, services, new_visitor_id() if user == NEW_SHOPPER else user)
    return response


def switcher_choices(request: Request, services: Services) -> list[str]:
    """The demo's shoppers (the store's first users), [] outside a demo. Read again after an
    erasure (in this process or another), so an erased shopper leaves the list."""
    if not services.settings.demo:
        return []
    cached: tuple[int, list[str]] | None = getattr(request.app.state, "storefront_shoppers", None)
    if cached is None or cached[0] != services.erasure_generation:
        users = services.store.users()[S.USER_ID].astype(str).head(SWITCHER_SIZE).tolist()
        cached = (services.erasure_generation, users)
        request.app.state.storefront_shoppers = cached
    return cached[1]


def _local(target: str) -> str:
    """`target` when it is a path on this site; "/" otherwise (no open redirect to another host)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target
