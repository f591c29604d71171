from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import Field

from app.core.dates import IsoDate
from app.core.deps import CursorDep, SessionDep
from app.core.errors import invalid, not_found, problem_responses
from app.core.pagination import PageDep, fingerprint, paginate
from app.models import Page, PublicationPublic
from app.queries import publications as queries
from app.queries.publications import PublicationFilters, PublicationSort

router = APIRouter(tags=["publications"])

MAX_ID = 2**31 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Publication id.", examples=[4])]


def publication_filters(
    year: Annotated[
        list[Annotated[int, Field(ge=1, le=9999)]] | None,
        Query(description="Publication year; repeat for several.", examples=[2025]),
    ] = None,
    from_date: Annotated[
        IsoDate | None,
        Query(description="Published on or after this date (inclusive).", examples=["2025-01-01"]),
    ] = None,
    to_date: Annotated[
        IsoDate | None,
        Query(description="Published on or before this date (inclusive).", examples=["2025-12-31"]),
    ] = None,
    venue: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None,
        Query(description="Venue id; repeat for several.", examples=[1]),
    ] = None,
    author: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None,
        Query(description="Author id; repeat for several.", examples=[1]),
    ] = None,
    status: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=500)]] | None,
        Query(
            description="Decision as published; repeat for several.",
            examples=["Accept (Poster)"],
        ),
    ] = None,
) -> PublicationFilters:
    if from_date is not None and to_date is not None and from_date > to_date:
        raise invalid(("query", "from_date"), f"from_date {from_date} is after to_date {to_date}")
    return PublicationFilters(
        years=tuple(sorted(set(year or ()))),
        from_date=from_date,
        to_date=to_date,
        venues=tuple(sorted(set(venue or ()))),
        authors=tuple(sorted(set(author or ()))),
        statuses=tuple(sorted(set(status or ()))),
    )


FiltersDep = Annotated[PublicationFilters, Depends(publication_filters)]
SortQuery = Annotated[
    PublicationSort,
    Query(description="Order of the results; ties are broken by id.", examples=["-published_on"]),
]


def publication_page(
    request: Request,
    response: Response,
    session: SessionDep,
    codec: CursorDep,
    filters: PublicationFilters,
    sort: str,
    page: PageDep,
) -> dict[str, object]:
    """Shared by every list of publications: resume from the cursor, wrap in the envelope."""
    return paginate(
        request,
        response,
        codec,
        page,
        fingerprint("publications", sort, filters),
        lambda after: queries.list_publications(
            session, filters, sort, page.limit, page.offset, after
        ),
    )


@router.get(
    "/publications",
    response_model=Page[PublicationPublic],
    operation_id="listPublications",
    responses=problem_responses(422),
)
def list_publications(
    request: Request,
    response: Response,
    session: SessionDep,
    codec: CursorDep,
    filters: FiltersDep,
    page: PageDep,
    sort: SortQuery = "-published_on",
) -> dict[str, object]:
    """List publications, filtered, sorted and paginated."""
    return publication_page(request, response, session, codec, filters, sort, page)


@router.get(
    "/publications/{publication_id}",
    response_model=PublicationPublic,
    operation_id="getPublication",
    responses=problem_responses(404, 422),
)
def get_publication(session: SessionDep, publication_id: IdPath) -> dict[str, object]:
    """Get one publication by id."""
    publication = queries.get_publication(session, publication_id)
    if publication is None:
        raise not_found("publication", publication_id)
    return publication
