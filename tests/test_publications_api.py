"""GET /publications and GET /publications/{id} over the seed data, on SQLite and PostgreSQL.

Seed facts the expectations below are built from (seed_data/publications.json, ids in file
order): every dated publication (2, 4, 5, 7, 8, 9) is dated 2025-12-31; 1, 3, 6 and 10 are
undated. Only 1 ("Spatial pattern regression ..."), 4 ("Tequila ...") and 10 ("Bridging the
Expertise Gap ...") have a title. Venues, by first appearance: 1 ICML (2, 7, "Accept
(regular)"), 2 ICLR (4, 8, 9, "Accept (Poster)"), 3 the ICLR workshop proposals (5,
"published"). Authors 1..10 are Tequila's byline in order; author 11 wrote publication 10.
"""

import json
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.seed import loader
from tests.support import (
    BANNER,
    BANNER_TITLE,
    FOREIGN_CURSOR,
    ICLR_REF,
    ICML_REF,
    MALFORMED_CURSOR,
    POSTER,
    PROBLEM_TYPE,
    SPATIAL_TITLE,
    TEQUILA,
    TEQUILA_TITLE,
    WORKSHOP_REF,
    assert_offset_page,
    assert_offset_with_cursor_is_422,
    assert_problem,
    chunks,
    cursor_problem,
    get_json,
    ids,
    next_link,
    not_found,
    unprocessable,
)

DATED = [2, 4, 5, 7, 8, 9]
UNDATED = [1, 3, 6, 10]
DEFAULT_ORDER = [2, 4, 5, 7, 8, 9, 1, 3, 6, 10]
TITLE_ORDER = [10, 1, 4, 2, 3, 5, 6, 7, 8, 9]
REVERSE_TITLE_ORDER = [4, 1, 10, 2, 3, 5, 6, 7, 8, 9]


# --- helpers ---------------------------------------------------------------------------------


def walk_cursors(client: TestClient, path: str, params: list) -> list[list[int]]:
    """Follow meta.next_cursor from the first page to the last; the ids of each page."""
    pages: list[list[int]] = []
    body = get_json(client, path, params)
    total = body["meta"]["total"]
    assert body["meta"]["offset"] == 0
    while True:
        pages.append(ids(body))
        assert len(pages) <= 20, "cursor walk does not end"
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            return pages
        body = get_json(client, path, [*params, ("cursor", cursor)])
        assert body["meta"]["total"] == total
        assert body["meta"]["offset"] is None


# --- sorting ---------------------------------------------------------------------------------


def test_default_order_is_newest_first_undated_last_ties_by_id(client):
    body = get_json(client, "/publications")
    assert ids(body) == [2, 4, 5, 7, 8, 9, 1, 3, 6, 10]
    assert body["meta"] == {"total": 10, "limit": 25, "offset": 0, "next_cursor": None}


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-published_on", [2, 4, 5, 7, 8, 9, 1, 3, 6, 10]),
        # All dated publications share 2025-12-31: ties by id, undated last in both directions.
        ("published_on", [2, 4, 5, 7, 8, 9, 1, 3, 6, 10]),
        # "Bridging ..." < "Spatial ..." < "Tequila ...", then the untitled ones by id.
        ("title", [10, 1, 4, 2, 3, 5, 6, 7, 8, 9]),
        ("-title", [4, 1, 10, 2, 3, 5, 6, 7, 8, 9]),
    ],
)
def test_sorts(client, sort, expected):
    body = get_json(client, "/publications", {"sort": sort})
    assert ids(body) == expected
    assert body["meta"] == {"total": 10, "limit": 25, "offset": 0, "next_cursor": None}


def test_unknown_sort_is_422(client):
    msg = "Input should be '-published_on', 'published_on', 'title', '-title' or 'relevance'"
    assert_problem(
        client.get("/publications", params={"sort": "year"}),
        422,
        unprocessable(["query", "sort"], msg, f"sort: {msg}"),
    )


# A small data set of its own where the seed cannot tell orders apart: distinct dates, and
# titles whose byte order differs from their case- and accent-folded order.
ORDERING_RECORDS = [
    {"key": "r1", "title": "Zebra crossings", "published_on": "2024-05-01"},
    {"key": "r2", "title": "apple orchards"},
    {"key": "r3", "title": "Élan vital", "published_on": "2025-01-15"},
    {"key": "r4", "abstract": "An untitled note.", "published_on": "2024-05-01"},
    {"key": "r5", "title": "BANANA boats", "published_on": "2023-12-31"},
    {"key": "r6", "title": "elan vital"},
]


@pytest.fixture
def ordering_client(empty_db, tmp_path) -> Iterator[TestClient]:
    path = tmp_path / "publications-ordering.json"
    path.write_text(json.dumps(ORDERING_RECORDS), encoding="utf-8")
    engine = empty_db.engine()
    loader.load(engine, [path])
    engine.dispose()
    with TestClient(create_app(empty_db.settings())) as test_client:
        yield test_client


ORDERINGS = [
    # apple, BANANA, Élan (3) = elan (6) by id, Zebra, then the untitled one.
    ("title", [2, 5, 3, 6, 1, 4]),
    ("-title", [1, 3, 6, 5, 2, 4]),
    # 2025-01-15, 2024-05-01 (1 and 4 by id), 2023-12-31, then the undated 2 and 6.
    ("-published_on", [3, 1, 4, 5, 2, 6]),
    ("published_on", [5, 1, 4, 3, 2, 6]),
]


@pytest.mark.parametrize(("sort", "expected"), ORDERINGS)
def test_sorts_fold_titles_and_put_missing_values_last(ordering_client, sort, expected):
    body = get_json(ordering_client, "/publications", {"sort": sort})
    assert ids(body) == expected
    assert body["meta"] == {"total": 6, "limit": 25, "offset": 0, "next_cursor": None}


@pytest.mark.parametrize(("sort", "expected"), ORDERINGS)
def test_cursor_walk_on_distinct_sort_keys(ordering_client, sort, expected):
    pages = walk_cursors(ordering_client, "/publications", [("sort", sort), ("limit", 2)])
    assert pages == chunks(expected, 2)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([("year", 2024)], [1, 4]),
        ([("year", 2023), ("year", 2025)], [3, 5]),
        ([("from_date", "2024-05-01")], [3, 1, 4]),
        ([("to_date", "2024-05-01")], [1, 4, 5]),
        ([("from_date", "2024-05-01"), ("to_date", "2024-05-01")], [1, 4]),
        ([("from_date", "2024-05-02"), ("to_date", "2025-01-14")], []),
    ],
)
def test_date_filters_on_distinct_dates(ordering_client, params, expected):
    body = get_json(ordering_client, "/publications", params)
    assert ids(body) == expected
    assert body["meta"] == {"total": len(expected), "limit": 25, "offset": 0, "next_cursor": None}


# --- filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([("year", 2025)], [2, 4, 5, 7, 8, 9]),
        ([("year", 2024)], []),
        ([("year", 2024), ("year", 2025)], [2, 4, 5, 7, 8, 9]),
        ([("from_date", "2025-12-31")], [2, 4, 5, 7, 8, 9]),
        ([("from_date", "2026-01-01")], []),
        ([("to_date", "2025-12-31")], [2, 4, 5, 7, 8, 9]),
        ([("to_date", "2025-12-30")], []),
        ([("from_date", "2025-12-31"), ("to_date", "2025-12-31")], [2, 4, 5, 7, 8, 9]),
        ([("venue", 1)], [2, 7]),
        ([("venue", 2)], [4, 8, 9]),
        ([("venue", 3)], [5]),
        ([("venue", 1), ("venue", 3)], [2, 5, 7]),
        ([("author", 1)], [4]),
        ([("author", 10)], [4]),
        ([("author", 11)], [10]),
        ([("author", 1), ("author", 11)], [4, 10]),
        ([("status", POSTER)], [4, 8, 9]),
        ([("status", "Accept (regular)")], [2, 7]),
        ([("status", "published")], [5]),
        # The decision text as published, matched exactly.
        ([("status", "accept (poster)")], []),
        ([("status", "Accept")], []),
        ([("status", POSTER), ("status", "published")], [4, 5, 8, 9]),
        # Different filters combine with AND.
        ([("venue", 2), ("status", POSTER)], [4, 8, 9]),
        ([("venue", 1), ("status", POSTER)], []),
        ([("year", 2025), ("venue", 2), ("author", 2)], [4]),
        ([("author", 11), ("year", 2025)], []),
        ([("author", 1), ("author", 11), ("venue", 2)], [4]),
        ([("status", "published"), ("from_date", "2025-12-31")], [5]),
        ([("status", POSTER), ("to_date", "2025-12-30")], []),
    ],
)
def test_filters(client, params, expected):
    body = get_json(client, "/publications", params)
    assert ids(body) == expected
    assert body["meta"] == {"total": len(expected), "limit": 25, "offset": 0, "next_cursor": None}


def test_unknown_venue_gives_an_empty_list(client):
    assert get_json(client, "/publications", {"venue": 99}) == {
        "results": [],
        "meta": {"total": 0, "limit": 25, "offset": 0, "next_cursor": None},
    }


def test_from_date_after_to_date_is_422(client):
    msg = "from_date 2025-12-31 is after to_date 2025-01-01"
    response = client.get(
        "/publications", params={"from_date": "2025-12-31", "to_date": "2025-01-01"}
    )
    assert_problem(response, 422, unprocessable(["query", "from_date"], msg, f"from_date: {msg}"))


@pytest.mark.parametrize("name", ["from_date", "to_date"])
@pytest.mark.parametrize(
    ("value", "msg"),
    [
        ("notadate", "must be an ISO 8601 date such as 2025-12-31"),
        (
            "2025-02-30",
            "Input should be a valid date or datetime, day value is outside expected range",
        ),
        (
            "2025-13-01",
            "Input should be a valid date or datetime, "
            "month value is outside expected range of 1-12",
        ),
    ],
)
def test_non_date_is_422(client, name, value, msg):
    assert_problem(
        client.get("/publications", params={name: value}),
        422,
        unprocessable(["query", name], msg, f"{name}: {msg}"),
    )


@pytest.mark.parametrize("value", ["1735603200", "2025-12-31T00:00:00"])
def test_a_unix_time_or_a_datetime_is_not_a_date(client, value):
    # The contract's dates are ISO 8601 dates; the wording of the message is the app's choice.
    response = client.get("/publications", params={"from_date": value})
    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"] == PROBLEM_TYPE
    assert [error["loc"] for error in response.json()["errors"]] == [["query", "from_date"]]


@pytest.mark.parametrize(
    ("name", "value", "msg"),
    [
        ("year", "0", "Input should be greater than or equal to 1"),
        ("year", "10000", "Input should be less than or equal to 9999"),
        ("year", "abc", "Input should be a valid integer, unable to parse string as an integer"),
        ("venue", "0", "Input should be greater than or equal to 1"),
        ("venue", "2147483648", "Input should be less than or equal to 2147483647"),
        ("author", "-1", "Input should be greater than or equal to 1"),
        ("status", "", "String should have at least 1 character"),
    ],
)
def test_bad_filter_value_is_422(client, name, value, msg):
    assert_problem(
        client.get("/publications", params={name: value}),
        422,
        unprocessable(["query", name, 0], msg, f"{name}.0: {msg}"),
    )


def test_unknown_parameter_is_422(client):
    msg = (
        "unknown query parameter; allowed: author, cursor, facets, fields, format, from_date, "
        "limit, offset, q, sort, status, to_date, venue, year"
    )
    assert_problem(
        client.get("/publications", params={"yaer": 2025}),
        422,
        unprocessable(["query", "yaer"], msg, f"yaer: {msg}"),
    )


# --- offset pagination -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "msg"),
    [
        ("limit", "0", "Input should be greater than or equal to 1"),
        ("limit", "201", "Input should be less than or equal to 200"),
        ("limit", "abc", "Input should be a valid integer, unable to parse string as an integer"),
        ("offset", "10001", "Input should be less than or equal to 10000"),
        ("offset", "-1", "Input should be greater than or equal to 0"),
    ],
)
def test_page_bounds_are_422(client, name, value, msg):
    assert_problem(
        client.get("/publications", params={name: value}),
        422,
        unprocessable(["query", name], msg, f"{name}: {msg}"),
    )


def test_limit_200_is_allowed(client):
    body = get_json(client, "/publications", {"limit": 200})
    assert ids(body) == DEFAULT_ORDER
    assert body["meta"] == {"total": 10, "limit": 200, "offset": 0, "next_cursor": None}


def test_offset_10000_is_allowed(client):
    response = client.get("/publications", params={"offset": 10000})
    assert response.status_code == 200
    assert response.json() == {
        "results": [],
        "meta": {"total": 10, "limit": 25, "offset": 10000, "next_cursor": None},
    }
    assert "link" not in response.headers


@pytest.mark.parametrize(
    ("offset", "expected", "more"),
    [
        (0, [2, 4, 5], True),
        (3, [7, 8, 9], True),
        (6, [1, 3, 6], True),
        (9, [10], False),
        (10, [], False),
    ],
)
def test_offset_pages(client, offset, expected, more):
    assert_offset_page(
        client, "/publications", limit=3, offset=offset, total=10, expected=expected, more=more
    )


@pytest.mark.parametrize(
    ("offset", "following"),
    [(0, [7, 8, 9]), (3, [1, 3, 6]), (6, [10]), (1, [8, 9, 1])],
)
def test_cursor_of_an_offset_page_resumes_after_it(client, offset, following):
    first = get_json(client, "/publications", {"limit": 3, "offset": offset})
    body = get_json(client, "/publications", {"limit": 3, "cursor": first["meta"]["next_cursor"]})
    assert ids(body) == following
    assert body["meta"]["offset"] is None


def test_every_offset_page_together_is_the_whole_list(client):
    pages = [
        ids(get_json(client, "/publications", {"limit": 4, "offset": offset}))
        for offset in (0, 4, 8)
    ]
    assert pages == [[2, 4, 5, 7], [8, 9, 1, 3], [6, 10]]


# --- cursor pagination -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-published_on", DEFAULT_ORDER),
        ("published_on", DEFAULT_ORDER),
        ("title", TITLE_ORDER),
        ("-title", REVERSE_TITLE_ORDER),
    ],
)
def test_every_numbered_page_is_its_slice_of_the_order(client, sort, expected):
    """Every limit and offset around the end of the rows with a value (six dated, three
    titled), where a page is read from one segment, from both, or past the first: the exact
    slice of the whole order, and a next page exactly when rows remain."""
    for limit in (1, 2, 3, 4, 7):
        for offset in range(12):
            body = get_json(
                client, "/publications", [("sort", sort), ("limit", limit), ("offset", offset)]
            )
            assert ids(body) == expected[offset : offset + limit], (limit, offset)
            assert (body["meta"]["next_cursor"] is not None) == (offset + limit < 10), (
                limit,
                offset,
            )


@pytest.mark.parametrize("sort", ["-published_on", "published_on", "title", "-title"])
@pytest.mark.parametrize("limit", [1, 2, 3, 5, 6, 7])
def test_a_cursor_walk_of_any_page_length_crosses_into_the_rows_without_a_value(
    client, sort, limit
):
    whole = ids(get_json(client, "/publications", [("sort", sort), ("limit", 10)]))
    pages = walk_cursors(client, "/publications", [("sort", sort), ("limit", limit)])
    assert pages == [whole[start : start + limit] for start in range(0, 10, limit)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([], DEFAULT_ORDER),
        ([("sort", "-published_on")], DEFAULT_ORDER),
        ([("sort", "published_on")], DEFAULT_ORDER),
        ([("sort", "title")], TITLE_ORDER),
        ([("sort", "-title")], REVERSE_TITLE_ORDER),
        ([("status", POSTER)], [4, 8, 9]),
        ([("status", POSTER), ("status", "Accept (regular)")], [2, 4, 7, 8, 9]),
        ([("sort", "title"), ("status", POSTER)], [4, 8, 9]),
        ([("sort", "-title"), ("to_date", "2025-12-31")], [4, 2, 5, 7, 8, 9]),
        ([("venue", 2), ("venue", 1)], [2, 4, 7, 8, 9]),
        ([("sort", "title"), ("year", 2025)], [4, 2, 5, 7, 8, 9]),
        ([("author", 1), ("author", 11), ("sort", "-title")], [4, 10]),
    ],
)
def test_cursor_walk_visits_every_publication_once_in_order(client, params, expected):
    one_page = ids(get_json(client, "/publications", [*params, ("limit", 200)]))
    assert one_page == expected
    pages = walk_cursors(client, "/publications", [*params, ("limit", 3)])
    assert pages == chunks(expected, 3)


def test_cursor_page_meta(client):
    first = get_json(client, "/publications", {"limit": 3})
    second = get_json(client, "/publications", {"limit": 3, "cursor": first["meta"]["next_cursor"]})
    assert ids(second) == [7, 8, 9]
    assert second["meta"] == {
        "total": 10,
        "limit": 3,
        "offset": None,
        "next_cursor": second["meta"]["next_cursor"],
    }
    assert second["meta"]["next_cursor"] not in (None, first["meta"]["next_cursor"])


def test_link_header_carries_the_next_page_url(client):
    response = client.get(
        "/publications",
        params=[
            ("status", POSTER),
            ("status", "published"),
            ("from_date", "2025-01-01"),
            ("limit", 2),
            ("offset", 0),
        ],
    )
    assert response.status_code == 200
    assert ids(response.json()) == [4, 5]
    cursor = response.json()["meta"]["next_cursor"]
    assert response.headers["link"] == (
        "<http://testserver/publications?status=Accept+%28Poster%29&status=published"
        f'&from_date=2025-01-01&limit=2&cursor={cursor}>; rel="next"'
    )

    response = client.get(next_link(response))
    assert response.status_code == 200
    assert ids(response.json()) == [8, 9]
    assert response.json()["meta"]["offset"] is None
    assert response.json()["meta"]["next_cursor"] is None
    assert "link" not in response.headers


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([("limit", 3)], DEFAULT_ORDER),
        ([("sort", "-title"), ("limit", 3)], REVERSE_TITLE_ORDER),
        ([("status", POSTER), ("sort", "title"), ("limit", 1), ("offset", 0)], [4, 8, 9]),
        ([("venue", 2), ("venue", 1), ("sort", "title"), ("limit", 2)], [4, 2, 7, 8, 9]),
        ([("year", 2025), ("status", POSTER), ("limit", 1), ("offset", 0)], [4, 8, 9]),
    ],
)
def test_following_link_headers_walks_the_whole_list(client, params, expected):
    kept = [(name, str(value)) for name, value in params if name != "offset"]
    seen: list[int] = []
    response = client.get("/publications", params=params)
    while True:
        assert response.status_code == 200, response.text[:300]
        body = response.json()
        seen.extend(ids(body))
        assert len(seen) <= len(expected), f"the walk repeats publications: {seen}"
        url = next_link(response)
        if url is None:
            assert body["meta"]["next_cursor"] is None
            break
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path) == ("http", "testserver", "/publications")
        query = parse_qsl(parts.query)
        assert query == [*kept, ("cursor", body["meta"]["next_cursor"])]
        response = client.get(url)
    assert seen == expected


def test_no_link_header_on_the_last_page(client):
    response = client.get("/publications", params={"limit": 10})
    assert response.status_code == 200
    assert response.json()["meta"]["next_cursor"] is None
    assert "link" not in response.headers


def test_offset_with_cursor_is_422(client):
    assert_offset_with_cursor_is_422(client, "/publications", limit=3)


@pytest.mark.parametrize(
    "cursor", ["not-a-cursor", "abc.def", "a.b.c", "é.é", "eyJxIjoiIn0.", "...."]
)
def test_malformed_cursor_is_422(client, cursor):
    assert_problem(
        client.get("/publications", params={"cursor": cursor}),
        422,
        cursor_problem(MALFORMED_CURSOR),
    )


def test_empty_cursor_is_422(client):
    msg = "String should have at least 1 character"
    assert_problem(
        client.get("/publications", params={"cursor": ""}),
        422,
        cursor_problem(msg),
    )


def _change(text: str, index: int) -> str:
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


@pytest.mark.parametrize("where", ["payload", "signature"])
def test_altered_cursor_is_422(client, where):
    cursor = get_json(client, "/publications", {"limit": 3})["meta"]["next_cursor"]
    index = 0 if where == "payload" else cursor.index(".") + 1
    altered = _change(cursor, index)
    assert altered != cursor
    assert_problem(
        client.get("/publications", params={"limit": 3, "cursor": altered}),
        422,
        cursor_problem(MALFORMED_CURSOR),
    )


@pytest.mark.parametrize(
    ("issued_for", "used_for"),
    [
        ([("sort", "title")], [("sort", "-title")]),
        ([("sort", "title")], []),
        ([], [("sort", "published_on")]),
        ([("status", POSTER)], [("status", "published")]),
        ([("status", POSTER)], []),
        ([], [("from_date", "2025-01-01")]),
        ([("status", POSTER), ("status", "published")], [("status", POSTER)]),
    ],
)
def test_cursor_of_another_query_is_422(client, issued_for, used_for):
    cursor = get_json(client, "/publications", [*issued_for, ("limit", 1)])["meta"]["next_cursor"]
    assert cursor is not None
    assert_problem(
        client.get("/publications", params=[*used_for, ("limit", 1), ("cursor", cursor)]),
        422,
        cursor_problem(FOREIGN_CURSOR),
    )


# --- one publication -------------------------------------------------------------------------


def test_get_tequila(client):
    assert get_json(client, "/publications/4") == TEQUILA


def test_get_banner_publication(client):
    assert get_json(client, "/publications/10") == BANNER


def test_list_items_are_the_detail_bodies(client):
    results = get_json(client, "/publications", {"limit": 200})["results"]
    by_id = {publication["id"]: publication for publication in results}
    assert by_id[4] == TEQUILA
    assert by_id[10] == BANNER
    for ident in DEFAULT_ORDER:
        assert get_json(client, f"/publications/{ident}") == by_id[ident]


def test_seed_fields_of_every_publication(client):
    results = get_json(client, "/publications", {"limit": 200, "sort": "title"})["results"]
    summary = [
        (p["id"], p["published_on"], p["year"], p["venue"], p["status"], len(p["authors"]))
        for p in results
    ]
    assert summary == [
        (10, None, None, None, None, 1),
        (1, None, None, None, None, 0),
        (4, "2025-12-31", 2025, ICLR_REF, "Accept (Poster)", 10),
        (2, "2025-12-31", 2025, ICML_REF, "Accept (regular)", 0),
        (3, None, None, None, None, 0),
        (5, "2025-12-31", 2025, WORKSHOP_REF, "published", 0),
        (6, None, None, None, None, 0),
        (7, "2025-12-31", 2025, ICML_REF, "Accept (regular)", 0),
        (8, "2025-12-31", 2025, ICLR_REF, "Accept (Poster)", 0),
        (9, "2025-12-31", 2025, ICLR_REF, "Accept (Poster)", 0),
    ]
    titles = [p["title"] for p in results]
    assert titles == [
        BANNER_TITLE,
        SPATIAL_TITLE,
        TEQUILA_TITLE,
        *[None] * 7,
    ]


def test_missing_publication_is_404(client):
    assert_problem(
        client.get("/publications/999"),
        404,
        not_found("No publication with id 999."),
    )


@pytest.mark.parametrize(
    ("ident", "msg"),
    [
        ("0", "Input should be greater than or equal to 1"),
        ("abc", "Input should be a valid integer, unable to parse string as an integer"),
        ("2147483648", "Input should be less than or equal to 2147483647"),
    ],
)
def test_bad_publication_id_is_422(client, ident, msg):
    assert_problem(
        client.get(f"/publications/{ident}"),
        422,
        unprocessable(["path", "publication_id"], msg, f"publication_id: {msg}"),
    )


# --- the restored abstracts ------------------------------------------------------------------


def test_no_abstract_is_truncated(client):
    results = get_json(client, "/publications", {"limit": 200})["results"]
    abstracts = {p["id"]: p["abstract"] for p in results}
    assert [ident for ident, text in abstracts.items() if text is None] == [10]
    truncated = [
        ident
        for ident, text in abstracts.items()
        if text is not None and ("(see more)" in text or "…" in text)
    ]
    assert truncated == []


def test_abstract_of_publication_1_is_restored(client):
    abstract = get_json(client, "/publications/1")["abstract"]
    assert abstract.startswith(
        "In multiple sclerosis, different types of lesions and their localization can have "
        "varying effects on clinical disability and disease progression. Ultra-high field "
        "7-Tesla MRI"
    )
    assert "disease progression" in abstract
    assert abstract.endswith(
        "Among all markers, cortical lesions emerged as the main driver for progression "
        "independent of relapse activity."
    )


def test_abstract_of_publication_3_is_restored(client):
    abstract = get_json(client, "/publications/3")["abstract"]
    assert abstract.startswith(
        "In this work, we propose Salient Sparse Federated Learning (SSFL), a streamlined "
        "approach for sparse federated learning with efficient communication. SSFL identifies"
    )
    assert abstract.endswith("reducing communication costs by")
