"""Property-based fuzzing of the whole HTTP API, generated from its OpenAPI document (schemathesis).

Every operation in /openapi.json, the writes and admin calls included (sent with the admin key, so
they get past auth), gets `MAX_EXAMPLES` cases drawn by schemathesis's Hypothesis strategies, some
following the schema, some breaking it (wrong types, out-of-range values, missing or extra fields,
odd headers: the key left out or spoiled, so auth is checked too). Each answer must be no 5xx,
have a documented status, content type and body schema, refuse what breaks the schema and accept
what follows it; then (the fixture's teardown) the service must still be healthy and answer as usual.

Bounded and reproducible: a fixed number of cases per operation, derandomized (the same cases on
every run), no example database; about 35 s in all on this two-core machine. The app runs
in-process (ASGI, no network) over a copy of the trained shop per operation, since PUT and DELETE
change it.

Hypothesis drives the strategies here, one pytest test per operation, rather than schemathesis's
own pytest integration: under pytest 9.2 that gives all its tests one node id (pytest builds the id
from `originalname`), so pytest-xdist ran only the first operation.

Exemptions spare one check, for the operations, cases and answers they name: only rules that
relate two parameters, which JSON Schema cannot state (BEYOND_THE_SCHEMA).
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks
from starlette.types import Receive, Scope, Send

from shoprec.ranking.limits import MAX_SEARCH_DEPTH
from shoprec.service.app import create_app
from tests.service.conftest import ADMIN_KEY, settings_for

MAX_EXAMPLES = 100  # cases per operation, drawn to follow the schema or to break it

CONFIG = {
    "auth": {"openapi": {"APIKeyHeader": {"api_key": ADMIN_KEY}}},
    # A refusal by the body or URL limits is a rejection too.
    "checks": {"negative_data_rejection": {"expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413",
                                                                 "414", "415", "422", "428", "429", "5xx"]}},
}


@dataclass(frozen=True)
class Exemption:
    """Cases that may fail one check: which operations, which check, which case and answer."""

    operations: tuple[str, ...]  # "METHOD /path" as in the OpenAPI document; () for every operation
    check: Callable[..., Any]  # the schemathesis check
    when: Callable[[schemathesis.Case, Any], bool]  # (the case, its schemathesis Response)
    why: str


def _query_number(case: schemathesis.Case, name: str, default: float | None = None) -> float | None:
    try:
        return float((case.query or {}).get(name, default))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None






def _price_range_reversed(case: schemathesis.Case, response: Any) -> bool:
    low, high = _query_number(case, "price_min"), _query_number(case, "price_max")
    return response.status_code == 422 and low is not None and high is not None and low > high


def _past_search_depth(case: schemathesis.Case, response: Any) -> bool:
    page, k = _query_number(case, "page", 1), _query_number(case, "k", 10)
    return response.status_code == 422 and page is not None and k is not None and page * k > MAX_SEARCH_DEPTH










def _model_not_in_bundle(case: schemathesis.Case, response: Any) -> bool:
    return response.status_code == 422 and "is not in bundle" in response.json().get("message", "")


def _event_time_refused(case: schemathesis.Case, response: Any) -> bool:
    reasons = {d.get("reason") for d in response.json().get("details", [])} if response.status_code == 422 else set()
    return bool(reasons) and reasons <= {"missing_timestamp", "invalid_timestamp", "future_timestamp", "ancient_timestamp"}


_ACCEPTS = openapi_checks.positive_data_acceptance
# Rules JSON Schema cannot state (they relate two parameters): a schema-valid request breaking one is a 422.
BEYOND_THE_SCHEMA = [
    Exemption(("GET /v1/recommendations", "GET /v1/search"), _ACCEPTS, _price_range_reversed, "price_min > price_max"),
    Exemption(("GET /v1/search",), _ACCEPTS, _past_search_depth, f"page * k past the first {MAX_SEARCH_DEPTH:,} results"),
    # Which model names exist is the loaded bundle's business, not the schema's (it is built without one).
    Exemption(("GET /v1/recommendations",), _ACCEPTS, _model_not_in_bundle, "a model the bundle does not have"),
    # An event time is any string or number in the schema; which ones read as a time (ISO 8601, epoch s
    # or ms) and fall within a day ahead of now and 1990 is a content rule, checked as at ingest.
    Exemption(("POST /v1/events",), _ACCEPTS, _event_time_refused, "an event time that is unreadable or out of bounds"),
]

EXEMPTIONS = BEYOND_THE_SCHEMA


class _AppUnderTest:
    """The cases are sent here (schema.app) and passed on to the app of the moment, which the fixture
    builds. Its lifespan is the fixture's business (a TestClient): the lifespan schemathesis starts
    once per process on an app it is given, and keeps until exit, is answered here."""

    app: FastAPI | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        assert self.app is not None, "the fuzzed_app fixture sets the app"
        await self.app(scope, receive, send)


APP_UNDER_TEST = _AppUnderTest()
# Building an app opens nothing (its lifespan does), so the document is had without a workspace.
schema = schemathesis.openapi.from_dict(create_app(settings_for(Path("unused"))).openapi(),
                                        config=schemathesis.Config.from_dict(CONFIG))
schema.app = APP_UNDER_TEST
OPERATIONS = [result.ok() for result in schema.get_all_operations()]
CASES: Counter[str] = Counter()  # cases sent, per operation
SKIPPED: Counter[str] = Counter()  # answers an exemption spared a check, per exemption


@pytest.fixture
def fuzzed_app(trained_shop_template: Path, tmp_path: Path) -> Iterator[FastAPI]:
    """The app over its own copy of the trained shop, for one operation's cases; once they are all
    sent, the service must still be healthy and answer as usual (checked here, at teardown)."""
    app = create_app(settings_for(Path(shutil.copytree(trained_shop_template, tmp_path / "ws"))))
    CASES.clear()
    SKIPPED.clear()
    with TestClient(app) as client:  # runs the app's lifespan: services opened, then closed
        APP_UNDER_TEST.app = app
        try:
            yield app
            assert_healthy(client)
        finally:
            APP_UNDER_TEST.app = None


@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.label for operation in OPERATIONS])
def test_every_operation_answers_hostile_input_as_documented(operation: APIOperation, fuzzed_app: FastAPI) -> None:
    cases = st.one_of([operation.as_strategy(generation_mode=mode) for mode in GenerationMode])

    @given(case=cases)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              # a reload loads a whole bundle; schemathesis filters and builds large bodies on purpose
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    def send_and_check(case: schemathesis.Case) -> None:
        CASES[operation.label] += 1
        response = case.call()
        exempt = [e for e in EXEMPTIONS if operation.label in (e.operations or [operation.label]) and e.when(case, response)]
        for exemption in exempt:
            SKIPPED[exemption.why] += 1
        case.validate_response(response, excluded_checks=[e.check for e in exempt])

    send_and_check()


def assert_healthy(client: TestClient) -> None:
    """Cases were sent, and the service still answers health, readiness, a recommendation and a
    search as usual."""
    assert CASES, "no case was sent"
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["ready"] is True, ready.text
    recs = client.get("/v1/recommendations", params={"user_id": "u000001", "k": 5})
    assert recs.status_code == 200 and len(recs.json()["items"]) == 5, recs.text
    assert client.get("/v1/search", params={"q": "", "k": 3}).status_code == 200
    print(f"\nfuzzed {dict(CASES)} cases; exemptions used {dict(SKIPPED)}")


def test_every_error_answer_is_documented_in_the_error_shape() -> None:
    """Beyond what the fuzzing meets: each operation documents its errors as `ErrorOut` (never FastAPI's
    `{"detail"}` shape, which the service does not send), 401 where a key is required, and 422
    where it takes parameters or a body."""
    wrong = []
    for path, methods in schema.raw_schema["paths"].items():
        for method, operation in methods.items():
            label = f"{method.upper()} {path}"
            responses = operation["responses"]
            for status, answer in responses.items():
                content = answer.get("content", {}).get("application/json", {}).get("schema", {})
                if status[0] in "45" and label != "GET /ready" and content != {"$ref": "#/components/schemas/ErrorOut"}:
                    wrong.append(f"{label} {status}: {content}")
            if operation.get("security") and {} not in operation["security"] and "401" not in responses:
                wrong.append(f"{label}: needs a key but documents no 401")
            if (operation.get("parameters") or "requestBody" in operation) and "422" not in responses:
                wrong.append(f"{label}: takes input but documents no 422")
    assert not wrong, wrong
