"""An index that counts a venue's publications by year and status without reading them.

The year and status facets of a venue's publications read every one of its rows for two small
columns: at a million publications, 0.3 s for one venue of 20,000. With both in an index
after the venue, the counts come from the index alone.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_publication_venue_facets", "publication", ["venue_id", "year", "status"])


def downgrade() -> None:
    op.drop_index("ix_publication_venue_facets", table_name="publication")
