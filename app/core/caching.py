"""HTTP caching of data answers: strong ETags from the data version, and 304s.

Data changes only when a seed load commits, and every such load bumps `dataset_state.version`.
An answer is therefore fully determined by that version and the request (path, query string,
`Accept`, and the content coding it will be sent in), and its ETag is a digest of exactly those.
A client that revalidates with `If-None-Match` gets a bodiless 304 for the price of reading one
row, and the tag changes when, and only when, a load changed the data.

The version is read in the request's own transaction, the one its data is read in (a snapshot on
both engines), so an ETag never labels data of another version.
"""

import hashlib
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import Connection, select
from sqlmodel import Session
from starlette.datastructures import Headers
from starlette.types import Scope

from app.core.compression import negotiate_encoding
from app.core.config import Settings
from app.core.memo import VERSION_INFO
from app.models.tables import DATASET_STATE

P = ParamSpec("P")
T = TypeVar("T")
VARY = "Accept, Accept-Encoding"
# Where the validators computed for a request wait for the response (see PathPolicyMiddleware),
# and the data version they were computed from (see app/core/answers.py).
STATE_KEY = "cache_headers"
VERSION_STATE = "data_version"


class NotModified(Exception):
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


VERSION_QUERY = select(DATASET_STATE.c.version).where(DATASET_STATE.c.id == 1)


def current_version(conn: Connection | Session) -> int:
    """The data version the transaction of `conn` sees (0 before the first load)."""
    return int(conn.execute(VERSION_QUERY).scalar() or 0)


def data_version(session: Session) -> int:
    """The version of the data this session's transaction sees (remembered for `memoized`)."""
    version = current_version(session)
    session.info[VERSION_INFO] = version
    return version


def entity_tag(version: int, path: str, query: bytes, headers: Headers) -> str:
    """A strong ETag: the same bytes for the same tag, whatever server computed it."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (
        str(version).encode(),
        path.encode(),
        query,
        headers.get("accept", "").strip().encode("latin-1"),
        negotiate_encoding(headers).encode(),
    ):
        digest.update(len(part).to_bytes(4, "big") + part)
    return f'"{digest.hexdigest()}"'


def is_current(if_none_match: str | None, tag: str) -> bool:
    """Whether `If-None-Match` names `tag` (RFC 9110 §13.1.2): `*`, or any listed tag equal
    under weak comparison."""
    if if_none_match is None:
        return False
    candidates = [part.strip() for part in if_none_match.split(",")]
    return "*" in candidates or tag in (candidate.removeprefix("W/") for candidate in candidates)


def versioned(work: Callable[Concatenate[Request, P], T]) -> Callable[Concatenate[Request, P], T]:
    """`work(request, ..., session, ...)`, after computing the answer's validators from the
    data version its session's transaction sees (see `check_conditional`): the first query of
    every data request, run in the same worker thread as the rest of its queries."""

    def run(request: Request, *args: P.args, **kwargs: P.kwargs) -> T:
        session = next(arg for arg in args if isinstance(arg, Session))
        check_conditional(request, session)
        return work(request, *args, **kwargs)

    return run


def check_conditional(request: Request, session: Session) -> None:
    """Compute the validators of this answer, for the response and for `not_modified`.

    The 304 itself waits until the request is known to succeed: RFC 9110 §13.2.1 has a
    request that would fail (a bad parameter, an unknown id) answer its error, whatever its
    preconditions say. Endpoints call `not_modified` once they know; PathPolicyMiddleware turns
    any 200 whose tag matches into a 304 as well.
    """
    label_answer(request.scope, request.headers, data_version(session), request.app.state.settings)


def label_answer(scope: Scope, headers: Headers, version: int, settings: Settings) -> None:
    """Leave the validators of the answer to the request of `scope`, made from data at
    `version`, where PathPolicyMiddleware (headers, 304) and the answer cache find them."""
    # The path as Starlette's `request.url.path` reads it.
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    tag = entity_tag(version, path, scope["query_string"], headers)
    state = scope.setdefault("state", {})
    state[VERSION_STATE] = version
    state[STATE_KEY] = {
        "ETag": tag,
        "Cache-Control": f"public, max-age={settings.cache_max_age}",
        "Vary": VARY,
    }


def not_modified(request: Request) -> None:
    """Answer 304 now, without doing the work, when the client holds the current answer.

    Call only where the request is known to succeed: parameters valid, the resource there.
    """
    headers = request.scope.get("state", {}).get(STATE_KEY)
    if headers is not None and is_current(request.headers.get("if-none-match"), headers["ETag"]):
        raise NotModified(headers)


async def not_modified_response(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotModified)
    return Response(status_code=304, headers=exc.headers)
