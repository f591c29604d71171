"""The seed loader: exact contents, idempotence, stable ids, all-or-nothing, streaming, progress."""

import copy
import datetime as dt
import json
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, select, update
from tqdm import tqdm

from app.core.db import make_engine
from app.core.migrations import upgrade
from app.models.tables import AUTHOR, DATASET_STATE, PUBLICATION, PUBLICATION_AUTHOR, VENUE
from app.queries.bylines import decode, refresh
from app.seed import loader
from app.seed.loader import LoadReport, SeedError
from app.seed.records import SeedPublication
from tests.support import BANNER_AUTHOR, ICLR, ICML, SEED_DIR, TEQUILA_AUTHORS, WORKSHOP

SEED_FILE = SEED_DIR / "publications.json"
SEED_RECORDS: list[dict[str, Any]] = json.loads(SEED_FILE.read_text(encoding="utf-8"))

DAY = dt.date(2025, 12, 31)
# Tequila (publication 4) names authors 1..10 in order; the banner publication (10), author 11.
SEED_BYLINES = [*((4, position, position) for position in range(1, 11)), (10, 1, 11)]


# --- helpers ----------------------------------------------------------------------------------


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def write_json(path: Path, records: Any) -> Path:
    path.write_text(json.dumps(records, indent=2), encoding="utf-8")
    return path


def dump(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table in the database, all columns, in primary-key order.

    Leaves out the search index, derived from the publications and engine-specific in shape
    (tests/test_search.py checks that it follows every load).
    """
    metadata = MetaData()
    metadata.reflect(engine, only=lambda name, _meta: not name.startswith("publication_search"))
    tables: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for name, table in sorted(metadata.tables.items()):
            order = list(table.primary_key.columns) or list(table.columns)
            rows = conn.execute(select(table).order_by(*order))
            tables[name] = [dict(row._mapping) for row in rows]
    return tables


def rows(engine: Engine, *columns: Any) -> list[tuple[Any, ...]]:
    table = columns[0].table
    with engine.connect() as conn:
        query = select(*columns).order_by(*table.primary_key.columns)
        return [tuple(row) for row in conn.execute(query)]


def bylines(engine: Engine) -> list[tuple[Any, ...]]:
    """(publication id, position, author id) of every byline entry."""
    byline = PUBLICATION_AUTHOR.c
    return rows(engine, byline.publication_id, byline.position, byline.author_id)


def refused(engine: Engine, paths: list[Path]) -> SeedError:
    """The SeedError that loading `paths` raises, once checked that the load wrote nothing."""
    before = dump(engine)
    with pytest.raises(SeedError) as caught:
        loader.load(engine, paths)
    assert dump(engine) == before
    return caught.value


def derived_key(record: dict[str, Any]) -> str:
    return SeedPublication.model_validate(record).natural_key()


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """A database of this test's own, holding the seed data."""
    loader.load(engine, [SEED_DIR])
    return engine


def sqlite_engine(directory: Path) -> Engine:
    url = f"sqlite:///{directory / 'pubapi.db'}"
    upgrade(url)
    return make_engine(url)


# --- loading the seed data --------------------------------------------------------------------


def test_load_seed_directory_reports_ten_new(engine):
    report = loader.load(engine, [SEED_DIR])
    assert report == LoadReport(
        files=[SEED_FILE], records=10, inserted=10, updated=0, unchanged=0, data_version=1
    )
    assert report.changed is True


def test_load_seed_gives_exact_venues_in_first_appearance_order(engine):
    loader.load(engine, [SEED_DIR])
    assert rows(engine, VENUE.c.id, VENUE.c.name, VENUE.c.sort_name, VENUE.c.publication_count) == [
        (1, ICML, "international conference on machine learning", 2),
        (2, ICLR, "international conference on learning representations", 3),
        (
            3,
            WORKSHOP,
            "workshop proposals @ international conference on learning representations",
            1,
        ),
    ]


def test_load_seed_gives_exact_authors_and_bylines(engine):
    loader.load(engine, [SEED_DIR])
    names = [*TEQUILA_AUTHORS, BANNER_AUTHOR]
    assert rows(
        engine, AUTHOR.c.id, AUTHOR.c.name, AUTHOR.c.sort_name, AUTHOR.c.publication_count
    ) == [(i, name, name.lower(), 1) for i, name in enumerate(names, start=1)]
    assert bylines(engine) == SEED_BYLINES


def test_load_seed_gives_exact_publications(engine):
    loader.load(engine, [SEED_DIR])
    venue_ids = {None: None, ICML: 1, ICLR: 2, WORKSHOP: 3}
    expected = [
        (
            number,
            derived_key(record),
            record["title"],
            record["title"].lower() if record["title"] else None,
            record["abstract"],
            DAY if record["published_on"] else None,
            2025 if record["published_on"] else None,
            venue_ids[record["venue"]],
            record["status"],
        )
        for number, record in enumerate(SEED_RECORDS, start=1)
    ]
    P = PUBLICATION.c
    columns = [P.id, P.key, P.title, P.sort_title, P.abstract, P.published_on, P.year]
    actual = rows(engine, *columns, P.venue_id, P.status)
    assert actual == expected
    # The same, spelled out for what the comprehension above derives.
    keys = [row[1] for row in actual]
    assert len(set(keys)) == 10
    assert [k for k in keys if not re.fullmatch(r"derived:[0-9a-f]{32}", k)] == []
    assert [(row[0], row[3]) for row in actual if row[3] is not None] == [
        (1, "spatial pattern regression for meteorological fields interpolation"),
        (4, "tequila: deadzone-free ternary quantization for large language models"),
        (10, "bridging the expertise gap: knowledge transfer mechanisms for ai regulation"),
    ]
    assert [(row[0], row[5], row[6], row[7]) for row in actual] == [
        (1, None, None, None),
        (2, DAY, 2025, 1),
        (3, None, None, None),
        (4, DAY, 2025, 2),
        (5, DAY, 2025, 3),
        (6, None, None, None),
        (7, DAY, 2025, 1),
        (8, DAY, 2025, 2),
        (9, DAY, 2025, 2),
        (10, None, None, None),
    ]


def test_load_seed_sets_data_version_one(engine):
    loader.load(engine, [SEED_DIR])
    [(ident, version, updated_at)] = rows(
        engine, DATASET_STATE.c.id, DATASET_STATE.c.version, DATASET_STATE.c.updated_at
    )
    assert (ident, version) == (1, 1)
    assert isinstance(updated_at, dt.datetime)
    with engine.connect() as conn:
        assert loader.current_data_version(conn) == 1


def test_empty_database_has_data_version_zero(engine):
    with engine.connect() as conn:
        assert loader.current_data_version(conn) == 0


def test_table_counts_after_loading_the_seed(engine):
    loader.load(engine, [SEED_DIR])
    tables = dump(engine)
    counts = {name: len(content) for name, content in tables.items()}
    assert counts == {
        "alembic_version": 1,
        "author": 11,
        "consent": 0,
        "consent_state": 0,
        "dataset_state": 1,
        "idempotency_key": 0,
        "publication": 10,
        "publication_author": 11,
        "venue": 3,
    }


def test_a_load_leaves_the_planner_statistics_of_every_table_it_wrote(engine):
    """The search table's too: without them PostgreSQL guesses how many documents a word
    matches. (SQLite analyzes every table holding rows, FTS5's own among them.)"""
    loader.load(engine, [SEED_DIR])
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            query = "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()"
        else:
            query = "SELECT DISTINCT tbl FROM sqlite_stat1"
        analyzed = {name for (name,) in conn.exec_driver_sql(query)}
    loaded = {"publication", "publication_author", "author", "venue"}
    if engine.dialect.name == "postgresql":
        assert analyzed == loaded | {"publication_search"}
    else:
        fts5 = {
            f"publication_search_{part}" for part in ("config", "content", "data", "docsize", "idx")
        }
        assert analyzed == loaded | fts5 | {"alembic_version"}


# --- idempotence ------------------------------------------------------------------------------


def test_reloading_the_same_files_changes_nothing(seeded):
    before = dump(seeded)
    report = loader.load(seeded, [SEED_DIR])
    assert report == LoadReport(
        files=[SEED_FILE], records=10, inserted=0, updated=0, unchanged=10, data_version=1
    )
    assert report.changed is False
    assert dump(seeded) == before


def test_reloading_the_same_records_as_json_lines_changes_nothing(seeded, tmp_path):
    before = dump(seeded)
    again = write_jsonl(tmp_path / "publications.jsonl", SEED_RECORDS)
    report = loader.load(seeded, [again])
    assert report == LoadReport(
        files=[again], records=10, inserted=0, updated=0, unchanged=10, data_version=1
    )
    assert dump(seeded) == before


# --- stable ids -------------------------------------------------------------------------------


def test_changed_abstract_of_titled_record_updates_in_place(seeded, tmp_path):
    before = dump(seeded)
    records = copy.deepcopy(SEED_RECORDS)
    records[3]["abstract"] = "A rewritten abstract."
    changed = write_json(tmp_path / "publications.json", records)

    report = loader.load(seeded, [changed])

    assert report == LoadReport(
        files=[changed], records=10, inserted=0, updated=1, unchanged=9, data_version=2
    )
    after = dump(seeded)
    expected = copy.deepcopy(before)
    tequila = expected["publication"][3]
    assert tequila["id"] == 4
    assert after["publication"][3]["content_hash"] != tequila["content_hash"]
    tequila["abstract"] = "A rewritten abstract."
    tequila["content_hash"] = after["publication"][3]["content_hash"]
    expected["dataset_state"][0]["version"] = 2
    assert after["dataset_state"][0]["updated_at"] > before["dataset_state"][0]["updated_at"]
    expected["dataset_state"][0]["updated_at"] = after["dataset_state"][0]["updated_at"]
    assert after == expected

    # The same changed file once more: nothing to do, the version stays at 2.
    report = loader.load(seeded, [changed])
    assert report == LoadReport(
        files=[changed], records=10, inserted=0, updated=0, unchanged=10, data_version=2
    )
    assert dump(seeded) == after


def test_changed_venue_updates_in_place_and_recounts_venues(seeded, tmp_path):
    records = copy.deepcopy(SEED_RECORDS)
    records[3]["venue"] = "A New Venue"
    records[3]["status"] = "Accept (Oral)"
    report = loader.load(seeded, [write_jsonl(tmp_path / "changed.jsonl", records)])
    assert (report.inserted, report.updated, report.unchanged, report.data_version) == (0, 1, 9, 2)

    assert rows(seeded, VENUE.c.id, VENUE.c.name, VENUE.c.publication_count) == [
        (1, ICML, 2),
        (2, ICLR, 2),
        (3, WORKSHOP, 1),
        (4, "A New Venue", 1),
    ]
    P = PUBLICATION.c
    assert rows(seeded, P.id, P.venue_id, P.status) == [
        (1, None, None),
        (2, 1, "Accept (regular)"),
        (3, None, None),
        (4, 4, "Accept (Oral)"),
        (5, 3, "published"),
        (6, None, None),
        (7, 1, "Accept (regular)"),
        (8, 2, "Accept (Poster)"),
        (9, 2, "Accept (Poster)"),
        (10, None, None),
    ]
    # The byline of the updated publication is rewritten unchanged.
    assert bylines(seeded) == SEED_BYLINES


def stored_bylines(engine: Engine) -> dict[int, list[dict[str, Any]]]:
    """Each publication's byline as its row keeps it (app/queries/bylines.py), decoded."""
    P = PUBLICATION.c
    return {ident: decode(text) for ident, text in rows(engine, P.id, P.byline)}


def rebuilt_bylines(engine: Engine) -> dict[int, list[dict[str, Any]]]:
    """The same, rebuilt in SQL from publication_author (what the migration fills in)."""
    with engine.begin() as conn:
        refresh(conn)
    return stored_bylines(engine)


def byline(*authors: tuple[int, str]) -> list[dict[str, Any]]:
    return [
        {"id": ident, "name": name, "position": position}
        for position, (ident, name) in enumerate(authors, start=1)
    ]


def test_each_publication_row_keeps_its_byline_as_the_api_shows_it(seeded):
    P = PUBLICATION.c
    stored = stored_bylines(seeded)
    assert stored == {
        **{ident: [] for ident in range(1, 11)},
        4: byline(*enumerate(TEQUILA_AUTHORS, start=1)),
        10: byline((11, BANNER_AUTHOR)),
    }
    # Compact JSON, names as they are (not \u-escaped); a publication without authors: [].
    assert rows(seeded, P.id, P.byline)[9] == (
        10,
        '[{"id":11,"name":"Moritz von Knebel","position":1}]',
    )
    assert rows(seeded, P.id, P.byline)[0] == (1, "[]")
    # The loader's copy and the one rebuilt from publication_author in SQL agree.
    assert rebuilt_bylines(seeded) == stored


def test_a_reload_that_changes_a_byline_rewrites_its_copy(engine, tmp_path):
    record = {"key": "k1", "title": "One", "authors": ["Zoë Ölm", "Bo"]}
    other = {"key": "k2", "title": "Two", "authors": ["Bo"]}
    loader.load(engine, [write_jsonl(tmp_path / "a.jsonl", [record, other])])
    assert stored_bylines(engine) == {1: byline((1, "Zoë Ölm"), (2, "Bo")), 2: byline((2, "Bo"))}

    record["authors"] = ["Bo", "Cy", "Zoë Ölm"]
    report = loader.load(engine, [write_jsonl(tmp_path / "b.jsonl", [record, other])])
    assert (report.updated, report.unchanged) == (1, 1)
    stored = stored_bylines(engine)
    assert stored == {1: byline((2, "Bo"), (3, "Cy"), (1, "Zoë Ölm")), 2: byline((2, "Bo"))}
    assert rebuilt_bylines(engine) == stored


def test_refresh_rewrites_only_the_publications_named(seeded):
    P = PUBLICATION.c
    with seeded.begin() as conn:
        conn.execute(update(PUBLICATION).values(byline=None))
        refresh(conn, [10])
    # (PostgreSQL's JSON functions space their text out: compared decoded.)
    found = rows(seeded, P.id, P.byline)
    assert [text for _ident, text in found[:9]] == [None] * 9
    assert decode(found[9][1]) == byline((11, BANNER_AUTHOR))


def test_changed_authors_of_an_unkeyed_record_make_a_new_publication(seeded, tmp_path):
    # Without a key, a publication is its title (or abstract) and its authors.
    records = copy.deepcopy(SEED_RECORDS)
    records[9]["authors"] = ["Moritz von Knebel", "A Coauthor"]
    report = loader.load(seeded, [write_jsonl(tmp_path / "changed.jsonl", records)])
    assert (report.inserted, report.updated, report.unchanged, report.data_version) == (1, 0, 9, 2)
    assert rows(seeded, PUBLICATION.c.id, PUBLICATION.c.title)[9:] == [
        (10, records[9]["title"]),
        (11, records[9]["title"]),
    ]


def test_reloading_in_another_order_keeps_every_id(seeded, tmp_path):
    before = dump(seeded)
    reversed_file = write_jsonl(tmp_path / "reversed.jsonl", SEED_RECORDS[::-1])
    report = loader.load(seeded, [reversed_file])
    assert report == LoadReport(
        files=[reversed_file], records=10, inserted=0, updated=0, unchanged=10, data_version=1
    )
    assert dump(seeded) == before


def test_records_with_a_key_are_matched_on_the_key(engine, tmp_path):
    first = [
        {"key": "alpha", "title": "Alpha", "authors": ["Ann", "Eve"]},
        # Same title as "alpha" and the same authors: a different publication, as the key differs.
        {"key": "beta", "title": "Alpha", "authors": ["Ann", "Eve"]},
        {"title": "Gamma", "authors": ["Cy"]},
    ]
    report = loader.load(engine, [write_jsonl(tmp_path / "one.jsonl", first)])
    assert (report.inserted, report.data_version) == (3, 1)
    P = PUBLICATION.c
    assert rows(engine, P.id, P.key, P.title) == [
        (1, "alpha", "Alpha"),
        (2, "beta", "Alpha"),
        (3, derived_key(first[2]), "Gamma"),
    ]

    # Everything but the key changes, the byline too: still the same publication.
    second = copy.deepcopy(first)
    second[0] = {"key": "alpha", "title": "Alpha, revised", "abstract": "New.", "authors": ["Dee"]}
    second[1]["authors"] = ["Eve", "Bob"]
    report = loader.load(engine, [write_jsonl(tmp_path / "two.jsonl", second)])
    assert (report.inserted, report.updated, report.unchanged, report.data_version) == (0, 2, 1, 2)
    assert rows(engine, P.id, P.key, P.title, P.abstract) == [
        (1, "alpha", "Alpha, revised", "New."),
        (2, "beta", "Alpha", None),
        (3, derived_key(first[2]), "Gamma", None),
    ]
    assert bylines(engine) == [(1, 1, 4), (2, 1, 2), (2, 2, 5), (3, 1, 3)]
    # New authors get ids in order of first appearance: Dee (alpha) before Bob (beta).
    assert rows(engine, AUTHOR.c.id, AUTHOR.c.name, AUTHOR.c.publication_count) == [
        (1, "Ann", 0),
        (2, "Eve", 1),
        (3, "Cy", 1),
        (4, "Dee", 1),
        (5, "Bob", 1),
    ]


def test_derived_key_ignores_case_accents_and_spacing_of_title_and_authors(engine, tmp_path):
    loader.load(
        engine, [write_jsonl(tmp_path / "a.jsonl", [{"title": "Café", "authors": ["Zoë"]}])]
    )
    report = loader.load(
        engine,
        [write_jsonl(tmp_path / "b.jsonl", [{"title": "  CAFE ", "authors": ["zoe"]}])],
    )
    assert (report.inserted, report.updated, report.data_version) == (0, 1, 2)
    assert rows(engine, PUBLICATION.c.id, PUBLICATION.c.title) == [(1, "CAFE")]


# --- all or nothing ---------------------------------------------------------------------------

GOOD_A = [{"title": f"New paper A{i}", "authors": [f"Writer A{i}"]} for i in range(3)]


def bad_line_cases() -> list[Any]:
    dup = json.dumps({"title": "New paper B1", "authors": ["Writer B1"]})
    return [
        pytest.param(
            '{"title": "Bad", "published_on": "2025-13-45"}',
            ", field 'published_on': Input should be a valid date or datetime, month value is "
            "outside expected range of 1-12",
            id="impossible-date",
        ),
        pytest.param(
            '{"title": "Bad", "published_on": "31/12/2025"}',
            ", field 'published_on': must be an ISO 8601 date such as 2025-12-31",
            id="non-iso-date",
        ),
        pytest.param(
            '{"title": "Bad", "published_on": 1767139200}',
            ", field 'published_on': must be an ISO 8601 date such as 2025-12-31",
            id="unix-time",
        ),
        pytest.param(
            '{"title": "Bad", "authors": "x"}',
            ", field 'authors': Input should be a valid list",
            id="authors-string",
        ),
        pytest.param(
            '{"title": "Bad", "authors": ["Ok", ""]}',
            ", field 'authors.1': String should have at least 1 character",
            id="empty-author",
        ),
        pytest.param(
            '{"title": "Bad", "authors": ["Twice", "Twice"]}',
            ", field 'authors': author 'Twice' appears twice in the byline",
            id="author-twice",
        ),
        pytest.param(
            '{"title": "Bad", "doi": "10.1/x"}',
            ", field 'doi': Extra inputs are not permitted",
            id="unknown-field",
        ),
        pytest.param(
            '{"title": "   "}',
            ", field 'title': String should have at least 1 character",
            id="blank-title",
        ),
        pytest.param(
            '["not", "an", "object"]',
            ": a record must be a JSON object",
            id="not-an-object",
        ),
        pytest.param(
            '{"title": "Bad" "authors": []}',
            ": invalid JSON: Expecting ',' delimiter at column 17",
            id="invalid-json",
        ),
        pytest.param(
            '{"title": "Bad",',
            ": invalid JSON: Expecting property name enclosed in double quotes at column 17",
            id="truncated-json",
        ),
        pytest.param(
            dup,
            ", field 'key': duplicate key "
            f"'{derived_key(json.loads(dup))}' (also at {{b}}, line 1)",
            id="duplicate-key",
        ),
    ]


@pytest.mark.parametrize(("bad_line", "message"), bad_line_cases())
def test_bad_record_in_second_file_rolls_everything_back(seeded, tmp_path, bad_line, message):
    a = write_jsonl(tmp_path / "a.jsonl", GOOD_A)
    b = tmp_path / "b.jsonl"
    good_b = [json.dumps({"title": f"New paper B{i}", "authors": [f"Writer B{i}"]}) for i in (1, 2)]
    b.write_text("\n".join([*good_b, bad_line, good_b[0].replace("B1", "B4")]) + "\n")

    # Nothing written: the records of a.jsonl went in before the failure and were rolled back.
    error = refused(seeded, [a, b])
    assert str(error) == f"{b}, line 3{message.format(b=b)}"
    assert (error.path, error.where) == (b, "line 3")

    # The failed load left nothing behind on the connection: the next load works.
    report = loader.load(seeded, [a])
    assert (report.records, report.inserted, report.unchanged, report.data_version) == (3, 3, 0, 2)


def test_bad_record_after_full_batches_rolls_everything_back(seeded, tmp_path):
    count = 2 * loader.BATCH_SIZE + 100
    records: list[Any] = [
        {"title": f"Bulk paper {i}", "authors": ["Bulk Writer"]} for i in range(count)
    ]
    records.append({"title": "Bad", "published_on": "2025-02-30"})
    big = write_jsonl(tmp_path / "big.jsonl", records)

    assert str(refused(seeded, [big])) == (
        f"{big}, line {count + 1}, field 'published_on': Input should be a valid date or "
        "datetime, day value is outside expected range"
    )


def test_bad_record_in_json_array_is_named_by_index(seeded, tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", GOOD_A)
    records = [
        {"title": "Array 0"},
        {"title": "Array 1"},
        {"title": "Array 2", "published_on": "2025-13-45"},
        {"title": "Array 3"},
    ]
    b = write_json(tmp_path / "b.json", records)

    error = refused(seeded, [a, b])

    assert str(error) == (
        f"{b}, record 2, field 'published_on': Input should be a valid date or datetime, "
        "month value is outside expected range of 1-12"
    )
    assert (error.path, error.where, error.field_name) == (b, "record 2", "published_on")


def test_record_in_json_array_that_is_not_an_object(seeded, tmp_path):
    b = tmp_path / "b.json"
    b.write_text('[{"title": "Array 0"}, {"title": "Array 1"}, 42]')
    assert str(refused(seeded, [b])) == f"{b}, record 2: a record must be a JSON object"


def test_invalid_json_in_json_array_names_the_broken_record(seeded, tmp_path):
    b = tmp_path / "b.json"
    b.write_text('[{"title": "Array 0"}, {"title": "Array 1"}, {"title" 2}]')
    error = refused(seeded, [b])
    # Records 0 and 1 are fine; the broken one is record 2.
    assert (error.path, error.where, error.field_name) == (b, "record 2", None)
    assert str(error).splitlines()[0] == (
        f"{b}, record 2: invalid JSON: parse error: object key and value must be separated by "
        "a colon (':')"
    )


def test_json_file_holding_an_object_is_refused(seeded, tmp_path):
    b = write_json(tmp_path / "b.json", {"title": "Not in an array"})
    assert str(refused(seeded, [b])) == (
        f"{b}, record 0: a .json seed file must hold a JSON array of records"
    )


def test_duplicate_key_across_two_files_names_both_places(seeded, tmp_path):
    a = write_jsonl(
        tmp_path / "a.jsonl", [{"title": "First"}, {"key": "shared", "title": "Second"}]
    )
    b = write_json(tmp_path / "b.json", [{"title": "Third"}, {"key": "shared", "title": "Another"}])
    assert str(refused(seeded, [a, b])) == (
        f"{b}, record 1, field 'key': duplicate key 'shared' (also at {a}, line 2)"
    )


def test_duplicate_derived_key_across_two_files_names_both_places(seeded, tmp_path):
    copied = write_jsonl(tmp_path / "copy.jsonl", SEED_RECORDS)
    assert str(refused(seeded, [SEED_DIR, copied])) == (
        f"{copied}, line 1, field 'key': duplicate key '{derived_key(SEED_RECORDS[0])}' "
        f"(also at {SEED_FILE}, record 0)"
    )


def test_duplicate_key_far_apart_in_one_file(seeded, tmp_path):
    count = loader.BATCH_SIZE + 10
    records: list[Any] = [{"key": f"k{i}", "title": f"Paper {i}"} for i in range(count)]
    records.append({"key": "k3", "title": "Paper 3 again"})
    big = write_jsonl(tmp_path / "big.jsonl", records)
    assert str(refused(seeded, [big])) == (
        f"{big}, line {count + 1}, field 'key': duplicate key 'k3' (also at {big}, line 4)"
    )


def test_missing_file_is_refused(seeded, tmp_path):
    missing = tmp_path / "missing.jsonl"
    assert str(refused(seeded, [SEED_DIR, missing])) == (
        f"{missing}, file: no such file or directory"
    )


def test_unknown_suffix_is_refused(seeded, tmp_path):
    csv = tmp_path / "publications.csv"
    csv.write_text("title\nx\n")
    with pytest.raises(SeedError) as caught:
        loader.load(seeded, [csv])
    assert str(caught.value) == f"{csv}, file: expected a .json, .jsonl or .ndjson file"


def test_directory_without_seed_files_is_refused(seeded, tmp_path):
    (tmp_path / "notes.json").write_text("[]")
    with pytest.raises(SeedError) as caught:
        loader.load(seeded, [tmp_path])
    assert str(caught.value) == (
        f"{tmp_path}, directory: no publications*.json or .jsonl file in it"
    )


# --- formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson"])
def test_json_lines_and_json_array_give_the_same_database(engine, other_engine, tmp_path, suffix):
    lines = tmp_path / f"publications{suffix}"
    # Blank lines are skipped.
    lines.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in SEED_RECORDS[:5])
        + "\n\n"
        + "\n".join(json.dumps(r) for r in SEED_RECORDS[5:])
        + "\n",
        encoding="utf-8",
    )
    from_lines = loader.load(engine, [tmp_path])
    from_array = loader.load(other_engine, [SEED_FILE])
    assert from_lines == LoadReport(
        files=[lines], records=10, inserted=10, updated=0, unchanged=0, data_version=1
    )
    assert from_array == LoadReport(
        files=[SEED_FILE], records=10, inserted=10, updated=0, unchanged=0, data_version=1
    )

    def without_timestamps(tables):
        for row in tables["dataset_state"]:
            row.pop("updated_at")
        return tables

    assert without_timestamps(dump(engine)) == without_timestamps(dump(other_engine))


def test_directory_loads_every_publications_file_in_name_order(engine, tmp_path):
    write_jsonl(tmp_path / "publications-2.jsonl", SEED_RECORDS[5:])
    write_json(tmp_path / "publications-1.json", SEED_RECORDS[:5])
    write_jsonl(tmp_path / "other.jsonl", [{"title": "Not loaded"}])
    (tmp_path / "publications-page.txt").write_text("not a seed file")
    report = loader.load(engine, [tmp_path])
    assert report == LoadReport(
        files=[tmp_path / "publications-1.json", tmp_path / "publications-2.jsonl"],
        records=10,
        inserted=10,
        updated=0,
        unchanged=0,
        data_version=1,
    )
    assert [title for _, title in rows(engine, PUBLICATION.c.id, PUBLICATION.c.title)] == [
        r["title"] for r in SEED_RECORDS
    ]


def test_empty_files_load_nothing_and_keep_the_version(seeded, tmp_path):
    before = dump(seeded)
    empty_array = write_json(tmp_path / "empty.json", [])
    empty_lines = tmp_path / "empty.jsonl"
    empty_lines.write_text("\n")
    report = loader.load(seeded, [empty_array, empty_lines])
    assert report == LoadReport(
        files=[empty_array, empty_lines],
        records=0,
        inserted=0,
        updated=0,
        unchanged=0,
        data_version=1,
    )
    assert dump(seeded) == before


# --- streaming --------------------------------------------------------------------------------


def write_generated(path: Path, count: int) -> Path:
    # Titles longer than 64 characters: pydantic-core keeps a bounded cache of short strings,
    # which would otherwise show up as (bounded) growth between the two sizes. Distinct keys,
    # not distinct words: the search index's stems are cached too (up to 65,536 words).
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            record = {
                "key": f"generated-{i}",
                "title": "A generated publication whose title is longer than the cache of strings",
                "published_on": "2025-12-31",
                "venue": f"Venue {i % 7}",
                "authors": [f"Author {i % 97}"],
            }
            out.write(json.dumps(record) + "\n")
    return path


def peak_memory_of_load(directory: Path, count: int) -> int:
    directory.mkdir()
    seed = write_generated(directory / "publications.jsonl", count)
    engine = sqlite_engine(directory)
    try:
        tracemalloc.start()
        try:
            report = loader.load(engine, [seed])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    finally:
        engine.dispose()
    assert (report.records, report.inserted) == (count, count)
    return peak


def test_memory_does_not_grow_with_file_size(tmp_path):
    # 1,000 and 10,000 records (2 and 20 batches) keep this under a few seconds under tracemalloc.
    peak_memory_of_load(tmp_path / "warm-up", 200)
    small = peak_memory_of_load(tmp_path / "small", 1_000)
    large = peak_memory_of_load(tmp_path / "large", 10_000)
    assert large < 1.5 * small, (small, large)


# --- progress ---------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_progress_bar_shows_file_name_and_completes(tmp_path, capsys, suffix):
    seed = tmp_path / f"publications{suffix}"
    if suffix == ".json":
        seed.write_bytes(SEED_FILE.read_bytes())
    else:
        write_jsonl(seed, SEED_RECORDS)
    engine = sqlite_engine(tmp_path)
    try:
        report = loader.load(engine, [seed], progress=True)
    finally:
        engine.dispose()
    assert report.inserted == 10

    captured = capsys.readouterr()
    assert captured.out == ""
    size = tqdm.format_sizeof(seed.stat().st_size, divisor=1024)
    last = captured.err.split("\r")[-1]
    pattern = rf"{re.escape(seed.name)}: 100%\|█{{10}}\| {re.escape(f'{size}/{size}')} \[.*\]\n"
    assert re.fullmatch(pattern, last), captured.err


@pytest.mark.parametrize("progress", [False, None])
def test_no_progress_bar_when_off_or_small(tmp_path, capsys, progress):
    engine = sqlite_engine(tmp_path)
    try:
        loader.load(engine, [SEED_FILE], progress=progress)
    finally:
        engine.dispose()
    assert capsys.readouterr() == ("", "")
