"""`PUBAPI_READ_DATABASE_URL`: data routes read a replica, consent is written and read back on
the primary. Two PostgreSQL databases stand in for the primary and its replica; they hold
different data, so every answer shows which one it came from."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from app.core.config import Settings
from app.main import create_app
from app.seed import loader
from tests.conftest import PostgresDatabases, require_engine

POLICY_VERSION: str = json.loads(
    (Path(__file__).resolve().parents[1] / "seed_data" / "consent-policy.json").read_text()
)["version"]


def load(url: str, path: Path, titles: list[str]) -> None:
    path.write_text(
        "".join(json.dumps({"key": t, "title": t}) + "\n" for t in titles), encoding="utf-8"
    )
    engine = create_engine(url)
    try:
        loader.load(engine, [path])
    finally:
        engine.dispose()


@pytest.fixture
def primary_and_replica(tmp_path: Path) -> Iterator[tuple[str, str]]:
    require_engine("postgresql")
    databases = PostgresDatabases()
    try:
        primary, replica = databases.create(), databases.create()
        load(primary, tmp_path / "primary.jsonl", ["On the primary"])
        load(replica, tmp_path / "replica.jsonl", ["On the replica", "Also on the replica"])
        yield primary, replica
    finally:
        databases.drop_all()


def test_data_is_read_from_the_replica_and_consent_from_the_primary(
    primary_and_replica: tuple[str, str],
) -> None:
    primary, replica = primary_and_replica
    settings = Settings(
        _env_file=None, database_url=primary, read_database_url=replica, data_version_ttl=0
    )
    with TestClient(create_app(settings)) as client:
        listed = client.get("/publications?fields=title").json()
        assert listed["results"] == [{"title": "On the replica"}, {"title": "Also on the replica"}]
        assert client.get("/ready").status_code == 200

        created = client.post("/consent", json={"policy_version": POLICY_VERSION, "choices": {}})
        assert created.status_code == 201, created.text
        # Read back at once, from where it was written.
        again = client.get(created.headers["location"])
        assert again.status_code == 200, again.text
        assert again.json()["id"] == created.json()["id"]

    counts = {}
    for name, url in (("primary", primary), ("replica", replica)):
        engine = create_engine(url)
        with engine.connect() as conn:
            counts[name] = conn.execute(text("SELECT count(*) FROM consent")).scalar_one()
        engine.dispose()
    assert counts == {"primary": 1, "replica": 0}
