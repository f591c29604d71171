"""Cookie consent: the one write of the API.

A record is created by POST and changed by PUT; every change appends a state, so the history
proves what the visitor answered, to which policy, and when (GDPR art. 7(1)), and withdrawing
is one PUT, as easy as giving (art. 7(3)). Nothing that identifies the visitor is stored.
"""

import datetime as dt
import hashlib
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from pydantic import WithJsonSchema
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from starlette.convertors import StringConvertor, register_url_convertor

from app.core.deps import CursorDep, PrimarySessionDep
from app.core.errors import invalid, not_found, problem_responses
from app.core.pagination import PageDep, fingerprint, paginate
from app.core.ratelimit import consent_write_limit
from app.models import Page
from app.models.consent import (
    ConsentIn,
    ConsentRecord,
    ConsentStatePublic,
    ConsentStatus,
    PolicyPublic,
)
from app.queries import consent as queries

router = APIRouter(tags=["consent"])


class ConsentIdConvertor(StringConvertor):
    """A path segment that is not `policy`: `PUT /consent/policy` is a 405, not a write to a
    record named "policy". Malformed ids still reach the route, for a 422 naming them."""

    regex = "(?!policy$)[^/]+"


register_url_convertor("consent_id", ConsentIdConvertor())

ConsentId = Annotated[
    uuid.UUID,
    Path(
        alias="consent_id",
        description="The `id` answered by `POST /consent`.",
        examples=["0b3d6c0e-8a47-4d7e-9a53-2f7f5c1d9e10"],
    ),
]
IdempotencyKeyHeader = Annotated[
    uuid.UUID | None,
    # Optional, but when sent a UUID: not "a UUID or null" (a header cannot be null).
    WithJsonSchema(
        {"type": "string", "format": "uuid", "examples": ["5f0c1d3e-2b7a-4a1e-9c44-7d2e0f6b8a91"]}
    ),
    Header(
        alias="Idempotency-Key",
        description="A fresh random UUID per consent given, which makes a retried POST safe: "
        "the same key and body replay the first answer and write nothing; the same key with "
        "another body is a 422. It must be a UUID: a replay answers the record's id, so a "
        "guessable key would hand one visitor's record to another.",
        examples=["5f0c1d3e-2b7a-4a1e-9c44-7d2e0f6b8a91"],
    ),
]
WRITE_ERRORS = problem_responses(413, 415, 422, 429)


async def policy_of(request: Request) -> PolicyPublic:
    policy: PolicyPublic = request.app.state.consent_policy
    return policy


PolicyDep = Annotated[PolicyPublic, Depends(policy_of)]


async def require_json(
    content_type: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise invalid(
            ("header", "Content-Type"),
            f"must be application/json, not {content_type or 'missing'}",
            status=415,
        )


def _now(request: Request) -> dt.datetime:
    now: dt.datetime = request.app.state.clock()
    return now


def _lifetime(request: Request) -> dt.timedelta:
    return dt.timedelta(days=request.app.state.settings.consent_lifetime_days)


def _checked_choices(body: ConsentIn, policy: PolicyPublic) -> dict[str, bool]:
    if body.policy_version != policy.version:
        raise invalid(
            ("body", "policy_version"),
            f"outdated or unknown policy version {body.policy_version!r}; the current one is "
            f"{policy.version!r} (GET /consent/policy)",
        )
    return body.choices.model_dump()


def _request_hash(body: ConsentIn) -> str:
    canonical = json.dumps(body.model_dump(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@router.get(
    "/consent/policy",
    response_model=PolicyPublic,
    operation_id="getConsentPolicy",
    summary="Get the cookie policy",
    responses=problem_responses(422),
)
def get_policy(policy: PolicyDep) -> PolicyPublic:
    """The current cookie policy: its version, the banner's text and the categories."""
    return policy


@router.post(
    "/consent",
    status_code=201,
    response_model=ConsentRecord,
    operation_id="createConsent",
    summary="Record a visitor's consent",
    dependencies=[Depends(require_json), Depends(consent_write_limit)],
    responses={
        201: {
            "description": "Recorded; `Location` names the record.",
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
        **WRITE_ERRORS,
    },
)
def create_consent(
    request: Request,
    response: Response,
    body: ConsentIn,
    policy: PolicyDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> dict[str, Any]:
    """Record a visitor's choices (omitted optional categories are refused)."""
    choices = _checked_choices(body, policy)
    request_hash = _request_hash(body)
    engine = request.app.state.write_engine
    key = None if idempotency_key is None else str(idempotency_key)

    def record() -> queries.State:
        with engine.begin() as conn:
            if key is not None:
                stored = queries.idempotency_record(conn, key)
                if stored is not None:
                    return _replay(conn, request_hash, *stored)
            now = _now(request)
            state = queries.create_consent(conn, policy.version, choices, now, _lifetime(request))
            if key is not None:
                queries.remember_idempotency_key(conn, key, request_hash, state.consent_id, now)
            return state

    try:
        state = record()
    except IntegrityError:
        if key is None:
            raise
        # A concurrent request stored the same key first (and rolled this one back): this
        # request is then a replay of that one.
        state = record()
    response.headers["Location"] = f"/consent/{state.consent_id}"
    return state.record()


def _replay(
    conn: Connection, request_hash: str, stored_hash: str, consent_id: uuid.UUID
) -> queries.State:
    """The first answer given to an Idempotency-Key, if this is the same request again."""
    if stored_hash != request_hash:
        raise invalid(
            ("header", "Idempotency-Key"),
            "this key was already used with a different body; use a new key for a new request",
        )
    return queries.first_state(conn, consent_id)


def _found(session: PrimarySessionDep, consent_id: uuid.UUID) -> queries.State:
    state = queries.latest_state(session, consent_id)
    if state is None:
        raise not_found("consent record", consent_id)
    return state


@router.get(
    "/consent/{consent_id:consent_id}",
    response_model=ConsentStatus,
    operation_id="getConsent",
    summary="Get a consent record's current state",
    responses=problem_responses(404, 422),
)
def get_consent(
    request: Request, session: PrimarySessionDep, consent_id: ConsentId, policy: PolicyDep
) -> dict[str, Any]:
    """The current state of a record, and whether the banner may rely on it."""
    return _found(session, consent_id).status(policy.version, _now(request))


@router.put(
    "/consent/{consent_id:consent_id}",
    response_model=ConsentStatus,
    operation_id="updateConsent",
    summary="Change a visitor's choices",
    dependencies=[Depends(require_json), Depends(consent_write_limit)],
    responses=problem_responses(404, 413, 415, 422, 429),
)
def update_consent(
    request: Request, consent_id: ConsentId, body: ConsentIn, policy: PolicyDep
) -> dict[str, Any]:
    """Change the choices (withdrawing is as easy as giving); the old state stays in history.

    A PUT that changes nothing adds no state, unless the current answer is no longer valid
    (expired): then the same choices, confirmed again, are recorded anew.
    """
    choices = _checked_choices(body, policy)
    with request.app.state.write_engine.begin() as conn:
        current = (
            queries.latest_state(conn, consent_id)
            if queries.lock_consent(conn, consent_id)
            else None
        )
        if current is None:
            raise not_found("consent record", consent_id)
        now = _now(request)
        unchanged = (
            current.policy_version == policy.version
            and current.choices == choices
            and now < current.expires_at
        )
        if not unchanged:
            current = queries.add_state(
                conn, consent_id, current.seq + 1, policy.version, choices, now, _lifetime(request)
            )
    return current.status(policy.version, now)


@router.get(
    "/consent/{consent_id:consent_id}/history",
    response_model=Page[ConsentStatePublic],
    operation_id="getConsentHistory",
    summary="List every state of a consent record",
    responses=problem_responses(404, 422),
)
def get_history(
    request: Request,
    response: Response,
    session: PrimarySessionDep,
    codec: CursorDep,
    consent_id: ConsentId,
    page: PageDep,
) -> dict[str, Any]:
    """Every state the record has had, oldest first."""
    if not queries.consent_exists(session, consent_id):
        raise not_found("consent record", consent_id)
    return paginate(
        request,
        response,
        codec,
        page,
        fingerprint("consent-history", str(consent_id)),
        lambda after: queries.history(session, consent_id, page.limit, page.offset, after),
    )
