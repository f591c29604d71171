"""The benchmark runner: its pure parts with exact values, and a tiny run end to end.

The tiny run is what CI runs: a few thousand publications, one-second runs, every server
started and stopped for real, every answer's status checked, RESULTS.md written.
"""

import asyncio
import json
import os
import random
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from app.core.config import Settings
from app.core.db import make_engine
from app.core.migrations import upgrade
from app.main import create_app
from app.seed import loader
from bench import cursors, endpoints, report, wrk
from bench import run as bench_run
from bench.servers import alive
from tests.conftest import POSTGRES_URL, REQUIRE_POSTGRES, SEED_DIR, SKIPPED, postgres_problem

# A real wrk output (bare FastAPI, a checking script), as wrk 4.1.0 printed it.
CAPTURED_WRK = """\
Running 1s test @ http://127.0.0.1:18231/
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.52ms  728.95us   7.72ms   77.49%
    Req/Sec     1.59k   281.39     2.75k    95.24%
  3330 requests in 1.10s, 16.75MB read
Requests/sec:   3030.26
Transfer/sec:     15.24MB
BENCH_JSON {"requests": 3330, "duration_us": 1098916, "bytes": 17562420, \
"latency_us": {"p50": 2407, "p90": 3402, "p99": 4934, "mean": 2519.6, "max": 7719}, \
"errors": {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}, \
"statuses": {"1xx": 0, "2xx": 3330, "3xx": 0, "4xx": 0, "5xx": 0}, \
"unexpected": {"count": 0, "last": 0}}
"""


X = report.TIMES  # escaped in source, see bench.report


# --- wrk -------------------------------------------------------------------------------------


def test_lua_string_escapes_quotes_backslashes_and_non_ascii():
    assert wrk.lua_string('"abc"') == '"\\034abc\\034"'
    assert wrk.lua_string("a\\b") == '"a\\092b"'
    assert wrk.lua_string("é\n") == '"\\195\\169\\010"'
    assert wrk.lua_string("/publications?q=x&limit=20") == '"/publications?q=x&limit=20"'


def test_hot_script_is_a_static_request_without_callbacks():
    script = wrk.lua_script(headers={}, paths_file=None, seed=3, expected_status=None)
    assert 'wrk.method = "GET"\n' in script
    assert "  math.randomseed(3 + thread_number)\n" in script
    assert "function request()" not in script
    assert "function response(" not in script
    assert "wrk.headers[" not in script
    assert "local statuses = 'null'" in script


def test_cold_checking_script_picks_paths_and_counts_statuses():
    script = wrk.lua_script(
        headers={"Cache-Control": "no-cache", "If-None-Match": '"abc"'},
        paths_file=Path("/tmp/urls.txt"),
        seed=42,
        expected_status=304,
    )
    assert 'wrk.headers["Cache-Control"] = "no-cache"\n' in script
    assert 'wrk.headers["If-None-Match"] = "\\034abc\\034"\n' in script
    assert '  for line in io.lines("/tmp/urls.txt") do\n' in script
    assert "  math.randomseed(42 + thread_number)\n" in script
    assert (
        "function request()\n  return wrk.format(nil, paths[math.random(#paths)])\nend\n" in script
    )
    assert "  if status ~= 304 then\n" in script
    assert script.count("BENCH_JSON ") == 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        status = 200 if self.path == "/ok" else 404
        body = b"{}"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


# Like Chromium for the browser tests: wrk (Debian package `wrk`) runs these tests when it is
# there; without it they are skipped and the run says so, unless PUBAPI_TEST_REQUIRE_WRK=1
# (set by .ci/run, which installs it) makes its absence a failure.
REQUIRE_WRK = os.environ.get("PUBAPI_TEST_REQUIRE_WRK") == "1"


@pytest.fixture
def wrk_installed() -> None:
    if not Path(wrk.WRK).exists():
        problem = f"{wrk.WRK} is missing (Debian package `wrk`)"
        if REQUIRE_WRK:
            pytest.fail(f"PUBAPI_TEST_REQUIRE_WRK=1 but {problem}")
        SKIPPED["wrk"] = problem
        pytest.skip(problem)


@pytest.fixture
def tiny_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_generated_scripts_run_in_wrk_and_count_every_status(tmp_path, wrk_installed, tiny_server):
    paths = tmp_path / "paths.txt"
    paths.write_text("/ok\n/missing\n")
    script = tmp_path / "check.lua"
    script.write_text(
        wrk.lua_script(headers=endpoints.NO_CACHE, paths_file=paths, seed=1, expected_status=200)
    )
    result = wrk.run(tiny_server + "/", script, duration=1, threads=1, connections=2, timeout=5)
    assert result.statuses is not None
    assert result.requests > 0
    assert result.statuses["2xx"] + result.statuses["4xx"] == result.requests
    assert result.statuses["2xx"] > 0
    assert result.unexpected == result.statuses["4xx"] > 0
    assert result.last_unexpected == 404
    assert result.errors["status"] == result.statuses["4xx"]
    problems = wrk.problems(result, 200)
    assert any("were not 200 (e.g. 404" in problem for problem in problems)


def test_parse_output_reads_the_json_line_of_a_real_run():
    result = wrk.parse_output(CAPTURED_WRK)
    assert result.requests == 3330
    assert result.seconds == 1.098916
    assert result.requests_per_s == pytest.approx(3330 / 1.098916)
    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (2.407, 3.402, 4.934)
    assert (result.mean_ms, result.max_ms) == (2.5196, 7.719)
    assert result.statuses == {"1xx": 0, "2xx": 3330, "3xx": 0, "4xx": 0, "5xx": 0}
    assert result.unexpected == 0
    assert result.last_unexpected is None
    assert wrk.problems(result, 200) == []


def test_parse_output_refuses_output_without_the_json_line():
    with pytest.raises(wrk.WrkError, match="expected one BENCH_JSON line"):
        wrk.parse_output(CAPTURED_WRK.split("BENCH_JSON")[0])


def test_problems_name_errors_and_unexpected_statuses():
    result = wrk.parse_output(
        CAPTURED_WRK.replace('"read": 0', '"read": 2')
        .replace('"status": 0', '"status": 5')
        .replace('"count": 0, "last": 0', '"count": 7, "last": 500')
    )
    assert wrk.problems(result, 200) == [
        "socket errors {'read': 2}",
        "5 answers with a status of 400 or more",
        "7 answers were not 200 (e.g. 500; by class: "
        "{'1xx': 0, '2xx': 3330, '3xx': 0, '4xx': 0, '5xx': 0})",
    ]


# --- Datasette's _next -----------------------------------------------------------------------


@pytest.fixture
def datasette_db(tmp_path) -> Path:
    path = tmp_path / "pubs.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE publications (id INTEGER PRIMARY KEY, title TEXT, published_on TEXT);
        INSERT INTO publications VALUES
            (1, 'a', '2025-01-02'), (2, 'b', NULL), (3, 'c', '2025-01-02'),
            (4, 'd', '2024-05-05'), (5, 'e', '2026-03-01');
        """
    )
    conn.commit()
    conn.close()
    return path


def test_datasette_next_is_the_sort_value_and_the_pk_tilde_encoded():
    assert cursors.datasette_next("2025-01-02", 3) == "2025-01-02,3"
    assert cursors.datasette_next(None, 2) == "$null,2"
    assert cursors.datasette_next("a b/c", 10) == "a+b~2Fc,10"


def test_datasette_tokens_follow_its_order(datasette_db):
    # Date descending, nulls last, ties by id: 5, 1, 3, 4, 2.
    tokens = cursors.datasette_tokens(datasette_db, "publications", "published_on", [3, 1, 2])
    assert tokens == {1: "2026-03-01,5", 2: "2025-01-02,1", 3: "2025-01-02,3"}
    assert list(tokens) == [1, 2, 3]
    with pytest.raises(ValueError, match="no row at positions"):
        cursors.datasette_tokens(datasette_db, "publications", "published_on", [6])


def test_datasette_itself_gives_and_takes_those_tokens(datasette_db):
    from datasette.app import Datasette

    async def ask() -> tuple[str, list[int]]:
        ds = Datasette(immutables=[str(datasette_db)], settings={"suggest_facets": False})
        table = "/pubs/publications.json?_sort_desc=published_on"
        first = (await ds.client.get(f"{table}&_size=2")).json()
        token = cursors.datasette_tokens(datasette_db, "publications", "published_on", [2])[2]
        after = (await ds.client.get(f"{table}&_size=2&_next={token}")).json()
        return first["next"], [row[0] for row in after["rows"]]

    given, resumed = asyncio.run(ask())
    assert given == "2025-01-02,1"
    assert resumed == [3, 4]


# --- pubapi cursors, through the real app ----------------------------------------------------


@pytest.fixture(scope="module")
def seeded_sqlite(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('bench') / 'pubapi.db'}"
    upgrade(url)
    engine = make_engine(url)
    loader.load(engine, [SEED_DIR])
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def bench_client(seeded_sqlite) -> Iterator[TestClient]:
    settings = Settings(_env_file=None, database_url=seeded_sqlite, secret_key=bench_run.SECRET)
    with TestClient(create_app(settings)) as client:
        yield client


def test_publication_cursors_resume_right_after_their_row(seeded_sqlite, bench_client):
    everything = bench_client.get("/publications?limit=200").json()["results"]
    ids = [item["id"] for item in everything]
    tokens = cursors.publication_cursors(seeded_sqlite, bench_run.SECRET, [7, 2, 5])
    assert list(tokens) == [2, 5, 7]
    for position, token in tokens.items():
        page = bench_client.get(f"/publications?limit=20&cursor={token}")
        assert page.status_code == 200, page.text
        assert [item["id"] for item in page.json()["results"]] == ids[position:]
    # The same query as the hot deep URL of the benchmark.
    assert bench_client.get(f"/publications?limit=20&cursor={tokens[2]}").json()["meta"][
        "total"
    ] == len(ids)


def test_author_cursors_resume_right_after_their_row(seeded_sqlite, bench_client):
    everything = bench_client.get("/authors?sort=-publication_count&limit=200").json()["results"]
    ids = [item["id"] for item in everything]
    tokens = cursors.author_cursors(seeded_sqlite, bench_run.SECRET, [1, 4])
    for position, token in tokens.items():
        page = bench_client.get(f"/authors?sort=-publication_count&limit=20&cursor={token}")
        assert page.status_code == 200, page.text
        assert [item["id"] for item in page.json()["results"]] == ids[position : position + 20]


def test_a_cursor_made_with_another_secret_is_refused(seeded_sqlite, bench_client):
    token = cursors.publication_cursors(seeded_sqlite, "another secret", [2])[2]
    assert bench_client.get(f"/publications?limit=20&cursor={token}").status_code == 422


def test_no_cursor_after_the_last_row(seeded_sqlite):
    with pytest.raises(ValueError, match="no row after position 10"):
        cursors.publication_cursors(seeded_sqlite, bench_run.SECRET, [10])


# --- endpoints -------------------------------------------------------------------------------

FACTS = endpoints.Facts(
    publications=1000,
    dated=940,
    years=[2020, 2021],
    venues=[(3, 600), (1, 400)],
    pairs=[(3, 2021, 350), (3, 2020, 250), (1, 2020, 400)],
    authors=3000,
)


def test_deep_positions_stay_in_the_dated_part_of_85_to_95_percent():
    hot, cold = endpoints.deep_positions(FACTS, random.Random(1))
    assert hot == 900
    assert len(cold) == len(set(cold)) == 91  # 850..940: the rest has no date
    assert min(cold) >= 850
    assert max(cold) <= 940


def test_deep_positions_refuse_data_without_dates_there():
    undated = endpoints.Facts(**{**FACTS.__dict__, "dated": 100})
    with pytest.raises(ValueError, match="cannot place the deep page"):
        endpoints.deep_positions(undated, random.Random(1))


def test_author_positions_are_500_in_the_first_half():
    positions = endpoints.author_positions(FACTS, random.Random(1))
    assert len(positions) == len(set(positions)) == 500
    assert min(positions) >= 1
    assert max(positions) <= 1500


def test_both_servers_are_asked_the_same_questions():
    tokens = endpoints.Tokens(deep={900: "D900", 910: "D910"}, authors={5: "A5"})
    words = {"common": ["model", "graph"], "rare": ["zeroth"]}
    ids = (500, [7, 9])
    pairs = [(1, 2020)]
    mine = endpoints.pubapi_paths(FACTS, words, tokens, 900, ids, pairs)
    theirs = endpoints.datasette_paths("pubs", FACTS, words, tokens, 900, ids, pairs)
    assert mine.keys() == theirs.keys()
    for key in mine:
        assert len(mine[key]) == len(theirs[key]), key
    assert mine[("list", "cold")] == [
        "/publications?year=2020&limit=20",
        "/publications?year=2021&limit=20",
    ]
    assert theirs[("deep", "hot")] == [
        "/pubs/publications.json?_sort_desc=published_on&_size=20&_labels=on&_next=D900"
    ]
    assert mine[("deep", "cold")] == ["/publications?limit=20&cursor=D910"]
    # The deep page of the depth comparison is the hot one, asked cold.
    assert mine[("deep-90", "cold")] == ["/publications?limit=20&cursor=D900"]
    assert theirs[("deep-90", "cold")] == [
        "/pubs/publications.json?_sort_desc=published_on&_size=20&_labels=on&_next=D900"
    ]
    assert theirs[("search-common", "hot")] == [
        "/pubs/publications.json?_search=model&_size=20&_labels=on"
    ]
    assert mine[("authors", "cold")] == ["/authors?sort=-publication_count&limit=20&cursor=A5"]
    assert theirs[("authors", "cold")] == [
        "/pubs/authors.json?_sort_desc=publication_count&_size=20&_next=A5"
    ]
    assert mine[("venue-year", "hot")] == ["/publications?venue=3&year=2021&limit=20"]
    assert theirs[("facets", "cold")][0] == (
        "/pubs/publications.json?venue_id=3&_facet=year&_facet=venue_id"
        "&_sort_desc=published_on&_size=20&_labels=on"
    )
    assert mine[("by-id", "cold")] == ["/publications/7", "/publications/9"]
    assert theirs[("by-id", "hot")] == ["/pubs/publications/500.json"]


def test_disagreements_compare_totals_order_first_rows_ids_and_facets():
    compare = ("total", "order:published_on", "first", "facets")
    mine = {
        "results": [{"id": 4, "published_on": "2025-01-02"}, {"id": 9, "published_on": None}],
        "meta": {
            "total": 3,
            "facets": {
                "year": [{"value": 2025, "count": 2}, {"value": None, "count": 1}],
                "venue": [{"value": 1, "name": "V", "count": 3}],
            },
        },
    }
    # `_labels=on` rows are objects with labelled foreign keys; plain ones are lists.
    theirs: dict[str, Any] = {
        "rows": [
            {"id": 4, "published_on": "2025-01-02", "venue_id": {"value": 1, "label": "V"}},
            {"id": 9, "published_on": None, "venue_id": None},
        ],
        "columns": ["id", "published_on", "venue_id"],
        "filtered_table_rows_count": 3,
        "facet_results": {
            "year": {"results": [{"value": 2025, "count": 2}]},
            "venue_id": {"results": [{"value": 1, "count": 3}]},
        },
    }
    assert endpoints.disagreements(compare, mine, theirs) == []
    theirs["filtered_table_rows_count"] = 4
    theirs["rows"] = [[5, "2025-01-02", 1], [4, "2024-01-01", 1]]
    theirs["facet_results"]["year"]["results"][0]["count"] = 1
    assert endpoints.disagreements(compare, mine, theirs) == [
        "total 3 != Datasette's count 4",
        "first id 4 != Datasette's 5",
        "published_on in page order ['2025-01-02', None] != Datasette's "
        "['2025-01-02', '2024-01-01']",
        "facet year=2025: 2 != Datasette's 1",
    ]
    assert endpoints.disagreements(("id",), {"id": 5}, theirs) == []


def test_first_rows_are_compared_only_on_resumed_pages():
    # Datasette's first page breaks ties in index order, its `_next` pages by id, as pubapi.
    assert endpoints.compared("list", "hot") == ("total", "order:published_on")
    assert endpoints.compared("deep", "hot") == ("total", "order:published_on", "first")
    assert endpoints.compared("page-1", "cold") == ("total", "order:published_on")
    assert endpoints.compared("deep-90", "cold") == ("total", "order:published_on", "first")
    assert endpoints.compared("authors", "hot") == ("total", "order:publication_count")
    assert endpoints.compared("authors", "cold")[-1] == "first"


# --- targets and the report ------------------------------------------------------------------


def _median(rps: float, p50: float = 1.0, p99: float = 2.0) -> dict[str, Any]:
    return {"median": {"requests_per_s": rps, "p50_ms": p50, "p99_ms": p99}}


def _results() -> dict[str, Any]:
    def row(endpoint: str, variant: str, **servers: dict[str, Any]) -> dict[str, Any]:
        named = {name.replace("_", "-"): value for name, value in servers.items()}
        return {
            "endpoint": endpoint,
            "variant": variant,
            "urls": dict.fromkeys(named, 1),
            "servers": named,
        }

    return {
        "rows": [
            row("list", "hot", pubapi_sqlite=_median(900, p50=2.0), datasette=_median(800)),
            row("list", "cold", pubapi_sqlite=_median(600), datasette=_median(300)),
            row("deep", "hot", pubapi_sqlite=_median(850, p50=2.6), datasette=_median(100)),
            row("deep", "cold", pubapi_sqlite=_median(500, p50=2.6), datasette=_median(251)),
            row("page-1", "cold", pubapi_sqlite=_median(700, p50=2.0), datasette=_median(300)),
            row("deep-90", "cold", pubapi_sqlite=_median(650, p50=2.4), datasette=_median(300)),
            # The 304s, and the 200s of the same page in the same rounds.
            row(
                "revalidate",
                "hot",
                pubapi_sqlite=_median(1500),
                **{"pubapi_sqlite+200": _median(1400)},
            ),
            row("bare", "hot", bare=_median(3000)),
        ],
        "ingest": {
            "pubapi-sqlite": {"rows_per_s": 5000.0},
            "sqlite-utils": {"rows_per_s": 20000.0},
        },
        "rss_kib": {"pubapi-sqlite": [102400, 98304], "datasette": [51200]},
    }


def test_targets_are_computed_from_the_numbers():
    targets = {t["target"]: t for t in report.evaluate_targets(_results())}
    verdicts = {name: t["ok"] for name, t in targets.items()}
    assert verdicts == {
        f"list cold: pubapi ≥ 2{X} Datasette req/s": True,  # 600 / 300
        f"deep cold: pubapi ≥ 2{X} Datasette req/s": False,  # 500 / 251
        f"page-1 cold: pubapi ≥ 2{X} Datasette req/s": True,  # 700 / 300
        f"deep-90 cold: pubapi ≥ 2{X} Datasette req/s": True,  # 650 / 300
        "list hot: ≥ 25% of bare FastAPI req/s": True,  # 900 / 3000
        "deep hot: ≥ 25% of bare FastAPI req/s": True,  # 850 / 3000
        "revalidate hot: ≥ 25% of bare FastAPI req/s": True,
        "revalidate (304) faster than the hot list (side by side)": True,  # 1500 > 1400
        # The deep page at 90% (2.4) against page 1 (2.0), not the 500 cold deep ones (2.6).
        f"deep page p50 ≤ 1.25{X} page 1 p50 (cold, one URL each)": True,  # 2.4 / 2.0
        f"pubapi seed ≥ 0.5{X} sqlite-utils insert rows/s": False,  # 5000 / 20000
        "RSS per pubapi worker stated": True,
    }
    assert (
        targets[f"deep page p50 ≤ 1.25{X} page 1 p50 (cold, one URL each)"]["shown"] == f"1.20{X}"
    )
    assert targets["list hot: ≥ 25% of bare FastAPI req/s"]["shown"] == "30%"
    assert targets["revalidate (304) faster than the hot list (side by side)"]["shown"] == (
        f"1.07{X} the hot list's req/s (1,500 against 1,400)"
    )
    assert targets["RSS per pubapi worker stated"]["shown"] == "100 MiB, 96 MiB"


def test_a_server_that_answered_nothing_in_a_run_measures_zero():
    """At a million publications a count can outlast a run: 0 requests/s, not a failed run."""
    silent = wrk.parse_output(
        CAPTURED_WRK.replace('"requests": 3330', '"requests": 0').replace('"2xx": 3330', '"2xx": 0')
    )
    assert silent.requests_per_s == 0
    assert wrk.problems(silent, 200) == []
    results = _results()
    results["rows"][1]["servers"]["datasette"] = _median(0, p50=0, p99=0)
    results["rows"][3]["servers"]["pubapi-sqlite"] = _median(0, p50=0, p99=0)
    results["rows"][3]["servers"]["datasette"] = _median(0, p50=0, p99=0)
    targets = {t["target"]: t for t in report.evaluate_targets(results)}
    only_mine = targets[f"list cold: pubapi ≥ 2{X} Datasette req/s"]
    assert (only_mine["ok"], only_mine["shown"]) == (True, f"inf{X}")
    neither = targets[f"deep cold: pubapi ≥ 2{X} Datasette req/s"]
    assert (neither["ok"], neither["value"], neither["shown"]) == (False, None, "—")
    assert report._numbers(_median(0)["median"]) == ["0", "—", "—"]
    assert report._ratio(_median(600)["median"], _median(0)["median"]) == f"inf{X}"


def test_settle_waits_for_an_idle_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Busy, busy, idle, busy, idle, idle: settled after the two idle windows in a row."""
    from bench import servers

    # (busy, total) jiffies: each window adds 100 in all, of which 90 or 5 busy.
    shares = [90, 90, 5, 90, 5, 5]
    samples = iter([(0, 0)] + [(sum(shares[: i + 1]), 100 * (i + 1)) for i in range(6)])
    monkeypatch.setattr(servers, "_cpu_times", lambda: next(samples))
    assert servers.settle(window=0.001) < 1
    with pytest.raises(StopIteration):
        next(samples)  # every sample used: it did not stop at the first idle window


def test_settle_gives_up_on_a_machine_that_stays_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import servers

    jiffies = iter(range(0, 10**9, 100))
    monkeypatch.setattr(servers, "_cpu_times", lambda: (next(jiffies), next(jiffies)))
    waited = servers.settle(window=0.01, timeout=0.2)
    assert 0.2 <= waited < 1


def test_rss_not_measured_is_a_missed_target():
    results = _results()
    results["rss_kib"] = {"datasette": [51200]}
    targets = {t["target"]: t["ok"] for t in report.evaluate_targets(results)}
    assert targets["RSS per pubapi worker stated"] is False


def _full_results() -> dict[str, Any]:
    results = _results()
    for row in results["rows"]:
        row["label"] = f"{row['endpoint']} ({row['variant']})"
    results["ingest"] = {
        "pubapi-sqlite": {"rows": 10, "seconds": 2.0, "rows_per_s": 5.0, "peak_rss_kib": 2048},
        "sqlite-utils": {"rows": 10, "seconds": 1.0, "rows_per_s": 10.0, "peak_rss_kib": 1024},
        "sqlite-utils-fts": {"rows": 10, "seconds": 4.0, "rows_per_s": 2.5, "peak_rss_kib": 3072},
    }
    results.update(
        date="2026-11-30T12:00:00Z",
        elapsed_s=90.0,
        command="python -m bench.run --size 10",
        machine={"cpu": "Test CPU", "cores": 2, "ram_gib": 4.0, "kernel": "Linux 6"},
        versions={"Python": "3.11", "datasette": "0.65.5"},
        settings={
            "size": 10,
            "seed": 1,
            "duration_s": 1,
            "warmup_s": 1,
            "rounds": 1,
            "connections": 32,
            "threads": 2,
            "workers": 1,
            "postgres_workers": 2,
            "datasette_settings": ["--setting sql_time_limit_ms 60000"],
        },
        notes=[],
        response_callback={"note": "callback note"},
    )
    results["targets"] = report.evaluate_targets(results)
    return results


def test_report_tables_show_the_numbers_and_the_verdicts():
    markdown = report.render(_full_results())
    assert f"| `pubapi seed` into SQLite | 10 | 2.00 | 5 | 2 | 0.50{X} | 2.00{X} |" in markdown
    assert (
        "| `sqlite-utils insert --nl` (flat rows, the baseline) "
        f"| 10 | 1.00 | 10 | 1 | 1.00{X} | 4.00{X} |"
    ) in markdown
    assert (
        "| the same, then `sqlite-utils enable-fts --fts5` on title and abstract "
        f"| 10 | 4.00 | 2 | 3 | 0.25{X} | 1.00{X} |"
    ) in markdown
    assert f"| list | cold | 1 | 600 | 1.00 | 2.00 | 300 | 1.00 | 2.00 | 2.00{X} | — |" in markdown
    assert "| bare | hot | 1 | 3,000 | 1.00 | 2.00 | — | — | — | — | 100% |" in markdown
    assert "| pubapi-sqlite | worker 2 | 96 |" in markdown
    assert (
        f"| pubapi seed ≥ 0.5{X} sqlite-utils insert rows/s | 0.50{X} | ≥ 0.5{X} | ✓ |" in markdown
    )
    assert (
        f"Deep page at 90% vs page 1 (pubapi, SQLite, cold, one URL each, p50): 1.20{X}."
        in markdown
    )
    assert (
        "**10 of 11 targets met** (see [Targets](#targets)). The whole run took 1.5 min" in markdown
    )


@pytest.mark.parametrize(("check", "code"), [(False, 0), (True, 1)])
def test_check_fails_the_run_when_a_target_is_missed(tmp_path, monkeypatch, check, code):
    monkeypatch.setattr(bench_run, "run", lambda args, command: _full_results())
    out = tmp_path / "R.md"
    argv = ["--size", "10", "--out", str(out), *(["--check"] if check else [])]
    assert bench_run.main(argv) == code
    assert out.read_text().startswith("# pubapi beside Datasette")
    assert json.loads((tmp_path / "results.json").read_text())["targets"]


def test_median_round_keeps_a_whole_round():
    rounds = [
        {"requests_per_s": 30.0, "p50_ms": 3.0},
        {"requests_per_s": 10.0, "p50_ms": 9.0},
        {"requests_per_s": 20.0, "p50_ms": 5.0},
        {"requests_per_s": 40.0, "p50_ms": 1.0},
    ]
    assert report.median_round(rounds) == {"requests_per_s": 20.0, "p50_ms": 5.0}
    assert report.median_round(rounds[:3]) == {"requests_per_s": 20.0, "p50_ms": 5.0}


# --- the tiny run, end to end ----------------------------------------------------------------

COMPARED = ("list", "deep", "search-common", "search-rare", "by-id", "authors", "facets")
LABELS = {
    *((endpoint, variant) for endpoint in (*COMPARED, "venue-year") for variant in ("hot", "cold")),
    ("page-1", "cold"),
    ("deep-90", "cold"),
    ("revalidate", "hot"),
    ("bare", "hot"),
}


def _endpoint_rows(markdown: str) -> list[list[str]]:
    section = markdown.split("## Endpoints")[1].split("\n## ")[0]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]


def test_tiny_run_end_to_end(tmp_path, wrk_installed):
    problem = postgres_problem()
    if problem is not None and REQUIRE_POSTGRES:
        pytest.fail(f"PUBAPI_TEST_REQUIRE_POSTGRES=1 but {problem}")
    engines = "sqlite" if problem is not None else "sqlite,postgresql"
    if problem is not None:
        SKIPPED["PostgreSQL"] = problem
    out = tmp_path / "R.md"
    database = f"pubapi_bench_{uuid.uuid4().hex[:8]}"
    argv = [
        "--size",
        "2000",
        "--duration",
        "1",
        "--rounds",
        "1",
        "--engines",
        engines,
        "--workdir",
        str(tmp_path / "work"),
        "--out",
        str(out),
        "--postgres-url",
        POSTGRES_URL,
        "--postgres-db",
        database,
    ]
    assert bench_run.main(argv) == 0

    markdown = out.read_text()
    rows = _endpoint_rows(markdown)
    assert {(row[0], row[1]) for row in rows} == LABELS
    assert len(rows) == len(LABELS)
    results = json.loads((tmp_path / "results.json").read_text())
    servers = {"pubapi-sqlite", "datasette"} | ({"pubapi-postgresql"} if problem is None else set())
    for row in results["rows"]:
        expected = servers if row["endpoint"] not in ("revalidate", "bare") else None
        if expected is not None:
            assert set(row["servers"]) == expected, row["label"]
        for name, found in row["servers"].items():
            # Every answer of the checking run had the expected status, none failed.
            check = found["check"]
            assert check["unexpected"] == 0, (row["label"], name)
            assert sum(check["statuses"].values()) == check["requests"] > 0
            assert found["median"]["requests_per_s"] > 0
            assert all(not count for count in found["median"]["errors"].values())
    revalidate = next(row for row in results["rows"] if row["endpoint"] == "revalidate")
    assert revalidate["servers"]["pubapi-sqlite"]["check"]["statuses"]["3xx"] > 0
    assert set(results["ingest"]) == {
        "pubapi-sqlite",
        "sqlite-utils",
        "sqlite-utils-fts",
        "datasette-build",
        *(["pubapi-postgresql"] if problem is None else []),
    }
    baseline, searchable = results["ingest"]["sqlite-utils"], results["ingest"]["sqlite-utils-fts"]
    # The same rows, found again in the FTS table; the FTS timing adds to the insert's.
    assert searchable["rows"] == baseline["rows"]
    assert searchable["seconds"] > baseline["seconds"]
    # One worker on SQLite (the default), two on PostgreSQL: one size per worker process.
    assert len(results["rss_kib"]["pubapi-sqlite"]) == 1
    assert "## Targets" in markdown
    assert markdown.count("✓") + markdown.count("✗") >= len(results["targets"])
    # Nothing it started is left running.
    assert results["pids"]
    assert [pid for pid in results["pids"] if alive(pid)] == []
    if problem is None:
        assert "pubapi-postgresql" in results["ingest"]
        assert len(results["rss_kib"]["pubapi-postgresql"]) == 2
        # Its database is dropped at the end.
        admin = create_engine(POSTGRES_URL)
        with admin.connect() as conn:
            left = conn.execute(
                text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": database}
            ).scalar_one()
        admin.dispose()
        assert left == 0
