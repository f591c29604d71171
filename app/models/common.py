"""The list envelope and the error shape, shared by every endpoint."""

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class ListMeta(BaseModel):
    total: int = Field(description="Number of results in the whole filtered set.", examples=[10])
    limit: int = Field(examples=[25])
    offset: int | None = Field(
        description="Offset of this page; `null` when the page was reached with a cursor.",
        examples=[0],
    )
    next_cursor: str | None = Field(
        description="Opaque token for the next page, to pass as `cursor`; `null` on the last.",
        examples=[None],
    )


class Page(BaseModel, Generic[T]):
    results: list[T]
    meta: ListMeta


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(
        description="Where: `query`, `path`, `header` or `body`, then the name.",
        examples=[["query", "limit"]],
    )
    msg: str = Field(examples=["Input should be less than or equal to 200"])


class Problem(BaseModel):
    """An RFC 9457 problem document (`application/problem+json`)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", examples=["about:blank"])
    title: str = Field(examples=["Unprocessable Content"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["limit: Input should be less than or equal to 200"])
    errors: list[ValidationIssue] | None = Field(
        default=None, description="For validation failures: each bad parameter or field."
    )

    def body(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)
