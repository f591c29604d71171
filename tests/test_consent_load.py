"""Under load, nothing lost: a live `pubapi serve` takes concurrent consent writes on each engine.

Numbers (REQUESTS = 496 requests per engine, the whole drive bounded to DRIVE_SECONDS = 30 s,
each request to REQUEST_SECONDS = 15 s; about 2 s of driving and 5 s in all on a laptop):

* 8 clients (one `httpx.AsyncClient` each), all talking to one server process at once;
* 80 plain POSTs (10 per client) and 8 Idempotency-Keys each POSTed by 4 clients at the same
  moment with the same body (32 POSTs): 88 records;
* 16 of those records are contested: 6 clients PUT each of them at the same moment with
  different choices (96 PUTs);
* each of the other 72 records is PUT twice in a row by one client, which reads it back after
  each PUT (144 PUTs, 144 GETs);
* the PUTs run while the contested rounds run, so readers and writers overlap throughout.

Then the database itself (not the API) must hold exactly what was answered: one record per
answered id, its states numbered 1..n, each answered state recorded exactly once, no state that
was not answered, and the server's log shows no "database is locked" and no traceback.
"""

import asyncio
import datetime as dt
import itertools
import json
import random
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from app.models.tables import CONSENT, CONSENT_STATE, IDEMPOTENCY_KEY
from tests.conftest import Database
from tests.test_live_server import clean_env, serving

CLIENTS = 8
PLAIN_POSTS_PER_CLIENT = 10
IDEMPOTENCY_KEYS = 8
SAME_KEY_SENDERS = 4
CONTESTED_RECORDS = 16
CONTENDERS = 6
PUTS_PER_RECORD = 2
REQUESTS = (
    CLIENTS * PLAIN_POSTS_PER_CLIENT
    + IDEMPOTENCY_KEYS * SAME_KEY_SENDERS
    + CONTESTED_RECORDS * CONTENDERS
    + (CLIENTS * PLAIN_POSTS_PER_CLIENT + IDEMPOTENCY_KEYS - CONTESTED_RECORDS)
    * PUTS_PER_RECORD
    * 2
)
# The whole drive must end within this; every request within REQUEST_SECONDS.
DRIVE_SECONDS = 30
REQUEST_SECONDS = 15
# High enough never to answer 429 here: rate limiting has its own tests.
RATE_LIMIT = "100000/minute"
LIFETIME = dt.timedelta(days=182)

# The four answers a visitor can give (essential is always on).
ANSWERS = [
    {"essential": True, "analytics": analytics, "multimedia": multimedia}
    for analytics in (False, True)
    for multimedia in (False, True)
]

State = tuple[dt.datetime, dt.datetime, tuple[bool, bool, bool]]


@dataclass
class Exchange:
    """One request and what came back (status None: no HTTP answer at all)."""

    method: str
    path: str
    sent: dict[str, Any] | None
    key: str | None = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    answer: Any = None
    error: str | None = None

    def __str__(self) -> str:
        got = self.error if self.status is None else f"{self.status} {self.answer}"
        return f"{self.method} {self.path} (key {self.key}): {got}"


class Driver:
    """Sends requests and records every exchange, whatever its outcome."""

    def __init__(self, clients: list[httpx.AsyncClient], version: str) -> None:
        self.clients = clients
        self.version = version
        self.exchanges: list[Exchange] = []

    def body(self, answer: dict[str, bool]) -> dict[str, Any]:
        choices = {"analytics": answer["analytics"], "multimedia": answer["multimedia"]}
        return {"policy_version": self.version, "choices": choices}

    async def send(
        self,
        client: int,
        method: str,
        path: str,
        sent: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> Exchange:
        exchange = Exchange(method, path, sent, key)
        self.exchanges.append(exchange)
        headers = {"Idempotency-Key": key} if key is not None else {}
        try:
            response = await self.clients[client].request(method, path, json=sent, headers=headers)
        except httpx.HTTPError as exc:
            exchange.error = f"{type(exc).__name__}: {exc}"
            return exchange
        exchange.status = response.status_code
        exchange.headers = dict(response.headers)
        try:
            exchange.answer = response.json()
        except ValueError:
            exchange.answer = response.text
        return exchange


def state_of(answer: dict[str, Any]) -> State:
    """A record's state as the API answered it, comparable with a database row."""
    choices = answer["choices"]
    return (
        dt.datetime.fromisoformat(answer["recorded_at"]),
        dt.datetime.fromisoformat(answer["expires_at"]),
        (choices["essential"], choices["analytics"], choices["multimedia"]),
    )


def state_of_row(row: Any) -> State:
    choices = row.choices
    return (
        row.recorded_at,
        row.expires_at,
        (choices["essential"], choices["analytics"], choices["multimedia"]),
    )


def as_tuple(answer: dict[str, bool]) -> tuple[bool, bool, bool]:
    return (answer["essential"], answer["analytics"], answer["multimedia"])


@dataclass
class Plan:
    """What the drive sent, by record."""

    posts: dict[str, list[Exchange]] = field(default_factory=lambda: defaultdict(list))
    same_key: dict[str, list[Exchange]] = field(default_factory=dict)
    contested: dict[str, list[Exchange]] = field(default_factory=dict)
    # Uncontested records: their PUTs in order, each with the GET that followed it.
    sequential: dict[str, list[tuple[Exchange, Exchange]]] = field(default_factory=dict)


async def drive(base: str, rng: random.Random) -> tuple[Driver, Plan]:
    limits = httpx.Limits(max_connections=CONTENDERS + 2)
    clients = [
        httpx.AsyncClient(base_url=base, timeout=REQUEST_SECONDS, limits=limits)
        for _ in range(CLIENTS)
    ]
    try:
        policy = await clients[0].get("/consent/policy")
        assert policy.status_code == 200, policy.text
        driver = Driver(clients, policy.json()["version"])
        plan = Plan()

        # --- phase 1: records, plain and idempotent, all at once ---------------------------
        async def plain_posts(client: int) -> None:
            for _ in range(PLAIN_POSTS_PER_CLIENT):
                await driver.send(client, "POST", "/consent", driver.body(rng.choice(ANSWERS)))

        async def same_key_posts(n: int) -> None:
            key = str(uuid.uuid4())
            body = driver.body(rng.choice(ANSWERS))
            senders = [(n + k) % CLIENTS for k in range(SAME_KEY_SENDERS)]
            plan.same_key[key] = list(
                await asyncio.gather(
                    *(driver.send(c, "POST", "/consent", body, key) for c in senders)
                )
            )

        await asyncio.gather(
            *(plain_posts(c) for c in range(CLIENTS)),
            *(same_key_posts(n) for n in range(IDEMPOTENCY_KEYS)),
        )
        for exchange in driver.exchanges:
            if exchange.method == "POST" and exchange.status == 201:
                plan.posts[exchange.answer["id"]].append(exchange)
        ids = sorted(plan.posts)
        rng.shuffle(ids)

        # --- phase 2: contested PUTs beside sequential PUT-then-GET ------------------------
        async def contested(n: int, consent_id: str) -> None:
            # Six PUTs at once; the four answers are all among them, so they disagree.
            answers = [ANSWERS[(n + k) % len(ANSWERS)] for k in range(CONTENDERS)]
            senders = [(n + k) % CLIENTS for k in range(CONTENDERS)]
            plan.contested[consent_id] = list(
                await asyncio.gather(
                    *(
                        driver.send(c, "PUT", f"/consent/{consent_id}", driver.body(a))
                        for c, a in zip(senders, answers, strict=True)
                    )
                )
            )

        async def sequential(client: int, consent_ids: list[str]) -> None:
            for consent_id in consent_ids:
                steps = plan.sequential[consent_id] = []
                for _ in range(PUTS_PER_RECORD):
                    path = f"/consent/{consent_id}"
                    put = await driver.send(client, "PUT", path, driver.body(rng.choice(ANSWERS)))
                    steps.append((put, await driver.send(client, "GET", path)))

        quiet = ids[CONTESTED_RECORDS:]
        await asyncio.gather(
            *(contested(n, consent_id) for n, consent_id in enumerate(ids[:CONTESTED_RECORDS])),
            *(sequential(c, quiet[c::CLIENTS]) for c in range(CLIENTS)),
        )
        return driver, plan
    finally:
        for client in clients:
            await client.aclose()


def read_states(database: Database) -> tuple[set[str], dict[str, list[Any]], dict[str, str]]:
    """Every record id, every record's states by seq, and every idempotency key's record."""
    engine = database.engine()
    try:
        with engine.connect() as conn:
            records = {str(row.id) for row in conn.execute(select(CONSENT.c.id))}
            states: dict[str, list[Any]] = defaultdict(list)
            query = select(CONSENT_STATE).order_by(CONSENT_STATE.c.consent_id, CONSENT_STATE.c.seq)
            for row in conn.execute(query):
                states[str(row.consent_id)].append(row)
            keys = {
                row.key: str(row.consent_id)
                for row in conn.execute(select(IDEMPOTENCY_KEY.c.key, IDEMPOTENCY_KEY.c.consent_id))
            }
    finally:
        engine.dispose()
    return records, states, keys


def test_concurrent_writes_lose_nothing(empty_db: Database, tmp_path: Path) -> None:
    env = clean_env(PUBAPI_DATABASE_URL=empty_db.url, PUBAPI_CONSENT_RATE_LIMIT=RATE_LIMIT)
    rng = random.Random(20261130)
    log: list[str] = []
    with serving(tmp_path, env) as (base, process):
        # Drain the log while the server runs: a few hundred access-log lines could fill the
        # pipe and block the server mid-test.
        assert process.stdout is not None
        reader = threading.Thread(target=lambda: log.extend(process.stdout or ()), daemon=True)
        reader.start()
        started = time.monotonic()
        driver, plan = asyncio.run(asyncio.wait_for(drive(base, rng), DRIVE_SECONDS))
        elapsed = time.monotonic() - started
    reader.join(timeout=10)
    server_log = "".join(log)
    exchanges = driver.exchanges
    print(f"{empty_db.kind}: {len(exchanges)} requests in {elapsed:.1f} s")

    # --- every request was answered, and as a valid request should be ------------------------
    failed = [str(e) for e in exchanges if e.status is None or e.status >= 500]
    assert not failed, f"{len(failed)} requests failed:\n" + "\n".join(failed[:10])
    expected = {"POST": 201, "PUT": 200, "GET": 200}
    unexpected = [str(e) for e in exchanges if e.status != expected[e.method]]
    assert not unexpected, f"{len(unexpected)} unexpected answers:\n" + "\n".join(unexpected[:10])
    assert len(exchanges) == REQUESTS == 496

    # --- the server never hit a lock it could not wait for, nor crashed a request ------------
    # The log was read whole: it has every consent request (the drive's and its policy GET).
    access = [json.loads(line) for line in server_log.splitlines() if '"pubapi.access"' in line]
    consent_lines = [line for line in access if line["path"].startswith("/consent")]
    assert len(consent_lines) == REQUESTS + 1
    assert "database is locked" not in server_log
    assert "Traceback" not in server_log
    assert "unhandled error" not in server_log

    # --- concurrent POSTs with one key made one record and got one answer ---------------------
    records, states, keys = read_states(empty_db)
    for key, sends in plan.same_key.items():
        answers = {(e.headers["location"], repr(e.answer)) for e in sends}
        assert len(answers) == 1, f"{key}: {answers}"
        consent_id = sends[0].answer["id"]
        assert keys[key] == consent_id
        assert len(plan.posts[consent_id]) == SAME_KEY_SENDERS
    assert set(keys) == set(plan.same_key)

    # --- every record answered is stored, and nothing else -----------------------------------
    assert records == set(plan.posts)
    assert len(records) == CLIENTS * PLAIN_POSTS_PER_CLIENT + IDEMPOTENCY_KEYS
    assert set(states) == records
    for consent_id, posts in plan.posts.items():
        # One POST per record, except the same-key POSTs that all answered the same record.
        assert len(posts) == (1 if posts[0].key is None else SAME_KEY_SENDERS), consent_id
        assert {e.headers["location"] for e in posts} == {f"/consent/{consent_id}"}
        rows = states[consent_id]
        stored = [state_of_row(row) for row in rows]
        # Numbered 1..n without gaps, in the order they were recorded, one policy.
        assert [row.seq for row in rows] == list(range(1, len(rows) + 1)), consent_id
        assert [s[0] for s in stored] == sorted(s[0] for s in stored), consent_id
        assert {row.policy_version for row in rows} == {driver.version}
        assert all(expires - recorded == LIFETIME for recorded, expires, _ in stored)
        # Each state was answered once and recorded once; a PUT that changed nothing added none.
        assert len(set(stored)) == len(stored), consent_id
        assert all(a[2] != b[2] for a, b in itertools.pairwise(stored)), consent_id
        assert stored[0] == state_of(posts[0].answer), consent_id

    for consent_id, puts in plan.contested.items():
        stored = [state_of_row(row) for row in states[consent_id]]
        answered = [state_of(put.answer) for put in puts]
        # Each PUT was answered with the choices it sent, as a new state or the current one.
        for put in puts:
            assert put.sent is not None
            sent = put.sent["choices"]
            assert put.answer["choices"] == {"essential": True, **sent}, str(put)
            assert (put.answer["valid"], put.answer["reason"]) == (True, None)
        assert set(stored) == {stored[0], *answered}, consent_id
        # One state more than the first per PUT answered with a change (several PUTs with the
        # same choices may answer the one state the first of them recorded).
        assert len(stored) == 1 + len({state for state in answered if state != stored[0]})
        # The record's current state is the one answered last.
        assert stored[-1] == max([stored[0], *answered]), consent_id

    for consent_id, steps in plan.sequential.items():
        stored = [state_of_row(row) for row in states[consent_id]]
        previous = stored[0]
        history = [previous]
        for put, get in steps:
            assert put.sent is not None
            sent = {"essential": True, **put.sent["choices"]}
            state = state_of(put.answer)
            assert state[2] == as_tuple(sent), str(put)
            if state[2] == previous[2]:
                assert state == previous, f"an unchanged PUT added a state: {put}"
            else:
                assert state[0] > previous[0], str(put)
                history.append(state)
            # What a PUT answered is what the next GET reads.
            assert get.answer == put.answer, f"{put}\n{get}"
            previous = state
        assert stored == history, consent_id
