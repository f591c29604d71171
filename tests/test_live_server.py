"""`pubapi serve` as a newcomer runs it: a real uvicorn process, reached over loopback."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import Database

PUBAPI = str(Path(sys.executable).parent / "pubapi")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(cwd: Path, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    process = subprocess.Popen(
        [PUBAPI, "serve", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                pytest.fail(f"pubapi serve exited {process.returncode}: {output}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("pubapi serve did not answer /health within 30 s")
            time.sleep(0.1)
        yield base, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBAPI_")}
    return {**env, **extra}


def test_serve_on_default_sqlite_migrates_and_loads_the_seed(tmp_path: Path) -> None:
    with serving(tmp_path, clean_env()) as (base, _process):
        publications = httpx.get(f"{base}/publications").json()
        ready = httpx.get(f"{base}/ready")
    assert publications["meta"] == {"total": 10, "limit": 25, "offset": 0, "next_cursor": None}
    assert [p["id"] for p in publications["results"]] == [2, 4, 5, 7, 8, 9, 1, 3, 6, 10]
    assert ready.status_code == 200
    # The default database is a SQLite file in the working directory.
    assert (tmp_path / "pubapi.db").is_file()


def test_serve_does_not_reload_a_database_that_has_data(tmp_path: Path) -> None:
    with serving(tmp_path, clean_env()) as (_base, process):
        pass
    first_log = process.stdout.read()  # type: ignore[union-attr]
    with serving(tmp_path, clean_env()) as (base, process):
        total = httpx.get(f"{base}/publications").json()["meta"]["total"]
    second_log = process.stdout.read()  # type: ignore[union-attr]
    assert total == 10
    assert "10 records from 1 file(s): 10 new, 0 updated, 0 unchanged; data version 1" in first_log
    assert "empty database" not in second_log


def test_serve_on_each_engine_through_httpx(empty_db: Database, tmp_path: Path) -> None:
    """`pubapi serve` on an empty (migrated) database of either engine loads the seed."""
    env = clean_env(PUBAPI_DATABASE_URL=empty_db.url)
    with serving(tmp_path, env) as (base, _process), httpx.Client(base_url=base) as http:
        tequila = http.get("/publications/4").json()
        page = http.get("/publications", params={"limit": 4})
        walked: list[int] = []
        url: str | None = f"{base}/publications?limit=4"
        while url is not None:
            response = http.get(url)
            walked += [p["id"] for p in response.json()["results"]]
            url = response.links.get("next", {}).get("url")
        head = http.head("/publications/4")
        search = http.get("/publications", params={"q": "tern", "fields": "id,snippet"})
        facets = http.get("/publications", params={"facets": "venue", "fields": "id", "limit": 1})
        authors = http.get("/authors", params={"q": "KNÉBEL"})
    assert (
        tequila["title"] == "Tequila: Deadzone-free Ternary Quantization for Large Language Models"
    )
    assert [a["name"] for a in tequila["authors"]][:2] == ["Hong Huang", "Decheng Wu"]
    assert page.json()["meta"]["total"] == 10
    assert walked == [2, 4, 5, 7, 8, 9, 1, 3, 6, 10]
    assert head.status_code == 200
    assert head.content == b""
    assert search.json()["results"] == [
        {
            "id": 4,
            "snippet": "…it not feasible. <mark>Ternary</mark> weight quantization addresses this "
            "by constraining weights to {-1, 0, 1}, replacing expensive multiplications with "
            "hardware-efficient additions. However, such aggressive compression leads to "
            "significant accuracy…",
        }
    ]
    assert [(b["value"], b["count"]) for b in facets.json()["meta"]["facets"]["venue"]] == [
        (None, 4),
        (2, 3),
        (1, 2),
        (3, 1),
    ]
    assert authors.json()["results"] == [
        {"id": 11, "name": "Moritz von Knebel", "publication_count": 1}
    ]
