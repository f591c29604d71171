"""Column types shared by the table models."""

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, String, TypeDecorator

# Sort keys compare byte-wise on every engine: SQLite's BINARY collation and PostgreSQL's "C"
# collation order UTF-8 the same way, so a sort (and a cursor) gives identical pages on both.
SortKey = String().with_variant(String(collation="C"), "postgresql")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC timestamps on both engines (SQLite has no timezone type)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: timestamps must be timezone-aware")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
