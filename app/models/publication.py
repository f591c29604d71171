import datetime as dt
from typing import Annotated, NotRequired

import pydantic
from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel
from typing_extensions import TypedDict

from app.models.types import SortKey


class Publication(SQLModel, table=True):
    __table_args__ = (
        Index(None, "published_on", "id"),
        Index(None, "sort_title", "id"),
        Index(None, "cite_base", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # The natural key: the seed record's `key`, or one derived from its content.
    key: str = Field(unique=True)
    # Hash of everything a seed record says, so that reloading unchanged data writes nothing.
    content_hash: str
    title: str | None = None
    # Case- and accent-folded title: the `sort=title` key.
    sort_title: str | None = Field(default=None, sa_column=Column(SortKey, nullable=True))
    abstract: str | None = None
    published_on: dt.date | None = None
    year: int | None = Field(default=None, index=True)
    venue_id: int | None = Field(default=None, foreign_key="venue.id")
    status: str | None = Field(default=None, index=True)
    # Base of the citation key of exports (`huang2025tequila`), see app.exports.keys.
    cite_base: str | None = None
    # The byline as the API shows it, JSON, kept beside `publication_author` for pages
    # (app.queries.bylines).
    byline: str | None = None


_publication = Publication.__table__  # type: ignore[attr-defined]
# Descending sorts break ties by ascending id, an order only an index of its own reads.
Index("ix_publication_newest", _publication.c.published_on.desc(), _publication.c.id)
Index("ix_publication_title_desc", _publication.c.sort_title.desc(), _publication.c.id)
# A venue's publications, newest first (and the venue filter of any list).
Index(
    "ix_publication_venue_newest",
    _publication.c.venue_id,
    _publication.c.published_on.desc(),
    _publication.c.id,
)
# A venue's publications counted by year and status (its facets) from the index alone.
Index(
    "ix_publication_venue_facets",
    _publication.c.venue_id,
    _publication.c.year,
    _publication.c.status,
)


class PublicationAuthor(SQLModel, table=True):
    """Byline: which author stands at which position (1-based) of which publication."""

    __tablename__ = "publication_author"
    __table_args__ = (Index(None, "author_id", "publication_id"),)

    publication_id: int = Field(foreign_key="publication.id", primary_key=True, ondelete="CASCADE")
    position: int = Field(primary_key=True)
    author_id: int = Field(foreign_key="author.id")


# The venue and the authors inside a publication are typed dicts, like the publication: a
# page validates 20 venues and about 100 authors, and as models (one object each, made and
# then serialized) they cost 90 µs of the 200 µs that validating and serializing a page took.


class VenueRef(TypedDict):
    id: Annotated[int, pydantic.Field(examples=[2])]
    name: Annotated[
        str, pydantic.Field(examples=["International Conference on Learning Representations"])
    ]


class AuthorRef(TypedDict):
    id: Annotated[int, pydantic.Field(examples=[1])]
    name: Annotated[str, pydantic.Field(examples=["Hong Huang"])]
    position: Annotated[
        int, pydantic.Field(description="1-based place in the byline.", examples=[1])
    ]


class PublicationPublic(TypedDict):
    """A publication as the API shows it: every field, or those that `fields` selects.

    Fields the source does not give are `null`; nothing is invented.
    """

    id: NotRequired[Annotated[int, pydantic.Field(examples=[4])]]
    title: NotRequired[
        Annotated[
            str | None,
            pydantic.Field(
                examples=["Tequila: Deadzone-free Ternary Quantization for Large Language Models"]
            ),
        ]
    ]
    abstract: NotRequired[
        Annotated[
            str | None,
            pydantic.Field(examples=["Quantization techniques are essential for ..."]),
        ]
    ]
    published_on: NotRequired[Annotated[dt.date | None, pydantic.Field(examples=["2025-12-31"])]]
    year: NotRequired[
        Annotated[
            int | None, pydantic.Field(description="Year of `published_on`.", examples=[2025])
        ]
    ]
    venue: NotRequired[VenueRef | None]
    status: NotRequired[
        Annotated[
            str | None,
            pydantic.Field(
                description="The decision as published, e.g. `Accept (Poster)`.",
                examples=["Accept (Poster)"],
            ),
        ]
    ]
    authors: NotRequired[
        Annotated[list[AuthorRef], pydantic.Field(description="Byline order; `[]` when unknown.")]
    ]
    snippet: NotRequired[
        Annotated[
            str | None,
            pydantic.Field(
                description="With `q`: the best-matching passage of the abstract (or the title "
                "when there is no abstract), HTML-escaped, with the matches in `<mark>`; safe to "
                "insert as HTML.",
                examples=["… <mark>Ternary</mark> weight <mark>quantization</mark> addresses …"],
            ),
        ]
    ]
