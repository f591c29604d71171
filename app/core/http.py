"""HTTP behaviour shared by every route: HEAD for every GET, and strict query strings."""

import asyncio
from collections.abc import Callable
from typing import Any, get_args, get_origin

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.caching import STATE_KEY, is_current
from app.core.errors import ApiProblem, invalid, problem_response
from app.core.limits import (
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_QUERY_PARAMS,
    MAX_REPEATS,
    MAX_URL_BYTES,
)

# Set in the scope of a HEAD served as GET, for the few endpoints that can skip making the body.
HEAD_KEY = "pubapi.head"


def is_head(scope: Scope) -> bool:
    return bool(scope.get(HEAD_KEY))


class HeadAsGetMiddleware:
    """Answer `HEAD` exactly like `GET`, without the body (RFC 9110 §9.3.2).

    FastAPI registers GET routes for GET only; doing it here keeps one operation per route in
    the OpenAPI document instead of a twin HEAD operation for each.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET", HEAD_KEY: True}, receive, send_headers_only)


def _query_params(dependant: Dependant) -> dict[str, bool]:
    """Each query parameter of a route, with whether it may be repeated (a list)."""
    names = {param.alias: _is_list(param.field_info.annotation) for param in dependant.query_params}
    for sub_dependant in dependant.dependencies:
        names |= _query_params(sub_dependant)
    return names


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) in (list, tuple, set, frozenset):
        return True
    return any(_is_list(arg) for arg in get_args(annotation) if get_origin(annotation) is not None)


def _declared_query_params(route: APIRoute) -> dict[str, bool]:
    declared: dict[str, bool] | None = getattr(route, "_pubapi_query_params", None)
    if declared is None:
        declared = _query_params(route.dependant)
        route._pubapi_query_params = declared  # type: ignore[attr-defined]
    return declared


async def reject_unknown_query_params(request: Request) -> None:
    """A misspelt filter (`?yaer=2025`) is a 422, not a silently unfiltered list."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = _declared_query_params(route)
    for name in request.query_params:
        if name not in allowed:
            choices = ", ".join(sorted(allowed)) or "none"
            raise invalid(("query", name), f"unknown query parameter; allowed: {choices}")
        given = len(request.query_params.getlist(name))
        if not allowed[name] and given > 1:
            # Otherwise the last value would silently win.
            raise invalid(("query", name), "given more than once; it takes one value")
        if given > MAX_REPEATS:
            raise invalid(("query", name), f"given {given} times; at most {MAX_REPEATS}")


def body_too_large() -> ApiProblem:
    return invalid(("body",), f"larger than {MAX_BODY_BYTES} bytes", status=413)


def over_limit(scope: Scope) -> ApiProblem | None:
    """The problem with a request's size before its body (`app.core.limits`), if any."""
    query: bytes = scope["query_string"]
    path = scope.get("raw_path") or scope["path"].encode()
    if len(path) + (len(query) + 1 if query else 0) > MAX_URL_BYTES:
        return invalid(("url",), f"longer than {MAX_URL_BYTES} bytes", status=414)
    headers = scope["headers"]
    if len(headers) > MAX_HEADERS:
        return invalid(("header",), f"more than {MAX_HEADERS} header fields", status=431)
    if sum(len(name) + len(value) for name, value in headers) > MAX_HEADER_BYTES:
        return invalid(("header",), f"larger than {MAX_HEADER_BYTES} bytes in all", status=431)
    if query.count(b"&") >= MAX_QUERY_PARAMS:
        given = sum(1 for part in query.split(b"&") if part)
        if given > MAX_QUERY_PARAMS:
            return invalid(("query",), f"{given} parameters; at most {MAX_QUERY_PARAMS}")
    return None


class RequestLimitsMiddleware:
    """Refuse a request whose target, headers or query string are over the limits, before
    anything else reads them (an answer kept for the same URL included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = over_limit(scope) if scope["type"] == "http" else None
        if problem is None:
            await self.app(scope, receive, send)
            return
        response = problem_response(problem.status, problem.detail, problem.errors)
        await response(scope, receive, send)


class BodySizeLimitMiddleware:
    """Refuse bodies over `MAX_BODY_BYTES` (413) before they are read into memory, chunked
    ones too."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            problem = body_too_large()
            response = problem_response(problem.status, problem.detail, problem.errors)
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise body_too_large()
            return message

        await self.app(scope, counting_receive, send)


class PathPolicyMiddleware:
    """CORS and caching by kind of route: data is public, consent is the site's own.

    Data routes answer the configured `cors_origins` (any origin by default, without
    credentials), and their successful answers carry the validators `check_conditional` computed
    (ETag, `Cache-Control: public`); their errors are not stored. Consent routes answer only the
    configured site origins, and none of their responses, errors included, is ever stored by
    any cache; neither is an answer of `/health` or `/ready`.
    """

    def __init__(
        self,
        app: ASGIApp,
        cors_origins: list[str],
        cors_allow_credentials: bool,
        consent_origins: list[str],
    ) -> None:
        self.app = app
        self.data = CORSMiddleware(
            app,
            allow_origins=cors_origins,
            allow_credentials=cors_allow_credentials,
            allow_methods=["GET", "HEAD"],
            allow_headers=["If-None-Match", "X-Request-ID"],
            expose_headers=["ETag", "Link", "Retry-After", "X-Request-ID", "X-Total-Count"],
            max_age=86400,
        )
        self.consent = CORSMiddleware(
            app,
            allow_origins=consent_origins,
            allow_methods=["GET", "POST", "PUT"],
            allow_headers=["Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["Location", "Retry-After", "X-Request-ID"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = route_kind(scope["path"])
        cors = self.consent if kind == "consent" else self.data
        if kind == "data":
            send = _with_cache_policy(send, scope)
        elif kind != "other":
            send = _with_header(send, "Cache-Control", "no-store")
        if scope["method"] == "OPTIONS" and "access-control-request-method" in Headers(scope=scope):
            send = _refusal_as_problem(send)
        await cors(scope, receive, send)


DATA_PREFIXES = ("/publications", "/authors", "/venues")


def route_kind(path: str) -> str:
    """`data`, `consent`, `health` or `other` (docs, the OpenAPI document, unknown paths)."""
    if path in ("/health", "/ready"):
        return "health"
    if path == "/consent" or path.startswith("/consent/"):
        return "consent"
    if any(path == prefix or path.startswith(prefix + "/") for prefix in DATA_PREFIXES):
        return "data"
    return "other"


def _with_cache_policy(send: Send, scope: Scope) -> Send:
    """Validators on successes, `no-store` on errors, and 304 for a 200 the client holds.

    Endpoints answer 304 before doing the work when they can (`caching.not_modified`); this
    catches every 200 they did not.
    """
    state = scope.setdefault("state", {})
    if_none_match = Headers(scope=scope).get("if-none-match")
    not_modified = False

    async def sending(message: Message) -> None:
        nonlocal not_modified
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            validators = state.get(STATE_KEY)
            if message["status"] in (200, 304) and validators is not None:
                for name, value in validators.items():
                    if name != "Vary":
                        headers[name] = value
                if message["status"] == 200 and is_current(if_none_match, validators["ETag"]):
                    not_modified = True
                    message["status"] = 304
                    for name in ("content-type", "content-length", "content-disposition"):
                        del headers[name]
            else:
                headers["Cache-Control"] = "no-store"
            # The ETag depends on it (and on Accept-Encoding, which every answer names).
            headers.add_vary_header("Accept")
        elif message["type"] == "http.response.body" and not_modified:
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return sending


def _with_header(send: Send, name: str, value: str) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message)[name] = value
        await send(message)

    return sending


def _refusal_as_problem(send: Send) -> Send:
    """Starlette refuses a CORS preflight with a plain-text 400; answer a problem instead."""
    start: Message | None = None

    async def sending(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start" and message["status"] == 400:
            start = message
            return
        if start is not None and message["type"] == "http.response.body":
            reason = message.get("body", b"").decode() or "Disallowed CORS request"
            problem = problem_response(400, f"CORS preflight refused: {reason}.")
            headers = MutableHeaders(scope=start)
            for name in ("content-type", "content-length"):
                headers[name] = problem.headers[name]
            await send(start)
            await send({"type": "http.response.body", "body": problem.body})
            return
        await send(message)

    return sending


class DatabaseSlotsMiddleware:
    """At most `slots` requests use the database at once; the others wait their turn here.

    Past the pool's size, a request would wait for a connection inside a worker thread, holding
    one of the few threads for up to the pool's timeout, and would take a connection from the
    pool's overflow as soon as one was lent. Waiting in the event loop instead costs nothing,
    keeps the order of arrival, and keeps the database to `slots` connections per worker.
    """

    def __init__(self, app: ASGIApp, slots: int, uses_database: Callable[[str], bool]) -> None:
        self.app = app
        self.slots = slots
        self.uses_database = uses_database
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.uses_database(scope["path"]):
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:  # made in the server's event loop
            self._semaphore = asyncio.Semaphore(self.slots)
        async with self._semaphore:
            await self.app(scope, receive, send)
