"""The SQLite database a Datasette user would build from a seed file: the benchmark's baseline.

`python -m bench.datasette_db IN.jsonl OUT.db` builds, with sqlite-utils, the rows pubapi's
loader writes for the same file: venues, authors, publications and their bylines, with the
same ids (publications 1..N in file order, authors and venues numbered by first appearance,
as the loader numbers them), declared foreign keys (for Datasette's `_labels=on`), the
indexes a user would add for the usual filters and sorts, and an FTS5 index over title and
abstract with the `porter` tokenizer (pubapi stems too). The input is streamed in batches;
only the name-to-id maps of authors and venues stay in memory.
"""

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import sqlite_utils

BATCH = 5000  # records read, then written, at a time

PUBLICATION_COLUMNS = (
    "id",
    "key",
    "title",
    "abstract",
    "published_on",
    "year",
    "venue_id",
    "status",
)
INDEXES = (
    ("publications", ["published_on"]),
    ("publications", ["year"]),
    ("publications", ["venue_id"]),
    ("publications", ["venue_id", "year"]),
    ("publication_authors", ["author_id"]),
    ("authors", ["publication_count"]),
    ("venues", ["publication_count"]),
)


class _Names:
    """Ids by first appearance, and how many publications name each."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.counts: list[int] = []

    def id_of(self, name: str) -> int:
        ident = self.ids.get(name)
        if ident is None:
            ident = self.ids[name] = len(self.ids) + 1
            self.counts.append(0)
        self.counts[ident - 1] += 1
        return ident

    def rows(self) -> Iterator[Sequence[Any]]:
        yield ("id", "name", "publication_count")
        for (name, ident), count in zip(self.ids.items(), self.counts, strict=True):
            yield ident, name, count


def _create_tables(db: sqlite_utils.Database) -> None:
    for table in ("venues", "authors"):
        db.table(table).create({"id": int, "name": str, "publication_count": int}, pk="id")
        db.table(table).create_index(["name"], unique=True)
    db.table("publications").create(
        {
            "id": int,
            "key": str,
            "title": str,
            "abstract": str,
            "published_on": str,
            "year": int,
            "venue_id": int,
            "status": str,
        },
        pk="id",
        foreign_keys=[("venue_id", "venues", "id")],
    )
    db.table("publication_authors").create(
        {"publication_id": int, "author_id": int, "position": int},
        pk=("publication_id", "position"),
        foreign_keys=[
            ("publication_id", "publications", "id"),
            ("author_id", "authors", "id"),
        ],
    )


def _records(jsonl: Path) -> Iterator[dict[str, Any]]:
    with jsonl.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def build(jsonl: Path, out: Path) -> dict[str, int]:
    """Build `out` (replaced if it exists) from the seed file `jsonl`; the tables' row counts."""
    db = sqlite_utils.Database(out, recreate=True)
    # A build from scratch: on a crash it is run again, so no journal file and no fsync.
    db.execute("PRAGMA journal_mode = MEMORY")
    db.execute("PRAGMA synchronous = OFF")
    _create_tables(db)
    venues, authors = _Names(), _Names()
    publications = links = 0
    records = _records(jsonl)
    while batch := list(islice(records, BATCH)):
        rows: list[Sequence[Any]] = [PUBLICATION_COLUMNS]
        byline: list[Sequence[Any]] = [("publication_id", "author_id", "position")]
        for record in batch:
            publications += 1
            published_on, venue = record.get("published_on"), record.get("venue")
            rows.append(
                (
                    publications,
                    record.get("key"),
                    record.get("title"),
                    record.get("abstract"),
                    published_on,
                    int(published_on[:4]) if published_on else None,
                    venues.id_of(venue) if venue else None,
                    record.get("status"),
                )
            )
            for position, name in enumerate(record.get("authors") or [], start=1):
                byline.append((publications, authors.id_of(name), position))
        links += len(byline) - 1
        db.table("publications").insert_all(rows, batch_size=BATCH)
        db.table("publication_authors").insert_all(byline, batch_size=BATCH)
    db.table("venues").insert_all(venues.rows(), batch_size=BATCH)
    db.table("authors").insert_all(authors.rows(), batch_size=BATCH)
    for table, columns in INDEXES:
        db.table(table).create_index(columns)
    db.table("publications").enable_fts(
        ["title", "abstract"], fts_version="FTS5", create_triggers=False, tokenize="porter"
    )
    db.analyze()
    db.close()
    return {
        "publications": publications,
        "authors": len(authors.ids),
        "venues": len(venues.ids),
        "publication_authors": links,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.datasette_db",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("jsonl", type=Path, metavar="IN.jsonl", help="seed file (JSON Lines)")
    parser.add_argument("out", type=Path, metavar="OUT.db", help="database to (re)create")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts = build(args.jsonl, args.out)
    took = time.perf_counter() - started
    summary = ", ".join(f"{count} {table}" for table, count in counts.items())
    print(f"built {args.out} in {took:.1f} s: {summary}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
