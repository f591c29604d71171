"""Consent records: written in short transactions, read back with their history."""

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select
from sqlmodel import Session

from app.core.pagination import Found
from app.models.consent import choices_of
from app.models.tables import CONSENT, CONSENT_STATE, IDEMPOTENCY_KEY
from app.queries.keyset import Ordering, fetch_page, parse_int

S = CONSENT_STATE.c
HISTORY_ORDER = Ordering(S.seq, S.seq, nullable=False, parse=parse_int)


@dataclass(frozen=True)
class State:
    consent_id: uuid.UUID
    seq: int
    policy_version: str
    choices: dict[str, bool]
    recorded_at: dt.datetime
    expires_at: dt.datetime

    def record(self) -> dict[str, Any]:
        return {
            "id": self.consent_id,
            "policy_version": self.policy_version,
            "choices": choices_of(self.choices),
            "recorded_at": self.recorded_at,
            "expires_at": self.expires_at,
        }

    def status(self, current_policy: str, now: dt.datetime) -> dict[str, Any]:
        reason = None
        if now >= self.expires_at:
            reason = "expired"
        elif self.policy_version != current_policy:
            reason = "policy_changed"
        return {**self.record(), "valid": reason is None, "reason": reason}


def _state(row: Any) -> State:
    return State(
        consent_id=row.consent_id,
        seq=row.seq,
        policy_version=row.policy_version,
        choices=dict(row.choices),
        recorded_at=row.recorded_at,
        expires_at=row.expires_at,
    )


def _states() -> Any:
    return select(S.consent_id, S.seq, S.policy_version, S.choices, S.recorded_at, S.expires_at)


def latest_state(conn: Connection | Session, consent_id: uuid.UUID) -> State | None:
    query = _states().where(S.consent_id == consent_id).order_by(S.seq.desc()).limit(1)
    row = conn.execute(query).first()
    return None if row is None else _state(row)


def first_state(conn: Connection, consent_id: uuid.UUID) -> State:
    row = conn.execute(_states().where(S.consent_id == consent_id, S.seq == 1)).one()
    return _state(row)


def lock_consent(conn: Connection, consent_id: uuid.UUID) -> bool:
    """Lock the record for the rest of the transaction (PostgreSQL; SQLite locks the file)."""
    query = select(CONSENT.c.id).where(CONSENT.c.id == consent_id).with_for_update()
    return conn.execute(query).first() is not None


def add_state(
    conn: Connection,
    consent_id: uuid.UUID,
    seq: int,
    policy_version: str,
    choices: dict[str, bool],
    now: dt.datetime,
    lifetime: dt.timedelta,
) -> State:
    state = State(consent_id, seq, policy_version, choices, now, now + lifetime)
    conn.execute(
        insert(CONSENT_STATE).values(
            consent_id=consent_id,
            seq=seq,
            policy_version=policy_version,
            choices=choices,
            recorded_at=state.recorded_at,
            expires_at=state.expires_at,
        )
    )
    return state


def create_consent(
    conn: Connection,
    policy_version: str,
    choices: dict[str, bool],
    now: dt.datetime,
    lifetime: dt.timedelta,
) -> State:
    consent_id = uuid.uuid4()
    conn.execute(insert(CONSENT).values(id=consent_id, created_at=now))
    return add_state(conn, consent_id, 1, policy_version, choices, now, lifetime)


def idempotency_record(conn: Connection, key: str) -> tuple[str, uuid.UUID] | None:
    """The request hash and consent id stored under `key`, if any."""
    query = select(IDEMPOTENCY_KEY.c.request_hash, IDEMPOTENCY_KEY.c.consent_id).where(
        IDEMPOTENCY_KEY.c.key == key
    )
    row = conn.execute(query).first()
    return None if row is None else (row.request_hash, row.consent_id)


def remember_idempotency_key(
    conn: Connection, key: str, request_hash: str, consent_id: uuid.UUID, now: dt.datetime
) -> None:
    conn.execute(
        insert(IDEMPOTENCY_KEY).values(
            key=key, request_hash=request_hash, consent_id=consent_id, created_at=now
        )
    )


def consent_exists(session: Session, consent_id: uuid.UUID) -> bool:
    query = select(CONSENT.c.id).where(CONSENT.c.id == consent_id)
    return session.execute(query).first() is not None


def history(
    session: Session,
    consent_id: uuid.UUID,
    limit: int,
    offset: int | None,
    after: Sequence[Any] | None,
) -> Found:
    rows, next_key = fetch_page(
        session, _states().where(S.consent_id == consent_id), HISTORY_ORDER, limit, offset, after
    )
    total_query = select(func.count()).where(S.consent_id == consent_id)
    total = int(session.execute(total_query).scalar_one())
    results = [
        {
            "seq": row["seq"],
            "policy_version": row["policy_version"],
            "choices": choices_of(row["choices"]),
            "recorded_at": row["recorded_at"],
            "expires_at": row["expires_at"],
        }
        for row in rows
    ]
    return Found(results, total, next_key)


def purge_expired(conn: Connection, horizon: dt.datetime) -> int:
    """Delete every record whose last state expired before `horizon`; their states follow.

    The last state, not the latest expiry: an older state may outlive it when the configured
    lifetime was shortened since. The records are locked first and judged again under the
    lock, so that a PUT renewing one of them meanwhile (it locks the record too) keeps it.
    """
    candidates = (
        conn.execute(
            select(CONSENT.c.id).where(CONSENT.c.id.in_(_stale(horizon))).with_for_update()
        )
        .scalars()
        .all()
    )
    deleted = 0
    for start in range(0, len(candidates), 1000):
        chunk = candidates[start : start + 1000]
        still_stale = CONSENT.c.id.in_(_stale(horizon))
        result = conn.execute(delete(CONSENT).where(CONSENT.c.id.in_(chunk), still_stale))
        deleted += int(result.rowcount)
    return deleted


def _stale(horizon: dt.datetime) -> Any:
    last = select(S.consent_id, func.max(S.seq).label("seq")).group_by(S.consent_id).subquery()
    return (
        select(S.consent_id)
        .join(last, (S.consent_id == last.c.consent_id) & (S.seq == last.c.seq))
        .where(S.expires_at < horizon)
    ).scalar_subquery()
