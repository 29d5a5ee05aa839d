"""The interactive API reference at `/docs` (Swagger UI), served from this machine: no CDN.

FastAPI's default `/docs` page loads Swagger UI's script and style sheet from a CDN, so it is blank
on a machine without internet. Here the same page points at the copy of Swagger UI 5 shipped inside
the `fastapi-offline` package (its static folder; we use only the files), mounted at
`/docs-assets`. The assets get the normal security headers; the page itself keeps one inline
script (Swagger UI's start-up call), which its Content-Security-Policy allows by its SHA-256 hash
alone, never with 'unsafe-inline'.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from shoprec.service.headers import CONTENT_SECURITY_POLICY

DOCS_URL = "/docs"
ASSETS_URL = "/docs-assets"
# Swagger UI 5 (renders the OpenAPI 3.1 that FastAPI writes; the older swagger-ui-bundle package ships 4.15).
ASSETS = Path(str(resources.files("fastapi_offline") / "static"))
SCRIPT = "swagger-ui-bundle.js"
STYLE = "swagger-ui.css"
FAVICON = "favicon.png"
# No online validator badge: it would load an image from validator.swagger.io.
SWAGGER_PARAMETERS = {"validatorUrl": None}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at `/docs` and its assets at `/docs-assets` (create `app` with docs_url=None)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - API reference",
                                   swagger_js_url=f"{root}{ASSETS_URL}/{SCRIPT}", swagger_css_url=f"{root}{ASSETS_URL}/{STYLE}",
                                   swagger_favicon_url=f"{root}{ASSETS_URL}/{FAVICON}",
                                   swagger_ui_parameters=SWAGGER_PARAMETERS)
        page.headers["content-security-policy"] = docs_policy(bytes(page.body).decode())
        return page


def docs_policy(html: str) -> str:
    """The normal policy, with the page's inline scripts allowed by their hashes (and nothing else inline)."""
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
                      for s in _INLINE_SCRIPT.findall(html))
    return CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' {hashes}")
