from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import AfterValidator, Field

from app.core.dates import IsoDate
from app.core.deps import CursorDep, SessionDep
from app.core.errors import invalid, not_found, problem_responses
from app.core.pagination import PageDep, fingerprint, paginate
from app.core.text import printable
from app.models import Page, PublicationPublic
from app.queries import publications as queries
from app.queries.keyset import MAX_ID
from app.queries.publications import PublicationFilters, PublicationSort

router = APIRouter(tags=["publications"])

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
        list[Annotated[str, Field(min_length=1, max_length=500), AfterValidator(printable)]] | None,
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


def _names(param: str, raw: str, allowed: Sequence[str], noun: str) -> list[str]:
    names = [name.strip() for name in raw.split(",")]
    for name in names:
        if name not in allowed:
            shown = f"unknown {noun} {name!r}" if name else f"empty {noun} name"
            raise invalid(("query", param), f"{shown}; allowed: {', '.join(allowed)}")
    return list(dict.fromkeys(names))


def selected_fields(
    fields: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Comma-separated fields to return (sparse fieldset), of "
            f"`{','.join(queries.FIELDS)}`; all when absent.",
            examples=["id,title,year"],
        ),
    ] = None,
) -> frozenset[str]:
    if fields is None:
        return queries.ALL_FIELDS
    return frozenset(_names("fields", fields, queries.FIELDS, "field"))


def selected_facets(
    facets: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Comma-separated facets to count over the whole filtered set, in "
            f"`meta.facets`, of `{','.join(queries.FACETS)}`.",
            examples=["year,venue"],
        ),
    ] = None,
) -> tuple[str, ...]:
    return () if facets is None else tuple(_names("facets", facets, queries.FACETS, "facet"))


FieldsDep = Annotated[frozenset[str], Depends(selected_fields)]
FacetsDep = Annotated[tuple[str, ...], Depends(selected_facets)]


def publication_page(
    request: Request,
    response: Response,
    session: SessionDep,
    codec: CursorDep,
    filters: PublicationFilters,
    sort: str,
    page: PageDep,
    fields: frozenset[str],
    facets: tuple[str, ...],
) -> dict[str, Any]:
    """Shared by every list of publications: resume from the cursor, wrap in the envelope.

    `fields` and `facets` shape the answer, not the result set: a cursor survives them.
    """
    body = paginate(
        request,
        response,
        codec,
        page,
        fingerprint("publications", sort, filters),
        lambda after: queries.list_publications(
            session, filters, sort, page.limit, page.offset, after, fields
        ),
    )
    if facets:
        body["meta"]["facets"] = queries.facet_counts(session, filters, facets)
    return body


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
    fields: FieldsDep,
    facets: FacetsDep,
    sort: SortQuery = "-published_on",
) -> dict[str, Any]:
    """List publications, filtered, sorted and paginated."""
    return publication_page(request, response, session, codec, filters, sort, page, fields, facets)


@router.get(
    "/publications/{publication_id}",
    response_model=PublicationPublic,
    operation_id="getPublication",
    responses=problem_responses(404, 422),
)
def get_publication(
    session: SessionDep, publication_id: IdPath, fields: FieldsDep
) -> dict[str, Any]:
    """Get one publication by id."""
    publication = queries.get_publication(session, publication_id, fields)
    if publication is None:
        raise not_found("publication", publication_id)
    return publication
