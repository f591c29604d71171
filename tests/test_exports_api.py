"""Publications in other formats over HTTP: `format`/`Accept` on the lists and on one
publication, the streamed `/publications/export`, cite keys as the database keeps them, and the
memory an export of 200,000 publications takes.

Sections 1-6 run on SQLite and PostgreSQL (the `client` and `empty_db` fixtures); every export
is read back by the parsers of tests/test_export_formats.py and compared, field by field, with
the API's own JSON. Section 7 (volume) runs on SQLite only: it needs a 200,000-publication
database, which tests/generate.py builds in seconds with bulk SQL on SQLite.
"""

import asyncio
import datetime as dt
import json
import threading
import time
import tracemalloc
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, text
from starlette.requests import Request

from app.core.config import Settings
from app.core.migrations import alembic_config, upgrade
from app.main import create_app
from app.queries import publications as queries
from app.routers.formats import export_response
from app.routers.publications import publication_filters, resolved_sort, selected_fields
from app.seed import loader
from tests.conftest import Database
from tests.generate import Generated, generate_sqlite
from tests.support import (
    BANNER_TITLE,
    ICLR,
    POSTER,
    TEQUILA_ABSTRACT,
    TEQUILA_AUTHORS,
    TEQUILA_TITLE,
    assert_problem,
    next_link,
    not_found,
    unprocessable,
)
from tests.test_export_formats import CSL_VALIDATOR, EXPECT, PARSE, csl_name
from tests.test_live_server import clean_env, serving

# --- the seed as the JSON API shows it, and its cite keys ----------------------------------------

# The default order (-published_on, ties by id; undated last).
SEED_ORDER = [2, 4, 5, 7, 8, 9, 1, 3, 6, 10]

# By hand, from the seed facts (tests/support.py) and the rules of app/exports/keys.py:
# family name of the first author (else "anon") + year (else "nd") + first title word that is
# not a stopword (else "untitled"); namesakes get -2, -3, ... by id.
# 1: "Spatial pattern ...", no authors, undated            -> anonndspatial
# 2, 5, 7, 8, 9: untitled, no authors, dated 2025-12-31    -> anon2025untitled, -2 .. -5
# 3, 6: nothing known                                      -> anonnduntitled, -2
# 4: "Tequila: ..." by Hong Huang, 2025                    -> huang2025tequila
# 10: "Bridging the ..." by Moritz von Knebel, undated     -> knebelndbridging
SEED_CITE_KEYS = {
    1: "anonndspatial",
    2: "anon2025untitled",
    3: "anonnduntitled",
    4: "huang2025tequila",
    5: "anon2025untitled-2",
    6: "anonnduntitled-2",
    7: "anon2025untitled-3",
    8: "anon2025untitled-4",
    9: "anon2025untitled-5",
    10: "knebelndbridging",
}

# `format` value: (the media type to ask for in Accept, the type answered, the export extension)
FORMATS = {
    "json": ("application/json", "application/json", "json"),
    "jsonl": ("application/jsonl", "application/jsonl", "jsonl"),
    "csv": ("text/csv", "text/csv; charset=utf-8; header=present", "csv"),
    "bibtex": ("application/x-bibtex", "application/x-bibtex; charset=utf-8", "bib"),
    "ris": (
        "application/x-research-info-systems",
        "application/x-research-info-systems; charset=utf-8",
        "ris",
    ),
    "csl-json": (
        "application/vnd.citationstyles.csl+json",
        "application/vnd.citationstyles.csl+json",
        "csl.json",
    ),
}
OTHER_FORMATS = [name for name in FORMATS if name != "json"]
PAGE_OFFERED = (
    "application/json, application/jsonl, text/csv, application/x-bibtex, "
    "application/x-research-info-systems, application/vnd.citationstyles.csl+json"
)
EXPORT_OFFERED = (
    "application/jsonl, application/json, text/csv, application/x-bibtex, "
    "application/x-research-info-systems, application/vnd.citationstyles.csl+json"
)


def answer_type(name: str) -> str:
    return FORMATS[name][1]


def accept(name: str) -> dict[str, str]:
    return {"Accept": FORMATS[name][0]}


def keyed(pub: dict[str, Any]) -> dict[str, Any]:
    """A seed publication of the JSON API as tests/test_export_formats.py's `expect_*` take it:
    a date, and its cite key."""
    published_on = pub["published_on"] and dt.date.fromisoformat(pub["published_on"])
    return {**pub, "published_on": published_on, "cite_key": SEED_CITE_KEYS[pub["id"]]}


def expected(name: str, pubs: list[dict[str, Any]]) -> Any:
    """What the parsers should read back from `name` holding `pubs` (JSON API items)."""
    if name == "json":
        return pubs
    return [EXPECT[name](keyed(pub)) for pub in pubs]


def parsed(name: str, body: str) -> Any:
    """A whole list document read back; `json` is the export's array."""
    return json.loads(body) if name == "json" else PARSE[name](body)


def json_results(client: TestClient, path: str, params: Any = None) -> list[dict[str, Any]]:
    """The results of one JSON page of up to 200 (the reference an export is compared with)."""
    response = client.get(path, params={**dict(params or {}), "limit": 200})
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    assert body["meta"]["next_cursor"] is None
    results: list[dict[str, Any]] = body["results"]
    return results


def get_without_accept(client: TestClient, url: str) -> httpx.Response:
    """GET with no Accept header at all (httpx sends `*/*` unless told otherwise)."""
    request = client.build_request("GET", url)
    del request.headers["accept"]
    return client.send(request)


def export_ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text[:300]
    return [line["id"] for line in PARSE["jsonl"](response.text)]


# --- 1. every format of the seed, three ways ----------------------------------------------------


@pytest.fixture(scope="module")
def seed_json(client: TestClient) -> list[dict[str, Any]]:
    pubs = json_results(client, "/publications")
    assert [pub["id"] for pub in pubs] == SEED_ORDER
    return pubs


def test_seed_cite_keys_in_every_keyed_format(client: TestClient) -> None:
    in_order = [SEED_CITE_KEYS[ident] for ident in SEED_ORDER]
    csv_rows = PARSE["csv"](client.get("/publications/export.csv").text)
    assert [(int(row["id"]), row["cite_key"]) for row in csv_rows] == list(
        zip(SEED_ORDER, in_order, strict=True)
    )
    assert [e["ID"] for e in PARSE["bibtex"](client.get("/publications/export.bib").text)] == (
        in_order
    )
    assert [r["id"] for r in PARSE["ris"](client.get("/publications/export.ris").text)] == in_order
    csl = PARSE["csl-json"](client.get("/publications/export.csl.json").text)
    assert [item["id"] for item in csl] == in_order


@pytest.mark.parametrize("name", list(FORMATS))
def test_the_seed_in_each_format_reads_back_as_the_json_api_says(
    client: TestClient, seed_json: list[dict[str, Any]], name: str
) -> None:
    """`format=`, `Accept` and `/publications/export.<ext>` agree, and their document reads
    back, field by field, as the JSON API's own answer."""
    media_type, answered, extension = FORMATS[name]
    by_param = client.get("/publications", params={"limit": 200, "format": name})
    by_accept = client.get("/publications", params={"limit": 200}, headers={"Accept": media_type})
    exported = client.get(f"/publications/export.{extension}")

    for page in (by_param, by_accept):
        assert page.status_code == 200, page.text[:300]
        assert page.headers["content-type"] == answered
        assert "content-disposition" not in page.headers
        assert "link" not in page.headers
    assert exported.status_code == 200, exported.text[:300]
    assert exported.headers["content-type"] == answered
    assert exported.headers["content-disposition"] == (
        f'attachment; filename="publications.{extension}"'
    )
    assert "x-total-count" not in exported.headers
    assert by_param.content == by_accept.content

    if name == "json":
        # A page is the envelope; the export, which has no room for one, the bare array.
        assert "x-total-count" not in by_param.headers
        assert by_param.json() == {
            "results": seed_json,
            "meta": {"total": 10, "limit": 200, "offset": 0, "next_cursor": None},
        }
        assert exported.text.startswith("[\n")
        assert json.loads(exported.text) == seed_json
    else:
        assert by_param.headers["x-total-count"] == "10"
        assert by_param.content == exported.content
    assert parsed(name, exported.text) == expected(name, seed_json)


@pytest.mark.parametrize("name", OTHER_FORMATS)
def test_scoped_lists_render_their_page_in_each_format(
    client: TestClient, seed_json: list[dict[str, Any]], name: str
) -> None:
    iclr = [pub for pub in seed_json if pub["venue"] == {"id": 2, "name": ICLR}]
    assert [pub["id"] for pub in iclr] == [4, 8, 9]
    venue = client.get("/venues/2/publications", params={"format": name})
    assert venue.status_code == 200, venue.text[:300]
    assert venue.headers["content-type"] == answer_type(name)
    assert venue.headers["x-total-count"] == "3"
    assert parsed(name, venue.text) == expected(name, iclr)

    knebel = [pub for pub in seed_json if pub["id"] == 10]
    author = client.get("/authors/11/publications", headers=accept(name))
    assert author.status_code == 200, author.text[:300]
    assert author.headers["content-type"] == answer_type(name)
    assert author.headers["x-total-count"] == "1"
    assert parsed(name, author.text) == expected(name, knebel)


# --- 2. one publication ---------------------------------------------------------------------------

# LaTeX specials in Tequila's abstract: braces and underscores.
TEQUILA_ABSTRACT_LATEX = (
    TEQUILA_ABSTRACT.replace("{", "\\{").replace("}", "\\}").replace("_", "\\_")
)
TEQUILA_BIBTEX = (
    "@inproceedings{huang2025tequila,\n"
    f"  title = {{{TEQUILA_TITLE}}},\n"
    f"  author = {{{' and '.join(TEQUILA_AUTHORS)}}},\n"
    f"  booktitle = {{{ICLR}}},\n"
    "  year = {2025},\n"
    "  month = dec,\n"
    "  date = {2025-12-31},\n"
    f"  abstract = {{{TEQUILA_ABSTRACT_LATEX}}},\n"
    f"  note = {{{POSTER}}}\n"
    "}\n"
)
TEQUILA_CSL = {
    "id": "huang2025tequila",
    "type": "paper-conference",
    "title": TEQUILA_TITLE,
    "author": [
        {"given": given, "family": family}
        for given, family in (name.split(" ") for name in TEQUILA_AUTHORS)
    ],
    "container-title": ICLR,
    "issued": {"date-parts": [[2025, 12, 31]]},
    "abstract": TEQUILA_ABSTRACT,
    "note": POSTER,
}
# Publication 10 (the banner publication): a title and one author, nothing else.
BANNER_DOCUMENTS = {
    "jsonl": '{"id":10,"title":"' + BANNER_TITLE + '","abstract":null,"published_on":null,'
    '"year":null,"venue":null,"status":null,'
    '"authors":[{"id":11,"name":"Moritz von Knebel","position":1}]}\n',
    "csv": "id,title,authors,abstract,published_on,year,venue_id,venue,status,cite_key\r\n"
    f"10,{BANNER_TITLE},Moritz von Knebel,,,,,,,knebelndbridging\r\n",
    "bibtex": "@misc{knebelndbridging,\n"
    f"  title = {{{BANNER_TITLE}}},\n"
    "  author = {Moritz von Knebel}\n"
    "}\n",
    "ris": "TY  - GEN\n"
    "ID  - knebelndbridging\n"
    f"TI  - {BANNER_TITLE}\n"
    "AU  - Moritz von Knebel\n"
    "ER  - \n\n",
    "csl-json": '{"id":"knebelndbridging","type":"document","title":"' + BANNER_TITLE + '",'
    '"author":[{"given":"Moritz von","family":"Knebel"}]}\n',
}


def test_one_publication_as_bibtex_is_exactly_one_entry(client: TestClient) -> None:
    response = client.get("/publications/4", params={"format": "bibtex"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-bibtex; charset=utf-8"
    assert "content-disposition" not in response.headers
    assert "x-total-count" not in response.headers
    assert response.text == TEQUILA_BIBTEX
    assert client.get("/publications/4", headers=accept("bibtex")).text == TEQUILA_BIBTEX


def test_one_publication_as_csl_json_is_one_valid_item(client: TestClient) -> None:
    response = client.get("/publications/4", headers=accept("csl-json"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.citationstyles.csl+json"
    item = json.loads(response.text)
    assert isinstance(item, dict)  # one object, not an array of one
    CSL_VALIDATOR.validate([item])
    assert item == TEQUILA_CSL
    assert [csl_name(name) for name in item["author"]] == TEQUILA_AUTHORS
    assert client.get("/publications/4", params={"format": "csl-json"}).text == response.text


@pytest.mark.parametrize("name", OTHER_FORMATS)
def test_one_small_publication_is_exactly_this_document(client: TestClient, name: str) -> None:
    by_param = client.get("/publications/10", params={"format": name})
    by_accept = client.get("/publications/10", headers=accept(name))
    for response in (by_param, by_accept):
        assert response.status_code == 200
        assert response.headers["content-type"] == answer_type(name)
        assert response.text == BANNER_DOCUMENTS[name]
    # The JSON Lines line is the JSON answer, compact.
    if name == "jsonl":
        assert json.loads(by_param.text) == client.get("/publications/10").json()


@pytest.mark.parametrize(
    ("path", "params", "headers", "detail"),
    [
        ("/publications/99", {"format": "bibtex"}, {}, "No publication with id 99."),
        ("/publications/99", {}, accept("bibtex"), "No publication with id 99."),
        ("/publications/99", {"format": "csl-json"}, {}, "No publication with id 99."),
        ("/publications/99", {}, accept("csl-json"), "No publication with id 99."),
        ("/publications/99", {"format": "jsonl"}, {}, "No publication with id 99."),
        ("/venues/99/publications", {"format": "csv"}, {}, "No venue with id 99."),
        ("/authors/99/publications", {}, accept("ris"), "No author with id 99."),
    ],
)
def test_not_found_stays_a_problem_whatever_the_format(
    client: TestClient, path: str, params: dict[str, str], headers: dict[str, str], detail: str
) -> None:
    response = client.get(path, params=params, headers=headers)
    assert_problem(response, 404, not_found(detail))
    assert response.headers["cache-control"] == "no-store"


# --- 3. pages in a format -------------------------------------------------------------------------


def test_a_csv_page_links_to_the_next_csv_page(
    client: TestClient, seed_json: list[dict[str, Any]]
) -> None:
    by_id = {pub["id"]: pub for pub in seed_json}
    first = client.get("/publications", params={"format": "csv", "limit": 3})
    assert first.status_code == 200
    assert first.headers["x-total-count"] == "10"
    assert [int(row["id"]) for row in PARSE["csv"](first.text)] == [2, 4, 5]
    url = next_link(first)
    assert url is not None
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.path == "/publications"
    assert sorted(query) == ["cursor", "format", "limit"]
    assert (query["format"], query["limit"]) == (["csv"], ["3"])

    # The cursor is the JSON page's: the format shapes the answer, not the result set.
    json_page = client.get("/publications", params={"limit": 3}).json()
    assert query["cursor"] == [json_page["meta"]["next_cursor"]]

    walked: list[int] = []
    pages = 0
    response = first
    while True:
        pages += 1
        assert response.status_code == 200, response.text[:300]
        assert response.headers["x-total-count"] == "10"
        assert response.headers["content-type"] == answer_type("csv")
        rows = PARSE["csv"](response.text)  # every page has its header row
        assert rows == [EXPECT["csv"](keyed(by_id[int(row["id"])])) for row in rows]
        walked += [int(row["id"]) for row in rows]
        link = next_link(response)
        if link is None:
            break
        assert "format=csv" in link
        response = client.get(link)
    assert walked == SEED_ORDER
    assert pages == 4


SEED_KEY_IDS = {key: ident for ident, key in SEED_CITE_KEYS.items()}


def document_keys(name: str, body: str) -> list[str]:
    """The cite keys of a document (JSON Lines has none: its ids stand for them)."""
    items = PARSE[name](body)
    if name == "jsonl":
        return [SEED_CITE_KEYS[item["id"]] for item in items]
    if name == "csv":
        return [row["cite_key"] for row in items]
    field = {"bibtex": "ID", "ris": "id", "csl-json": "id"}[name]
    return [item[field] for item in items]


@pytest.mark.parametrize("name", OTHER_FORMATS)
def test_pages_by_accept_walk_the_whole_list_once(client: TestClient, name: str) -> None:
    """Without `format`, the Link carries no format: the next request asks with Accept again."""
    walked: list[int] = []
    url: str | None = "/publications?limit=4"
    while url is not None:
        response = client.get(url, headers=accept(name))
        assert response.status_code == 200, response.text[:300]
        assert response.headers["content-type"] == answer_type(name)
        assert response.headers["x-total-count"] == "10"
        ids = [SEED_KEY_IDS[key] for key in document_keys(name, response.text)]
        walked += ids
        url = next_link(response)
        assert url is None or "format=" not in url
    assert walked == SEED_ORDER


def test_an_offset_page_in_bibtex(client: TestClient) -> None:
    response = client.get("/publications", params={"format": "bibtex", "limit": 4, "offset": 8})
    assert response.status_code == 200
    assert response.headers["x-total-count"] == "10"
    assert "link" not in response.headers
    assert [entry["ID"] for entry in PARSE["bibtex"](response.text)] == [
        "anonnduntitled-2",
        "knebelndbridging",
    ]


# --- 4. negotiation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_header", "name"),
    [
        ("text/csv;q=0.5, application/x-bibtex", "bibtex"),
        ("*/*", "json"),
        ("text/*", "csv"),
        ("application/*;q=0.1, text/csv", "csv"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "json"),
        ("application/x-ndjson", "jsonl"),
        ("application/ndjson", "jsonl"),
        ("text/x-bibtex", "bibtex"),
        ("APPLICATION/X-RESEARCH-INFO-SYSTEMS", "ris"),
        ("application/json;q=0.9, application/vnd.citationstyles.csl+json", "csl-json"),
        ("application/json;q=0, */*", "jsonl"),
    ],
)
def test_accept_chooses_the_format(client: TestClient, accept_header: str, name: str) -> None:
    response = client.get("/publications", params={"limit": 1}, headers={"Accept": accept_header})
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == answer_type(name)
    by_param = client.get("/publications", params={"limit": 1, "format": name})
    assert response.content == by_param.content


def test_without_accept_a_page_is_json_and_an_export_json_lines(client: TestClient) -> None:
    page = get_without_accept(client, "/publications?limit=1")
    assert page.status_code == 200
    assert page.headers["content-type"] == "application/json"
    assert page.json()["meta"]["total"] == 10
    export = get_without_accept(client, "/publications/export")
    assert export.headers["content-type"] == "application/jsonl"
    assert export.headers["content-disposition"] == 'attachment; filename="publications.jsonl"'
    assert export_ids(export) == SEED_ORDER
    star = client.get("/publications/export", headers={"Accept": "*/*"})
    assert star.content == export.content
    csv = client.get("/publications/export", headers=accept("csv"))
    assert csv.headers["content-type"] == answer_type("csv")
    assert csv.headers["content-disposition"] == 'attachment; filename="publications.csv"'
    assert csv.content == client.get("/publications/export.csv").content


def not_acceptable(offered: str) -> dict[str, Any]:
    msg = (
        f"none of the offered media types is acceptable: {offered} "
        "(or choose with the `format` parameter)"
    )
    return {
        "type": "about:blank",
        "title": "Not Acceptable",
        "status": 406,
        "detail": f"Accept: {msg}",
        "errors": [{"loc": ["header", "Accept"], "msg": msg}],
    }


@pytest.mark.parametrize(
    ("path", "accept_header", "offered"),
    [
        ("/publications", "image/png", PAGE_OFFERED),
        ("/publications", "application/json;q=0, text/csv;q=0", PAGE_OFFERED),
        ("/publications/4", "image/png", PAGE_OFFERED),
        ("/venues/2/publications", "text/html", PAGE_OFFERED),
        ("/authors/1/publications", "application/xml", PAGE_OFFERED),
        ("/publications/export", "image/png", EXPORT_OFFERED),
    ],
)
def test_nothing_acceptable_is_a_406_problem_not_stored(
    client: TestClient, path: str, accept_header: str, offered: str
) -> None:
    response = client.get(path, headers={"Accept": accept_header})
    assert_problem(response, 406, not_acceptable(offered))
    assert response.headers["cache-control"] == "no-store"


def test_format_overrides_accept(client: TestClient) -> None:
    ris = client.get("/publications/4", params={"format": "ris"}, headers={"Accept": "image/png"})
    assert ris.status_code == 200
    assert ris.headers["content-type"] == answer_type("ris")
    csv = client.get(
        "/publications", params={"format": "csv", "limit": 2}, headers=accept("bibtex")
    )
    assert csv.headers["content-type"] == answer_type("csv")
    assert [int(row["id"]) for row in PARSE["csv"](csv.text)] == [2, 4]
    export = client.get(
        "/publications/export", params={"format": "ris"}, headers={"Accept": "image/png"}
    )
    assert export.status_code == 200
    assert export.content == client.get("/publications/export.ris").content
    # The extension decides, whatever Accept says.
    by_extension = client.get("/publications/export.bib", headers={"Accept": "image/png"})
    assert by_extension.status_code == 200
    assert by_extension.headers["content-type"] == answer_type("bibtex")


@pytest.mark.parametrize(
    ("path", "params", "headers", "loc", "msg"),
    [
        (
            "/publications",
            {"format": "csv", "fields": "id"},
            {},
            ["query", "fields"],
            "applies to json and jsonl only, not csv",
        ),
        (
            "/publications",
            {"fields": "id,title"},
            accept("bibtex"),
            ["query", "fields"],
            "applies to json and jsonl only, not bibtex",
        ),
        (
            "/publications/4",
            {"format": "ris", "fields": "id"},
            {},
            ["query", "fields"],
            "applies to json and jsonl only, not ris",
        ),
        (
            "/venues/2/publications",
            {"format": "csl-json", "fields": "id"},
            {},
            ["query", "fields"],
            "applies to json and jsonl only, not csl-json",
        ),
        (
            "/publications",
            {"format": "jsonl", "facets": "year"},
            {},
            ["query", "facets"],
            "counts are in the JSON envelope only, not jsonl",
        ),
        (
            "/authors/1/publications",
            {"facets": "venue"},
            accept("csv"),
            ["query", "facets"],
            "counts are in the JSON envelope only, not csv",
        ),
        (
            "/publications/export.csv",
            {"fields": "id"},
            {},
            ["query", "fields"],
            "applies to json and jsonl only, not csv",
        ),
        (
            "/publications/export",
            {"fields": "id"},
            accept("bibtex"),
            ["query", "fields"],
            "applies to json and jsonl only, not bibtex",
        ),
        (
            "/publications",
            {"format": "xml"},
            {},
            ["query", "format"],
            "Input should be 'json', 'jsonl', 'csv', 'bibtex', 'ris' or 'csl-json'",
        ),
        (
            "/publications/export",
            {"format": "bib"},
            {},
            ["query", "format"],
            "Input should be 'json', 'jsonl', 'csv', 'bibtex', 'ris' or 'csl-json'",
        ),
        (
            "/publications/export.xyz",
            {},
            {},
            ["path", "extension"],
            "Input should be 'jsonl', 'json', 'csv', 'bib', 'ris' or 'csl.json'",
        ),
        (
            "/publications/export.jsonl",
            {"facets": "year"},
            {},
            ["query", "facets"],
            "unknown query parameter; allowed: "
            "author, fields, from_date, q, sort, status, to_date, venue, year",
        ),
        (
            "/publications/export",
            {"limit": "3"},
            {},
            ["query", "limit"],
            "unknown query parameter; allowed: "
            "author, fields, format, from_date, q, sort, status, to_date, venue, year",
        ),
    ],
)
def test_shapes_a_format_cannot_hold_are_422_problems_not_stored(
    client: TestClient,
    path: str,
    params: dict[str, str],
    headers: dict[str, str],
    loc: list[str],
    msg: str,
) -> None:
    response = client.get(path, params=params, headers=headers)
    assert_problem(response, 422, unprocessable(loc, msg, f"{'.'.join(loc[1:])}: {msg}"))
    assert response.headers["cache-control"] == "no-store"


def test_each_representation_has_its_own_etag(client: TestClient) -> None:
    tags = {}
    for name in FORMATS:
        response = client.get("/publications", headers=accept(name))
        assert response.status_code == 200
        assert response.headers["vary"].startswith("Accept, ")
        tags[name] = response.headers["etag"]
        again = client.get("/publications", headers=accept(name))
        assert again.headers["etag"] == tags[name]
    assert len(set(tags.values())) == len(FORMATS)
    # Each revalidates to a 304 for its own Accept only.
    csv_again = client.get("/publications", headers={**accept("csv"), "If-None-Match": tags["csv"]})
    assert (csv_again.status_code, csv_again.content) == (304, b"")
    as_json = client.get("/publications", headers={**accept("json"), "If-None-Match": tags["csv"]})
    assert as_json.status_code == 200
    assert as_json.headers["content-type"] == "application/json"
    # Exports too, each extension its own tag, and 304 on a match.
    export_tags = {
        ext: client.get(f"/publications/export.{ext}").headers["etag"]
        for ext in ("jsonl", "json", "csv", "bib", "ris", "csl.json")
    }
    assert len(set(export_tags.values())) == 6
    revalidated = client.get(
        "/publications/export.bib", headers={"If-None-Match": export_tags["bib"]}
    )
    assert (revalidated.status_code, revalidated.content) == (304, b"")


# --- 5. filters apply to exports ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "ids"),
    [
        ({}, SEED_ORDER),
        ({"venue": 2}, [4, 8, 9]),
        ({"venue": [1, 3]}, [2, 5, 7]),
        ({"year": 2025}, [2, 4, 5, 7, 8, 9]),
        ({"author": 1}, [4]),
        ({"status": POSTER}, [4, 8, 9]),
        ({"from_date": "2025-12-31", "to_date": "2025-12-31"}, [2, 4, 5, 7, 8, 9]),
        ({"from_date": "2026-01-01"}, []),
        ({"q": "ternary"}, [4]),
        # Relevance: BM25 on SQLite, ts_rank_cd on PostgreSQL.
        ({"q": "learning"}, {"sqlite": [3, 9, 2, 5], "postgresql": [9, 3, 2, 5]}),
        ({"sort": "title"}, [10, 1, 4, 2, 3, 5, 6, 7, 8, 9]),
        ({"sort": "-title"}, [4, 1, 10, 2, 3, 5, 6, 7, 8, 9]),
        ({"sort": "published_on"}, [2, 4, 5, 7, 8, 9, 1, 3, 6, 10]),
        ({"q": "learning", "sort": "-published_on", "venue": 2}, [9]),
    ],
)
def test_exports_hold_what_the_list_holds_in_its_order(
    client: TestClient,
    seeded_db: Database,
    params: dict[str, Any],
    ids: list[int] | dict[str, list[int]],
) -> None:
    reference = json_results(client, "/publications", params)
    expected_ids = ids[seeded_db.kind] if isinstance(ids, dict) else ids
    assert [pub["id"] for pub in reference] == expected_ids
    query = urlencode(params, doseq=True)
    jsonl = client.get(f"/publications/export.jsonl?{query}")
    assert PARSE["jsonl"](jsonl.text) == reference  # with `q`, the snippet is there too
    assert json.loads(client.get(f"/publications/export.json?{query}").text) == reference
    for name in ("csv", "bibtex", "ris", "csl-json"):
        response = client.get(f"/publications/export.{FORMATS[name][2]}?{query}")
        assert response.status_code == 200, response.text[:300]
        # Keys are the publications' own, whatever else the export holds.
        assert parsed(name, response.text) == expected(name, reference), name


def test_a_sparse_export_has_only_the_fields_asked(
    client: TestClient, seed_json: list[dict[str, Any]]
) -> None:
    titles = {pub["id"]: pub["title"] for pub in seed_json}
    response = client.get("/publications/export.jsonl", params={"fields": "id,title"})
    assert PARSE["jsonl"](response.text) == [
        {"id": ident, "title": titles[ident]} for ident in SEED_ORDER
    ]
    assert response.text.splitlines()[1] == f'{{"id":4,"title":"{TEQUILA_TITLE}"}}'
    # In the API's order of fields whatever the order asked, as a JSON page has them.
    reordered = client.get("/publications/export.json", params={"fields": "title,id", "venue": 2})
    assert reordered.text == (
        f'[\n{{"id":4,"title":"{TEQUILA_TITLE}"}}\n,{{"id":8,"title":null}}\n'
        ',{"id":9,"title":null}\n]\n'
    )
    page = client.get("/publications", params={"fields": "title,id", "venue": 2})
    assert [list(item) for item in page.json()["results"]] == [["id", "title"]] * 3
    snippets = client.get(
        "/publications/export.jsonl", params={"q": "tern", "fields": "id,snippet"}
    )
    assert PARSE["jsonl"](snippets.text) == json_results(
        client, "/publications", {"q": "tern", "fields": "id,snippet"}
    )
    assert [line["id"] for line in PARSE["jsonl"](snippets.text)] == [4]


@pytest.mark.parametrize(
    "params",
    [
        {"year": "0"},
        {"year": "twenty"},
        {"venue": "0"},
        {"author": "x"},
        {"status": ""},
        {"from_date": "2025-13-01"},
        {"from_date": "2025-02-01", "to_date": "2025-01-01"},
        {"sort": "relevance"},
        {"sort": "id"},
        {"fields": "id,bogus"},
        {"fields": "id,snippet"},
        {"q": "x" * 1001},
    ],
)
def test_bad_filters_are_the_same_problems_as_on_the_list(
    client: TestClient, params: dict[str, str]
) -> None:
    listed = client.get("/publications", params=params)
    assert listed.status_code == 422, listed.text[:300]
    for path in ("/publications/export", "/publications/export.jsonl"):
        exported = client.get(path, params=params)
        assert_problem(exported, 422, listed.json())
        assert exported.headers["cache-control"] == "no-store"


# --- 6. cite keys: unique and stable --------------------------------------------------------------


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def record(key: str, title: str, published_on: str, *authors: str) -> dict[str, Any]:
    return {"key": key, "title": title, "published_on": published_on, "authors": list(authors)}


def cite_keys_over_http(database: Database) -> dict[int, str]:
    """Each publication's key, as the CSV export gives it (a fresh app: no cached answers)."""
    with TestClient(create_app(database.settings())) as http:
        response = http.get("/publications/export.csv", params={"sort": "title"})
    assert response.status_code == 200, response.text[:300]
    return {int(row["id"]): row["cite_key"] for row in PARSE["csv"](response.text)}


def stored_bases(engine: Engine) -> dict[int, str | None]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, cite_base FROM publication ORDER BY id"))
        return dict(rows.all())


def test_namesakes_are_numbered_by_id_and_a_later_load_renames_none(
    empty_db: Database, tmp_path: Path
) -> None:
    first = write_jsonl(
        tmp_path / "first.jsonl",
        [
            record("a", "Engines of Thought", "2020-01-02", "Ada Lovelace"),
            record("b", "An Unrelated Study", "2020-02-03", "Alan Turing"),
            record("c", "Engines, again", "2020-06-01", "Ada Lovelace", "Charles Babbage"),
            # "The" is a stopword; the first author's family name is the last word.
            record("d", "The Engines Revisited", "2020-12-31", "Augusta Ada King Lovelace"),
            record("e", "Engines of Thought", "2021-01-02", "Ada Lovelace"),
        ],
    )
    engine = empty_db.engine()
    try:
        report = loader.load(engine, [first])
        assert (report.inserted, report.data_version) == (5, 1)
        assert stored_bases(engine) == {
            1: "lovelace2020engines",
            2: "turing2020unrelated",
            3: "lovelace2020engines",
            4: "lovelace2020engines",
            5: "lovelace2021engines",
        }
        before = {
            1: "lovelace2020engines",
            2: "turing2020unrelated",
            3: "lovelace2020engines-2",
            4: "lovelace2020engines-3",
            5: "lovelace2021engines",
        }
        assert cite_keys_over_http(empty_db) == before

        # Reloading the same file changes nothing; a later namesake comes after the others.
        assert loader.load(engine, [first]).inserted == 0
        later = write_jsonl(
            tmp_path / "later.jsonl",
            [record("f", "Engines for Everyone", "2020-03-03", "Ada Lovelace")],
        )
        assert loader.load(engine, [later]).inserted == 1
        assert stored_bases(engine)[6] == "lovelace2020engines"
        assert cite_keys_over_http(empty_db) == {**before, 6: "lovelace2020engines-4"}
        with TestClient(create_app(empty_db.settings())) as http:
            one = http.get("/publications/6", params={"format": "bibtex"}).text
            oldest = http.get("/publications/1", params={"format": "ris"}).text
        assert one.startswith("@misc{lovelace2020engines-4,\n")
        assert "ID  - lovelace2020engines\n" in oldest
    finally:
        engine.dispose()


# Rows written at revision 0003 (before cite_base), then migrated. Publication ids 6.. are a
# crowd of namesakes, more than one backfill batch (1000) of them.
CROWD = 2_500


def crowd_author(n: int) -> str:
    return "Ann Writer" if n % 2 else "Bob Reader"


def test_the_migration_backfills_cite_bases(empty_db: Database) -> None:
    config = alembic_config(empty_db.url)
    command.downgrade(config, "0003")
    engine = empty_db.engine()
    try:
        assert "cite_base" not in {c["name"] for c in inspect(engine).get_columns("publication")}
        authors = ["Moritz von Knebel", "Ada Lovelace", "Charles Babbage", "Plato"]
        authors += ["Ann Writer", "Bob Reader"]
        author_id = {name: n for n, name in enumerate(authors, start=1)}
        pubs: list[tuple[int, str | None, int | None]] = [
            (1, "The Ünïcode Paper", 2020),
            (2, None, None),
            (3, "On Engines", 2020),
            (4, "Engines again", 2020),
            (5, "Of the And", 2019),
        ]
        pubs += [(n, f"Study number {n}", 2021) for n in range(6, 6 + CROWD)]
        bylines = [(1, 1, "Moritz von Knebel"), (1, 2, "Ada Lovelace")]
        # Position 2 written before position 1: the first author is the one at position 1.
        bylines += [(3, 2, "Charles Babbage"), (3, 1, "Ada Lovelace"), (4, 1, "Ada Lovelace")]
        bylines += [(5, 1, "Plato")]
        bylines += [(n, 1, crowd_author(n)) for n in range(6, 6 + CROWD)]
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO author (id, name, sort_name, publication_count) "
                    "VALUES (:id, :name, :name, 0)"
                ),
                [{"id": ident, "name": name} for name, ident in author_id.items()],
            )
            conn.execute(
                text(
                    "INSERT INTO publication (id, key, content_hash, title, published_on, year) "
                    "VALUES (:id, :key, 'h', :title, :published_on, :year)"
                ),
                [
                    {
                        "id": ident,
                        "key": f"k{ident}",
                        "title": title,
                        "published_on": year and dt.date(year, 5, 1),
                        "year": year,
                    }
                    for ident, title, year in pubs
                ],
            )
            conn.execute(
                text(
                    "INSERT INTO publication_author (publication_id, position, author_id) "
                    "VALUES (:pub, :position, :author)"
                ),
                [
                    {"pub": pub, "position": position, "author": author_id[name]}
                    for pub, position, name in bylines
                ],
            )
        engine.dispose()

        upgrade(empty_db.url)
        engine.dispose()
        bases = stored_bases(engine)
        assert {ident: bases[ident] for ident in range(1, 6)} == {
            1: "knebel2020unicode",
            2: "anonnduntitled",
            3: "lovelace2020engines",
            4: "lovelace2020engines",
            5: "plato2019untitled",
        }
        assert bases == {
            **{ident: bases[ident] for ident in range(1, 6)},
            **{n: ("writer" if n % 2 else "reader") + "2021study" for n in range(6, 6 + CROWD)},
        }
        indexes = {
            ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("publication")
        }
        assert indexes["ix_publication_cite_base"] == ["cite_base", "id"]

        keys = cite_keys_over_http(empty_db)
        assert {ident: keys[ident] for ident in range(1, 6)} == {
            1: "knebel2020unicode",
            2: "anonnduntitled",
            3: "lovelace2020engines",
            4: "lovelace2020engines-2",
            5: "plato2019untitled",
        }
        # Readers are the even ids from 6, writers the odd ones from 7: each numbered by id.
        assert keys[6] == "reader2021study"
        assert keys[7] == "writer2021study"
        assert keys[8] == "reader2021study-2"
        assert keys[6 + CROWD - 1] == f"writer2021study-{CROWD // 2}"
        assert keys[6 + CROWD - 2] == f"reader2021study-{CROWD // 2}"
        assert len(set(keys.values())) == len(keys) == 5 + CROWD
    finally:
        engine.dispose()


# --- 7. volume: 200,000 publications in constant memory (SQLite only) ----------------------------

BIG = 200_000
SMALL = 20_000  # the same shape of data, a tenth of it: what a batch may cost at any size
BATCH = 1000  # app.queries.publications.iter_publications's batch
MEASURED_YEAR = 2020  # one of ten generated years: about 10% of the publications
MIB = 1 << 20
# A 200,000-publication export that takes longer fails, saying how far it got, rather than
# holding CI for many minutes (the in-process one runs under tracemalloc, ~3x slower).
TRACED_DEADLINE = 400.0
HTTP_DEADLINE = 240.0


def out_of_time(seconds: float, done: int, total: int, deadline: float) -> bool:
    """Past the deadline, or, from a fifth of it on, going at a pace that would need twice it."""
    if seconds > deadline:
        return True
    return seconds > deadline / 5 and seconds * total > 2 * deadline * max(done, 1)


@dataclass(frozen=True)
class GeneratedDB:
    path: Path
    facts: Generated

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"


@pytest.fixture(scope="module")
def big_db(tmp_path_factory: pytest.TempPathFactory) -> GeneratedDB:
    path = tmp_path_factory.mktemp("big") / "pubapi.db"
    return GeneratedDB(path, generate_sqlite(path, BIG))


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> GeneratedDB:
    path = tmp_path_factory.mktemp("small") / "pubapi.db"
    return GeneratedDB(path, generate_sqlite(path, SMALL))


def test_the_generated_database_is_what_the_app_serves(big_db: GeneratedDB) -> None:
    facts = big_db.facts
    assert sum(facts.per_year.values()) == BIG
    assert sorted(facts.per_year) == list(range(2015, 2025))
    assert BIG // 12 < facts.per_year[MEASURED_YEAR] < BIG // 8
    # ~700 characters of title and abstract each: a JSON Lines export of over 100 MB.
    assert facts.body_chars > 700 * BIG
    with TestClient(create_app(Settings(_env_file=None, database_url=big_db.url))) as http:
        tail = http.get(
            "/publications", params={"limit": 2, "sort": "title", "year": MEASURED_YEAR}
        )
        one = http.get("/publications/1", params={"format": "bibtex"})
    assert tail.status_code == 200, tail.text[:300]
    assert tail.json()["meta"]["total"] == facts.per_year[MEASURED_YEAR]
    assert one.status_code == 200
    assert one.text.startswith("@")


def export_request(app: FastAPI, query: dict[str, Any]) -> Request:
    """The request `/publications/export.jsonl?<query>` as the route receives it."""
    return Request(
        {
            "type": "http",
            "method": "GET",
            "scheme": "http",
            "server": ("testserver", 80),
            "path": "/publications/export.jsonl",
            "raw_path": b"/publications/export.jsonl",
            "query_string": urlencode(query, doseq=True).encode(),
            "headers": [(b"accept-encoding", b"identity")],
            "app": app,
            "state": {},
        }
    )


@dataclass
class Drained:
    lines: int = 0
    size: int = 0
    seconds: float = 0.0
    finished: bool = False


async def drain(body: AsyncIterable[Any], expected: int, first_only: bool = False) -> Drained:
    """Read a streamed body of `expected` lines to its end (or its first chunk, or until it is
    `out_of_time`)."""
    drained = Drained()
    start = time.monotonic()
    async for chunk in body:
        assert isinstance(chunk, bytes)
        drained.lines += chunk.count(b"\n")
        drained.size += len(chunk)
        seconds = time.monotonic() - start
        if first_only or out_of_time(seconds, drained.lines, expected, TRACED_DEADLINE):
            break
    else:
        drained.finished = True
    drained.seconds = time.monotonic() - start
    return drained


def stream_export(
    app: FastAPI, year: int | None, expected: int, first_only: bool = False
) -> Drained:
    """`/publications/export.jsonl[?year=...]` through the route's own code: the dependencies
    that read its parameters, then `export_response` and its body iterator."""
    query = {} if year is None else {"year": year}
    filters = asyncio.run(publication_filters(year=None if year is None else [year]))
    response = export_response(
        export_request(app, query),
        filters,
        asyncio.run(resolved_sort(None, None)),
        asyncio.run(selected_fields(None, None)),
        "jsonl",
    )
    assert response.media_type == "application/jsonl"
    return asyncio.run(drain(response.body_iterator, expected, first_only))


def traced_peak(app: FastAPI, year: int | None, expected: int) -> tuple[Drained, int]:
    tracemalloc.start()
    try:
        drained = stream_export(app, year, expected)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return drained, peak


def test_an_export_holds_one_batch_in_memory_however_many_rows(big_db: GeneratedDB) -> None:
    """tracemalloc's peak while the export's body is read: all 200,000 publications take no
    more than the ~20,000 of one year (SQLite only: see the module docstring)."""
    app = create_app(Settings(_env_file=None, database_url=big_db.url))
    in_year = big_db.facts.per_year[MEASURED_YEAR]
    try:
        # Warm up each query shape (SQLAlchemy's statement cache, lazy imports) on one batch.
        stream_export(app, MEASURED_YEAR, in_year, first_only=True)
        stream_export(app, None, BIG, first_only=True)
        tenth, tenth_peak = traced_peak(app, MEASURED_YEAR, in_year)
        whole, whole_peak = traced_peak(app, None, BIG)
    finally:
        app.state.engine.dispose()
        app.state.write_engine.dispose()
    numbers = (
        f"{tenth.lines} rows: peak {tenth_peak / MIB:.1f} MiB in {tenth.seconds:.0f} s; "
        f"{whole.lines} rows: peak {whole_peak / MIB:.1f} MiB in {whole.seconds:.0f} s "
        f"({whole.size / MIB:.0f} MiB streamed)"
    )
    print(numbers)
    assert tenth.finished, f"the export of one year did not finish in time: {numbers}"
    assert tenth.lines == in_year
    assert whole.finished, (
        f"the 200,000-row export cannot finish within {TRACED_DEADLINE:.0f} s: {numbers}"
    )
    assert whole.lines == BIG
    assert whole_peak < 1.5 * tenth_peak, numbers


def rss(pid: int) -> int:
    """Resident set size of process `pid`, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


class RssSampler(threading.Thread):
    """Samples a process's RSS every 10 ms until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[int] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.samples.append(rss(self.pid))
            self.stopped.wait(0.01)

    def __enter__(self) -> "RssSampler":
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopped.set()
        self.join()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_a_served_export_of_200000_rows_streams_in_constant_memory(
    big_db: GeneratedDB, tmp_path: Path
) -> None:
    """`pubapi serve` (one uvicorn worker, in its own process) streams the whole database as
    JSON Lines while its RSS stays flat (SQLite only: see the module docstring)."""
    env = clean_env(PUBAPI_DATABASE_URL=big_db.url, PUBAPI_ACCESS_LOG="false")
    identity = {"Accept-Encoding": "identity"}
    with (
        serving(tmp_path, env) as (base, process),
        # Read timeout: the export's first batch waits for its query.
        httpx.Client(base_url=base, timeout=HTTP_DEADLINE) as http,
    ):
        # The pid is the server's: `pubapi serve` runs uvicorn in-process with one worker.
        assert b"serve" in Path(f"/proc/{process.pid}/cmdline").read_bytes()
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text()
        assert children.split() == []
        # Warm up the export path on a few hundred rows.
        few = {"venue": 1, "year": 2015}
        warm = http.get("/publications/export.jsonl", params=few)
        assert warm.status_code == 200
        total = http.get("/publications", params={**few, "limit": 1}).json()["meta"]["total"]
        assert len(warm.text.splitlines()) == total > 100
        baseline = min(rss(process.pid) for _ in range(5))
        lines = size = 0
        first = b""
        start = time.monotonic()
        finished = False
        with (
            RssSampler(process.pid) as sampler,
            http.stream("GET", "/publications/export.jsonl", headers=identity) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/jsonl"
            assert "content-encoding" not in response.headers
            for chunk in response.iter_raw():
                if not first:
                    first = chunk
                lines += chunk.count(b"\n")
                size += len(chunk)
                if out_of_time(time.monotonic() - start, lines, BIG, HTTP_DEADLINE):
                    break
            else:
                finished = True
        seconds = time.monotonic() - start
    growth = max(sampler.samples) - baseline
    numbers = (
        f"{lines} lines, {size / MIB:.0f} MiB in {seconds:.0f} s; server RSS {baseline / MIB:.0f}"
        f" MiB before, max {max(sampler.samples) / MIB:.0f} MiB ({len(sampler.samples)} samples)"
        f": growth {growth / MIB:.1f} MiB"
    )
    print(numbers)
    assert finished, f"the export cannot finish within {HTTP_DEADLINE:.0f} s: {numbers}"
    assert lines == BIG, numbers
    assert size > 100_000_000, numbers
    assert set(json.loads(first.split(b"\n")[0])) == set(queries.FIELDS)
    assert growth < 60_000_000, numbers
