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
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app import main
from app.core.config import Settings
from app.core.db import make_engine
from app.core.migrations import upgrade
from app.main import create_app
from app.routers import lean as lean_module
from app.routers.lean import LeanPages, LeanReads
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


def loaded(directory: Path, records: list[dict[str, Any]], *before: Path) -> str:
    """The URL of a new SQLite database in `directory` holding the seed files `before`, then
    `records`."""
    url = f"sqlite:///{directory / 'pubapi.db'}"
    upgrade(url)
    source = directory / "records.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    engine = make_engine(url)
    loader.load(engine, [*before, source])
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return loaded(tmp_path_factory.mktemp("lean"), EXTRA, SEED_DIR)


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


def test_postgresql_reads_one_publication_through_the_route() -> None:
    """The lean path reads a publication, and first tries a page, in the event loop, which
    only an embedded database allows (lists take the lean path on both engines: on
    PostgreSQL their queries run in worker threads)."""
    settings = Settings(
        _env_file=None, database_url="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    app = create_app(settings)
    assert app.state.lean_reads is None
    assert app.state.loop_engine is None


# --- lists -----------------------------------------------------------------------------------


@pytest.fixture
def pages_taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether the lean path answered each list request since the test began."""
    taken: list[bool] = []
    page = LeanPages.page

    async def spying(self: LeanPages, scope: Any, receive: Any) -> Any:
        response = await page(self, scope, receive)
        taken.append(response is not None)
        return response

    monkeypatch.setattr(LeanPages, "page", spying)
    return taken


def compare(
    clients: tuple[TestClient, TestClient], path: str, headers: dict[str, str] = IDENTITY
) -> Any:
    lean, routed = clients
    mine, _ = answer(lean, "GET", path, headers)
    theirs, _ = answer(routed, "GET", path, headers)
    assert mine == theirs, path
    return mine


LEAN_LISTS = [
    "/publications",
    "/publications?limit=3",
    "/publications?limit=200&offset=0",
    "/publications?offset=2&limit=3",
    "/publications?year=2025",
    "/publications?year=2025&year=2024&year=1999",
    "/publications?venue=1",
    "/publications?venue=1&venue=2&year=2025",
    "/publications?author=1&author=3",
    "/publications?q=quantization",
    "/publications?q=tern",
    "/publications?q=%22ternary+quantization%22",
    "/publications?q=learning&sort=-published_on&limit=2",
    "/publications?sort=title",
    "/publications?sort=-title&limit=2",
    "/publications?sort=published_on",
    "/publications?facets=year,venue",
    "/publications?facets=author,status&q=learning",
    "/publications?venue=999",
    "/publications?limit=007",
    "/publications?q=",  # a search of no words: nothing matches
]


@pytest.mark.parametrize("path", LEAN_LISTS)
def test_lists_are_the_same_answer_on_both_paths(
    clients: tuple[TestClient, TestClient], pages_taken: list[bool], path: str
) -> None:
    for headers in [IDENTITY, {}, {**IDENTITY, "Accept": "application/json"}]:
        status, _, body = compare(clients, path, headers)
        assert status == 200
    assert pages_taken == [True, True, True]
    assert json.loads(body)["meta"]["limit"] in (3, 200, 2, 7, 25)


@pytest.mark.parametrize(
    "path", ["/publications?limit=2", "/publications?limit=3&sort=title&year=2025&year=1999"]
)
def test_a_cursor_walk_is_the_same_on_both_paths(
    clients: tuple[TestClient, TestClient], pages_taken: list[bool], path: str
) -> None:
    seen: list[int] = []
    while path:
        status, headers, body = compare(clients, path)
        assert status == 200
        page = json.loads(body)
        seen += [item["id"] for item in page["results"]]
        cursor = page["meta"]["next_cursor"]
        path = f"{path.split('&cursor=')[0]}&cursor={cursor}" if cursor else ""
        assert ("link" in headers) == bool(cursor)
    assert len(seen) == len(set(seen)) == json.loads(body)["meta"]["total"] > 2
    assert all(pages_taken)


def test_a_revalidated_list_is_the_same_on_both_paths(
    clients: tuple[TestClient, TestClient], pages_taken: list[bool]
) -> None:
    _, headers, _ = compare(clients, "/publications?year=2025")
    status, _, body = compare(
        clients, "/publications?year=2025", {**IDENTITY, "If-None-Match": headers["etag"]}
    )
    assert (status, body) == (304, b"")
    assert pages_taken == [True, True]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/publications?status=Accept%20(Poster)", 200),  # a parameter it does not take
        ("/publications?fields=id,title", 200),
        ("/publications?format=csv", 200),
        ("/publications?from_date=2025-01-01", 200),
        ("/publications?limit=0", 422),
        ("/publications?limit=201", 422),
        ("/publications?limit=1&limit=2", 422),
        ("/publications?offset=10001", 422),
        ("/publications?year=0", 422),
        ("/publications?year=abc", 422),
        ("/publications?venue=2147483648", 422),
        ("/publications?yaer=2025", 422),
        ("/publications?sort=relevance", 422),
        ("/publications?sort=newest", 422),
        ("/publications?q=%00", 422),
        ("/publications?facets=colour", 422),
        ("/publications?cursor=bogus", 422),
        ("/publications?cursor=", 422),
        ("/publications?offset=1&cursor=abc", 422),
    ],
)
def test_other_lists_go_to_the_route(
    clients: tuple[TestClient, TestClient], pages_taken: list[bool], path: str, status: int
) -> None:
    assert compare(clients, path)[0] == status
    assert not any(pages_taken)


def test_a_list_in_another_format_goes_to_the_route(
    clients: tuple[TestClient, TestClient], pages_taken: list[bool]
) -> None:
    status, headers, _ = compare(clients, "/publications", {**IDENTITY, "Accept": "text/csv"})
    assert (status, headers["content-type"]) == (200, "text/csv; charset=utf-8; header=present")
    assert pages_taken == []


# --- pages read in the event loop ------------------------------------------------------------


def verbs(statements: list[str]) -> list[str]:
    return [statement.split(None, 1)[0].upper() for statement in statements]


def loop_and_thread(client: TestClient, path: str) -> tuple[Any, list[str], list[str]]:
    """The answer to `path` (totals counted afresh), and the statements it ran in the event
    loop (on the lean path's own engine) and in a worker thread (on the app's)."""
    app: Any = client.app
    app.state.memo.clear()
    fresh = {**IDENTITY, "Cache-Control": "no-cache"}
    with (
        recorded_statements(app.state.loop_engine) as in_loop,
        recorded_statements(app.state.engine) as in_thread,
    ):
        response = client.get(path, headers=fresh)
    return (response.status_code, answer_headers(response), response.content), in_loop, in_thread


def test_a_page_is_read_in_the_event_loop(clients: tuple[TestClient, TestClient]) -> None:
    lean, routed = clients
    mine, in_loop, in_thread = loop_and_thread(lean, "/publications?venue=2&year=2025")
    theirs, _, _ = loop_and_thread(routed, "/publications?venue=2&year=2025")
    assert mine == theirs
    # The data version, the page (dated rows only: a year was asked), the total.
    assert verbs(in_loop) == ["BEGIN", "SELECT", "SELECT", "SELECT"]
    assert in_thread == []


def test_a_search_is_read_in_the_loop_once_counted_and_small(
    clients: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """FTS5 reads a word's matches out of the budget's reach: only a search of one word whose
    matches are known to be few is tried in the event loop."""
    lean, routed = clients
    app: Any = lean.app
    fresh = {**IDENTITY, "Cache-Control": "no-cache"}

    def paths(path: str, count_first: bool) -> tuple[bool, bool]:
        """Whether `path` read in the loop, and in a thread (its total counted before, or not)."""
        app.state.memo.clear()
        if count_first:
            assert lean.get(path, headers=fresh).status_code == 200
        with (
            recorded_statements(app.state.loop_engine) as in_loop,
            recorded_statements(app.state.engine) as in_thread,
        ):
            response = lean.get(path, headers=fresh)
        expected = routed.get(path, headers=fresh)
        assert (response.status_code, response.content) == (200, expected.content)
        return bool(in_loop), bool(in_thread)

    # Not counted yet: a thread; counted (one match): the loop, for a word as for its start.
    assert paths("/publications?q=quantization", count_first=False) == (False, True)
    assert paths("/publications?q=quantization", count_first=True) == (True, False)
    assert paths("/publications?q=quant", count_first=True) == (True, False)
    # Two words, a phrase, or a search with another filter: a thread, counted or not.
    assert paths("/publications?q=ternary+quantization", count_first=True) == (False, True)
    assert paths("/publications?q=%22ternary+quantization%22", count_first=True) == (False, True)
    assert paths("/publications?q=quantization&year=2025", count_first=True) == (False, True)
    # More matches than the loop takes: a thread.
    monkeypatch.setattr(lean_module, "LOOP_SEARCH_MATCHES", 0)
    assert paths("/publications?q=quantization", count_first=True) == (False, True)


GENERATED = 1500


@pytest.fixture(scope="module")
def larger_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    records = [
        {
            "key": f"k{i:04d}",
            "title": f"Publication {i:04d}",
            "published_on": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "venue": f"Venue {i % 7}",
            "authors": [f"Author {i % 50}", f"Author {(i + 1) % 50}"],
        }
        for i in range(GENERATED)
    ]
    return loaded(tmp_path_factory.mktemp("lean-budget"), records)


def test_a_page_past_the_loop_budget_is_read_again_in_a_worker_thread(
    larger_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The budget counts SQLite's steps, 1,000 at a time: with none to spend, a statement
    stops at its thousandth step. A page of 200 rows gets there; a page of one row, whose
    statements are each shorter, is still read in the loop, however busy the machine."""
    monkeypatch.setattr(main, "loop_engine", lambda url: lean_module.loop_engine(url, steps=0))
    with client_for(larger_database, True) as lean, client_for(larger_database, False) as routed:
        mine, in_loop, in_thread = loop_and_thread(lean, "/publications?limit=200")
        theirs, _, _ = loop_and_thread(routed, "/publications?limit=200")
        assert mine == theirs
        assert mine[0] == 200
        assert len(json.loads(mine[2])["results"]) == 200
        # Stopped at the page, then everything again in a worker thread: the data version,
        # the page, the total.
        assert verbs(in_loop) == ["BEGIN", "SELECT", "SELECT"]
        assert "LIMIT" in in_loop[-1]
        assert verbs(in_thread) == ["BEGIN", "SELECT", "SELECT", "SELECT"]

        mine, in_loop, in_thread = loop_and_thread(lean, "/publications?limit=1")
        theirs, _, _ = loop_and_thread(routed, "/publications?limit=1")
        assert mine == theirs
        assert verbs(in_loop) == ["BEGIN", "SELECT", "SELECT", "SELECT"]
        assert in_thread == []


def test_the_loop_connection_cannot_write_nor_wait(clients: tuple[TestClient, TestClient]) -> None:
    lean, _ = clients
    engine = lean.app.state.loop_engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw.execute("PRAGMA busy_timeout").fetchone() == (0,)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            raw.execute("DELETE FROM publication")


# About 17 steps of SQLite's a row: 400 rows cost 6 or 7 calls of the progress handler (a
# cached statement carries its count of steps past the last call over to its next run).
COUNTING = text(
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400) "
    "SELECT count(*) FROM c"
)


def test_the_loop_budget_is_spent_per_transaction(database: str) -> None:
    engine = lean_module.loop_engine(database, steps=10 * lean_module.LOOP_STEPS)
    try:
        # Each transaction spends 6 or 7 of its 10 calls: none is stopped...
        for _ in range(3):
            with engine.begin() as conn:
                assert conn.execute(COUNTING).scalar() == 400
                assert conn.info[lean_module.LOOP_BUDGET].calls in (6, 7)
        # ...but two such statements in one transaction are.
        with engine.begin() as conn:
            conn.execute(COUNTING)
            with pytest.raises(OperationalError, match="interrupted"):
                conn.execute(COUNTING)
    finally:
        engine.dispose()
