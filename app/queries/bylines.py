"""Each publication's byline, kept on its row as the JSON the API shows.

`publication_author` says who wrote what; filters, facets and author pages read it. A page of
publications needs each row's whole byline too, and reading it from there cost a query per
page that touched the byline index and then one author row per author, each on a page of its
own: at 1,000,000 publications, a cold page of a venue and year answered at 141-225 req/s with
that query and 287-326 without it. So the loader also writes the byline on the publication row
(`byline`, a JSON array of `{"id", "name", "position"}` in position order), in the same
statement as the row; a page reads it with the row. An author's id and name never change (an
author is its name), so the copy cannot go stale while the publication's own authors stay the
same, and the loader rewrites both whenever they do not.

`refresh` rebuilds the copy from `publication_author` in SQL: for the migration that added the
column, and for data written without the loader (the tests' generator).
"""

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, text

# Every author of every publication, in position order, with positions from 1.
_SQLITE = """
UPDATE publication SET byline = (
    SELECT json_group_array(json_object('id', id, 'name', name, 'position', position))
    FROM (
        SELECT a.id AS id, a.name AS name, pa.position AS position
        FROM publication_author AS pa JOIN author AS a ON a.id = pa.author_id
        WHERE pa.publication_id = publication.id
        ORDER BY pa.position
    )
)
"""
_POSTGRESQL = """
UPDATE publication SET byline = (
    SELECT coalesce(
        json_agg(
            json_build_object('id', a.id, 'name', a.name, 'position', pa.position)
            ORDER BY pa.position
        ),
        '[]'::json
    )::text
    FROM publication_author AS pa JOIN author AS a ON a.id = pa.author_id
    WHERE pa.publication_id = publication.id
)
"""


def encode(authors: Iterable[tuple[int, str]]) -> str:
    """The byline of `authors` ((id, name) in byline order), as stored."""
    return json.dumps(
        [
            {"id": ident, "name": name, "position": position}
            for position, (ident, name) in enumerate(authors, start=1)
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode(stored: str | None) -> list[dict[str, Any]]:
    """The byline as the API shows it: none on a row that was never given one."""
    return [] if stored is None else json.loads(stored)


def refresh_sql(dialect: str) -> str:
    """The UPDATE that rewrites every stored byline from `publication_author`."""
    return _POSTGRESQL if dialect == "postgresql" else _SQLITE


def refresh(conn: Connection, publication_ids: Sequence[int] | None = None) -> None:
    """Rewrite the stored bylines of `publication_ids` (all publications: None) from
    `publication_author`."""
    sql = refresh_sql(conn.dialect.name)
    if publication_ids is None:
        conn.execute(text(sql))
    elif publication_ids:
        only = text(f"{sql} WHERE id IN :ids").bindparams(bindparam("ids", expanding=True))
        conn.execute(only, {"ids": list(publication_ids)})
