"""Publications, authors, venues, bylines and the data version.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Byte-wise comparison on both engines (see app/models/types.py).
SortKey = sa.String().with_variant(sa.String(collation="C"), "postgresql")


def _named_entity(table: str) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("sort_name", SortKey, nullable=False),
        sa.Column("publication_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        sa.UniqueConstraint("name", name=f"uq_{table}_name"),
    )
    op.create_index(f"ix_{table}_sort_name", table, ["sort_name"])
    op.create_index(f"ix_{table}_publication_count", table, ["publication_count", "id"])


def upgrade() -> None:
    _named_entity("author")
    _named_entity("venue")
    op.create_table(
        "publication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("sort_title", SortKey, nullable=True),
        sa.Column("abstract", sa.String(), nullable=True),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("venue_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["venue_id"], ["venue.id"], name="fk_publication_venue_id_venue"),
        sa.PrimaryKeyConstraint("id", name="pk_publication"),
        sa.UniqueConstraint("key", name="uq_publication_key"),
    )
    op.create_index("ix_publication_published_on", "publication", ["published_on", "id"])
    op.create_index("ix_publication_sort_title", "publication", ["sort_title", "id"])
    op.create_index("ix_publication_status", "publication", ["status"])
    op.create_index("ix_publication_venue_id", "publication", ["venue_id"])
    op.create_index("ix_publication_year", "publication", ["year"])
    op.create_table(
        "publication_author",
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["author.id"], name="fk_publication_author_author_id_author"
        ),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publication.id"],
            name="fk_publication_author_publication_id_publication",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("publication_id", "position", name="pk_publication_author"),
    )
    op.create_index(
        "ix_publication_author_author_id", "publication_author", ["author_id", "publication_id"]
    )
    op.create_table(
        "dataset_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dataset_state"),
    )


def downgrade() -> None:
    op.drop_table("dataset_state")
    op.drop_table("publication_author")
    op.drop_table("publication")
    op.drop_table("venue")
    op.drop_table("author")
