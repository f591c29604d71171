"""The docs pages and CORS as a browser sees them: Debian's Chromium, headless, offline.

One `pubapi serve` (SQLite, the seed loaded) serves the whole module; two static sites on
other loopback ports play the institute's site (allowed to write consent) and a stranger's.
Every page is watched: a request to any host but these, or any console error, fails the test.
"""

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser import CHROMIUM, LAUNCH_ARGS, Watch, require_browser, static_site
from tests.test_live_server import clean_env, serving

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
SITE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>site</title></head>
<body><p>A page on another origin than the API's.</p></body></html>
"""
# Runs in the page: a fetch as the page's own script would make it, and what the page could
# read of the answer. A fetch that CORS refuses rejects with a TypeError, returned as `error`.
FETCH = """async ([url, init]) => {
    try {
        const response = await fetch(url, init);
        return {
            status: response.status,
            location: response.headers.get("Location"),
            body: await response.json(),
        };
    } catch (error) {
        return {error: String(error)};
    }
}"""

# Two animation frames, then a task: the effects of the last render, and what they render, ran.
SETTLE = """() => new Promise(done => requestAnimationFrame(
    () => requestAnimationFrame(() => setTimeout(done))
))"""


@dataclass
class Api:
    base: str
    database: Path

    def consent_count(self) -> int:
        """Consent records in the server's SQLite file, read behind the API's back."""
        with sqlite3.connect(self.database) as conn:
            count: int = conn.execute("select count(*) from consent").fetchone()[0]
        return count


@dataclass
class Tab:
    page: Page
    watch: Watch

    def fetch(self, url: str, init: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.page.evaluate(FETCH, [url, init or {}])
        return result

    def settle(self) -> None:
        """Let the page finish what its last render started (ReDoc adds its side menu's logo
        only after the menu is drawn), so the watch has seen every request it makes."""
        self.page.evaluate(SETTLE)


@pytest.fixture(scope="module", autouse=True)
def _chromium() -> None:
    """Checked first, so that a missing browser skips before any server starts."""
    require_browser()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


def _site(directory: Path) -> Iterator[str]:
    (directory / "index.html").write_text(SITE_PAGE)
    with static_site(directory) as origin:
        yield origin


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The institute's site: the origin the API lets write consent."""
    yield from _site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Someone else's site: it may read the data, not write consent."""
    yield from _site(tmp_path_factory.mktemp("stranger"))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, site: str) -> Iterator[Api]:
    directory = tmp_path_factory.mktemp("api")
    with serving(directory, clean_env(PUBAPI_CONSENT_ORIGINS=site)) as (base, _process):
        yield Api(base, directory / "pubapi.db")


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    """A fresh context (no cache, no cookies) per test, its page watched."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield Tab(page, Watch.attach(page))
    context.close()


def openapi_operations(base: str) -> list[tuple[str, str, str]]:
    """(method, path, summary) of every operation of the API's OpenAPI document."""
    paths = httpx.get(f"{base}/openapi.json").json()["paths"]
    return sorted(
        (method.upper(), path, operation["summary"])
        for path, item in paths.items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    )


def test_swagger_ui_lists_every_operation_offline(tab: Tab, api: Api) -> None:
    tab.page.goto(f"{api.base}/docs")
    tab.page.wait_for_selector(".opblock")
    listed = tab.page.locator(".opblock .opblock-summary").evaluate_all(
        """summaries => summaries.map(summary => [
            summary.querySelector(".opblock-summary-method").textContent,
            summary.querySelector(".opblock-summary-path").dataset.path,
        ])"""
    )
    expected = [(method, path) for method, path, _summary in openapi_operations(api.base)]
    assert sorted(map(tuple, listed)) == expected
    assert ("GET", "/publications") in expected
    assert ("POST", "/consent") in expected
    assert tab.page.title() == "pubapi — docs"
    tab.settle()
    assert tab.watch.outside(api.base) == []
    assert tab.watch.errors == []


def test_swagger_ui_try_it_out_lists_the_publications(tab: Tab, api: Api) -> None:
    tab.page.goto(f"{api.base}/docs")
    operation = tab.page.locator("#operations-publications-listPublications")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    response = operation.locator(".live-responses-table .response")
    body = response.locator(".response-col_description .highlight-code").inner_text()
    assert response.locator(".response-col_status").inner_text() == "200"
    assert '"total": 10' in body
    # Swagger UI sends the parameters' defaults along.
    assert f"{api.base}/publications?limit=25" in tab.watch.requests
    tab.settle()
    assert tab.watch.outside(api.base) == []
    assert tab.watch.errors == []


def test_redoc_renders_every_operation_offline(tab: Tab, api: Api) -> None:
    tab.page.goto(f"{api.base}/redoc")
    # Operations under a collapsed tag are in the menu, hidden: wait for them, not their looks.
    tab.page.wait_for_selector("[role=menuitem] .operation-type", state="attached")
    menu = tab.page.locator("[role=menuitem]:has(> label .operation-type)").evaluate_all(
        """items => items.map(item => [
            item.querySelector(".operation-type").textContent.toUpperCase(),
            item.getAttribute("aria-label"),
        ])"""
    )
    expected = [(method, summary) for method, _path, summary in openapi_operations(api.base)]
    assert sorted(map(tuple, menu)) == sorted(expected)
    assert len(menu) == len(expected)
    assert ["GET", "List publications"] in menu
    assert ["POST", "Record a visitor's consent"] in menu
    assert ["GET", "List the publications of one author"] in menu
    assert tab.page.locator("h1").first.inner_text() == "pubapi (0.1.0)"
    # The body renders each operation under its summary too.
    headings = tab.page.locator("h2:has(> a[href*='/operation/'])").all_inner_texts()
    assert sorted(heading.strip() for heading in headings) == sorted(
        summary for _method, summary in expected
    )
    tab.settle()
    assert tab.watch.outside(api.base) == []
    assert tab.watch.errors == []


def test_another_origin_reads_the_data(tab: Tab, api: Api, stranger: str) -> None:
    """Any site may read the publications from its own script (public data, no credentials)."""
    tab.page.goto(f"{stranger}/index.html")
    listed = tab.fetch(f"{api.base}/publications?limit=2")
    assert listed["status"] == 200, tab.watch.errors
    assert [p["id"] for p in listed["body"]["results"]] == [2, 4]
    assert listed["body"]["meta"]["total"] == 10
    assert tab.watch.outside(stranger, api.base) == []
    assert tab.watch.errors == []


def test_another_origin_revalidates_through_a_preflight(tab: Tab, api: Api, stranger: str) -> None:
    """`If-None-Match` is outside the CORS safelist: the browser asks the API first."""
    tab.page.goto(f"{stranger}/index.html")
    revalidated = tab.fetch(
        f"{api.base}/publications?limit=2", {"headers": {"If-None-Match": '"not-the-etag"'}}
    )
    assert tab.watch.errors == []
    assert revalidated["status"] == 200
    assert [p["id"] for p in revalidated["body"]["results"]] == [2, 4]
    assert tab.watch.outside(stranger, api.base) == []


def post_consent(policy_version: str) -> dict[str, Any]:
    """The `fetch` options of a banner's POST: JSON, hence a preflight."""
    body = {"policy_version": policy_version, "choices": {"analytics": True, "multimedia": False}}
    return {
        "method": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }


def test_the_site_records_consent_and_reads_its_location(tab: Tab, api: Api, site: str) -> None:
    tab.page.goto(f"{site}/index.html")
    policy = tab.fetch(f"{api.base}/consent/policy")
    before = api.consent_count()
    created = tab.fetch(f"{api.base}/consent", post_consent(policy["body"]["version"]))
    assert created["status"] == 201, tab.watch.errors
    record = created["body"]
    assert created["location"] == f"/consent/{record['id']}"
    assert record["policy_version"] == policy["body"]["version"]
    assert record["choices"] == {"essential": True, "analytics": True, "multimedia": False}
    assert api.consent_count() == before + 1
    assert tab.watch.outside(site, api.base) == []
    assert tab.watch.errors == []


def test_another_origin_cannot_record_consent(tab: Tab, api: Api, stranger: str) -> None:
    """The preflight is refused, so the POST is never sent and nothing is written."""
    tab.page.goto(f"{stranger}/index.html")
    policy_version = httpx.get(f"{api.base}/consent/policy").json()["version"]
    before = api.consent_count()
    refused = tab.fetch(f"{api.base}/consent", post_consent(policy_version))
    assert refused == {"error": "TypeError: Failed to fetch"}
    assert api.consent_count() == before
    assert tab.watch.outside(stranger, api.base) == []
    # What the browser says about it (sorted: its events arrive in no fixed order).
    assert sorted(tab.watch.errors) == [
        f"console error: Access to fetch at '{api.base}/consent' from origin '{stranger}' has "
        "been blocked by CORS policy: Response to preflight request doesn't pass access "
        "control check: No 'Access-Control-Allow-Origin' header is present on the requested "
        "resource.",
        "console error: Failed to load resource: net::ERR_FAILED",
        f"request failed: POST {api.base}/consent: net::ERR_FAILED",
    ]
