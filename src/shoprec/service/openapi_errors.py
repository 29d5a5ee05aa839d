"""The error answers each route can give, declared in the OpenAPI document (and so at /docs).

Every error is `{"error", "message", "details"}` (problems.py); FastAPI would otherwise document
only its own 422 shape, which the service never sends. Routes pass `responses=errors(...)` with
the statuses they can answer; public reads also pass `openapi_extra=OPTIONAL_KEY`, since they need
a key only when the service runs with `read_requires_key`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    """An error answer: what went wrong, for a program (`error`) and for a person (`message`)."""

    error: str = Field(description="A short code: invalid_request, invalid_input, not_found, unauthorized, ...")
    message: str
    details: list[dict[str, Any]] = Field(description="One entry per problem, e.g. {field, message, type}.")


DESCRIPTIONS = {
    400: "The request could not be read.",
    401: "No API key in X-API-Key, or one that is not valid.",
    403: "The key may not make this call (the storefront key on an admin call).",
    404: "Not found.",
    413: "The body is larger than the limit.",
    414: "The query string is longer than the limit.",
    422: "A parameter or the body breaks a rule; `details` lists each problem.",
    501: "Search is not available (see /ready).",
    503: "No trained bundle is loaded (see /ready).",
}

# Reads are public by default; `read_requires_key` makes the key mandatory (then 401/403). FastAPI
# appends this to the operation's own [{"APIKeyHeader": []}]: either the key, or nothing.
OPTIONAL_KEY: dict[str, Any] = {"security": [{}]}
READ = (401, 403, 414, 422)  # any read: a key when read_requires_key, the URL limit, the parameters' rules
ADMIN = (401, 403, 422)  # any admin call


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route answering these error statuses in the JSON error shape."""
    return {status: {"model": ErrorOut, "description": DESCRIPTIONS[status]} for status in sorted(set(statuses))}
