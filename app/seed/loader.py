"""`pubapi seed`: load publications in the seed format, all or nothing.

The loader streams its input in batches, so memory does not grow with the size of a file.
Publications are upserted on their natural key (`key`, or one derived from the content),
authors and venues on their name: reloading the same data keeps every id and writes nothing.
A record that fails validation rolls the whole load back, and the error names the file, the
record and the field.
"""

import datetime as dt
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson
from pydantic import ValidationError
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from tqdm import tqdm

from app.core.text import fold
from app.exports.keys import cite_base
from app.models.tables import AUTHOR, DATASET_STATE, PUBLICATION, PUBLICATION_AUTHOR, VENUE
from app.queries import search
from app.seed.records import SeedPublication

BATCH_SIZE = 500
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
        place = f"{path}, {where}" + (f", field '{field_name}'" if field_name else "")
        super().__init__(f"{place}: {message}")


@dataclass
class LoadReport:
    files: list[Path] = field(default_factory=list)
    records: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    data_version: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)


@dataclass
class _Record:
    where: str
    data: SeedPublication
    key: str
    content_hash: str


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
    if SUFFIXES[path.suffix] == "jsonl":
        for number, line in enumerate(iter(handle.readline, b""), start=1):
            if line.strip():
                try:
                    raw = json.loads(line.rstrip(b"\r\n"))
                except json.JSONDecodeError as exc:
                    message = f"invalid JSON: {exc.msg} at column {exc.colno}"
                    raise SeedError(path, f"line {number}", message) from None
                except ValueError as exc:
                    raise SeedError(path, f"line {number}", f"invalid JSON: {exc}") from None
                except RecursionError:
                    message = "invalid JSON: nested too deeply"
                    raise SeedError(path, f"line {number}", message) from None
                yield f"line {number}", raw
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


def _validate(path: Path, where: str, raw: Any) -> _Record:
    if not isinstance(raw, dict):
        raise SeedError(path, where, "a record must be a JSON object")
    try:
        data = SeedPublication.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"]) or None
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SeedError(path, where, message, name) from None
    return _Record(where, data, data.natural_key(), data.content_hash())


def _batches(records: Iterator[_Record]) -> Iterator[list[_Record]]:
    batch: list[_Record] = []
    for record in records:
        batch.append(record)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


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
        self.conn.execute(
            insert(_seen), [{"key": k, "location": loc} for k, loc in located.items()]
        )

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
            self.conn.execute(
                insert(table),
                [
                    {"id": ident, "name": n, "sort_name": fold(n), "publication_count": 0}
                    for ident, n in zip(ids, missing, strict=True)
                ],
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
        venues = self._ids_by_name(V, [r.data.venue for r in touched if r.data.venue])
        authors = self._ids_by_name(A, [name for r in touched for name in r.data.authors])

        def columns(record: _Record) -> dict[str, Any]:
            data = record.data
            year = data.published_on.year if data.published_on else None
            first_author = data.authors[0] if data.authors else None
            return {
                "key": record.key,
                "content_hash": record.content_hash,
                "title": data.title,
                "sort_title": fold(data.title) if data.title is not None else None,
                "abstract": data.abstract,
                "published_on": data.published_on,
                "year": year,
                "venue_id": venues[data.venue] if data.venue else None,
                "status": data.status,
                "cite_base": cite_base(data.title, year, first_author),
            }

        ids: dict[str, int] = {}
        if fresh:
            new_ids = self._new_ids(P, len(fresh))
            self.conn.execute(
                insert(P),
                [{"id": i, **columns(r)} for i, r in zip(new_ids, fresh, strict=True)],
            )
            ids.update((r.key, i) for i, r in zip(new_ids, fresh, strict=True))
        if changed:
            for record in changed:
                ids[record.key] = existing[record.key][0]
            self.conn.execute(
                update(P).where(P.c.id == bindparam("pid")),
                [{"pid": ids[r.key], **columns(r)} for r in changed],
            )
            self.conn.execute(
                delete(PA).where(PA.c.publication_id.in_([ids[r.key] for r in changed]))
            )
        links = [
            {"publication_id": ids[r.key], "position": position, "author_id": authors[name]}
            for r in touched
            for position, name in enumerate(r.data.authors, start=1)
        ]
        if links:
            self.conn.execute(insert(PA), links)
        search.remove(self.conn, [ids[r.key] for r in changed])
        search.write(
            self.conn,
            [(ids[r.key], r.data.title, r.data.abstract, r.data.authors) for r in touched],
        )
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
            self.conn.execute(text("ANALYZE publication, publication_author, author, venue"))
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


def current_data_version(conn: Connection) -> int:
    return int(conn.execute(select(STATE.c.version).where(STATE.c.id == 1)).scalar() or 0)


def load(engine: Engine, paths: Iterable[Path], progress: bool | None = None) -> LoadReport:
    """Load every record of `paths` in one transaction; on any error, nothing is written."""
    report = LoadReport(files=seed_files(paths))
    with engine.begin() as conn:
        writer = _Writer(conn, report)
        for path in report.files:
            with path.open("rb") as handle, _progress(handle, path, progress) as tick:
                records = (_validate(path, where, raw) for where, raw in _raw_records(path, handle))
                for batch in _batches(records):
                    writer.write(path, batch)
                    tick()
                tick(done=True)
        if report.changed:
            writer.finish()
        else:
            report.data_version = current_data_version(conn)
        writer.close()
    return report
