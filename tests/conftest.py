"""One fixture builder for every test: real migrations, the real seed loader, on each engine.

Every API test runs on SQLite and on PostgreSQL. PostgreSQL is taken from
`PUBAPI_TEST_POSTGRES_URL` (default: the local server, database `test`); each test database is
created from a migrated template and dropped afterwards. When PostgreSQL is unreachable its
variants are skipped and the run says so at the end, unless `PUBAPI_TEST_REQUIRE_POSTGRES=1`
(set by `.ci/run`), which turns that into a failure.
"""

import itertools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from app.core.config import PROJECT_ROOT, Settings
from app.core.db import make_engine, unreachable
from app.core.migrations import upgrade
from app.main import create_app
from app.seed import loader

pytest_plugins = ["tests.openapi_coverage"]
SEED_DIR = PROJECT_ROOT / "seed_data"
POSTGRES_URL = os.environ.get(
    "PUBAPI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("PUBAPI_TEST_REQUIRE_POSTGRES") == "1"
REDIS_URL = os.environ.get("PUBAPI_TEST_REDIS_URL", "redis://127.0.0.1:6379")
REQUIRE_REDIS = os.environ.get("PUBAPI_TEST_REQUIRE_REDIS") == "1"
# Services whose variants were skipped, and why: reported at the end of the run.
SKIPPED: dict[str, str] = {}
ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


@cache
def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can."""
    problem = unreachable(POSTGRES_URL)
    return None if problem is None else f"PostgreSQL {problem}"


@cache
def redis_problem() -> str | None:
    """Why Redis cannot be used, or None when it can."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:
        return f"Redis unreachable at {REDIS_URL}: {exc}"
    return None


def require_redis() -> str:
    """The Redis URL for rate-limit storage tests; skips (or fails in CI) without Redis."""
    if (problem := redis_problem()) is not None:
        if REQUIRE_REDIS:
            pytest.fail(f"PUBAPI_TEST_REQUIRE_REDIS=1 but {problem}")
        SKIPPED["Redis"] = problem
        pytest.skip(problem)
    return REDIS_URL


def require_engine(kind: str) -> None:
    if kind == "postgresql" and (problem := postgres_problem()) is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PUBAPI_TEST_REQUIRE_POSTGRES=1 but {problem}")
        SKIPPED["PostgreSQL"] = problem
        pytest.skip(problem)


class PostgresDatabases:
    """Fresh PostgreSQL databases, each a copy of one migrated template."""

    def __init__(self) -> None:
        self.prefix = f"pubapi_test_{uuid.uuid4().hex[:8]}"
        self.template = f"{self.prefix}_template"
        self.names = (f"{self.prefix}_{n}" for n in itertools.count())
        self.created: list[str] = []
        self.admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        self._template_ready = False

    def url(self, name: str) -> str:
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def create(self) -> str:
        with self.admin.connect() as conn:
            if not self._template_ready:
                conn.execute(text(f'CREATE DATABASE "{self.template}"'))
                self.created.append(self.template)
                upgrade(self.url(self.template))
                self._template_ready = True
            name = next(self.names)
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        self.created.append(name)
        return self.url(name)

    def create_blank(self) -> str:
        """A database with nothing in it, not even the migrations."""
        name = next(self.names)
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.url(name)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in reversed(self.created):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    require_engine("postgresql")
    databases = PostgresDatabases()
    yield databases
    databases.drop_all()


@dataclass
class Database:
    kind: str
    url: str

    def engine(self) -> Engine:
        return make_engine(self.url)

    def settings(self) -> Settings:
        # A load shows at once (the default lets a worker trust the version for a second).
        return Settings(_env_file=None, database_url=self.url, data_version_ttl=0)


def _new_database(kind: str, directory: Path, request: pytest.FixtureRequest) -> Database:
    require_engine(kind)
    if kind == "sqlite":
        url = f"sqlite:///{directory / 'pubapi.db'}"
        upgrade(url)
        return Database(kind, url)
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    return Database(kind, databases.create())


@pytest.fixture(params=ENGINES)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """A fresh database at the newest migration, with no data; one per test."""
    return _new_database(request.param, tmp_path, request)


@pytest.fixture
def engine(empty_db: Database) -> Iterator[Engine]:
    """An engine on `empty_db`, disposed of after the test."""
    engine = empty_db.engine()
    yield engine
    engine.dispose()


@pytest.fixture
def other_engine(
    empty_db: Database, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Engine]:
    """An engine on a second fresh database of the same kind as `empty_db`."""
    (tmp_path / "other").mkdir()
    engine = _new_database(empty_db.kind, tmp_path / "other", request).engine()
    yield engine
    engine.dispose()


@pytest.fixture(scope="session", params=ENGINES)
def seeded_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Database:
    """A database loaded with seed_data/ by the real loader, shared by read-only tests."""
    database = _new_database(request.param, tmp_path_factory.mktemp("seeded"), request)
    engine = database.engine()
    loader.load(engine, [SEED_DIR])
    engine.dispose()
    return database


@pytest.fixture(scope="session")
def client(seeded_db: Database) -> Iterator[TestClient]:
    """An HTTP client on the app serving the seed data (read-only: do not write through it)."""
    with TestClient(create_app(seeded_db.settings())) as test_client:
        yield test_client


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for name, problem in SKIPPED.items():
        terminalreporter.section(name, sep="!", red=True, bold=True)
        terminalreporter.line(f"{name} variants were SKIPPED: {problem}", yellow=True)
