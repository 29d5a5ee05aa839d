"""The request-body limit: a body over `max_bytes` is answered 413 before any route reads it.

A declared Content-Length over the limit is refused at once; a body without one (chunked) is
read here up to the limit, then handed on whole, so that an oversized request never fills memory.
(The server itself holds a body to its declared length.)
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shoprec.service.problems import error_body


class BodyLimitMiddleware:
    """ASGI middleware refusing request bodies larger than `max_bytes` with a JSON 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.max_bytes:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b""):
            await self.app(scope, receive, send)
            return
        try:
            body = await read_body(receive, self.max_bytes)
        except BodyTooLarge:
            await self._refuse(send)
            return
        if body is not None:
            await self.app(scope, replaying(body, receive), send)

    async def _refuse(self, send: Send) -> None:
        await send_error(send, 413, error_body("payload_too_large", f"the request body is larger than the limit of {self.max_bytes:,} bytes"))


class BodyTooLarge(Exception):
    """A body grew past the limit `read_body` was given."""


async def read_body(receive: Receive, max_bytes: int | None = None) -> bytes | None:
    """The whole request body (None: the client went away); BodyTooLarge past `max_bytes`."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        parts.append(message.get("body", b""))
        size += len(parts[-1])
        if max_bytes is not None and size > max_bytes:
            raise BodyTooLarge
        if not message.get("more_body", False):
            return b"".join(parts)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app `body` whole (already read), then whatever comes next."""
    handed = False

    async def replay() -> Message:
        nonlocal handed
        if not handed:
            handed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def send_error(send: Send, status: int, payload: dict[str, object]) -> None:
    """Answer with `payload` (the JSON error shape) before any route runs."""
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
