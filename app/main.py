"""The FastAPI application."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from app.core.config import Settings, get_settings
from app.core.db import make_engine
from app.core.errors import install_error_handlers
from app.core.http import HeadAsGetMiddleware, reject_unknown_query_params
from app.core.openapi import problem_only_openapi
from app.core.pagination import CursorCodec
from app.routers import entities, health, publications

DESCRIPTION = """\
Read-only JSON API over the institute's publications, with authors and venues.

* Lists share one envelope: `{"results": [...], "meta": {...}}` with `total`, `limit`,
  `offset` and `next_cursor` in `meta`. Page with `limit`/`offset` (numbered pages), or
  follow `meta.next_cursor` or the `Link` header (constant cost at any depth).
* Every error is an RFC 9457 problem (`application/problem+json`).
* `HEAD` is accepted wherever `GET` is.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.database_url, settings.db_pool_size)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="pubapi",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query_params)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.cursor_codec = CursorCodec(settings.cursor_secret)
    app.openapi = lambda: problem_only_openapi(app)  # type: ignore[method-assign]
    install_error_handlers(app)
    app.add_middleware(HeadAsGetMiddleware)
    app.include_router(publications.router)
    app.include_router(entities.authors_router)
    app.include_router(entities.venues_router)
    app.include_router(health.router)
    return app
