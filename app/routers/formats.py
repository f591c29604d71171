"""Publications in other formats than the JSON envelope, for scripts and reference managers.

The representation is chosen by the `format` parameter or, without it, by `Accept`:

* a list endpoint renders the page it would have answered (the `Link` header leads on, the
  `X-Total-Count` header gives the total);
* `/publications/{id}` renders the one publication;
* `/publications/export` streams every publication matching the filters, in constant memory.
"""

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from app.core.caching import check_conditional, not_modified
from app.core.errors import invalid
from app.core.http import is_head
from app.core.negotiation import negotiate
from app.exports.formats import FORMATS, ExportFormat, render_list
from app.queries import publications as queries
from app.queries.publications import PublicationFilters

FormatName = Literal["json", "jsonl", "csv", "bibtex", "ris", "csl-json"]

# Media types that name each format in `Accept`, the first being the one answered.
MEDIA_TYPES: dict[str, tuple[str, ...]] = {
    "json": ("application/json",),
    "jsonl": ("application/jsonl", "application/x-ndjson", "application/ndjson"),
    "csv": ("text/csv",),
    "bibtex": ("application/x-bibtex", "text/x-bibtex"),
    "ris": ("application/x-research-info-systems",),
    "csl-json": ("application/vnd.citationstyles.csl+json",),
}
FORMATS_ALL: tuple[str, ...] = tuple(MEDIA_TYPES)
# What a list or one publication answers by default, and what an export streams by default.
PAGE_OFFERS = MEDIA_TYPES
EXPORT_OFFERS = {"jsonl": MEDIA_TYPES["jsonl"], **MEDIA_TYPES}
EXTENSIONS = {
    "jsonl": "jsonl",
    "json": "json",
    "csv": "csv",
    "bib": "bibtex",
    "ris": "ris",
    "csl.json": "csl-json",
}


# One CSL-JSON item (https://citeproc-js.readthedocs.io/en/latest/csl-json/markup.html).
CSL_ITEM: dict[str, Any] = {
    "type": "object",
    "required": ["id", "type"],
    "properties": {"id": {"type": "string"}, "type": {"type": "string"}},
}


def _content(names: Sequence[str], one: bool = False) -> dict[str, dict[str, Any]]:
    """The OpenAPI `content` of a 200 that can be any of the formats `names`: the JSON ones
    (an export's array of publications, CSL-JSON items) with their shape, the others text."""
    shapes: dict[str, dict[str, Any]] = {
        "json": {"type": "array", "items": {"type": "object"}},
        "csl-json": CSL_ITEM if one else {"type": "array", "items": CSL_ITEM},
    }
    return {
        MEDIA_TYPES[name][0]: {"schema": shapes.get(name, {"type": "string"})} for name in names
    }


# The 200 of every operation that can answer in these formats, for the OpenAPI document.
EXPORT_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {"description": "The publications in the chosen format.", "content": _content(FORMATS_ALL)}
}
# The other representations of the 200 of a list or of one publication (JSON is the model's).
OTHER_FORMATS: dict[int | str, dict[str, Any]] = {200: {"content": _content(FORMATS_ALL[1:])}}
ONE_IN_OTHER_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {"content": _content(FORMATS_ALL[1:], one=True)}
}


def _format_description(default: str) -> str:
    """The `format` parameter's description, naming `default` as the default."""

    def named(name: str) -> str:
        notes = (["JSON Lines"] if name == "jsonl" else []) + (
            ["the default"] if name == default else []
        )
        return f"`{name}`" + (f" ({', '.join(notes)})" if notes else "")

    names = [named(name) for name in FORMATS_ALL]
    accepted = ", ".join(f"`{types[0]}`" for types in MEDIA_TYPES.values())
    return (
        f"Representation of the answer, overriding `Accept`: {', '.join(names[:-1])} or "
        f"{names[-1]}. Without it, `Accept` chooses: {accepted}."
    )


def _negotiated(request: Request, format: str | None, offers: Mapping[str, Sequence[str]]) -> str:
    if format is not None:
        return format
    chosen = negotiate(request.headers.get("accept"), offers)
    if chosen is None:
        offered = ", ".join(types[0] for types in offers.values())
        raise invalid(
            ("header", "Accept"),
            f"none of the offered media types is acceptable: {offered} "
            "(or choose with the `format` parameter)",
            status=406,
        )
    return chosen


async def page_format(
    request: Request,
    format: Annotated[
        FormatName | None, Query(description=_format_description("json"), examples=["bibtex"])
    ] = None,
) -> str:
    return _negotiated(request, format, PAGE_OFFERS)


async def export_format(
    request: Request,
    format: Annotated[
        FormatName | None,
        Query(description=_format_description("jsonl"), examples=["jsonl"]),
    ] = None,
) -> str:
    return _negotiated(request, format, EXPORT_OFFERS)


@dataclass(frozen=True)
class JsonArray(ExportFormat):
    """The API's own JSON publications, as one array: for a stream the envelope cannot hold."""

    def head(self) -> str:
        return "[\n"

    def item(self, pub: Mapping[str, Any], index: int) -> str:
        return ("," if index else "") + FORMATS["jsonl"].item(pub, index)

    def tail(self) -> str:
        return "]\n"


JSON_ARRAY = JsonArray(name="json", media_type="application/json", extension="json")


def export_format_of(name: str) -> ExportFormat:
    return JSON_ARRAY if name == "json" else FORMATS[name]


def check_shape(request: Request, fmt: str) -> None:
    """`fields` shapes JSON only; facets live in the JSON envelope only."""
    if fmt not in ("json", "jsonl") and "fields" in request.query_params:
        raise invalid(("query", "fields"), f"applies to json and jsonl only, not {fmt}")
    if fmt != "json" and "facets" in request.query_params:
        raise invalid(("query", "facets"), f"counts are in the JSON envelope only, not {fmt}")


def with_cite_keys(session: Session, fmt: str, pubs: list[dict[str, Any]]) -> None:
    if fmt in ("json", "jsonl"):
        return
    keys = queries.cite_keys(session, [pub["id"] for pub in pubs])
    for pub in pubs:
        pub["cite_key"] = keys[pub["id"]]


def render_page(session: Session, fmt: str, body: dict[str, Any], response: Response) -> Response:
    """One page of a list in `fmt`, with the envelope's facts moved to headers."""
    exporter = export_format_of(fmt)
    results = body["results"]
    with_cite_keys(session, fmt, results)
    headers = {"X-Total-Count": str(body["meta"]["total"])}
    if "link" in response.headers:
        headers["Link"] = response.headers["link"]
    text = "".join(render_list(exporter, results))
    return Response(text, media_type=exporter.media_type, headers=headers)


def render_one(session: Session, fmt: str, publication: dict[str, Any]) -> Response:
    exporter = export_format_of(fmt)
    with_cite_keys(session, fmt, [publication])
    return Response(exporter.one(publication), media_type=exporter.media_type)


def export_response(
    request: Request,
    filters: PublicationFilters,
    sort: str,
    fields: frozenset[str],
    fmt: str,
) -> StreamingResponse:
    """Stream every match in `fmt` from one read transaction, which the stream closes."""
    check_shape(request, fmt)
    session = Session(request.app.state.engine)
    head = is_head(request.scope)
    try:
        check_conditional(request, session)
        not_modified(request)
        if not head:
            # The query runs, and its first batch comes, before the 200 is sent: a database
            # that is away or too slow still answers a 503, not a cut-off stream.
            rest = queries.iter_publications(session, filters, sort, fields)
            first = next(rest, None)
    except BaseException:
        session.close()
        raise
    exporter = export_format_of(fmt)
    if head:
        # The headers of the export, without reading it all for a body nobody receives. One
        # (empty) chunk still marks it a stream, so that its headers are the GET's (compressed,
        # no Content-Length); HeadAsGetMiddleware drops the body.
        session.close()
        stream: Iterator[bytes] = iter((b"",))
    else:
        batches = itertools.chain([] if first is None else [first], rest)
        stream = _stream(session, exporter, batches)
    return StreamingResponse(
        stream,
        media_type=exporter.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="publications.{exporter.extension}"'
        },
    )


def _stream(
    session: Session,
    exporter: ExportFormat,
    batches: Iterator[list[dict[str, Any]]],
) -> Iterator[bytes]:
    try:
        if head := exporter.head():
            yield head.encode()
        index = 0
        for batch in batches:
            with_cite_keys(session, exporter.name, batch)
            yield "".join(
                exporter.item(pub, index + offset) for offset, pub in enumerate(batch)
            ).encode()
            index += len(batch)
        if tail := exporter.tail():
            yield tail.encode()
    finally:
        session.close()
