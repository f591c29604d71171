from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel


class DatasetState(SQLModel, table=True):
    """One row: the version of the data, bumped by every seed load that changes something."""

    __tablename__ = "dataset_state"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0)
    updated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
