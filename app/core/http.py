"""HTTP behaviour shared by every route: HEAD for every GET, and strict query strings."""

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import invalid


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

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


def _query_params(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub_dependant in dependant.dependencies:
        names |= _query_params(sub_dependant)
    return names


def _declared_query_params(route: APIRoute) -> frozenset[str]:
    declared: frozenset[str] | None = getattr(route, "_pubapi_query_params", None)
    if declared is None:
        declared = frozenset(_query_params(route.dependant))
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
