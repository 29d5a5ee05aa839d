"""Security headers on pages and API answers, and HEAD wherever GET is allowed."""

from __future__ import annotations

from fastapi.testclient import TestClient

from shoprec.service.headers import CONTENT_SECURITY_POLICY


def test_pages_and_api_answers_carry_the_security_headers(client: TestClient) -> None:
    for path in ("/", "/search?q=shoes", "/health", "/v1/recommendations?user_id=u000001&k=3", "/static/storefront.js"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["x-frame-options"] == "DENY", path
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["referrer-policy"] == "same-origin", path
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
    refused = client.get("/v1/recommendations?user_id=u000001&k=0")
    assert refused.status_code == 422 and refused.headers["x-content-type-options"] == "nosniff"


def test_pages_have_no_inline_script_the_policy_would_block(client: TestClient) -> None:
    for path in ("/", "/search?q=shoes"):
        html = client.get(path).text
        assert " onchange=" not in html and " onclick=" not in html and "<script>" not in html, path


def test_head_answers_as_get_without_a_body(client: TestClient) -> None:
    for path in ("/", "/health", "/v1/recommendations?user_id=u000001&k=3"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"", path
        assert head.headers["content-type"] == got.headers["content-type"], path
        assert head.headers["x-frame-options"] == "DENY"


def test_the_evaluation_report_may_be_framed_by_the_storefront_and_run_no_script(client: TestClient, shop) -> None:  # type: ignore[no-untyped-def]
    reports = shop / "reports"
    reports.mkdir(exist_ok=True)
    (reports / "evaluation.html").write_text("<html><style>h1{color:red}</style><h1>report</h1></html>")
    answer = client.get("/report/evaluation.html")
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "style-src 'unsafe-inline'" in policy and "frame-ancestors 'self'" in policy and "script-src" not in policy
    assert answer.headers["x-frame-options"] == "SAMEORIGIN"


def test_a_wrong_method_is_told_every_method_the_path_answers(client: TestClient) -> None:
    # GET, PUT and DELETE on an item are three routes; the framework's own 405 names only the first.
    for method, path, allowed in (("OPTIONS", "/v1/items/i000001", "DELETE, GET, HEAD, PUT"), ("PATCH", "/v1/items/x/similar", "GET, HEAD"),
                                  ("POST", "/health", "GET, HEAD"), ("GET", "/v1/events", "POST")):
        answer = client.request(method, path)
        assert answer.status_code == 405, (method, path)
        assert answer.headers["allow"] == allowed, (method, path)
        assert answer.json()["error"] == "method_not_allowed"
