"""`pubapi seed`: load publications in the seed format, all or nothing.

The loader streams its input in batches, so memory does not grow with the size of a file.
Publications are upserted on their natural key (`key`, or one derived from the content),
authors and venues on their name: reloading the same data keeps every id and writes nothing.
A record that fails validation rolls the whole load back, and the error names the file, the
record and the field.
"""

import datetime as dt
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

import ijson
from pydantic import ValidationError
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from tqdm import tqdm

from app.core.db import insert_rows, update_rows
from app.core.text import fold
from app.exports.keys import cite_base
from app.models.tables import AUTHOR, DATASET_STATE, PUBLICATION, PUBLICATION_AUTHOR, VENUE
from app.queries import bylines, search
from app.seed.records import SeedPublication

BATCH_SIZE = 500
# Loads of at least this much input prepare their records in other processes; batches
# prepared ahead of the writer, at most.
PARALLEL_MIN_BYTES = 8 << 20
PREPARED_AHEAD = 4
# Two, even on two cores: the writer waits on SQLite's I/O part of its time, and one preparing
# process kept it waiting (200,000 records: 5,578 rows/s with one, 6,086 with two).
PREPARING_PROCESSES = 2
# The loading connection's SQLite page cache: a load's indexes outgrow the 2 MiB default long
# before a million rows, and every page pushed out mid-transaction is written to the log again.
SQLITE_LOAD_CACHE_KIB = 256 * 1024
# What a record sets of its publication row (besides the id).
PUBLICATION_COLUMNS = (
    "key",
    "content_hash",
    "title",
    "sort_title",
    "abstract",
    "published_on",
    "year",
    "status",
    "cite_base",
    "venue_id",
    "byline",
)
# Tables loaded into, whose secondary indexes a load into the empty table builds at its end.
LOADED_TABLES = ("publication", "publication_author", "author", "venue")
PROGRESS_MIN_BYTES = 1 << 20
SUFFIXES = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}

P = PUBLICATION
PA = PUBLICATION_AUTHOR
A = AUTHOR
V = VENUE
STATE = DATASET_STATE

# Keys loaded so far in this load, with where they came from: duplicates are refused,
# and the set lives in the database so that memory stays flat however large the input.
_seen = Table(
    "pubapi_seed_seen",
    MetaData(),
    Column("key", String, primary_key=True),
    Column("location", String, nullable=False),
    prefixes=["TEMPORARY"],
)


class SeedError(ValueError):
    """Bad input: names the file, the record (line or index) and the field."""

    def __init__(self, path: Path, where: str, message: str, field_name: str | None = None) -> None:
        self.path, self.where, self.field_name = path, where, field_name
        self.message = message
        place = f"{path}, {where}" + (f", field '{field_name}'" if field_name else "")
        super().__init__(f"{place}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in the preparing process, it crosses back by pickle.
        return SeedError, (self.path, self.where, self.message, self.field_name)


@dataclass
class LoadReport:
    files: list[Path] = field(default_factory=list)
    records: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    data_version: int = 0
    # Whether records were prepared in other processes (`_preparer`).
    parallel: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)


class _Record(NamedTuple):
    """One validated record, with everything about it that needs no database: made by
    `_prepare`, in other processes for a large load."""

    where: str
    venue: str | None
    authors: list[str]
    # PUBLICATION_COLUMNS but the last two (venue_id and byline hold ids from the database).
    values: tuple[Any, ...]
    # What indexes it for search (app.queries.search.document).
    document: Any

    @property
    def key(self) -> str:
        return str(self.values[0])

    @property
    def content_hash(self) -> str:
        return str(self.values[1])


def seed_files(paths: Iterable[Path]) -> list[Path]:
    """The files to load: each path itself, or a directory's `publications*.json[l]` files."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.glob("publications*") if p.is_file() and p.suffix in SUFFIXES
            )
            if not found:
                raise SeedError(path, "directory", "no publications*.json or .jsonl file in it")
            files.extend(found)
        elif path.is_file():
            if path.suffix not in SUFFIXES:
                raise SeedError(path, "file", "expected a .json, .jsonl or .ndjson file")
            files.append(path)
        else:
            raise SeedError(path, "file", "no such file or directory")
    return files


@contextmanager
def _progress(handle: IO[bytes], path: Path, show: bool | None) -> Iterator[Any]:
    """A callable that moves the bar to how far `handle` has been read (a no-op when hidden)."""
    size = path.stat().st_size
    if show is None:
        show = size >= PROGRESS_MIN_BYTES and sys.stderr.isatty()
    if not show:
        yield lambda done=False: None
        return
    with tqdm(total=size, desc=path.name, unit="B", unit_scale=True, unit_divisor=1024) as bar:

        def tick(done: bool = False) -> None:
            bar.update((size if done else handle.tell()) - bar.n)

        yield tick


def _raw_records(path: Path, handle: IO[bytes]) -> Iterator[tuple[str, Any]]:
    """(where, record) in file order: a JSON Lines file's records as the bytes of their line
    (`_decode` reads them, in `_prepare`), a JSON array's as parsed values."""
    if SUFFIXES[path.suffix] == "jsonl":
        for number, line in enumerate(iter(handle.readline, b""), start=1):
            if line.strip():
                yield f"line {number}", line
        return
    first = handle.read(1)
    while first and first.isspace():
        first = handle.read(1)
    if first != b"[":
        raise SeedError(path, "record 0", "a .json seed file must hold a JSON array of records")
    handle.seek(0)
    index = 0
    try:
        for item in ijson.items(handle, "item", use_float=True):
            yield f"record {index}", item
            index += 1
    except RecursionError:
        raise SeedError(path, f"record {index}", "invalid JSON: nested too deeply") from None
    except ijson.JSONError as exc:
        # ijson's message goes on with a picture of where it stopped: keep its first line.
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SeedError(path, f"record {index}", f"invalid JSON: {message}") from None


def _decode(path: Path, where: str, line: bytes) -> Any:
    try:
        return json.loads(line.rstrip(b"\r\n"))
    except json.JSONDecodeError as exc:
        message = f"invalid JSON: {exc.msg} at column {exc.colno}"
        raise SeedError(path, where, message) from None
    except ValueError as exc:
        raise SeedError(path, where, f"invalid JSON: {exc}") from None
    except RecursionError:
        raise SeedError(path, where, "invalid JSON: nested too deeply") from None


def _validate(path: Path, where: str, raw: Any) -> SeedPublication:
    if not isinstance(raw, dict):
        raise SeedError(path, where, "a record must be a JSON object")
    try:
        return SeedPublication.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"]) or None
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SeedError(path, where, message, name) from None


def _prepare(path: Path, dialect: str, where: str, raw: Any) -> _Record:
    """The record at `where`, read, validated and made ready to write."""
    data = _validate(path, where, _decode(path, where, raw) if isinstance(raw, bytes) else raw)
    published_on = data.published_on
    year = published_on.year if published_on else None
    first_author = data.authors[0] if data.authors else None
    values = (
        data.natural_key(),
        data.content_hash(),
        data.title,
        fold(data.title) if data.title is not None else None,
        data.abstract,
        published_on.isoformat() if published_on else None,
        year,
        data.status,
        cite_base(data.title, year, first_author),
    )
    document = search.document(dialect, data.title, data.abstract, data.authors)
    return _Record(where, data.venue, data.authors, values, document)


def _prepare_batch(path: Path, dialect: str, batch: list[tuple[str, Any]]) -> list[_Record]:
    return [_prepare(path, dialect, where, raw) for where, raw in batch]


def _batches(items: Iterator[tuple[str, Any]]) -> Iterator[list[tuple[str, Any]]]:
    batch: list[tuple[str, Any]] = []
    try:
        for item in items:
            batch.append(item)
            if len(batch) >= BATCH_SIZE:
                yield batch
                batch = []
    except SeedError as unreadable:
        # The file breaks off here: the records read before are checked first, so that a bad
        # one among them is the error named (records are read, and checked, in file order).
        if batch:
            yield batch
        raise unreadable from None
    if batch:
        yield batch


def _usable_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the machine's)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _result(
    path: Path, dialect: str, batch: list[tuple[str, Any]], future: Future[list[_Record]]
) -> list[_Record]:
    """The prepared `batch`. One that could not be sent to a preparing process (a record of a
    JSON array nested too deeply to pickle) is prepared here, to fail as it would here."""
    try:
        return future.result()
    except RecursionError:
        return _prepare_batch(path, dialect, batch)


def _follow_parent(parent: int, every: float = 0.5) -> None:
    """In a preparing process: exit once `parent` is gone. A forked worker holds its own task
    pipe open, so a load killed outright (SIGKILL) would otherwise leave it waiting forever."""

    # Ctrl-C reaches the whole process group: the load stops in the parent, which ends these.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()


@contextmanager
def _preparer(parallel: bool) -> Iterator[Any]:
    """A function from (path, dialect, batches of raw records) to their prepared batches, in
    order: in this process, or, when `parallel`, in others while this one writes.

    Reading, validating, folding and stemming are most of a load's CPU: beside the database
    writes, on a machine with two cores, they nearly halve a large load's time. The preparing
    processes are forks, all made at the pool's first task (Python forks every worker then,
    before the pool's own thread starts), before the load opens its transaction, and only from
    a process with a single thread (a fork copies no other thread, nor what one was holding).
    They run `_prepare` only: they never use the database. At most PREPARED_AHEAD batches wait
    for the writer, so memory stays flat.
    """
    if not parallel:
        yield lambda path, dialect, batches: (_prepare_batch(path, dialect, b) for b in batches)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=PREPARING_PROCESSES,
        mp_context=context,
        initializer=_follow_parent,
        initargs=(os.getpid(),),
    ) as pool:
        pool.submit(int).result()  # all forked now, before the load's connection is taken

        def prepared(
            path: Path, dialect: str, batches: Iterator[list[tuple[str, Any]]]
        ) -> Iterator[list[_Record]]:
            waiting: deque[tuple[list[tuple[str, Any]], Future[list[_Record]]]] = deque()
            unreadable: SeedError | None = None
            while True:
                try:
                    batch = next(batches)
                except StopIteration:
                    break
                except SeedError as exc:
                    # The file cannot be read further (a broken JSON array): the batches read
                    # before come first, as in this process, so that the first bad record in
                    # the file is the one named.
                    unreadable = exc
                    break
                waiting.append((batch, pool.submit(_prepare_batch, path, dialect, batch)))
                if len(waiting) > PREPARED_AHEAD:
                    yield _result(path, dialect, *waiting.popleft())
            while waiting:
                yield _result(path, dialect, *waiting.popleft())
            if unreadable is not None:
                raise unreadable

        try:
            yield prepared
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


class _Writer:
    """Writes batches of validated records inside the load's transaction."""

    def __init__(self, conn: Connection, report: LoadReport) -> None:
        self.conn, self.report = conn, report
        self._next_id: dict[str, int] = {}
        _seen.create(conn)

    def close(self) -> None:
        _seen.drop(self.conn)

    def _check_duplicates(self, path: Path, batch: list[_Record]) -> None:
        located: dict[str, str] = {}
        for record in batch:
            if record.key in located:
                raise SeedError(
                    path,
                    record.where,
                    f"duplicate key {record.key!r} (also at {located[record.key]})",
                    "key",
                )
            located[record.key] = f"{path}, {record.where}"
        query = select(_seen.c.key, _seen.c.location).where(_seen.c.key.in_(located))
        earlier = {row.key: row.location for row in self.conn.execute(query)}
        # The first duplicate in reading order, whatever order the database returns rows in.
        repeated = next((r for r in batch if r.key in earlier), None)
        if repeated is not None:
            raise SeedError(
                path,
                repeated.where,
                f"duplicate key {repeated.key!r} (also at {earlier[repeated.key]})",
                "key",
            )
        insert_rows(self.conn, _seen.name, ("key", "location"), list(located.items()))

    def _new_ids(self, table: Table, count: int) -> list[int]:
        """`count` fresh ids for `table`, ascending, as its own numbering would give them.

        Given here rather than by the database so that rows go in as one multi-row INSERT
        (an INSERT ... RETURNING in order is one statement per row). PostgreSQL hands them out
        from the table's sequence, safe beside any other writer; SQLite numbers after the
        largest id, as it would itself, and its write lock keeps other writers out until the
        load commits (one that committed since this load began makes the load fail, never
        reuse an id).
        """
        if self.conn.dialect.name == "postgresql":
            sequence = f"{table.name}_id_seq"
            query = text("SELECT nextval(:sequence) FROM generate_series(1, :count)")
            found = self.conn.execute(query, {"sequence": sequence, "count": count})
            return sorted(found.scalars())
        start = self._next_id.get(table.name)
        if start is None:
            largest = select(func.coalesce(func.max(table.c.id), 0))
            start = int(self.conn.execute(largest).scalar_one()) + 1
        self._next_id[table.name] = start + count
        return list(range(start, start + count))

    def _ids_by_name(self, table: Table, names: list[str]) -> dict[str, int]:
        """Ids of `names`, inserting the new ones in order of first appearance."""
        if not names:
            return {}
        query = select(table.c.name, table.c.id).where(table.c.name.in_(names))
        found: dict[str, int] = dict(self.conn.execute(query).all())
        missing = [name for name in dict.fromkeys(names) if name not in found]
        if missing:
            ids = self._new_ids(table, len(missing))
            insert_rows(
                self.conn,
                table.name,
                ("id", "name", "sort_name", "publication_count"),
                [(ident, n, fold(n), 0) for ident, n in zip(ids, missing, strict=True)],
            )
            found.update(zip(missing, ids, strict=True))
        return found

    def write(self, path: Path, batch: list[_Record]) -> None:
        self._check_duplicates(path, batch)
        existing = {
            row.key: (row.id, row.content_hash)
            for row in self.conn.execute(
                select(P.c.key, P.c.id, P.c.content_hash).where(P.c.key.in_([r.key for r in batch]))
            )
        }
        # New or different records, in input order (ids follow first appearance).
        touched = [r for r in batch if existing.get(r.key, (0, ""))[1] != r.content_hash]
        fresh = [r for r in touched if r.key not in existing]
        changed = [r for r in touched if r.key in existing]
        self.report.records += len(batch)
        self.report.unchanged += len(batch) - len(fresh) - len(changed)
        if not fresh and not changed:
            return
        venues = self._ids_by_name(V, [r.venue for r in touched if r.venue])
        authors = self._ids_by_name(A, [name for r in touched for name in r.authors])

        def columns(record: _Record) -> tuple[Any, ...]:
            """The values of PUBLICATION_COLUMNS for `record`."""
            byline = bylines.encode((authors[name], name) for name in record.authors)
            return (*record.values, venues[record.venue] if record.venue else None, byline)

        ids: dict[str, int] = {}
        if fresh:
            new_ids = self._new_ids(P, len(fresh))
            insert_rows(
                self.conn,
                P.name,
                ("id", *PUBLICATION_COLUMNS),
                [(i, *columns(r)) for i, r in zip(new_ids, fresh, strict=True)],
            )
            ids.update((r.key, i) for i, r in zip(new_ids, fresh, strict=True))
        if changed:
            for record in changed:
                ids[record.key] = existing[record.key][0]
            update_rows(
                self.conn, P.name, PUBLICATION_COLUMNS, [(*columns(r), ids[r.key]) for r in changed]
            )
            self.conn.execute(
                delete(PA).where(PA.c.publication_id.in_([ids[r.key] for r in changed]))
            )
        insert_rows(
            self.conn,
            PA.name,
            ("publication_id", "position", "author_id"),
            [
                (ids[r.key], position, authors[name])
                for r in touched
                for position, name in enumerate(r.authors, start=1)
            ],
        )
        search.remove(self.conn, [ids[r.key] for r in changed])
        search.write_documents(self.conn, [(ids[r.key], r.document) for r in touched])
        self.report.inserted += len(fresh)
        self.report.updated += len(changed)

    def finish(self) -> None:
        """Recount publications per author and venue, refresh the planner's statistics, and
        bump the data version."""
        for table, link in ((A, PA.c.author_id), (V, P.c.venue_id)):
            count = select(func.count()).where(link == table.c.id).scalar_subquery()
            self.conn.execute(update(table).values(publication_count=count))
        # Without statistics the planners guess: SQLite took the year index for a year's page
        # and sorted its 80,000 rows instead of reading the date index in order.
        if self.conn.dialect.name == "sqlite":
            self.conn.execute(text("PRAGMA analysis_limit = 1000"))
            self.conn.execute(text("ANALYZE"))
        else:
            # The search table too: without its statistics PostgreSQL guesses how many
            # documents a word matches.
            tables = ", ".join((*LOADED_TABLES, "publication_search"))
            self.conn.execute(text(f"ANALYZE {tables}"))
        version = self.conn.execute(select(STATE.c.version).where(STATE.c.id == 1)).scalar()
        new_version = (version or 0) + 1
        now = dt.datetime.now(dt.UTC)
        if version is None:
            self.conn.execute(insert(STATE).values(id=1, version=new_version, updated_at=now))
        else:
            self.conn.execute(
                update(STATE).where(STATE.c.id == 1).values(version=new_version, updated_at=now)
            )
        self.report.data_version = new_version


def _secondary_indexes(conn: Connection, table_name: str) -> list[tuple[str, str]]:
    """(name, definition) of the indexes of `table_name` that back no constraint and enforce
    nothing (no primary key, no UNIQUE, no exclusion): the ones the loader never reads through."""
    if conn.dialect.name == "sqlite":
        query = text(
            "SELECT l.name, m.sql FROM pragma_index_list(:table) AS l "
            "JOIN sqlite_master AS m ON m.type = 'index' AND m.name = l.name "
            "WHERE l.origin = 'c' AND NOT l.\"unique\" ORDER BY l.name"
        )
    else:
        query = text(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE t.relname = :table AND n.nspname = current_schema() "
            "AND NOT (i.indisunique OR i.indisprimary OR i.indisexclusion) ORDER BY c.relname"
        )
    return [(str(name), str(sql)) for name, sql in conn.execute(query, {"table": table_name})]


def _defer_indexes(conn: Connection) -> list[tuple[str, str]]:
    """On a first load (no publication yet), drop the secondary indexes of every loaded table
    that is empty, and return them.

    A first load then appends rows to bare tables and `_rebuild_indexes` builds each index once,
    from sorted rows, instead of updating ten B-trees at random places for every row: at
    200,000 publications that is most of the load's database time. The drop is part of the
    load's transaction, so a failed load gets its indexes back with everything else.

    Only a first load: on PostgreSQL, DROP INDEX locks its table until the load commits, and
    readers of a catalogue that has publications must go on reading it meanwhile (on a first
    load they wait for it, up to their statement timeout, where they used to read nothing).
    """
    deferred: list[tuple[str, str]] = []

    def empty(table_name: str) -> bool:
        return bool(conn.execute(text(f"SELECT NOT EXISTS (SELECT 1 FROM {table_name})")).scalar())

    if not empty("publication"):
        return deferred
    for table_name in LOADED_TABLES:
        if empty(table_name):
            deferred += _secondary_indexes(conn, table_name)
    for name, _sql in deferred:
        conn.execute(text(f'DROP INDEX "{name}"'))
    return deferred


def _rebuild_indexes(conn: Connection, deferred: list[tuple[str, str]]) -> None:
    for _name, sql in deferred:
        conn.execute(text(sql))


@contextmanager
def _load_cache(conn: Connection) -> Iterator[None]:
    """A larger SQLite page cache for the load (bounded: SQLITE_LOAD_CACHE_KIB), then the
    connection's own again."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.execute(text("PRAGMA cache_size")).scalar()
    conn.execute(text(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}"))
    try:
        yield
    finally:
        conn.execute(text(f"PRAGMA cache_size = {int(before or 0)}"))


def current_data_version(conn: Connection) -> int:
    return int(conn.execute(select(STATE.c.version).where(STATE.c.id == 1)).scalar() or 0)


def load(
    engine: Engine,
    paths: Iterable[Path],
    progress: bool | None = None,
    parallel: bool | None = None,
) -> LoadReport:
    """Load every record of `paths` in one transaction; on any error, nothing is written.

    `parallel`: prepare records in other processes (see `_preparer`); by default, when the
    files hold at least PARALLEL_MIN_BYTES, the machine has more than one core and this
    process runs a single thread. The report says which it was.
    """
    report = LoadReport(files=seed_files(paths))
    if parallel is None:
        size = sum(path.stat().st_size for path in report.files)
        parallel = size >= PARALLEL_MIN_BYTES and _usable_cores() > 1
    report.parallel = parallel = parallel and threading.active_count() == 1
    with _preparer(parallel) as prepared, engine.begin() as conn, _load_cache(conn):
        deferred = _defer_indexes(conn)
        writer = _Writer(conn, report)
        for path in report.files:
            with path.open("rb") as handle, _progress(handle, path, progress) as tick:
                batches = _batches(_raw_records(path, handle))
                for batch in prepared(path, conn.dialect.name, batches):
                    writer.write(path, batch)
                    tick()
                tick(done=True)
        _rebuild_indexes(conn, deferred)
        if report.changed:
            writer.finish()
        else:
            report.data_version = current_data_version(conn)
        writer.close()
    return report
