"""Citation keys for exports: each publication's key base, indexed beside its id.

A BibTeX/RIS/CSL key is its base (`huang2025tequila`) plus a suffix by rank of id among the
publications sharing the base; storing the base makes that rank one index lookup.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

from app.exports.keys import cite_base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("publication", sa.Column("cite_base", sa.String(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        text(
            "SELECT p.id, p.title, p.year, a.name FROM publication p "
            "LEFT JOIN publication_author pa ON pa.publication_id = p.id AND pa.position = 1 "
            "LEFT JOIN author a ON a.id = pa.author_id ORDER BY p.id"
        )
    ).all()
    for start in range(0, len(rows), 1000):
        conn.execute(
            text("UPDATE publication SET cite_base = :base WHERE id = :id"),
            [
                {"id": ident, "base": cite_base(title, year, first_author)}
                for ident, title, year, first_author in rows[start : start + 1000]
            ],
        )
    op.create_index("ix_publication_cite_base", "publication", ["cite_base", "id"])


def downgrade() -> None:
    op.drop_index("ix_publication_cite_base", table_name="publication")
    with op.batch_alter_table("publication") as batch:
        batch.drop_column("cite_base")
