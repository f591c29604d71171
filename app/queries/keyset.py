"""Orderings that are total (ties broken by id) and the keyset predicates that resume them."""

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Select, or_, select, union_all
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
    """Order by one column (nulls last in either direction), then by id ascending.

    Every page is an index range read at any depth: rows with a value come first, read from an
    index on (column, id) in the column's direction (for a descending column, an index on
    (column DESC, id)), and the rows without one after them, read by id. A nullable ordering
    reads the two segments as separate limited statements (`fetch_page`), so that neither the
    planner nor a cursor ever meets `IS NULL` inside a sort.
    """

    column: Any
    id_column: Any
    descending: bool = False
    nullable: bool = True
    # Turns a cursor's JSON value back into a column value; raises ValueError when it can't.
    parse: Callable[[Any], Any] = lambda v: v

    def _valued_order(self) -> list[Any]:
        column = self.column.desc() if self.descending else self.column.asc()
        return [column, self.id_column.asc()]

    def order_by(self) -> list[Any]:
        """The whole order, for a query that reads every row (an export)."""
        if not self.nullable:
            return self._valued_order()
        return [self.column.is_(None).asc(), *self._valued_order()]

    def key_of(self, row: RowMapping) -> list[Any]:
        """The cursor key of `row` (which holds the sort column and the id)."""
        value = row[self.column.key]
        return [value.isoformat() if isinstance(value, dt.date) else value, row[self.id_column.key]]

    def parse_key(self, key: Sequence[Any]) -> tuple[Any, int]:
        """A cursor key as (column value or None, id); a 422 when it is not one of ours."""
        try:
            raw, ident = key
            if not _is_int(ident, 1, MAX_ID):
                raise ValueError(ident)
            value = None if raw is None else self.parse(raw)
        except (ValueError, TypeError):
            raise invalid(CURSOR_LOC, "malformed cursor") from None
        if value is None and not self.nullable:
            raise invalid(CURSOR_LOC, "malformed cursor")
        return value, ident

    def _beyond(self, value: Any, ident: int) -> list[ColumnElement[bool]]:
        """Valued rows strictly after (value, ident): a range on the index, then the ties."""
        column, later_id = self.column, self.id_column > ident
        if self.descending:
            return [column <= value, or_(column < value, later_id)]
        return [column >= value, or_(column > value, later_id)]

    def segments(
        self, query: Select[Any], after: Sequence[Any] | None = None, valued_only: bool = False
    ) -> list[Select[Any]]:
        """`query` from the row `after` on, in this order, as the segments read one after the
        other (unlimited): the valued rows in index order, then those without a value by id.

        `valued_only` says the filters already exclude rows without a value (a date range
        does), so that the second segment is not even asked for.
        """
        value, ident = (None, 0) if after is None else self.parse_key(after)
        if not self.nullable:
            where = [] if after is None else self._beyond(value, ident)
            return [query.where(*where).order_by(*self._valued_order())]
        segments: list[Select[Any]] = []
        if after is None or value is not None:
            where = [self.column.is_not(None)]
            if value is not None:
                where += self._beyond(value, ident)
            segments.append(query.where(*where).order_by(*self._valued_order()))
        if not valued_only:
            where = [self.column.is_(None)]
            if after is not None and value is None:
                where.append(self.id_column > ident)
            segments.append(query.where(*where).order_by(self.id_column.asc()))
        return segments

    def page(
        self,
        query: Select[Any],
        limit: int,
        offset: int = 0,
        after: Sequence[Any] | None = None,
        valued_only: bool = False,
    ) -> Select[Any]:
        """`limit` rows of `query` in this order, `offset` rows in or after the row `after`,
        as one statement."""
        segments = self.segments(query, after, valued_only)
        if len(segments) == 1:
            return segments[0].limit(limit).offset(offset)
        # Each segment is read as far as the page could reach into it, then the two (already
        # in order, valued rows first) are put together.
        reach = limit + offset
        parts = [segment.limit(reach).subquery() for segment in segments]
        both = union_all(*(select(*part.c) for part in parts)).subquery("page")
        column, ident_column = both.c[self.column.key], both.c[self.id_column.key]
        ordered = column.desc() if self.descending else column.asc()
        return (
            select(*both.c)
            .order_by(column.is_(None).asc(), ordered, ident_column.asc())
            .limit(limit)
            .offset(offset)
        )


def fetch_page(
    session: Session,
    query: Select[Any],
    ordering: Ordering,
    limit: int,
    offset: int | None,
    after: Sequence[Any] | None,
    valued_only: bool = False,
) -> tuple[Sequence[RowMapping], list[Any] | None]:
    """Rows of one page of `query` and the key to resume after it (`None` on the last page).

    Fetches one row more than asked to know whether a next page exists without counting.
    The segments of a nullable order are read one after the other, the second only when the
    first ends within the page: a statement per segment costs less to build and to plan
    than their union, which page 1 of a million dated rows never needs. Only a page whose
    offset reaches past every valued row, where what the offset leaves of the second
    segment is not known without counting the first, is read as the union.
    """
    wanted, skip = limit + 1, offset or 0
    first, *rest = ordering.segments(query, after, valued_only)
    rows = list(session.execute(first.limit(wanted).offset(skip)).mappings().all())
    if rest and len(rows) < wanted:
        if rows or not skip:
            rows += session.execute(rest[0].limit(wanted - len(rows))).mappings().all()
        else:
            page = ordering.page(query, wanted, skip, after, valued_only)
            rows = list(session.execute(page).mappings().all())
    return split_page(rows, ordering, limit)


def split_page(
    rows: Sequence[RowMapping], ordering: Ordering, limit: int
) -> tuple[Sequence[RowMapping], list[Any] | None]:
    """The `limit` rows of a page fetched one row long, and the key to resume after them
    (`None` when that extra row is not there: the last page)."""
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
