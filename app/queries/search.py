"""The search index, one per engine, over the terms app.core.search makes.

SQLite: an FTS5 table `publication_search` (rowid = publication id) with the stemmed terms of
the title, abstract and authors, and their plain folded words for prefixes; ranked by BM25.
PostgreSQL: a table `publication_search` holding one tsvector per publication (weights A title,
B authors, C abstract; the plain words, for prefixes, at positions of their own) under a GIN
index; ranked by ts_rank_cd. Either way a match in the title counts most, in the abstract least,
whether it is a whole word or the word being typed.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    REAL,
    ColumnElement,
    Connection,
    cast,
    column,
    delete,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION, TSQUERY

from app.core.db import insert_rows
from app.core.search import SearchQuery, stem, words_and_terms
from app.models.tables import PUBLICATION

P = PUBLICATION.c
FTS_COLUMNS = (
    "rowid",
    *("title", "abstract", "authors"),
    *("title_words", "abstract_words", "authors_words"),
)
FTS_STEMS = "{title abstract authors}"
FTS_WORDS = "{title_words abstract_words authors_words}"
# Weights of the columns: title, abstract, authors, then their plain words likewise.
BM25 = "bm25(publication_search, 10.0, 1.0, 5.0, 10.0, 1.0, 5.0)"
# ts_rank_cd weights in PostgreSQL's order: D (unused), C (abstract), B (authors), A (title).
TS_WEIGHTS = "{0.0, 0.1, 0.5, 1.0}"
WORDS_OFFSET = 8192
MAX_POSITION = 16383

Document = tuple[int, str | None, str | None, Sequence[str]]


def _vector(title: str | None, abstract: str | None, authors: Sequence[str]) -> str:
    """A tsvector literal: stems with positions and weights, then the words for prefixes."""
    positions: dict[str, list[str]] = {}
    position = 1
    for weight, text_ in (("A", title or ""), ("B", " ".join(authors)), ("C", abstract or "")):
        found, stems = words_and_terms(text_)
        for found_stem, word in zip(stems, found, strict=True):
            at = min(position, WORDS_OFFSET - 1)
            positions.setdefault(found_stem, []).append(f"{at}{weight}")
            word_at = min(position + WORDS_OFFSET, MAX_POSITION)
            positions.setdefault(word, []).append(f"{word_at}{weight}")
            position += 1
        position += 10  # a phrase never spans two fields
    return " ".join(f"'{lexeme}':{','.join(at)}" for lexeme, at in positions.items())


def remove(conn: Connection, ids: Sequence[int]) -> None:
    """Take publications out of the index (before `write` indexes their new text)."""
    if ids:
        key: Any = column("rowid" if conn.dialect.name == "sqlite" else "publication_id")
        conn.execute(delete(table("publication_search")).where(key.in_(ids)))


def write(conn: Connection, documents: Iterable[Document]) -> None:
    """Index publications that are not in the index: (id, title, abstract, author names)."""
    dialect = conn.dialect.name
    write_documents(
        conn,
        [
            (ident, document(dialect, title, abstract, authors))
            for ident, title, abstract, authors in documents
        ],
    )


def document(
    dialect: str, title: str | None, abstract: str | None, authors: Sequence[str]
) -> tuple[str, ...] | str:
    """What indexes a publication on `dialect`: FTS5's six columns (stems, then words, of the
    title, abstract and authors), or PostgreSQL's tsvector literal. Needs no database."""
    if dialect != "sqlite":
        return _vector(title, abstract, authors)
    stems: list[str] = []
    found: list[str] = []
    for value in (title or "", abstract or "", " ".join(authors)):
        value_words, value_stems = words_and_terms(value)
        stems.append(" ".join(value_stems))
        found.append(" ".join(value_words))
    return (*stems, *found)


def write_documents(conn: Connection, rows: Sequence[tuple[int, Any]]) -> None:
    """Index publications that are not in the index: (id, its `document`)."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        insert_rows(conn, "publication_search", FTS_COLUMNS, [(i, *doc) for i, doc in rows])
        return
    conn.execute(
        text(
            "INSERT INTO publication_search (publication_id, vector) "
            "VALUES (:id, CAST(:vector AS tsvector))"
        ),
        [{"id": ident, "vector": vector} for ident, vector in rows],
    )


def _fts5(query: SearchQuery) -> str:
    parts = [f'{FTS_STEMS} : "{term}"' for term in query.terms]
    parts += [f'{FTS_STEMS} : "{" ".join(phrase)}"' for phrase in query.phrases]
    if query.prefix is not None:
        prefix, whole = query.prefix, stem(query.prefix)
        parts.append(f'({FTS_WORDS} : "{prefix}" * OR {FTS_STEMS} : "{whole}")')
    return " AND ".join(parts)


def _tsquery(query: SearchQuery) -> str:
    parts = [f"'{term}':ABC" for term in query.terms]
    parts += ["(" + " <-> ".join(f"'{t}':ABC" for t in phrase) + ")" for phrase in query.phrases]
    if query.prefix is not None:
        parts.append(f"('{query.prefix}':*ABC | '{stem(query.prefix)}':ABC)")
    return " & ".join(parts)


def _matching(dialect: str, query: SearchQuery, scored: bool) -> Any:
    """SELECT of the ids of the publications matching `query`, and their score if `scored`."""
    if dialect == "sqlite":
        columns: list[Any] = [literal_column("rowid").label("id")]
        if scored:
            columns.append(literal_column(f"-{BM25}").label("score"))
        match = text("publication_search MATCH :fts").bindparams(fts=_fts5(query))
        return select(*columns).select_from(table("publication_search")).where(match)
    tsquery = cast(literal(_tsquery(query)), TSQUERY)
    vector: Any = column("vector")
    columns = [column("publication_id").label("id")]
    if scored:
        # ts_rank_cd is a `real`: as a double, the score a cursor carries back compares equal
        # to the one computed again (a real widened to double does not).
        weights = cast(literal(TS_WEIGHTS), ARRAY(REAL))
        rank = cast(func.ts_rank_cd(weights, vector, tsquery), DOUBLE_PRECISION)
        columns.append(rank.label("score"))
    return select(*columns).select_from(table("publication_search")).where(vector.op("@@")(tsquery))


def matching(dialect: str, query: SearchQuery) -> Any:
    """The SELECT of the ids (`id`) of the publications matching `query`."""
    return _matching(dialect, query, scored=False)


def scored(dialect: str, query: SearchQuery) -> Any:
    """The SELECT of (id, score) of the publications matching `query`."""
    return _matching(dialect, query, scored=True)


def ranked(dialect: str, query: SearchQuery) -> Any:
    """A subquery (id, score) of the publications matching `query`; higher scores first."""
    return _matching(dialect, query, scored=True).subquery("ranked")


def matches(dialect: str, query: SearchQuery) -> ColumnElement[bool]:
    """Publications matching `query`, as a condition on publication.id."""
    return P.id.in_(_matching(dialect, query, scored=False))
