"""Full-text search index: FTS5 on SQLite, a tsvector under a GIN index on PostgreSQL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections import defaultdict
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from app.queries import search

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        # The terms are made in Python (app.core.search); FTS5 only splits them on spaces.
        op.execute(
            "CREATE VIRTUAL TABLE publication_search "
            "USING fts5(title, abstract, authors, title_words, abstract_words, authors_words, "
            "tokenize = 'unicode61')"
        )
    else:
        op.execute(
            "CREATE TABLE publication_search ("
            "publication_id integer PRIMARY KEY "
            "REFERENCES publication (id) ON DELETE CASCADE, "
            "vector tsvector NOT NULL)"
        )
        op.execute(
            "CREATE INDEX ix_publication_search_vector ON publication_search USING gin (vector)"
        )
    # Index what is already there, so that search is never stale.
    bylines: dict[int, list[str]] = defaultdict(list)
    for pub_id, name in conn.execute(
        text(
            "SELECT pa.publication_id, a.name FROM publication_author pa "
            "JOIN author a ON a.id = pa.author_id ORDER BY pa.publication_id, pa.position"
        )
    ):
        bylines[pub_id].append(name)
    rows = conn.execute(text("SELECT id, title, abstract FROM publication ORDER BY id")).all()
    for start in range(0, len(rows), 1000):
        search.write(
            conn,
            [
                (ident, title, abstract, bylines[ident])
                for ident, title, abstract in rows[start : start + 1000]
            ],
        )


def downgrade() -> None:
    op.execute("DROP TABLE publication_search")
