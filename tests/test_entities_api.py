"""GET /authors and /venues, one of each and their publications, on SQLite and PostgreSQL.

Seed facts (seed_data/publications.json): authors get ids in order of first appearance, so
1..10 are Tequila's byline (publication 4) and 11 is Moritz von Knebel (publication 10); each
has one publication. Venues: 1 ICML (publications 2, 7), 2 ICLR (4, 8, 9), 3 the ICLR
workshop proposals (5). Every dated publication is dated 2025-12-31.
"""

import pytest
from fastapi.testclient import TestClient

from tests.support import (
    BANNER,
    FOREIGN_CURSOR,
    ICLR,
    ICML,
    MALFORMED_CURSOR,
    POSTER,
    WORKSHOP,
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

HONG_HUANG = {"id": 1, "name": "Hong Huang", "publication_count": 1}
DECHENG_WU = {"id": 2, "name": "Decheng Wu", "publication_count": 1}
RUI_CEN = {"id": 3, "name": "Rui Cen", "publication_count": 1}
GUANGHUA_YU = {"id": 4, "name": "Guanghua Yu", "publication_count": 1}
ZONGHANG_LI = {"id": 5, "name": "Zonghang Li", "publication_count": 1}
KAI_LIU = {"id": 6, "name": "Kai Liu", "publication_count": 1}
JIANCHEN_ZHU = {"id": 7, "name": "Jianchen Zhu", "publication_count": 1}
PENG_CHEN = {"id": 8, "name": "Peng Chen", "publication_count": 1}
XUE_LIU = {"id": 9, "name": "Xue Liu", "publication_count": 1}
DAPENG_WU = {"id": 10, "name": "Dapeng Wu", "publication_count": 1}
MORITZ = {"id": 11, "name": "Moritz von Knebel", "publication_count": 1}

# Case- and accent-folded names: "dapeng wu" < "decheng wu" < "guanghua yu" < ...
AUTHORS_BY_NAME = [
    DAPENG_WU,
    DECHENG_WU,
    GUANGHUA_YU,
    HONG_HUANG,
    JIANCHEN_ZHU,
    KAI_LIU,
    MORITZ,
    PENG_CHEN,
    RUI_CEN,
    XUE_LIU,
    ZONGHANG_LI,
]
AUTHOR_IDS_BY_NAME = [10, 2, 4, 1, 7, 6, 11, 8, 3, 9, 5]
# Every author has one publication: ties broken by id.
AUTHOR_IDS_BY_COUNT = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]

ICML_VENUE = {"id": 1, "name": ICML, "publication_count": 2}
ICLR_VENUE = {"id": 2, "name": ICLR, "publication_count": 3}
WORKSHOP_VENUE = {"id": 3, "name": WORKSHOP, "publication_count": 1}
# The default order and both sorts: by name "...learning representations" < "...machine
# learning" < "workshop ...", by publication count ICLR (3) > ICML (2) > the workshop (1).
VENUES_SORTED = [ICLR_VENUE, ICML_VENUE, WORKSHOP_VENUE]


# --- helpers ---------------------------------------------------------------------------------


def walk_links(client: TestClient, path: str, params: list) -> list[list[dict]]:
    """Follow the `Link: rel="next"` headers from the first page; the results of each page.

    Checks on the way that each header carries meta.next_cursor, that meta.offset is null on
    every page reached by cursor, and that the last page has no Link header.
    """
    pages: list[list[dict]] = []
    response = client.get(path, params=params)
    while True:
        assert response.status_code == 200, response.text[:300]
        body = response.json()
        assert body["meta"]["offset"] == (0 if not pages else None)
        pages.append(body["results"])
        assert len(pages) <= 20, "cursor walk does not end"
        cursor = body["meta"]["next_cursor"]
        url = next_link(response)
        if cursor is None:
            assert url is None
            return pages
        assert url is not None
        assert url.startswith(f"http://testserver{path}?")
        assert url.endswith(f"&cursor={cursor}")
        response = client.get(url)


# --- /venues ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [None, {"sort": "name"}, {"sort": "-publication_count"}],
    ids=["default", "name", "-publication_count"],
)
def test_venues_list(client, params):
    assert get_json(client, "/venues", params) == {
        "results": VENUES_SORTED,
        "meta": {"total": 3, "limit": 25, "offset": 0, "next_cursor": None},
    }


@pytest.mark.parametrize(
    ("sort", "expected"), [("name", VENUES_SORTED), ("-publication_count", VENUES_SORTED)]
)
def test_venues_cursor_walk(client, sort, expected):
    pages = walk_links(client, "/venues", [("sort", sort), ("limit", 1)])
    assert pages == chunks(expected, 1)


def test_venue_offset_page(client):
    assert get_json(client, "/venues", {"limit": 2, "offset": 2}) == {
        "results": [WORKSHOP_VENUE],
        "meta": {"total": 3, "limit": 2, "offset": 2, "next_cursor": None},
    }


# --- /authors --------------------------------------------------------------------------------


def test_authors_list_sorted_by_name(client):
    expected = {
        "results": AUTHORS_BY_NAME,
        "meta": {"total": 11, "limit": 25, "offset": 0, "next_cursor": None},
    }
    assert get_json(client, "/authors") == expected
    assert get_json(client, "/authors", {"sort": "name"}) == expected
    assert ids(expected) == AUTHOR_IDS_BY_NAME


def test_authors_sorted_by_publication_count(client):
    assert get_json(client, "/authors", {"sort": "-publication_count"}) == {
        "results": [
            HONG_HUANG,
            DECHENG_WU,
            RUI_CEN,
            GUANGHUA_YU,
            ZONGHANG_LI,
            KAI_LIU,
            JIANCHEN_ZHU,
            PENG_CHEN,
            XUE_LIU,
            DAPENG_WU,
            MORITZ,
        ],
        "meta": {"total": 11, "limit": 25, "offset": 0, "next_cursor": None},
    }


@pytest.mark.parametrize(
    ("sort", "expected"),
    [("name", AUTHOR_IDS_BY_NAME), ("-publication_count", AUTHOR_IDS_BY_COUNT)],
)
@pytest.mark.parametrize("limit", [1, 3, 10])
def test_authors_cursor_walk_visits_every_author_once(client, sort, expected, limit):
    pages = walk_links(client, "/authors", [("sort", sort), ("limit", limit)])
    assert [[author["id"] for author in page] for page in pages] == chunks(expected, limit)


def test_authors_cursor_pages(client):
    first = client.get("/authors", params={"limit": 3})
    assert first.status_code == 200
    cursor = first.json()["meta"]["next_cursor"]
    assert first.json() == {
        "results": [DAPENG_WU, DECHENG_WU, GUANGHUA_YU],
        "meta": {"total": 11, "limit": 3, "offset": 0, "next_cursor": cursor},
    }
    assert first.headers["link"] == (
        f'<http://testserver/authors?limit=3&cursor={cursor}>; rel="next"'
    )
    second = get_json(client, "/authors", {"limit": 3, "cursor": cursor})
    assert second == {
        "results": [HONG_HUANG, JIANCHEN_ZHU, KAI_LIU],
        "meta": {
            "total": 11,
            "limit": 3,
            "offset": None,
            "next_cursor": second["meta"]["next_cursor"],
        },
    }
    assert second["meta"]["next_cursor"] not in (None, cursor)


@pytest.mark.parametrize(
    ("offset", "expected", "more"),
    [(0, [10, 2, 4, 1], True), (4, [7, 6, 11, 8], True), (8, [3, 9, 5], False), (11, [], False)],
)
def test_authors_offset_pages(client, offset, expected, more):
    assert_offset_page(
        client, "/authors", limit=4, offset=offset, total=11, expected=expected, more=more
    )


@pytest.mark.parametrize("path", ["/authors", "/venues"])
def test_unknown_entity_sort_is_422(client, path):
    msg = "Input should be 'name' or '-publication_count'"
    for sort in ("publication_count", "-name", "title"):
        assert_problem(
            client.get(path, params={"sort": sort}),
            422,
            unprocessable(["query", "sort"], msg, f"sort: {msg}"),
        )


@pytest.mark.parametrize("path", ["/authors", "/venues"])
@pytest.mark.parametrize(
    ("name", "value", "msg"),
    [
        ("limit", "0", "Input should be greater than or equal to 1"),
        ("limit", "201", "Input should be less than or equal to 200"),
        ("offset", "10001", "Input should be less than or equal to 10000"),
    ],
)
def test_entity_page_bounds_are_422(client, path, name, value, msg):
    assert_problem(
        client.get(path, params={name: value}),
        422,
        unprocessable(["query", name], msg, f"{name}: {msg}"),
    )


def test_entity_list_limit_200_is_allowed(client):
    body = get_json(client, "/authors", {"limit": 200})
    assert ids(body) == AUTHOR_IDS_BY_NAME
    assert body["meta"] == {"total": 11, "limit": 200, "offset": 0, "next_cursor": None}


@pytest.mark.parametrize(
    ("issued_for", "used_for"),
    [
        (("/authors", "name"), ("/authors", "-publication_count")),
        (("/authors", "name"), ("/venues", "name")),
        (("/venues", "-publication_count"), ("/venues", "name")),
        (("/publications", "-published_on"), ("/authors", "name")),
    ],
)
def test_entity_cursor_of_another_query_is_422(client, issued_for, used_for):
    path, sort = issued_for
    cursor = get_json(client, path, {"sort": sort, "limit": 1})["meta"]["next_cursor"]
    assert cursor is not None
    path, sort = used_for
    assert_problem(
        client.get(path, params={"sort": sort, "limit": 1, "cursor": cursor}),
        422,
        cursor_problem(FOREIGN_CURSOR),
    )


def test_entity_altered_cursor_is_422(client):
    cursor = get_json(client, "/authors", {"limit": 1})["meta"]["next_cursor"]
    altered = ("A" if cursor[0] != "A" else "B") + cursor[1:]
    for bad in (altered, "not-a-cursor"):
        assert_problem(
            client.get("/authors", params={"limit": 1, "cursor": bad}),
            422,
            cursor_problem(MALFORMED_CURSOR),
        )


def test_entity_offset_with_cursor_is_422(client):
    assert_offset_with_cursor_is_422(client, "/venues", limit=1)


# --- one author, one venue -------------------------------------------------------------------


@pytest.mark.parametrize(
    "author", [HONG_HUANG, DECHENG_WU, ZONGHANG_LI, DAPENG_WU, MORITZ], ids=lambda a: a["name"]
)
def test_get_author(client, author):
    assert get_json(client, f"/authors/{author['id']}") == author


@pytest.mark.parametrize(
    "venue", [ICML_VENUE, ICLR_VENUE, WORKSHOP_VENUE], ids=lambda v: str(v["id"])
)
def test_get_venue(client, venue):
    assert get_json(client, f"/venues/{venue['id']}") == venue


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/authors/12", "No author with id 12."),
        ("/authors/999", "No author with id 999."),
        ("/venues/4", "No venue with id 4."),
        ("/venues/999", "No venue with id 999."),
        ("/authors/999/publications", "No author with id 999."),
        ("/venues/999/publications", "No venue with id 999."),
        ("/authors/12/publications?year=2025&limit=1", "No author with id 12."),
        ("/venues/4/publications?status=published&sort=title", "No venue with id 4."),
    ],
)
def test_missing_entity_is_404(client, path, detail):
    assert_problem(client.get(path), 404, not_found(detail))


@pytest.mark.parametrize(
    ("path", "name", "msg"),
    [
        ("/authors/0", "author_id", "Input should be greater than or equal to 1"),
        (
            "/authors/abc",
            "author_id",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        ("/venues/0", "venue_id", "Input should be greater than or equal to 1"),
        (
            "/venues/abc/publications",
            "venue_id",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        (
            "/authors/2147483648/publications",
            "author_id",
            "Input should be less than or equal to 2147483647",
        ),
    ],
)
def test_bad_entity_id_is_422(client, path, name, msg):
    assert_problem(client.get(path), 422, unprocessable(["path", name], msg, f"{name}: {msg}"))


# --- the publications of one author or venue ------------------------------------------------


def test_publications_of_moritz_von_knebel(client):
    assert get_json(client, "/authors/11/publications") == {
        "results": [BANNER],
        "meta": {"total": 1, "limit": 25, "offset": 0, "next_cursor": None},
    }


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        ("/authors/1/publications", [], [4]),
        ("/authors/10/publications", [], [4]),
        ("/authors/11/publications", [], [10]),
        ("/venues/1/publications", [], [2, 7]),
        ("/venues/2/publications", [], [4, 8, 9]),
        ("/venues/3/publications", [], [5]),
        ("/venues/2/publications", [("sort", "published_on")], [4, 8, 9]),
        ("/venues/2/publications", [("sort", "title")], [4, 8, 9]),
        ("/venues/2/publications", [("sort", "-title")], [4, 8, 9]),
        ("/venues/1/publications", [("sort", "-title")], [2, 7]),
        # Filters combine with the author or venue of the path (AND).
        ("/venues/2/publications", [("status", POSTER)], [4, 8, 9]),
        ("/venues/2/publications", [("status", "published")], []),
        ("/venues/1/publications", [("status", "Accept (regular)")], [2, 7]),
        ("/venues/2/publications", [("from_date", "2025-12-31")], [4, 8, 9]),
        ("/venues/2/publications", [("to_date", "2025-12-30")], []),
        ("/authors/11/publications", [("to_date", "2025-12-31")], []),
        ("/authors/3/publications", [("status", POSTER), ("from_date", "2025-01-01")], [4]),
        ("/venues/2/publications", [("year", 2025)], [4, 8, 9]),
        ("/venues/2/publications", [("year", 2024)], []),
        ("/venues/2/publications", [("author", 1)], [4]),
        ("/venues/2/publications", [("author", 11)], []),
        ("/venues/1/publications", [("author", 1)], []),
        ("/venues/2/publications", [("venue", 2)], [4, 8, 9]),
        ("/venues/2/publications", [("venue", 1)], []),
        ("/venues/2/publications", [("venue", 1), ("venue", 2)], [4, 8, 9]),
        ("/authors/1/publications", [("venue", 2)], [4]),
        ("/authors/1/publications", [("venue", 1)], []),
        ("/authors/1/publications", [("author", 11)], []),
        ("/authors/1/publications", [("author", 2)], [4]),
        ("/authors/1/publications", [("year", 2025), ("status", POSTER)], [4]),
        ("/authors/11/publications", [("year", 2025)], []),
    ],
)
def test_entity_publications(client, path, params, expected):
    body = get_json(client, path, params)
    assert ids(body) == expected
    assert body["meta"] == {"total": len(expected), "limit": 25, "offset": 0, "next_cursor": None}


def test_entity_publications_are_the_publication_bodies(client):
    for path in ("/venues/1/publications", "/venues/2/publications", "/authors/4/publications"):
        for publication in get_json(client, path)["results"]:
            assert get_json(client, f"/publications/{publication['id']}") == publication


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        ("/venues/2/publications", [("limit", 1)], [4, 8, 9]),
        ("/venues/2/publications", [("sort", "-title"), ("limit", 2)], [4, 8, 9]),
        ("/venues/1/publications", [("sort", "title"), ("limit", 1), ("offset", 0)], [2, 7]),
        ("/venues/2/publications", [("status", POSTER), ("limit", 1)], [4, 8, 9]),
        ("/venues/2/publications", [("year", 2025), ("author", 1), ("limit", 1)], [4]),
        ("/authors/1/publications", [("limit", 1)], [4]),
    ],
)
def test_entity_publications_cursor_walk(client, path, params, expected):
    pages = walk_links(client, path, params)
    limit = dict(params)["limit"]
    assert [[publication["id"] for publication in page] for page in pages] == chunks(
        expected, limit
    )


def test_entity_publications_link_header(client):
    response = client.get(
        "/venues/2/publications", params=[("status", POSTER), ("limit", 2), ("offset", 0)]
    )
    assert response.status_code == 200
    assert ids(response.json()) == [4, 8]
    cursor = response.json()["meta"]["next_cursor"]
    assert response.headers["link"] == (
        "<http://testserver/venues/2/publications?status=Accept+%28Poster%29&limit=2"
        f'&cursor={cursor}>; rel="next"'
    )


@pytest.mark.parametrize(
    ("issued_for", "used_for"),
    [
        ("/venues/2/publications", "/venues/1/publications"),
        ("/venues/2/publications?status=Accept+%28Poster%29", "/venues/2/publications"),
        ("/venues/2/publications", "/venues/2/publications?sort=title"),
        ("/venues/1/publications", "/authors/1/publications"),
        ("/publications", "/venues/1/publications"),
    ],
)
def test_entity_publications_cursor_of_another_query_is_422(client, issued_for, used_for):
    separator = "&" if "?" in issued_for else "?"
    cursor = get_json(client, f"{issued_for}{separator}limit=1")["meta"]["next_cursor"]
    assert cursor is not None
    separator = "&" if "?" in used_for else "?"
    assert_problem(
        client.get(f"{used_for}{separator}limit=1&cursor={cursor}"),
        422,
        cursor_problem(FOREIGN_CURSOR),
    )
