"""Errors as JSON: every failure answers `{"error": code, "message": text, "details": [...]}`.

Route code raises `ServiceError` subclasses (or any ShoprecError, which is the caller's fault: 400);
`install` registers the handlers that turn them, and FastAPI's own validation errors, into that
shape, so a client always learns what was wrong and where.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shoprec.errors import ShoprecError


class ServiceError(ShoprecError):
    """An error with an HTTP status and a short machine-readable code."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidInput(ServiceError):
    """The request is well-formed JSON but its content breaks a rule (a rejected event, a bad item)."""

    status = 422
    code = "invalid_input"


class NotFound(ServiceError):
    """The item, user or bundle named does not exist."""

    status = 404
    code = "not_found"


class Unauthorized(ServiceError):
    """No API key, or one that is not valid."""

    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    """A valid key that may not make this call (the storefront key on an admin call)."""

    status = 403
    code = "forbidden"


class PayloadTooLarge(ServiceError):
    """A body or a batch over the documented limit."""

    status = 413
    code = "payload_too_large"


class NotReady(ServiceError):
    """The service cannot answer this yet (no trained bundle loaded)."""

    status = 503
    code = "not_ready"


class NotBuilt(ServiceError):
    """A feature whose engine is not part of this build yet."""

    status = 501
    code = "not_implemented"


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The JSON shape of every error."""
    return {"error": code, "message": message, "details": details or []}


def _location(loc: tuple[Any, ...]) -> str:
    # ("body", 0, "timestamp") -> "body[0].timestamp"; ("query", "k") -> "query.k"
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [{"field": _location(tuple(e.get("loc", ()))), "message": e.get("msg", ""), "type": e.get("type", "")}
               for e in exc.errors()]
    first = details[0] if details else {"field": "request", "message": "invalid"}
    message = f"{first['field']}: {first['message']}" + (f" (and {len(details) - 1} more)" if len(details) > 1 else "")
    return JSONResponse(error_body("invalid_request", message, details), status_code=422)


async def _service(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ShoprecError)
    if isinstance(exc, ServiceError):
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status)
    return JSONResponse(error_body("bad_request", str(exc)), status_code=400)


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


async def _internal(_: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the server's log (uvicorn logs the exception after this answer); the
    # client learns only that it was not its fault.
    return JSONResponse(error_body("internal_error", f"the server failed to answer ({type(exc).__name__}); see its log"),
                        status_code=500)


def install(app: FastAPI) -> None:
    """Register the JSON error handlers on `app`."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(ShoprecError, _service)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _internal)
