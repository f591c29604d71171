"""The interactive docs need no internet: every asset they load is served by pubapi itself."""

import re

import pytest

from app.core.docs import assets_dir

ASSETS_DIR = assets_dir()
ASSET_TYPES = {
    "/docs-assets/swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "/docs-assets/swagger-ui.css": "text/css; charset=utf-8",
    "/docs-assets/redoc.standalone.offline.js": "text/javascript; charset=utf-8",
    "/docs-assets/favicon.png": "image/png",
}
REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


def packaged(asset: str) -> bytes:
    """The bytes pubapi must serve for `asset`: the package's file, but for ReDoc's one CDN
    logo, which the offline copy draws from pubapi's own icon."""
    if asset.endswith("redoc.standalone.offline.js"):
        bundle = (ASSETS_DIR / "redoc.standalone.js").read_bytes()
        assert bundle.count(REDOC_LOGO) == 1
        return bundle.replace(REDOC_LOGO, b"/docs-assets/favicon.png")
    return (ASSETS_DIR / asset.rsplit("/", 1)[1]).read_bytes()


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        (
            "/docs",
            [
                "/docs-assets/swagger-ui.css",
                "/docs-assets/favicon.png",
                "/docs-assets/swagger-ui-bundle.js",
            ],
        ),
        ("/redoc", ["/docs-assets/favicon.png", "/docs-assets/redoc.standalone.offline.js"]),
    ],
)
def test_docs_pages_load_only_local_assets(client, page, assets):
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert re.findall(r'(?:src|href)="([^"]+)"', response.text) == assets
    # No CDN, no web fonts: nothing on the page names another host.
    assert re.findall(r"https?://", response.text) == []
    assert "url: '/openapi.json'" in response.text or 'spec-url="/openapi.json"' in response.text
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert served.headers["content-type"] == ASSET_TYPES[asset]
        assert served.content == packaged(asset)
        assert b"cdn.redoc.ly" not in served.content


def test_openapi_document_is_served_for_the_docs(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "pubapi"
