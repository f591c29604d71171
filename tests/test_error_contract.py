"""The HTTP contract every route keeps, on SQLite and PostgreSQL.

One parametrized test walks every GET route of the app: 200 as JSON, HEAD as GET without
the body, 405 for the other methods, 422 for an unknown query parameter, 404 and 422 for a
missing or malformed id. Every error is an RFC 9457 problem served as
`application/problem+json`, and the OpenAPI document says so.
"""

import asyncio
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.migrations import head_revision
from app.main import create_app

JSON = "application/json"
PROBLEM = "application/problem+json"
PROBLEM_CONTENT = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
PATH_PARAM = re.compile(r"\{(\w+)\}")
MISSING_ID = 999999
NOT_AN_INTEGER = "Input should be a valid integer, unable to parse string as an integer"

PUBLICATION_PARAMS = "author, cursor, from_date, limit, offset, sort, status, to_date, venue, year"
ENTITY_PARAMS = "cursor, limit, offset, sort"

# Every GET route, in registration order, with the query parameters a 422 lists as allowed.
EXPECTED_ROUTES = {
    "/publications": PUBLICATION_PARAMS,
    "/publications/{publication_id}": "none",
    "/authors": ENTITY_PARAMS,
    "/authors/{author_id}": "none",
    "/authors/{author_id}/publications": PUBLICATION_PARAMS,
    "/venues": ENTITY_PARAMS,
    "/venues/{venue_id}": "none",
    "/venues/{venue_id}/publications": PUBLICATION_PARAMS,
    "/health": "none",
    "/ready": "none",
}

# operationId and documented error statuses of each operation.
EXPECTED_OPERATIONS = {
    "/publications": ("listPublications", ["422"]),
    "/publications/{publication_id}": ("getPublication", ["404", "422"]),
    "/authors": ("listAuthors", ["422"]),
    "/authors/{author_id}": ("getAuthor", ["404", "422"]),
    "/authors/{author_id}/publications": ("listAuthorPublications", ["404", "422"]),
    "/venues": ("listVenues", ["422"]),
    "/venues/{venue_id}": ("getVenue", ["404", "422"]),
    "/venues/{venue_id}/publications": ("listVenuePublications", ["404", "422"]),
    "/health": ("getHealth", ["422"]),
    "/ready": ("getReadiness", ["422", "503"]),
}


def get_routes(app: FastAPI) -> list[str]:
    """Paths of the app's APIRoutes that answer GET.

    FastAPI 0.165 keeps each included router as one nested entry of `app.routes` (an
    `_IncludedRouter`, not an APIRoute); `iter_route_contexts` flattens them to the routes
    with their effective paths, as FastAPI's own OpenAPI generator does.
    """
    return [
        str(context.path)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and "GET" in (context.methods or ())
    ]


def _routes_for_parametrize() -> list[str]:
    # Listing routes opens no connection: the engine is created lazily and never used.
    app = create_app(Settings(_env_file=None, database_url="sqlite:///never-opened.db"))
    app.state.engine.dispose()
    return get_routes(app)


GET_ROUTES = _routes_for_parametrize()


def sent_by_app(app: Any, method: str, path: str) -> tuple[int, bytes]:
    """Status and body exactly as the ASGI app sends them.

    TestClient throws away the body of every HEAD response, so `client.head(...).content` is
    empty whatever the app sends; this calls the app itself.
    """
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
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
    assert dict(response.headers) == {
        "content-type": PROBLEM,
        "content-length": str(len(response.content)),
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


@pytest.mark.parametrize("template", GET_ROUTES)
def test_route_contract(client: TestClient, template: str) -> None:
    path = PATH_PARAM.sub("1", template)

    got = client.get(path)
    assert got.status_code == 200
    assert dict(got.headers) == {"content-type": JSON, "content-length": str(len(got.content))}
    assert got.content.startswith(b"{")

    head = client.head(path)
    assert head.status_code == got.status_code
    assert dict(head.headers) == dict(got.headers)
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

    match = PATH_PARAM.search(template)
    if match is None:
        assert "{" not in template
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


def test_unknown_path_is_a_404_problem(client: TestClient) -> None:
    got = client.get("/nope")
    assert_problem(got, 404, "Not Found", "No resource at /nope.")
    head = client.head("/nope")
    assert head.status_code == 404
    assert dict(head.headers) == dict(got.headers)
    assert sent_by_app(client.app, "HEAD", "/nope") == (404, b"")


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert dict(response.headers) == {"content-type": JSON, "content-length": "15"}
    assert response.json() == {"status": "ok"}


def test_ready_names_the_schema_revision(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json() == {"status": "ok", "schema_revision": head_revision()}


def test_ready_is_503_when_the_database_is_not_migrated(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'never-migrated.db'}"
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
    assert dict(head.headers) == dict(got.headers)
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
        path: {"get": operation_id} for path, (operation_id, _) in EXPECTED_OPERATIONS.items()
    }
    assert list(operations) == get_routes(client.app)  # type: ignore[arg-type]
    operation_ids = [ident for methods in operations.values() for ident in methods.values()]
    assert len(set(operation_ids)) == len(operation_ids) == 10


def test_openapi_documents_errors_as_problems_only(client: TestClient) -> None:
    """Each error response is a Problem under application/problem+json, and nothing else.

    FastAPI on its own also lists a response `model` under application/json, which the app
    never sends for an error; app/core/openapi.py strips it.
    """
    document = client.get("/openapi.json").json()
    documented = {
        path: {
            status: response["content"] for status, response in methods["get"]["responses"].items()
        }
        for path, methods in document["paths"].items()
    }
    assert documented == {
        path: {
            "200": {JSON: documented[path]["200"][JSON]},
            **dict.fromkeys(statuses, PROBLEM_CONTENT),
        }
        for path, (_, statuses) in EXPECTED_OPERATIONS.items()
    }
    schemas = document["components"]["schemas"]
    problem = schemas["Problem"]
    assert list(problem["properties"]) == ["type", "title", "status", "detail", "errors"]
    assert problem["required"] == ["title", "status", "detail"]
    assert problem["properties"]["errors"]["anyOf"][0] == {
        "items": {"$ref": "#/components/schemas/ValidationIssue"},
        "type": "array",
    }
    assert schemas["ValidationIssue"]["required"] == ["loc", "msg"]
    # FastAPI's own 422 shape is not documented anywhere: it is never sent.
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
