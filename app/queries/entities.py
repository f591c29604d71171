"""Reading authors and venues: both are a name with an exact publication count."""

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Table, func, select
from sqlmodel import Session

from app.queries.keyset import Ordering, parse_int, parse_text

EntitySort = Literal["name", "-publication_count"]


def orderings(table: Table) -> dict[str, Ordering]:
    c = table.c
    return {
        "name": Ordering(c.sort_name, c.id, nullable=False, parse=parse_text),
        "-publication_count": Ordering(
            c.publication_count, c.id, descending=True, nullable=False, parse=parse_int
        ),
    }


SORT_COLUMN = {"name": "sort_name", "-publication_count": "publication_count"}


@dataclass
class EntityPage:
    results: list[dict[str, Any]]
    total: int
    next_key: list[Any] | None


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
    after: list[Any] | None = None,
) -> EntityPage:
    ordering = orderings(table)[sort]
    where = [] if after is None else [ordering.after(after)]
    query = (
        _columns(table)
        .where(*where)
        .order_by(*ordering.order_by())
        .limit(limit + 1)
        .offset(offset or 0)
    )
    rows = session.execute(query).mappings().all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_key = None
    if more and rows:
        next_key = ordering.key_of(rows[-1][SORT_COLUMN[sort]], rows[-1]["id"])
    total = int(session.execute(select(func.count()).select_from(table)).scalar_one())
    return EntityPage([_public(row) for row in rows], total, next_key)


def get_entity(session: Session, table: Table, ident: int) -> dict[str, Any] | None:
    row = session.execute(_columns(table).where(table.c.id == ident)).mappings().first()
    return None if row is None else _public(row)
