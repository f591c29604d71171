"""Reading publications: filters, orderings, pages and bylines."""

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, exists, func, select
from sqlmodel import Session

from app.core.pagination import Found
from app.models.tables import AUTHOR, PUBLICATION, PUBLICATION_AUTHOR, VENUE
from app.queries.keyset import Ordering, fetch_page, parse_date, parse_text

PublicationSort = Literal["-published_on", "published_on", "title", "-title"]

P = PUBLICATION.c
PA = PUBLICATION_AUTHOR.c
A = AUTHOR.c
V = VENUE.c

ORDERINGS: dict[str, Ordering] = {
    "-published_on": Ordering(P.published_on, P.id, descending=True, parse=parse_date),
    "published_on": Ordering(P.published_on, P.id, parse=parse_date),
    "title": Ordering(P.sort_title, P.id, parse=parse_text),
    "-title": Ordering(P.sort_title, P.id, descending=True, parse=parse_text),
}


@dataclass(frozen=True)
class PublicationFilters:
    """Filters combine with AND; the values of one filter combine with OR."""

    years: tuple[int, ...] = ()
    from_date: dt.date | None = None
    to_date: dt.date | None = None
    venues: tuple[int, ...] = ()
    authors: tuple[int, ...] = ()
    statuses: tuple[str, ...] = ()
    # Set by /authors/{id}/publications and /venues/{id}/publications.
    scope_author: int | None = None
    scope_venue: int | None = None

    def where(self) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.years:
            clauses.append(P.year.in_(self.years))
        if self.from_date is not None:
            clauses.append(P.published_on >= self.from_date)
        if self.to_date is not None:
            clauses.append(P.published_on <= self.to_date)
        if self.venues:
            clauses.append(P.venue_id.in_(self.venues))
        if self.scope_venue is not None:
            clauses.append(P.venue_id == self.scope_venue)
        if self.statuses:
            clauses.append(P.status.in_(self.statuses))
        if self.authors:
            clauses.append(_has_author(PA.author_id.in_(self.authors)))
        if self.scope_author is not None:
            clauses.append(_has_author(PA.author_id == self.scope_author))
        return clauses


def _has_author(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(PA.publication_id == P.id, condition)


def count_publications(session: Session, filters: PublicationFilters) -> int:
    query = select(func.count()).select_from(PUBLICATION).where(*filters.where())
    return int(session.execute(query).scalar_one())


def list_publications(
    session: Session,
    filters: PublicationFilters,
    sort: str,
    limit: int,
    offset: int | None = None,
    after: Sequence[Any] | None = None,
) -> Found:
    """One page: three queries (rows, bylines, count) whatever the page length."""
    query = _publication_columns().where(*filters.where())
    rows, next_key = fetch_page(session, query, ORDERINGS[sort], limit, offset, after)
    return Found(_with_bylines(session, rows), count_publications(session, filters), next_key)


def get_publication(session: Session, publication_id: int) -> dict[str, Any] | None:
    rows = session.execute(_publication_columns().where(P.id == publication_id)).mappings().all()
    results = _with_bylines(session, rows)
    return results[0] if results else None


def _publication_columns() -> Any:
    return select(
        P.id,
        P.title,
        P.sort_title,
        P.abstract,
        P.published_on,
        P.year,
        P.status,
        P.venue_id,
        V.name.label("venue_name"),
    ).select_from(PUBLICATION.outerjoin(VENUE, V.id == P.venue_id))


def _with_bylines(session: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
    bylines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if rows:
        query = (
            select(PA.publication_id, A.id, A.name, PA.position)
            .join(AUTHOR, A.id == PA.author_id)
            .where(PA.publication_id.in_([row["id"] for row in rows]))
            .order_by(PA.publication_id, PA.position)
        )
        for pub_id, author_id, name, position in session.execute(query):
            bylines[pub_id].append({"id": author_id, "name": name, "position": position})
    return [
        {
            "id": row["id"],
            "title": row["title"],
            "abstract": row["abstract"],
            "published_on": row["published_on"],
            "year": row["year"],
            "venue": (
                {"id": row["venue_id"], "name": row["venue_name"]}
                if row["venue_id"] is not None
                else None
            ),
            "status": row["status"],
            "authors": bylines[row["id"]],
        }
        for row in rows
    ]
