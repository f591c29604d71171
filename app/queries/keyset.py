"""Orderings that are total (ties broken by id) and the keyset predicates that resume them."""

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Select, and_, or_
from sqlmodel import Session

from app.core.errors import invalid
from app.core.pagination import CURSOR_LOC
from app.core.text import printable

# Ids are 32-bit on PostgreSQL (SERIAL); counts fit in 64 bits on both engines.
MAX_ID = 2**31 - 1
MAX_INT = 2**63 - 1


def _is_int(value: Any, low: int = -MAX_INT, high: int = MAX_INT) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


@dataclass(frozen=True)
class Ordering:
    """Order by one column (nulls last in either direction), then by id ascending."""

    column: Any
    id_column: Any
    descending: bool = False
    nullable: bool = True
    # Turns a cursor's JSON value back into a column value; raises ValueError when it can't.
    parse: Callable[[Any], Any] = lambda v: v

    def order_by(self) -> list[Any]:
        column = self.column.desc() if self.descending else self.column.asc()
        if not self.nullable:
            return [column, self.id_column.asc()]
        return [self.column.is_(None).asc(), column, self.id_column.asc()]

    def key_of(self, row: RowMapping) -> list[Any]:
        """The cursor key of `row` (which holds the sort column and the id)."""
        value = row[self.column.key]
        return [value.isoformat() if isinstance(value, dt.date) else value, row[self.id_column.key]]

    def after(self, key: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly after the row whose cursor key is `key`."""
        try:
            raw, ident = key
            if not _is_int(ident, 1, MAX_ID):
                raise ValueError(ident)
            value = None if raw is None else self.parse(raw)
        except (ValueError, TypeError):
            raise invalid(CURSOR_LOC, "malformed cursor") from None
        later_id = self.id_column > ident
        if value is None:
            if not self.nullable:
                raise invalid(CURSOR_LOC, "malformed cursor")
            return and_(self.column.is_(None), later_id)
        beyond = self.column < value if self.descending else self.column > value
        resume = or_(beyond, and_(self.column == value, later_id))
        return or_(self.column.is_(None), resume) if self.nullable else resume


def fetch_page(
    session: Session,
    query: Select[Any],
    ordering: Ordering,
    limit: int,
    offset: int | None,
    after: Sequence[Any] | None,
) -> tuple[Sequence[RowMapping], list[Any] | None]:
    """Rows of one page of `query` and the key to resume after it (`None` on the last page).

    Fetches one row more than asked to know whether a next page exists without counting.
    """
    if after is not None:
        query = query.where(ordering.after(after))
    query = query.order_by(*ordering.order_by()).limit(limit + 1).offset(offset or 0)
    rows = session.execute(query).mappings().all()
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], ordering.key_of(rows[limit - 1])


def parse_text(value: Any) -> str:
    """A cursor's text, refused when no database column could hold it."""
    if not isinstance(value, str):
        raise ValueError(value)
    value.encode("utf-8")  # lone surrogates raise UnicodeEncodeError, a ValueError
    return printable(value)


def parse_int(value: Any) -> int:
    if not _is_int(value):
        raise ValueError(value)
    return int(value)


def parse_float(value: Any) -> float:
    if not (_is_int(value) or isinstance(value, float)) or value != value or abs(value) > 1e300:
        raise ValueError(value)
    return float(value)


def parse_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(parse_text(value))
