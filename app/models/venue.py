import pydantic
from sqlalchemy import Column, Index, Integer
from sqlmodel import Field, SQLModel

from app.models.types import SortKey


class Venue(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    # Case- and accent-folded name: the `sort=name` key.
    sort_name: str = Field(sa_column=Column(SortKey, nullable=False, index=True))
    # Kept exact by the seed loader, so that listing and sorting needs no count per row.
    publication_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))


# `sort=-publication_count`: most published first, ties by ascending id.
_venue = Venue.__table__  # type: ignore[attr-defined]
Index("ix_venue_most_published", _venue.c.publication_count.desc(), _venue.c.id)


class VenuePublic(pydantic.BaseModel):
    id: int = pydantic.Field(examples=[2])
    name: str = pydantic.Field(
        description="The venue itself; the decision is the publication's `status`.",
        examples=["International Conference on Learning Representations"],
    )
    publication_count: int = pydantic.Field(
        description="Number of publications at this venue.", examples=[4]
    )
