"""examples/ run as a newcomer runs them: a real server, the script as a separate process."""

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from app.core.config import PROJECT_ROOT
from app.seed import loader
from tests.conftest import Database
from tests.test_live_server import clean_env, serving

WALK = PROJECT_ROOT / "examples" / "walk_publications.py"
COUNT = 450  # More than two pages of 200: the walk follows two cursors.
PAGE = 200


def seed_record(n: int) -> dict[str, Any]:
    """Publication `n`: dated in 2024 when n is even, else in 2023 or (every tenth) undated.

    Many share a date, so that the walk has ties to break across page boundaries.
    """
    year = 2024 if n % 2 == 0 else 2023
    return {
        "key": f"walk-{n:03d}",
        "title": f"Walked publication {n}",
        "published_on": None if n % 10 == 9 else f"{year}-{1 + n % 12:02d}-{1 + n % 3:02d}",
        "venue": [None, "Venue A", "Venue B"][n % 3],
        "status": "Accept (Poster)" if n % 4 else None,
        "authors": [f"Author {n % 7}", f"Coauthor {n % 5}"],
    }


def load_records(database: Database, directory: Path) -> None:
    """COUNT publications, through the real loader, from a JSON Lines file in seed format."""
    path = directory / "walk.jsonl"
    path.write_text("".join(json.dumps(seed_record(n)) + "\n" for n in range(COUNT)))
    engine = database.engine()
    report = loader.load(engine, [path])
    engine.dispose()
    assert (report.records, report.inserted) == (COUNT, COUNT)


def walk(base: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(WALK), base, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
        check=False,
    )


def offset_pages(http: httpx.Client, params: dict[str, Any], total: int) -> list[dict]:
    """The whole list in the API's own order, read with numbered pages instead of cursors."""
    publications: list[dict] = []
    for offset in range(0, total, PAGE):
        body = http.get("/publications", params={**params, "limit": PAGE, "offset": offset}).json()
        assert body["meta"]["total"] == total
        publications += body["results"]
    return publications


def test_walk_prints_every_publication_in_the_api_order(empty_db: Database, tmp_path: Path):
    load_records(empty_db, tmp_path)
    env = clean_env(PUBAPI_DATABASE_URL=empty_db.url)
    with serving(tmp_path, env) as (base, _process), httpx.Client(base_url=base) as http:
        everything = walk(base)
        in_2024 = walk(base, "--param", "year=2024")
        refused = walk(base, "--param", "year=soon")
        expected = offset_pages(http, {}, COUNT)
        expected_2024 = offset_pages(http, {"year": 2024}, 225)
    assert (everything.returncode, everything.stderr) == (0, "walked 450 publications in 3 pages\n")
    printed = [json.loads(line) for line in everything.stdout.splitlines()]
    assert printed == expected
    assert len({publication["id"] for publication in printed}) == COUNT
    assert (in_2024.returncode, in_2024.stderr) == (0, "walked 225 publications in 2 pages\n")
    printed_2024 = [json.loads(line) for line in in_2024.stdout.splitlines()]
    assert printed_2024 == expected_2024
    assert {publication["year"] for publication in printed_2024} == {2024}
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == (
        "HTTP 422: year.0: Input should be a valid integer, unable to parse string as an integer\n"
    )


# --- waiting and giving up, against a server that answers from a script -----------------------

EMPTY_PAGE = {"results": [], "meta": {"total": 0, "limit": 200, "offset": 0, "next_cursor": None}}
BUSY = {"title": "Too Many Requests", "status": 429, "detail": "Slow down."}
STARTING = {"title": "Service Unavailable", "status": 503, "detail": "Database starting."}


@contextmanager
def scripted_server(answers: list[tuple[int, str, dict]]) -> Iterator[tuple[str, list[str]]]:
    """A server giving `answers` (status, Retry-After, body) in turn; yields its URL and the
    request targets it received."""
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, retry_after, body = answers[len(received)]
            received.append(self.path)
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            if retry_after:
                self.send_header("Retry-After", retry_after)
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_walk_waits_as_long_as_retry_after_says():
    with scripted_server([(503, "1", STARTING), (429, "0", BUSY), (200, "", EMPTY_PAGE)]) as (
        base,
        received,
    ):
        started = time.monotonic()
        done = walk(base, "--param", "q=tern")
        waited = time.monotonic() - started
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        "",
        "walked 0 publications in 1 pages\n",
    )
    assert received == ["/publications?limit=200&q=tern"] * 3
    assert waited >= 1.0


def test_walk_gives_up_after_five_attempts_with_the_problem_detail():
    with scripted_server([(429, "0", BUSY)] * 5) as (base, received):
        done = walk(base)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "HTTP 429: Slow down.\n"
    assert len(received) == 5
