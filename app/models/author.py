import pydantic
from sqlalchemy import Column, Index, Integer
from sqlmodel import Field, SQLModel

from app.models.types import SortKey


class Author(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    # Case- and accent-folded name: the `sort=name` key.
    sort_name: str = Field(sa_column=Column(SortKey, nullable=False, index=True))
    # Kept exact by the seed loader, so that listing and sorting needs no count per row.
    publication_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))


# `sort=-publication_count`: most published first, ties by ascending id.
_author = Author.__table__  # type: ignore[attr-defined]
Index("ix_author_most_published", _author.c.publication_count.desc(), _author.c.id)


class AuthorPublic(pydantic.BaseModel):
    id: int = pydantic.Field(examples=[1])
    name: str = pydantic.Field(
        description="Name as written in the byline.", examples=["Hong Huang"]
    )
    publication_count: int = pydantic.Field(
        description="Number of publications with this author in the byline.", examples=[1]
    )
