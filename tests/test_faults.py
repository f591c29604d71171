"""Faults: the database gone, a runaway query, a write through a read path.

Each answers a 503 problem with `Retry-After` (never a 500, never a hang), and pubapi recovers
on its own when the database does. PostgreSQL is taken away for real: the app reaches it
through a TCP proxy the test stops (connections refused, open ones cut) and starts again.
"""

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

from app.core.db import make_engine, renew_deadline
from app.core.migrations import upgrade
from app.main import create_app
from app.queries import entities, publications
from app.seed import loader
from tests.conftest import Database
from tests.support import SEED_DIR

UNAVAILABLE = {
    "type": "about:blank",
    "title": "Service Unavailable",
    "status": 503,
    "detail": "The database is unavailable; try again in 5 s.",
}
# Seconds within which a request must be answered while the database is away: a fault is
# answered at once (a refused connection), not after the kernel's TCP timeout.
PROMPT_EACH = 2
# Seconds a runaway statement may go past its limit before the request has its answer.
PROMPT = 10
POLICY_VERSION = json.loads((SEED_DIR / "consent-policy.json").read_text())["version"]
DATA_PATHS = ["/publications", "/publications/4", "/authors", "/venues/2", "/publications?q=quant"]


def problem_503(response, body: dict) -> None:
    found = response.json()
    assert response.headers["retry-after"] == "5"
    assert found.pop("request_id") == response.headers["x-request-id"]
    assert_problem_body(response, body, found)


def assert_problem_body(response, body: dict, found: dict) -> None:
    assert response.status_code == body["status"], response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    assert found == body


class Proxy:
    """A TCP proxy to a server, which the test can stop (like the server going down: new
    connections refused, open ones cut) and start again on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._links: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.start()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        assert self._listener is not None
        self._listener.close()
        self._listener = None
        with self._lock:
            for link in self._links:
                with suppress(OSError):
                    link.shutdown(socket.SHUT_RDWR)
                link.close()
            self._links.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._links |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


@contextmanager
def timed() -> Iterator[list[float]]:
    took: list[float] = []
    started = time.monotonic()
    yield took
    took.append(time.monotonic() - started)


def seeded(database: Database) -> None:
    engine = database.engine()
    loader.load(engine, [SEED_DIR])
    engine.dispose()


def ask_everything(client: TestClient) -> list:
    """Every kind of data route, an export and a consent write, while the database is away."""
    answers = [client.get(path, headers={"Cache-Control": "no-cache"}) for path in DATA_PATHS]
    answers.append(client.get("/publications/export?format=csv"))
    body = {"policy_version": POLICY_VERSION, "choices": {"analytics": True}}
    answers.append(client.post("/consent", json=body))
    return answers


@pytest.mark.postgresql
def test_postgresql_gone_answers_503_then_recovers_without_a_restart(
    request: pytest.FixtureRequest,
) -> None:
    url = make_url(request.getfixturevalue("postgres_databases").create())
    database = Database("postgresql", url.render_as_string(hide_password=False))
    seeded(database)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = Database("postgresql", through).settings()
    with TestClient(create_app(settings)) as client:
        assert client.get("/publications").status_code == 200
        assert client.get("/ready").status_code == 200
        proxy.stop()
        with timed() as took:
            answers = ask_everything(client)
            ready = client.get("/ready")
        assert took[0] < PROMPT_EACH * (len(answers) + 1), took
        for answer in answers:
            problem_503(answer, UNAVAILABLE)
        assert_problem_body(
            ready,
            {
                "type": "about:blank",
                "title": "Service Unavailable",
                "status": 503,
                "detail": "Database unreachable: OperationalError.",
            },
            ready.json(),
        )
        assert ready.headers["retry-after"] == "5"
        proxy.start()
        assert client.get("/ready").status_code == 200
        for path in DATA_PATHS:
            assert client.get(path, headers={"Cache-Control": "no-cache"}).status_code == 200
    proxy.stop()


def test_sqlite_file_gone_answers_503_then_recovers_without_a_restart(tmp_path: Path) -> None:
    """An open SQLite file stays readable to the connections that have it open, whatever
    happens to its path: what can go away is the file for new connections. Here it is
    missing when the server first needs it, and comes back; the server never makes itself an
    empty database in its place (it would serve "no such table" from it ever after)."""
    database = Database("sqlite", f"sqlite:///{tmp_path / 'pubapi.db'}")
    upgrade(database.url)
    seeded(database)
    for name in ("pubapi.db", "pubapi.db-wal", "pubapi.db-shm"):
        if (tmp_path / name).exists():
            shutil.move(tmp_path / name, tmp_path / f"away-{name}")
    with TestClient(create_app(database.settings())) as client:
        for answer in ask_everything(client):
            problem_503(answer, UNAVAILABLE)
        assert client.get("/ready").status_code == 503
        assert (
            sorted(path.name for path in tmp_path.iterdir() if path.name.startswith("pubapi")) == []
        )
        for name in ("pubapi.db", "pubapi.db-wal", "pubapi.db-shm"):
            if (tmp_path / f"away-{name}").exists():
                shutil.move(tmp_path / f"away-{name}", tmp_path / name)
        assert client.get("/ready").status_code == 200
        for path in DATA_PATHS:
            assert client.get(path, headers={"Cache-Control": "no-cache"}).status_code == 200


RUNAWAY = {
    # Counts for ever: only the time limit stops it.
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(600)",
}


TIMED_OUT = {
    "type": "about:blank",
    "title": "Service Unavailable",
    "status": 503,
    "detail": "The database did not answer within the 0.5 s limit; try again later, or narrow "
    "the request.",
}


@pytest.mark.parametrize(
    ("path", "module", "function"),
    [
        # A route through FastAPI, a list page on the lean path, and an export (whose first
        # batch is read before its 200 is sent).
        ("/authors/1", entities, "get_entity"),
        ("/publications?year=2025", publications, "list_publications"),
        ("/publications/export?format=csv", publications, "iter_publications"),
    ],
)
def test_a_runaway_query_is_stopped_at_the_limit_and_answers_503(
    empty_db: Database, monkeypatch: pytest.MonkeyPatch, path: str, module, function: str
) -> None:
    seeded(empty_db)
    calls = []

    def runaway(session: Session, *_args: object, **_kwargs: object):
        calls.append(1)
        session.execute(text(RUNAWAY[empty_db.kind]))
        yield from ()  # (a generator, for iter_publications; the others run it in full)

    def runaway_call(session: Session, *args: object, **kwargs: object) -> None:
        for _ in runaway(session, *args, **kwargs):
            pass

    settings = empty_db.settings().model_copy(update={"statement_timeout": 0.5})
    with TestClient(create_app(settings)) as client:
        assert client.get(path).status_code == 200
        replacement = runaway if function == "iter_publications" else runaway_call
        monkeypatch.setattr(module, function, replacement)
        with timed() as took:
            answer = client.get(path, headers={"Cache-Control": "no-cache"})
        problem_503(answer, TIMED_OUT)
        assert 0.5 <= took[0] < PROMPT
        # Run once; a list page on SQLite twice: first in the event loop, stopped there at the
        # lean path's budget of steps, then in a thread, stopped at the time limit. The lean
        # path answers that 503 itself instead of running it in the route too.
        lean_list = empty_db.kind == "sqlite" and function == "list_publications"
        assert len(calls) == (2 if lean_list else 1)
        monkeypatch.undo()
        # The connection the statement ran on goes on serving.
        for _ in range(5):
            fresh = client.get(path, headers={"Cache-Control": "no-cache"})
            assert fresh.status_code == 200


def test_a_query_bug_is_a_500_not_a_503(
    empty_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite reports bugs ("no such table") with the exception class it uses for a database
    that is away: only the transient ones are a 503 to retry."""
    seeded(empty_db)

    def broken(session: Session, *_args: object) -> None:
        session.execute(text("SELECT * FROM no_such_table"))

    monkeypatch.setattr(entities, "get_entity", broken)
    with TestClient(create_app(empty_db.settings()), raise_server_exceptions=False) as client:
        answer = client.get("/authors/1")
    body = answer.json()
    assert answer.status_code == 500
    assert "retry-after" not in answer.headers
    assert body == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": f"An unexpected error occurred; it was logged under request id "
        f"{answer.headers['x-request-id']}.",
        "request_id": answer.headers["x-request-id"],
    }


def test_sqlite_stream_gets_a_new_limit_per_batch(tmp_path: Path) -> None:
    """A streamed statement (an export) may run longer than the limit in all, as long as each
    batch comes within it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", statement_timeout=1.0)
    # Ten rows, each about 1/20 s of counting apart; the reader takes 0.3 s over each.
    query = text(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) "
        "SELECT x FROM c WHERE x % 200000 = 0"
    )

    def read(renew: bool) -> list[int]:
        found = []
        with engine.connect() as conn:
            for (value,) in conn.execution_options(yield_per=1).execute(query):
                found.append(value)
                time.sleep(0.3)
                if renew:
                    renew_deadline(conn)
        return found

    assert read(renew=True) == [200000 * n for n in range(1, 11)]
    with pytest.raises(OperationalError, match="interrupted"):
        read(renew=False)
    engine.dispose()


WRITE = "INSERT INTO venue (name, sort_name, publication_count) VALUES ('x', 'x', 0)"


def test_data_routes_read_on_connections_that_refuse_writes(seeded_db: Database) -> None:
    app = create_app(seeded_db.settings())
    refused = (
        "attempt to write a readonly database"
        if seeded_db.kind == "sqlite"
        else "cannot execute INSERT in a read-only transaction"
    )
    for engine in (app.state.engine, app.state.primary_engine):
        with Session(engine) as session, pytest.raises(DBAPIError) as exc:
            session.execute(text(WRITE))
        assert refused in str(exc.value)
    check: Engine = seeded_db.engine()
    with check.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM venue WHERE name = 'x'")).scalar() == 0
    check.dispose()
    for engine in (app.state.engine, app.state.write_engine):
        engine.dispose()
