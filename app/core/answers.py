"""Answers kept in memory and replayed until the data changes.

A data answer is fully determined by the data version and the request (path, query string,
`Accept`, and the content coding it is sent in; see app/core/caching.py), so a server can keep the
bytes of each answer it made and send them again to the next client asking the same thing, for
as long as the data version stays the same: no routing, no database, no serialization.

How the version is known without reading it per request: the server reads it at most once per
`data_version_ttl` seconds (a seed load shows after at most that long; `0` reads it for every
request), outside the event loop. Answers are stored under the version their own transaction
read, so a stored answer never labels data of another version.

Only complete `200` answers of data routes (`GET`, and `HEAD` which is served as one) up to a
size limit are kept, least recently used first out when the memory budget is spent. A request
with `Cache-Control: no-cache` (or `no-store`, or `Pragma: no-cache`) is computed afresh, and its
answer replaces the kept one.
"""

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from sqlalchemy import Engine
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.caching import STATE_KEY, VERSION_STATE, current_version, is_current
from app.core.compression import negotiate_encoding

# An answer larger than this is sent without being kept (exports stream far larger ones).
MAX_ANSWER_BYTES = 1 << 20
# What an entry costs besides its body: its key, headers and bookkeeping, roughly.
ENTRY_OVERHEAD = 512

Key = tuple[str, bytes, str, str]


@dataclass(frozen=True)
class Answer:
    version: int
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    validators: dict[str, str]

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + ENTRY_OVERHEAD


class VersionWatch:
    """The data version, read at most once per `ttl` seconds, in a worker thread."""

    def __init__(self, read: Callable[[], int], ttl: float) -> None:
        self.read, self.ttl = read, ttl
        self.version: int | None = None
        self._read_at = -float("inf")
        self._lock = asyncio.Lock()

    async def current(self) -> int | None:
        """The version, or `None` when it cannot be read (the database is away)."""
        if time.monotonic() - self._read_at < self.ttl:
            return self.version
        async with self._lock:
            # Another request may have read it while this one waited.
            if time.monotonic() - self._read_at < self.ttl:
                return self.version
            started = time.monotonic()
            try:
                self.version = await to_thread.run_sync(self.read)
            except Exception:
                self.version, self._read_at = None, -float("inf")
                return None
            self._read_at = started
            return self.version


class AnswerStore:
    """Answers by request key, least recently used first out past `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self._answers: OrderedDict[Key, Answer] = OrderedDict()

    def get(self, key: Key, version: int) -> Answer | None:
        answer = self._answers.get(key)
        if answer is None or answer.version != version:
            return None
        self._answers.move_to_end(key)
        return answer

    def put(self, key: Key, answer: Answer) -> None:
        if answer.size > self.max_bytes:
            return
        old = self._answers.pop(key, None)
        if old is not None:
            self.used -= old.size
        self._answers[key] = answer
        self.used += answer.size
        while self.used > self.max_bytes:
            _, evicted = self._answers.popitem(last=False)
            self.used -= evicted.size

    def __len__(self) -> int:
        return len(self._answers)


def _fresh_asked(headers: Headers) -> bool:
    directives = headers.get("cache-control", "").lower()
    return (
        "no-cache" in directives
        or "no-store" in directives
        or "no-cache" in headers.get("pragma", "").lower()
    )


class AnswerCacheMiddleware:
    """Replays kept answers of data routes for the current data version (see module doc)."""

    def __init__(
        self,
        app: ASGIApp,
        watch: VersionWatch,
        max_bytes: int,
        is_data_path: Callable[[str], bool],
    ) -> None:
        self.app = app
        self.watch = watch
        self.store = AnswerStore(max_bytes)
        self.is_data_path = is_data_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or self.store.max_bytes <= 0
            or not self.is_data_path(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key: Key = (
            scope["path"],
            scope["query_string"],
            headers.get("accept", "").strip(),
            negotiate_encoding(headers),
        )
        version = await self.watch.current()
        if version is not None and not _fresh_asked(headers):
            answer = self.store.get(key, version)
            if answer is not None:
                await self._replay(answer, scope, headers, send)
                return
        await self.app(scope, receive, self._keeping(key, scope, send))

    async def _replay(self, answer: Answer, scope: Scope, headers: Headers, send: Send) -> None:
        """The kept answer, or the 304 its endpoint would have answered (its validators only,
        added by PathPolicyMiddleware as for the endpoint's)."""
        scope.setdefault("state", {})[STATE_KEY] = dict(answer.validators)
        if is_current(headers.get("if-none-match"), answer.validators["ETag"]):
            status, kept, body = 304, [(b"vary", b"Accept-Encoding")], b""
        else:
            # A copy: the outer layers add their headers to the message's list.
            status, kept, body = answer.status, list(answer.headers), answer.body
        await send({"type": "http.response.start", "status": status, "headers": kept})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _keeping(self, key: Key, scope: Scope, send: Send) -> Send:
        """`send`, keeping a copy of a complete, small enough 200."""
        start: dict[str, Any] | None = None
        parts: list[bytes] = []
        size = 0

        async def sending(message: Message) -> None:
            nonlocal start, size
            if message["type"] == "http.response.start":
                # Copied before the outer layers add their own headers to the message.
                if message["status"] == 200:
                    start = {"status": 200, "headers": list(message.get("headers", []))}
            elif message["type"] == "http.response.body" and start is not None:
                body = message.get("body", b"")
                size += len(body)
                if size > MAX_ANSWER_BYTES:
                    start = None
                else:
                    parts.append(body)
                    if not message.get("more_body", False):
                        self._keep(key, scope, start, b"".join(parts))
            await send(message)

        return sending

    def _keep(self, key: Key, scope: Scope, start: dict[str, Any], body: bytes) -> None:
        state = scope.get("state", {})
        version, validators = state.get(VERSION_STATE), state.get(STATE_KEY)
        if version is None or validators is None:
            return  # not an answer made from the data (and so without an ETag)
        self.store.put(
            key, Answer(version, start["status"], start["headers"], body, dict(validators))
        )


def version_reader(engine: Engine) -> Callable[[], int]:
    def read() -> int:
        with engine.connect() as conn:
            return current_version(conn)

    return read
