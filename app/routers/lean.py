"""The commonest reads on a lean path beside FastAPI: the same answers, for less CPU.

Profiled at 100,000 publications (py-spy, cProfile), a cold `GET /publications/{id}` cost about
1.2 ms of CPU, of which the SQLite queries were 30 µs; a cold list page about 2 ms, of which
1 ms was FastAPI solving the route's dependencies (it re-inspects every parameter's annotation
on every request) and validating the answer. Datasette answered the same row at twice pubapi's
rate.

This layer answers the two shapes a publications page and a script ask most, with exactly the
bytes and headers their routes send; anything it does not take goes on to the route, which
answers it (404, 406, 422, 503, other formats). tests/test_lean_reads.py compares both paths'
answers, byte for byte, with the layer on and off (`PUBAPI_LEAN_READS`).

* `GET /publications` whose parameters are only `q`, `year`, `venue`, `author`, `sort`,
  `limit`, `offset`, `cursor` and `facets`, each plainly valid, and an `Accept` that takes
  JSON (none, `*/*` or `application/json`): the parameters are read here and handed to the
  route's own dependency functions and page function, and the answer is validated and
  serialized by the route's response field, as FastAPI would. On SQLite the queries run
  first in the event loop, on a connection of this layer's own, for at most
  LOOP_BUDGET_STEPS of SQLite's work; a page that needs more, or finds the database busy, is
  read again in a worker thread, as the route's are (and always on PostgreSQL). Any problem
  those functions raise sends the request to the route.
* `GET /publications/{id}` without a query string, same `Accept` (SQLite only): the route's
  queries (compiled once from app.queries.publications) run in the event loop, on a read-only
  connection of this layer's own: primary-key lookups (the data version, then the row with
  its venue and byline), tens of µs, cost less than a
  thread hop. In WAL mode a reader never waits for a writer; its busy timeout is 0, so that a
  reader that would wait (a recovery, a checkpoint restarting the log) does not hold up the
  loop: it goes to the route, which waits in a thread. An unknown id goes to the route too.
"""

import re
import sqlite3
from typing import Any, get_args

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from sqlalchemy import Connection, Engine, event
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import PoolProxiedConnection
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.caching import (
    VERSION_QUERY,
    NotModified,
    label_answer,
    not_modified_response,
    versioned,
)
from app.core.config import Settings
from app.core.db import make_engine
from app.core.errors import unavailable, unavailable_response
from app.core.limits import MAX_CURSOR_CHARS, MAX_NAMES_CHARS, MAX_Q_CHARS, MAX_REPEATS
from app.core.memo import MEMO_INFO
from app.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, page_params
from app.models import PublicationPublic
from app.queries import publications as queries
from app.queries.keyset import MAX_ID
from app.routers import formats, publications

ONE_PUBLICATION = re.compile(r"/publications/([1-9][0-9]{0,9})")
JSON_ACCEPTS = ("", "*/*", "application/json")
PUBLICATION_JSON: TypeAdapter[Any] = TypeAdapter(PublicationPublic)


def _sql(statement: Any) -> str:
    """`statement` as SQLite's SQL with `?` placeholders."""
    return str(statement.compile(dialect=sqlite.dialect(paramstyle="qmark")))


VERSION_SQL = _sql(VERSION_QUERY)
ONE_SQL = _sql(queries.one_query(queries.ALL_FIELDS))


class LeanReads:
    """One publication by id, on a connection of its own, opened at the first request."""

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
            finally:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            return None
        label_answer(scope, headers, int(version[0] or 0) if version else 0, self.settings)
        item = queries.public_items(rows, queries.ALL_FIELDS)[0]
        # Validated, then serialized, as FastAPI does with the route's response model.
        return PUBLICATION_JSON.dump_json(PUBLICATION_JSON.validate_python(item))

    def close(self) -> None:
        if self._pooled is not None:
            self._pooled.close()
            self._pooled, self._conn = None, None
        self.engine.dispose()


LIST_PATH = "/publications"
SINGLE = ("q", "sort", "limit", "offset", "cursor", "facets")
REPEATED = {"year": 9999, "venue": MAX_ID, "author": MAX_ID}
SORTS = get_args(queries.PublicationSort)
DIGITS = re.compile(r"[0-9]{1,10}")
# The exceptions the route turns into answers: problems, the database away.
ROUTE_ANSWERS = (StarletteHTTPException, SQLAlchemyError)


def _list_params(items: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[int]]]:
    """The parameters of a list request the lean path takes, or ValueError: a name it does
    not take, a single one given twice, a number out of its bounds, a text too long."""
    single: dict[str, str] = {}
    repeated: dict[str, list[int]] = {name: [] for name in REPEATED}
    for name, value in items:
        if name in REPEATED:
            if not DIGITS.fullmatch(value) or not 1 <= int(value) <= REPEATED[name]:
                raise ValueError(name)
            repeated[name].append(int(value))
            if len(repeated[name]) > MAX_REPEATS:
                raise ValueError(name)
        elif name in SINGLE and name not in single:
            single[name] = value
        else:
            raise ValueError(name)
    for name, lowest, highest in (("limit", 1, MAX_LIMIT), ("offset", 0, MAX_OFFSET)):
        number = single.get(name)
        if number is not None and not (
            DIGITS.fullmatch(number) and lowest <= int(number) <= highest
        ):
            raise ValueError(name)
    if "sort" in single and single["sort"] not in SORTS:
        raise ValueError("sort")
    for name, longest in (
        ("q", MAX_Q_CHARS),
        ("cursor", MAX_CURSOR_CHARS),
        ("facets", MAX_NAMES_CHARS),
    ):
        if len(single.get(name, "")) > longest:
            raise ValueError(name)
    if single.get("cursor") == "":
        raise ValueError("cursor")
    return single, repeated


# A page is first read in the event loop, on SQLite, for at most this many steps of SQLite's
# virtual machine (a millisecond or two of work); past them, its statement is stopped and the
# page is read again in a worker thread, under the whole statement time limit. Counted in
# steps, not time, so that the same page takes the same path on a busy machine as on an idle
# one. SQLite counts each statement's steps, calling the progress handler every LOOP_STEPS.
LOOP_BUDGET_STEPS = 100_000
LOOP_STEPS = 1000
LOOP_BUDGET = "pubapi_loop_budget"
# FTS5 reads a word's list of matches inside one step of SQLite's machine, out of the budget's
# reach: at 1M publications, ranking a common word's matches takes FTS5 0.5-0.75 s, and tried
# in the loop first, common-word searches fell from 3 to 1 req/s. So a search is tried in the
# loop only when it is one word (or the start of one) whose matches, already counted, are at
# most this many.
LOOP_SEARCH_MATCHES = 10_000


class StepBudget:
    """The progress handler of the loop's connection: true (stop the statement) once the
    transaction has run `steps` steps, counted LOOP_STEPS at a time."""

    __slots__ = ("calls", "limit")

    def __init__(self, steps: int) -> None:
        self.limit = steps // LOOP_STEPS
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.calls > self.limit


def loop_engine(url: str, steps: int = LOOP_BUDGET_STEPS) -> Engine:
    """The SQLite engine of the pages read in the event loop: one read-only connection that
    never waits for a lock (busy timeout 0), whose every transaction may run about `steps`
    steps before its statement is stopped ("interrupted")."""
    engine = make_engine(url, 1, read_only=True)

    def install(dbapi_connection: sqlite3.Connection, record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout = 0")
        budget = record.info[LOOP_BUDGET] = StepBudget(steps)
        dbapi_connection.set_progress_handler(budget, LOOP_STEPS)

    def renew(conn: Connection) -> None:
        conn.info[LOOP_BUDGET].calls = 0

    event.listen(engine, "connect", install)
    event.listen(engine, "begin", renew)
    return engine


class LeanPages:
    """Pages of `GET /publications`, through the route's own functions: in the event loop
    when `loop` (an engine from `loop_engine`) is given and the page fits its budget, else in
    a worker thread.

    Profiled at 1,000,000 publications (perf, cold pages of a venue and year, 240 req/s),
    SQLite's own work was 3% of the server's CPU, the kernel's 17%, mostly switching between
    the event loop and the worker threads a page was handed to and back. A page read in the
    loop skips both hops.
    """

    def __init__(self, app: FastAPI, loop: Engine | None = None) -> None:
        self.app = app
        self.loop = loop
        self._field: Any = None

    def _response_field(self) -> Any:
        if self._field is None:
            route = next(
                route
                for route in publications.router.routes
                if isinstance(route, APIRoute) and route.operation_id == "listPublications"
            )
            self._field = route.response_field
        return self._field

    async def page(self, scope: Scope, receive: Receive) -> Response | None:
        """The route's answer to the request of `scope`, or None: not a request taken here,
        or one the route answers otherwise (a problem)."""
        request = Request(scope, receive)
        try:
            single, repeated = _list_params(request.query_params.multi_items())
        except ValueError:
            return None
        q = single.get("q")
        state = self.app.state
        sub_response = _headers_only()
        try:
            filters = await publications.publication_filters(
                q=q,
                year=repeated["year"] or None,
                venue=repeated["venue"] or None,
                author=repeated["author"] or None,
            )
            sort = await publications.resolved_sort(sort=single.get("sort"), q=q)  # type: ignore[arg-type]
            page = await page_params(
                limit=int(single.get("limit", DEFAULT_LIMIT)),
                offset=int(single["offset"]) if "offset" in single else None,
                cursor=single.get("cursor"),
            )
            fields = await publications.selected_fields(fields=None, q=q)
            facets = await publications.selected_facets(facets=single.get("facets"))
            fmt = await formats.page_format(request, None)
            args = (state.cursor_codec, filters, sort, page, fields, facets, fmt)
            body = self._in_loop(request, sub_response, args) if self._fits(filters) else None
            if body is None:
                sub_response = _headers_only()
                with Session(state.engine, info={MEMO_INFO: state.memo}) as session:
                    body = await run_in_threadpool(
                        versioned(publications.publication_page),
                        request,
                        sub_response,
                        session,
                        *args,
                    )
        except NotModified as exc:
            # The route's 304, from its own exception handler: redoing the work there would
            # read the data version a second time.
            return await not_modified_response(request, exc)
        except ROUTE_ANSWERS as exc:
            if unavailable(exc):
                # Answered here: the route would only run the same query into the same wall.
                return unavailable_response(exc, state.settings.statement_timeout)
            return None
        field = self._response_field()
        value, errors = field.validate(body, {}, loc=("response",))
        if errors:
            return None  # the route's answer: a 500 for a bug
        content = field.serialize_json(value, by_alias=True)
        response = Response(content=content, media_type="application/json")
        response.headers.raw.extend(sub_response.headers.raw)
        return response

    def _fits(self, filters: queries.PublicationFilters) -> bool:
        """Whether the page may be tried in the loop: no search, or a search of one word, and
        nothing else, known to match at most LOOP_SEARCH_MATCHES publications (so that its
        count bounds the matches FTS5 reads)."""
        search = filters.search
        if search is None:
            return True
        if search.phrases or len(search.terms) + (search.prefix is not None) != 1:
            return False
        if filters != queries.PublicationFilters(search=search):
            return False
        matches = self.app.state.memo.peek(queries.count_key(filters))
        return matches is not None and matches <= LOOP_SEARCH_MATCHES

    def _in_loop(self, request: Request, sub_response: Response, args: tuple[Any, ...]) -> Any:
        """The page's body, read here in the event loop; None when it could not be read at
        once (past the budget, or SQLite busy): the caller reads it in a worker thread.
        A 304 (NotModified) and the route's problems go up as they would from there."""
        if self.loop is None:
            return None
        try:
            with Session(self.loop, info={MEMO_INFO: self.app.state.memo}) as session:
                return versioned(publications.publication_page)(
                    request, sub_response, session, *args
                )
        except SQLAlchemyError:
            return None


def _headers_only() -> Response:
    """What collects the route's headers, as FastAPI's own sub-response does."""
    response = Response()
    del response.headers["content-length"]
    return response


class LeanReadsMiddleware:
    def __init__(self, app: ASGIApp, reads: LeanReads | None, pages: LeanPages) -> None:
        self.app = app
        self.reads = reads
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            headers = Headers(scope=scope)
            if headers.get("accept", "").strip() in JSON_ACCEPTS:
                if scope["path"] == LIST_PATH:
                    response = await self.pages.page(scope, receive)
                    if response is not None:
                        await response(scope, receive, send)
                        return
                elif self.reads is not None and not scope["query_string"]:
                    match = ONE_PUBLICATION.fullmatch(scope["path"])
                    if match is not None and int(match[1]) <= MAX_ID:
                        body = self.reads.publication(scope, headers, int(match[1]))
                        if body is not None:
                            await _send_json(send, body)
                            return
        await self.app(scope, receive, send)


async def _send_json(send: Send, body: bytes) -> None:
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
