"""Defects found in review, each pinned: forged cursors, 500s inside the consent policy,
control characters in seed data, repeated parameters, unparseable bodies, purge racing a PUT,
and servers migrating together."""

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.core.db import make_engine
from app.core.pagination import CursorCodec, fingerprint
from app.main import create_app
from app.queries import consent as consent_queries
from app.queries.publications import PublicationFilters
from app.seed import loader
from tests.conftest import Database, PostgresDatabases
from tests.support import PROBLEM_TYPE, cursor_problem, unprocessable

DEFAULT_SECRET = "pubapi-cursor-v1"
MALFORMED = "malformed cursor"
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def forged(query_id: str, key: list) -> str:
    return CursorCodec(DEFAULT_SECRET).encode(query_id, key)


@pytest.mark.parametrize(
    ("path", "query_id", "key"),
    [
        (
            "/authors?sort=-publication_count",
            fingerprint("authors", "-publication_count", None),
            [10**20, 1],
        ),
        ("/authors?sort=name", fingerprint("authors", "name", None), ["a", 10**20]),
        ("/authors?sort=name", fingerprint("authors", "name", None), ["a", 0]),
        ("/authors?sort=name", fingerprint("authors", "name", None), ["a\u0000", 1]),
        ("/authors?sort=name", fingerprint("authors", "name", None), ["a\ud800", 1]),
        ("/authors?sort=name", fingerprint("authors", "name", None), [True, 1]),
        (
            "/publications?sort=title",
            fingerprint("publications", "title", PublicationFilters()),
            ["a\ud800", 1],
        ),
        (
            "/publications?sort=published_on",
            fingerprint("publications", "published_on", PublicationFilters()),
            ["2025-13-45", 1],
        ),
    ],
)
def test_a_validly_signed_cursor_with_impossible_values_is_422(client, path, query_id, key):
    # The default secret is public, so anyone can sign a cursor: its values are checked too.
    response = client.get(f"{path}&{urlencode({'cursor': forged(query_id, key)})}")
    assert response.status_code == 422, response.text
    assert response.json() == cursor_problem(MALFORMED)


def test_a_500_on_a_consent_route_keeps_no_store_and_cors(empty_db: Database, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(consent_queries, "latest_state", broken)
    settings = empty_db.settings().model_copy(update={"consent_origins": ["https://site.example"]})
    with TestClient(create_app(settings)) as client:
        response = client.get(
            f"/consent/{uuid.uuid4()}", headers={"Origin": "https://site.example"}
        )
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": f"An unexpected error occurred; it was logged under request id {request_id}.",
        "request_id": request_id,
    }
    assert response.headers["content-type"] == PROBLEM_TYPE
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["access-control-allow-origin"] == "https://site.example"
    assert "simulated failure" not in response.text


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"title": "a\u0000b"}, "title"),
        ({"title": "ok", "abstract": "bell \u0007"}, "abstract"),
        ({"title": "ok", "authors": ["Ada\u007f"]}, "authors.0"),
        ({"key": "k\u0085x", "title": "ok"}, "key"),
    ],
)
def test_seed_text_with_control_characters_is_refused_on_both_engines(
    empty_db: Database, tmp_path: Path, record: dict, field: str
):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    engine = empty_db.engine()
    try:
        with pytest.raises(loader.SeedError) as caught:
            loader.load(engine, [path])
    finally:
        engine.dispose()
    assert str(caught.value) == (
        f"{path}, line 1, field '{field}': must not contain NUL or other control characters"
    )


def test_json_nested_too_deeply_is_a_seed_error(empty_db: Database, tmp_path: Path):
    lines = tmp_path / "deep.jsonl"
    lines.write_text("[" * 100_000 + "\n", encoding="utf-8")
    engine = empty_db.engine()
    try:
        with pytest.raises(loader.SeedError) as caught:
            loader.load(engine, [lines])
    finally:
        engine.dispose()
    assert str(caught.value) == f"{lines}, line 1: invalid JSON: nested too deeply"


@pytest.mark.parametrize(
    "query",
    ["limit=1&limit=2", "sort=title&sort=-title", "fields=id&fields=title", "offset=0&offset=1"],
)
def test_a_single_valued_parameter_given_twice_is_422(client, query):
    name = query.split("=")[0]
    response = client.get(f"/publications?{query}")
    msg = "given more than once; it takes one value"
    assert response.json() == unprocessable(["query", name], msg, f"{name}: {msg}")


def test_repeatable_parameters_may_repeat(client):
    response = client.get("/publications?year=2025&year=2024&fields=id&limit=1")
    assert response.status_code == 200


def test_a_consent_body_json_cannot_parse_is_422_on_the_body(empty_db: Database):
    with TestClient(create_app(empty_db.settings())) as client:
        response = client.post(
            "/consent", content=b"[" * 5000, headers={"Content-Type": "application/json"}
        )
    msg = "could not be parsed as JSON"
    assert response.status_code == 422
    assert response.json() == unprocessable(["body"], msg, f"body: {msg}")


def test_purge_waits_for_a_put_renewing_the_record(empty_db: Database):
    """A record renewed by a PUT still in flight when purge starts is kept."""
    engine = make_engine(empty_db.url, immediate=True)
    lifetime = dt.timedelta(days=10)
    try:
        with engine.begin() as conn:
            old = consent_queries.create_consent(conn, "v1", {"essential": True}, NOW, lifetime)
        horizon = NOW + dt.timedelta(days=100)
        purged: list[int] = []
        with engine.connect() as put:
            put.begin()
            consent_queries.lock_consent(put, old.consent_id)
            renewal = NOW + dt.timedelta(days=200)
            consent_queries.add_state(put, old.consent_id, 2, "v1", {}, renewal, lifetime)

            def purge() -> None:
                with engine.begin() as conn:
                    purged.append(consent_queries.purge_expired(conn, horizon))

            worker = threading.Thread(target=purge)
            worker.start()
            time.sleep(0.5)
            assert worker.is_alive(), "purge must wait for the PUT's lock"
            put.commit()
        worker.join(timeout=30)
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT count(*) FROM consent")).scalar_one()
    finally:
        engine.dispose()
    assert purged == [0]
    assert kept == 1


def test_servers_migrating_together_on_postgresql_all_succeed(
    postgres_databases: PostgresDatabases,
):
    url = postgres_databases.create_blank()
    pubapi = str(Path(sys.executable).parent / "pubapi")
    env = {**os.environ, "PUBAPI_DATABASE_URL": url}
    processes = [
        subprocess.Popen(
            [pubapi, "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=60), p.stdout.read() if p.stdout else "") for p in processes]
    assert [code for code, _ in results] == [0, 0, 0], results
