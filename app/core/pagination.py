"""Page parameters and opaque keyset cursors.

A cursor carries the sort key of the last row of a page, the sort it belongs to and a
fingerprint of the query's filters, with a keyed checksum: a cursor that was altered, or that
is replayed against another query, is refused (422) instead of silently returning wrong pages.
"""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response

from app.core.errors import invalid
from app.core.limits import MAX_CURSOR_CHARS

MAX_LIMIT = 200
DEFAULT_LIMIT = 25
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"
MAX_OFFSET = 10_000

CURSOR_LOC = ("query", "cursor")


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int | None
    cursor: str | None


async def page_params(
    limit: Annotated[
        int,
        Query(ge=1, le=MAX_LIMIT, description="Results per page (1 to 200).", examples=[25]),
    ] = DEFAULT_LIMIT,
    offset: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_OFFSET,
            description="Skip this many results (numbered pages; at most 10000). "
            "Cannot be combined with `cursor`: follow cursors to go deeper.",
            examples=[0],
        ),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_CURSOR_CHARS,
            description="Opaque token from `meta.next_cursor` (or the `Link` header) for the "
            "next page; constant cost at any depth. Only valid with the filters and sort of "
            "the page that gave it.",
            examples=[
                "eyJxIjoiNGU2MzA0YWEzMjY4YmY4OSIsImsiOlsiMjAyNS0xMi0zMSIsNF19.9UpUnYp4VtKK-L5I"
            ],
            # Its shape (base64url payload, a dot, base64url signature); only a token the API
            # signed, for this query, is accepted.
            json_schema_extra={"pattern": CURSOR_PATTERN},
        ),
    ] = None,
) -> PageParams:
    if offset is not None and cursor is not None:
        raise invalid(("query", "offset"), "offset and cursor cannot be used together")
    return PageParams(limit=limit, offset=offset, cursor=cursor)


PageDep = Annotated[PageParams, Depends(page_params)]


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fingerprint(*parts: Any) -> str:
    """A short digest of a query's identity (sort and filters) to bind cursors to it."""
    raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


class CursorCodec:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:12]

    def encode(self, query_id: str, key: list[Any]) -> str:
        payload = json.dumps({"q": query_id, "k": key}, separators=(",", ":")).encode()
        return f"{_b64encode(payload)}.{_b64encode(self._sign(payload))}"

    def decode(self, token: str, query_id: str) -> list[Any]:
        """The keyset values of `token`; a 422 problem when it is malformed or foreign."""
        try:
            body, signature = token.split(".")
            payload = _b64decode(body)
            valid = hmac.compare_digest(_b64decode(signature), self._sign(payload))
        except (ValueError, binascii.Error):
            valid = False
        if not valid:
            raise invalid(
                CURSOR_LOC, "malformed or altered cursor: pass meta.next_cursor unchanged"
            )
        data = json.loads(payload)
        if data.get("q") != query_id:
            raise invalid(
                CURSOR_LOC, "cursor belongs to another query: keep the same filters and sort"
            )
        key = data.get("k")
        if not isinstance(key, list):
            raise invalid(CURSOR_LOC, "malformed cursor")
        return key


@dataclass
class Found:
    """One page of results, the size of the whole set, and the cursor key of the next page."""

    results: list[dict[str, Any]]
    total: int
    next_key: list[Any] | None


def paginate(
    request: Request,
    response: Response,
    codec: CursorCodec,
    page: PageParams,
    query_id: str,
    fetch: Callable[[list[Any] | None], Found],
) -> dict[str, Any]:
    """Run `fetch` from the page's cursor (if any) and wrap what it found in the envelope.

    `query_id` names the query (its sort and filters): a cursor only resumes the query that
    issued it. A `Link: <...>; rel="next"` header points at the next page when there is one.
    """
    after = codec.decode(page.cursor, query_id) if page.cursor is not None else None
    found = fetch(after)
    next_cursor = None if found.next_key is None else codec.encode(query_id, found.next_key)
    if next_cursor is not None:
        url = request.url.remove_query_params(["offset", "cursor"]).include_query_params(
            cursor=next_cursor
        )
        response.headers["Link"] = f'<{url}>; rel="next"'
    return {
        "results": found.results,
        "meta": {
            "total": found.total,
            "limit": page.limit,
            "offset": None if page.cursor is not None else (page.offset or 0),
            "next_cursor": next_cursor,
        },
    }
