"""Each publication's byline on its row, as the API shows it, so that a page reads no other table.

Filled from `publication_author` for the publications already loaded; the loader writes it
from then on (app.queries.bylines).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.queries.bylines import refresh

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("publication", sa.Column("byline", sa.String(), nullable=True))
    refresh(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("publication") as batch:
        batch.drop_column("byline")
