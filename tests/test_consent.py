"""Cookie consent (issue 3): the policy, records, history, strict input, idempotency, rate
limits, privacy, purge, the append-only history, CORS and the settings behind them.

Every HTTP test builds its own app on a fresh database (SQLite and PostgreSQL) with the settings
it needs, and fixes `app.state.clock` so that timestamps in answers are known exactly.
"""

import datetime as dt
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import ValidationError
from sqlalchemy import MetaData, String, Table, cast, delete, func, inspect, select, text
from sqlalchemy.exc import IntegrityError, ProgrammingError

from app.core.config import PROJECT_ROOT, Settings
from app.core.ratelimit import RateLimiter
from app.main import create_app
from app.models.tables import CONSENT, CONSENT_STATE, IDEMPOTENCY_KEY
from app.queries.consent import add_state, create_consent, remember_idempotency_key
from app.seed.page import policy_version
from app.seed.policy import PolicyError, load_policy
from tests.conftest import Database, require_redis
from tests.support import answer_headers, body_headers

POLICY_FILE = PROJECT_ROOT / "seed_data" / "consent-policy.json"
POLICY: dict[str, Any] = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
VERSION: str = POLICY["version"]

# The clock of every app in these tests (unless a test moves it): microseconds included, so
# that a timestamp that loses them on the way through the database shows.
NOW = dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
NOW_TEXT = "2026-03-01T12:30:15.123456Z"
DAY = dt.timedelta(days=1)
LIFETIME = 182 * DAY  # the default consent_lifetime_days
MAX_BODY = 16 * 1024

PUBAPI = Path(sys.executable).parent / "pubapi"
APPEND_ONLY = (
    "consent_state is append-only: add a new state instead of changing or deleting one "
    "(purge deletes whole consent records)"
)
CONSENT_TABLES = (CONSENT, CONSENT_STATE, IDEMPOTENCY_KEY)

# What identifies a visitor, sent with writes and never to be found in the database.
IDENTIFYING_HEADERS = {
    "X-Forwarded-For": "203.0.113.77",
    "User-Agent": "Distinctive-Agent/9.9 (pubapi-test)",
    "Referer": "https://referrer.example/page",
}
IDENTIFYING_NEEDLES = ["203.0.113.77", "Distinctive-Agent", "referrer.example", "testclient"]

SITE = "https://site.example"
EVIL = "https://evil.example"

VARY = "Accept-Encoding, Origin"
JSON_HEADERS = {"content-type": "application/json", "vary": VARY, "cache-control": "no-store"}
PROBLEM_HEADERS = {
    "content-type": "application/problem+json",
    "vary": VARY,
    "cache-control": "no-store",
}


# --- apps, clients and time ------------------------------------------------------------------


class Clock:
    """A clock the test sets: `app.state.clock` returns `now`."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def consent_app(db: Database, clock: Clock | None = None, **settings: Any) -> FastAPI:
    """An app on `db` with `settings` changed; rate limits out of the way unless asked for."""
    update = {"consent_rate_limit": "1000/minute", **settings}
    app = create_app(db.settings().model_copy(update=update))
    app.state.clock = clock if clock is not None else Clock()
    return app


@contextmanager
def consent_client(
    db: Database, clock: Clock | None = None, **settings: Any
) -> Iterator[TestClient]:
    with TestClient(consent_app(db, clock, **settings)) as client:
        yield client


# --- what the API answers --------------------------------------------------------------------


def choices(analytics: bool = False, multimedia: bool = False) -> dict[str, bool]:
    """Choices as the API answers them: every category, essential always on."""
    return {"essential": True, "analytics": analytics, "multimedia": multimedia}


def iso(moment: dt.datetime) -> str:
    """A UTC timestamp as the API writes it: ISO 8601 ending in Z."""
    assert moment.utcoffset() == dt.timedelta(0)
    return moment.replace(tzinfo=None).isoformat() + "Z"


def record(
    consent_id: str,
    picked: dict[str, bool],
    at: dt.datetime = NOW,
    *,
    lifetime: dt.timedelta = LIFETIME,
    version: str = VERSION,
) -> dict[str, Any]:
    return {
        "id": consent_id,
        "policy_version": version,
        "choices": picked,
        "recorded_at": iso(at),
        "expires_at": iso(at + lifetime),
    }


def status(
    consent_id: str,
    picked: dict[str, bool],
    at: dt.datetime = NOW,
    *,
    reason: str | None = None,
    version: str = VERSION,
) -> dict[str, Any]:
    return {
        **record(consent_id, picked, at, version=version),
        "valid": reason is None,
        "reason": reason,
    }


def state(
    seq: int, picked: dict[str, bool], at: dt.datetime = NOW, *, version: str = VERSION
) -> dict[str, Any]:
    return {
        "seq": seq,
        "policy_version": version,
        "choices": picked,
        "recorded_at": iso(at),
        "expires_at": iso(at + LIFETIME),
    }


def problem(status_code: int, title: str, detail: str) -> dict[str, Any]:
    return {"type": "about:blank", "title": title, "status": status_code, "detail": detail}


def invalid(
    loc: list[str | int], msg: str, detail: str, *, status_code: int = 422
) -> dict[str, Any]:
    titles = {413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content"}
    return {
        **problem(status_code, titles[status_code], detail),
        "errors": [{"loc": loc, "msg": msg}],
    }


def unknown(consent_id: str) -> dict[str, Any]:
    return problem(404, "Not Found", f"No consent record with id {consent_id}.")


def assert_answer(
    response: Response,
    status_code: int,
    body: Any,
    headers: dict[str, str] | None = None,
    *,
    kind: dict[str, str] = JSON_HEADERS,
) -> None:
    """Status, whole body and every header of a consent answer."""
    assert response.status_code == status_code, response.text[:400]
    assert response.json() == body
    expected = {**body_headers(response), **kind, **(headers or {})}
    assert answer_headers(response) == expected


def assert_problem(
    response: Response, status_code: int, body: Any, headers: dict[str, str] | None = None
) -> None:
    assert_answer(response, status_code, body, headers, kind=PROBLEM_HEADERS)


# --- requests ---------------------------------------------------------------------------------


def consent_body(picked: dict[str, Any], version: str = VERSION) -> dict[str, Any]:
    return {"policy_version": version, "choices": picked}


def post(
    client: TestClient, picked: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    return client.post("/consent", json=consent_body(picked), headers=headers)


def put(
    client: TestClient,
    consent_id: str,
    picked: dict[str, Any],
    headers: dict[str, str] | None = None,
    version: str = VERSION,
) -> Response:
    return client.put(f"/consent/{consent_id}", json=consent_body(picked, version), headers=headers)


def created(client: TestClient, picked: dict[str, Any] | None = None) -> str:
    response = post(client, picked or {})
    assert response.status_code == 201, response.text[:400]
    consent_id: str = response.json()["id"]
    return consent_id


def history(client: TestClient, consent_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/consent/{consent_id}/history", params={"limit": 200})
    assert response.status_code == 200, response.text[:400]
    body = response.json()
    assert body["meta"] == {
        "total": len(body["results"]),
        "limit": 200,
        "offset": 0,
        "next_cursor": None,
    }
    results: list[dict[str, Any]] = body["results"]
    return results


# --- the database -----------------------------------------------------------------------------


def counts(db: Database) -> dict[str, int]:
    engine = db.engine()
    try:
        with engine.connect() as conn:
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in CONSENT_TABLES
            }
    finally:
        engine.dispose()


def nothing(records: int = 0, states: int = 0, keys: int = 0) -> dict[str, int]:
    return {"consent": records, "consent_state": states, "idempotency_key": keys}


def rows(db: Database, table: Table) -> list[dict[str, Any]]:
    """Every row of `table`, in primary-key order."""
    engine = db.engine()
    try:
        with engine.connect() as conn:
            query = select(table).order_by(*table.primary_key.columns)
            return [dict(row._mapping) for row in conn.execute(query)]
    finally:
        engine.dispose()


def dump(db: Database) -> str:
    """Every row of every table of the database, every column cast to text by the engine."""
    engine = db.engine()
    try:
        with engine.connect() as conn:
            lines = []
            for name in sorted(inspect(conn).get_table_names()):
                table = Table(name, MetaData(), autoload_with=conn)
                query = select(*(cast(column, String) for column in table.columns))
                for row in conn.execute(query):
                    lines.append(f"{name}: " + " | ".join(str(value) for value in row))
            return "\n".join(lines)
    finally:
        engine.dispose()


# --- the policy -------------------------------------------------------------------------------


def test_policy_is_the_seed_file(empty_db: Database) -> None:
    with consent_client(empty_db) as client:
        response = client.get("/consent/policy")
    assert_answer(response, 200, POLICY)


def write_policy(path: Path, **texts: Any) -> dict[str, Any]:
    """The seed policy with `texts` changed, under its correctly recomputed version."""
    changed = {key: value for key, value in POLICY.items() if key != "version"} | texts
    policy = {"version": policy_version(changed), **changed}
    path.write_text(json.dumps(policy, indent=2), encoding="utf-8")
    return policy


def changed_banner() -> dict[str, Any]:
    return {"banner": POLICY["banner"] + " We have updated our partners."}


def changed_category() -> dict[str, Any]:
    categories = [dict(category) for category in POLICY["categories"]]
    categories[1]["description"] = "Do you accept audience measurement cookies?"
    return {"categories": categories}


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(changed_banner(), id="banner"),
        pytest.param({"settings_intro": "Choose your cookies."}, id="settings-intro"),
        pytest.param(changed_category(), id="category-description"),
    ],
)
def test_load_policy_refuses_a_changed_text_under_the_old_version(
    tmp_path: Path, changes: dict[str, Any]
) -> None:
    path = tmp_path / "consent-policy.json"
    new_version = write_policy(path, **changes)["version"]
    tampered = {**json.loads(path.read_text(encoding="utf-8")), "version": VERSION}
    path.write_text(json.dumps(tampered), encoding="utf-8")
    message = (
        f"{path}: version {VERSION!r} does not match its texts; a changed text needs the new "
        f"version {new_version!r}"
    )
    assert new_version != VERSION
    with pytest.raises(PolicyError) as refused:
        load_policy(path)
    assert str(refused.value) == message
    # An app does not start on it either.
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        consent_policy_path=path,
    )
    with pytest.raises(PolicyError) as refused_by_app:
        create_app(settings)
    assert str(refused_by_app.value) == message


def test_load_policy_takes_a_changed_text_under_its_new_version(tmp_path: Path) -> None:
    path = tmp_path / "consent-policy.json"
    policy = write_policy(path, **changed_banner())
    assert load_policy(path).model_dump() == policy


# --- POST /consent ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "answered"),
    [
        pytest.param({"analytics": True}, choices(analytics=True), id="omitted-is-false"),
        pytest.param({}, choices(), id="refusal"),
        pytest.param(
            {"essential": True, "analytics": False, "multimedia": True},
            choices(multimedia=True),
            id="all-explicit",
        ),
    ],
)
def test_post_records_a_consent(
    empty_db: Database, sent: dict[str, bool], answered: dict[str, bool]
) -> None:
    with consent_client(empty_db) as client:
        response = post(client, sent)
    consent_id = response.json()["id"]
    assert uuid.UUID(consent_id).version == 4
    assert str(uuid.UUID(consent_id)) == consent_id
    assert_answer(
        response, 201, record(consent_id, answered), {"location": f"/consent/{consent_id}"}
    )
    assert response.json()["recorded_at"] == NOW_TEXT
    assert response.json()["expires_at"] == "2026-08-30T12:30:15.123456Z"
    assert counts(empty_db) == nothing(1, 1)
    assert rows(empty_db, CONSENT) == [{"id": uuid.UUID(consent_id), "created_at": NOW}]
    assert rows(empty_db, CONSENT_STATE) == [
        {
            "consent_id": uuid.UUID(consent_id),
            "seq": 1,
            "policy_version": VERSION,
            "choices": answered,
            "recorded_at": NOW,
            "expires_at": NOW + LIFETIME,
        }
    ]


def test_post_ids_are_unguessable(empty_db: Database) -> None:
    with consent_client(empty_db) as client:
        ids = [created(client) for _ in range(5)]
    assert len(set(ids)) == 5
    assert [uuid.UUID(consent_id).version for consent_id in ids] == [4] * 5


def test_lifetime_is_configurable_up_to_13_months(empty_db: Database) -> None:
    with consent_client(empty_db, consent_lifetime_days=395) as client:
        response = post(client, {})
    consent_id = response.json()["id"]
    expected = record(consent_id, choices(), lifetime=395 * DAY)
    assert_answer(response, 201, expected, {"location": f"/consent/{consent_id}"})
    assert response.json()["expires_at"] == "2027-03-31T12:30:15.123456Z"


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_json_with_a_charset_is_taken(empty_db: Database, method: str) -> None:
    clock = Clock()
    with consent_client(empty_db, clock) as client:
        url, _ = write_target(client, method)
        clock.now = NOW + DAY
        response = client.request(
            method,
            url,
            content=json.dumps(consent_body({"multimedia": True})),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
    consent_id = response.json()["id"]
    if method == "POST":
        expected = record(consent_id, choices(multimedia=True), NOW + DAY)
        assert_answer(response, 201, expected, {"location": f"/consent/{consent_id}"})
        assert counts(empty_db) == nothing(1, 1)
    else:
        assert_answer(response, 200, status(consent_id, choices(multimedia=True), NOW + DAY))
        assert counts(empty_db) == nothing(1, 2)


# --- strict input: 422, 415, 413, and nothing written -----------------------------------------


def raw(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def bad_choice(name: str, value: Any) -> Any:
    return pytest.param(
        raw(policy_version=VERSION, choices={name: value}),
        ["body", "choices", name],
        "Input should be a valid boolean",
        f"choices.{name}: Input should be a valid boolean",
        id=f"{name}-{json.dumps(value)}",
    )


NOT_AN_OBJECT = "Input should be a valid dictionary or object to extract fields from"
OUTDATED = (
    f"outdated or unknown policy version '0123456789ab'; the current one is {VERSION!r} "
    "(GET /consent/policy)"
)
ESSENTIAL = "essential cookies are always on and cannot be refused"
EXTRA = "Extra inputs are not permitted"

INVALID_BODIES = [
    bad_choice("analytics", "yes"),
    bad_choice("analytics", 1),
    bad_choice("analytics", None),
    bad_choice("multimedia", "true"),
    bad_choice("multimedia", 0),
    bad_choice("essential", "yes"),
    pytest.param(
        raw(policy_version=VERSION, choices={"essential": False, "analytics": True}),
        ["body", "choices", "essential"],
        ESSENTIAL,
        f"choices.essential: {ESSENTIAL}",
        id="essential-false",
    ),
    pytest.param(
        raw(policy_version=VERSION, choices={"analytics": True, "advertising": False}),
        ["body", "choices", "advertising"],
        EXTRA,
        f"choices.advertising: {EXTRA}",
        id="unknown-category",
    ),
    pytest.param(
        raw(policy_version=VERSION, choices={}, visitor="alice"),
        ["body", "visitor"],
        EXTRA,
        f"visitor: {EXTRA}",
        id="unknown-field",
    ),
    pytest.param(
        raw(choices={"analytics": True}),
        ["body", "policy_version"],
        "Field required",
        "policy_version: Field required",
        id="missing-policy-version",
    ),
    pytest.param(
        raw(policy_version=VERSION),
        ["body", "choices"],
        "Field required",
        "choices: Field required",
        id="missing-choices",
    ),
    pytest.param(
        raw(policy_version="0123456789ab", choices={}),
        ["body", "policy_version"],
        OUTDATED,
        f"policy_version: {OUTDATED}",
        id="outdated-policy-version",
    ),
    pytest.param(
        raw(policy_version=VERSION, choices=["analytics"]),
        ["body", "choices"],
        NOT_AN_OBJECT,
        f"choices: {NOT_AN_OBJECT}",
        id="choices-not-an-object",
    ),
    pytest.param(
        f'{{"policy_version": "{VERSION}",}}'.encode(),
        ["body"],
        "invalid JSON at character 34: Expecting property name enclosed in double quotes",
        "body: invalid JSON at character 34: Expecting property name enclosed in double quotes",
        id="malformed-json",
    ),
    pytest.param(b'["analytics"]', ["body"], NOT_AN_OBJECT, f"body: {NOT_AN_OBJECT}", id="array"),
    pytest.param(b'"consent"', ["body"], NOT_AN_OBJECT, f"body: {NOT_AN_OBJECT}", id="string"),
    pytest.param(b"", ["body"], "Field required", "body: Field required", id="empty"),
]


def write_target(client: TestClient, method: str) -> tuple[str, dict[str, int]]:
    """Where a write of `method` goes (a PUT needs a record) and what the database then holds."""
    if method == "POST":
        return "/consent", nothing()
    return f"/consent/{created(client, {'analytics': True})}", nothing(1, 1)


METHODS = ["POST", "PUT"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("content", "loc", "msg", "detail"), INVALID_BODIES)
def test_invalid_body_is_422_and_writes_nothing(
    empty_db: Database,
    method: str,
    content: bytes,
    loc: list[str | int],
    msg: str,
    detail: str,
) -> None:
    with consent_client(empty_db) as client:
        url, before = write_target(client, method)
        response = client.request(
            method, url, content=content, headers={"Content-Type": "application/json"}
        )
    assert_problem(response, 422, invalid(loc, msg, detail))
    assert counts(empty_db) == before


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded"])
def test_non_json_content_type_is_415_and_writes_nothing(
    empty_db: Database, method: str, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    with consent_client(empty_db) as client:
        url, before = write_target(client, method)
        response = client.request(
            method, url, content=raw(**consent_body({"multimedia": True})), headers=headers
        )
    assert response.request.headers.get("content-type") == content_type
    msg = f"must be application/json, not {content_type or 'missing'}"
    expected = invalid(["header", "Content-Type"], msg, f"Content-Type: {msg}", status_code=415)
    assert_problem(response, 415, expected)
    assert counts(empty_db) == before


def padded(size: int) -> bytes:
    """A valid consent body, padded with JSON whitespace to exactly `size` bytes."""
    body = raw(**consent_body({"analytics": True}))
    return body + b" " * (size - len(body))


def in_chunks(content: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]


def send_sized(client: TestClient, method: str, url: str, size: int, chunked: bool) -> Response:
    content = padded(size)
    response = client.request(
        method,
        url,
        content=in_chunks(content) if chunked else content,
        headers={"Content-Type": "application/json"},
    )
    # The request really took the path under test: declared length, or chunked without one.
    sent = response.request.headers
    if chunked:
        assert (sent.get("transfer-encoding"), sent.get("content-length")) == ("chunked", None)
    else:
        assert (sent.get("transfer-encoding"), sent.get("content-length")) == (None, str(size))
    return response


TOO_LARGE = invalid(
    ["body"],
    f"larger than {MAX_BODY} bytes",
    f"body: larger than {MAX_BODY} bytes",
    status_code=413,
)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_over_16_kib_is_413_and_writes_nothing(
    empty_db: Database, method: str, chunked: bool
) -> None:
    with consent_client(empty_db) as client:
        url, before = write_target(client, method)
        response = send_sized(client, method, url, MAX_BODY + 1, chunked)
    assert_problem(response, 413, TOO_LARGE)
    assert counts(empty_db) == before


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_of_exactly_16_kib_is_taken(empty_db: Database, method: str, chunked: bool) -> None:
    clock = Clock()
    with consent_client(empty_db, clock) as client:
        url, before = write_target(client, method)
        clock.now = NOW + DAY
        response = send_sized(client, method, url, MAX_BODY, chunked)
    consent_id = response.json()["id"]
    if method == "POST":
        expected = record(consent_id, choices(analytics=True), NOW + DAY)
        assert_answer(response, 201, expected, {"location": f"/consent/{consent_id}"})
        assert counts(empty_db) == nothing(1, 1)
    else:
        # The same choices as the record's: a PUT that changes nothing.
        assert_answer(response, 200, status(consent_id, choices(analytics=True), NOW))
        assert counts(empty_db) == before


# --- GET /consent/{id} ------------------------------------------------------------------------


def test_get_is_valid_until_the_record_expires(empty_db: Database) -> None:
    clock = Clock()
    with consent_client(empty_db, clock) as client:
        consent_id = created(client, {"analytics": True})
        picked = choices(analytics=True)
        answers = []
        for now in [NOW, NOW + LIFETIME - dt.timedelta(microseconds=1), NOW + LIFETIME]:
            clock.now = now
            answers.append(client.get(f"/consent/{consent_id}"))
        clock.now = NOW + 400 * DAY
        long_after = client.get(f"/consent/{consent_id}")
    valid, last_valid, expired = answers
    assert_answer(valid, 200, status(consent_id, picked))
    assert_answer(last_valid, 200, status(consent_id, picked))
    assert_answer(expired, 200, status(consent_id, picked, reason="expired"))
    assert_answer(long_after, 200, status(consent_id, picked, reason="expired"))


@pytest.mark.parametrize("sent", [{}, {"essential": True, "analytics": False, "multimedia": False}])
def test_a_refusal_is_a_valid_answer(empty_db: Database, sent: dict[str, bool]) -> None:
    with consent_client(empty_db) as client:
        consent_id = created(client, sent)
        response = client.get(f"/consent/{consent_id}")
    assert_answer(response, 200, status(consent_id, choices()))


def test_a_new_policy_version_invalidates_earlier_answers(
    empty_db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "consent-policy.json"
    new_policy = write_policy(path, **changed_banner())
    new_version = new_policy["version"]
    assert new_version != VERSION
    clock = Clock()
    with consent_client(empty_db, clock) as old_site:
        consent_id = created(old_site, {"analytics": True})
    with consent_client(empty_db, clock, consent_policy_path=path) as client:
        assert_answer(client.get("/consent/policy"), 200, new_policy)
        stale = client.get(f"/consent/{consent_id}")
        # The visitor answers the new policy, with the same choices: a new state.
        clock.now = NOW + DAY
        renewed = put(client, consent_id, {"analytics": True}, version=new_version)
        read_back = client.get(f"/consent/{consent_id}")
        states = history(client, consent_id)
        # Expired and of an old policy: expiry is the reason given.
        clock.now = NOW + DAY + LIFETIME
        expired = client.get(f"/consent/{consent_id}")
    picked = choices(analytics=True)
    assert_answer(stale, 200, status(consent_id, picked, reason="policy_changed"))
    new_status = status(consent_id, picked, NOW + DAY, version=new_version)
    assert_answer(renewed, 200, new_status)
    assert_answer(read_back, 200, new_status)
    assert states == [state(1, picked), state(2, picked, NOW + DAY, version=new_version)]
    expected = status(consent_id, picked, NOW + DAY, version=new_version, reason="expired")
    assert_answer(expired, 200, expected)


def test_old_policy_answer_that_expired_is_expired(empty_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "consent-policy.json"
    write_policy(path, settings_intro="Choose your cookies.")
    clock = Clock()
    with consent_client(empty_db, clock) as old_site:
        consent_id = created(old_site)
    clock.now = NOW + LIFETIME
    with consent_client(empty_db, clock, consent_policy_path=path) as client:
        response = client.get(f"/consent/{consent_id}")
    assert_answer(response, 200, status(consent_id, choices(), reason="expired"))


CONSENT_ROUTES = [
    pytest.param("GET", "/consent/{}", id="get"),
    pytest.param("PUT", "/consent/{}", id="put"),
    pytest.param("GET", "/consent/{}/history", id="history"),
]


@pytest.mark.parametrize(("method", "route"), CONSENT_ROUTES)
@pytest.mark.parametrize(
    ("bad_id", "msg"),
    [
        pytest.param(
            "not-a-uuid",
            "Input should be a valid UUID, invalid character: found `n` at 0",
            id="not-a-uuid",
        ),
        pytest.param("1234", "Input should be a valid UUID, invalid length: found 4", id="short"),
    ],
)
def test_malformed_id_is_422(
    empty_db: Database, method: str, route: str, bad_id: str, msg: str
) -> None:
    with consent_client(empty_db) as client:
        created(client)
        response = client.request(method, route.format(bad_id), json=consent_body({}))
    assert_problem(response, 422, invalid(["path", "consent_id"], msg, f"consent_id: {msg}"))
    assert counts(empty_db) == nothing(1, 1)


@pytest.mark.parametrize(("method", "route"), CONSENT_ROUTES)
def test_unknown_id_is_404(empty_db: Database, method: str, route: str) -> None:
    missing = str(uuid.uuid4())
    with consent_client(empty_db) as client:
        created(client)
        response = client.request(method, route.format(missing), json=consent_body({}))
    assert_problem(response, 404, unknown(missing))
    assert counts(empty_db) == nothing(1, 1)


# --- PUT /consent/{id} ------------------------------------------------------------------------


def test_put_changes_choices_and_keeps_the_old_state(empty_db: Database) -> None:
    clock = Clock()
    with consent_client(empty_db, clock) as client:
        consent_id = created(client, {"analytics": True})
        first = history(client, consent_id)
        clock.now = NOW + 3 * DAY
        response = put(client, consent_id, {"analytics": False, "multimedia": True})
        read_back = client.get(f"/consent/{consent_id}")
        states = history(client, consent_id)
    changed = status(consent_id, choices(multimedia=True), NOW + 3 * DAY)
    assert_answer(response, 200, changed)
    assert_answer(read_back, 200, changed)
    assert first == [state(1, choices(analytics=True))]
    assert states == [*first, state(2, choices(multimedia=True), NOW + 3 * DAY)]
    assert counts(empty_db) == nothing(1, 2)


def test_withdrawal_is_one_put_and_is_recorded(empty_db: Database) -> None:
    clock = Clock()
    with consent_client(empty_db, clock) as client:
        consent_id = created(client, {"analytics": True, "multimedia": True})
        clock.now = NOW + DAY
        response = put(client, consent_id, {})
        read_back = client.get(f"/consent/{consent_id}")
        states = history(client, consent_id)
    withdrawn = status(consent_id, choices(), NOW + DAY)
    assert_answer(response, 200, withdrawn)
    assert_answer(read_back, 200, withdrawn)
    assert states == [
        state(1, choices(analytics=True, multimedia=True)),
        state(2, choices(), NOW + DAY),
    ]


@pytest.mark.parametrize(
    "same",
    [
        pytest.param({"analytics": True}, id="as-sent"),
        pytest.param({"essential": True, "analytics": True, "multimedia": False}, id="explicit"),
    ],
)
def test_put_that_changes_nothing_adds_no_state(empty_db: Database, same: dict[str, bool]) -> None:
    clock = Clock()
    with consent_client(empty_db, clock) as client:
        consent_id = created(client, {"analytics": True})
        clock.now = NOW + 10 * DAY
        response = put(client, consent_id, same)
        states = history(client, consent_id)
    # The current state is answered as it is: recorded at NOW, not re-stamped.
    assert_answer(response, 200, status(consent_id, choices(analytics=True)))
    assert states == [state(1, choices(analytics=True))]
    assert counts(empty_db) == nothing(1, 1)


def test_put_of_the_same_choices_on_an_expired_record_adds_a_state(empty_db: Database) -> None:
    clock = Clock()
    with consent_client(empty_db, clock) as client:
        consent_id = created(client, {"multimedia": True})
        clock.now = NOW + LIFETIME
        expired = client.get(f"/consent/{consent_id}")
        response = put(client, consent_id, {"multimedia": True})
        states = history(client, consent_id)
    picked = choices(multimedia=True)
    assert_answer(expired, 200, status(consent_id, picked, reason="expired"))
    assert_answer(response, 200, status(consent_id, picked, NOW + LIFETIME))
    assert states == [state(1, picked), state(2, picked, NOW + LIFETIME)]


# --- GET /consent/{id}/history ----------------------------------------------------------------


def three_states(client: TestClient, clock: Clock) -> tuple[str, list[dict[str, Any]]]:
    consent_id = created(client, {"analytics": True})
    clock.now = NOW + DAY
    assert put(client, consent_id, {"multimedia": True}).status_code == 200
    clock.now = NOW + 2 * DAY
    assert put(client, consent_id, {}).status_code == 200
    return consent_id, [
        state(1, choices(analytics=True)),
        state(2, choices(multimedia=True), NOW + DAY),
        state(3, choices(), NOW + 2 * DAY),
    ]


def test_history_lists_every_state_oldest_first(empty_db: Database) -> None:
    clock = Clock()
    with consent_client(empty_db, clock) as client:
        consent_id, states = three_states(client, clock)
        other = created(client, {"multimedia": True})
        response = client.get(f"/consent/{consent_id}/history")
        other_response = client.get(f"/consent/{other}/history")
    meta = {"total": 3, "limit": 25, "offset": 0, "next_cursor": None}
    assert_answer(response, 200, {"results": states, "meta": meta})
    other_meta = {**meta, "total": 1}
    other_states = [state(1, choices(multimedia=True), NOW + 2 * DAY)]
    assert_answer(other_response, 200, {"results": other_states, "meta": other_meta})


def test_history_pages_with_cursors_and_offsets(empty_db: Database) -> None:
    clock = Clock()
    with consent_client(empty_db, clock) as client:
        consent_id, states = three_states(client, clock)
        path = f"/consent/{consent_id}/history"
        pages = []
        response = client.get(path, params={"limit": 1})
        pages.append(response)
        # Bounded, so that a cursor that never ends fails instead of looping.
        while (cursor := response.json()["meta"]["next_cursor"]) is not None and len(pages) < 5:
            response = client.get(path, params={"limit": 1, "cursor": cursor})
            pages.append(response)
        second_by_offset = client.get(path, params={"limit": 1, "offset": 1})
    assert len(pages) == 3
    for number, (page, expected) in enumerate(zip(pages, states, strict=True)):
        cursor = page.json()["meta"]["next_cursor"]
        last = number == len(states) - 1
        assert (cursor is None) is last
        meta = {"total": 3, "limit": 1, "offset": 0 if number == 0 else None, "next_cursor": cursor}
        link = (
            {}
            if last
            else {"link": f'<http://testserver{path}?limit=1&cursor={cursor}>; rel="next"'}
        )
        assert_answer(page, 200, {"results": [expected], "meta": meta}, link)
    offset_cursor = second_by_offset.json()["meta"]["next_cursor"]
    meta = {"total": 3, "limit": 1, "offset": 1, "next_cursor": offset_cursor}
    link = {"link": f'<http://testserver{path}?limit=1&cursor={offset_cursor}>; rel="next"'}
    assert_answer(second_by_offset, 200, {"results": [states[1]], "meta": meta}, link)


# --- Idempotency-Key ---------------------------------------------------------------------------


def test_same_key_and_body_replays_the_first_answer(empty_db: Database) -> None:
    clock = Clock()
    first_body = b'{"policy_version":"%s","choices":{"analytics":true,"multimedia":false}}' % (
        VERSION.encode()
    )
    # The same request, spelt otherwise: key order, whitespace, an explicit default.
    same_body = (
        b'{\n  "choices" : { "multimedia" : false, "essential": true,\t"analytics": true },\n'
        b'  "policy_version" : "%s"\n}' % VERSION.encode()
    )
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": "0b8f3c52-7f0e-4a53-9a0c-0f4b1d6e2a01",
    }
    with consent_client(empty_db, clock) as client:
        first = client.post("/consent", content=first_body, headers=headers)
        clock.now = NOW + dt.timedelta(minutes=5)
        replays = [
            client.post("/consent", content=body, headers=headers)
            for body in [first_body, same_body]
        ]
    consent_id = first.json()["id"]
    expected = record(consent_id, choices(analytics=True))
    for response in [first, *replays]:
        assert_answer(response, 201, expected, {"location": f"/consent/{consent_id}"})
    assert counts(empty_db) == nothing(1, 1, 1)


@pytest.mark.parametrize("key", ["retry-me", "1", "0b8f3c52-7f0e-4a53-9a0c"])
def test_an_idempotency_key_that_is_not_a_uuid_is_422(empty_db: Database, key: str) -> None:
    # A replay answers the record's id: a guessable key would hand one visitor's record to
    # another, so keys must be UUIDs.
    with consent_client(empty_db) as client:
        response = post(client, {"analytics": True}, {"Idempotency-Key": key})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert counts(empty_db) == nothing(0, 0, 0)


def test_same_key_with_another_body_is_422(empty_db: Database) -> None:
    headers = {"Idempotency-Key": "0b8f3c52-7f0e-4a53-9a0c-0f4b1d6e2a02"}
    with consent_client(empty_db) as client:
        first = post(client, {"analytics": True}, headers)
        response = post(client, {"analytics": False}, headers)
        replay = post(client, {"analytics": True}, headers)
    msg = "this key was already used with a different body; use a new key for a new request"
    assert_problem(
        response, 422, invalid(["header", "Idempotency-Key"], msg, f"Idempotency-Key: {msg}")
    )
    assert first.status_code == 201
    assert (replay.status_code, replay.json()) == (201, first.json())
    assert counts(empty_db) == nothing(1, 1, 1)


def test_different_keys_make_different_records(empty_db: Database) -> None:
    with consent_client(empty_db) as client:
        first = post(
            client, {"analytics": True}, {"Idempotency-Key": "0b8f3c52-7f0e-4a53-9a0c-0f4b1d6e2a0a"}
        )
        second = post(
            client, {"analytics": True}, {"Idempotency-Key": "0b8f3c52-7f0e-4a53-9a0c-0f4b1d6e2a0b"}
        )
        third = post(client, {"analytics": True})
    ids = [response.json()["id"] for response in (first, second, third)]
    assert len(set(ids)) == 3
    for consent_id, response in zip(ids, [first, second, third], strict=True):
        expected = record(consent_id, choices(analytics=True))
        assert_answer(response, 201, expected, {"location": f"/consent/{consent_id}"})
    assert counts(empty_db) == nothing(3, 3, 2)


# --- rate limiting ------------------------------------------------------------------------------


# The peer addresses of the test clients (TestClient's default, and a second client).
TEST_CLIENT = "testclient"
OTHER_CLIENT = "192.0.2.10"


def limiter_keys(url: str, secret: str, address: str = TEST_CLIENT) -> list[bytes]:
    """The Redis keys of the counters of the client at `address` under `secret`."""
    client_key = RateLimiter("1/minute", "memory://", secret).client_key(address)
    store = redis.Redis.from_url(url)
    try:
        return sorted(store.scan_iter(match=f"*{client_key}*"))
    finally:
        store.close()


@pytest.fixture(params=["memory", "redis"])
def limit_storage(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A rate-limit storage URL, and a secret of this test alone so its counters are its own."""
    secret = f"consent-test-{uuid.uuid4().hex}"
    if request.param == "memory":
        yield "memory://", secret
        return
    url = require_redis()
    yield url, secret
    keys = [
        key for address in (TEST_CLIENT, OTHER_CLIENT) for key in limiter_keys(url, secret, address)
    ]
    if keys:
        store = redis.Redis.from_url(url)
        store.delete(*keys)
        store.close()


def three_a_minute(storage: str, secret: str) -> dict[str, Any]:
    """Settings for a limit of 3 consent writes a minute, counted in `storage`."""
    return {
        "consent_rate_limit": "3/minute",
        "rate_limit_storage_url": storage,
        "secret_key": secret,
    }


def assert_rate_limited(response: Response) -> None:
    retry_after = int(response.headers["retry-after"])
    assert retry_after in range(1, 61)
    detail = (
        "Too many consent writes from this client: at most 3 per 1 minute. "
        f"Retry in {retry_after} s."
    )
    headers = {"retry-after": str(retry_after)}
    assert_problem(response, 429, problem(429, "Too Many Requests", detail), headers)


def test_fourth_write_is_429_and_reads_are_not_limited(
    empty_db: Database, limit_storage: tuple[str, str]
) -> None:
    storage, secret = limit_storage
    limits = three_a_minute(storage, secret)
    with consent_client(empty_db, **limits) as client:
        consent_id = created(client, {"analytics": True})
        assert put(client, consent_id, {"multimedia": True}).status_code == 200
        assert put(client, consent_id, {}).status_code == 200
        refused = [
            post(client, {"analytics": True}),
            put(client, consent_id, {"analytics": True}),
            # Another X-Forwarded-For is the same client: the header is not trusted.
            post(client, {}, {"X-Forwarded-For": "198.51.100.9"}),
        ]
        reads = [
            client.get(path)
            for _ in range(5)
            for path in [
                "/consent/policy",
                f"/consent/{consent_id}",
                f"/consent/{consent_id}/history",
            ]
        ]
    for response in refused:
        assert_rate_limited(response)
    assert [response.status_code for response in reads] == [200] * 15
    assert counts(empty_db) == nothing(1, 3)
    if storage != "memory://":
        assert len(limiter_keys(storage, secret)) == 1


def test_each_client_has_its_own_limit(empty_db: Database, limit_storage: tuple[str, str]) -> None:
    storage, secret = limit_storage
    limits = three_a_minute(storage, secret)
    app = consent_app(empty_db, **limits)
    with (
        TestClient(app) as first,
        TestClient(app, client=(OTHER_CLIENT, 50000)) as second,
    ):
        first_answers = [post(first, {}) for _ in range(4)]
        second_answers = [post(second, {}) for _ in range(4)]
    assert [r.status_code for r in first_answers] == [201, 201, 201, 429]
    assert [r.status_code for r in second_answers] == [201, 201, 201, 429]
    assert_rate_limited(first_answers[3])
    assert_rate_limited(second_answers[3])
    assert counts(empty_db) == nothing(6, 6)


def test_apps_share_the_limit_only_through_redis(
    empty_db: Database, limit_storage: tuple[str, str]
) -> None:
    storage, secret = limit_storage
    shared = storage != "memory://"
    limits = three_a_minute(storage, secret)
    with (
        TestClient(consent_app(empty_db, **limits)) as first,
        TestClient(consent_app(empty_db, **limits)) as second,
    ):
        answers = [post(first, {}), post(first, {}), post(second, {}), post(second, {})]
        last_on_first = post(first, {})
        # Past three on one app: refused whatever the storage.
        past_three = post(first, {})
    codes = [response.status_code for response in answers]
    if shared:
        # Two server processes, one counter: the fourth write overall is refused, on either.
        assert codes == [201, 201, 201, 429]
        assert_rate_limited(answers[3])
        assert_rate_limited(last_on_first)
        assert counts(empty_db) == nothing(3, 3)
    else:
        # Each process counts alone: three writes allowed on each.
        assert codes == [201, 201, 201, 201]
        assert last_on_first.status_code == 201
        assert counts(empty_db) == nothing(5, 5)
    assert_rate_limited(past_three)


# --- nothing identifying is stored --------------------------------------------------------------


def test_nothing_identifying_is_stored(empty_db: Database) -> None:
    clock = Clock()
    with consent_client(empty_db, clock) as client:
        response = post(
            client,
            {"analytics": True},
            {**IDENTIFYING_HEADERS, "Idempotency-Key": "0b8f3c52-7f0e-4a53-9a0c-0f4b1d6e2a11"},
        )
        consent_id = response.json()["id"]
        clock.now = NOW + DAY
        changed = put(client, consent_id, {"multimedia": True}, IDENTIFYING_HEADERS)
    assert (response.status_code, changed.status_code) == (201, 200)
    stored = dump(empty_db)
    for needle in IDENTIFYING_NEEDLES:
        assert needle not in stored
    # The dump saw the rows: the id is in the record, its two states and the idempotency key.
    stored_id = consent_id if empty_db.kind == "postgresql" else uuid.UUID(consent_id).hex
    assert stored.count(stored_id) == 4
    assert counts(empty_db) == nothing(1, 2, 1)


# --- pubapi consent purge -----------------------------------------------------------------------


def purge(db: Database, cwd: Path, retention_days: int) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PUBAPI_")}
    env.update(PUBAPI_DATABASE_URL=db.url, PUBAPI_CONSENT_RETENTION_DAYS=str(retention_days))
    return subprocess.run(
        [str(PUBAPI), "consent", "purge"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def seed_record(
    db: Database, *expiries: dt.datetime, key: str | None = None, lifetime: dt.timedelta = LIFETIME
) -> uuid.UUID:
    """A record whose states expire at `expiries` (in order), with an idempotency key."""
    engine = db.engine()
    try:
        with engine.begin() as conn:
            first = create_consent(conn, VERSION, choices(), expiries[0] - lifetime, lifetime)
            for seq, expiry in enumerate(expiries[1:], start=2):
                picked = choices(analytics=seq % 2 == 0)
                add_state(conn, first.consent_id, seq, VERSION, picked, expiry - lifetime, lifetime)
            if key is not None:
                remember_idempotency_key(
                    conn, key, f"hash-of-{key}", first.consent_id, first.recorded_at
                )
            return first.consent_id
    finally:
        engine.dispose()


def owner(row: dict[str, Any]) -> uuid.UUID:
    consent_id: uuid.UUID = row["id"] if "id" in row else row["consent_id"]
    return consent_id


def consent_rows(db: Database) -> dict[str, list[dict[str, Any]]]:
    return {table.name: rows(db, table) for table in CONSENT_TABLES}


PURGED = re.compile(
    r"deleted (?P<deleted>\d+) consent record\(s\) that expired before "
    r"(?P<horizon>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) \(retention: 30 days after expiry\)\n"
)


def run_purge(db: Database, cwd: Path) -> tuple[int, dt.datetime, dt.datetime, dt.datetime]:
    """Purge with 30 days of retention: deleted count, printed horizon, and real time around."""
    before = dt.datetime.now(dt.UTC)
    result = purge(db, cwd, 30)
    after = dt.datetime.now(dt.UTC)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    match = PURGED.fullmatch(result.stdout)
    assert match is not None, result.stdout
    horizon = dt.datetime.fromisoformat(match["horizon"])
    return int(match["deleted"]), horizon, before, after


def test_purge_deletes_only_records_past_the_retention_horizon(
    empty_db: Database, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC)
    horizon = now - 30 * DAY
    long_gone = seed_record(empty_db, now - 400 * DAY, key="key-long-gone")
    last_expired = seed_record(empty_db, now - 300 * DAY, now - 31 * DAY)
    just_outside = seed_record(empty_db, horizon - dt.timedelta(minutes=1), key="key-just-outside")
    renewed = seed_record(empty_db, now - 300 * DAY, now + 100 * DAY, key="key-renewed")
    just_inside = seed_record(empty_db, horizon + dt.timedelta(minutes=10), key="key-just-inside")
    current = seed_record(empty_db, now + 150 * DAY, now + 170 * DAY, now + 182 * DAY)
    kept = {renewed, just_inside, current}
    gone = {long_gone, last_expired, just_outside}
    before = consent_rows(empty_db)
    assert {owner(row) for row in before["consent"]} == kept | gone

    deleted, printed, started, ended = run_purge(empty_db, tmp_path)

    assert deleted == 3
    assert (started - 30 * DAY).replace(microsecond=0) <= printed <= ended - 30 * DAY
    after = consent_rows(empty_db)
    assert after == {
        name: [row for row in table_rows if owner(row) in kept]
        for name, table_rows in before.items()
    }
    assert sorted(row["key"] for row in after["idempotency_key"]) == [
        "key-just-inside",
        "key-renewed",
    ]
    assert counts(empty_db) == nothing(3, 1 + 2 + 3, 2)

    # Nothing more to do the second time.
    deleted_again, _, _, _ = run_purge(empty_db, tmp_path)
    assert deleted_again == 0
    assert consent_rows(empty_db) == after


def test_purge_goes_by_the_last_state_of_a_record(empty_db: Database, tmp_path: Path) -> None:
    """A record is as old as its current (last) state, even when an earlier, superseded state
    was given a longer lifetime (consent_lifetime_days was lowered in between)."""
    now = dt.datetime.now(dt.UTC)
    engine = empty_db.engine()
    with engine.begin() as conn:
        # Answered 400 days ago under a 395-day lifetime (would expire 5 days ago), changed a
        # day later under a 182-day lifetime: its answer expired 217 days ago.
        first = create_consent(conn, VERSION, choices(analytics=True), now - 400 * DAY, 395 * DAY)
        add_state(conn, first.consent_id, 2, VERSION, choices(), now - 399 * DAY, LIFETIME)
        survivor = create_consent(conn, VERSION, choices(), now - DAY, LIFETIME)
    engine.dispose()

    deleted, _, _, _ = run_purge(empty_db, tmp_path)

    assert [row["id"] for row in rows(empty_db, CONSENT)] == [survivor.consent_id]
    assert deleted == 1


# --- the history is append-only -----------------------------------------------------------------


@pytest.mark.parametrize(
    "assignment",
    [
        "policy_version = 'forged'",
        'choices = \'{"essential": true, "analytics": true, "multimedia": true}\'',
        "seq = 7",
    ],
)
def test_consent_state_refuses_updates(empty_db: Database, assignment: str) -> None:
    engine = empty_db.engine()
    try:
        with engine.begin() as conn:
            create_consent(conn, VERSION, choices(), NOW, LIFETIME)
        before = rows(empty_db, CONSENT_STATE)
        error = {"sqlite": IntegrityError, "postgresql": ProgrammingError}[empty_db.kind]
        with pytest.raises(error, match=re.escape(APPEND_ONLY)), engine.begin() as conn:
            conn.execute(text(f"UPDATE consent_state SET {assignment}"))
    finally:
        engine.dispose()
    assert rows(empty_db, CONSENT_STATE) == before


def test_consent_state_refuses_deleting_a_state_but_not_its_whole_record(
    empty_db: Database,
) -> None:
    engine = empty_db.engine()
    try:
        with engine.begin() as conn:
            kept = create_consent(conn, VERSION, choices(), NOW, LIFETIME)
            gone = create_consent(conn, VERSION, choices(), NOW, LIFETIME)
        before = rows(empty_db, CONSENT_STATE)
        error = {"sqlite": IntegrityError, "postgresql": ProgrammingError}[empty_db.kind]
        with pytest.raises(error, match=re.escape(APPEND_ONLY)), engine.begin() as conn:
            conn.execute(text("DELETE FROM consent_state"))
        assert rows(empty_db, CONSENT_STATE) == before
        with engine.begin() as conn:
            conn.execute(delete(CONSENT).where(CONSENT.c.id == gone.consent_id))
        with engine.connect() as conn:
            left = conn.execute(select(CONSENT_STATE.c.consent_id)).scalars().all()
    finally:
        engine.dispose()
    assert left == [kept.consent_id]


# --- CORS and caching ---------------------------------------------------------------------------


# (Starlette's CORS layer answers preflights itself, before compression could vary them.)
PREFLIGHT_VARY = (
    "Access-Control-Request-Headers, Access-Control-Request-Method, "
    "Access-Control-Request-Private-Network, Origin"
)
CONSENT_PREFLIGHT = {
    "vary": PREFLIGHT_VARY,
    "access-control-allow-methods": "GET, POST, PUT",
    "access-control-allow-headers": (
        "Accept, Accept-Language, Content-Language, Content-Type, Idempotency-Key, X-Request-ID"
    ),
    "access-control-max-age": "600",
    "cache-control": "no-store",
}


def preflight(client: TestClient, origin: str, method: str, headers: str) -> Response:
    return client.options(
        "/consent",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def test_preflight_admits_the_site_origin(empty_db: Database) -> None:
    with consent_client(empty_db, consent_origins=[SITE]) as client:
        response = preflight(client, SITE, "POST", "Content-Type, Idempotency-Key")
    assert response.status_code == 200
    assert response.text == "OK"
    assert answer_headers(response) == {
        **CONSENT_PREFLIGHT,
        "access-control-allow-origin": SITE,
        "content-length": "2",
        "content-type": "text/plain; charset=utf-8",
    }


@pytest.mark.parametrize(
    ("origin", "method", "headers", "reason", "allow_origin"),
    [
        pytest.param(EVIL, "POST", "Content-Type, Idempotency-Key", "origin", None, id="origin"),
        pytest.param(SITE, "DELETE", "Content-Type", "method", SITE, id="method"),
        pytest.param(SITE, "POST", "X-Visitor-Id", "headers", SITE, id="header"),
    ],
)
def test_preflight_refusal_is_a_problem(
    empty_db: Database,
    origin: str,
    method: str,
    headers: str,
    reason: str,
    allow_origin: str | None,
) -> None:
    with consent_client(empty_db, consent_origins=[SITE]) as client:
        response = preflight(client, origin, method, headers)
    body = problem(400, "Bad Request", f"CORS preflight refused: Disallowed CORS {reason}.")
    assert response.status_code == 400
    assert response.json() == body
    expected = {
        **CONSENT_PREFLIGHT,
        "content-length": str(len(response.content)),
        "content-type": "application/problem+json",
    }
    if allow_origin is not None:
        expected["access-control-allow-origin"] = allow_origin
    assert answer_headers(response) == expected


def test_consent_answers_carry_cors_only_for_the_site(empty_db: Database) -> None:
    with consent_client(empty_db, consent_origins=[SITE]) as client:
        from_evil = client.get("/consent/policy", headers={"Origin": EVIL})
        from_site = client.get("/consent/policy", headers={"Origin": SITE})
        posted = post(client, {}, {"Origin": SITE})
    exposed = {"access-control-expose-headers": "Location, Retry-After, X-Request-ID"}
    assert_answer(from_evil, 200, POLICY, exposed)
    assert_answer(from_site, 200, POLICY, {**exposed, "access-control-allow-origin": SITE})
    consent_id = posted.json()["id"]
    assert_answer(
        posted,
        201,
        record(consent_id, choices()),
        {**exposed, "access-control-allow-origin": SITE, "location": f"/consent/{consent_id}"},
    )


@pytest.mark.parametrize("origin", [SITE, EVIL])
def test_data_routes_stay_open_to_any_origin(empty_db: Database, origin: str) -> None:
    with consent_client(empty_db, consent_origins=[SITE]) as client:
        response = client.get("/publications", headers={"Origin": origin})
    assert response.status_code == 200
    assert response.json() == {
        "results": [],
        "meta": {"total": 0, "limit": 25, "offset": 0, "next_cursor": None},
    }
    headers = answer_headers(response)
    assert re.fullmatch(r'"[0-9a-f]{32}"', headers.pop("etag"))
    assert headers == {
        "content-length": str(len(response.content)),
        "content-type": "application/json",
        "access-control-allow-origin": "*",
        "access-control-expose-headers": "ETag, Link, Retry-After, X-Request-ID, X-Total-Count",
        "cache-control": "public, max-age=60",
        "vary": "Accept, Accept-Encoding, Origin",
    }


def test_consent_errors_are_not_cached_either(empty_db: Database) -> None:
    with consent_client(empty_db) as client:
        response = client.get("/consent/00000000-0000-4000-8000-000000000000/nothing")
    detail = "No resource at /consent/00000000-0000-4000-8000-000000000000/nothing."
    assert_problem(response, 404, problem(404, "Not Found", detail))


# --- settings -----------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No PUBAPI_* variable from the caller's environment."""
    for name in list(os.environ):
        if name.startswith("PUBAPI_"):
            monkeypatch.delenv(name)
    return monkeypatch


def refusal(**settings: Any) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, **settings)
    return [(error["loc"], error["msg"]) for error in refused.value.errors()]


NO_STAR = "Value error, consent routes answer the site's own origins only, not '*'"


@pytest.mark.parametrize("origins", ["*", f"{SITE},*", f'["{SITE}", "*"]'])
def test_settings_refuse_any_origin_for_consent(
    clean_env: pytest.MonkeyPatch, origins: str
) -> None:
    assert refusal(consent_origins=origins) == [(("consent_origins",), NO_STAR)]
    clean_env.setenv("PUBAPI_CONSENT_ORIGINS", origins)
    assert refusal() == [(("consent_origins",), NO_STAR)]


def test_settings_refuse_a_star_in_a_list(clean_env: pytest.MonkeyPatch) -> None:
    assert refusal(consent_origins=[SITE, "*"]) == [(("consent_origins",), NO_STAR)]


@pytest.mark.parametrize(
    "origins",
    [
        f"{SITE},https://www.site.example",
        f" {SITE} , https://www.site.example ,",
        f'["{SITE}", "https://www.site.example"]',
    ],
)
def test_settings_read_origins_from_the_environment(
    clean_env: pytest.MonkeyPatch, origins: str
) -> None:
    clean_env.setenv("PUBAPI_CONSENT_ORIGINS", origins)
    assert Settings(_env_file=None).consent_origins == [SITE, "https://www.site.example"]


def test_settings_default_to_no_consent_origin(clean_env: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).consent_origins == []


@pytest.mark.parametrize(
    ("days", "msg"),
    [
        (396, "Input should be less than or equal to 395"),
        (0, "Input should be greater than or equal to 1"),
    ],
)
def test_settings_refuse_a_lifetime_outside_13_months(
    clean_env: pytest.MonkeyPatch, days: int, msg: str
) -> None:
    assert refusal(consent_lifetime_days=days) == [(("consent_lifetime_days",), msg)]
    clean_env.setenv("PUBAPI_CONSENT_LIFETIME_DAYS", str(days))
    assert refusal() == [(("consent_lifetime_days",), msg)]


def test_settings_take_a_lifetime_of_395_days(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PUBAPI_CONSENT_LIFETIME_DAYS", "395")
    assert Settings(_env_file=None).consent_lifetime_days == 395


@pytest.mark.parametrize(
    ("rate", "msg"),
    [
        ("often", "Value error, not a rate limit: couldn't parse rate limit string 'often'"),
        ("3/fortnight", "Value error, not a rate limit: no granularity matched for fortnight"),
    ],
)
def test_settings_refuse_a_bad_rate_limit(
    clean_env: pytest.MonkeyPatch, rate: str, msg: str
) -> None:
    assert refusal(consent_rate_limit=rate) == [(("consent_rate_limit",), msg)]
    clean_env.setenv("PUBAPI_CONSENT_RATE_LIMIT", rate)
    assert refusal() == [(("consent_rate_limit",), msg)]


def test_settings_take_several_rate_limits(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PUBAPI_CONSENT_RATE_LIMIT", "5/second;100/hour")
    assert Settings(_env_file=None).consent_rate_limit == "5/second;100/hour"
