"""The interactive docs need no internet: every asset they load is served by pubapi itself."""

import re

import pytest

from app.core.docs import assets_dir

ASSETS_DIR = assets_dir()
ASSET_TYPES = {
    "/docs-assets/swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "/docs-assets/swagger-ui.css": "text/css; charset=utf-8",
    "/docs-assets/redoc.standalone.js": "text/javascript; charset=utf-8",
    "/docs-assets/favicon.png": "image/png",
}


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
        ("/redoc", ["/docs-assets/favicon.png", "/docs-assets/redoc.standalone.js"]),
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
        assert served.content == (ASSETS_DIR / asset.rsplit("/", 1)[1]).read_bytes()


def test_openapi_document_is_served_for_the_docs(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "pubapi"
