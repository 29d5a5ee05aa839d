"""API keys: who may read, post events, and change the catalogue, erase shoppers or reload bundles.

Two kinds of key (see settings.ServiceSettings): admin keys may do everything; the storefront
key may only read and post events (it is visible in the storefront's pages). Reads are public
unless `read_requires_key`. Keys are compared in constant time.
"""

from __future__ import annotations

import hmac
from enum import Enum
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader

from shoprec.service.deps import Services, get_services
from shoprec.service.problems import Forbidden, Unauthorized

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


def _requirement(access: Access):  # type: ignore[no-untyped-def]
    async def dependency(services: Annotated[Services, Depends(get_services)],
                         key: Annotated[str | None, Depends(_key_header)]) -> None:
        check_key(services, key, access)  # async: a comparison of strings, not worth a worker thread

    dependency.__name__ = f"require_{access.value}"
    return dependency


require_read = _requirement(Access.READ)
require_events = _requirement(Access.EVENTS)
require_admin = _requirement(Access.ADMIN)
