"""Requests refused before any route sees them, each with the documented JSON error.

What the framework would otherwise alter or answer in its own words:
- a path or query string whose percent-decoded bytes are not UTF-8 (the server would put U+FFFD in
  their place, so that different ids collide): 422;
- a query string over `MAX_QUERY_BYTES`: 414 (a request line over about 64 KiB never reaches the
  app; http_protocol.py answers those in the same shape);
- a JSON body that is not UTF-8, that nests deeper than `MAX_JSON_DEPTH`, or that holds NaN or
  Infinity (Python's json reads them as floats; JSON has no such numbers): 422.

The body is read here whole (the body limit, limits.py, is checked before) and handed on unchanged.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

import numpy as np
from starlette.types import ASGIApp, Receive, Scope, Send

from shoprec.data.validate import MAX_JSON_DEPTH
from shoprec.service.limits import read_body, replaying, send_error
from shoprec.service.problems import error_body

MAX_QUERY_BYTES = 8192

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NON_NUMBERS = re.compile(rb"NaN|Infinity")
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class RequestChecksMiddleware:
    """ASGI middleware applying the checks in the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = url_problem(scope.get("raw_path") or scope["path"].encode(), scope.get("query_string", b""))
        if problem is not None:
            await _refuse(send, *problem)
            return
        if scope["method"] not in _BODY_METHODS or not _json_content(scope):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)  # within the body limit, checked outside this middleware
        if body is None:
            return  # the client went away
        problem = body_problem(body)
        if problem is not None:
            await _refuse(send, 422, "invalid_request", problem, "body")
            return
        await self.app(scope, replaying(body, receive), send)


def url_problem(raw_path: bytes, query: bytes) -> tuple[int, str, str, str] | None:
    """(status, code, message, field) for a path or query string refused, or None."""
    if len(query) > MAX_QUERY_BYTES:
        return 414, "uri_too_long", f"the query string is {len(query):,} bytes; the limit is {MAX_QUERY_BYTES:,}", "query"
    for field, raw in (("path", raw_path), ("query", query.replace(b"+", b" "))):
        try:
            unquote_to_bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            return 422, "invalid_request", f"the {field} is not valid UTF-8 once percent-decoded (byte {exc.start})", field
    return None


def body_problem(body: bytes) -> str | None:
    """Why a JSON body is refused before parsing, or None."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"the body is not valid UTF-8 (byte {exc.start}); JSON bodies are UTF-8"
    outside = _STRING.sub(b'""', body)  # strings removed: brackets and barewords left
    if _NON_NUMBERS.search(outside):
        return "the body holds NaN or Infinity, which are not JSON numbers"
    depth = json_depth(outside)
    if depth > MAX_JSON_DEPTH:
        return f"the body nests {depth} levels deep; the limit is {MAX_JSON_DEPTH}"
    return None


def json_depth(outside_strings: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text whose strings were removed."""
    if not outside_strings:
        return 0
    chars = np.frombuffer(outside_strings, dtype=np.uint8)
    step = np.isin(chars, (ord("["), ord("{"))).astype(np.int32) - np.isin(chars, (ord("]"), ord("}"))).astype(np.int32)
    return int(np.cumsum(step).max())


def _json_content(scope: Scope) -> bool:
    for name, value in scope.get("headers") or []:
        if name == b"content-type":
            return b"json" in value.lower()
    return True  # FastAPI reads a body without a content type as JSON


async def _refuse(send: Send, status: int, code: str, message: str, field: str) -> None:
    await send_error(send, status, error_body(code, message, [{"field": field, "message": message, "type": code}]))
