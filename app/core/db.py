"""Engines and sessions for SQLite (the embedded default) and PostgreSQL (production)."""

import math
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

# Stable constraint names, so that Alembic migrations name things the same on every engine.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # WAL lets readers run beside a writer; a busy timeout makes writers queue instead of
    # failing with "database is locked"; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_query_only(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA query_only=ON")


# SQLite calls the progress handler every this many virtual-machine steps (tens of
# milliseconds of work): often enough to stop close to the limit, seldom enough that a query
# rarely waits for Python's GIL to run it.
PROGRESS_STEPS = 1_000_000
DEADLINE = "pubapi_deadline"
# How long PostgreSQL may take to accept a connection before the request gives up (a database
# that went silent must not hold requests for the kernel's TCP timeout).
CONNECT_TIMEOUT = 5


class Deadline:
    """When the running statement must stop, for SQLite's progress handler: `start` sets it
    `limit` seconds ahead; the handler then returns true past it, which interrupts the
    statement (`sqlite3.OperationalError: interrupted`)."""

    __slots__ = ("at", "limit")

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.at = math.inf

    def start(self) -> None:
        self.at = time.monotonic() + self.limit

    def __call__(self) -> bool:
        return time.monotonic() > self.at


def _sqlite_time_limit(engine: Engine, limit: float) -> None:
    def install(dbapi_connection: sqlite3.Connection, record: Any) -> None:
        deadline = record.info[DEADLINE] = Deadline(limit)
        dbapi_connection.set_progress_handler(deadline, PROGRESS_STEPS)

    event.listen(engine, "connect", install)
    # Every statement starts with the whole limit before it.
    event.listen(engine, "before_cursor_execute", lambda conn, *_args: renew_deadline(conn))


def renew_deadline(conn: Connection) -> None:
    """Give the statement `conn` runs next, or a streamed one (an export, read a batch at a
    time) for its next batch, the whole time limit anew. PostgreSQL times each batch already:
    each is a statement (`FETCH`) of its own."""
    deadline = conn.info.get(DEADLINE)
    if deadline is not None:
        deadline.start()


def _sqlite_begin(conn: Any) -> None:
    # pysqlite's own transaction handling defers BEGIN until the first write; take it over
    # so that a seed load is one real transaction from its first statement.
    conn.exec_driver_sql("BEGIN")


def _sqlite_begin_immediate(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def existing_only(url: str) -> str:
    """`url` of a SQLite file, opened only if it exists (`mode=rw`): a server must not make
    itself an empty database where its file went missing, and then serve that."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return url
    if database.startswith("file:"):
        return url
    path = "file:" + quote(os.path.abspath(database))
    query = {**parsed.query, "mode": "rw", "uri": "true"}
    return parsed.set(database=path, query=query).render_as_string(hide_password=False)


def _postgres_connect_args(url: str, statement_timeout: float) -> dict[str, Any]:
    """The connection timeout and statement time limit, beside what the URL already sets
    (its own `connect_timeout` wins; its `options` are kept)."""
    query = make_url(url).query
    found: dict[str, Any] = {}
    if "connect_timeout" not in query:
        found["connect_timeout"] = CONNECT_TIMEOUT
    if statement_timeout:
        given = query.get("options", "")
        given = given if isinstance(given, str) else " ".join(given)
        limit = f"-c statement_timeout={math.ceil(statement_timeout * 1000)}"
        found["options"] = f"{given} {limit}".strip()
    return found


def make_engine(
    url: str,
    pool_size: int = 8,
    immediate: bool = False,
    read_only: bool = False,
    statement_timeout: float = 0,
) -> Engine:
    """An engine configured for `url`'s backend.

    `immediate` (SQLite): transactions take the write lock when they begin. A deferred
    transaction that reads and then writes fails at once with "database is locked" when
    another writer committed in between; an immediate one waits on the busy timeout instead.
    `read_only` (SQLite): every connection refuses writes (`PRAGMA query_only`); PostgreSQL's
    read routes get that from `read_engine`. `statement_timeout`: seconds any one statement
    may run (0: no limit).
    """
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "isolation_level": None},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        if read_only:
            event.listen(engine, "connect", _sqlite_query_only)
        if statement_timeout:
            _sqlite_time_limit(engine, statement_timeout)
        event.listen(engine, "begin", _sqlite_begin_immediate if immediate else _sqlite_begin)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args=_postgres_connect_args(url, statement_timeout),
    )


def read_engine(engine: Engine) -> Engine:
    """The engine the read routes use: each request reads one consistent snapshot.

    A page, its total and its ETag's data version must come from the same data. SQLite gives
    that to any transaction (WAL snapshot from its first read); PostgreSQL's default READ
    COMMITTED takes a new snapshot per statement, so reads run REPEATABLE READ, and READ ONLY,
    which also refuses any write on that path. Shares `engine`'s pool.
    """
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return engine


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT `rows`, tuples in the order of `columns`, through the driver's executemany.

    No statement is compiled and no value goes through SQLAlchemy's per-row processing, which
    cost a seed load more than SQLite's own work. Values go as the drivers take them: a date as
    ISO 8601 text, which both engines store as a date.
    """
    if not rows:
        return
    mark, quote_name = _driver_sql(conn)
    names = ", ".join(quote_name(name) for name in columns)
    marks = ", ".join(mark for _ in columns)
    conn.exec_driver_sql(f"INSERT INTO {quote_name(table)} ({names}) VALUES ({marks})", rows)


def update_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """UPDATE `table` by id from `rows`, tuples of `columns`' values then the id, like
    `insert_rows`."""
    if not rows:
        return
    mark, quote_name = _driver_sql(conn)
    sets = ", ".join(f"{quote_name(name)} = {mark}" for name in columns)
    conn.exec_driver_sql(f"UPDATE {quote_name(table)} SET {sets} WHERE id = {mark}", rows)


def _driver_sql(conn: Connection) -> tuple[str, Any]:
    """The driver's placeholder, and the dialect's quoting of a name where it needs it."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return mark, conn.dialect.identifier_preparer.quote


def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def unreachable(url: str) -> str | None:
    """Why the database at `url` cannot be reached (one line), or None when it answers."""
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        reason = (str(getattr(exc, "orig", None) or exc).splitlines() or [type(exc).__name__])[0]
        return f"unreachable at {make_url(url).render_as_string()}: {reason}"
    return None
