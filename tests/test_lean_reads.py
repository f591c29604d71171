"""The lean path of `GET /publications/{id}` (app/core/lean.py) answers exactly what the route
answers: the same status, headers and bytes, for every publication (nulls, accents and quotes
included), revalidated, as HEAD, compressed or not; everything else goes on to the route.

Two apps serve one SQLite database, one with the lean path (the default) and one without
(`lean_reads=false`); their answers are compared whole. Traced statements show which path
answered.
"""

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db import make_engine
from app.core.lean import LeanReads
from app.core.migrations import upgrade
from app.main import create_app
from app.seed import loader
from tests.conftest import SEED_DIR
from tests.support import answer_headers, recorded_statements

EXTRA: list[dict[str, Any]] = [
    # What the seed data lacks: every nullable field null, no authors, quotes and controls.
    {"key": "bare", "title": None, "abstract": None},
    {
        "key": "odd",
        "title": 'Über "quoted" \\ back\tslash \u2028 ☃',
        "abstract": "Line one\nline two </script>",
        "published_on": "1999-12-31",
        "venue": "Çédille Workshop",
        "status": "Accept (Oral)",
        "authors": ["Zoë O'Brien", "李 雷"],
    },
]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = tmp_path_factory.mktemp("lean")
    url = f"sqlite:///{directory / 'pubapi.db'}"
    upgrade(url)
    extra = directory / "extra.jsonl"
    extra.write_text("".join(json.dumps(r) + "\n" for r in EXTRA), encoding="utf-8")
    engine = make_engine(url)
    loader.load(engine, [SEED_DIR, extra])
    engine.dispose()
    return url


def client_for(url: str, lean: bool) -> TestClient:
    settings = Settings(_env_file=None, database_url=url, data_version_ttl=0, lean_reads=lean)
    return TestClient(create_app(settings))


@pytest.fixture(scope="module")
def clients(database: str) -> Iterator[tuple[TestClient, TestClient]]:
    with client_for(database, True) as lean, client_for(database, False) as routed:
        assert lean.app.state.lean_reads is not None  # type: ignore[attr-defined]
        assert routed.app.state.lean_reads is None  # type: ignore[attr-defined]
        yield lean, routed


def publication_ids(url: str) -> list[int]:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return [row[0] for row in conn.execute("SELECT id FROM publication ORDER BY id")]
    finally:
        conn.close()


def answer(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    """(status, headers, body) of one request, and whether the lean path answered it: it read
    on its own connection, and the route read nothing."""
    app: Any = client.app
    lean_statements: list[str] = []
    if app.state.lean_reads is not None:
        app.state.lean_reads.connection().set_trace_callback(lean_statements.append)
    try:
        with recorded_statements(app.state.engine) as routed_statements:
            fresh = {"Cache-Control": "no-cache", **headers}
            response = client.request(method, path, headers=fresh)
    finally:
        if app.state.lean_reads is not None:
            app.state.lean_reads.connection().set_trace_callback(None)
    leaned = bool(lean_statements) and not routed_statements
    return (response.status_code, answer_headers(response), response.content), leaned


IDENTITY = {"Accept-Encoding": "identity"}
JSON_ACCEPTS = [{}, {"Accept": "*/*"}, {"Accept": "application/json"}]


def test_every_publication_is_the_same_answer_on_both_paths(
    clients: tuple[TestClient, TestClient], database: str
) -> None:
    lean, routed = clients
    ids = publication_ids(database)
    assert len(ids) == 12
    for ident in ids:
        for headers in [{**IDENTITY, **accept} for accept in JSON_ACCEPTS] + [{}]:
            mine, leaned = answer(lean, "GET", f"/publications/{ident}", headers)
            theirs, routed_leaned = answer(routed, "GET", f"/publications/{ident}", headers)
            assert (leaned, routed_leaned) == (True, False)
            assert mine == theirs
            assert mine[0] == 200
            assert json.loads(mine[2])["id"] == ident


def test_the_null_and_the_odd_publication_read_back_whole(
    clients: tuple[TestClient, TestClient], database: str
) -> None:
    lean, _ = clients
    bare, odd = publication_ids(database)[-2:]
    (status, _, body), leaned = answer(lean, "GET", f"/publications/{bare}", IDENTITY)
    assert (status, leaned) == (200, True)
    assert json.loads(body) == {
        "id": bare,
        "title": None,
        "abstract": None,
        "published_on": None,
        "year": None,
        "venue": None,
        "status": None,
        "authors": [],
    }
    (status, _, body), leaned = answer(lean, "GET", f"/publications/{odd}", IDENTITY)
    assert (status, leaned) == (200, True)
    found = json.loads(body)
    assert found["title"] == EXTRA[1]["title"]
    assert found["abstract"] == EXTRA[1]["abstract"]
    assert found["venue"]["name"] == "Çédille Workshop"
    assert [a["name"] for a in found["authors"]] == ["Zoë O'Brien", "李 雷"]
    assert [a["position"] for a in found["authors"]] == [1, 2]


def test_revalidation_and_head_are_the_same_on_both_paths(
    clients: tuple[TestClient, TestClient],
) -> None:
    lean, routed = clients
    (_, headers, _), _ = answer(lean, "GET", "/publications/4", IDENTITY)
    tag = headers["etag"]
    for method, extra in [
        ("GET", {"If-None-Match": tag}),
        ("GET", {"If-None-Match": f'W/{tag}, "other"'}),
        ("GET", {"If-None-Match": '"stale"'}),
        ("HEAD", {}),
        ("HEAD", {"If-None-Match": tag}),
    ]:
        mine, leaned = answer(lean, method, "/publications/4", {**IDENTITY, **extra})
        theirs, _ = answer(routed, method, "/publications/4", {**IDENTITY, **extra})
        assert leaned is True
        assert mine == theirs, (method, extra)
    assert answer(lean, "GET", "/publications/4", {**IDENTITY, "If-None-Match": tag})[0][0] == 304


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/publications/999999", IDENTITY, 404),  # no such publication
        ("/publications/0", IDENTITY, 422),  # not an id
        ("/publications/2147483648", IDENTITY, 422),  # past the largest id
        ("/publications/04", IDENTITY, 200),  # an id, but not written as the lean path reads
        ("/publications/4?fields=id", IDENTITY, 200),  # a query string
        ("/publications/4?format=json", IDENTITY, 200),
        ("/publications/4", {**IDENTITY, "Accept": "text/csv"}, 200),  # another format
        ("/publications/4", {**IDENTITY, "Accept": "application/json;q=0"}, 406),
        ("/publications/4", {**IDENTITY, "Accept": "image/png"}, 406),
    ],
)
def test_other_requests_go_to_the_route(
    clients: tuple[TestClient, TestClient], path: str, headers: dict[str, str], status: int
) -> None:
    lean, routed = clients
    mine, leaned = answer(lean, "GET", path, headers)
    theirs, _ = answer(routed, "GET", path, headers)
    assert leaned is False
    assert mine[0] == status
    assert mine == theirs


def test_a_database_that_does_not_answer_at_once_sends_the_request_to_the_route(
    clients: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    lean, routed = clients

    def busy(_self: LeanReads) -> sqlite3.Connection:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(LeanReads, "connection", busy)
    fresh = {**IDENTITY, "Cache-Control": "no-cache"}
    with recorded_statements(lean.app.state.engine) as statements:  # type: ignore[attr-defined]
        response = lean.get("/publications/4", headers=fresh)
    expected = routed.get("/publications/4", headers=fresh)
    assert statements[0] == "BEGIN"  # the route's, on the app's engine
    assert response.status_code == 200
    assert response.content == expected.content
    assert answer_headers(response) == answer_headers(expected)


def test_the_lean_connection_cannot_write(clients: tuple[TestClient, TestClient]) -> None:
    lean, _ = clients
    conn = lean.app.state.lean_reads.connection()  # type: ignore[attr-defined]
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM publication")


def test_postgresql_has_no_lean_path() -> None:
    """The lean path reads in the event loop, which only an embedded database allows."""
    settings = Settings(
        _env_file=None, database_url="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    app = create_app(settings)
    assert app.state.lean_reads is None
