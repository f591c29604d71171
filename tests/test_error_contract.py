"""The HTTP contract every route keeps, on SQLite and PostgreSQL.

One parametrized test walks every GET route of the data API: 200 as JSON, HEAD as GET without
the body, 405 for the other methods, 422 for an unknown query parameter, 404 and 422 for a
missing or malformed id. The consent routes (the one write) keep the same contract with their
own methods, plus `Cache-Control: no-store` on every answer, errors included. Every error is an
RFC 9457 problem served as `application/problem+json`, and the OpenAPI document says so.
"""

import asyncio
import re
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.migrations import head_revision
from app.main import create_app
from tests.conftest import Database
from tests.support import answer_headers, body_headers

JSON = "application/json"
PROBLEM = "application/problem+json"
# Every route answers CORS requests (data routes any origin, consent routes the site's), and
# may compress, so every answer says that it varies by Origin and Accept-Encoding; data answers
# (whose ETag depends on it) by Accept too.
VARY = {"vary": "Accept-Encoding, Origin"}
DATA_VARY = {"vary": "Accept, Accept-Encoding, Origin"}
DATA_PREFIXES = ("/publications", "/authors", "/venues")


def policy_headers(path: str, status: int) -> dict[str, str]:
    """Vary and Cache-Control of an answer on `path`: data errors and consent and health
    answers are never stored; data successes carry validators (checked where they occur)."""
    if path.startswith(DATA_PREFIXES):
        return {**DATA_VARY, "cache-control": "no-store"} if status >= 400 else DATA_VARY
    if path.startswith("/consent") or path in ("/health", "/ready"):
        return {**VARY, "cache-control": "no-store"}
    return VARY


PROBLEM_CONTENT = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
PATH_PARAM = re.compile(r"\{(\w+)\}")
ID_PARAM = re.compile(r"\{(\w+_id)\}")
ETAG = re.compile(r'"[0-9a-f]{32}"')
MISSING_ID = 999999
NOT_AN_INTEGER = "Input should be a valid integer, unable to parse string as an integer"

FILTER_PARAMS = "author, fields, format, from_date, q, sort, status, to_date, venue, year"
PUBLICATION_PARAMS = (
    "author, cursor, facets, fields, format, from_date, limit, offset, q, sort, status, "
    "to_date, venue, year"
)
ENTITY_PARAMS = "cursor, limit, offset, q, sort"

# Every GET route, in registration order, with the query parameters a 422 lists as allowed.
EXPECTED_ROUTES = {
    "/publications/export": FILTER_PARAMS,
    "/publications/export.{extension}": FILTER_PARAMS.replace("format, ", ""),
    "/publications": PUBLICATION_PARAMS,
    "/publications/{publication_id}": "fields, format",
    "/authors": ENTITY_PARAMS,
    "/authors/{author_id}": "none",
    "/authors/{author_id}/publications": PUBLICATION_PARAMS,
    "/venues": ENTITY_PARAMS,
    "/venues/{venue_id}": "none",
    "/venues/{venue_id}/publications": PUBLICATION_PARAMS,
    "/consent/policy": "none",
    "/consent/{consent_id}": "none",
    "/consent/{consent_id}/history": "cursor, limit, offset",
    "/health": "none",
    "/ready": "none",
}

# operationId and documented error statuses of each operation, by path and method, in the
# order of the OpenAPI document (the order the routes are registered in). Every operation
# documents 405 (another method on its path) and 500 (a bug, with its request id); every one
# that uses the database, 503; every data GET documents 304 as well (see
# NOT_MODIFIED_OPERATIONS).
WRITE_ERRORS = ["413", "415", "422", "429"]
EXPECTED_OPERATIONS = {
    "/publications/export": {
        "get": ("exportPublications", ["405", "406", "414", "422", "431", "500", "503"])
    },
    "/publications/export.{extension}": {
        "get": ("exportPublicationsAs", ["405", "414", "422", "431", "500", "503"])
    },
    "/publications": {
        "get": ("listPublications", ["405", "406", "414", "422", "431", "500", "503"])
    },
    "/publications/{publication_id}": {
        "get": ("getPublication", ["404", "405", "406", "414", "422", "431", "500", "503"])
    },
    "/authors": {"get": ("listAuthors", ["405", "414", "422", "431", "500", "503"])},
    "/authors/{author_id}": {
        "get": ("getAuthor", ["404", "405", "414", "422", "431", "500", "503"])
    },
    "/authors/{author_id}/publications": {
        "get": ("listAuthorPublications", ["404", "405", "406", "414", "422", "431", "500", "503"])
    },
    "/venues": {"get": ("listVenues", ["405", "414", "422", "431", "500", "503"])},
    "/venues/{venue_id}": {"get": ("getVenue", ["404", "405", "414", "422", "431", "500", "503"])},
    "/venues/{venue_id}/publications": {
        "get": ("listVenuePublications", ["404", "405", "406", "414", "422", "431", "500", "503"])
    },
    "/consent/policy": {"get": ("getConsentPolicy", ["405", "414", "422", "431", "500"])},
    "/consent": {"post": ("createConsent", ["405", *WRITE_ERRORS, "414", "431", "500", "503"])},
    "/consent/{consent_id}": {
        "get": ("getConsent", ["404", "405", "414", "422", "431", "500", "503"]),
        "put": ("updateConsent", ["404", "405", *WRITE_ERRORS, "414", "431", "500", "503"]),
    },
    "/consent/{consent_id}/history": {
        "get": ("getConsentHistory", ["404", "405", "414", "422", "431", "500", "503"])
    },
    "/health": {"get": ("getHealth", ["405", "414", "422", "431", "500"])},
    "/ready": {"get": ("getReadiness", ["405", "414", "422", "431", "500", "503"])},
}
# Data answers carry ETags; these operations document the 304 of a conditional GET.
NOT_MODIFIED_OPERATIONS = [
    path
    for path in EXPECTED_OPERATIONS
    if path.startswith(("/publications", "/authors", "/venues"))
]
# The media types of the 200 of the operations that answer in other formats than JSON.
FORMAT_TYPES = [
    JSON,
    "application/jsonl",
    "text/csv",
    "application/x-bibtex",
    "application/x-research-info-systems",
    "application/vnd.citationstyles.csl+json",
]
FORMAT_OPERATIONS = [
    "/publications/export",
    "/publications/export.{extension}",
    "/publications",
    "/publications/{publication_id}",
    "/authors/{author_id}/publications",
    "/venues/{venue_id}/publications",
]
# The status of each operation's success.
SUCCESS = {"get": "200", "post": "201", "put": "200"}

# The consent routes and what a 405 on each lists as allowed. HEAD is served wherever GET is
# (HeadAsGetMiddleware), so it is allowed, and listed, wherever GET is.
CONSENT_ALLOW = {
    "/consent/policy": ["GET", "HEAD"],
    "/consent": ["POST"],
    "/consent/{consent_id}": ["GET", "PUT", "HEAD"],
    "/consent/{consent_id}/history": ["GET", "HEAD"],
}
# Consent answers, errors included, are never stored by a cache.
CONSENT_HEADERS = {"cache-control": "no-store"}


def path_template(context: RouteContext) -> str:
    return context.path_format or str(context.path)


def get_routes(app: FastAPI) -> list[str]:
    """Paths of the app's APIRoutes that answer GET.

    FastAPI 0.165 keeps each included router as one nested entry of `app.routes` (an
    `_IncludedRouter`, not an APIRoute); `iter_route_contexts` flattens them to the routes
    with their effective paths, as FastAPI's own OpenAPI generator does (without path
    convertors: `{id:uuid}` is `{id}`, as in the OpenAPI document).
    """
    return [
        path_template(context)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and "GET" in (context.methods or ())
    ]


def route_methods(app: FastAPI) -> dict[str, list[str]]:
    """The methods of every APIRoute, by path, in registration order."""
    found: dict[str, list[str]] = {}
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            found.setdefault(path_template(context), []).extend(sorted(context.methods or ()))
    return found


def is_consent(template: str) -> bool:
    return template == "/consent" or template.startswith("/consent/")


def _app_for_listing() -> FastAPI:
    # Listing routes opens no connection: the engine is created lazily and never used.
    app = create_app(Settings(_env_file=None, database_url="sqlite:///never-opened.db"))
    app.state.engine.dispose()
    return app


LISTING_APP = _app_for_listing()
GET_ROUTES = get_routes(LISTING_APP)
DATA_GET_ROUTES = [template for template in GET_ROUTES if not is_consent(template)]
CONSENT_OPERATIONS = [
    (template, method)
    for template, methods in route_methods(LISTING_APP).items()
    if is_consent(template)
    for method in methods
]
CONSENT_GET_ROUTES = [template for template, method in CONSENT_OPERATIONS if method == "GET"]


def sent_by_app(app: Any, method: str, path: str) -> tuple[int, bytes]:
    """Status and body exactly as the ASGI app sends them.

    TestClient throws away the body of every HEAD response, so `client.head(...).content` is
    empty whatever the app sends; this calls the app itself.
    """
    messages: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        # The request, then nothing until the app is done, as a server's receive behaves
        # (a streamed answer listens for the client's disconnect meanwhile).
        nonlocal requested
        if requested:
            await asyncio.Event().wait()
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    assert messages[0]["type"] == "http.response.start"
    return messages[0]["status"], b"".join(m.get("body", b"") for m in messages[1:])


def assert_problem(
    response: httpx.Response,
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    assert response.status_code == status
    assert answer_headers(response) == {
        "content-type": PROBLEM,
        **body_headers(response),
        **policy_headers(response.request.url.path, status),
        **(headers or {}),
    }
    assert response.json() == body


def assert_invalid(response: httpx.Response, loc: list[str], msg: str) -> None:
    name = ".".join(loc[1:])
    assert_problem(
        response,
        422,
        "Unprocessable Content",
        f"{name}: {msg}",
        errors=[{"loc": loc, "msg": msg}],
    )


def test_the_contract_covers_every_get_route(client: TestClient) -> None:
    assert list(EXPECTED_ROUTES) == GET_ROUTES
    assert get_routes(client.app) == GET_ROUTES  # type: ignore[arg-type]


def test_the_contract_covers_every_route(client: TestClient) -> None:
    """Every operation of the app is in the tables above: none escapes the contract."""
    expected = {
        path: [method.upper() for method in methods]
        for path, methods in EXPECTED_OPERATIONS.items()
    }
    assert route_methods(client.app) == route_methods(LISTING_APP) == expected  # type: ignore[arg-type]
    assert [t for t in expected if is_consent(t)] == list(CONSENT_ALLOW)


def assert_success_headers(template: str, got: httpx.Response) -> None:
    """Every header of a GET's 200 on `template`."""
    headers = answer_headers(got)
    if template in ("/health", "/ready"):
        expected = {"content-type": JSON, **body_headers(got), **VARY, "cache-control": "no-store"}
        assert headers == expected
        return
    assert ETAG.fullmatch(headers.pop("etag"))
    cached = {**DATA_VARY, "cache-control": "public, max-age=60"}
    if template.startswith("/publications/export"):
        # A stream: no Content-Length, and the seed's export is over 1 KiB, so compressed.
        assert headers == {
            "content-type": "application/jsonl",
            "content-disposition": 'attachment; filename="publications.jsonl"',
            "content-encoding": "br",
            **cached,
        }
    else:
        assert headers == {"content-type": JSON, **body_headers(got), **cached}


@pytest.mark.parametrize("template", DATA_GET_ROUTES)
def test_route_contract(client: TestClient, template: str) -> None:
    path = PATH_PARAM.sub("1", template.replace("{extension}", "jsonl"))

    got = client.get(path)
    assert got.status_code == 200
    assert_success_headers(template, got)
    assert got.content.startswith(b"{")

    head = client.head(path)
    assert head.status_code == got.status_code
    assert answer_headers(head) == answer_headers(got)
    assert sent_by_app(client.app, "GET", path) == (200, got.content)
    assert sent_by_app(client.app, "HEAD", path) == (200, b"")

    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert_problem(
            client.request(method, path),
            405,
            "Method Not Allowed",
            f"{method} is not allowed on {path}; allowed: GET, HEAD.",
            headers={"allow": "GET, HEAD"},
        )

    allowed = EXPECTED_ROUTES[template]
    assert_invalid(
        client.get(path, params={"nope": "1"}),
        ["query", "nope"],
        f"unknown query parameter; allowed: {allowed}",
    )

    match = ID_PARAM.search(template)
    if match is None:
        assert "_id}" not in template
        return
    name = match.group(1)
    noun = name.removesuffix("_id")
    assert_problem(
        client.get(PATH_PARAM.sub(str(MISSING_ID), template)),
        404,
        "Not Found",
        f"No {noun} with id {MISSING_ID}.",
    )
    assert_invalid(client.get(PATH_PARAM.sub("abc", template)), ["path", name], NOT_AN_INTEGER)
    assert_invalid(
        client.get(PATH_PARAM.sub("0", template)),
        ["path", name],
        "Input should be greater than or equal to 1",
    )


# --- the consent routes ---------------------------------------------------------------------

UUID_TOO_SHORT = "Input should be a valid UUID, invalid length: found 3"


@dataclass
class ConsentCase:
    """An app on a fresh database holding one consent record, and a valid write body."""

    client: TestClient
    consent_id: str
    body: dict[str, Any]

    def path(self, template: str, consent_id: str | None = None) -> str:
        return PATH_PARAM.sub(consent_id or self.consent_id, template)

    def send(self, method: str, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        """`method` on `path`, with a valid JSON body when it is a write."""
        body = self.body if method in ("POST", "PUT") else None
        return self.client.request(method, path, params=params, json=body)


def consent_app(database: Database, **settings: Any) -> FastAPI:
    return create_app(Settings(_env_file=None, database_url=database.url, **settings))


@pytest.fixture
def consent(empty_db: Database) -> Iterator[ConsentCase]:
    """Consent writes need a database of their own: the seeded one is shared and read-only."""
    with TestClient(consent_app(empty_db)) as client:
        version = client.get("/consent/policy").json()["version"]
        body = {"policy_version": version, "choices": {"analytics": True}}
        created = client.post("/consent", json=body)
        assert created.status_code == 201, created.text
        yield ConsentCase(client, created.json()["id"], body)


def assert_consent_problem(
    response: httpx.Response,
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """`assert_problem`, for a consent route: never cached, and varying by Origin."""
    assert_problem(
        response,
        status,
        title,
        detail,
        errors=errors,
        headers={**CONSENT_HEADERS, **(headers or {})},
    )


def assert_consent_invalid(response: httpx.Response, loc: list[str], msg: str) -> None:
    name = ".".join(loc[1:])
    assert_consent_problem(
        response,
        422,
        "Unprocessable Content",
        f"{name}: {msg}",
        errors=[{"loc": loc, "msg": msg}],
    )


def assert_head_as_get(case: ConsentCase, path: str, got: httpx.Response) -> None:
    """HEAD on `path` answers what GET answered (`got`), headers and all, without the body."""
    head = case.client.head(path)
    assert head.status_code == got.status_code
    assert answer_headers(head) == answer_headers(got)
    assert sent_by_app(case.client.app, "GET", path) == (got.status_code, got.content)
    assert sent_by_app(case.client.app, "HEAD", path) == (got.status_code, b"")


@pytest.mark.parametrize("template", CONSENT_GET_ROUTES)
def test_consent_read_contract(consent: ConsentCase, template: str) -> None:
    path = consent.path(template)
    got = consent.client.get(path)
    assert got.status_code == 200
    assert answer_headers(got) == {
        "content-type": JSON,
        **body_headers(got),
        **VARY,
        **CONSENT_HEADERS,
    }
    assert got.content.startswith(b"{")
    assert_head_as_get(consent, path, got)


@pytest.mark.parametrize("template", list(CONSENT_ALLOW))
def test_consent_other_methods_are_405(consent: ConsentCase, template: str) -> None:
    """Every method a consent path does not serve is a 405 listing those it does serve.

    The order of the methods in `Allow` is not significant (RFC 9110 §10.2.1); that they are
    exactly the served ones is.
    """
    path = consent.path(template)
    allowed = CONSENT_ALLOW[template]
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        if method in allowed or (template, method) == ("/consent/policy", "PUT"):
            continue  # (PUT on the policy has a test of its own, below.)
        response = consent.client.request(method, path)
        assert response.status_code == 405, f"{method} {path}: {response.text[:300]}"
        allow = response.headers.get("allow", "")
        listed = allow.split(", ")
        assert sorted(listed) == sorted(allowed), f"{method} {path}: Allow: {allow}"
        if method == "HEAD":
            assert_head_as_get(consent, path, consent.client.get(path))
            continue
        assert_consent_problem(
            response,
            405,
            "Method Not Allowed",
            f"{method} is not allowed on {path}; allowed: {allow}.",
            headers={"allow": allow},
        )


def test_put_on_the_policy_is_405_not_a_write_to_a_record_named_policy(
    consent: ConsentCase,
) -> None:
    """`/consent/policy` is the policy, whatever the method: a PUT on it is a 405 (RFC 9110
    §15.5.6), as the `Allow` of its other 405s says, not a PUT on a record whose id would be
    "policy" (a 415 or a 422 about `consent_id`)."""
    for response in (consent.client.put("/consent/policy"), consent.send("PUT", "/consent/policy")):
        assert_consent_problem(
            response,
            405,
            "Method Not Allowed",
            "PUT is not allowed on /consent/policy; allowed: GET, HEAD.",
            headers={"allow": "GET, HEAD"},
        )


@pytest.mark.parametrize(("template", "method"), CONSENT_OPERATIONS)
def test_consent_unknown_query_parameter_is_422(
    consent: ConsentCase, template: str, method: str
) -> None:
    path = consent.path(template)
    allowed = EXPECTED_ROUTES.get(template, "none") if method == "GET" else "none"
    got = consent.send(method, path, params={"nope": "1"})
    assert_consent_invalid(got, ["query", "nope"], f"unknown query parameter; allowed: {allowed}")
    if method == "GET":
        head = consent.client.head(path, params={"nope": "1"})
        assert (head.status_code, answer_headers(head)) == (422, answer_headers(got))


CONSENT_ID_OPERATIONS = [(t, m) for t, m in CONSENT_OPERATIONS if PATH_PARAM.search(t)]


@pytest.mark.parametrize(("template", "method"), CONSENT_ID_OPERATIONS)
def test_consent_ids_malformed_are_422_and_unknown_are_404(
    consent: ConsentCase, template: str, method: str
) -> None:
    unknown = str(uuid.uuid4())
    missing = consent.send(method, consent.path(template, unknown))
    assert_consent_problem(missing, 404, "Not Found", f"No consent record with id {unknown}.")
    malformed = consent.send(method, consent.path(template, "abc"))
    assert_consent_invalid(malformed, ["path", "consent_id"], UUID_TOO_SHORT)
    if method == "GET":
        assert_head_as_get(consent, consent.path(template, unknown), missing)
        assert_head_as_get(consent, consent.path(template, "abc"), malformed)


CONSENT_WRITES = [(t, m) for t, m in CONSENT_OPERATIONS if m in ("POST", "PUT")]
TITLES = {
    "404": "Not Found",
    "413": "Content Too Large",
    "415": "Unsupported Media Type",
    "422": "Unprocessable Content",
    "429": "Too Many Requests",
}


@pytest.mark.parametrize(("template", "method"), CONSENT_WRITES)
def test_consent_writes_send_their_documented_errors_as_problems(
    empty_db: Database, template: str, method: str
) -> None:
    """Each error status a write documents is one it sends, as a problem that is not cached."""
    with TestClient(consent_app(empty_db, consent_rate_limit="5/minute")) as client:
        version = client.get("/consent/policy").json()["version"]
        body = {"policy_version": version, "choices": {"multimedia": True}}
        created = client.post("/consent", json=body)
        assert created.status_code == 201, created.text
        path = PATH_PARAM.sub(created.json()["id"], template)
        sent: dict[str, httpx.Response] = {
            "413": client.request(method, path, json={**body, "padding": "x" * 16 * 1024}),
            "415": client.request(
                method, path, content=b"analytics=1", headers={"content-type": "text/plain"}
            ),
            "422": client.request(method, path, json={**body, "choices": {"analytics": "yes"}}),
        }
        if method == "PUT":
            sent["404"] = client.put(PATH_PARAM.sub(str(uuid.uuid4()), template), json=body)
        # Valid writes until the limit answers (five a minute: a few are left).
        for _ in range(6):
            response = client.request(method, path, json=body)
            if response.status_code != (201 if method == "POST" else 200):
                break
        sent["429"] = response
    documented = EXPECTED_OPERATIONS[template][method.lower()][1]
    # 405 and 500 are every operation's (test_route_contract and test_hardening send them),
    # and so are 414 and 431 (test_hostile_input); 503 every one's that uses the database
    # (test_faults sends it).
    assert sorted(sent) == sorted(set(documented) - {"405", "414", "431", "500", "503"})
    for status, response in sent.items():
        assert response.status_code == int(status), f"{status}: {response.text[:300]}"
        headers = answer_headers(response)
        if status == "429":
            assert headers.pop("retry-after").isdigit()
        assert headers == {
            "content-type": PROBLEM,
            **body_headers(response),
            **VARY,
            **CONSENT_HEADERS,
        }
        problem = response.json()
        assert (problem["type"], problem["title"], problem["status"]) == (
            "about:blank",
            TITLES[status],
            int(status),
        )


def test_unknown_path_is_a_404_problem(client: TestClient) -> None:
    got = client.get("/nope")
    assert_problem(got, 404, "Not Found", "No resource at /nope.")
    head = client.head("/nope")
    assert head.status_code == 404
    assert answer_headers(head) == answer_headers(got)
    assert sent_by_app(client.app, "HEAD", "/nope") == (404, b"")


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert answer_headers(response) == {
        "content-type": JSON,
        "content-length": "15",
        **VARY,
        "cache-control": "no-store",
    }
    assert response.json() == {"status": "ok"}


def test_ready_names_the_schema_revision(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json() == {"status": "ok", "schema_revision": head_revision()}


def test_ready_is_503_when_the_database_is_not_migrated(tmp_path) -> None:
    path = tmp_path / "never-migrated.db"
    sqlite3.connect(path).close()  # an empty database (the server makes none of its own)
    url = f"sqlite:///{path}"
    with TestClient(create_app(Settings(_env_file=None, database_url=url))) as client:
        got = client.get("/ready")
        head = client.head("/ready")
        head_sent = sent_by_app(client.app, "HEAD", "/ready")
        health = client.get("/health")
    assert_problem(
        got,
        503,
        "Service Unavailable",
        f"Database is not migrated; expected revision {head_revision()}: run `pubapi migrate`.",
        headers={"retry-after": "5"},
    )
    assert head.status_code == 503
    assert answer_headers(head) == answer_headers(got)
    assert head_sent == (503, b"")
    # Liveness does not depend on the database.
    assert (health.status_code, health.json()) == (200, {"status": "ok"})


def test_ready_is_503_when_the_database_is_unreachable(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-directory' / 'pubapi.db'}"
    with TestClient(create_app(Settings(_env_file=None, database_url=url))) as client:
        got = client.get("/ready")
    assert_problem(
        got,
        503,
        "Service Unavailable",
        "Database unreachable: OperationalError.",
        headers={"retry-after": "5"},
    )


def test_openapi_lists_every_route_with_a_unique_operation_id(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    operations = {
        path: {method: operation["operationId"] for method, operation in methods.items()}
        for path, methods in document["paths"].items()
    }
    assert operations == {
        path: {method: operation_id for method, (operation_id, _) in methods.items()}
        for path, methods in EXPECTED_OPERATIONS.items()
    }
    assert list(operations) == list(route_methods(client.app))  # type: ignore[arg-type]
    get_paths = [path for path, methods in operations.items() if "get" in methods]
    assert get_paths == get_routes(client.app)  # type: ignore[arg-type]
    operation_ids = [ident for methods in operations.values() for ident in methods.values()]
    assert len(set(operation_ids)) == len(operation_ids) == 17


def test_openapi_documents_errors_as_problems_only(client: TestClient) -> None:
    """Each error response is a Problem under application/problem+json, and nothing else.

    FastAPI on its own also lists a response `model` under application/json, which the app
    never sends for an error; app/core/openapi.py strips it.
    """
    document = client.get("/openapi.json").json()
    documented = {
        (path, method): {
            status: response.get("content") for status, response in operation["responses"].items()
        }
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    assert documented == {
        (path, method): {
            SUCCESS[method]: documented[path, method][SUCCESS[method]],
            **({"304": None} if path in NOT_MODIFIED_OPERATIONS else {}),
            **dict.fromkeys(statuses, PROBLEM_CONTENT),
        }
        for path, methods in EXPECTED_OPERATIONS.items()
        for method, (_, statuses) in methods.items()
    }
    for (path, method), content in documented.items():
        success = list(content[SUCCESS[method]])
        assert success == (FORMAT_TYPES if path in FORMAT_OPERATIONS else [JSON]), path
    schemas = document["components"]["schemas"]
    problem = schemas["Problem"]
    assert list(problem["properties"]) == [
        "type",
        "title",
        "status",
        "detail",
        "errors",
        "request_id",
    ]
    assert problem["required"] == ["title", "status", "detail"]
    assert problem["properties"]["errors"]["anyOf"][0] == {
        "items": {"$ref": "#/components/schemas/ValidationIssue"},
        "type": "array",
    }
    assert schemas["ValidationIssue"]["required"] == ["loc", "msg"]
    # FastAPI's own 422 shape is not documented anywhere: it is never sent.
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
