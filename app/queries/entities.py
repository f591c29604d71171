"""Reading authors and venues: both are a name with an exact publication count."""

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import Table, func, select
from sqlmodel import Session

from app.core.memo import memoized
from app.core.pagination import Found
from app.core.text import fold
from app.queries.keyset import Ordering, fetch_page, parse_int, parse_text

EntitySort = Literal["name", "-publication_count"]


def orderings(table: Table) -> dict[str, Ordering]:
    c = table.c
    return {
        "name": Ordering(c.sort_name, c.id, nullable=False, parse=parse_text),
        "-publication_count": Ordering(
            c.publication_count, c.id, descending=True, nullable=False, parse=parse_int
        ),
    }


def _columns(table: Table) -> Any:
    c = table.c
    return select(c.id, c.name, c.publication_count, c.sort_name)


def _public(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "publication_count": row["publication_count"]}


def list_entities(
    session: Session,
    table: Table,
    sort: str,
    limit: int,
    offset: int | None = None,
    after: Sequence[Any] | None = None,
    q: str | None = None,
) -> Found:
    """A page of names; with `q`, those containing it, ignoring case and accents."""
    where = [] if q is None else [table.c.sort_name.contains(fold(q), autoescape=True)]
    ordering = orderings(table)[sort]
    query = _columns(table).where(*where)
    rows, next_key = fetch_page(session, query, ordering, limit, offset, after)
    total_query = select(func.count()).select_from(table).where(*where)
    total = memoized(
        session,
        (f"{table.name}.count", q),
        lambda: int(session.execute(total_query).scalar_one()),
    )
    return Found([_public(row) for row in rows], total, next_key)


def get_entity(session: Session, table: Table, ident: int) -> dict[str, Any] | None:
    row = session.execute(_columns(table).where(table.c.id == ident)).mappings().first()
    return None if row is None else _public(row)
