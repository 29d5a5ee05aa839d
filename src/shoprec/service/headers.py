"""Security headers on every answer, and HEAD wherever GET is allowed.

Pages and API answers carry a Content-Security-Policy (only this origin's scripts, styles and
forms; no framing), `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff` and a
`Referrer-Policy`. The storefront has no inline script or style, so the policy needs no
'unsafe-inline'. `/docs` (Swagger UI, which loads its assets from a CDN) gets no policy until it is
served from local assets. A HEAD request is answered as GET without the body.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                           "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
                           "object-src 'none'")
HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
NO_POLICY_PATHS = ("/docs", "/openapi.json")


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
        policy = not str(scope.get("path", "")).startswith(NO_POLICY_PATHS)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in HEADERS if name not in present]
                if policy and b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            elif message["type"] == "http.response.body" and head:
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, with_headers)
