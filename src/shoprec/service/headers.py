"""Security headers on every answer, HEAD wherever GET is allowed, and a complete `Allow` on 405.

Pages and API answers carry a Content-Security-Policy (only this origin's scripts, styles and
forms; no framing), `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff` and a
`Referrer-Policy`. The storefront has no inline script or style, so the policy needs no
'unsafe-inline'. A route may send its own policy, which is then kept: `/docs` (service/docs.py)
allows its one inline script by hash. A HEAD request is answered as GET without the body.

A 405 lists in `Allow` every method the API answers at the path, as the OpenAPI document gives
them: the framework names only those of the first route matching the path, but GET, PUT and DELETE
on `/v1/items/{item_id}` are three routes.
"""

from __future__ import annotations

import re
from functools import lru_cache

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                           "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
                           "object-src 'none'")
HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeadersMiddleware:
    """ASGI middleware adding the security headers, and answering HEAD as GET without a body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in HEADERS if name not in present]
                if b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                headers = list(message.get("headers", []))
                allowed = allowed_methods(scope) if message["status"] == 405 else None
                if allowed:
                    headers = [(n, v) for n, v in headers if n.lower() != b"allow"] + [(b"allow", ", ".join(allowed).encode())]
                message = {**message, "headers": [*headers, *extra]}
            elif message["type"] == "http.response.body" and head:
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, with_headers)


def allowed_methods(scope: Scope) -> list[str]:
    """The methods the OpenAPI document gives for the scope's path (HEAD wherever GET), or [] for a
    path it does not describe (a page: the framework's own `Allow` is right there)."""
    openapi = getattr(scope.get("app"), "openapi", None)
    if openapi is None:
        return []
    path, root = scope.get("path", ""), scope.get("root_path", "")
    path = path[len(root):] if root and path.startswith(root) else path
    methods = {method.upper() for template, operations in openapi()["paths"].items()
               if _path_regex(template).match(path) for method in operations if method in _METHODS}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@lru_cache(maxsize=256)
def _path_regex(template: str) -> re.Pattern[str]:
    return compile_path(template)[0]
