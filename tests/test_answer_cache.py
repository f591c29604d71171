"""Kept answers (app/core/answers.py): replayed byte for byte without touching the database,
for the data version they were made from only, and never for what must be computed afresh."""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.answers import ENTRY_OVERHEAD, MAX_ANSWER_BYTES, Answer, AnswerStore
from app.core.config import Settings
from app.main import create_app
from app.seed import loader
from tests.conftest import Database
from tests.support import answer_headers, data_statements

IDENTITY = {"Accept-Encoding": "identity"}
FRESH = {"Cache-Control": "no-cache"}


def write_jsonl(path: Path, count: int) -> Path:
    records = [
        {
            "key": f"k{i}",
            "title": f"Title {i}",
            "abstract": f"Abstract {i}: " + "words " * 60,  # lists of 3 pass 1 KiB: compressed
            "published_on": f"2024-01-{i + 1:02d}",
        }
        for i in range(count)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def load(database: Database, path: Path) -> None:
    engine = database.engine()
    try:
        loader.load(engine, [path])
    finally:
        engine.dispose()


@pytest.fixture
def loaded(empty_db: Database, tmp_path: Path) -> Database:
    load(empty_db, write_jsonl(tmp_path / "first.jsonl", 3))
    return empty_db


def client_for(database: Database, **settings: Any) -> TestClient:
    configured = Settings(_env_file=None, database_url=database.url, **settings)
    return TestClient(create_app(configured))


@pytest.fixture
def client(loaded: Database) -> Iterator[TestClient]:
    with client_for(loaded, data_version_ttl=0) as test_client:
        yield test_client


def get(client: TestClient, url: str, **headers: str) -> tuple[Any, list[str]]:
    """The response to GET `url` and the statements the request ran on the data engine."""
    with data_statements(client.app) as statements:
        response = client.get(url, headers={**IDENTITY, **headers})
    return response, statements


@pytest.mark.parametrize(
    "url", ["/publications?limit=2", "/publications/1", "/authors", "/venues?limit=3"]
)
def test_a_repeated_request_is_replayed_without_a_statement(client: TestClient, url: str) -> None:
    first, computed = get(client, url)
    again, replayed = get(client, url)
    assert first.status_code == again.status_code == 200
    assert computed != []
    assert replayed == []
    assert again.content == first.content
    assert answer_headers(again) == answer_headers(first)


def test_a_kept_answer_revalidates_to_304_without_a_statement(client: TestClient) -> None:
    first, _ = get(client, "/publications")
    tag = first.headers["etag"]
    response, statements = get(client, "/publications", **{"If-None-Match": tag})
    assert (response.status_code, response.content, statements) == (304, b"", [])
    assert answer_headers(response) == {
        "etag": tag,
        "cache-control": "public, max-age=60",
        "vary": "Accept, Accept-Encoding, Origin",
    }
    head = client.head("/publications", headers=IDENTITY)
    assert (head.status_code, head.content, head.headers["etag"]) == (200, b"", tag)
    assert head.headers["content-length"] == str(len(first.content))


def test_no_cache_computes_afresh_and_keeps_the_new_answer(client: TestClient) -> None:
    get(client, "/publications")
    for header in ({"Cache-Control": "no-cache"}, {"Cache-Control": "no-store"}):
        _, statements = get(client, "/publications", **header)
        assert statements != []
    _, statements = get(client, "/publications", Pragma="no-cache")
    assert statements != []
    _, statements = get(client, "/publications")
    assert statements == []


def test_each_coding_and_accept_is_an_answer_of_its_own(client: TestClient) -> None:
    url = "/publications?limit=3"
    plain, _ = get(client, url)
    gzipped, computed = get(client, url, **{"Accept-Encoding": "gzip"})
    assert computed != []
    assert gzipped.headers["content-encoding"] == "gzip"
    again, replayed = get(client, url, **{"Accept-Encoding": "gzip"})
    assert replayed == []
    assert again.headers["content-encoding"] == "gzip"
    assert again.json() == plain.json()
    csv, computed = get(client, url, Accept="text/csv")
    assert computed != []
    assert csv.headers["content-type"] == "text/csv; charset=utf-8; header=present"


def test_errors_are_never_kept(client: TestClient) -> None:
    for url, status in [("/publications/999", 404), ("/publications?limit=0", 422)]:
        for _ in range(2):
            response, statements = get(client, url)
            assert response.status_code == status
        assert statements != [] or status == 422  # a 422 is refused before any query


def test_a_load_shows_at_once_with_a_ttl_of_zero(
    client: TestClient, loaded: Database, tmp_path: Path
) -> None:
    before, _ = get(client, "/publications")
    assert before.json()["meta"]["total"] == 3
    load(loaded, write_jsonl(tmp_path / "more.jsonl", 5))
    after, statements = get(client, "/publications")
    assert statements != []
    assert after.json()["meta"]["total"] == 5
    assert after.headers["etag"] != before.headers["etag"]


def test_a_worker_trusts_the_version_it_read_for_the_ttl(loaded: Database, tmp_path: Path) -> None:
    with client_for(loaded, data_version_ttl=0.5) as client:
        before, _ = get(client, "/publications")
        load(loaded, write_jsonl(tmp_path / "more.jsonl", 5))
        # Within the TTL the kept answer of the old version may still be sent ...
        stale, statements = get(client, "/publications")
        assert (stale.content, statements) == (before.content, [])
        # ... but a request computed afresh is of the new version, and so is every answer
        # once the TTL has run out.
        fresh, _ = get(client, "/publications", **FRESH)
        assert fresh.json()["meta"]["total"] == 5
        time.sleep(0.6)
        after, _ = get(client, "/publications")
        assert after.json()["meta"]["total"] == 5
        assert after.headers["etag"] == fresh.headers["etag"]


def test_a_zero_budget_keeps_nothing(loaded: Database) -> None:
    with client_for(loaded, data_version_ttl=0, answer_cache_bytes=0) as client:
        get(client, "/publications")
        _, statements = get(client, "/publications")
        assert statements != []


def answer(body: bytes) -> Answer:
    return Answer(1, 200, [], body, {"ETag": '"x"'})


def test_the_store_spends_at_most_its_budget_least_recently_used_first_out() -> None:
    one = ENTRY_OVERHEAD + 100
    store = AnswerStore(max_bytes=3 * one)
    keys = [(f"/p{i}", b"", "", "identity") for i in range(4)]
    for key in keys[:3]:
        store.put(key, answer(b"x" * 100))
    assert (len(store), store.used) == (3, 3 * one)
    assert store.get(keys[0], 1) is not None  # now the most recent
    store.put(keys[3], answer(b"x" * 100))
    assert [store.get(key, 1) is not None for key in keys] == [True, False, True, True]
    assert store.used == 3 * one
    # Another version's lookup misses; a too large answer is not kept.
    assert store.get(keys[0], 2) is None
    store.put(("/big", b"", "", "identity"), answer(b"x" * (3 * one)))
    assert (len(store), store.used) == (3, 3 * one)


def test_a_streamed_export_larger_than_the_limit_is_not_kept(
    loaded: Database, tmp_path: Path
) -> None:
    records = [{"key": f"b{i}", "abstract": "w" * 2000} for i in range(MAX_ANSWER_BYTES // 2000)]
    source = tmp_path / "big.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    load(loaded, source)
    with client_for(loaded, data_version_ttl=0) as client:
        first, _ = get(client, "/publications/export.jsonl")
        assert len(first.content) > MAX_ANSWER_BYTES
        again, statements = get(client, "/publications/export.jsonl")
        assert statements != []
        assert again.content == first.content
