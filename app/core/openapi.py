"""The OpenAPI document, with errors documented as what they are: problem documents.

Answers that no single route produces are documented on every operation they can follow:
`304` on every data GET (conditional requests), `405` (another method on the path) and `500`
(a bug, quoting its request id) everywhere.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.core.errors import PROBLEM_MEDIA_TYPE, problem_content
from app.core.http import route_kind

NOT_MODIFIED = {
    "description": "Not Modified: the `If-None-Match` ETag is current; no body. Every data "
    "answer carries an `ETag` that changes only when a seed load changes the data."
}
EVERYWHERE = {
    405: "Method Not Allowed: the path answers only the methods in `Allow`.",
    414: "URI Too Long: the path and query string are over 16 KiB (see the README's Limits).",
    431: "Request Header Fields Too Large: over 100 header fields, or over 16 KiB of them.",
    500: "Internal Server Error: a bug; the problem's `request_id` is the one it was logged under.",
}

# Operations that read or write the database answer 503 when it cannot answer now.
UNAVAILABLE = (
    "Service Unavailable: the database is away, or a statement ran past the time limit "
    "(`PUBAPI_STATEMENT_TIMEOUT`). Try again after `Retry-After` seconds; a consent write is "
    "safe to retry with the same `Idempotency-Key` (a write cut off as it committed may have "
    "been recorded)."
)
DATABASE_FREE = {"/consent/policy"}


def problem_only_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI lists a response `model` under application/json as well; errors are never that."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version=app.openapi_version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
            servers=app.servers,
        )
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                responses = operation.setdefault("responses", {})
                for status, response in responses.items():
                    content = response.get("content", {})
                    if status[0] in "45" and PROBLEM_MEDIA_TYPE in content:
                        response["content"] = {PROBLEM_MEDIA_TYPE: content[PROBLEM_MEDIA_TYPE]}
                if method == "get" and route_kind(path) == "data":
                    responses["304"] = NOT_MODIFIED
                for status, description in EVERYWHERE.items():
                    responses.setdefault(str(status), _problem(description))
                if route_kind(path) in ("data", "consent") and path not in DATABASE_FREE:
                    responses.setdefault("503", _problem(UNAVAILABLE))
                operation["responses"] = dict(sorted(responses.items()))
        app.openapi_schema = schema
    return app.openapi_schema


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": problem_content(),
    }
