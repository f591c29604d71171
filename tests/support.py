"""What several test files share: facts about seed_data/ and helpers for the HTTP API.

Seed facts (seed_data/publications.json, parsed from seed_data/publications-page.txt; ids in
file order): ten publications; every dated one (2, 4, 5, 7, 8, 9) is dated 2025-12-31. Only 1,
4 (Tequila) and 10 (the banner publication) have a title. Venues get ids by first appearance:
1 ICML (2, 7), 2 ICLR (4, 8, 9), 3 the ICLR workshop proposals (5). Authors 1..10 are
Tequila's byline in order; author 11 wrote publication 10.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from app.core.config import PROJECT_ROOT

SEED_DIR = PROJECT_ROOT / "seed_data"

# --- headers every answer carries --------------------------------------------------------------

# app.core.observability.SECURITY_HEADERS, as httpx names them.
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
}
GENERATED_REQUEST_ID = re.compile(r"[0-9a-f]{32}")


def answer_headers(response: Any) -> dict[str, str]:
    """Every header of `response` but the two every answer carries, after checking them: a
    generated request id (which differs per request) and the security headers."""
    headers = dict(response.headers)
    assert GENERATED_REQUEST_ID.fullmatch(headers.pop("x-request-id"))
    for name, value in SECURITY_HEADERS.items():
        assert headers.pop(name) == value, name
    return headers


def body_headers(response: Any) -> dict[str, str]:
    """`content-length`, and `content-encoding: br` from 1 KiB on: httpx accepts br, and the
    server compresses every body of at least 1024 bytes."""
    if len(response.content) >= 1024:
        return {"content-length": str(response.num_bytes_downloaded), "content-encoding": "br"}
    return {"content-length": str(len(response.content))}


# --- seed facts ------------------------------------------------------------------------------

ICML = "International Conference on Machine Learning"
ICLR = "International Conference on Learning Representations"
WORKSHOP = "Workshop Proposals @ International Conference on Learning Representations"
POSTER = "Accept (Poster)"

SPATIAL_TITLE = "Spatial pattern regression for meteorological fields interpolation"
TEQUILA_TITLE = "Tequila: Deadzone-free Ternary Quantization for Large Language Models"
BANNER_TITLE = "Bridging the Expertise Gap: Knowledge Transfer Mechanisms for AI Regulation"

# Tequila's byline (publication 4), in order: authors 1..10.
TEQUILA_AUTHORS = [
    "Hong Huang",
    "Decheng Wu",
    "Rui Cen",
    "Guanghua Yu",
    "Zonghang Li",
    "Kai Liu",
    "Jianchen Zhu",
    "Peng Chen",
    "Xue Liu",
    "Dapeng Wu",
]
# The one author of the banner publication (publication 10): author 11.
BANNER_AUTHOR = "Moritz von Knebel"

TEQUILA_ABSTRACT = (
    "Quantization techniques are essential for the deployment of Large Language Models "
    "(LLMs) on edge devices. However, prevailing methods often rely on mixed-precision "
    "multiplication that lacks efficient hardware support, making it not feasible. "
    "Ternary weight quantization addresses this by constraining weights to {-1, 0, 1}, "
    "replacing expensive multiplications with hardware-efficient additions. However, "
    "such aggressive compression leads to significant accuracy degradation, even after "
    "costly quantization-aware training with massive data. We identify the core issue as "
    "_**deadzone trapping**: a large number of weights are trapped at the deadzone "
    "boundary._ This occurs because these weights receive only noisy, less informative "
    "gradients, preventing stable escape from the deadzone and severely impeding model "
    "capacity and optimization. To address this issue, we propose **Tequila**, a "
    "trapping-free quantization optimization method that reactivates deadzone-trapped "
    "weights by repurposing them as dynamic biases. This allows the repurposed weights "
    "to provide a continuous signal in the forward pass and, critically, receive direct, "
    "meaningful gradient signals during backpropagation, thereby enhancing model "
    "capacity and optimization with nearly _zero_ inference overhead. Extensive "
    "evaluations demonstrate that Tequila outperforms state-of-the-art (SOTA) ternary "
    "quantization methods across five benchmarks. Specifically, on the ARC benchmark, it "
    "achieves"
)

# --- the API's bodies for the seed -----------------------------------------------------------

# The venues as a publication names them.
ICML_REF = {"id": 1, "name": ICML}
ICLR_REF = {"id": 2, "name": ICLR}
WORKSHOP_REF = {"id": 3, "name": WORKSHOP}

TEQUILA = {
    "id": 4,
    "title": TEQUILA_TITLE,
    "abstract": TEQUILA_ABSTRACT,
    "published_on": "2025-12-31",
    "year": 2025,
    "venue": ICLR_REF,
    "status": POSTER,
    # Author n at position n.
    "authors": [
        {"id": n, "name": name, "position": n} for n, name in enumerate(TEQUILA_AUTHORS, start=1)
    ],
}

BANNER = {
    "id": 10,
    "title": BANNER_TITLE,
    "abstract": None,
    "published_on": None,
    "year": None,
    "venue": None,
    "status": None,
    "authors": [{"id": 11, "name": BANNER_AUTHOR, "position": 1}],
}

# --- problems (RFC 9457) ---------------------------------------------------------------------

PROBLEM_TYPE = "application/problem+json"
MALFORMED_CURSOR = "malformed or altered cursor: pass meta.next_cursor unchanged"
FOREIGN_CURSOR = "cursor belongs to another query: keep the same filters and sort"


def unprocessable(loc: list, msg: str, detail: str) -> dict:
    return {
        "type": "about:blank",
        "title": "Unprocessable Content",
        "status": 422,
        "detail": detail,
        "errors": [{"loc": loc, "msg": msg}],
    }


def cursor_problem(msg: str) -> dict:
    return unprocessable(["query", "cursor"], msg, f"cursor: {msg}")


def not_found(detail: str) -> dict:
    return {"type": "about:blank", "title": "Not Found", "status": 404, "detail": detail}


def assert_problem(response, status: int, body: dict) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == PROBLEM_TYPE
    assert response.json() == body


# --- lists and pages -------------------------------------------------------------------------


def ids(body: dict) -> list[int]:
    return [item["id"] for item in body["results"]]


def get_json(client: TestClient, path: str, params=None) -> dict:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/json"
    return response.json()


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


LINK = re.compile(r'<(?P<url>[^>]+)>; rel="next"')


def next_link(response) -> str | None:
    """The URL of the response's `Link: rel="next"` header, None when it has none."""
    header = response.headers.get("link")
    if header is None:
        return None
    match = LINK.fullmatch(header)
    assert match is not None, header
    return match["url"]


# --- checks that every list route passes -----------------------------------------------------


def assert_offset_page(
    client: TestClient,
    path: str,
    *,
    limit: int,
    offset: int,
    total: int,
    expected: list[int],
    more: bool,
) -> None:
    """The page at `offset` of `path` holds `expected`; a next cursor and a Link header just
    when `more` pages follow."""
    response = client.get(path, params={"limit": limit, "offset": offset})
    assert response.status_code == 200
    body = response.json()
    assert ids(body) == expected
    cursor = body["meta"]["next_cursor"]
    assert body["meta"] == {"total": total, "limit": limit, "offset": offset, "next_cursor": cursor}
    assert (cursor is not None) is more
    assert ("link" in response.headers) is more


def assert_offset_with_cursor_is_422(client: TestClient, path: str, limit: int) -> None:
    """`offset` next to a cursor of the same query is refused, and the problem names `offset`."""
    cursor = get_json(client, path, {"limit": limit})["meta"]["next_cursor"]
    msg = "offset and cursor cannot be used together"
    assert_problem(
        client.get(path, params={"limit": limit, "offset": limit, "cursor": cursor}),
        422,
        unprocessable(["query", "offset"], msg, f"offset: {msg}"),
    )


@contextmanager
def recorded_statements(*engines: Engine | None) -> Iterator[list[str]]:
    """Every SQL statement the `engines` (those not None) run inside the block, in order."""
    statements: list[str] = []
    watched = [engine for engine in engines if engine is not None]

    def record(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        statements.append(statement)

    for engine in watched:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in watched:
            event.remove(engine, "before_cursor_execute", record)


def read_engines(app: Any) -> tuple[Engine, Engine | None]:
    """The engines a data request of `app` reads with: its data engine, and on SQLite the
    lean path's own, for pages read in the event loop (app/routers/lean.py)."""
    return app.state.engine, app.state.loop_engine


@contextmanager
def data_statements(app: Any) -> Iterator[list[str]]:
    """Every SQL statement the app's data reads run inside the block: on its data engine, and
    on the lean path's own connections (app/routers/lean.py) when it has them."""
    with recorded_statements(*read_engines(app)) as statements:
        lean = app.state.lean_reads
        if lean is None:
            yield statements
            return
        lean.connection().set_trace_callback(statements.append)
        try:
            yield statements
        finally:
            lean.connection().set_trace_callback(None)
