"""The floor of the benchmark: FastAPI answering a constant ~5 KB JSON document.

No database, no middleware: what uvicorn and FastAPI cost per request on this machine. The
issue's "hot variants at 25% or more of bare FastAPI" is measured against this app, served by
`uvicorn bench.bare_app:app --workers 1` (uvloop and httptools, as for pubapi).
"""

from typing import Any

from fastapi import FastAPI

# Built once at import, shaped like a page of publications, so that serialising it costs what
# serialising a small real page does.
DOCUMENT: dict[str, Any] = {
    "results": [
        {
            "id": ident,
            "title": f"Benchmark study {ident}",
            "abstract": "Lorem ipsum dolor sit amet.",
            "published_on": f"2025-01-{ident:02d}",
            "year": 2025,
            "venue": {"id": 1, "name": "Conference on Benchmarks"},
            "status": "Accept (Poster)",
            "authors": [{"id": ident, "name": "Ada Lovelace", "position": 1}],
        }
        for ident in range(1, 21)
    ],
    "meta": {"total": 20, "limit": 20, "offset": 0, "next_cursor": None},
}

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/")
async def document() -> dict[str, Any]:
    # `async`: a plain FastAPI handler with no I/O runs in the event loop, not in a thread.
    return DOCUMENT
