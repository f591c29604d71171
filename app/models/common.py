"""The list envelope and the error shape, shared by every endpoint."""

from typing import Annotated, Any, Generic, NotRequired, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

T = TypeVar("T")


class FacetBucket(TypedDict):
    value: Annotated[
        int | str | None, Field(description="The year, venue id, status or author id.")
    ]
    name: NotRequired[Annotated[str | None, Field(description="Venue or author name.")]]
    count: Annotated[int, Field(description="Results in the filtered set with this value.")]


class ListMeta(TypedDict):
    total: Annotated[
        int, Field(description="Number of results in the whole filtered set.", examples=[10])
    ]
    limit: Annotated[int, Field(examples=[25])]
    offset: Annotated[
        int | None,
        Field(
            description="Offset of this page; `null` when the page was reached with a cursor.",
            examples=[0],
        ),
    ]
    next_cursor: Annotated[
        str | None,
        Field(
            description="Opaque token for the next page, to pass as `cursor`; `null` on the last.",
            examples=[None],
        ),
    ]
    facets: NotRequired[
        Annotated[
            dict[str, list[FacetBucket]],
            Field(
                description="With `facets`: counts over the whole filtered set, most frequent "
                "first (then by value), at most 100 buckets per facet.",
                examples=[{"year": [{"value": 2025, "count": 6}]}],
            ),
        ]
    ]


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
    request_id: str | None = Field(
        default=None,
        description="With a 500 or a 503: the id of the failed request (also in "
        "`X-Request-ID`), to quote when reporting it; the server logged the error under the "
        "same id.",
        examples=["5f0c3c1e9b8d4c1fa2e7d6b5a4c3b2a1"],
    )

    def body(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)
