"""Processes stopped the hard way and the polite way, on each engine.

* `pubapi seed` killed with SIGKILL half way through a large file leaves the database exactly as
  it was before the load began: the same rows in every table.
* `pubapi serve` sent SIGTERM while consent writes are in flight finishes them: every consent
  answered 201 is in the database afterwards, and nothing else is.
"""

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, inspect, select, text

from app.models.tables import CONSENT
from bench.generate import generate
from tests.conftest import Database
from tests.support import SEED_DIR
from tests.test_faults import POLICY_VERSION, seeded
from tests.test_live_server import clean_env, serving

PUBAPI = str(Path(sys.executable).parent / "pubapi")
RECORDS = 6000


def dump(database: Database) -> dict[str, list[Any]]:
    """Every row of every table, sorted: what "the same database" means here. (PostgreSQL's
    sequences are not rows: an id drawn by a load that never committed stays drawn.)"""
    if database.kind == "sqlite":
        path = database.url.removeprefix("sqlite:///")
        lite = sqlite3.connect(path)
        try:
            assert lite.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            return {"dump": list(lite.iterdump())}
        finally:
            lite.close()
    engine = create_engine(database.url)
    try:
        with engine.connect() as conn:
            tables = sorted(inspect(conn).get_table_names())
            return {
                table: sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{table}"'))), key=repr)
                for table in tables
            }
    finally:
        engine.dispose()


def read_position(pid: int, path: Path) -> int:
    """How far process `pid` has read the file at `path` (its descriptor's offset), or -1."""
    fds = Path(f"/proc/{pid}/fd")
    for fd in fds.iterdir():
        try:
            if Path(os.readlink(fd)) == path:
                info = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
                return int(info.split("pos:")[1].split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return -1


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # pid (comm) state ppid ...: comm may hold spaces, so read after its ")".
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.parametrize("parallel", ["--no-parallel", "--parallel"])
def test_seed_killed_half_way_leaves_the_database_as_it_was(
    empty_db: Database, tmp_path: Path, parallel: str
) -> None:
    seeded(empty_db)
    big = tmp_path / "big.jsonl"
    generate(RECORDS, big)
    before = dump(empty_db)
    env = clean_env(PUBAPI_DATABASE_URL=empty_db.url)
    command = [PUBAPI, "seed", parallel, str(big)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    half, position = big.stat().st_size // 2, -1
    deadline = time.monotonic() + 120
    while position < half and process.poll() is None and time.monotonic() < deadline:
        position = read_position(process.pid, big.resolve())
        time.sleep(0.01)
    assert process.poll() is None, "the load ended before it was half way"
    preparing = children(process.pid)
    process.kill()
    assert process.wait(timeout=30) == -signal.SIGKILL
    assert half <= position < big.stat().st_size
    # The processes preparing records for it (two, or none) follow it within a second.
    assert len(preparing) == (2 if parallel == "--parallel" else 0)
    deadline = time.monotonic() + 5
    while any(map(alive, preparing)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in preparing if alive(pid)] == []
    assert dump(empty_db) == before
    # And the database still takes the load it was denied.
    done = subprocess.run([PUBAPI, "seed", str(big), str(SEED_DIR)], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        b"6010 records from 2 file(s): 6000 new, 0 updated, 10 unchanged; data version 2"
    )


CONCURRENCY = 16


# How a client learns that the server has stopped: its next connection is refused, or the
# server closes the kept-alive connection it was about to send on (uvicorn closes idle ones
# at once on SIGTERM; a request sent then was never read, let alone answered).
STOPPED = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError)


async def post_until_refused(base: str, answered: list[str], statuses: list[int]) -> None:
    """POST consents one after another until the server stops taking them."""
    body = {"policy_version": POLICY_VERSION, "choices": {"analytics": True}}
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while True:
            try:
                response = await client.post("/consent", json=body)
            except STOPPED:
                return
            statuses.append(response.status_code)
            if response.status_code == 201:
                answered.append(response.json()["id"])


def test_sigterm_lets_in_flight_consents_finish(empty_db: Database, tmp_path: Path) -> None:
    env = clean_env(
        PUBAPI_DATABASE_URL=empty_db.url,
        PUBAPI_CONSENT_RATE_LIMIT="1000000/minute",
        PUBAPI_ACCESS_LOG="false",
    )
    answered: list[str] = []
    statuses: list[int] = []
    with serving(tmp_path, env) as (base, process):

        async def drive() -> None:
            clients = [
                asyncio.create_task(post_until_refused(base, answered, statuses))
                for _ in range(CONCURRENCY)
            ]
            while len(answered) < 200:
                await asyncio.sleep(0.01)
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(asyncio.gather(*clients), timeout=60)

        asyncio.run(drive())
        # uvicorn shuts down, then re-raises the signal so that its parent sees it obeyed.
        assert process.wait(timeout=30) == -signal.SIGTERM
        output = process.stdout.read() if process.stdout else ""
    assert set(statuses) == {201}, sorted(set(statuses))
    assert "Finished server process" in output
    assert "Traceback" not in output
    engine = create_engine(empty_db.url)
    with engine.connect() as conn:
        stored = conn.execute(select(CONSENT.c.id)).scalars().all()
    engine.dispose()
    assert sorted(map(str, stored)) == sorted(answered)
    assert len(answered) >= 200
