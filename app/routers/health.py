from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from app.core.errors import ApiProblem, problem_responses
from app.core.migrations import current_revision, head_revision

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    status: str = Field(examples=["ok"])
    schema_revision: str = Field(description="Alembic revision of the database.")


@router.get(
    "/health",
    response_model=Health,
    operation_id="getHealth",
    summary="Liveness",
    responses=problem_responses(422),
)
def health() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@router.get(
    "/ready",
    response_model=Readiness,
    operation_id="getReadiness",
    summary="Readiness",
    responses=problem_responses(422, 503),
)
def ready(request: Request) -> Readiness:
    """Readiness: the database answers and is migrated to the newest revision."""
    try:
        revision = current_revision(request.app.state.engine)
    except SQLAlchemyError as exc:
        raise ApiProblem(
            503, f"Database unreachable: {type(exc).__name__}.", headers={"Retry-After": "5"}
        ) from None
    if revision != head_revision():
        found = "not migrated" if revision is None else f"at schema revision {revision}"
        raise ApiProblem(
            503,
            f"Database is {found}; expected revision {head_revision()}: run `pubapi migrate`.",
            headers={"Retry-After": "5"},
        )
    return Readiness(status="ok", schema_revision=revision)
