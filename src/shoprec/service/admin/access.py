"""Who may open /admin: a request with an admin key (`X-API-Key`), or a browser holding a signed
admin session, which `/admin/login` gives for an admin key typed into its form.

The admin session is a signed token (service/sessions.py) naming `ADMIN_SUBJECT`, made with a key
derived apart from shoppers' sessions (so no shopper's token is ever an admin's), in its own cookie
(`shoprec_admin`: HttpOnly, SameSite=Strict, path /admin, so no other site's page can make the
browser use it, and the dashboard's buttons can be plain forms), valid for `ADMIN_MAX_AGE_S`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from shoprec.service.auth import HEADER, is_admin
from shoprec.service.deps import Services, get_services
from shoprec.service.problems import Unauthorized

ADMIN_COOKIE = "shoprec_admin"
ADMIN_MAX_AGE_S = 8 * 3600
ADMIN_SUBJECT = "admin"


def admin_session(request: Request, services: Services) -> bool:
    """Whether the request holds a valid admin session cookie."""
    token = request.cookies.get(ADMIN_COOKIE)
    return bool(token) and services.admin_sessions.user(token) == ADMIN_SUBJECT


def sign_in(response: Response, request: Request, services: Services, key: str) -> bool:
    """Set the admin session cookie on `response` when `key` is an admin key; False otherwise."""
    if not is_admin(services, key):
        return False
    token = services.admin_sessions.sign(ADMIN_SUBJECT, ADMIN_MAX_AGE_S)
    response.set_cookie(ADMIN_COOKIE, token, max_age=ADMIN_MAX_AGE_S, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/admin")
    return True


def sign_out(response: Response) -> None:
    response.delete_cookie(ADMIN_COOKIE, path="/admin")


async def require_admin_page(request: Request, services: Annotated[Services, Depends(get_services)]) -> None:
    """The dashboard's pages and actions: an admin key or an admin session (401 otherwise)."""
    if is_admin(services, request.headers.get(HEADER)) or admin_session(request, services):
        return
    raise Unauthorized("the admin dashboard needs an admin key: sign in at /admin/login")
