"""The `pubapi` console script, run as a user would: migrate, seed, parse-page."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from app.core.config import PROJECT_ROOT
from app.core.db import make_engine
from app.core.migrations import current_revision, head_revision, upgrade
from app.models.tables import PUBLICATION
from app.seed import loader
from tests.conftest import Database

PUBAPI = Path(sys.executable).parent / "pubapi"
SEED_DIR = PROJECT_ROOT / "seed_data"
SEED_FILES = [
    "publications.json",
    "consent-policy.json",
    "publications-page.txt",
    "seed-format.schema.json",
]
FIRST_SEED = "10 records from 1 file(s): 10 new, 0 updated, 0 unchanged; data version 1\n"
SECOND_SEED = "10 records from 1 file(s): 0 new, 0 updated, 10 unchanged; data version 1\n"


def run(
    *args: str | Path, database_url: str, cwd: Path, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    # Only this test's settings: no PUBAPI_* from the caller's environment, no .env file
    # (the working directory is a fresh temporary one).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBAPI_")}
    env.update(PUBAPI_DATABASE_URL=database_url, **extra_env)
    return subprocess.run(
        [str(PUBAPI), *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def database_url(empty_db: Database, tmp_path: Path) -> str:
    """SQLite: a file that does not exist yet. PostgreSQL: a fresh database."""
    if empty_db.kind == "sqlite":
        return f"sqlite:///{tmp_path / 'cli.db'}"
    return empty_db.url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """For what does not depend on the engine: a SQLite file that does not exist yet."""
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    directory = tmp_path / "work"
    directory.mkdir()
    return directory


def counts(database_url: str) -> tuple[int, int]:
    """Publications in the database, and its data version."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(PUBLICATION)).scalar_one()
            return int(total), loader.current_data_version(conn)
    finally:
        engine.dispose()


def test_console_script_is_installed():
    assert PUBAPI.is_file()
    assert os.access(PUBAPI, os.X_OK)


def test_migrate(database_url, workdir):
    result = run("migrate", database_url=database_url, cwd=workdir)
    shown = make_url(database_url).render_as_string(hide_password=True)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        f"database at the newest migration: {shown}\n",
        "",
    )
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_seed_twice(database_url, workdir):
    first = run("seed", database_url=database_url, cwd=workdir)
    assert (first.returncode, first.stdout, first.stderr) == (0, FIRST_SEED, "")
    assert counts(database_url) == (10, 1)

    second = run("seed", database_url=database_url, cwd=workdir)
    assert (second.returncode, second.stdout, second.stderr) == (0, SECOND_SEED, "")
    assert counts(database_url) == (10, 1)


def test_seed_given_paths(sqlite_url, workdir):
    extra = workdir / "extra.jsonl"
    extra.write_text(json.dumps({"key": "extra-1", "title": "Extra", "authors": ["X"]}) + "\n")
    result = run("seed", SEED_DIR, extra, database_url=sqlite_url, cwd=workdir)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "11 records from 2 file(s): 11 new, 0 updated, 0 unchanged; data version 1\n",
        "",
    )


def test_seed_bad_record_loads_nothing(database_url, workdir):
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        loader.load(engine, [SEED_DIR])
    finally:
        engine.dispose()

    bad = workdir / "bad.jsonl"
    bad.write_text(
        '{"title": "One"}\n{"title": "Two"}\n{"title": "Three", "published_on": "31.12.2025"}\n'
    )
    result = run("seed", SEED_DIR, bad, database_url=database_url, cwd=workdir)
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        f"pubapi seed: nothing loaded: {bad}, line 3, field 'published_on': "
        "must be an ISO 8601 date such as 2025-12-31\n",
    )
    assert counts(database_url) == (10, 1)


def test_seed_relative_path_is_named_as_given(sqlite_url, workdir):
    (workdir / "bad.jsonl").write_text('{"title": "One", "doi": "x"}\n')
    result = run("seed", "bad.jsonl", database_url=sqlite_url, cwd=workdir)
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "pubapi seed: nothing loaded: bad.jsonl, line 1, field 'doi': "
        "Extra inputs are not permitted\n",
    )


def test_seed_missing_file(sqlite_url, workdir):
    result = run("seed", "missing.jsonl", database_url=sqlite_url, cwd=workdir)
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "pubapi seed: nothing loaded: missing.jsonl, file: no such file or directory\n",
    )


def test_seed_uses_the_seed_path_setting(sqlite_url, workdir):
    seed_dir = workdir / "seeds"
    seed_dir.mkdir()
    (seed_dir / "publications.jsonl").write_text(json.dumps({"title": "Only one"}) + "\n")
    result = run("seed", database_url=sqlite_url, cwd=workdir, PUBAPI_SEED_PATH=str(seed_dir))
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "1 records from 1 file(s): 1 new, 0 updated, 0 unchanged; data version 1\n",
        "",
    )


def test_seed_progress_flag_shows_a_bar(sqlite_url, workdir):
    result = run("seed", "--progress", database_url=sqlite_url, cwd=workdir)
    assert (result.returncode, result.stdout) == (0, FIRST_SEED)
    # The bar redraws with "\r", which text mode reads as a line break.
    last = result.stderr.splitlines()[-1]
    assert re.fullmatch(r"publications\.json: 100%\|█{10}\| 14\.3k/14\.3k \[.*\]", last), (
        result.stderr
    )


def test_parse_page_writes_the_four_seed_files(workdir):
    out = workdir / "out"
    page = SEED_DIR / "publications-page.txt"
    result = run("parse-page", page, "--out", out, database_url="sqlite://", cwd=workdir)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "".join(f"wrote {out / name}\n" for name in SEED_FILES)
    assert sorted(p.name for p in out.iterdir()) == sorted(SEED_FILES)
    for name in SEED_FILES:
        assert (out / name).read_bytes() == (SEED_DIR / name).read_bytes(), name


def test_parse_page_reports_a_malformed_page(workdir):
    page = workdir / "page.txt"
    page.write_text(
        "Banner\nSetting cookies\nChoose.\nEssential cookies\nNeeded. (Still active)\n"
        "Publications\nTitle\nAbs… (see more)tract\n2025-12-31\nNo decision here\n",
        encoding="utf-8",
    )
    out = workdir / "out"
    result = run("parse-page", page, "--out", out, database_url="sqlite://", cwd=workdir)
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        f"pubapi parse-page: {page}: line 10: venue line has no decision in parentheses: "
        "'No decision here'\n",
    )
    assert not out.exists()
