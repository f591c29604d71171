"""The FastAPI application."""

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from app.core.answers import AnswerCacheMiddleware, VersionWatch, version_reader
from app.core.caching import NotModified, not_modified_response
from app.core.compression import CompressionMiddleware
from app.core.config import Settings, get_settings
from app.core.db import existing_only, make_engine, read_engine
from app.core.docs import install_docs
from app.core.errors import UnexpectedErrorMiddleware, install_error_handlers
from app.core.http import (
    BodySizeLimitMiddleware,
    DatabaseSlotsMiddleware,
    HeadAsGetMiddleware,
    PathPolicyMiddleware,
    RequestLimitsMiddleware,
    reject_unknown_query_params,
    route_kind,
)
from app.core.memo import VersionMemo
from app.core.observability import RequestContextMiddleware
from app.core.openapi import problem_only_openapi
from app.core.pagination import CursorCodec
from app.core.ratelimit import RateLimiter
from app.routers import consent, entities, health, publications
from app.routers.lean import LeanPages, LeanReads, LeanReadsMiddleware, loop_engine
from app.seed.policy import load_policy

DESCRIPTION = """\
Read-only JSON API over the institute's publications, with authors and venues, and the one
write the site needs: recording a visitor's cookie-consent choices (`/consent`).

* Lists share one envelope: `{"results": [...], "meta": {...}}` with `total`, `limit`,
  `offset` and `next_cursor` in `meta`. Page with `limit`/`offset` (numbered pages), or
  follow `meta.next_cursor` or the `Link` header (constant cost at any depth).
* Every error is an RFC 9457 problem (`application/problem+json`).
* `HEAD` is accepted wherever `GET` is; unknown query parameters are refused.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    pool_size = settings.pool_size(settings.database_url)
    limit = settings.statement_timeout
    # The server opens only a database that exists (`pubapi serve` migrates it first).
    database_url = existing_only(settings.database_url)
    # Requests read on read-only connections (SQLite: `query_only`; PostgreSQL: READ ONLY
    # transactions, from `read_engine`), every statement under the time limit.
    base_engine = make_engine(database_url, pool_size, read_only=True, statement_timeout=limit)
    # Consent records are read back where they are written (a replica may lag behind).
    primary_engine = read_engine(base_engine)
    data_url = existing_only(settings.read_database_url or settings.database_url)
    replica = (
        make_engine(data_url, pool_size, read_only=True, statement_timeout=limit)
        if settings.read_database_url
        else None
    )
    engine = read_engine(replica) if replica is not None else primary_engine
    # SQLite writers take the write lock up front, so that concurrent writers queue on the busy
    # timeout instead of failing to upgrade a read lock ("database is locked"). On PostgreSQL
    # the base engine writes, in transactions of its own that are not READ ONLY.
    write_engine = (
        make_engine(database_url, pool_size, immediate=True, statement_timeout=limit)
        if base_engine.dialect.name == "sqlite"
        else base_engine
    )

    # The answer cache reads the data version on a connection of its own, outside requests.
    version_engine = make_engine(data_url, 1, read_only=True, statement_timeout=limit)
    # One publication by id is read in the event loop, which only an embedded database allows.
    lean = (
        LeanReads(make_engine(data_url, 1), settings)
        if settings.lean_reads and engine.dialect.name == "sqlite"
        else None
    )
    # So are pages that take no longer than the lean path's budget (app/routers/lean.py).
    loop = loop_engine(data_url) if lean is not None else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if lean is not None:
            lean.close()
        if loop is not None:
            loop.dispose()
        base_engine.dispose()
        write_engine.dispose()
        version_engine.dispose()
        if replica is not None:
            replica.dispose()

    app = FastAPI(
        title="pubapi",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query_params)],
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.primary_engine = primary_engine
    app.state.write_engine = write_engine
    # The time consent records are stamped with (tests move it to check expiry).
    app.state.clock = lambda: dt.datetime.now(dt.UTC)
    app.state.consent_policy = load_policy(settings.consent_policy_path)
    app.state.consent_limiter = RateLimiter(
        settings.consent_rate_limit, settings.rate_limit_storage_url, settings.secret_key
    )
    app.state.cursor_codec = CursorCodec(settings.secret_key)
    app.state.memo = VersionMemo()
    app.state.lean_reads = lean
    app.state.loop_engine = loop
    app.openapi = lambda: problem_only_openapi(app)  # type: ignore[method-assign]
    install_error_handlers(app)
    app.add_exception_handler(NotModified, not_modified_response)
    install_docs(app)
    # Added innermost first. From the outside in: the request id, security headers and access
    # log see every answer; CORS and cache policy every answer of the app, 500s included; the
    # request limits refuse an oversized URL, header or query string first; HEAD sees the
    # compressed headers of the GET it stands for, and so does the answer cache, which
    # keeps and replays compressed answers; a kept answer does not wait for a database slot;
    # the body limit guards every read; the lean path answers inside all of them.
    if settings.lean_reads:
        app.add_middleware(LeanReadsMiddleware, reads=lean, pages=LeanPages(app, loop))
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(BodySizeLimitMiddleware)
    app.add_middleware(CompressionMiddleware)
    app.add_middleware(
        DatabaseSlotsMiddleware,
        slots=pool_size,
        uses_database=lambda path: route_kind(path) in ("data", "consent", "health"),
    )
    app.add_middleware(
        AnswerCacheMiddleware,
        watch=VersionWatch(version_reader(read_engine(version_engine)), settings.data_version_ttl),
        max_bytes=settings.answer_cache_bytes,
        is_data_path=lambda path: route_kind(path) == "data",
    )
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(RequestLimitsMiddleware)
    app.add_middleware(
        PathPolicyMiddleware,
        cors_origins=settings.cors_origins,
        cors_allow_credentials=settings.cors_allow_credentials,
        consent_origins=settings.consent_origins,
    )
    app.add_middleware(RequestContextMiddleware, access_log=settings.access_log)
    # Before `/publications/{publication_id}`, which `/publications/export` would match.
    app.include_router(publications.export_router)
    app.include_router(publications.router)
    app.include_router(entities.authors_router)
    app.include_router(entities.venues_router)
    app.include_router(consent.router)
    app.include_router(health.router)
    return app
