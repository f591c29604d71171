"""A real browser for the tests: Debian's Chromium, headless, reaching nothing but loopback.

Playwright drives the system Chromium (`/usr/bin/chromium`, apt package `chromium`) instead of
a browser build of its own, which could not be downloaded here. When it is missing the browser
tests are skipped and the run says so at the end, unless `PUBAPI_TEST_REQUIRE_BROWSER=1` (set
by `.ci/run`), which turns that into a failure.
"""

import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request

from tests.conftest import SKIPPED

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("PUBAPI_TEST_REQUIRE_BROWSER") == "1"
LAUNCH_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    # Every host but loopback resolves to nothing, so a page that reaches for a CDN fails here
    # as it would offline. The rules apply to IP literals too: 127.0.0.1 needs its exclusion.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]


def browser_problem() -> str | None:
    """Why the browser tests cannot run, or None when they can."""
    if not CHROMIUM.is_file():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


def require_browser() -> None:
    """Skip (or fail, under PUBAPI_TEST_REQUIRE_BROWSER=1) when there is no Chromium."""
    if (problem := browser_problem()) is not None:
        if REQUIRE_BROWSER:
            pytest.fail(f"PUBAPI_TEST_REQUIRE_BROWSER=1 but {problem}")
        SKIPPED["Browser"] = problem
        pytest.skip(problem)


def origin_of(url: str) -> str | None:
    """`scheme://host:port` of what a request reached; None for data the page held itself."""
    if url.startswith(("data:", "about:")):
        return None
    # A blob: URL names the origin that created it: `blob:http://127.0.0.1:8000/<uuid>`.
    parts = urlsplit(url.removeprefix("blob:"))
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Watch:
    """What a page requested and what it complained about.

    The requests prove a page works offline (it did not even try another host); the errors
    catch what a user would not see: a Content-Security-Policy violation, a failed asset, a
    script that threw.
    """

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def attach(cls, page: Page) -> "Watch":
        watch = cls()
        page.on("request", watch._request)
        page.on("requestfailed", watch._failed)
        page.on("console", watch._console)
        page.on("pageerror", lambda error: watch.errors.append(f"page error: {error}"))
        return watch

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _failed(self, request: Request) -> None:
        self.errors.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console error: {message.text}")

    def outside(self, *origins: str) -> list[str]:
        """The requests that went anywhere but the given origins."""
        return [url for url in self.requests if origin_of(url) not in (None, *origins)]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def static_site(directory: Path) -> Iterator[str]:
    """Serve a directory over loopback on a free port: another origin than the API's."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
