"""`/docs` and `/redoc` with no internet: their scripts, styles and icon are served by pubapi
from the fastapi-offline package instead of a CDN.

Each page carries a Content-Security-Policy that lets it load only pubapi's own assets and run
only its own inline script (by hash), so a page that tried a CDN, or an injected script, would
be blocked by the browser.
"""

import base64
import hashlib
import importlib.resources
import re
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"


def assets_dir() -> Path:
    return Path(str(importlib.resources.files("fastapi_offline") / "static"))


# ReDoc's bundle draws its "API docs by Redocly" logo from a CDN, and no option turns it off:
# pubapi serves a copy whose logo is its own icon.
REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
REDOC_OFFLINE = f"{ASSETS}/redoc.standalone.offline.js"


def offline_redoc() -> bytes:
    bundle = (assets_dir() / "redoc.standalone.js").read_bytes()
    assert bundle.count(REDOC_CDN_LOGO) == 1, "fastapi-offline's ReDoc changed: check its URLs"
    return bundle.replace(REDOC_CDN_LOGO, f"{ASSETS}/favicon.png".encode())


def install_docs(app: FastAPI) -> None:
    """Serve the interactive docs pages and their assets (FastAPI's own point at a CDN)."""
    redoc_bundle = offline_redoc()

    async def redoc_js(_request: Request) -> Response:
        return Response(redoc_bundle, media_type="text/javascript; charset=utf-8")

    app.add_route(REDOC_OFFLINE, redoc_js, include_in_schema=False)
    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="docs-assets")

    async def swagger_ui(_request: Request) -> HTMLResponse:
        return with_csp(
            get_swagger_ui_html(
                openapi_url="/openapi.json",
                title=f"{app.title} — docs",
                swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS}/favicon.png",
            )
        )

    async def redoc(_request: Request) -> HTMLResponse:
        return with_csp(
            get_redoc_html(
                openapi_url="/openapi.json",
                title=f"{app.title} — reference",
                redoc_js_url=REDOC_OFFLINE,
                redoc_favicon_url=f"{ASSETS}/favicon.png",
                with_google_fonts=False,
            )
        )

    app.add_route("/docs", swagger_ui, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)


_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def with_csp(page: HTMLResponse) -> HTMLResponse:
    """Allow exactly what the docs pages need, all of it from pubapi itself.

    Swagger UI and ReDoc set inline styles (hence `'unsafe-inline'` for styles only); ReDoc
    runs its search in a worker made from a `blob:` URL and draws icons as `data:` images.
    """
    scripts = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(page.body)
    )
    page.headers["Content-Security-Policy"] = "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' {scripts}".strip(),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return page
