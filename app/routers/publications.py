from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator, Field
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.core.caching import not_modified, versioned
from app.core.dates import IsoDate
from app.core.deps import CursorDep, SessionDep
from app.core.errors import invalid, not_found, problem_responses
from app.core.limits import MAX_NAMES_CHARS, MAX_Q_CHARS
from app.core.pagination import PageDep, fingerprint, paginate
from app.core.search import parse_query
from app.core.text import printable
from app.models import Page, PublicationPublic
from app.queries import publications as queries
from app.queries.keyset import MAX_ID
from app.queries.publications import PublicationFilters, PublicationSort
from app.routers import formats

router = APIRouter(tags=["publications"])

IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Publication id.", examples=[4])]


async def publication_filters(
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_Q_CHARS,
            description="Full-text search over title, abstract and author names, ranked by "
            "relevance. Plain text, never query syntax: words match whatever their case, "
            'accents or English inflection; "quoted words" match as a phrase; the last word, '
            "while it is being typed, matches as a prefix (`tern` finds Ternary). Each result "
            "then has a `snippet`.",
            examples=["ternary quantization"],
        ),
    ] = None,
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
    search = None
    if q is not None:
        try:
            search = parse_query(printable(q))
        except ValueError as exc:
            raise invalid(("query", "q"), str(exc)) from None
    return PublicationFilters(
        search=search,
        years=tuple(sorted(set(year or ()))),
        from_date=from_date,
        to_date=to_date,
        venues=tuple(sorted(set(venue or ()))),
        authors=tuple(sorted(set(author or ()))),
        statuses=tuple(sorted(set(status or ()))),
    )


FiltersDep = Annotated[PublicationFilters, Depends(publication_filters)]


def names_pattern(allowed: Sequence[str]) -> str:
    """The regular expression of a comma-separated list of `allowed` names (spaces around the
    commas allowed), for the OpenAPI document: `_names` accepts exactly what it matches."""
    name = f"({'|'.join(allowed)})"
    return f"^ *{name} *(, *{name} *)*$"


def _names(param: str, raw: str, allowed: Sequence[str], noun: str) -> list[str]:
    names = [name.strip(" ") for name in raw.split(",")]
    for name in names:
        if name not in allowed:
            shown = f"unknown {noun} {name!r}" if name else f"empty {noun} name"
            raise invalid(("query", param), f"{shown}; allowed: {', '.join(allowed)}")
    return list(dict.fromkeys(names))


async def selected_fields(
    fields: Annotated[
        str | None,
        Query(
            max_length=MAX_NAMES_CHARS,
            description="Comma-separated fields to return (sparse fieldset), of "
            f"`{','.join(queries.SEARCH_FIELDS)}` (`snippet` with `q` only); all when absent.",
            examples=["id,title,year"],
            json_schema_extra={"pattern": names_pattern(queries.SEARCH_FIELDS)},
        ),
    ] = None,
    q: Annotated[str | None, Query(include_in_schema=False)] = None,
) -> frozenset[str]:
    return _fields(fields, queries.FIELDS if q is None else queries.SEARCH_FIELDS)


def _fields(fields: str | None, allowed: Sequence[str]) -> frozenset[str]:
    if fields is None:
        return frozenset(allowed)
    return frozenset(_names("fields", fields, allowed, "field"))


async def one_publication_fields(
    fields: Annotated[
        str | None,
        Query(
            max_length=MAX_NAMES_CHARS,
            description="Comma-separated fields to return (sparse fieldset), of "
            f"`{','.join(queries.FIELDS)}`; all when absent.",
            examples=["id,title,year"],
            json_schema_extra={"pattern": names_pattern(queries.FIELDS)},
        ),
    ] = None,
) -> frozenset[str]:
    return _fields(fields, queries.FIELDS)


async def resolved_sort(
    sort: Annotated[
        PublicationSort | None,
        Query(
            description="Order of the results; ties are broken by id. Default: `relevance` "
            "with `q` (which it needs), `-published_on` without.",
            examples=["-published_on"],
        ),
    ] = None,
    q: Annotated[str | None, Query(include_in_schema=False)] = None,
) -> str:
    if sort == "relevance" and q is None:
        raise invalid(("query", "sort"), "relevance needs q: there is nothing to rank by")
    return sort or ("relevance" if q is not None else "-published_on")


async def selected_facets(
    facets: Annotated[
        str | None,
        Query(
            max_length=MAX_NAMES_CHARS,
            description="Comma-separated facets to count over the whole filtered set, in "
            f"`meta.facets`, of `{','.join(queries.FACETS)}`.",
            examples=["year,venue"],
            json_schema_extra={"pattern": names_pattern(queries.FACETS)},
        ),
    ] = None,
) -> tuple[str, ...]:
    return () if facets is None else tuple(_names("facets", facets, queries.FACETS, "facet"))


FieldsDep = Annotated[frozenset[str], Depends(selected_fields)]
PageFormatDep = Annotated[str, Depends(formats.page_format)]
SortDep = Annotated[str, Depends(resolved_sort)]
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
    fmt: str = "json",
) -> dict[str, Any] | Response:
    """Shared by every list of publications: resume from the cursor, wrap in the envelope
    (or render the page in another format).

    `fields`, `facets` and the format shape the answer, not the result set: a cursor survives
    them.
    """
    formats.check_shape(request, fmt)
    not_modified(request)
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
    if fmt != "json":
        return formats.render_page(session, fmt, body, response)
    if facets:
        body["meta"]["facets"] = queries.facet_counts(session, filters, facets)
    return body


@router.get(
    "/publications",
    response_model=Page[PublicationPublic],
    operation_id="listPublications",
    summary="List publications",
    responses={**formats.OTHER_FORMATS, **problem_responses(406, 422)},
)
async def list_publications(
    request: Request,
    response: Response,
    session: SessionDep,
    codec: CursorDep,
    filters: FiltersDep,
    page: PageDep,
    fields: FieldsDep,
    facets: FacetsDep,
    sort: SortDep,
    fmt: PageFormatDep,
) -> dict[str, Any] | Response:
    """Publications, filtered (filters combine with AND; a repeated parameter is OR within
    itself), sorted, and paginated by `offset` (numbered pages) or `cursor` (constant cost at
    any depth; the `Link` header carries the next page's URL). With `q`, a full-text search
    ranked by relevance, each result with a `snippet`. `facets` adds counts over the whole
    filtered set. `format` (or `Accept`) renders the page as JSON Lines, CSV, BibTeX, RIS or
    CSL-JSON instead of the JSON envelope. Answers carry an ETag: revalidate with
    `If-None-Match` for a bodiless 304.
    """
    return await run_in_threadpool(
        versioned(publication_page),
        request,
        response,
        session,
        codec,
        filters,
        sort,
        page,
        fields,
        facets,
        fmt,
    )


@router.get(
    "/publications/{publication_id}",
    response_model=PublicationPublic,
    operation_id="getPublication",
    summary="Get one publication",
    responses={**formats.ONE_IN_OTHER_FORMATS, **problem_responses(404, 406, 422)},
)
async def get_publication(
    request: Request,
    session: SessionDep,
    publication_id: IdPath,
    fields: Annotated[frozenset[str], Depends(one_publication_fields)],
    fmt: PageFormatDep,
) -> dict[str, Any] | Response:
    """One publication by id, with its venue and byline; 404 when there is none. `fields` picks
    the fields; `format` (or `Accept`) renders it as BibTeX, RIS, CSL-JSON, CSV or JSON Lines.
    """
    return await run_in_threadpool(
        versioned(one_publication), request, session, publication_id, fields, fmt
    )


def one_publication(
    request: Request,
    session: Session,
    publication_id: int,
    fields: frozenset[str],
    fmt: str,
) -> dict[str, Any] | Response:
    formats.check_shape(request, fmt)
    publication = queries.get_publication(session, publication_id, fields)
    if publication is None:
        raise not_found("publication", publication_id)
    not_modified(request)
    if fmt != "json":
        return formats.render_one(session, fmt, publication)
    return publication


# Streams hold their own read transaction (see formats.export_response): no shared dependency.
export_router = APIRouter(tags=["publications"])
ExtensionPath = Annotated[
    Literal["jsonl", "json", "csv", "bib", "ris", "csl.json"],
    Path(
        description="The format: `jsonl` (JSON Lines), `json` (one array), `csv`, `bib` "
        "(BibTeX), `ris` or `csl.json` (CSL-JSON).",
        examples=["jsonl"],
    ),
]


@export_router.get(
    "/publications/export",
    operation_id="exportPublications",
    summary="Export every matching publication",
    response_class=StreamingResponse,
    responses={**formats.EXPORT_CONTENT, **problem_responses(406, 422)},
)
def export_publications(
    request: Request,
    filters: FiltersDep,
    fields: FieldsDep,
    sort: SortDep,
    fmt: Annotated[str, Depends(formats.export_format)],
) -> StreamingResponse:
    """Every publication matching the filters (those of `/publications`), in `sort` order, as
    one streamed document: JSON Lines by default, or what `format` or `Accept` chooses. Memory
    stays constant however many match; the whole stream comes from one snapshot of the data.
    """
    return formats.export_response(request, filters, sort, fields, fmt)


@export_router.get(
    "/publications/export.{extension}",
    operation_id="exportPublicationsAs",
    summary="Export every matching publication, format by extension",
    response_class=StreamingResponse,
    responses={**formats.EXPORT_CONTENT, **problem_responses(422)},
)
def export_publications_as(
    request: Request,
    extension: ExtensionPath,
    filters: FiltersDep,
    fields: FieldsDep,
    sort: SortDep,
) -> StreamingResponse:
    """`/publications/export` with the format named by the extension: `export.jsonl`,
    `export.json` (one array), `export.csv`, `export.bib`, `export.ris` or `export.csl.json`;
    handy for `curl -O` and for links a browser downloads.
    """
    return formats.export_response(request, filters, sort, fields, formats.EXTENSIONS[extension])
