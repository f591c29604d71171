"""Alembic, driven from code: `pubapi migrate`, start-up, `/ready` and the tests use this."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from app.core.config import PROJECT_ROOT

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """What the models describe: not the search index, whose shape differs per engine
    (an FTS5 virtual table and its shadow tables on SQLite, a tsvector table on PostgreSQL)."""
    return not (type_ == "table" and (name or "").startswith("publication_search"))


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on a `%` in a password.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


# Arbitrary, fixed: the PostgreSQL advisory lock that serialises schema changes.
SCHEMA_LOCK_KEY = 0x70756261  # "puba"


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Hold the schema lock: processes starting together migrate (and seed) one at a time.

    On PostgreSQL a session-level advisory lock; SQLite serves one machine, where
    `pubapi serve --workers N` migrates once before starting its workers.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY})
            conn.commit()
