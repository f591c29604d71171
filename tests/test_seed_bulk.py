"""A large load's fast paths: records prepared in other processes, and a first load's indexes
built once at its end. Each must write exactly what the plain path writes, fail the same way,
and leave the schema as the migrations made it.

The parallel loads run as users run them, `pubapi seed --parallel` in a process of its own:
a load prepares in forked processes only from a process with a single thread, and the test
process has others (test clients' portals).
"""

import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from app.seed import loader
from app.seed.loader import LoadReport, SeedError
from bench.generate import generate
from tests.conftest import Database
from tests.test_live_server import clean_env
from tests.test_seed_loader import dump

PUBAPI = str(Path(sys.executable).parent / "pubapi")
PREPARED = f"; records prepared in {loader.PREPARING_PROCESSES} processes\n"

RECORDS = 1_200  # three batches


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bulk") / "publications.jsonl"
    generate(RECORDS, path)
    return path


def seed(database: Database, path: Path) -> subprocess.CompletedProcess[str]:
    """`pubapi seed --parallel PATH` into `database`."""
    env = clean_env(PUBAPI_DATABASE_URL=database.url)
    command = [PUBAPI, "seed", "--parallel", "--no-progress", str(path)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def refused(database: Database, engine: Engine, path: Path, parallel: bool) -> str:
    """The error a load of `path` stops with, in a parallel `pubapi seed` or in this process
    without one, once checked that it changed nothing."""
    before, schema = dump(engine), indexes(engine)
    if parallel:
        done = seed(database, path)
        assert (done.returncode, done.stdout) == (2, ""), done.stderr
        assert done.stderr.startswith("pubapi seed: nothing loaded: "), done.stderr
        message = done.stderr.removeprefix("pubapi seed: nothing loaded: ").removesuffix("\n")
    else:
        with pytest.raises(SeedError) as caught:
            loader.load(engine, [path], parallel=False)
        message = str(caught.value)
    assert dump(engine) == before
    assert search_index(engine) == []
    assert indexes(engine) == schema
    return message


def search_index(engine: Engine) -> list[tuple[Any, ...]]:
    """Every row of the search index, in id order, as text."""
    if engine.dialect.name == "sqlite":
        query = "SELECT rowid, * FROM publication_search ORDER BY rowid"
    else:
        query = "SELECT publication_id, vector::text FROM publication_search ORDER BY 1"
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(query))]


def indexes(engine: Engine) -> list[tuple[str, str, str]]:
    """(table, name, definition) of every index of the loaded tables."""
    if engine.dialect.name == "sqlite":
        query = (
            "SELECT tbl_name, name, coalesce(sql, '') FROM sqlite_master "
            "WHERE type = 'index' ORDER BY tbl_name, name"
        )
    else:
        query = (
            "SELECT tablename, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = current_schema() ORDER BY tablename, indexname"
        )
    with engine.connect() as conn:
        return [(str(a), str(b), str(c)) for a, b, c in conn.execute(text(query))]


def without_timestamps(tables: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    for row in tables["dataset_state"]:
        row.pop("updated_at")
    return tables


def test_parallel_and_plain_loads_write_the_same_database(
    empty_db, engine, other_engine, generated
):
    schema = indexes(engine)
    done = seed(empty_db, generated)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        f"{RECORDS} records from 1 file(s): {RECORDS} new, 0 updated, 0 unchanged; "
        f"data version 1{PREPARED}"
    )
    plain = loader.load(other_engine, [generated], parallel=False)
    assert plain == LoadReport(
        files=[generated], records=RECORDS, inserted=RECORDS, data_version=1, parallel=False
    )
    assert without_timestamps(dump(engine)) == without_timestamps(dump(other_engine))
    assert search_index(engine) == search_index(other_engine)
    assert len(search_index(engine)) == RECORDS
    # The first load dropped the secondary indexes of its empty tables and built them again.
    assert indexes(engine) == indexes(other_engine) == schema


def test_the_index_follows_a_parallel_reload_of_changed_records(
    empty_db, engine, generated, tmp_path
):
    assert seed(empty_db, generated).returncode == 0
    lines = generated.read_text(encoding="utf-8").splitlines(keepends=True)
    changed = tmp_path / "publications.jsonl"
    # The first record gets a new title; nothing else changes.
    first = lines[0].replace('"title": "', '"title": "Revised: ', 1)
    assert first != lines[0]
    changed.write_text(first + "".join(lines[1:]), encoding="utf-8")
    done = seed(empty_db, changed)
    assert done.stdout == (
        f"{RECORDS} records from 1 file(s): 0 new, 1 updated, {RECORDS - 1} unchanged; "
        f"data version 2{PREPARED}"
    )
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT id FROM publication WHERE title LIKE 'Revised: %'")
        ).scalars()
        assert list(found) == [1]
    row = next(r for r in search_index(engine) if r[0] == 1)
    assert "revis" in str(row[1:])


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        (
            "{not json\n",
            "line 1001: invalid JSON: Expecting property name enclosed in "
            "double quotes at column 2",
        ),
        (
            '{"title": "x", "authors": "Ada"}\n',
            "line 1001, field 'authors': Input should be a valid list",
        ),
        (
            '{"title": "x", "colour": "red"}\n',
            "line 1001, field 'colour': Extra inputs are not permitted",
        ),
    ],
)
def test_a_bad_record_fails_a_parallel_load_as_it_fails_a_plain_one(
    empty_db, engine, generated, tmp_path, bad_line, message
):
    lines = generated.read_text(encoding="utf-8").splitlines(keepends=True)
    broken = tmp_path / "publications.jsonl"
    # In the third batch: the first two are written (and the indexes dropped) before it fails.
    broken.write_text("".join(lines[:1000]) + bad_line + "".join(lines[1000:]), encoding="utf-8")
    errors = [refused(empty_db, engine, broken, parallel) for parallel in (True, False)]
    assert errors == [f"{broken}, {message}"] * 2


def test_the_first_bad_record_is_named_when_a_later_one_breaks_the_json(empty_db, engine, tmp_path):
    # A JSON array read ahead of the preparing processes: its syntax error, 2,400 records
    # later, must not hide the invalid record before it.
    records = [{"key": f"k{i}", "title": f"Title {i}", "authors": ["Ada"]} for i in range(3000)]
    records[600]["published_on"] = "yesterday"
    text_ = json.dumps(records)
    broken = tmp_path / "publications.json"
    cut = text_.index('{"key": "k2999"')
    broken.write_text(text_[:cut] + "{oops" + text_[cut:], encoding="utf-8")
    errors = [refused(empty_db, engine, broken, parallel) for parallel in (True, False)]
    message = "field 'published_on': must be an ISO 8601 date such as 2025-12-31"
    assert errors == [f"{broken}, record 600, {message}"] * 2


def test_a_duplicate_key_fails_a_parallel_load_naming_both_places(
    empty_db, engine, generated, tmp_path
):
    lines = generated.read_text(encoding="utf-8").splitlines(keepends=True)
    twice = tmp_path / "publications.jsonl"
    twice.write_text("".join(lines) + lines[3], encoding="utf-8")
    key = loader._prepare(twice, "sqlite", "line 4", lines[3].encode()).key
    errors = [refused(empty_db, engine, twice, parallel) for parallel in (True, False)]
    duplicate = f"field 'key': duplicate key {key!r} (also at {twice}, line 4)"
    assert errors == [f"{twice}, line {RECORDS + 1}, {duplicate}"] * 2


def test_a_seed_error_crosses_processes_whole():
    error = SeedError(Path("a.jsonl"), "line 3", "invalid JSON: x", "title")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.where, copy.message, copy.field_name, str(copy)) == (
        Path("a.jsonl"),
        "line 3",
        "invalid JSON: x",
        "title",
        "a.jsonl, line 3, field 'title': invalid JSON: x",
    )


def test_a_load_into_tables_holding_rows_keeps_their_indexes(engine, tmp_path):
    # No venue at all: the venue table is still empty when the second load comes, and its
    # indexes stay too (on PostgreSQL a DROP INDEX would lock readers out until the commit).
    first = tmp_path / "first.jsonl"
    first.write_text('{"key": "first", "title": "First", "authors": ["Ada"]}\n')
    loader.load(engine, [first])
    schema = indexes(engine)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        more = tmp_path / "publications.jsonl"
        more.write_text('{"key": "one-more", "title": "One more", "authors": ["Ada"]}\n')
        report = loader.load(engine, [more])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert (report.inserted, report.parallel) == (1, False)
    assert [s for s in statements if "INDEX" in s.upper()] == []
    assert indexes(engine) == schema


def test_the_indexes_a_load_may_drop_are_the_plain_ones(engine):
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text('CREATE SCHEMA "Odd-Schema"'))
            conn.execute(text('SET LOCAL search_path TO "Odd-Schema"'))
        conn.execute(text("CREATE TABLE t (id integer PRIMARY KEY, a integer, b integer UNIQUE)"))
        conn.execute(text("CREATE INDEX t_plain ON t (a)"))
        conn.execute(text("CREATE UNIQUE INDEX t_unique ON t (a, b)"))
        found = loader._secondary_indexes(conn, "t")
        conn.rollback()
    if engine.dialect.name == "sqlite":
        assert found == [("t_plain", "CREATE INDEX t_plain ON t (a)")]
    else:
        assert found == [("t_plain", 'CREATE INDEX t_plain ON "Odd-Schema".t USING btree (a)')]


@pytest.mark.parametrize("parallel", [True, False])
def test_a_json_array_breaking_off_names_the_bad_record_before_the_break(
    empty_db, engine, tmp_path, parallel
):
    broken = tmp_path / "publications.json"
    broken.write_text('[1, {"key": "a"}, {oops')
    message = refused(empty_db, engine, broken, parallel)
    assert message == f"{broken}, record 0: a record must be a JSON object"


@pytest.mark.parametrize("parallel", [True, False])
def test_a_record_nested_too_deeply_to_send_fails_as_in_one_process(
    empty_db, engine, tmp_path, parallel
):
    # ijson reads it; pickle, sending it to a preparing process, cannot.
    deep = tmp_path / "publications.json"
    deep.write_text('[{"key": "k", "extra": ' + "[" * 1200 + "]" * 1200 + "}]")
    message = refused(empty_db, engine, deep, parallel)
    assert message == f"{deep}, record 0, field 'extra': Extra inputs are not permitted"
