"""One error shape for every failure: RFC 9457 problem documents."""

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.observability import request_id
from app.models.common import Problem, ValidationIssue

PROBLEM_MEDIA_TYPE = "application/problem+json"
logger = logging.getLogger("pubapi")


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


class ApiProblem(StarletteHTTPException):
    """Raise anywhere to answer with a problem document.

    An HTTPException, so that it also passes through FastAPI's body reading (which turns any
    other exception there into a 400).
    """

    def __init__(
        self,
        status: int,
        detail: str,
        errors: Sequence[ValidationIssue] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, detail, headers)
        self.status = status
        self.errors = list(errors) if errors is not None else None


def invalid(loc: Sequence[str | int], msg: str, status: int = 422) -> ApiProblem:
    """A problem about one parameter or field, shaped like FastAPI's validation errors."""
    issue = ValidationIssue(loc=list(loc), msg=msg)
    return ApiProblem(status, _describe([issue]), errors=[issue])


def not_found(what: str, ident: object) -> ApiProblem:
    return ApiProblem(404, f"No {what} with id {ident}.")


# RFC 9110's names, where Python's HTTPStatus still has the older ones.
_TITLES = {413: "Content Too Large", 414: "URI Too Long", 422: "Unprocessable Content"}


def status_title(status: int) -> str:
    return _TITLES.get(status) or HTTPStatus(status).phrase


def problem_response(
    status: int,
    detail: str,
    errors: Sequence[ValidationIssue] | None = None,
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
) -> ProblemResponse:
    problem = Problem(
        title=status_title(status),
        status=status,
        detail=detail,
        errors=list(errors) if errors is not None else None,
        request_id=request_id,
    )
    return ProblemResponse(problem.body(), status_code=status, headers=headers)


def _describe(issues: Sequence[ValidationIssue]) -> str:
    parts = []
    for issue in issues:
        name = ".".join(str(part) for part in issue.loc[1:]) or str(issue.loc[0])
        parts.append(f"{name}: {issue.msg}")
    return "; ".join(parts)


def _issue(error: dict[str, Any]) -> ValidationIssue:
    loc = [part if isinstance(part, int) else str(part) for part in error["loc"]]
    if error.get("type") == "json_invalid":
        # FastAPI puts the character position where the field name goes: name the body.
        reason = (error.get("ctx") or {}).get("error", "not JSON")
        return ValidationIssue(loc=loc[:1], msg=f"invalid JSON at character {loc[-1]}: {reason}")
    msg = str(error.get("msg", "Invalid value"))
    # pydantic prefixes messages raised from validators with "Value error, ".
    return ValidationIssue(loc=loc, msg=msg.removeprefix("Value error, "))


async def _on_api_problem(_request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, ApiProblem)
    return problem_response(exc.status, exc.detail, exc.errors, exc.headers)


async def _on_validation_error(_request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    issues = [_issue(error) for error in exc.errors()]
    return problem_response(422, _describe(issues), issues)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's).

    HEAD is served wherever GET is (see HeadAsGetMiddleware).
    """
    allowed: list[str] = []
    for context in iter_route_contexts(request.app.routes):
        if context.methods and compile_path(str(context.path))[0].match(request.url.path):
            allowed += [method for method in sorted(context.methods) if method not in allowed]
    if "GET" in allowed and "HEAD" not in allowed:
        allowed.append("HEAD")
    return allowed


async def _on_http_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = {name.title(): value for name, value in (exc.headers or {}).items()}
    detail = str(exc.detail)
    if exc.status_code == 400 and detail == "There was an error parsing the body":
        # FastAPI's answer to a body its JSON decoder gave up on (e.g. nested too deeply).
        problem = invalid(("body",), "could not be parsed as JSON")
        return problem_response(problem.status, problem.detail, problem.errors)
    if exc.status_code == 404 and detail == HTTPStatus.NOT_FOUND.phrase:
        detail = f"No resource at {request.url.path}."
    elif exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
        detail = (
            f"{request.method} is not allowed on {request.url.path}; allowed: {headers['Allow']}."
        )
    return problem_response(exc.status_code, detail, headers=headers or None)


class UnexpectedErrorMiddleware:
    """A 500 problem for any exception, answered inside the CORS and cache policy.

    Starlette's own last-resort handler sits outside every middleware, so its 500 would carry
    neither `Cache-Control: no-store` on consent routes nor the CORS headers a browser needs to
    read it. No traceback reaches the client: it is logged, under the request id that the
    problem quotes.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            logger.exception("unhandled error")
            if started or scope["type"] != "http":
                raise
            ident = request_id.get()
            response = problem_response(
                500,
                f"An unexpected error occurred; it was logged under request id {ident}.",
                request_id=ident,
            )
            await response(scope, receive, send)


# Seconds a client is asked to wait before trying again when the database is away or slow.
RETRY_AFTER = 5
# PostgreSQL's code for a statement cancelled by `statement_timeout`.
QUERY_CANCELED = "57014"
# What the driver raises when the database may not answer now, as opposed to a bug in a query.
UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
# SQLite's errors that say so (pysqlite raises OperationalError for bugs too: "no such table",
# a syntax error, a write on a read-only connection): busy or locked past the busy timeout,
# the file gone or unreadable, the disk, an interrupted (timed-out) statement.
SQLITE_TRANSIENT: tuple[str, ...] = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_INTERRUPT",
    "SQLITE_PROTOCOL",
    "SQLITE_NOTADB",
)
# PostgreSQL's classes that say so: connection exception, insufficient resources, operator
# intervention (a cancelled statement, a server shutting down), system error.
POSTGRES_TRANSIENT = ("08", "53", "57", "58")


def unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot answer now (try again later), not that a query
    is wrong (a bug: a 500)."""
    if not isinstance(exc, UNAVAILABLE):
        return False
    orig = getattr(exc, "orig", None)
    if orig is None or getattr(exc, "connection_invalidated", False):
        return True  # the pool's own timeout, or a connection that broke
    if (name := getattr(orig, "sqlite_errorname", None)) is not None:
        return str(name).startswith(SQLITE_TRANSIENT)
    # psycopg: no SQLSTATE when the server could not be reached at all.
    state = getattr(orig, "sqlstate", None)
    return state is None or str(state)[:2] in POSTGRES_TRANSIENT


def timed_out(exc: BaseException) -> bool:
    """Whether `exc` is a statement stopped by the time limit (either engine)."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) == QUERY_CANCELED:
        return True
    return getattr(orig, "sqlite_errorname", None) == "SQLITE_INTERRUPT"


def unavailable_response(exc: BaseException, limit: float) -> ProblemResponse:
    """The 503 problem, with `Retry-After`, of a request the database could not answer: the
    request was fine. `limit` is the statement time limit, named when it was reached."""
    ident = request_id.get()
    if timed_out(exc):
        logger.warning("statement stopped at the %g s limit", limit, exc_info=exc)
        detail = (
            f"The database did not answer within the {limit:g} s limit; try again later, "
            "or narrow the request."
        )
    else:
        logger.error("database unavailable", exc_info=exc)
        detail = f"The database is unavailable; try again in {RETRY_AFTER} s."
    return problem_response(
        503, detail, headers={"Retry-After": str(RETRY_AFTER)}, request_id=ident
    )


async def _on_database_error(request: Request, exc: Exception) -> ProblemResponse:
    if not unavailable(exc):
        raise exc  # a bug: the 500 of UnexpectedErrorMiddleware, logged with its traceback
    return unavailable_response(exc, request.app.state.settings.statement_timeout)


def install_error_handlers(app: FastAPI) -> None:
    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, _on_database_error)
    app.add_exception_handler(ApiProblem, _on_api_problem)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)


def problem_content() -> dict[str, Any]:
    """The OpenAPI `content` of an error: a Problem, as `application/problem+json` only."""
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


# Documented on every operation, so that generated clients know the error shape.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "model": Problem,
            "description": status_title(status),
            "content": problem_content(),
        }
        for status in statuses
    }
