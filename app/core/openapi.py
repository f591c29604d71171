"""The OpenAPI document, with errors documented as what they are: problem documents."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.core.errors import PROBLEM_MEDIA_TYPE


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
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[0] in "45" and PROBLEM_MEDIA_TYPE in content:
                        response["content"] = {PROBLEM_MEDIA_TYPE: content[PROBLEM_MEDIA_TYPE]}
        app.openapi_schema = schema
    return app.openapi_schema
