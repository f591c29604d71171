"""A pytest plugin that records every response the suite gets through a TestClient.

A status the API sends but its OpenAPI document does not list is a gap in the contract: a
generated client has no type for it and a reader does not know to expect it. The suite already
makes every kind of request the API answers, so recording what it saw and checking that against
`/openapi.json` at the end finds those gaps without a second list of cases to keep up to date.
The check is tests/test_openapi.py::test_every_response_seen_is_documented, which this plugin
moves after every other test; tests/conftest.py loads the plugin (`pytest_plugins`) so that the
recorder is in place before any test module creates a client.
"""

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

import httpx
import pytest
from starlette.testclient import _TestClientTransport

CHECK_MODULE = "test_openapi.py"
CHECK_NAME = "test_every_response_seen_is_documented"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


class Seen(NamedTuple):
    """One answered request, as cheap as possible to record: templates are resolved later."""

    method: str
    path: str
    status: int
    test: str


class Gap(NamedTuple):
    """An undocumented status of an operation (or, for an unsupported method, of a path)."""

    method: str
    template: str
    status: int


SEEN: list[Seen] = []
_current_test = ""


def _record_responses() -> None:
    """Wrap the transport every TestClient sends through, wherever and however it is created."""
    if "_pubapi_original_handle_request" in vars(_TestClientTransport):
        return  # Already wrapped: never record a response twice.
    original = _TestClientTransport.handle_request

    def handle_request(self: _TestClientTransport, request: httpx.Request) -> httpx.Response:
        response = original(self, request)
        if not _is_preflight(request):
            SEEN.append(Seen(request.method, request.url.path, response.status_code, _current_test))
        return response

    _TestClientTransport._pubapi_original_handle_request = original
    _TestClientTransport.handle_request = handle_request  # type: ignore[method-assign]


def _is_preflight(request: httpx.Request) -> bool:
    """A CORS preflight is the browser asking about an operation, not an operation: OpenAPI has
    no way to describe it (tests/test_consent.py and tests/test_http_behaviour.py pin them)."""
    return request.method == "OPTIONS" and "access-control-request-method" in request.headers


_record_responses()


def pytest_runtest_logstart(nodeid: str) -> None:
    """Remember which test is running, so that a gap can name a test that shows it."""
    global _current_test
    _current_test = nodeid


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the coverage check after every other test (after any other reordering too):
    it checks what they saw."""
    checks = [item for item in items if _is_check(item)]
    if checks:
        items[:] = [item for item in items if not _is_check(item)] + checks


def _is_check(item: pytest.Item) -> bool:
    return item.path.name == CHECK_MODULE and getattr(item, "originalname", None) == CHECK_NAME


# --- resolving what was seen against the document ---------------------------------------------


def template_pattern(template: str) -> re.Pattern[str]:
    """`/authors/{author_id}` as a regex: each `{name}` stands for exactly one path segment."""
    parts = re.split(r"(\{[^/{}]+\})", template)
    return re.compile(
        "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    )


def match_template(path: str, patterns: dict[str, re.Pattern[str]]) -> str | None:
    """The template `path` is an instance of, None for none. A literal segment beats a
    parameter, as OpenAPI requires: `/consent/policy` is not the consent `policy`."""
    matches = [template for template, pattern in patterns.items() if pattern.fullmatch(path)]
    return min(matches, key=lambda t: [part.startswith("{") for part in t.split("/")], default=None)


def documents(operation: dict[str, Any], status: int) -> bool:
    """Whether `operation` lists `status`: itself, its range (`4XX`) or a `default`."""
    responses = operation.get("responses", {})
    return any(key in responses for key in (str(status), f"{status // 100}XX", "default"))


def is_documented(path_item: dict[str, Any], method: str, status: int) -> bool:
    """Whether the document promises `status` for `method` on this path.

    HEAD without an operation of its own is GET without the body (the app answers it so).
    Another method without an operation (a 405) is documented when every operation of the
    path documents the status: a client cannot tell them apart. (CORS preflights are not
    recorded at all.)
    """
    operations = {name: op for name, op in path_item.items() if name in HTTP_METHODS}
    name = method.lower()
    if name == "head" and "head" not in operations and "get" in operations:
        name = "get"
    if name in operations:
        return documents(operations[name], status)
    return all(documents(operation, status) for operation in operations.values())


def undocumented(seen: Iterable[Seen], document: dict[str, Any]) -> dict[Gap, Seen]:
    """Each gap, with the first request that showed it. Paths of no template (`/docs`,
    `/openapi.json`, a 404 for `/nope`) are not part of the API's contract and are skipped."""
    paths = document["paths"]
    patterns = {template: template_pattern(template) for template in paths}
    templates: dict[str, str | None] = {}
    checked: set[tuple[str, str, int]] = set()
    gaps: dict[Gap, Seen] = {}
    for item in seen:
        if (item.method, item.path, item.status) in checked:
            continue
        checked.add((item.method, item.path, item.status))
        if item.path not in templates:
            templates[item.path] = match_template(item.path, patterns)
        template = templates[item.path]
        if template is not None and not is_documented(paths[template], item.method, item.status):
            gaps.setdefault(Gap(item.method, template, item.status), item)
    return gaps


def describe(gaps: dict[Gap, Seen]) -> list[str]:
    """One line per gap, sorted, with an example request and the test that made it."""
    return [
        f"{gap.method} {gap.template} -> {gap.status} (e.g. {seen.method} {seen.path} in "
        f"{seen.test})"
        for gap, seen in sorted(gaps.items())
    ]
