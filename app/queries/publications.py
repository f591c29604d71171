"""Reading publications: filters, orderings, pages and bylines."""

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, Literal

from sqlalchemy import ColumnElement, bindparam, false, func, select
from sqlmodel import Session

from app.core.db import renew_deadline
from app.core.memo import memoized
from app.core.pagination import Found
from app.core.search import SearchQuery, snippet
from app.exports.keys import cite_key
from app.models.tables import AUTHOR, PUBLICATION, PUBLICATION_AUTHOR, VENUE
from app.queries import bylines
from app.queries import search as search_index
from app.queries.keyset import (
    Ordering,
    fetch_page,
    parse_date,
    parse_float,
    parse_text,
    split_page,
)

PublicationSort = Literal["-published_on", "published_on", "title", "-title", "relevance"]

P = PUBLICATION.c
PA = PUBLICATION_AUTHOR.c
BY = PUBLICATION_AUTHOR.alias("filter_byline").c
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
    # `q`, read as a search.
    search: SearchQuery | None = None

    def where(self, dialect: str, with_search: bool = True) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.search is not None and with_search:
            clauses.append(
                false() if self.search.empty else search_index.matches(dialect, self.search)
            )
        if self.years:
            # A year is its date's: years are a date range, which the date indexes read in
            # order. Consecutive years are exactly that range; others are also named.
            first, last = dt.date(min(self.years), 1, 1), dt.date(max(self.years), 12, 31)
            clauses.append(P.published_on.between(first, last))
            if len(self.years) != max(self.years) - min(self.years) + 1:
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
            clauses.append(_has_author(BY.author_id.in_(self.authors)))
        if self.scope_author is not None:
            clauses.append(_has_author(BY.author_id == self.scope_author))
        return clauses

    @property
    def dated_only(self) -> bool:
        """Whether only publications with a date can match."""
        return bool(self.years) or self.from_date is not None or self.to_date is not None


def _has_author(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    # The publications of the bylines matching `condition`, read from the author index: the
    # planner starts from those few rows instead of probing every row of a sort index. Its
    # own alias of the byline table, so that it stays a subquery about the publication even
    # in a query (the author facet) whose FROM holds publication_author too.
    return P.id.in_(select(BY.publication_id).where(condition))


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def count_publications(session: Session, filters: PublicationFilters) -> int:
    """How many publications match: counted once per data version and filters."""

    def count() -> int:
        dialect = _dialect(session)
        if filters.search is None or filters.search.empty:
            query = select(func.count()).select_from(PUBLICATION)
            return int(session.execute(query.where(*filters.where(dialect))).scalar_one())
        # From the search index's matches. As `publication.id IN (matches)`, SQLite counted a
        # word of 290,000 matches (of 1M) in 10.7 s, reading the table. The index holds exactly
        # one entry per publication (the loader writes both in one transaction), so a search
        # alone is counted there (0.05 s); other filters join each match to its publication by
        # primary key (0.3 s once its pages are cached, 3 s before).
        found = search_index.matching(dialect, filters.search).subquery("matching")
        others = filters.where(dialect, with_search=False)
        query = select(func.count()).select_from(found)
        if others:
            query = query.join(PUBLICATION, P.id == found.c.id).where(*others)
        return int(session.execute(query).scalar_one())

    return memoized(session, count_key(filters), count)


def count_key(filters: PublicationFilters) -> tuple[str, PublicationFilters]:
    """What the number of publications matching `filters` is memoized under."""
    return ("publications.count", filters)


# What `fields` may name, in the order of a full publication.
FIELDS = ("id", "title", "abstract", "published_on", "year", "venue", "status", "authors")
ALL_FIELDS = frozenset(FIELDS)
# With `q`, a result also has `snippet`: the best passage, HTML-escaped, matches in <mark>.
SEARCH_FIELDS = (*FIELDS, "snippet")
FACETS = ("year", "venue", "status", "author")
MAX_BUCKETS = 100


def _listing(
    session: Session, filters: PublicationFilters, sort: str, fields: frozenset[str]
) -> tuple[Any, Ordering]:
    """The SELECT of every matching publication (unordered) and the ordering of `sort`."""
    dialect = _dialect(session)
    if sort == "relevance" and filters.search is not None and not filters.search.empty:
        ranked = search_index.ranked(dialect, filters.search)
        ordering = Ordering(
            ranked.c.score, P.id, descending=True, nullable=False, parse=parse_float
        )
        query = _publication_columns(fields, extra=ranked.c.score, search=filters.search)
        query = query.join(ranked, ranked.c.id == P.id).where(
            *filters.where(dialect, with_search=False)
        )
    else:
        # (relevance over a search of no words: nothing matches, any order will do)
        ordering = ORDERINGS["-published_on" if sort == "relevance" else sort]
        query = _publication_columns(fields, extra=ordering.column, search=filters.search)
        query = query.where(*filters.where(dialect))
    return query, ordering


def list_publications(
    session: Session,
    filters: PublicationFilters,
    sort: str,
    limit: int,
    offset: int | None = None,
    after: Sequence[Any] | None = None,
    fields: frozenset[str] = ALL_FIELDS,
) -> Found:
    """One page: the rows, their bylines and the count, whatever the page length (the rows
    in a second statement when the page reaches past the dated ones: `fetch_page`).

    Only the columns of the requested `fields` are read (and the bylines only when `authors`
    is one of them).
    """
    if _ranked_alone(filters, sort):
        rows, next_key = _ranked_page(session, filters, fields, limit, offset, after)
    else:
        query, ordering = _listing(session, filters, sort, fields)
        valued_only = ordering.column is P.published_on and filters.dated_only
        rows, next_key = fetch_page(session, query, ordering, limit, offset, after, valued_only)
    results = public_items(rows, fields, filters.search)
    return Found(results, count_publications(session, filters), next_key)


def _ranked_alone(filters: PublicationFilters, sort: str) -> bool:
    """Whether the page is a search by relevance and nothing else (search as you type)."""
    search = filters.search
    return (
        sort == "relevance"
        and search is not None
        and not search.empty
        and filters == PublicationFilters(search=search)
    )


def _ranked_page(
    session: Session,
    filters: PublicationFilters,
    fields: frozenset[str],
    limit: int,
    offset: int | None,
    after: Sequence[Any] | None,
) -> tuple[Sequence[Any], list[Any] | None]:
    """A page of a search by relevance alone: the index ranks and cuts the page by itself, and
    only the page's rows are read from the publication table (not every match's)."""
    assert filters.search is not None
    scored = search_index.scored(_dialect(session), filters.search)
    score, ident = scored.selected_columns.score, scored.selected_columns.id
    ranking = Ordering(score, ident, descending=True, nullable=False, parse=parse_float)
    top = ranking.page(scored, limit + 1, offset or 0, after).subquery("ranked")
    query = (
        _publication_columns(fields, extra=top.c.score, search=filters.search)
        .join(top, top.c.id == P.id)
        .order_by(top.c.score.desc(), P.id)
    )
    return split_page(session.execute(query).mappings().all(), ranking, limit)


def iter_publications(
    session: Session,
    filters: PublicationFilters,
    sort: str,
    fields: frozenset[str] = ALL_FIELDS,
    batch: int = 1000,
) -> Iterator[list[dict[str, Any]]]:
    """Every publication matching `filters`, in `sort` order, a batch at a time.

    One query, streamed (a server-side cursor on PostgreSQL), sorted once: memory stays at one
    batch however many match, the whole stream is one snapshot, and no batch pays for the ones
    before it. Bylines come per batch, as for a page.
    """
    query, ordering = _listing(session, filters, sort, fields)
    result = session.execute(
        query.order_by(*ordering.order_by()),
        execution_options={"stream_results": True, "yield_per": batch},
    )
    for rows in result.mappings().partitions():
        yield public_items(rows, fields, filters.search)
        renew_deadline(session.connection())


def cite_keys(session: Session, publication_ids: Sequence[int]) -> dict[int, str]:
    """The citation key of each publication: its base, suffixed by its rank among its namesakes.

    The rank counts the publications with the same base and a lower id (an index lookup each),
    so keys never depend on what else an export holds, and a newer publication never renames
    an older one.
    """
    if not publication_ids:
        return {}
    namesake = PUBLICATION.alias("namesake").c
    rank = (
        select(func.count())
        .where(namesake.cite_base == P.cite_base, namesake.id < P.id)
        .scalar_subquery()
    )
    query = select(P.id, P.cite_base, rank).where(P.id.in_(publication_ids))
    return {
        ident: cite_key(base or "", int(position))
        for ident, base, position in session.execute(query)
    }


def get_publication(
    session: Session, publication_id: int, fields: frozenset[str] = ALL_FIELDS
) -> dict[str, Any] | None:
    found = session.execute(one_query(fields), {"publication_id": publication_id}).mappings()
    results = public_items(found.all(), fields)
    return results[0] if results else None


@lru_cache(maxsize=256)
def one_query(fields: frozenset[str]) -> Any:
    # Built once per field set: making a SELECT costs more than running it by primary key.
    return _publication_columns(fields).where(P.id == bindparam("publication_id"))


def _publication_columns(
    fields: frozenset[str], extra: Any = None, search: SearchQuery | None = None
) -> Any:
    """SELECT of what `fields` needs: always the id (bylines, cursors), and `extra`."""
    columns: list[Any] = [P.id]
    snippet_needs = ("title", "abstract") if search is not None and "snippet" in fields else ()
    for name in ("title", "abstract", "published_on", "year", "status"):
        if name in fields or name in snippet_needs:
            columns.append(P[name])
    if "authors" in fields:
        columns.append(P.byline)
    source: Any = PUBLICATION
    if "venue" in fields:
        columns += [P.venue_id, V.name.label("venue_name")]
        source = PUBLICATION.outerjoin(VENUE, V.id == P.venue_id)
    if extra is not None and all(extra is not column for column in columns):
        columns.append(extra)
    return select(*columns).select_from(source)


def public_items(
    rows: Sequence[Any], fields: frozenset[str], search: SearchQuery | None = None
) -> list[dict[str, Any]]:
    """Publications as the API shows them, from rows of `_publication_columns(fields)`."""
    results = []
    for row in rows:
        item: dict[str, Any] = {}
        for name in SEARCH_FIELDS:
            if name not in fields:
                continue
            if name == "snippet":
                if search is not None:
                    passage = row["abstract"] if row["abstract"] is not None else row["title"]
                    item["snippet"] = None if passage is None else snippet(passage, search)
            elif name == "venue":
                venue_id = row["venue_id"]
                item["venue"] = (
                    None if venue_id is None else {"id": venue_id, "name": row["venue_name"]}
                )
            elif name == "authors":
                item["authors"] = bylines.decode(row["byline"])
            else:
                item[name] = row[name]
        results.append(item)
    return results


def facet_counts(
    session: Session, filters: PublicationFilters, facets: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Counts over the whole filtered set: most frequent first, then by value, 100 at most."""
    return {
        facet: [
            dict(bucket)
            for bucket in memoized(
                session,
                ("publications.facet", filters, facet),
                partial(_facet_counts, session, filters, facet),
            )
        ]
        for facet in facets
    }


def _facet_counts(
    session: Session, filters: PublicationFilters, facet: str
) -> list[dict[str, Any]]:
    where = filters.where(_dialect(session))
    bytewise = _dialect(session) == "postgresql"
    count = func.count().label("count")
    if facet == "author":
        value = PA.author_id
        query = (
            select(value.label("value"), A.name.label("name"), count)
            .select_from(PUBLICATION_AUTHOR.join(PUBLICATION, P.id == PA.publication_id))
            .join(AUTHOR, A.id == PA.author_id)
            .group_by(value, A.name)
        )
    elif facet == "venue":
        value = P.venue_id
        query = (
            select(value.label("value"), V.name.label("name"), count)
            .select_from(PUBLICATION.outerjoin(VENUE, V.id == P.venue_id))
            .group_by(value, V.name)
        )
    else:
        value = P[facet]
        query = select(value.label("value"), count).select_from(PUBLICATION).group_by(value)
    # Text values order byte-wise on both engines, like every sort key.
    order_value = value.collate("C") if bytewise and facet == "status" else value
    query = (
        query.where(*where).order_by(count.desc(), value.is_(None), order_value).limit(MAX_BUCKETS)
    )
    return [dict(row) for row in session.execute(query).mappings()]
