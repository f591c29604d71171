"""Hostile input, property-tested: whatever a request carries, the answer is a success or a 4xx
problem naming what was wrong, never a 5xx, and the server stays healthy. The limits are
`app.core.limits`; each is hit exactly here.
"""

import json
import re
import socket
import string
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.limits import (
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_NAME_SEARCH_CHARS,
    MAX_Q_CHARS,
    MAX_QUERY_PARAMS,
    MAX_REPEATS,
    MAX_URL_BYTES,
)
from app.core.migrations import upgrade
from app.main import create_app
from app.queries.publications import FACETS, FIELDS
from app.routers.publications import names_pattern
from tests.conftest import ENGINES, Database
from tests.test_faults import POLICY_VERSION
from tests.test_live_server import clean_env, serving

PROBLEM = "application/problem+json"
EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Every list and lookup a script or a browser can reach with a query string.
PATHS = ["/publications", "/publications/4", "/authors", "/venues", "/publications/export"]
PARAMS = ["q", "year", "venue", "author", "status", "sort", "limit", "offset", "cursor",
          "fields", "facets", "format", "from_date", "to_date", "unknown"]  # fmt: skip
# Anything, control characters and NUL included, and long runs of it.
HOSTILE_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300
) | st.sampled_from(["\x00", "a\x00b", "\x1b[31m", "\u202e", "%00", "../" * 50, "' OR 1=1 --"])


def is_problem(response, status_range: range = range(400, 500)) -> dict:
    assert response.status_code in status_range, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == response.status_code
    assert body["detail"]
    return body


def answered_well(response) -> None:
    """A success, a 304, or a 4xx problem whose errors name where the fault was."""
    if response.status_code < 400:
        return
    body = is_problem(response)
    if response.status_code in (404, 405, 406):
        return
    assert body["errors"], body
    assert all(error["loc"] for error in body["errors"]), body


@EXAMPLES
@given(
    path=st.sampled_from(PATHS),
    pairs=st.lists(st.tuples(st.sampled_from(PARAMS), HOSTILE_TEXT), max_size=6),
)
def test_any_query_string_is_answered_or_refused_by_name(client: TestClient, path, pairs) -> None:
    query = "&".join(f"{quote(name)}={quote(value)}" for name, value in pairs)
    answered_well(client.get(f"{path}?{query}"))
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize("param", ["q", "status", "author_name"])
@pytest.mark.parametrize("bad", ["a\x00b", "\x07bell", "x\x1by"])
def test_nul_and_control_characters_are_refused_by_name(client: TestClient, param, bad) -> None:
    path = "/authors?q=" if param == "author_name" else f"/publications?{param}="
    body = is_problem(client.get(path + quote(bad)))
    # `status` repeats: its loc names the value too (`["query", "status", 0]`).
    assert body["errors"][0]["loc"][:2] == ["query", "q" if param == "author_name" else param]


@EXAMPLES
@given(text=st.text(alphabet=" ,_" + string.ascii_lowercase, max_size=60))
def test_fields_and_facets_accept_exactly_what_their_pattern_says(client, text) -> None:
    """What the OpenAPI document says of `fields` and `facets` is what the server checks, so
    that a fuzzer's schema-valid values are accepted and its invalid ones refused."""
    for param, names in (("fields", FIELDS), ("facets", FACETS)):
        response = client.get(f"/publications?{param}={quote(text)}&limit=1")
        matches = re.fullmatch(names_pattern(names), text) is not None
        assert (response.status_code == 200) == matches, (param, text, response.text[:200])


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("id, title ", 200),
        (" id ,title,id", 200),
        ("id,\ttitle", 422),
        ("id,\ntitle", 422),
        ("id,\u00a0title", 422),
        ("id,", 422),
        (",id", 422),
        ("", 422),
        ("ID", 422),
    ],
)
def test_fields_take_names_and_spaces_only(client: TestClient, value: str, status: int) -> None:
    assert client.get(f"/publications?fields={quote(value)}").status_code == status
    assert (re.fullmatch(names_pattern(FIELDS), value) is not None) == (status == 200)


def test_over_long_search_text_is_refused_by_name(client: TestClient) -> None:
    for path, name, longest in (
        ("/publications", "q", MAX_Q_CHARS),
        ("/authors", "q", MAX_NAME_SEARCH_CHARS),
    ):
        assert client.get(f"{path}?{name}={'a' * longest}").status_code == 200
        body = is_problem(client.get(f"{path}?{name}={'a' * (longest + 1)}"))
        assert body["errors"][0]["loc"] == ["query", name]


def test_the_url_limit(client: TestClient) -> None:
    # "/publications?q=" is 16 bytes; q itself stays under its own limit by using a cursor.
    room = MAX_URL_BYTES - len("/publications?cursor=")
    assert client.get(f"/publications?cursor={'a' * room}").status_code == 422  # a bad cursor
    body = is_problem(client.get(f"/publications?cursor={'a' * (room + 1)}"))
    assert body == {
        "type": "about:blank",
        "title": "URI Too Long",
        "status": 414,
        "detail": f"url: longer than {MAX_URL_BYTES} bytes",
        "errors": [{"loc": ["url"], "msg": f"longer than {MAX_URL_BYTES} bytes"}],
    }


def test_the_header_limits(client: TestClient) -> None:
    many = {f"x-h{i}": "1" for i in range(MAX_HEADERS)}
    body = is_problem(client.get("/publications", headers=many))
    assert body["title"] == "Request Header Fields Too Large"
    assert body["errors"] == [{"loc": ["header"], "msg": f"more than {MAX_HEADERS} header fields"}]
    big = {"x-big": "a" * MAX_HEADER_BYTES}
    body = is_problem(client.get("/publications", headers=big))
    assert body["errors"] == [
        {"loc": ["header"], "msg": f"larger than {MAX_HEADER_BYTES} bytes in all"}
    ]
    assert client.get("/publications", headers={"x-big": "a" * 8000}).status_code == 200


def test_the_parameter_limits(client: TestClient) -> None:
    authors = "&".join(f"author={i}" for i in range(1, MAX_REPEATS + 2))
    body = is_problem(client.get(f"/publications?{authors}"))
    assert body["errors"] == [
        {"loc": ["query", "author"], "msg": f"given {MAX_REPEATS + 1} times; at most {MAX_REPEATS}"}
    ]
    assert client.get(f"/publications?{authors.rsplit('&', 1)[0]}").status_code == 200
    many = "&".join(f"year={2000 + i}" for i in range(MAX_QUERY_PARAMS + 1))
    body = is_problem(client.get(f"/publications?{many}"))
    assert body["errors"] == [
        {"loc": ["query"], "msg": f"{MAX_QUERY_PARAMS + 1} parameters; at most {MAX_QUERY_PARAMS}"}
    ]


def nested(depth: int) -> bytes:
    return b'{"choices":' * depth + b"{}" + b"}" * depth


@pytest.fixture(scope="module", params=ENGINES)
def writer(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """An app on a database of its own, for consent writes, on each engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'pubapi.db'}"
        upgrade(url)
    else:
        url = request.getfixturevalue("postgres_databases").create()
    settings_ = Database(request.param, url).settings()
    settings_ = settings_.model_copy(update={"consent_rate_limit": "1000000/minute"})
    with TestClient(create_app(settings_)) as client:
        yield client


@EXAMPLES
@given(
    body=st.one_of(
        st.binary(max_size=2000),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner),
            max_leaves=30,
        ).map(lambda value: json.dumps(value).encode()),
        st.integers(1, 5000).map(nested),
    ),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "application/x-www-form-urlencoded", "", "json"]
    ),
)
def test_any_consent_body_is_recorded_or_refused_by_name(writer, body, content_type) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = writer.post("/consent", content=body, headers=headers)
    assert writer.get("/health").status_code == 200
    if response.status_code == 201:
        return
    problem = is_problem(response)
    # Size first (the body is never read past the limit), then its type, then its content.
    too_large = len(body) > MAX_BODY_BYTES
    expected = "header" if content_type != "application/json" and not too_large else "body"
    assert problem["errors"][0]["loc"][0] == expected, problem


def test_a_body_over_the_limit_is_413_naming_it(writer) -> None:
    padding = " " * MAX_BODY_BYTES
    body = json.dumps({"policy_version": POLICY_VERSION, "choices": {}}) + padding
    response = writer.post("/consent", content=body, headers={"Content-Type": "application/json"})
    assert is_problem(response)["errors"] == [
        {"loc": ["body"], "msg": f"larger than {MAX_BODY_BYTES} bytes"}
    ]
    assert writer.get("/health").status_code == 200


def raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_what_the_http_parser_refuses_is_a_problem_too(tmp_path: Path) -> None:
    """Past the parser's own limits (a request line over 64 KiB, bytes that are not HTTP),
    uvicorn answers before the app: still a problem document, and the server goes on."""
    with serving(tmp_path, clean_env(PUBAPI_ACCESS_LOG="false")) as (base, _process):
        port = int(base.rsplit(":", 1)[1])
        for request in (
            b"GET /publications?q=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"NOT HTTP AT ALL\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Header Name: x\r\n\r\n",
        ):
            head, _, body = raw(port, request).partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n"), head
            assert b"content-type: application/problem+json" in head
            assert json.loads(body)["status"] == 400
        # Over the app's limits but under the parser's: the app's problems.
        head, _, body = raw(
            port,
            b"GET /publications?cursor=" + b"a" * MAX_URL_BYTES + b" HTTP/1.1\r\nHost: x\r\n"
            b"Connection: close\r\n\r\n",
        ).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 414 "), head
        assert json.loads(body)["errors"] == [
            {"loc": ["url"], "msg": f"longer than {MAX_URL_BYTES} bytes"}
        ]
        assert raw(
            port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ).startswith(b"HTTP/1.1 200 OK")
