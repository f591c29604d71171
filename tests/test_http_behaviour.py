"""HTTP behaviour every answer shares: validators and 304s, compression, CORS, security headers,
request ids, the access log and the 500 problem.

Data answers are checked on both engines (the `client` fixture, or an app of our own on
`seeded_db` / `empty_db`); everything is asserted whole: status, every header, the body.
"""

import base64
import gzip
import hashlib
import json
import logging
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.core.config import PROJECT_ROOT, Settings
from app.main import create_app
from app.queries import entities as entity_queries
from app.seed import loader
from tests.conftest import Database
from tests.support import GENERATED_REQUEST_ID, PROBLEM_TYPE, SECURITY_HEADERS, answer_headers
from tests.test_live_server import PUBAPI, clean_env, free_port, serving

TAG = re.compile(r'"[0-9a-f]{32}"')
DATA_VARY = "Accept, Accept-Encoding, Origin"
OTHER_VARY = "Accept-Encoding, Origin"
PUBLIC = "public, max-age=60"
IDENTITY = {"Accept-Encoding": "identity"}
SITE = "https://site.example"
EVIL = "https://evil.example"
EXPOSED = "ETag, Link, Retry-After, X-Request-ID, X-Total-Count"
POLICY_VERSION: str = json.loads(
    (PROJECT_ROOT / "seed_data" / "consent-policy.json").read_text(encoding="utf-8")
)["version"]

# Every kind of data GET, with the media type it answers.
DATA_ROUTES = {
    "/publications": "application/json",
    "/publications/4": "application/json",
    "/authors": "application/json",
    "/authors/1": "application/json",
    "/venues": "application/json",
    "/venues/2": "application/json",
    "/authors/1/publications": "application/json",
    "/venues/2/publications": "application/json",
    "/publications/export.jsonl": "application/jsonl",
}
EXPORT_DISPOSITION = 'attachment; filename="publications.jsonl"'

# Errors of data routes: (method, path, headers, status, extra headers).
DATA_ERRORS = [
    pytest.param("GET", "/publications/99", {}, 404, {}, id="404-publication"),
    pytest.param("GET", "/authors/99", {}, 404, {}, id="404-author"),
    pytest.param("GET", "/venues/99/publications", {}, 404, {}, id="404-scoped"),
    pytest.param("GET", "/publications?limit=0", {}, 422, {}, id="422-param"),
    pytest.param("GET", "/publications?yaer=2025", {}, 422, {}, id="422-unknown-param"),
    pytest.param("GET", "/publications/export.xyz", {}, 422, {}, id="422-export"),
    pytest.param("GET", "/publications", {"Accept": "image/png"}, 406, {}, id="406"),
    pytest.param("POST", "/publications", {}, 405, {"allow": "GET, HEAD"}, id="405"),
]


def raw_get(client: TestClient, path: str, headers: dict[str, str]) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent, before httpx undoes any content coding."""
    with client.stream("GET", path, headers=headers) as response:
        raw = b"".join(response.iter_raw())
    return response, raw


def validators(tag: str, max_age: int = 60) -> dict[str, str]:
    return {"etag": tag, "cache-control": f"public, max-age={max_age}", "vary": DATA_VARY}


def tag_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text[:300]
    tag = response.headers["etag"]
    assert TAG.fullmatch(tag), tag
    return tag


@contextmanager
def app_client(database: Database, **settings: Any) -> Iterator[TestClient]:
    settings.setdefault("data_version_ttl", 0)  # a load shows at once
    configured = Settings(_env_file=None, database_url=database.url, **settings)
    with TestClient(create_app(configured)) as client:
        yield client


def access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "pubapi.access"]


# --- 1. ETags, 304s and Cache-Control ---------------------------------------------------------


@pytest.mark.parametrize("path", list(DATA_ROUTES))
def test_data_answers_carry_validators_and_revalidate_to_304(client: TestClient, path: str):
    first = client.get(path, headers=IDENTITY)
    tag = tag_of(first)
    expected = {"content-type": DATA_ROUTES[path], **validators(tag)}
    if path.endswith(".jsonl"):
        expected["content-disposition"] = EXPORT_DISPOSITION
    else:
        expected["content-length"] = str(len(first.content))
    assert answer_headers(first) == expected
    # The same request again: the same tag and the same body.
    again = client.get(path, headers=IDENTITY)
    assert answer_headers(again) == expected
    assert again.content == first.content
    # HEAD is GET without the body: the same validators.
    head = client.head(path, headers=IDENTITY)
    assert head.status_code == 200
    assert head.content == b""
    assert answer_headers(head) == expected

    for if_none_match in [tag, f"W/{tag}", f'"x", {tag}', f'"x",{tag}', "*"]:
        conditional = {**IDENTITY, "If-None-Match": if_none_match}
        for method in ("GET", "HEAD"):
            response = client.request(method, path, headers=conditional)
            assert response.status_code == 304, (method, if_none_match)
            assert response.content == b""
            assert answer_headers(response) == validators(tag), (method, if_none_match)

    # A tag of another answer, or none the server ever made: the full answer.
    # The current tag with its last digit changed, and tags the server never made.
    altered = tag[:-2] + ("1" if tag[-2] == "0" else "0") + '"'
    for stale in [altered, f"W/{altered}", '"00000000000000000000000000000000"', '"x", "y"']:
        response = client.get(path, headers={**IDENTITY, "If-None-Match": stale})
        assert response.status_code == 200, stale
        assert answer_headers(response) == expected
        assert response.content == first.content


def test_the_tag_names_query_accept_and_negotiated_encoding(client: TestClient):
    def tag(query: str, accept: str = "application/json", encoding: str = "identity") -> str:
        headers = {"Accept": accept, "Accept-Encoding": encoding}
        return tag_of(client.get(f"/publications?{query}", headers=headers))

    base = tag("limit=5")
    variants = {
        "query": tag("limit=6"),
        "query order": tag("offset=0&limit=5"),
        "query with offset": tag("limit=5&offset=0"),
        "accept": tag("limit=5", accept="*/*"),
        "gzip": tag("limit=5", encoding="gzip"),
        "br": tag("limit=5", encoding="br"),
    }
    assert len({base, *variants.values()}) == 7, variants
    # The negotiated coding counts, not how the header spells it.
    assert tag("limit=5", encoding="gzip, deflate") == variants["gzip"]
    assert tag("limit=5", encoding="br;q=0, gzip") == variants["gzip"]
    assert tag("limit=5", encoding="gzip;q=0") == base
    assert tag("limit=5", encoding="") == base
    assert tag("limit=5", encoding="*") == variants["br"]
    # A tag revalidates only the representation it was given for.
    gzip_headers = {"Accept": "application/json", "Accept-Encoding": "gzip"}
    brotli_headers = {**gzip_headers, "Accept-Encoding": "br"}
    stale = client.get(
        "/publications?limit=5", headers={**brotli_headers, "If-None-Match": variants["gzip"]}
    )
    assert stale.status_code == 200
    assert stale.headers["etag"] == variants["br"]
    fresh = client.get(
        "/publications?limit=5", headers={**gzip_headers, "If-None-Match": variants["gzip"]}
    )
    assert fresh.status_code == 304
    assert answer_headers(fresh) == validators(variants["gzip"])


@pytest.mark.parametrize(("method", "path", "headers", "status", "extra"), DATA_ERRORS)
def test_errors_of_data_routes_are_not_stored(client, method, path, headers, status, extra):
    response = client.request(method, path, headers={**IDENTITY, **headers})
    assert response.status_code == status, response.text[:300]
    assert response.json()["status"] == status
    assert answer_headers(response) == {
        "content-length": str(len(response.content)),
        "content-type": PROBLEM_TYPE,
        "vary": DATA_VARY,
        "cache-control": "no-store",
        **extra,
    }


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "extra"),
    [case for case in DATA_ERRORS if case.values[0] == "GET"],
)
def test_if_none_match_does_not_turn_an_error_into_a_304(
    client, method, path, headers, status, extra
):
    """RFC 9110 §13.2.1: preconditions are ignored when the answer without them would not be a
    2xx. `If-None-Match: *` on a publication that does not exist is still a 404, not a 304
    that tells a cache its (absent) copy is current."""
    plain = client.request(method, path, headers={**IDENTITY, **headers})
    conditional = client.request(
        method, path, headers={**IDENTITY, **headers, "If-None-Match": "*"}
    )
    assert (conditional.status_code, conditional.content) == (status, plain.content)
    assert answer_headers(conditional) == answer_headers(plain)


@pytest.mark.parametrize("path", ["/health", "/ready", "/consent/policy"])
def test_health_and_consent_answers_are_never_stored(client: TestClient, path: str):
    response = client.get(path, headers=IDENTITY)
    assert response.status_code == 200
    assert answer_headers(response) == {
        "content-length": str(len(response.content)),
        "content-type": "application/json",
        "vary": OTHER_VARY,
        "cache-control": "no-store",
    }
    # Not a data answer: no validator, so If-None-Match changes nothing.
    again = client.get(path, headers={**IDENTITY, "If-None-Match": "*"})
    assert again.status_code == 200
    assert again.content == response.content


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def test_the_tag_changes_when_and_only_when_a_load_changes_data(empty_db: Database, tmp_path: Path):
    records: list[dict[str, Any]] = [
        {"key": "first", "title": "First", "authors": ["Ann Example"]},
        {"key": "second", "title": "Second", "published_on": "2024-05-01"},
    ]
    seed = write_jsonl(tmp_path / "publications.jsonl", records)
    engine = empty_db.engine()
    try:
        with app_client(empty_db, cache_max_age=5) as client:

            def current() -> str:
                return tag_of(client.get("/publications", headers=IDENTITY))

            def revalidate(tag: str) -> httpx.Response:
                return client.get("/publications", headers={**IDENTITY, "If-None-Match": tag})

            empty = current()
            report = loader.load(engine, [seed])
            assert (report.inserted, report.data_version) == (2, 1)
            loaded = client.get("/publications", headers=IDENTITY)
            tag = tag_of(loaded)
            assert tag != empty
            assert answer_headers(loaded) == {
                "content-length": str(len(loaded.content)),
                "content-type": "application/json",
                **validators(tag, max_age=5),
            }

            # The same file again changes nothing: the same version, the same tag, a 304.
            report = loader.load(engine, [seed])
            assert (report.unchanged, report.changed, report.data_version) == (2, False, 1)
            assert current() == tag
            not_modified = revalidate(tag)
            assert not_modified.status_code == 304
            assert answer_headers(not_modified) == validators(tag, max_age=5)
            # A consent write is no data change either.
            consent = client.post(
                "/consent", json={"policy_version": POLICY_VERSION, "choices": {}}
            )
            assert consent.status_code == 201, consent.text
            assert current() == tag

            # One changed record: a new version, a new tag; the old one gets the full answer.
            records[0]["title"] = "First, revised"
            report = loader.load(engine, [write_jsonl(seed, records)])
            assert (report.updated, report.data_version) == (1, 2)
            changed = revalidate(tag)
            assert changed.status_code == 200
            new_tag = tag_of(changed)
            assert new_tag not in (tag, empty)
            assert [p["title"] for p in changed.json()["results"]] == ["Second", "First, revised"]
            assert revalidate(new_tag).status_code == 304
        # Another server on the same data computes the same tag.
        with app_client(empty_db) as other:
            assert tag_of(other.get("/publications", headers=IDENTITY)) == new_tag
    finally:
        engine.dispose()


# --- 2. compression ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_encoding", "coding"),
    [
        ("gzip", "gzip"),
        ("br", "br"),
        ("br;q=0, gzip", "gzip"),
        ("gzip;q=0", None),
        ("*", "br"),
        ("identity", None),
        ("gzip;q=0.5, br;q=0.8", "br"),
        ("br;q=0.5, gzip", "gzip"),
    ],
)
def test_compression_follows_the_clients_weights(client, accept_encoding, coding):
    _plain, identity = raw_get(client, "/publications", IDENTITY)
    assert len(identity) > 1024
    response, raw = raw_get(client, "/publications", {"Accept-Encoding": accept_encoding})
    assert response.status_code == 200
    decoded = {"gzip": gzip.decompress, "br": brotli.decompress, None: bytes}[coding](raw)
    assert decoded == identity
    headers = answer_headers(response)
    assert headers.pop("content-encoding", None) == coding
    assert headers.pop("content-length") == str(len(raw))
    assert headers == {"content-type": "application/json", **validators(headers["etag"])}
    if coding is not None:
        assert len(raw) < len(identity)


@pytest.mark.parametrize("accept_encoding", ["br", "gzip", "*"])
@pytest.mark.parametrize("path", ["/publications/4?fields=id", "/health", "/publications/99"])
def test_bodies_under_1_kib_are_never_compressed(client, accept_encoding, path):
    response, raw = raw_get(client, path, {"Accept-Encoding": accept_encoding})
    assert len(raw) < 1024
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == str(len(raw))
    assert raw == client.get(path, headers=IDENTITY).content


@pytest.mark.parametrize(
    ("method", "path", "vary"),
    [
        ("GET", "/publications", DATA_VARY),
        ("GET", "/publications/99", DATA_VARY),
        ("GET", "/authors", DATA_VARY),
        ("GET", "/consent/policy", OTHER_VARY),
        ("GET", "/consent/not-a-uuid", OTHER_VARY),
        ("GET", "/health", OTHER_VARY),
        ("GET", "/ready", OTHER_VARY),
        ("GET", "/nope", OTHER_VARY),
        ("GET", "/openapi.json", OTHER_VARY),
        ("GET", "/docs", OTHER_VARY),
        ("POST", "/health", OTHER_VARY),
    ],
)
@pytest.mark.parametrize("accept_encoding", ["identity", "br"])
def test_every_answer_varies_on_accept_encoding(client, method, path, vary, accept_encoding):
    response = client.request(method, path, headers={"Accept-Encoding": accept_encoding})
    assert response.headers["vary"] == vary


@pytest.mark.parametrize(("accept_encoding", "decode"), [("gzip", gzip.decompress), ("br", None)])
def test_a_compressed_export_stream_decodes_to_the_identity_stream(client, accept_encoding, decode):
    path = "/publications/export.jsonl"
    _plain, identity = raw_get(client, path, IDENTITY)
    assert len(identity.splitlines()) == 10
    response, raw = raw_get(client, path, {"Accept-Encoding": accept_encoding})
    assert response.status_code == 200
    assert (decode or brotli.decompress)(raw) == identity
    headers = answer_headers(response)
    assert headers == {
        "content-type": "application/jsonl",
        "content-disposition": EXPORT_DISPOSITION,
        "content-encoding": accept_encoding,
        **validators(headers["etag"]),
    }


# --- 3. CORS ----------------------------------------------------------------------------------


def preflight(client: TestClient, origin: str) -> httpx.Response:
    return client.options(
        "/publications",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "If-None-Match",
        },
    )


PREFLIGHT_HEADERS = {
    "vary": "Accept, Access-Control-Request-Headers, Access-Control-Request-Method, "
    "Access-Control-Request-Private-Network, Origin",
    "access-control-allow-methods": "GET, HEAD",
    "access-control-max-age": "86400",
    "access-control-allow-headers": "Accept, Accept-Language, Content-Language, Content-Type, "
    "If-None-Match, X-Request-ID",
    "cache-control": "no-store",
}


@pytest.mark.parametrize("credentials", [False, True], ids=["no-credentials", "credentials"])
def test_configured_cors_origins_on_data_routes(seeded_db: Database, credentials: bool):
    with app_client(seeded_db, cors_origins=[SITE], cors_allow_credentials=credentials) as client:
        allowed = client.get("/publications/4?fields=id", headers={"Origin": SITE})
        other = client.get("/publications/4?fields=id", headers={"Origin": EVIL})
        admitted = preflight(client, SITE)
        refused = preflight(client, EVIL)
    creds = {"access-control-allow-credentials": "true"} if credentials else {}
    simple = {
        "content-length": "8",
        "content-type": "application/json",
        "access-control-expose-headers": EXPOSED,
        **creds,
        **validators(allowed.headers["etag"]),
    }
    assert allowed.json() == {"id": 4}
    assert answer_headers(allowed) == {**simple, "access-control-allow-origin": SITE}
    assert other.json() == {"id": 4}
    assert answer_headers(other) == simple
    assert other.headers["etag"] == allowed.headers["etag"]

    assert admitted.status_code == 200
    assert admitted.text == "OK"
    assert answer_headers(admitted) == {
        **PREFLIGHT_HEADERS,
        **creds,
        "access-control-allow-origin": SITE,
        "content-length": "2",
        "content-type": "text/plain; charset=utf-8",
    }
    assert refused.status_code == 400
    body = {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "CORS preflight refused: Disallowed CORS origin.",
    }
    assert refused.json() == body
    assert answer_headers(refused) == {
        **PREFLIGHT_HEADERS,
        **creds,
        "content-length": str(len(refused.content)),
        "content-type": PROBLEM_TYPE,
    }


@pytest.mark.parametrize("origins", [None, ["*"], [SITE, "*"]])
def test_credentials_for_every_origin_are_refused(origins: list[str] | None):
    given: dict[str, Any] = {} if origins is None else {"cors_origins": origins}
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, cors_allow_credentials=True, **given)
    assert "PUBAPI_CORS_ALLOW_CREDENTIALS needs explicit PUBAPI_CORS_ORIGINS" in str(refused.value)


def test_serve_refuses_to_start_with_credentials_for_every_origin(tmp_path: Path):
    result = subprocess.run(
        [PUBAPI, "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=clean_env(PUBAPI_CORS_ALLOW_CREDENTIALS="true"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "PUBAPI_CORS_ALLOW_CREDENTIALS needs explicit PUBAPI_CORS_ORIGINS" in result.stderr
    # Refused before touching anything: no database was created.
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("https://a.example, https://b.example", ["https://a.example", "https://b.example"]),
        ("https://a.example,,https://b.example ,", ["https://a.example", "https://b.example"]),
        ('["https://a.example", "https://b.example"]', ["https://a.example", "https://b.example"]),
        ("*", ["*"]),
    ],
)
def test_cors_origins_from_the_environment(monkeypatch, value, origins):
    monkeypatch.setenv("PUBAPI_CORS_ORIGINS", value)
    assert Settings(_env_file=None).cors_origins == origins


def test_cache_max_age_from_the_environment(monkeypatch):
    monkeypatch.setenv("PUBAPI_CACHE_MAX_AGE", "5")
    assert Settings(_env_file=None).cache_max_age == 5
    monkeypatch.setenv("PUBAPI_CACHE_MAX_AGE", "-1")
    with pytest.raises(ValidationError, match="cache_max_age"):
        Settings(_env_file=None)


def test_credentials_from_the_environment_with_explicit_origins(monkeypatch):
    monkeypatch.setenv("PUBAPI_CORS_ORIGINS", SITE)
    monkeypatch.setenv("PUBAPI_CORS_ALLOW_CREDENTIALS", "true")
    settings = Settings(_env_file=None)
    assert (settings.cors_origins, settings.cors_allow_credentials) == ([SITE], True)


# --- 4. security headers ----------------------------------------------------------------------

FRAME_ONLY = SECURITY_HEADERS["content-security-policy"]


def docs_policy(page: bytes) -> tuple[str, int]:
    """The docs pages' policy, its script hashes computed from the page as served."""
    inline = re.findall(rb"<script>(.*?)</script>", page, flags=re.DOTALL)
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode('ascii')}'"
        for body in inline
    )
    policy = (
        "default-src 'none'; "
        f"script-src 'self'{hashes}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; "
        "font-src 'self' data:; "
        "connect-src 'self'; "
        "worker-src 'self' blob:; "
        "base-uri 'none'; "
        "form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return policy, len(inline)


def assert_security_headers(response: httpx.Response, csp: str = FRAME_ONLY) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers.get_list("content-security-policy") == [csp]


def test_security_headers_on_every_answer(client: TestClient):
    ok = client.get("/publications/4?fields=id")
    answers = {
        "data 200": ok,
        "data 304": client.get(
            "/publications/4?fields=id", headers={"If-None-Match": ok.headers["etag"]}
        ),
        "data 404": client.get("/publications/99"),
        "data 405": client.delete("/publications/4"),
        "preflight": preflight(client, SITE),
        "head": client.head("/publications"),
        "openapi": client.get("/openapi.json"),
        "asset": client.get("/docs-assets/favicon.png"),
        "redoc bundle": client.head("/docs-assets/redoc.standalone.offline.js"),
        "unknown": client.get("/nope"),
        "health": client.get("/health"),
        "consent 404": client.get("/consent/0b3d6c0e-8a47-4d7e-9a53-2f7f5c1d9e10"),
    }
    assert [a.status_code for a in answers.values()] == [
        200, 304, 404, 405, 200, 200, 200, 200, 200, 404, 200, 404,
    ]  # fmt: skip
    for name, response in answers.items():
        assert GENERATED_REQUEST_ID.fullmatch(response.headers["x-request-id"]), name
        assert_security_headers(response)


@pytest.mark.parametrize(("page", "scripts"), [("/docs", 1), ("/redoc", 0)])
def test_docs_pages_carry_their_own_policy(client: TestClient, page: str, scripts: int):
    response = client.get(page)
    assert response.status_code == 200
    policy, inline = docs_policy(response.content)
    assert inline == scripts
    assert_security_headers(response, csp=policy)
    if page == "/docs":
        assert re.fullmatch(
            r"default-src 'none'; script-src 'self' 'sha256-[A-Za-z0-9+/]{43}='; .*",
            response.headers["content-security-policy"],
        )
    assert answer_headers_docs(response) == {
        "content-length": str(len(response.content)),
        "content-type": "text/html; charset=utf-8",
        "vary": OTHER_VARY,
    }


def answer_headers_docs(response: httpx.Response) -> dict[str, str]:
    headers = dict(response.headers)
    assert GENERATED_REQUEST_ID.fullmatch(headers.pop("x-request-id"))
    for name in SECURITY_HEADERS:
        headers.pop(name)
    return headers


def test_a_consent_write_carries_the_security_headers(empty_db: Database):
    with app_client(empty_db) as client:
        response = client.post("/consent", json={"policy_version": POLICY_VERSION, "choices": {}})
    assert response.status_code == 201, response.text
    assert answer_headers(response) == {
        "content-length": str(len(response.content)),
        "content-type": "application/json",
        "location": f"/consent/{response.json()['id']}",
        "vary": OTHER_VARY,
        "cache-control": "no-store",
    }


# --- 5. request ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given", ["abc-123_X.y:z", "0b3d6c0e-8a47-4d7e-9a53-2f7f5c1d9e10", "x" * 128, "T"]
)
@pytest.mark.parametrize("path", ["/health", "/publications/4?fields=id", "/publications/99"])
def test_a_sane_client_request_id_is_echoed(client: TestClient, given: str, path: str):
    response = client.get(path, headers={"X-Request-ID": given})
    assert response.headers.get_list("x-request-id") == [given]


@pytest.mark.parametrize(
    "given",
    [
        pytest.param("a b", id="space"),
        pytest.param("x" * 129, id="129-chars"),
        pytest.param("x" * 200, id="200-chars"),
        pytest.param("x\u00e9".encode(), id="non-ascii"),
        pytest.param("", id="empty"),
        pytest.param("a/b", id="slash"),
        pytest.param('"quoted"', id="quotes"),
    ],
)
def test_a_hostile_client_request_id_is_replaced(client: TestClient, given: str | bytes):
    response = client.get("/health", headers={"X-Request-ID": given})
    assert GENERATED_REQUEST_ID.fullmatch(response.headers["x-request-id"])


def test_without_a_request_id_each_answer_gets_a_fresh_one(client: TestClient):
    ids = [client.get("/health").headers["x-request-id"] for _ in range(3)]
    ids.append(client.get("/publications/99").headers["x-request-id"])
    assert all(GENERATED_REQUEST_ID.fullmatch(ident) for ident in ids)
    assert len(set(ids)) == 4


# --- 6. the access log ------------------------------------------------------------------------


def test_one_access_record_per_request(client: TestClient, caplog: pytest.LogCaptureFixture):
    path = "/publications/4"
    with caplog.at_level(logging.INFO, logger="pubapi.access"):
        caplog.clear()
        ok = client.get(path, params={"fields": "id"}, headers=IDENTITY)
        head = client.head(path, params={"fields": "id"}, headers=IDENTITY)
        not_modified = client.get(
            path, params={"fields": "id"}, headers={**IDENTITY, "If-None-Match": ok.headers["etag"]}
        )
        compressed = client.get(
            "/publications", params={"limit": 5}, headers={"Accept-Encoding": "br"}
        )
        missing = client.get("/nope", params={"a": "1", "b": "x y"}, headers=IDENTITY)
        refused = client.post("/publications", headers=IDENTITY)
        records = access_records(caplog)
    assert [r.status_code for r in (ok, head, not_modified, compressed, missing, refused)] == [
        200, 200, 304, 200, 404, 405,
    ]  # fmt: skip
    assert compressed.headers["content-encoding"] == "br"
    expected = [
        ("GET", path, "fields=id", 200, 8),
        ("HEAD", path, "fields=id", 200, 0),
        ("GET", path, "fields=id", 304, 0),
        ("GET", "/publications", "limit=5", 200, compressed.num_bytes_downloaded),
        ("GET", "/nope", "a=1&b=x+y", 404, len(missing.content)),
        ("POST", "/publications", "", 405, len(refused.content)),
    ]
    assert len(records) == len(expected)
    for record, (method, logged_path, query, status, sent) in zip(records, expected, strict=True):
        assert (record.levelname, record.getMessage()) == ("INFO", "request")
        fields = dict(record.fields)  # type: ignore[attr-defined]
        duration = fields.pop("duration_ms")
        assert isinstance(duration, float)
        assert duration >= 0
        assert fields == {
            "method": method,
            "path": logged_path,
            "query": query,
            "status": status,
            "bytes": sent,
        }


def test_no_access_log_when_it_is_turned_off(
    seeded_db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.setenv("PUBAPI_ACCESS_LOG", "false")
    monkeypatch.setenv("PUBAPI_DATABASE_URL", seeded_db.url)
    settings = Settings(_env_file=None)
    assert settings.access_log is False
    with TestClient(create_app(settings)) as client, caplog.at_level(logging.INFO):
        caplog.clear()
        assert client.get("/publications/4?fields=id").status_code == 200
        assert client.get("/nope").status_code == 404
        assert access_records(caplog) == []


TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_a_live_server_writes_one_json_access_line_per_request(tmp_path: Path):
    with (
        serving(tmp_path, clean_env()) as (base, process),
        httpx.Client(base_url=base) as http,
    ):
        traced = http.get("/publications/4?fields=id", headers={"X-Request-ID": "trace-42"})
        fresh = http.get("/publications/99")
    output = process.stdout.read() if process.stdout else ""
    assert traced.status_code == 200
    assert traced.headers["x-request-id"] == "trace-42"
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    traced_lines = [line for line in lines if line["request_id"] == "trace-42"]
    assert len(traced_lines) == 1, output
    line = traced_lines[0]
    assert TIME.fullmatch(line.pop("time"))
    duration = line.pop("duration_ms")
    assert isinstance(duration, float)
    assert duration >= 0
    assert line == {
        "level": "info",
        "logger": "pubapi.access",
        "message": "request",
        "request_id": "trace-42",
        "method": "GET",
        "path": "/publications/4",
        "query": "fields=id",
        "status": 200,
        "bytes": 8,
    }
    fresh_id = fresh.headers["x-request-id"]
    assert GENERATED_REQUEST_ID.fullmatch(fresh_id)
    fresh_lines = [line for line in lines if line["request_id"] == fresh_id]
    assert [(line["logger"], line["status"], line["path"]) for line in fresh_lines] == [
        ("pubapi.access", 404, "/publications/99")
    ]
    # uvicorn's own access log is off: each request is logged once.
    assert [line for line in lines if line["logger"] == "uvicorn.access"] == []


# --- 7. the 500 problem -----------------------------------------------------------------------


@pytest.mark.parametrize("given", [None, "client-trace-7"])
def test_an_unexpected_error_is_a_500_problem_quoting_the_request_id(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    given: str | None,
):
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("simulated secret failure")

    monkeypatch.setattr(entity_queries, "list_entities", broken)
    # Computed afresh: the shared client may keep an earlier answer of /authors.
    headers = {"Origin": SITE, **IDENTITY, "Cache-Control": "no-cache"}
    if given is not None:
        headers["X-Request-ID"] = given
    with caplog.at_level(logging.INFO, logger="pubapi"):
        caplog.clear()
        response = client.get("/authors", headers=headers)
    ident = response.headers["x-request-id"]
    if given is None:
        assert GENERATED_REQUEST_ID.fullmatch(ident)
    else:
        assert ident == given
    assert response.status_code == 500
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": f"An unexpected error occurred; it was logged under request id {ident}.",
        "request_id": ident,
    }
    assert "simulated secret failure" not in response.text
    assert "Traceback" not in response.text
    headers_seen = dict(response.headers)
    assert headers_seen.pop("x-request-id") == ident
    for name, value in SECURITY_HEADERS.items():
        assert headers_seen.pop(name) == value
    assert headers_seen == {
        "content-length": str(len(response.content)),
        "content-type": PROBLEM_TYPE,
        "vary": DATA_VARY,
        "cache-control": "no-store",
        "access-control-allow-origin": "*",
        "access-control-expose-headers": EXPOSED,
    }
    errors = [r for r in caplog.records if r.name == "pubapi" and r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].getMessage() == "unhandled error"
    assert errors[0].exc_info is not None
    assert errors[0].exc_info[0] is RuntimeError
    assert str(errors[0].exc_info[1]) == "simulated secret failure"
    [access] = access_records(caplog)
    assert access.fields["status"] == 500  # type: ignore[attr-defined]
