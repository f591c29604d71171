"""Column types shared by the table models."""

from sqlalchemy import String

# Sort keys compare byte-wise on every engine: SQLite's BINARY collation and PostgreSQL's "C"
# collation order UTF-8 the same way, so a sort (and a cursor) gives identical pages on both.
SortKey = String().with_variant(String(collation="C"), "postgresql")
