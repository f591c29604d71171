"""Deep-page tokens for both servers: pubapi cursors and Datasette `_next` values.

pubapi cursors are opaque and signed, so they are made by pubapi's own code, the way its
routers make them: the key of the row at a position comes from the query functions the routers
call, and is encoded with the router's fingerprint of the query and the server's secret. A test
checks that the real app accepts them and resumes right after that row.

Datasette's `_next` for a table sorted by a column is `SORT_VALUE,PK`, each tilde-encoded
(`datasette.views.table`: `f"{tilde_encode(str(value))},{path_from_row_pks(row)}"`), and the page
resumes after that row in Datasette's order `ORDER BY column DESC, id` (SQLite sorts NULLs first
ascending, so last when descending, as pubapi does).
"""

import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from datasette.utils import tilde_encode
from sqlmodel import Session

from app.core.db import make_engine
from app.core.pagination import CursorCodec, Found, fingerprint
from app.models.tables import AUTHOR
from app.queries.entities import list_entities
from app.queries.publications import PublicationFilters, list_publications

PUBLICATION_SORT = "-published_on"
AUTHOR_SORT = "-publication_count"
# The fewest columns a listing can read (the sort key comes with it): only keys are wanted.
ID_ONLY = frozenset({"id"})


def _keys_at(
    fetch: Callable[[int, list[Any] | None], Found], positions: Iterable[int]
) -> dict[int, list[Any]]:
    """The cursor key of the row at each 1-based position (the key a page ending there gives).

    Walks the positions in order, each step resuming from the previous key with an offset of the
    gap, so the whole walk reads the rows once however many positions there are.
    """
    keys: dict[int, list[Any]] = {}
    after: list[Any] | None = None
    at = 0
    for position in sorted(set(positions)):
        found = fetch(position - at - 1, after)
        if found.next_key is None:
            raise ValueError(f"no row after position {position}: nothing to resume")
        keys[position] = found.next_key
        after, at = found.next_key, position
    return keys


def publication_cursors(database_url: str, secret: str, positions: Iterable[int]) -> dict[int, str]:
    """For each position, the cursor of `/publications` (default sort, no filter) whose page
    starts at the next row: what `meta.next_cursor` of a page ending at that position holds."""
    filters = PublicationFilters()
    engine = make_engine(database_url, pool_size=1)
    try:
        with Session(engine) as session:
            keys = _keys_at(
                lambda offset, after: list_publications(
                    session, filters, PUBLICATION_SORT, 1, offset, after, ID_ONLY
                ),
                positions,
            )
    finally:
        engine.dispose()
    # As app.routers.publications.publication_page names the query.
    query_id = fingerprint("publications", PUBLICATION_SORT, filters)
    codec = CursorCodec(secret)
    return {position: codec.encode(query_id, key) for position, key in keys.items()}


def author_cursors(database_url: str, secret: str, positions: Iterable[int]) -> dict[int, str]:
    """For each position, the cursor of `/authors?sort=-publication_count` resuming after it."""
    engine = make_engine(database_url, pool_size=1)
    try:
        with Session(engine) as session:
            keys = _keys_at(
                lambda offset, after: list_entities(session, AUTHOR, AUTHOR_SORT, 1, offset, after),
                positions,
            )
    finally:
        engine.dispose()
    # As app.routers.entities.list_entities names the query (no `q`).
    query_id = fingerprint("authors", AUTHOR_SORT, None)
    codec = CursorCodec(secret)
    return {position: codec.encode(query_id, key) for position, key in keys.items()}


def datasette_next(sort_value: object, pk: object) -> str:
    """Datasette's `_next` for a page of a table sorted by a column, ending at this row."""
    prefix = "$null" if sort_value is None else tilde_encode(str(sort_value))
    return f"{prefix},{tilde_encode(str(pk))}"


def datasette_tokens(
    database: Path, table: str, column: str, positions: Iterable[int]
) -> dict[int, str]:
    """`_next` tokens of `table` sorted by `column` descending (`_sort_desc`), per position."""
    wanted = sorted(set(positions))
    if not wanted:
        return {}
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        # `table` and `column` are this module's constants, never user input.
        rows = conn.execute(
            f"SELECT position, sort_value, id FROM ("
            f"  SELECT row_number() OVER (ORDER BY {column} DESC, id) AS position,"
            f"         {column} AS sort_value, id FROM {table}"
            f") WHERE position IN (SELECT value FROM json_each(?))",
            (str(wanted),),
        ).fetchall()
    finally:
        conn.close()
    found = {position: datasette_next(value, pk) for position, value, pk in rows}
    missing = [p for p in wanted if p not in found]
    if missing:
        raise ValueError(f"{table} has no row at positions {missing[:5]}")
    return found
