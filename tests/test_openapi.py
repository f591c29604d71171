"""The OpenAPI document is valid, complete enough to generate a client from, and honest.

Honest: every status the test suite saw the API send is one the document lists (the suite's
responses are recorded by tests/openapi_coverage.py). Complete: each operation says what it
does, has a stable name, and shows an example of every parameter; every error is a problem.
"""

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from app.core.config import Settings
from app.main import create_app
from tests.openapi_coverage import HTTP_METHODS, SEEN, Seen, describe, undocumented

PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
OPERATION_ID = re.compile(r"[a-z][A-Za-z]+")
# Generated clients name their functions after these: renaming one breaks every client.
OPERATION_IDS = {
    ("GET", "/publications/export"): "exportPublications",
    ("GET", "/publications/export.{extension}"): "exportPublicationsAs",
    ("GET", "/publications"): "listPublications",
    ("GET", "/publications/{publication_id}"): "getPublication",
    ("GET", "/authors"): "listAuthors",
    ("GET", "/authors/{author_id}"): "getAuthor",
    ("GET", "/authors/{author_id}/publications"): "listAuthorPublications",
    ("GET", "/venues"): "listVenues",
    ("GET", "/venues/{venue_id}"): "getVenue",
    ("GET", "/venues/{venue_id}/publications"): "listVenuePublications",
    ("GET", "/consent/policy"): "getConsentPolicy",
    ("POST", "/consent"): "createConsent",
    ("GET", "/consent/{consent_id}"): "getConsent",
    ("PUT", "/consent/{consent_id}"): "updateConsent",
    ("GET", "/consent/{consent_id}/history"): "getConsentHistory",
    ("GET", "/health"): "getHealth",
    ("GET", "/ready"): "getReadiness",
}
# What a consent write can be refused for: too large, not JSON, invalid, too many.
CONSENT_WRITE_REFUSALS = ["413", "415", "422", "429"]
CONSENT_WRITES = [("POST", "/consent"), ("PUT", "/consent/{consent_id}")]
# A path parameter naming a record (`{author_id}`), which may not exist; `{extension}` is not.
PATH_ID = re.compile(r"\{\w+_id\}")


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """/openapi.json as served; building it needs no data, so one SQLite file will do."""
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'pubapi.db'}"
    with TestClient(create_app(Settings(_env_file=None, database_url=url))) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every operation, by (METHOD, path template), in document order."""
    return {
        (method.upper(), path): operation
        for path, path_item in document["paths"].items()
        for method, operation in path_item.items()
        if method in HTTP_METHODS
    }


def assert_none(problems: list[str], what: str) -> None:
    """Fail listing every problem, not the first few that an assertion diff would show."""
    if problems:
        pytest.fail(f"{len(problems)} {what}:\n" + "\n".join(problems), pytrace=False)


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_operation_has_a_summary_a_description_and_a_tag(document: dict[str, Any]) -> None:
    problems = [
        f"{method} {path}: no {field}"
        for (method, path), operation in operations(document).items()
        for field in ("summary", "description")
        if not str(operation.get(field) or "").strip()
    ] + [
        f"{method} {path}: no tag"
        for (method, path), operation in operations(document).items()
        if not [tag for tag in operation.get("tags", []) if tag.strip()]
    ]
    assert_none(problems, "operations lack a summary, description or tag")


def test_operation_ids_are_camel_case_unique_and_pinned(document: dict[str, Any]) -> None:
    found = {key: operation.get("operationId") for key, operation in operations(document).items()}
    malformed = [
        f"{method} {path}: {ident!r}"
        for (method, path), ident in found.items()
        if not (isinstance(ident, str) and OPERATION_ID.fullmatch(ident))
    ]
    assert_none(malformed, "operationIds are not camelCase")
    assert len(set(found.values())) == len(found)
    assert found == OPERATION_IDS


def test_every_parameter_has_an_example(document: dict[str, Any]) -> None:
    """Try-it-out forms and generated docs show the example; without one they show `string`."""
    problems = [
        f"{method} {path}: {parameter['in']} parameter {parameter['name']!r}"
        for (method, path), operation in operations(document).items()
        for parameter in operation.get("parameters", [])
        if not any(
            key in holder
            for holder in (parameter, parameter.get("schema", {}))
            for key in ("example", "examples")
        )
    ]
    assert_none(problems, "parameters have no example")


def test_every_error_response_is_a_problem(document: dict[str, Any]) -> None:
    problems = [
        f"{method} {path} {status}: {response.get('content')}"
        for (method, path), operation in operations(document).items()
        for status, response in operation["responses"].items()
        if status[0] in "45" and response.get("content") != PROBLEM_CONTENT
    ]
    assert_none(problems, "error responses are not application/problem+json Problems")


def test_consent_writes_document_their_refusals(document: dict[str, Any]) -> None:
    found = operations(document)
    missing = [
        f"{method} {path}: {status}"
        for method, path in CONSENT_WRITES
        for status in CONSENT_WRITE_REFUSALS
        if status not in found[method, path]["responses"]
    ]
    assert_none(missing, "refusals of consent writes are undocumented")


def test_operations_with_a_path_id_document_404(document: dict[str, Any]) -> None:
    with_id = {key: op for key, op in operations(document).items() if PATH_ID.search(key[1])}
    assert len(with_id) == 8
    missing = [
        f"{method} {path}"
        for (method, path), operation in with_id.items()
        if "404" not in operation["responses"]
    ]
    assert_none(missing, "operations on an id do not document 404")


def test_every_response_seen_is_documented(client: TestClient, document: dict[str, Any]) -> None:
    """Every (method, path, status) the suite saw is in the document (see the plugin).

    It runs last (tests/openapi_coverage.py moves it there). Its own requests, one of each
    kind of answer, keep it from passing vacuously when run alone.
    """
    sweep = [
        client.get("/publications", params={"limit": 2}),
        client.get("/publications/999999"),
        client.get("/publications", params={"limit": 0}),
        client.post("/publications", json={}),
        client.head("/publications/4"),
    ]
    assert [response.status_code for response in sweep] == [200, 404, 422, 405, 200]
    seen = {(item.method, item.path, item.status) for item in SEEN}
    assert {
        (response.request.method, response.request.url.path, response.status_code)
        for response in sweep
    } <= seen
    assert_none(describe(undocumented(SEEN, document)), "responses seen are undocumented")


def test_resolving_paths_prefers_literal_segments_and_maps_head_to_get() -> None:
    """The checker itself, on a document small enough to read."""
    document: dict[str, Any] = {
        "paths": {
            "/consent/{consent_id}": {
                "get": {"responses": {"200": {}, "404": {}}},
                "put": {"responses": {"200": {}, "404": {}, "422": {}}},
            },
            "/consent/policy": {"get": {"responses": {"200": {}}}},
            "/things": {"get": {"responses": {"200": {}, "4XX": {}}}},
            "/any": {"get": {"responses": {"default": {}}}},
        }
    }
    seen = [
        Seen("GET", "/consent/policy", 200, "t"),
        Seen("GET", "/consent/policy", 404, "t1"),
        Seen("GET", "/consent/abc", 404, "t"),
        Seen("HEAD", "/consent/abc", 422, "t2"),
        Seen("DELETE", "/consent/abc", 404, "t"),
        Seen("DELETE", "/consent/abc", 405, "t3"),
        Seen("GET", "/consent/abc/extra", 404, "t"),
        Seen("POST", "/things", 405, "t"),
        Seen("GET", "/things", 500, "t4"),
        Seen("GET", "/any", 503, "t"),
        Seen("GET", "/nope", 404, "t"),
    ]
    assert describe(undocumented(seen, document)) == [
        "DELETE /consent/{consent_id} -> 405 (e.g. DELETE /consent/abc in t3)",
        "GET /consent/policy -> 404 (e.g. GET /consent/policy in t1)",
        "GET /things -> 500 (e.g. GET /things in t4)",
        "HEAD /consent/{consent_id} -> 422 (e.g. HEAD /consent/abc in t2)",
    ]
