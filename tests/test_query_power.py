"""Sparse fieldsets, facets and name search (issue #4), on SQLite and PostgreSQL.

Seed facts the expectations are built from (seed_data/publications.json, ids in file order;
see tests/support.py): every dated publication (2, 4, 5, 7, 8, 9) is dated 2025-12-31 and the
others are undated. Only 1, 4 (Tequila) and 10 (the banner publication) have a title. Venues:
1 ICML (2, 7, "Accept (regular)"), 2 ICLR (4, 8, 9, "Accept (Poster)"), 3 the ICLR workshop
proposals (5, "published"); 1, 3, 6 and 10 have no venue and no status. Authors 1..10 are
Tequila's byline in order; author 11 (Moritz von Knebel) wrote publication 10.

Where the seed cannot tell behaviours apart (co-authors, ties, the 100-bucket cap, LIKE
wildcards in names), a small corpus of its own is loaded into a fresh database by the real
loader.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.seed import loader
from tests.conftest import Database
from tests.support import (
    BANNER_AUTHOR,
    BANNER_TITLE,
    FOREIGN_CURSOR,
    ICLR,
    ICLR_REF,
    ICML,
    ICML_REF,
    POSTER,
    SPATIAL_TITLE,
    TEQUILA,
    TEQUILA_ABSTRACT,
    TEQUILA_AUTHORS,
    TEQUILA_TITLE,
    WORKSHOP,
    WORKSHOP_REF,
    assert_problem,
    chunks,
    cursor_problem,
    get_json,
    ids,
    not_found,
    read_engines,
    recorded_statements,
    unprocessable,
)

REGULAR = "Accept (regular)"
PUBLISHED = "published"
DATE = "2025-12-31"

# Every field of a publication, in the order the API writes them.
FIELD_ORDER = ["id", "title", "abstract", "published_on", "year", "venue", "status", "authors"]
ALLOWED_FIELDS = "allowed: id, title, abstract, published_on, year, venue, status, authors"
ALLOWED_FACETS = "allowed: year, venue, status, author"

DEFAULT_ORDER = [2, 4, 5, 7, 8, 9, 1, 3, 6, 10]
TITLE_ORDER = [10, 1, 4, 2, 3, 5, 6, 7, 8, 9]
SORT_ORDERS = {
    "-published_on": DEFAULT_ORDER,
    # Every dated publication shares 2025-12-31: ties by id, undated last either way.
    "published_on": DEFAULT_ORDER,
    "title": TITLE_ORDER,
    "-title": [4, 1, 10, 2, 3, 5, 6, 7, 8, 9],
}

# Tequila's byline: author n at position n; the banner publication's: author 11.
TEQUILA_BYLINE = [
    {"id": n, "name": name, "position": n} for n, name in enumerate(TEQUILA_AUTHORS, start=1)
]
BANNER_BYLINE = [{"id": 11, "name": BANNER_AUTHOR, "position": 1}]


def _row(
    ident: int,
    title: str | None = None,
    venue: dict | None = None,
    status: str | None = None,
    authors: list | None = None,
) -> dict[str, Any]:
    """A seed publication without its abstract; dated (2025-12-31) exactly when it has a venue."""
    return {
        "id": ident,
        "title": title,
        "published_on": DATE if venue is not None else None,
        "year": 2025 if venue is not None else None,
        "venue": venue,
        "status": status,
        "authors": authors or [],
    }


# Every seed publication, all fields but the abstract (tests/test_publications_api.py pins the
# abstracts; the sparse tests below compare `abstract` with the full bodies).
SEED = {
    1: _row(1, title=SPATIAL_TITLE),
    2: _row(2, venue=ICML_REF, status=REGULAR),
    3: _row(3),
    4: _row(4, title=TEQUILA_TITLE, venue=ICLR_REF, status=POSTER, authors=TEQUILA_BYLINE),
    5: _row(5, venue=WORKSHOP_REF, status=PUBLISHED),
    6: _row(6),
    7: _row(7, venue=ICML_REF, status=REGULAR),
    8: _row(8, venue=ICLR_REF, status=POSTER),
    9: _row(9, venue=ICLR_REF, status=POSTER),
    10: _row(10, title=BANNER_TITLE, authors=BANNER_BYLINE),
}


def sparse(row: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """`row` cut down to `names`, its keys in the API's order."""
    return {name: row[name] for name in FIELD_ORDER if name in names}


def meta(total: int, limit: int = 25, offset: int | None = 0, cursor: str | None = None) -> dict:
    return {"total": total, "limit": limit, "offset": offset, "next_cursor": cursor}


def fields_problem(msg: str) -> dict:
    full = f"{msg}; {ALLOWED_FIELDS}"
    return unprocessable(["query", "fields"], full, f"fields: {full}")


def facets_problem(msg: str) -> dict:
    full = f"{msg}; {ALLOWED_FACETS}"
    return unprocessable(["query", "facets"], full, f"facets: {full}")


def key_lists(results: list[dict]) -> list[list[str]]:
    return [list(item) for item in results]


@contextmanager
def corpus_client(db: Database, tmp_path: Path, records: list[dict]) -> Iterator[TestClient]:
    """A client on a fresh database holding just `records`, loaded from JSON Lines."""
    source = tmp_path / "publications.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    engine = db.engine()
    try:
        report = loader.load(engine, [source])
    finally:
        engine.dispose()
    assert (report.records, report.inserted) == (len(records), len(records))
    with TestClient(create_app(db.settings())) as test_client:
        yield test_client


# --- fields: which keys ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "names"),
    [
        ("id,title,year", ["id", "title", "year"]),
        # The order asked for does not matter: keys come in the API's order.
        ("year,title,id", ["id", "title", "year"]),
        # Duplicates collapse.
        ("id,id,title,id", ["id", "title"]),
        ("id", ["id"]),
        ("title", ["title"]),
        ("venue,authors,id", ["id", "venue", "authors"]),
        ("authors", ["authors"]),
        ("status,published_on,venue", ["published_on", "venue", "status"]),
        (",".join(reversed(FIELD_ORDER[1:])), FIELD_ORDER[1:]),
    ],
)
def test_fields_return_exactly_those_keys(client, fields, names):
    body = get_json(client, "/publications", {"fields": fields})
    full = get_json(client, "/publications")["results"]
    abstracts = {item["id"]: item["abstract"] for item in full}
    rows = [{**SEED[ident], "abstract": abstracts[ident]} for ident in DEFAULT_ORDER]
    assert body["results"] == [sparse(row, names) for row in rows]
    assert key_lists(body["results"]) == [[n for n in FIELD_ORDER if n in names]] * 10
    assert body["meta"] == meta(10)


def test_every_field_named_is_the_full_body(client):
    full = get_json(client, "/publications")
    named = get_json(client, "/publications", {"fields": ",".join(FIELD_ORDER)})
    assert named == full
    assert key_lists(named["results"]) == [FIELD_ORDER] * 10
    assert [{n: item[n] for n in FIELD_ORDER if n != "abstract"} for item in full["results"]] == [
        SEED[ident] for ident in DEFAULT_ORDER
    ]


def test_fields_are_trimmed_around_commas(client):
    body = get_json(client, "/publications", {"fields": " id , title ", "limit": 2})
    assert body["results"] == [{"id": 2, "title": None}, {"id": 4, "title": TEQUILA_TITLE}]


@pytest.mark.parametrize(
    ("ident", "fields", "expected"),
    [
        (4, "id,title,year", {"id": 4, "title": TEQUILA_TITLE, "year": 2025}),
        (4, "year,id,title,year", {"id": 4, "title": TEQUILA_TITLE, "year": 2025}),
        (4, "abstract", {"abstract": TEQUILA_ABSTRACT}),
        (4, "venue,status", {"venue": ICLR_REF, "status": POSTER}),
        (4, "authors,id", {"id": 4, "authors": TEQUILA_BYLINE}),
        (4, ",".join(FIELD_ORDER), TEQUILA),
        (
            10,
            "authors,venue,published_on",
            {"published_on": None, "venue": None, "authors": BANNER_BYLINE},
        ),
        (10, "abstract,title", {"title": BANNER_TITLE, "abstract": None}),
        (3, "id,authors", {"id": 3, "authors": []}),
        (5, "venue", {"venue": WORKSHOP_REF}),
    ],
)
def test_fields_on_one_publication(client, ident, fields, expected):
    body = get_json(client, f"/publications/{ident}", {"fields": fields})
    assert body == expected
    assert list(body) == [name for name in FIELD_ORDER if name in expected]


def test_fields_on_a_missing_publication_is_404(client):
    assert_problem(
        client.get("/publications/999", params={"fields": "id"}),
        404,
        not_found("No publication with id 999."),
    )


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        (
            "/authors/11/publications",
            {"fields": "id,title"},
            [{"id": 10, "title": BANNER_TITLE}],
        ),
        (
            "/authors/3/publications",
            {"fields": "authors,venue"},
            [{"venue": ICLR_REF, "authors": TEQUILA_BYLINE}],
        ),
        (
            "/venues/2/publications",
            {"fields": "status,id,venue"},
            [{"id": i, "venue": ICLR_REF, "status": POSTER} for i in (4, 8, 9)],
        ),
        (
            "/venues/1/publications",
            {"fields": "year,published_on", "sort": "title"},
            [{"published_on": DATE, "year": 2025}] * 2,
        ),
        (
            "/venues/2/publications",
            {"fields": "id", "author": 1},
            [{"id": 4}],
        ),
    ],
)
def test_fields_on_entity_publications(client, path, params, expected):
    body = get_json(client, path, params)
    assert body == {"results": expected, "meta": meta(len(expected))}
    assert key_lists(body["results"]) == [list(item) for item in expected]


# --- fields: refused -------------------------------------------------------------------------

FIELD_PATHS = [
    "/publications",
    "/publications/4",
    "/authors/1/publications",
    "/venues/2/publications",
]


@pytest.mark.parametrize("path", FIELD_PATHS)
@pytest.mark.parametrize(
    ("fields", "msg"),
    [
        ("bogus", "unknown field 'bogus'"),
        ("id,bogus,title", "unknown field 'bogus'"),
        # Names are case-sensitive.
        ("id,Title", "unknown field 'Title'"),
        # Only publication fields: not the nested ones, not the sort keys.
        ("venue.name", "unknown field 'venue.name'"),
        ("sort_title", "unknown field 'sort_title'"),
        ("id,,title", "empty field name"),
        ("id,", "empty field name"),
        ("", "empty field name"),
        (" ", "empty field name"),
    ],
)
def test_bad_fields_are_422(client, path, fields, msg):
    assert_problem(client.get(path, params={"fields": fields}), 422, fields_problem(msg))


# --- fields do not change the result set or the cursor ---------------------------------------


@pytest.mark.parametrize("sort", list(SORT_ORDERS))
def test_a_cursor_from_a_sparse_page_walks_the_same_ids_with_other_fields(client, sort):
    order = SORT_ORDERS[sort]
    first = get_json(client, "/publications", {"sort": sort, "limit": 3, "fields": "id"})
    assert first["results"] == [{"id": i} for i in order[:3]]
    # Same query, same cursor token, whatever the fields.
    full_first = get_json(client, "/publications", {"sort": sort, "limit": 3})
    assert first["meta"]["next_cursor"] == full_first["meta"]["next_cursor"]

    pages = [ids(first)]
    body = first
    for fields in ["id,title,year", "authors,id", None]:
        cursor = body["meta"]["next_cursor"]
        assert cursor is not None
        params: dict[str, Any] = {"sort": sort, "limit": 3, "cursor": cursor}
        if fields is not None:
            params["fields"] = fields
        body = get_json(client, "/publications", params)
        names = FIELD_ORDER if fields is None else fields.split(",")
        assert key_lists(body["results"]) == [[n for n in FIELD_ORDER if n in names]] * len(
            body["results"]
        )
        assert body["meta"]["total"] == 10
        assert body["meta"]["offset"] is None
        pages.append(ids(body))
    assert pages == chunks(order, 3)
    assert body["meta"]["next_cursor"] is None


@pytest.mark.parametrize("sort", list(SORT_ORDERS))
def test_sparse_pages_hold_the_rows_of_the_full_pages(client, sort):
    """Page by page, a walk with `fields=title,authors` is the full walk cut down."""
    order = SORT_ORDERS[sort]
    sparse_pages: list[list[dict]] = []
    body = get_json(client, "/publications", {"sort": sort, "limit": 4, "fields": "id"})
    while True:
        sparse_pages.append(body["results"])
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
        assert len(sparse_pages) <= 5, "cursor walk does not end"
        body = get_json(
            client,
            "/publications",
            {"sort": sort, "limit": 4, "cursor": cursor, "fields": "title,authors"},
        )
    assert sparse_pages == [
        [{"id": i} for i in order[:4]],
        [sparse(SEED[i], ["title", "authors"]) for i in order[4:8]],
        [sparse(SEED[i], ["title", "authors"]) for i in order[8:]],
    ]


def test_fields_do_not_change_the_total_or_filters(client):
    body = get_json(client, "/publications", {"fields": "id", "venue": 2, "limit": 2})
    assert body["results"] == [{"id": 4}, {"id": 8}]
    cursor = body["meta"]["next_cursor"]
    assert body["meta"] == meta(3, limit=2, cursor=cursor)
    rest = get_json(
        client, "/publications", {"fields": "venue", "venue": 2, "limit": 2, "cursor": cursor}
    )
    assert rest == {"results": [{"venue": ICLR_REF}], "meta": meta(3, limit=2, offset=None)}


# --- the database reads only what is asked ---------------------------------------------------

WATCHED = ("abstract", "byline", "publication_author", "venue")


def statement_summary(client: TestClient, url: str) -> list[tuple[str, list[str]]]:
    """Per statement GET `url` ran: its verb and which WATCHED words it names.

    Left out: BEGIN, and the read of the data version that every data request makes for its
    ETag (tests/test_query_count.py counts that one). Totals and facet counts are memoized per
    data version: the memo is emptied first, so that they are counted here, and the answer is
    computed afresh rather than replayed (`Cache-Control: no-cache`).
    """
    client.app.state.memo.clear()  # type: ignore[attr-defined]
    with recorded_statements(*read_engines(client.app)) as statements:
        response = client.get(url, headers={"Cache-Control": "no-cache"})
    assert response.status_code == 200, response.text[:300]
    return [
        (statement.split(None, 1)[0].upper(), [w for w in WATCHED if w in statement.lower()])
        for statement in statements
        if statement.split(None, 1)[0].upper() != "BEGIN" and "dataset_state" not in statement
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # The page and the total: no abstract, no venue join, no byline. Each page here
        # reaches past the seed's six dated publications (three titled, with `sort=title`):
        # it is read in two statements, the rows with a value, then those without.
        ("/publications?fields=id,title", [("SELECT", []), ("SELECT", []), ("SELECT", [])]),
        (
            "/publications?fields=id,title,year,status,published_on",
            [("SELECT", []), ("SELECT", []), ("SELECT", [])],
        ),
        (
            "/publications?fields=id,title&sort=title&limit=3",
            [("SELECT", []), ("SELECT", []), ("SELECT", [])],
        ),
        ("/publications?fields=id,title&limit=2", [("SELECT", []), ("SELECT", [])]),
        ("/publications/4?fields=id,title", [("SELECT", [])]),
        # The venue exists, the page, the total: the venue filter names the venue only.
        (
            "/venues/2/publications?fields=id,title",
            [("SELECT", ["venue"])] * 4,
        ),
        # Asking for the venue joins it, still without the abstract or the byline.
        (
            "/publications?fields=id,venue",
            [("SELECT", ["venue"]), ("SELECT", ["venue"]), ("SELECT", [])],
        ),
        # Asking for the authors reads each row's byline with the row, still without the
        # abstract, and without the byline table (app/queries/bylines.py).
        (
            "/publications?fields=id,authors",
            [("SELECT", ["byline"]), ("SELECT", ["byline"]), ("SELECT", [])],
        ),
        ("/publications/10?fields=authors", [("SELECT", ["byline"])]),
        # Without `fields`, everything is read (this is what the checks above would catch).
        (
            "/publications",
            [
                ("SELECT", ["abstract", "byline", "venue"]),
                ("SELECT", ["abstract", "byline", "venue"]),
                ("SELECT", []),
            ],
        ),
        ("/publications/4?fields=abstract", [("SELECT", ["abstract"])]),
        # Facets add one query each, a repeated facet included once; none reads the abstract.
        (
            "/publications?fields=id&facets=venue,year,venue",
            [("SELECT", []), ("SELECT", []), ("SELECT", []), ("SELECT", ["venue"]), ("SELECT", [])],
        ),
        (
            "/publications?fields=id&facets=author",
            [("SELECT", []), ("SELECT", []), ("SELECT", []), ("SELECT", ["publication_author"])],
        ),
    ],
)
def test_the_database_reads_only_the_fields_asked_for(client, url, expected):
    assert statement_summary(client, url) == expected


# --- facets on the seed ----------------------------------------------------------------------

TEQUILA_AUTHOR_BUCKETS = [
    {"value": n, "name": name, "count": 1} for n, name in enumerate(TEQUILA_AUTHORS, start=1)
]
ICLR_BUCKET = {"value": 2, "name": ICLR}
ICML_BUCKET = {"value": 1, "name": ICML}
WORKSHOP_BUCKET = {"value": 3, "name": WORKSHOP}

# The seed's facets. Publications without a year, venue or status are counted in a bucket whose
# value is null (and whose name is null for the venue): four of them, more than any venue or
# status has, so that bucket comes first there; it would come last among equal counts.
SEED_FACETS = {
    "year": [{"value": 2025, "count": 6}, {"value": None, "count": 4}],
    "venue": [
        {"value": None, "name": None, "count": 4},
        {**ICLR_BUCKET, "count": 3},
        {**ICML_BUCKET, "count": 2},
        {**WORKSHOP_BUCKET, "count": 1},
    ],
    "status": [
        {"value": None, "count": 4},
        {"value": POSTER, "count": 3},
        {"value": REGULAR, "count": 2},
        {"value": PUBLISHED, "count": 1},
    ],
    # Eleven authors with one publication each: by id. Publications without a byline are in
    # no author bucket (there is no null author).
    "author": [*TEQUILA_AUTHOR_BUCKETS, {"value": 11, "name": BANNER_AUTHOR, "count": 1}],
}


def test_seed_facets(client):
    body = get_json(client, "/publications", {"facets": "year,venue,status,author"})
    assert ids(body) == DEFAULT_ORDER
    assert body["meta"] == {**meta(10), "facets": SEED_FACETS}
    assert list(body["meta"]["facets"]) == ["year", "venue", "status", "author"]


@pytest.mark.parametrize(
    ("facets", "names"),
    [
        ("status,year", ["status", "year"]),
        ("author", ["author"]),
        ("venue,venue,year,venue", ["venue", "year"]),
        (" year , author ", ["year", "author"]),
    ],
)
def test_only_the_facets_asked_for_in_the_order_asked(client, facets, names):
    body = get_json(client, "/publications", {"facets": facets, "fields": "id"})
    assert body["meta"] == {**meta(10), "facets": {name: SEED_FACETS[name] for name in names}}
    assert list(body["meta"]["facets"]) == names


@pytest.mark.parametrize(
    ("params", "expected_ids", "facets"),
    [
        (
            [("venue", 2)],
            [4, 8, 9],
            {
                "year": [{"value": 2025, "count": 3}],
                "venue": [{**ICLR_BUCKET, "count": 3}],
                "status": [{"value": POSTER, "count": 3}],
                "author": TEQUILA_AUTHOR_BUCKETS,
            },
        ),
        (
            [("year", 2025)],
            [2, 4, 5, 7, 8, 9],
            {
                "year": [{"value": 2025, "count": 6}],
                "venue": [
                    {**ICLR_BUCKET, "count": 3},
                    {**ICML_BUCKET, "count": 2},
                    {**WORKSHOP_BUCKET, "count": 1},
                ],
                "status": [
                    {"value": POSTER, "count": 3},
                    {"value": REGULAR, "count": 2},
                    {"value": PUBLISHED, "count": 1},
                ],
                "author": TEQUILA_AUTHOR_BUCKETS,
            },
        ),
        (
            [("from_date", DATE), ("to_date", DATE), ("venue", 1), ("venue", 3)],
            [2, 5, 7],
            {
                "year": [{"value": 2025, "count": 3}],
                "venue": [{**ICML_BUCKET, "count": 2}, {**WORKSHOP_BUCKET, "count": 1}],
                "status": [{"value": REGULAR, "count": 2}, {"value": PUBLISHED, "count": 1}],
                "author": [],
            },
        ),
        (
            [("author", 1)],
            [4],
            {
                "year": [{"value": 2025, "count": 1}],
                "venue": [{**ICLR_BUCKET, "count": 1}],
                "status": [{"value": POSTER, "count": 1}],
                # Every co-author of author 1, not author 1 alone.
                "author": TEQUILA_AUTHOR_BUCKETS,
            },
        ),
        (
            [("author", 11), ("author", 5)],
            [4, 10],
            {
                "year": [{"value": 2025, "count": 1}, {"value": None, "count": 1}],
                "venue": [{**ICLR_BUCKET, "count": 1}, {"value": None, "name": None, "count": 1}],
                "status": [{"value": POSTER, "count": 1}, {"value": None, "count": 1}],
                "author": SEED_FACETS["author"],
            },
        ),
        (
            [("status", POSTER), ("status", PUBLISHED)],
            [4, 5, 8, 9],
            {
                "year": [{"value": 2025, "count": 4}],
                "venue": [{**ICLR_BUCKET, "count": 3}, {**WORKSHOP_BUCKET, "count": 1}],
                "status": [{"value": POSTER, "count": 3}, {"value": PUBLISHED, "count": 1}],
                "author": TEQUILA_AUTHOR_BUCKETS,
            },
        ),
        (
            [("year", 1999)],
            [],
            {"year": [], "venue": [], "status": [], "author": []},
        ),
    ],
)
def test_facets_count_only_the_filtered_set(client, params, expected_ids, facets):
    body = get_json(
        client, "/publications", [*params, ("facets", "year,venue,status,author"), ("fields", "id")]
    )
    assert body == {
        "results": [{"id": i} for i in expected_ids],
        "meta": {**meta(len(expected_ids)), "facets": facets},
    }


@pytest.mark.parametrize(
    ("path", "params", "expected_ids", "facets"),
    [
        (
            "/authors/1/publications",
            [],
            [4],
            {
                "year": [{"value": 2025, "count": 1}],
                "venue": [{**ICLR_BUCKET, "count": 1}],
                "status": [{"value": POSTER, "count": 1}],
                "author": TEQUILA_AUTHOR_BUCKETS,
            },
        ),
        (
            "/authors/11/publications",
            [],
            [10],
            {
                "year": [{"value": None, "count": 1}],
                "venue": [{"value": None, "name": None, "count": 1}],
                "status": [{"value": None, "count": 1}],
                "author": [{"value": 11, "name": BANNER_AUTHOR, "count": 1}],
            },
        ),
        (
            "/authors/1/publications",
            [("author", 11)],
            [],
            {"year": [], "venue": [], "status": [], "author": []},
        ),
        (
            "/venues/1/publications",
            [],
            [2, 7],
            {
                "year": [{"value": 2025, "count": 2}],
                "venue": [{**ICML_BUCKET, "count": 2}],
                "status": [{"value": REGULAR, "count": 2}],
                "author": [],
            },
        ),
        (
            "/venues/2/publications",
            [("author", 3)],
            [4],
            {
                "year": [{"value": 2025, "count": 1}],
                "venue": [{**ICLR_BUCKET, "count": 1}],
                "status": [{"value": POSTER, "count": 1}],
                "author": TEQUILA_AUTHOR_BUCKETS,
            },
        ),
    ],
)
def test_facets_on_entity_publications(client, path, params, expected_ids, facets):
    body = get_json(
        client, path, [*params, ("facets", "year,venue,status,author"), ("fields", "id")]
    )
    assert body == {
        "results": [{"id": i} for i in expected_ids],
        "meta": {**meta(len(expected_ids)), "facets": facets},
    }


def test_facets_cover_the_whole_set_on_every_page(client):
    params: dict[str, Any] = {"facets": "venue,status", "fields": "id", "limit": 4}
    first = get_json(client, "/publications", params)
    cursor = first["meta"]["next_cursor"]
    assert first == {
        "results": [{"id": i} for i in DEFAULT_ORDER[:4]],
        "meta": {
            **meta(10, limit=4, cursor=cursor),
            "facets": {"venue": SEED_FACETS["venue"], "status": SEED_FACETS["status"]},
        },
    }
    # The cursor is the one the same query issues without facets.
    assert cursor == get_json(client, "/publications", {"limit": 4})["meta"]["next_cursor"]
    second = get_json(client, "/publications", {**params, "cursor": cursor})
    assert ids(second) == DEFAULT_ORDER[4:8]
    assert second["meta"]["facets"] == first["meta"]["facets"]
    assert second["meta"]["offset"] is None
    offset_page = get_json(client, "/publications", {**params, "offset": 8})
    assert offset_page == {
        "results": [{"id": 6}, {"id": 10}],
        "meta": {**meta(10, limit=4, offset=8), "facets": first["meta"]["facets"]},
    }


@pytest.mark.parametrize(
    "path", ["/publications", "/authors/1/publications", "/venues/2/publications"]
)
def test_no_facets_key_without_the_parameter(client, path):
    for params in ({}, {"fields": "id"}, {"limit": 1}):
        body = get_json(client, path, params)
        assert list(body["meta"]) == ["total", "limit", "offset", "next_cursor"]


@pytest.mark.parametrize(
    "path", ["/publications", "/authors/1/publications", "/venues/2/publications"]
)
@pytest.mark.parametrize(
    ("facets", "msg"),
    [
        ("bogus", "unknown facet 'bogus'"),
        ("year,authors", "unknown facet 'authors'"),
        ("Year", "unknown facet 'Year'"),
        # Fields are not facets.
        ("title", "unknown facet 'title'"),
        ("year,,venue", "empty facet name"),
        ("", "empty facet name"),
    ],
)
def test_bad_facets_are_422(client, path, facets, msg):
    assert_problem(client.get(path, params={"facets": facets}), 422, facets_problem(msg))


# --- facets on corpora of their own ----------------------------------------------------------

# Bylines sharing authors. Authors get ids by first appearance: Ann 1, Bob 2, Cy 3, Dee 4, Eve 5.
COAUTHOR_RECORDS: list[dict[str, Any]] = [
    {"key": "p1", "title": "One", "authors": ["Ann", "Bob", "Cy"]},
    {"key": "p2", "title": "Two", "authors": ["Bob", "Ann"]},
    {"key": "p3", "title": "Three", "authors": ["Dee", "Bob"]},
    {"key": "p4", "title": "Four", "authors": ["Cy"]},
    {"key": "p5", "title": "Five", "authors": ["Eve"]},
    {"key": "p6", "title": "Six"},
]


def author_bucket(ident: int, count: int) -> dict:
    return {"value": ident, "name": ["Ann", "Bob", "Cy", "Dee", "Eve"][ident - 1], "count": count}


@pytest.mark.parametrize(
    ("path", "params", "expected_ids", "buckets"),
    [
        # Bob 3; Ann and Cy 2 (by id); Dee and Eve 1 (by id).
        (
            "/publications",
            [],
            [1, 2, 3, 4, 5, 6],
            [(2, 3), (1, 2), (3, 2), (4, 1), (5, 1)],
        ),
        # Ann's publications (1, 2): Ann and Bob on both, Cy on one.
        ("/publications", [("author", 1)], [1, 2], [(1, 2), (2, 2), (3, 1)]),
        # Dee's one publication (3) with Bob.
        ("/publications", [("author", 4)], [3], [(2, 1), (4, 1)]),
        # Ann's or Dee's (1, 2, 3): each publication counted once per author on it.
        (
            "/publications",
            [("author", 1), ("author", 4)],
            [1, 2, 3],
            [(2, 3), (1, 2), (3, 1), (4, 1)],
        ),
        ("/publications", [("author", 5)], [5], [(5, 1)]),
        ("/authors/3/publications", [], [1, 4], [(3, 2), (1, 1), (2, 1)]),
        ("/authors/2/publications", [], [1, 2, 3], [(2, 3), (1, 2), (3, 1), (4, 1)]),
        # Bob's publications that Cy is on too.
        ("/authors/2/publications", [("author", 3)], [1], [(1, 1), (2, 1), (3, 1)]),
        ("/authors/3/publications", [("author", 4)], [], []),
    ],
)
def test_author_facet_counts_co_authors(empty_db, tmp_path, path, params, expected_ids, buckets):
    with corpus_client(empty_db, tmp_path, COAUTHOR_RECORDS) as client:
        body = get_json(client, path, [*params, ("facets", "author"), ("fields", "id")])
    # All undated: the default order is by id.
    assert body == {
        "results": [{"id": i} for i in expected_ids],
        "meta": {
            **meta(len(expected_ids)),
            "facets": {"author": [author_bucket(i, n) for i, n in buckets]},
        },
    }


# Equal counts everywhere, so that only the order of values is left: venue ids differ from the
# order of venue names, author ids from the order of author names, and statuses differ in case
# and accents. The last publication has no date, venue, status or byline.
TIE_RECORDS: list[dict[str, Any]] = [
    {
        "key": "t1",
        "title": "T1",
        "published_on": "2021-06-01",
        "venue": "Zeta Venue",
        "status": "accept",
        "authors": ["Zoe Zed"],
    },
    {
        "key": "t2",
        "title": "T2",
        "published_on": "2019-06-01",
        "venue": "Alpha Venue",
        "status": "Reject",
        "authors": ["Al Able"],
    },
    {
        "key": "t3",
        "title": "T3",
        "published_on": "2020-06-01",
        "venue": "Mid Venue",
        "status": "Accept",
        "authors": ["Mo Mid"],
    },
    {
        "key": "t4",
        "title": "T4",
        "published_on": "2022-06-01",
        "venue": "Beta Venue",
        "status": "éclair",
        "authors": ["Ed Éclair"],
    },
    {
        "key": "t5",
        "title": "T5",
        "published_on": "2018-06-01",
        "venue": "Yota Venue",
        "status": "Zed",
        "authors": ["Bea Bee"],
    },
    {"key": "t6", "title": "T6"},
]


TIE_FACETS = {
    "year": [{"value": year, "count": 1} for year in (2018, 2019, 2020, 2021, 2022, None)],
    # By venue id (order of first appearance), not by name.
    "venue": [
        {"value": 1, "name": "Zeta Venue", "count": 1},
        {"value": 2, "name": "Alpha Venue", "count": 1},
        {"value": 3, "name": "Mid Venue", "count": 1},
        {"value": 4, "name": "Beta Venue", "count": 1},
        {"value": 5, "name": "Yota Venue", "count": 1},
        {"value": None, "name": None, "count": 1},
    ],
    # Byte-wise (UTF-8), like every sort key: upper case before lower case, accents last.
    "status": [
        {"value": status, "count": 1}
        for status in ("Accept", "Reject", "Zed", "accept", "éclair", None)
    ],
    "author": [
        {"value": 1, "name": "Zoe Zed", "count": 1},
        {"value": 2, "name": "Al Able", "count": 1},
        {"value": 3, "name": "Mo Mid", "count": 1},
        {"value": 4, "name": "Ed Éclair", "count": 1},
        {"value": 5, "name": "Bea Bee", "count": 1},
    ],
}


def test_ties_are_ordered_by_value_and_null_comes_last(empty_db, tmp_path):
    with corpus_client(empty_db, tmp_path, TIE_RECORDS) as client:
        body = get_json(
            client, "/publications", {"facets": "year,venue,status,author", "fields": "id"}
        )
    # Newest first, the undated one last.
    assert ids(body) == [4, 1, 3, 2, 5, 6]
    assert body["meta"] == {**meta(6), "facets": TIE_FACETS}


def many_venues_records() -> list[dict]:
    """120 venues and 120 authors, "Venue 001" / "Author 001" .. 120 (ids 1..120 by first
    appearance), one publication each; then a second publication for each of 110..120, and
    two publications with neither venue nor byline."""
    records = [
        {
            "key": f"m{i:03d}",
            "title": f"M{i:03d}",
            "venue": f"Venue {i:03d}",
            "authors": [f"Author {i:03d}"],
        }
        for i in range(1, 121)
    ]
    records += [
        {
            "key": f"x{i:03d}",
            "title": f"X{i:03d}",
            "venue": f"Venue {i:03d}",
            "authors": [f"Author {i:03d}"],
        }
        for i in range(110, 121)
    ]
    records += [{"key": "n1", "title": "N1"}, {"key": "n2", "title": "N2"}]
    return records


def test_at_most_100_buckets_per_facet(empty_db, tmp_path):
    with corpus_client(empty_db, tmp_path, many_venues_records()) as client:
        body = get_json(
            client, "/publications", {"facets": "venue,author,year", "fields": "id", "limit": 1}
        )
        authors_page = get_json(client, "/authors", {"limit": 1, "sort": "-publication_count"})
    facets = body["meta"]["facets"]
    assert list(facets) == ["venue", "author", "year"]
    assert body["meta"] == {
        **meta(133, limit=1, cursor=body["meta"]["next_cursor"]),
        "facets": facets,
    }
    # Count 2: venues 110..120, then the null venue (last among equal counts); count 1: by id,
    # as many as fit in 100.
    assert facets["venue"] == (
        [{"value": i, "name": f"Venue {i:03d}", "count": 2} for i in range(110, 121)]
        + [{"value": None, "name": None, "count": 2}]
        + [{"value": i, "name": f"Venue {i:03d}", "count": 1} for i in range(1, 89)]
    )
    # No null author: authors 110..120, then 1..89.
    assert facets["author"] == (
        [{"value": i, "name": f"Author {i:03d}", "count": 2} for i in range(110, 121)]
        + [{"value": i, "name": f"Author {i:03d}", "count": 1} for i in range(1, 90)]
    )
    assert facets["year"] == [{"value": None, "count": 133}]
    # The corpus is what the buckets say: author 110 has two publications.
    assert authors_page["results"] == [{"id": 110, "name": "Author 110", "publication_count": 2}]
    assert authors_page["meta"]["total"] == 120


# --- q on /authors and /venues ---------------------------------------------------------------

MORITZ = {"id": 11, "name": BANNER_AUTHOR, "publication_count": 1}
DAPENG_WU = {"id": 10, "name": "Dapeng Wu", "publication_count": 1}
DECHENG_WU = {"id": 2, "name": "Decheng Wu", "publication_count": 1}
ICML_VENUE = {"id": 1, "name": ICML, "publication_count": 2}
ICLR_VENUE = {"id": 2, "name": ICLR, "publication_count": 3}
WORKSHOP_VENUE = {"id": 3, "name": WORKSHOP, "publication_count": 1}


@pytest.mark.parametrize(
    "q",
    [
        "knebel",
        "von knebel",
        "KNÉBEL",
        "Knébel",
        "KNE\u0301BEL",  # decomposed É
        # Spaces around the text and runs of spaces are folded like the names are: a search
        # box's stray spaces do not hide anything.
        "  knebel",
        "knebel  ",
        "Von   KNEBEL",
        "\tknebel",
        "moritz von knebel",
        "Z VON K",
    ],
)
def test_author_name_search_finds_moritz_von_knebel(client, q):
    assert get_json(client, "/authors", {"q": q}) == {"results": [MORITZ], "meta": meta(1)}


@pytest.mark.parametrize(
    ("path", "q", "expected"),
    [
        ("/authors", "wu", [DAPENG_WU, DECHENG_WU]),
        (
            "/authors",
            "LIU",
            [
                {"id": 6, "name": "Kai Liu", "publication_count": 1},
                {"id": 9, "name": "Xue Liu", "publication_count": 1},
            ],
        ),
        ("/authors", "g h", [{"id": 1, "name": "Hong Huang", "publication_count": 1}]),
        ("/authors", "moritzvon", []),
        ("/venues", "learning", [ICLR_VENUE, ICML_VENUE, WORKSHOP_VENUE]),
        ("/venues", "LEARNING REPRESENTATIONS", [ICLR_VENUE, WORKSHOP_VENUE]),
        ("/venues", "machine", [ICML_VENUE]),
        ("/venues", "@", [WORKSHOP_VENUE]),
        ("/venues", "proposals @ international", [WORKSHOP_VENUE]),
        ("/venues", "knebel", []),
    ],
)
def test_name_search(client, path, q, expected):
    assert get_json(client, path, {"q": q}) == {"results": expected, "meta": meta(len(expected))}


@pytest.mark.parametrize("path", ["/authors", "/venues"])
def test_q_that_matches_nothing_is_an_empty_page(client, path):
    assert get_json(client, path, {"q": "zzz no such name"}) == {"results": [], "meta": meta(0)}


@pytest.mark.parametrize(
    ("path", "q", "expected"),
    [
        ("/venues", "learning", [ICLR_VENUE, ICML_VENUE, WORKSHOP_VENUE]),
        ("/venues", "representations", [ICLR_VENUE, WORKSHOP_VENUE]),
        ("/venues", "international conference", [ICLR_VENUE, ICML_VENUE, WORKSHOP_VENUE]),
        # Equal counts: by id.
        ("/authors", "wu", [DECHENG_WU, DAPENG_WU]),
    ],
)
def test_q_with_sort_by_publication_count(client, path, q, expected):
    body = get_json(client, path, {"q": q, "sort": "-publication_count"})
    assert body == {"results": expected, "meta": meta(len(expected))}


def walk_q(client: TestClient, path: str, params: dict[str, Any]) -> list[list[int]]:
    """Follow meta.next_cursor from the first page; the ids of each page."""
    body = get_json(client, path, params)
    total = body["meta"]["total"]
    pages = [ids(body)]
    while (cursor := body["meta"]["next_cursor"]) is not None:
        assert len(pages) <= 20, "cursor walk does not end"
        body = get_json(client, path, {**params, "cursor": cursor})
        assert body["meta"]["total"] == total
        assert body["meta"]["offset"] is None
        pages.append(ids(body))
    return pages


@pytest.mark.parametrize(
    ("path", "q", "sort", "expected"),
    [
        ("/authors", "wu", "name", [10, 2]),
        ("/authors", "wu", "-publication_count", [2, 10]),
        ("/authors", "liu", "name", [6, 9]),
        ("/authors", "n", "name", [10, 2, 4, 1, 7, 11, 8, 3, 5]),
        ("/authors", "n", "-publication_count", [1, 2, 3, 4, 5, 7, 8, 10, 11]),
        ("/venues", "learning", "name", [2, 1, 3]),
        ("/venues", "learning", "-publication_count", [2, 1, 3]),
        ("/venues", "representations", "-publication_count", [2, 3]),
        ("/authors", "knebel", "name", [11]),
    ],
)
def test_q_cursor_walk_with_limit_1(client, path, q, sort, expected):
    pages = walk_q(client, path, {"q": q, "sort": sort, "limit": 1})
    assert pages == chunks(expected, 1)
    assert get_json(client, path, {"q": q, "sort": sort, "limit": 1})["meta"]["total"] == len(
        expected
    )


@pytest.mark.parametrize(
    ("path", "issued_for", "used_for"),
    [
        ("/authors", {"q": "wu"}, {"q": "liu"}),
        ("/authors", {"q": "wu"}, {}),
        ("/authors", {}, {"q": "wu"}),
        ("/authors", {"q": "wu"}, {"q": "wu", "sort": "-publication_count"}),
        ("/venues", {"q": "learning"}, {"q": "representations"}),
        ("/venues", {"q": "learning"}, {}),
    ],
)
def test_a_cursor_of_one_q_does_not_resume_another(client, path, issued_for, used_for):
    cursor = get_json(client, path, {**issued_for, "limit": 1})["meta"]["next_cursor"]
    assert cursor is not None
    assert_problem(
        client.get(path, params={**used_for, "limit": 1, "cursor": cursor}),
        422,
        cursor_problem(FOREIGN_CURSOR),
    )


@pytest.mark.parametrize("path", ["/authors", "/venues"])
def test_q_of_200_characters_is_searched_and_201_is_422(client, path):
    assert get_json(client, path, {"q": "k" * 200}) == {"results": [], "meta": meta(0)}
    msg = "String should have at most 200 characters"
    assert_problem(
        client.get(path, params={"q": "k" * 201}),
        422,
        unprocessable(["query", "q"], msg, f"q: {msg}"),
    )


@pytest.mark.parametrize("path", ["/authors", "/venues"])
def test_empty_q_is_422(client, path):
    msg = "String should have at least 1 character"
    assert_problem(
        client.get(path, params={"q": ""}), 422, unprocessable(["query", "q"], msg, f"q: {msg}")
    )


CONTROL_MSG = "must not contain NUL or other control characters"


@pytest.mark.parametrize("path", ["/authors", "/venues"])
@pytest.mark.parametrize("q", ["\x00", "kne\x00bel", "\x01", "knebel\x1b[0m", "\x1f", "a\x08"])
def test_q_with_a_control_character_is_422(client, path, q):
    assert_problem(
        client.get(path, params={"q": q}),
        422,
        unprocessable(["query", "q"], CONTROL_MSG, f"q: {CONTROL_MSG}"),
    )


@pytest.mark.parametrize(
    ("path", "name", "loc"),
    [
        ("/authors", "q", ["query", "q"]),
        ("/venues", "q", ["query", "q"]),
        ("/publications", "status", ["query", "status", 0]),
    ],
)
@pytest.mark.parametrize("char", ["\x7f", "\x85", "\x9b"])
def test_del_and_c1_control_characters_are_422_too(client, path, name, loc, char):
    """DEL and the C1 controls are control characters as much as ESC is (Unicode Cc)."""
    dotted = ".".join(str(part) for part in loc[1:])
    assert_problem(
        client.get(path, params={name: f"knebel{char}"}),
        422,
        unprocessable(loc, CONTROL_MSG, f"{dotted}: {CONTROL_MSG}"),
    )


# Names with LIKE's wildcards (and its usual escape characters) in them, and names that the
# wildcards would match if they were not taken literally.
WILDCARD_RECORDS: list[dict[str, Any]] = [
    {"key": "w1", "title": "W1", "venue": "A_B Lab", "authors": ["Jo_Ann Lee"]},
    {"key": "w2", "title": "W2", "venue": "AxB Lab", "authors": ["JoXAnn Lee"]},
    {"key": "w3", "title": "W3", "venue": "100% Sure", "authors": ["Al 100%"]},
    {"key": "w4", "title": "W4", "venue": "1000 Sure", "authors": ["Al 1000"]},
    {"key": "w5", "title": "W5", "venue": "A/B Lab", "authors": ["Jo/Ann Lee"]},
    {"key": "w6", "title": "W6", "venue": "A\\B Lab", "authors": ["Jo\\Ann Lee"]},
    {"key": "w7", "title": "W7", "venue": "AxB Lab", "authors": ["JoXAnn Lee"]},
]


@pytest.mark.parametrize(
    ("path", "q", "expected"),
    [
        ("/venues", "_", [(1, "A_B Lab", 1)]),
        ("/venues", "a_b", [(1, "A_B Lab", 1)]),
        ("/venues", "%", [(3, "100% Sure", 1)]),
        ("/venues", "0%", [(3, "100% Sure", 1)]),
        ("/venues", "%_", []),
        ("/venues", "/", [(5, "A/B Lab", 1)]),
        ("/venues", "\\", [(6, "A\\B Lab", 1)]),
        ("/venues", "a\\b", [(6, "A\\B Lab", 1)]),
        ("/venues", "0 sure", [(4, "1000 Sure", 1)]),
        # By name: byte-wise on the folded names ("/" < "\" < "_" < "x").
        (
            "/venues",
            "b lab",
            [(5, "A/B Lab", 1), (6, "A\\B Lab", 1), (1, "A_B Lab", 1), (2, "AxB Lab", 2)],
        ),
        ("/authors", "_", [(1, "Jo_Ann Lee", 1)]),
        ("/authors", "o_a", [(1, "Jo_Ann Lee", 1)]),
        ("/authors", "%", [(3, "Al 100%", 1)]),
        ("/authors", "/ann", [(5, "Jo/Ann Lee", 1)]),
        ("/authors", "\\ann", [(6, "Jo\\Ann Lee", 1)]),
        (
            "/authors",
            "ann lee",
            [
                (5, "Jo/Ann Lee", 1),
                (6, "Jo\\Ann Lee", 1),
                (1, "Jo_Ann Lee", 1),
                (2, "JoXAnn Lee", 2),
            ],
        ),
    ],
)
def test_like_wildcards_in_q_match_literally(empty_db, tmp_path, path, q, expected):
    with corpus_client(empty_db, tmp_path, WILDCARD_RECORDS) as client:
        body = get_json(client, path, {"q": q})
        by_count = get_json(client, path, {"q": q, "sort": "-publication_count"})
    results = [{"id": i, "name": name, "publication_count": n} for i, name, n in expected]
    assert body == {"results": results, "meta": meta(len(results))}
    assert by_count["results"] == sorted(
        results, key=lambda item: (-item["publication_count"], item["id"])
    )


# --- NUL and control characters in text filters ----------------------------------------------


@pytest.mark.parametrize(
    "path", ["/publications", "/authors/1/publications", "/venues/2/publications"]
)
@pytest.mark.parametrize("value", ["\x00", "Accept\x00 (Poster)", "\x1b"])
def test_status_with_nul_or_a_control_character_is_422(client, path, value):
    # PostgreSQL cannot hold NUL in text: without the check this is a 500 there.
    assert_problem(
        client.get(path, params={"status": value}),
        422,
        unprocessable(["query", "status", 0], CONTROL_MSG, f"status.0: {CONTROL_MSG}"),
    )


def test_status_nul_in_a_second_value_names_its_index(client):
    assert_problem(
        client.get("/publications", params=[("status", POSTER), ("status", "\x00")]),
        422,
        unprocessable(["query", "status", 1], CONTROL_MSG, f"status.1: {CONTROL_MSG}"),
    )


@pytest.mark.parametrize(
    ("name", "msg"),
    [
        ("fields", f"unknown field '\\x00'; {ALLOWED_FIELDS}"),
        ("facets", f"unknown facet '\\x00'; {ALLOWED_FACETS}"),
    ],
)
def test_nul_in_fields_or_facets_is_422(client, name, msg):
    assert_problem(
        client.get("/publications", params={name: "\x00"}),
        422,
        unprocessable(["query", name], msg, f"{name}: {msg}"),
    )
