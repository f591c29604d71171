"""Soak: wrk drives mixed reads and consent writes at a live `pubapi serve --workers 2` on
PostgreSQL, and then: no 5xx (nor any other error), every consent answered 201 is in the
database and nothing else is, and each worker's resident memory stayed flat.

CI runs it for SOAK_SECONDS = 15 s; the full soak is one minute:

    PUBAPI_SOAK_SECONDS=60 .venv/bin/pytest tests/test_soak.py -s

(`-s` shows the numbers: requests, consents, and each worker's memory along the way.)
"""

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from app.models.tables import CONSENT
from bench import wrk
from tests.test_bench_run import wrk_installed  # noqa: F401  (the fixture)
from tests.test_faults import POLICY_VERSION
from tests.test_live_server import clean_env, free_port

PUBAPI = str(Path(sys.executable).parent / "pubapi")
SOAK_SECONDS = int(os.environ.get("PUBAPI_SOAK_SECONDS", "15"))
WORKERS = 2
CONNECTIONS = 16
# Growth of a worker's resident memory allowed between the end of the first quarter of the
# soak (caches warm) and its end.
MAX_GROWTH_MIB = 16

# Every request kind a page or a script makes, cycled; one in five is a consent write.
READS = [
    "/publications",
    "/publications?limit=5&offset=5",
    "/publications?q=quantization",
    "/publications?q=tern",
    "/publications?year=2025&facets=year,venue,status",
    "/publications?venue=2&sort=title",
    "/publications?author=1&fields=id,title",
    "/publications/4",
    "/publications/10?format=bibtex",
    "/publications/export?format=csv",
    "/authors?q=wu",
    "/authors/1/publications",
    "/venues",
    "/venues/2",
    "/consent/policy",
]
SCRIPT = """
local reads = {%(reads)s}
local body = '{"policy_version":"%(version)s","choices":{"analytics":true}}'
local n = 0
local ids
local threads = {}

function setup(thread)
    thread:set("tid", #threads + 1)
    table.insert(threads, thread)
end

function init(args)
    ids = io.open(args[1] .. "/ids-" .. tid .. ".txt", "w")
    ids:setvbuf("line")
end

function request()
    n = n + 1
    if n %% 5 == 0 then
        return wrk.format("POST", "/consent", {["Content-Type"] = "application/json"}, body)
    end
    return wrk.format("GET", reads[(n %% #reads) + 1])
end

function response(status, headers, body)
    if status == 201 then
        ids:write(string.match(body, '"id":"([^"]+)"'), "\\n")
    end
end
"""


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def workers_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    # uvicorn's workers, not multiprocessing's resource tracker.
    return [int(c) for c in children if "resource_tracker" not in _cmdline(int(c))]


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


@contextmanager
def serving_workers(cwd: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    port = free_port()
    log = (cwd / "serve.log").open("w")
    process = subprocess.Popen(
        [PUBAPI, "serve", "--port", str(port), "--workers", str(WORKERS)],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while len(workers_of(process.pid)) < WORKERS or not _ready(base):
            assert process.poll() is None, (cwd / "serve.log").read_text()
            assert time.monotonic() < deadline, "pubapi serve --workers 2 did not start"
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/ready", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.postgresql
@pytest.mark.usefixtures("wrk_installed")
def test_soak_mixed_reads_and_consents_on_two_workers(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("postgres_databases").create()
    env = clean_env(
        PUBAPI_DATABASE_URL=url,
        PUBAPI_CONSENT_RATE_LIMIT="100000000/minute",
        PUBAPI_ACCESS_LOG="false",
    )
    script = tmp_path / "soak.lua"
    reads = ", ".join(f'"{path}"' for path in READS)
    script.write_text(SCRIPT % {"reads": reads, "version": POLICY_VERSION})
    with serving_workers(tmp_path, env) as (base, master):
        workers = workers_of(master)
        run = subprocess.Popen(
            [
                wrk.WRK,
                "-t2",
                f"-c{CONNECTIONS}",
                f"-d{SOAK_SECONDS}s",
                "-s",
                str(script),
                base,
                "--",
                str(tmp_path),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        samples: list[list[float]] = []
        started = time.monotonic()
        while run.poll() is None:
            samples.append([rss_mib(pid) for pid in workers])
            time.sleep(min(1.0, SOAK_SECONDS / 20))
        output = run.communicate()[0]
        elapsed = time.monotonic() - started
        after = [rss_mib(pid) for pid in workers]
        assert workers_of(master) == workers, "a worker died and was replaced"
    log = (tmp_path / "serve.log").read_text()
    assert run.returncode == 0, output
    # wrk counts every answer that is not 2xx or 3xx, and every socket error.
    assert "Non-2xx or 3xx responses" not in output, output
    assert "Socket errors" not in output, output
    assert "Traceback" not in log, log[-3000:]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    answered = [line for path in tmp_path.glob("ids-*.txt") for line in path.read_text().split()]
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = [str(ident) for ident in conn.execute(select(CONSENT.c.id)).scalars()]
    engine.dispose()
    # Every consent answered 201 is stored. wrk stops at its deadline without reading the
    # answers still in flight, at most one per connection: those were stored, unseen.
    assert set(answered) <= set(stored)
    assert len(stored) == len(set(stored))
    assert 0 <= len(stored) - len(answered) <= CONNECTIONS
    assert len(answered) >= requests // 5 - CONNECTIONS
    warm = samples[len(samples) // 4]
    growth = [end - start for start, end in zip(warm, after, strict=True)]
    print(
        f"\nsoak: {requests} requests in {elapsed:.0f} s ({requests / elapsed:.0f}/s), "
        f"{len(answered)} consents answered 201, {len(stored)} stored; worker RSS MiB at 1/4: "
        f"{', '.join(f'{mib:.1f}' for mib in warm)}; at the end: "
        f"{', '.join(f'{mib:.1f}' for mib in after)}; growth "
        f"{', '.join(f'{mib:+.1f}' for mib in growth)}"
    )
    assert max(growth) < MAX_GROWTH_MIB, (samples, after)
