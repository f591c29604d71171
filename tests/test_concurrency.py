"""Many requests at once on a small connection pool: all answered, at most `db_pool_size` of
them in the database at any moment.

Past the pool's size, a request would wait for a connection inside a worker thread (holding
one of the few threads, for up to the pool's 30-second timeout); when requests still held
connections across several thread hops, the waiting ones took every thread and all timed
out. Requests now wait for a database slot in the event loop
(app.core.http.DatabaseSlotsMiddleware), so the pool's overflow is never needed.
"""

import asyncio
import time

import httpx
from sqlalchemy import event

from app.core.config import Settings
from app.main import create_app
from tests.conftest import Database

CONCURRENT = 80


async def hammer(app: object, paths: list[str]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await asyncio.gather(
            *(client.get(path, headers={"Cache-Control": "no-cache"}) for path in paths)
        )


def test_more_requests_than_connections_are_all_answered(seeded_db: Database) -> None:
    settings = Settings(
        _env_file=None, database_url=seeded_db.url, db_pool_size=1, data_version_ttl=0
    )
    app = create_app(settings)
    engine = app.state.engine
    busy, most = 0, 0

    def checked_out(*_args: object) -> None:
        nonlocal busy, most
        busy += 1
        most = max(most, busy)

    def checked_in(*_args: object) -> None:
        nonlocal busy
        busy -= 1

    event.listen(engine.pool, "checkout", checked_out)
    event.listen(engine.pool, "checkin", checked_in)
    paths = [
        ["/publications?limit=2", "/publications/4", "/authors", "/venues/1/publications"][i % 4]
        for i in range(CONCURRENT)
    ]
    started = time.monotonic()
    responses = asyncio.run(hammer(app, paths))
    elapsed = time.monotonic() - started
    assert [r.status_code for r in responses] == [200] * CONCURRENT
    # One connection at a time (the pool would lend a second from its overflow), and nobody
    # waited anywhere near the pool's 30-second timeout.
    assert (most, busy) == (1, 0)
    assert elapsed < 20, elapsed
    engine.dispose()


def test_the_pool_size_defaults_by_engine(seeded_db: Database) -> None:
    """2 on SQLite (its queries hold the GIL between rows: more threads only queue for it),
    8 on PostgreSQL; `db_pool_size` overrides either."""
    default = Settings(_env_file=None, database_url=seeded_db.url)
    expected = 2 if seeded_db.kind == "sqlite" else 8
    assert default.pool_size(seeded_db.url) == expected
    assert create_app(default).state.engine.pool.size() == expected
    chosen = Settings(_env_file=None, database_url=seeded_db.url, db_pool_size=5)
    assert create_app(chosen).state.engine.pool.size() == 5
