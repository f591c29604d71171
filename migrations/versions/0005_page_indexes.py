"""Indexes that read every page in order, at any depth.

A descending sort with ties broken by ascending id (`-published_on`, `-title`,
`-publication_count`) needs an index in that mixed order; a date-sorted venue page needs the
venue's publications in date order.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DESCENDING = {
    "ix_publication_newest": ("publication", ["published_on DESC", "id"]),
    "ix_publication_title_desc": ("publication", ["sort_title DESC", "id"]),
    "ix_publication_venue_newest": ("publication", ["venue_id", "published_on DESC", "id"]),
    "ix_author_most_published": ("author", ["publication_count DESC", "id"]),
    "ix_venue_most_published": ("venue", ["publication_count DESC", "id"]),
}
# Replaced: the ascending count index serves no query, the venue one is a prefix of the new.
REPLACED = {
    "ix_author_publication_count": ("author", ["publication_count", "id"]),
    "ix_venue_publication_count": ("venue", ["publication_count", "id"]),
    "ix_publication_venue_id": ("publication", ["venue_id"]),
}


def upgrade() -> None:
    for name, (table, _columns) in REPLACED.items():
        op.drop_index(name, table_name=table)
    for name, (table, columns) in DESCENDING.items():
        op.create_index(name, table, [text(column) for column in columns])


def downgrade() -> None:
    for name, (table, _columns) in DESCENDING.items():
        op.drop_index(name, table_name=table)
    for name, (table, columns) in REPLACED.items():
        op.create_index(name, table, columns)
