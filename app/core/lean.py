"""One publication by id, its commonest shape, on a lean path beside FastAPI (SQLite).

Profiled at 100,000 publications (py-spy, cProfile), `GET /publications/{id}` cost about 1.2 ms
of CPU per request, of which the SQLite queries were 30 µs: the rest was FastAPI solving the
route's dependencies, the hop to a worker thread, the ORM session's setup and rollback, and
validating the answer against its model. Datasette answered the same row at twice pubapi's rate.

This layer answers the one shape a publication page and a script walking ids ask, `GET
/publications/{id}` with no query string and an `Accept` that takes JSON (none, `*/*` or
`application/json`), with the same bytes and headers the route would send: the same queries
(compiled once from app.queries.publications), the same serializer, the same validators
(ETag, caching) for PathPolicyMiddleware and the answer cache. Everything else, an unknown
id, and any database error go on to the route, which answers them (404, 406, 422, 503).
tests/test_lean_reads.py compares both paths' answers byte for byte.

The queries run in the event loop, on a connection of this layer's own (an engine of one):
three primary-key lookups, about 30 µs, cost less than a thread hop. In WAL mode a reader
never waits for a writer; its busy timeout is 0, so that a reader that would wait (a recovery,
a checkpoint restarting the log) does not hold up the loop: it goes to the route, which waits
in a thread.
"""

import re
import sqlite3
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Engine
from sqlalchemy.dialects import sqlite
from sqlalchemy.pool import PoolProxiedConnection
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.caching import VERSION_QUERY, label_answer
from app.core.config import Settings
from app.models import PublicationPublic
from app.queries import publications as queries
from app.queries.keyset import MAX_ID

ONE_PUBLICATION = re.compile(r"/publications/([1-9][0-9]{0,9})")
JSON_ACCEPTS = ("", "*/*", "application/json")
PUBLICATION_JSON: TypeAdapter[Any] = TypeAdapter(PublicationPublic)


def _sql(statement: Any, **values: Any) -> str:
    """`statement` as SQLite's SQL with `?` placeholders (expanding ones rendered for `values`)."""
    if values:
        statement = statement.params(**values)
    dialect = sqlite.dialect(paramstyle="qmark")
    return str(statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True}))


VERSION_SQL = _sql(VERSION_QUERY)
ONE_SQL = _sql(queries.one_query(queries.ALL_FIELDS))
BYLINE_SQL = _sql(queries.BYLINES, ids=[0])


class LeanReads:
    """The lean path's queries, on a connection of its own, opened at the first request."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._pooled: PoolProxiedConnection | None = None
        self._conn: sqlite3.Connection | None = None

    def connection(self) -> sqlite3.Connection:
        """The lean path's connection (the only one its engine lends), opened on first use."""
        if self._conn is None:
            self._pooled = self.engine.raw_connection()
            conn = self._pooled.driver_connection
            assert isinstance(conn, sqlite3.Connection)
            conn.execute("PRAGMA busy_timeout = 0")
            conn.execute("PRAGMA query_only = ON")
            self._conn = conn
        return self._conn

    def publication(self, scope: Scope, headers: Headers, publication_id: int) -> bytes | None:
        """The JSON of the publication, after leaving the answer's validators in `scope`; None
        when it is not there or the database did not answer at once."""
        try:
            conn = self.connection()
            conn.execute("BEGIN")
            try:
                version = conn.execute(VERSION_SQL, (1,)).fetchone()
                found = conn.execute(ONE_SQL, (publication_id,))
                names = [column[0] for column in found.description]
                rows = [dict(zip(names, row, strict=True)) for row in found.fetchall()]
                if not rows:
                    return None
                bylines: dict[int, list[dict[str, Any]]] = {publication_id: []}
                for _pub, author_id, name, position in conn.execute(BYLINE_SQL, (publication_id,)):
                    bylines[publication_id].append(
                        {"id": author_id, "name": name, "position": position}
                    )
            finally:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            return None
        label_answer(scope, headers, int(version[0] or 0) if version else 0, self.settings)
        item = queries.public_items(rows, queries.ALL_FIELDS, bylines)[0]
        # Validated, then serialized, as FastAPI does with the route's response model.
        return PUBLICATION_JSON.dump_json(PUBLICATION_JSON.validate_python(item))

    def close(self) -> None:
        if self._pooled is not None:
            self._pooled.close()
            self._pooled, self._conn = None, None
        self.engine.dispose()


class LeanReadsMiddleware:
    def __init__(self, app: ASGIApp, reads: LeanReads) -> None:
        self.app = app
        self.reads = reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            match = ONE_PUBLICATION.fullmatch(scope["path"])
            if match is not None and int(match[1]) <= MAX_ID:
                headers = Headers(scope=scope)
                if headers.get("accept", "").strip() in JSON_ACCEPTS:
                    body = self.reads.publication(scope, headers, int(match[1]))
                    if body is not None:
                        await send(
                            {
                                "type": "http.response.start",
                                "status": 200,
                                "headers": [
                                    (b"content-length", str(len(body)).encode()),
                                    (b"content-type", b"application/json"),
                                ],
                            }
                        )
                        await send({"type": "http.response.body", "body": body})
                        return
        await self.app(scope, receive, send)
