"""API keys and sessions: who may read, post events, see a shopper's personal content, and change
the catalogue, erase shoppers or reload bundles.

Two kinds of key (see settings.ServiceSettings): admin keys may do everything; the storefront
key may only read and post events (it is visible in the storefront's pages). Reads are public
unless `read_requires_key`; the storefront's pages then take a key or a shopper's signed session
(sessions.py). What names a shopper's history (`explain=true` for a user) needs an admin key or
that shopper's own session. Keys are compared in constant time.
"""

from __future__ import annotations

import hmac
from enum import Enum
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from shoprec.service.deps import Services, get_services
from shoprec.service.problems import Forbidden, Unauthorized
from shoprec.service.sessions import COOKIE

HEADER = "X-API-Key"

_key_header = APIKeyHeader(name=HEADER, auto_error=False,
                           description="An admin key (SHOPREC_API_KEYS) or, for reads and events, the storefront key.")


class Access(str, Enum):
    """What a call does, from least to most privileged."""

    READ = "read"
    EVENTS = "events"
    ADMIN = "admin"


def check_key(services: Services, key: str | None, access: Access) -> None:
    """Raise Unauthorized/Forbidden unless `key` allows `access`."""
    settings = services.settings
    if access is Access.READ and not settings.read_requires_key:
        return
    if not key:
        hint = "" if settings.api_keys else " (none are configured: set SHOPREC_API_KEYS or --api-key)"
        raise Unauthorized(f"this call needs an API key in the {HEADER} header{hint}")
    if any(hmac.compare_digest(key.encode(), admin.encode()) for admin in settings.api_keys):
        return
    storefront = services.storefront_key
    if storefront and hmac.compare_digest(key.encode(), storefront.encode()):
        if access in (Access.READ, Access.EVENTS):
            return
        raise Forbidden("the storefront key may only read and post events; this call needs an admin API key")
    raise Unauthorized(f"the key in {HEADER} is not valid")


def is_admin(services: Services, key: str | None) -> bool:
    """Whether `key` is one of the admin keys."""
    return bool(key) and any(hmac.compare_digest(str(key).encode(), admin.encode()) for admin in services.settings.api_keys)


def session_user(request: Request, services: Services) -> str | None:
    """The shopper the request's signed session cookie names, if it holds a valid one."""
    return services.sessions.user(request.cookies.get(COOKIE))


def check_personal(request: Request, services: Services, user_id: str) -> None:
    """Raise Forbidden unless the request may see what names `user_id`'s history: an admin key, or
    that shopper's own session."""
    if is_admin(services, request.headers.get(HEADER)) or session_user(request, services) == user_id:
        return
    raise Forbidden("this names the shopper's history: it needs an admin API key or that shopper's own session")


async def require_page(request: Request, services: Annotated[Services, Depends(get_services)],
                       key: Annotated[str | None, Depends(_key_header)]) -> None:
    """The storefront's pages and fragments: public, unless `read_requires_key`; then a key, or a
    shopper's signed session (the shop gave them a token, see sessions.py)."""
    if not services.settings.read_requires_key or session_user(request, services) is not None:
        return
    if not key:
        raise Unauthorized(f"this storefront needs a signed session (from the shop: /session?token=...) or a key in the {HEADER} header")
    check_key(services, key, Access.READ)


def _requirement(access: Access):  # type: ignore[no-untyped-def]
    async def dependency(services: Annotated[Services, Depends(get_services)],
                         key: Annotated[str | None, Depends(_key_header)]) -> None:
        check_key(services, key, access)  # async: a comparison of strings, not worth a worker thread

    dependency.__name__ = f"require_{access.value}"
    return dependency


require_read = _requirement(Access.READ)
require_events = _requirement(Access.EVENTS)
require_admin = _requirement(Access.ADMIN)
