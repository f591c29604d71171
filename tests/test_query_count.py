"""A page costs a fixed number of SQL statements, whatever its length (no N+1), on both engines.

Statements are counted with a `before_cursor_execute` listener on the app's engine. On
SQLite each request also sends one explicit `BEGIN` (app/core/db.py takes transaction control
away from pysqlite); PostgreSQL's driver opens transactions without a statement of its own.

Statements per request, besides that BEGIN and the read of the data version that every data
request makes first (its ETag, and a 304 without further work when the client holds it):
  /publications                  2: the page (each row with its byline), the total
  /authors, /venues              2: the page, the total
  /authors/{id}/publications     3: the author exists, then as /publications
  /venues/{id}/publications      3: the venue exists, then as /publications
  /publications/{id}             1: the row, with its byline
Bylines are read with their rows, from the copy each publication row keeps
(app/queries/bylines.py): no byline query, however many rows or authors a page has.
A page in date order is read one segment at a time (app/queries/keyset.py): the dated rows,
then, only when the page reaches past the last of them, the undated ones, in one statement
more whatever the page's length.

A total is counted once per data version and filters (app/core/memo.py): `statements_of`
empties the memo first, and the tests at the end pin what the memo saves and when it recounts.
"""

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.seed import loader
from tests.conftest import Database
from tests.support import read_engines, recorded_statements

LIST_SELECTS = {
    "/publications": 2,
    "/authors": 2,
    "/venues": 2,
    "/authors/1/publications": 3,
    "/venues/1/publications": 3,
}
# Seed totals of each list above (seed_data/publications.json).
SEED_TOTALS = {
    "/publications": 10,
    "/authors": 11,
    "/venues": 3,
    "/authors/1/publications": 1,
    "/venues/1/publications": 2,
}
# How many of them are dated, for the lists in date order: the dated 2, 4, 5, 7, 8 and 9;
# author 1's publication 4; venue 1's 2 and 7. Names and counts are never missing.
SEED_DATED = {
    "/publications": 6,
    "/authors/1/publications": 1,
    "/venues/1/publications": 2,
}


def page_selects(path: str, limit: int, dated: Mapping[str, int]) -> int:
    """The statements of a page of `limit` rows of `path`: one more when the page, fetched one
    row long to know whether another follows, reaches past the dated rows."""
    return LIST_SELECTS[path] + (1 if path in dated and limit + 1 > dated[path] else 0)


# Asks for an answer computed afresh, not one the server kept (app/core/answers.py).
FRESH = {"Cache-Control": "no-cache"}


def statements_of(client: TestClient, url: str) -> tuple[dict[str, Any], list[str]]:
    """The JSON body of GET `url` and the first word of each statement it executed, totals
    counted (the memo emptied first) and computed afresh (not a kept answer)."""
    client.app.state.memo.clear()  # type: ignore[attr-defined]
    with recorded_statements(*read_engines(client.app)) as statements:
        response = client.get(url, headers=FRESH)
    assert response.status_code == 200, response.text
    return response.json(), [statement.split(None, 1)[0].upper() for statement in statements]


def expected(kind: str, selects: int) -> list[str]:
    """BEGIN on SQLite, the data version, then `selects` statements."""
    return (["BEGIN"] if kind == "sqlite" else []) + ["SELECT"] * (1 + selects)


@pytest.mark.parametrize("limit", [1, 10, 200])
@pytest.mark.parametrize("path", list(LIST_SELECTS))
def test_a_page_costs_the_same_whatever_its_length(
    client: TestClient, seeded_db: Database, path: str, limit: int
) -> None:
    body, statements = statements_of(client, f"{path}?limit={limit}")
    assert len(body["results"]) == min(limit, SEED_TOTALS[path])
    assert statements == expected(seeded_db.kind, page_selects(path, limit, SEED_DATED))


def test_one_publication_costs_one_select(client: TestClient, seeded_db: Database) -> None:
    """On SQLite the lean path (app/core/lean.py) answers it, on a connection of its own: its
    statements are traced there, with the ROLLBACK that ends its read."""
    lean = client.app.state.lean_reads  # type: ignore[attr-defined]
    if seeded_db.kind == "postgresql":
        assert lean is None
        body, statements = statements_of(client, "/publications/4")
        assert statements == expected(seeded_db.kind, 1)
    else:
        traced: list[str] = []
        lean.connection().set_trace_callback(traced.append)
        try:
            body, statements = statements_of(client, "/publications/4")
        finally:
            lean.connection().set_trace_callback(None)
        assert statements == []
        assert [sql.split(None, 1)[0].upper() for sql in traced] == [
            *expected(seeded_db.kind, 1),
            "ROLLBACK",
        ]
    assert len(body["authors"]) == 10


@pytest.mark.parametrize("path", [*LIST_SELECTS, "/publications/export.jsonl"])
def test_a_revalidated_list_costs_only_the_data_version(
    client: TestClient, seeded_db: Database, path: str
) -> None:
    """A client holding the current answer gets its 304 for one read: no page, no count."""
    etag = client.get(path).headers["etag"]
    with recorded_statements(*read_engines(client.app)) as statements:
        response = client.get(path, headers={"If-None-Match": etag, **FRESH})
    assert (response.status_code, response.content) == (304, b"")
    verbs = [statement.split(None, 1)[0].upper() for statement in statements]
    entity_exists = 1 if path.count("/") == 3 else 0  # /authors/1/publications checks author 1
    assert verbs == expected(seeded_db.kind, entity_exists)
    assert "dataset_state" in statements[-1 - entity_exists]


def test_a_page_reached_by_cursor_costs_the_same(client: TestClient, seeded_db: Database) -> None:
    first, _ = statements_of(client, "/publications?limit=2")
    body, statements = statements_of(
        client, f"/publications?limit=2&cursor={first['meta']['next_cursor']}"
    )
    assert [row["id"] for row in body["results"]] == [5, 7]
    assert statements == expected(seeded_db.kind, 2)
    # Dated 8 and 9 are left, then the undated 1, 3, 6, 10: the next page reads both segments.
    body, statements = statements_of(
        client, f"/publications?limit=3&cursor={body['meta']['next_cursor']}"
    )
    assert [row["id"] for row in body["results"]] == [8, 9, 1]
    assert statements == expected(seeded_db.kind, 3)
    # A cursor among the undated rows reads their segment alone.
    body, statements = statements_of(
        client, f"/publications?limit=3&cursor={body['meta']['next_cursor']}"
    )
    assert [row["id"] for row in body["results"]] == [3, 6, 10]
    assert body["meta"]["next_cursor"] is None
    assert statements == expected(seeded_db.kind, 2)


@pytest.mark.parametrize(
    ("offset", "ids", "selects"),
    [
        # Ends among the dated rows (the extra row too): one statement for the page.
        (3, [7, 8], 2),
        # Reaches the undated rows: they are read in a second statement.
        (5, [9, 1], 3),
        # Starts past the dated rows, which the first statement finds empty: how many of the
        # undated the offset skips is not known without counting the dated, so the page is
        # then read as the union of both segments, in one statement more.
        (6, [1, 3], 3),
        (8, [6, 10], 3),
    ],
)
def test_a_numbered_page_reads_each_date_segment_it_reaches(
    client: TestClient, seeded_db: Database, offset: int, ids: list[int], selects: int
) -> None:
    body, statements = statements_of(client, f"/publications?limit=2&offset={offset}")
    assert [row["id"] for row in body["results"]] == ids
    assert statements == expected(seeded_db.kind, selects)


def test_an_empty_page_past_the_end_costs_the_union_fallback(
    client: TestClient, seeded_db: Database
) -> None:
    body, statements = statements_of(client, "/publications?offset=10000")
    assert body["results"] == []
    # The dated rows, found empty at that offset, then both segments together; the total.
    assert statements == expected(seeded_db.kind, 3)


# A generated data set large enough for limit=200 to fill whole pages: 300 publications with
# four authors each. "Lead Author" is first on every byline and "Main Venue" holds the even
# publications, so both come first in their tables (id 1) and have more than 200 rows or 150.
GENERATED = 300
GENERATED_TOTALS = {
    "/publications": 300,
    "/authors": 241,
    "/venues": 151,
    "/authors/1/publications": 300,
    "/venues/1/publications": 150,
}
# Every generated publication is dated.
GENERATED_DATED = {
    "/publications": 300,
    "/authors/1/publications": 300,
    "/venues/1/publications": 150,
}


def generated_record(i: int) -> dict[str, Any]:
    return {
        "key": f"generated-{i:03d}",
        "title": f"Generated publication {i:03d}",
        "abstract": f"Abstract of generated publication {i:03d}.",
        "published_on": (dt.date(2020, 1, 1) + dt.timedelta(days=i)).isoformat(),
        "venue": "Main Venue" if i % 2 == 0 else f"Venue {i:03d}",
        "status": "published",
        "authors": ["Lead Author"] + [f"Coauthor {(i + k * 80) % 240:03d}" for k in range(3)],
    }


@pytest.fixture
def generated_client(empty_db: Database, tmp_path: Path) -> Iterator[TestClient]:
    source = tmp_path / "publications.jsonl"
    source.write_text(
        "".join(json.dumps(generated_record(i)) + "\n" for i in range(GENERATED)),
        encoding="utf-8",
    )
    engine = empty_db.engine()
    report = loader.load(engine, [source])
    engine.dispose()
    assert (report.records, report.inserted) == (GENERATED, GENERATED)
    with TestClient(create_app(empty_db.settings())) as test_client:
        yield test_client


@pytest.mark.parametrize("path", list(LIST_SELECTS))
def test_a_full_page_of_200_costs_the_same_as_one_row(
    generated_client: TestClient, empty_db: Database, path: str
) -> None:
    assert generated_client.get("/authors/1").json() == {
        "id": 1,
        "name": "Lead Author",
        "publication_count": GENERATED,
    }
    assert generated_client.get("/venues/1").json() == {
        "id": 1,
        "name": "Main Venue",
        "publication_count": GENERATED // 2,
    }
    one, one_statements = statements_of(generated_client, f"{path}?limit=1")
    full, full_statements = statements_of(generated_client, f"{path}?limit=200")
    total = GENERATED_TOTALS[path]
    assert (one["meta"]["total"], full["meta"]["total"]) == (total, total)
    assert (len(one["results"]), len(full["results"])) == (1, min(200, total))
    if "publication" in path:
        # Every row of the full page carries its whole byline, read with the row.
        assert [len(row["authors"]) for row in full["results"]] == [4] * len(full["results"])
    assert one_statements == expected(empty_db.kind, LIST_SELECTS[path])
    # Only a page reaching past the dated rows (venue 1's 150) reads the undated segment too.
    full_selects = page_selects(path, 200, GENERATED_DATED)
    assert full_statements == expected(empty_db.kind, full_selects)
    assert full_selects == LIST_SELECTS[path] + (path == "/venues/1/publications")


def recorded_verbs(client: TestClient, url: str) -> tuple[dict[str, Any], list[str]]:
    """Like `statements_of`, without emptying the memo."""
    with recorded_statements(*read_engines(client.app)) as statements:
        response = client.get(url, headers=FRESH)
    assert response.status_code == 200, response.text
    return response.json(), [statement.split(None, 1)[0].upper() for statement in statements]


@pytest.mark.parametrize("path", list(LIST_SELECTS))
def test_a_total_is_counted_once_per_data_version(
    client: TestClient, seeded_db: Database, path: str
) -> None:
    first, counted = statements_of(client, f"{path}?limit=1")
    again, memoized = recorded_verbs(client, f"{path}?limit=2")
    assert counted == expected(seeded_db.kind, page_selects(path, 1, SEED_DATED))
    assert memoized == expected(seeded_db.kind, page_selects(path, 2, SEED_DATED) - 1)
    assert first["meta"]["total"] == again["meta"]["total"] == SEED_TOTALS[path]


def test_facet_counts_are_counted_once_per_data_version(
    client: TestClient, seeded_db: Database
) -> None:
    url = "/publications?fields=id&facets=year,venue"
    first, counted = statements_of(client, url)
    again, memoized = recorded_verbs(client, url)
    assert first == again
    # The page (its dated rows, then the undated), the total and two facets; then the page.
    assert counted == expected(seeded_db.kind, 5)
    assert memoized == expected(seeded_db.kind, 2)


def test_a_load_that_changes_the_data_is_counted_again(empty_db: Database, tmp_path: Path) -> None:
    def load(count: int) -> None:
        source = tmp_path / f"publications-{count}.jsonl"
        source.write_text(
            "".join(json.dumps(generated_record(i)) + "\n" for i in range(count)),
            encoding="utf-8",
        )
        engine = empty_db.engine()
        loader.load(engine, [source])
        engine.dispose()

    load(5)
    with TestClient(create_app(empty_db.settings())) as client:
        url = "/publications?limit=1&facets=venue&fields=id"
        before = client.get(url).json()["meta"]
        assert (before["total"], before["facets"]["venue"][0]) == (
            5,
            {"value": 1, "name": "Main Venue", "count": 3},
        )
        load(9)  # the same five, and four more
        after = client.get(url).json()["meta"]
        assert (after["total"], after["facets"]["venue"][0]) == (
            9,
            {"value": 1, "name": "Main Venue", "count": 5},
        )
        # "Main Venue" and the four odd ones.
        assert client.get("/venues?limit=1").json()["meta"]["total"] == 5
