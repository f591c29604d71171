"""Authors and venues: the same shape of resource, one router each, built by one function."""

import dataclasses
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import Table
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.core.caching import not_modified, versioned
from app.core.deps import CursorDep, SessionDep
from app.core.errors import not_found, problem_responses
from app.core.pagination import PageDep, fingerprint, paginate
from app.core.text import SearchText, fold
from app.models import AuthorPublic, Page, PublicationPublic, VenuePublic
from app.models.tables import AUTHOR, VENUE
from app.queries import entities as queries
from app.queries.entities import EntitySort
from app.queries.publications import PublicationFilters
from app.routers.formats import OTHER_FORMATS
from app.routers.publications import (
    MAX_ID,
    FacetsDep,
    FieldsDep,
    FiltersDep,
    PageFormatDep,
    SortDep,
    publication_page,
)


def entity_router(
    *,
    table: Table,
    public: type[Any],
    noun: str,
    plural: str,
    scope: Callable[[PublicationFilters, int], PublicationFilters],
) -> APIRouter:
    router = APIRouter(tags=[plural])
    title = plural.capitalize()
    Noun = noun.capitalize()
    IdPath = Annotated[
        int, Path(alias=f"{noun}_id", ge=1, le=MAX_ID, description=f"{Noun} id.", examples=[1])
    ]

    @router.get(
        f"/{plural}",
        response_model=Page[public],  # type: ignore[valid-type]
        operation_id=f"list{title}",
        responses=problem_responses(422),
        summary=f"List {plural}",
        description=f"List {plural} with their exact publication counts.",
    )
    async def list_entities(
        request: Request,
        response: Response,
        session: SessionDep,
        codec: CursorDep,
        page: PageDep,
        q: Annotated[
            SearchText | None,
            Query(
                description=f"Only {plural} whose name contains this text, ignoring case and "
                "accents (`knebel`, `von knebel` and `KNÉBEL` find Moritz von Knebel).",
                examples=["knebel" if noun == "author" else "learning"],
            ),
        ] = None,
        sort: Annotated[
            EntitySort,
            Query(
                description="`name` (case- and accent-insensitive) or `-publication_count` "
                "(most publications first); ties are broken by id.",
                examples=["name"],
            ),
        ] = "name",
    ) -> dict[str, object]:
        def work(request: Request, session: Session) -> dict[str, object]:
            not_modified(request)
            return paginate(
                request,
                response,
                codec,
                page,
                fingerprint(plural, sort, None if q is None else fold(q)),
                lambda after: queries.list_entities(
                    session, table, sort, page.limit, page.offset, after, q
                ),
            )

        return await run_in_threadpool(versioned(work), request, session)

    @router.get(
        f"/{plural}/{{{noun}_id}}",
        response_model=public,
        operation_id=f"get{Noun}",
        responses=problem_responses(404, 422),
        summary=f"Get one {noun}",
        description=f"One {noun} by id, with its publication count; 404 when there is none.",
    )
    async def get_entity(request: Request, session: SessionDep, ident: IdPath) -> dict[str, object]:
        def work(request: Request, session: Session) -> dict[str, object]:
            found = queries.get_entity(session, table, ident)
            if found is None:
                raise not_found(noun, ident)
            not_modified(request)
            return found

        return await run_in_threadpool(versioned(work), request, session)

    @router.get(
        f"/{plural}/{{{noun}_id}}/publications",
        response_model=Page[PublicationPublic],
        operation_id=f"list{Noun}Publications",
        responses={**OTHER_FORMATS, **problem_responses(404, 406, 422)},
        summary=f"List the publications of one {noun}",
        description=f"Takes the same parameters as `/publications`; 404 when the {noun} "
        "does not exist.",
    )
    async def list_entity_publications(
        request: Request,
        response: Response,
        session: SessionDep,
        codec: CursorDep,
        ident: IdPath,
        filters: FiltersDep,
        page: PageDep,
        fields: FieldsDep,
        facets: FacetsDep,
        sort: SortDep,
        fmt: PageFormatDep,
    ) -> dict[str, Any] | Response:
        def work(request: Request, session: Session) -> dict[str, Any] | Response:
            if queries.get_entity(session, table, ident) is None:
                raise not_found(noun, ident)
            return publication_page(
                request,
                response,
                session,
                codec,
                scope(filters, ident),
                sort,
                page,
                fields,
                facets,
                fmt,
            )

        return await run_in_threadpool(versioned(work), request, session)

    return router


authors_router = entity_router(
    table=AUTHOR,
    public=AuthorPublic,
    noun="author",
    plural="authors",
    scope=lambda filters, ident: dataclasses.replace(filters, scope_author=ident),
)
venues_router = entity_router(
    table=VENUE,
    public=VenuePublic,
    noun="venue",
    plural="venues",
    scope=lambda filters, ident: dataclasses.replace(filters, scope_venue=ident),
)
