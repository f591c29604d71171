"""Benchmark pubapi beside Datasette on the same generated data, and write RESULTS.md.

    python -m bench.run --size 1000000 [--engines sqlite,postgresql] [--duration 10] [--rounds 3]

Steps, all on loopback: generate the data (cached in the work directory), load it with
`pubapi seed` and with the flat `sqlite-utils insert` baseline (timed, peak RSS), build
Datasette's database, start pubapi, Datasette and a bare FastAPI app, check that both APIs give
the same answers, then measure each endpoint hot and cold with wrk, alternating the servers,
and report requests/s, p50 and p99 side by side, memory, and the issue's targets evaluated.
Every process it starts is stopped before it returns, whatever happens; a run that sees an
error or an unexpected status fails instead of reporting numbers about error pages.
"""

import argparse
import datetime as dt
import json
import os
import platform
import random
import shlex
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.core.db import unreachable
from bench import cursors, endpoints, generate, report, wrk
from bench.endpoints import BARE, DATASETTE, HOT, Variant
from bench.servers import ProcessError, Server, Timed, free_port, rss_kib, settle, timed_run

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The console scripts of the interpreter running this (the project's virtualenv).
BIN = Path(sys.executable).parent
SECRET = "pubapi-bench-cursor-key"
DATASETTE_DB = "pubs"
DATASETTE_SETTINGS = (
    "sql_time_limit_ms 60000",
    "facet_time_limit_ms 60000",
    "default_page_size 20",
    "max_returned_rows 1000",
    "suggest_facets off",
)
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ENGINES = ("sqlite", "postgresql")
# Cold variants whose answers are compared between the two APIs before timing.
SPOT_CHECKS = 5
PUBAPI_VERSIONS = (
    "pubapi",
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "sqlalchemy",
    "psycopg",
    "pydantic",
)


class BenchError(RuntimeError):
    """The benchmark cannot give valid numbers; the message says why."""


def server_name(engine: str) -> str:
    return f"pubapi-{engine}"


# ---------------------------------------------------------------------------------------------
# Data and loading


def generated_data(workdir: Path, size: int, seed: int) -> tuple[Path, dict[str, list[str]]]:
    """The JSON Lines file of `size` publications (made once per size and seed, then reused)
    and the common and rare words to search for, from the generator's sidecar."""
    jsonl = workdir / f"publications-{size}-{seed}.jsonl"
    sidecar = generate.words_path(jsonl)
    if not (jsonl.exists() and sidecar.exists()):
        print(f"generating {size} publications", file=sys.stderr)
        partial = jsonl.with_name(jsonl.name + ".partial")
        generate.generate(size, partial, seed=seed)
        # Renamed once complete, the data last: an interrupted run leaves no half file behind.
        generate.words_path(partial).replace(sidecar)
        partial.replace(jsonl)
    found = json.loads(sidecar.read_text())
    words = {kind: list(found[kind]) for kind in ("common", "rare")}
    for kind, chosen in words.items():
        if not chosen:
            raise BenchError(f"the generator gave no {kind} search words for {size} publications")
    return jsonl, words


def clean_env() -> dict[str, str]:
    """This environment without any PUBAPI_* setting: each server gets exactly its own."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PUBAPI_")}


def pubapi_env(database_url: str) -> dict[str, str]:
    return {**clean_env(), "PUBAPI_DATABASE_URL": database_url, "PUBAPI_SECRET_KEY": SECRET}


def _count(database: Path, table: str) -> int:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def _count_publications(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM publication")).scalar_one())
    finally:
        engine.dispose()


def _load_numbers(timed: Timed, rows: int) -> dict[str, Any]:
    return {
        "rows": rows,
        "seconds": timed.seconds,
        "rows_per_s": rows / timed.seconds,
        "peak_rss_kib": timed.peak_rss_kib,
    }


def seed_pubapi(database_url: str, jsonl: Path, run_dir: Path, name: str) -> Timed:
    """`pubapi seed FILE`, timed. The schema is migrated first, untimed: `seed` would migrate
    an empty database itself, which is not loading."""
    env = pubapi_env(database_url)
    pubapi = str(BIN / "pubapi")
    timed_run([pubapi, "migrate"], env=env, cwd=run_dir, log=run_dir / f"{name}-migrate.log")
    return timed_run(
        [pubapi, "seed", str(jsonl), "--no-progress"],
        env=env,
        cwd=run_dir,
        log=run_dir / f"{name}-seed.log",
    )


def ingest_sqlite(jsonl: Path, run_dir: Path) -> tuple[dict[str, Any], Path, Path]:
    """pubapi's load, the sqlite-utils baseline, and Datasette's database; their numbers."""
    pubapi_db = run_dir / "pubapi.db"
    numbers: dict[str, Any] = {}
    print("loading: pubapi seed (SQLite)", file=sys.stderr)
    timed = seed_pubapi(f"sqlite:///{pubapi_db}", jsonl, run_dir, "pubapi-sqlite")
    numbers[report.PUBAPI] = _load_numbers(timed, _count(pubapi_db, "publication"))

    print("loading: sqlite-utils insert", file=sys.stderr)
    baseline = run_dir / "sqlite-utils.db"
    timed = timed_run(
        [str(BIN / "sqlite-utils"), "insert", str(baseline), "publications", str(jsonl), "--nl"],
        env=clean_env(),
        cwd=run_dir,
        log=run_dir / "sqlite-utils.log",
    )
    numbers["sqlite-utils"] = _load_numbers(timed, _count(baseline, "publications"))
    # What a Datasette user does to search the rows: a second baseline, the same insert and then
    # an FTS5 index on title and abstract (timed together).
    print("loading: sqlite-utils enable-fts", file=sys.stderr)
    fts = timed_run(
        [
            *(str(BIN / "sqlite-utils"), "enable-fts", str(baseline), "publications"),
            *("title", "abstract", "--fts5"),
        ],
        env=clean_env(),
        cwd=run_dir,
        log=run_dir / "sqlite-utils-fts.log",
    )
    both = Timed(timed.seconds + fts.seconds, max(timed.peak_rss_kib, fts.peak_rss_kib), "")
    numbers["sqlite-utils-fts"] = _load_numbers(both, _count(baseline, "publications_fts"))

    print("loading: Datasette's database", file=sys.stderr)
    datasette_db = run_dir / f"{DATASETTE_DB}.db"
    # In a process of its own, for its peak RSS, like the loads it stands beside.
    timed = timed_run(
        [sys.executable, "-m", "bench.datasette_db", str(jsonl), str(datasette_db)],
        env=clean_env(),
        cwd=PROJECT_ROOT,
        log=run_dir / "datasette-build.log",
    )
    numbers["datasette-build"] = _load_numbers(timed, _count(datasette_db, "publications"))
    return numbers, pubapi_db, datasette_db


def postgres_problem(admin_url: str) -> str | None:
    """Why PostgreSQL cannot be measured, or None when it can."""
    problem = unreachable(admin_url)
    return None if problem is None else f"PostgreSQL {problem}"


@contextmanager
def postgres_database(admin_url: str, name: str) -> Iterator[tuple[str, str]]:
    """A fresh database `name` (dropped first if it exists, and at the end): its URL and the
    server's version."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            version = str(conn.execute(text("SHOW server_version")).scalar_one())
        try:
            yield make_url(admin_url).set(database=name).render_as_string(False), version
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# ---------------------------------------------------------------------------------------------
# What to ask


@dataclass
class Plan:
    variants: list[Variant]
    facts: endpoints.Facts


def make_plan(
    datasette_db: Path,
    pubapi_urls: Mapping[str, str],
    words: Mapping[str, Sequence[str]],
    rng: random.Random,
) -> Plan:
    """Every variant with its URLs per server. Cursors come from each pubapi database (the
    same positions on every engine), `_next` tokens from Datasette's."""
    facts = endpoints.read_facts(datasette_db)
    if not facts.pairs:
        raise BenchError("no publication has both a venue and a year: nothing to filter on")
    deep_hot, deep_cold = endpoints.deep_positions(facts, rng)
    deep = [deep_hot, *deep_cold]
    author_positions = endpoints.author_positions(facts, rng)
    ids = endpoints.sample_ids(facts, rng)
    pairs = endpoints.sample_pairs(facts, rng)
    ds_tokens = endpoints.Tokens(
        deep=cursors.datasette_tokens(datasette_db, "publications", "published_on", deep),
        authors=cursors.datasette_tokens(
            datasette_db, "authors", "publication_count", author_positions
        ),
    )
    pubapi_paths = {}
    for server, url in pubapi_urls.items():
        tokens = endpoints.Tokens(
            deep=cursors.publication_cursors(url, SECRET, deep),
            authors=cursors.author_cursors(url, SECRET, author_positions),
        )
        pubapi_paths[server] = endpoints.pubapi_paths(facts, words, tokens, deep_hot, ids, pairs)
    ds_paths = endpoints.datasette_paths(
        DATASETTE_DB, facts, words, ds_tokens, deep_hot, ids, pairs
    )
    variants = endpoints.build_variants(pubapi_paths, ds_paths)
    variants.append(endpoints.revalidate_variant(pubapi_paths))
    variants.append(endpoints.bare_variant())
    return Plan(variants, facts)


# ---------------------------------------------------------------------------------------------
# Servers


def pubapi_server(engine: str, database_url: str, run_dir: Path, workers: int) -> Server:
    port = free_port()
    argv = [str(BIN / "pubapi"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return Server(
        name=server_name(engine),
        argv=[*argv, "--workers", str(workers)],
        env=pubapi_env(database_url),
        cwd=run_dir,
        log=run_dir / f"{server_name(engine)}.log",
        port=port,
        ready_path="/ready",
        workers_expected=workers,
    )


def datasette_server(database: Path, run_dir: Path) -> Server:
    """Datasette as a publisher of a large read-only database would run it: immutable, with
    the table counts precomputed by `datasette inspect` (so that an unfiltered table's count
    is read, not counted, per request)."""
    port = free_port()
    settings = [arg for setting in DATASETTE_SETTINGS for arg in ("--setting", *setting.split())]
    inspected = run_dir / "datasette-inspect.json"
    if not inspected.exists():
        timed_run(
            [str(BIN / "datasette"), "inspect", str(database), "--inspect-file", str(inspected)],
            env=clean_env(),
            cwd=run_dir,
            log=run_dir / "datasette-inspect.log",
        )
    argv = [str(BIN / "datasette"), "serve", "-i", str(database), "--inspect-file", str(inspected)]
    return Server(
        name=DATASETTE,
        argv=[*argv, "--host", "127.0.0.1", "--port", str(port), *settings],
        env=clean_env(),
        cwd=run_dir,
        log=run_dir / "datasette.log",
        port=port,
        ready_path="/-/versions.json",
    )


def bare_server(run_dir: Path, workers: int) -> Server:
    port = free_port()
    return Server(
        name=BARE,
        argv=[
            str(BIN / "uvicorn"),
            "bench.bare_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
        ],
        env=clean_env(),
        cwd=PROJECT_ROOT,
        log=run_dir / "bare.log",
        port=port,
        ready_path="/",
        workers_expected=workers,
    )


# ---------------------------------------------------------------------------------------------
# Checking answers before timing


def plain_client() -> httpx.Client:
    """An HTTP client that sends what wrk sends: no Accept, no Accept-Encoding (so no
    compression, and the ETag wrk will be answered with)."""
    client = httpx.Client(timeout=300)
    for name in ("accept", "accept-encoding"):
        del client.headers[name]
    return client


def _get(client: httpx.Client, server: Server, path: str, headers: Mapping[str, str]) -> Any:
    response = client.get(server.base_url + path, headers=dict(headers))
    if response.status_code != 200:
        raise BenchError(
            f"{server.name} answered {response.status_code} to {path}: {response.text[:500]}"
        )
    return response.json()


def verify(variants: Sequence[Variant], servers: Mapping[str, Server], rng: random.Random) -> None:
    """One answer of each kind, and a few random cold ones, from every server: all 200, and
    pubapi agreeing with Datasette on what both must answer the same."""
    with plain_client() as client:
        for variant in variants:
            if variant.expected_status != 200:
                continue
            count = min(len(paths) for paths in variant.paths.values())
            picks = (
                [0] if variant.variant == HOT else rng.sample(range(count), min(SPOT_CHECKS, count))
            )
            for index in picks:
                answers = {
                    name: _get(client, servers[name], paths[index], variant.headers_for(name))
                    for name, paths in variant.paths.items()
                }
                theirs = answers.get(DATASETTE)
                for name, mine in answers.items():
                    if theirs is None or name == DATASETTE:
                        continue
                    found = endpoints.disagreements(variant.compare, mine, theirs)
                    if found:
                        raise BenchError(
                            f"{variant.label}: {name} {variant.paths[name][index]} and Datasette "
                            f"{variant.paths[DATASETTE][index]} disagree: {'; '.join(found)}"
                        )


def add_etags(variant: Variant, servers: Mapping[str, Server]) -> None:
    """Give the revalidation its `If-None-Match`: each server's current ETag of the page, as
    answered to a request like wrk's."""
    with plain_client() as client:
        for name, paths in variant.paths.items():
            if variant.status_for(name) != 304:
                continue  # the plain 200s beside the 304s
            response = client.get(servers[name].base_url + paths[0])
            tag = response.headers.get("etag")
            if response.status_code != 200 or tag is None:
                raise BenchError(f"{name} gave no ETag for {paths[0]} ({response.status_code})")
            again = client.get(servers[name].base_url + paths[0], headers={"If-None-Match": tag})
            if again.status_code != 304:
                raise BenchError(f"{name} answered {again.status_code} to If-None-Match {tag}")
            variant.server_headers[name] = {"If-None-Match": tag}


# ---------------------------------------------------------------------------------------------
# Measuring


@dataclass(frozen=True)
class Load:
    threads: int
    connections: int
    duration: int
    warmup: int
    rounds: int
    timeout: int
    seed: int


@dataclass(frozen=True)
class Scripts:
    url: str
    check: Path
    measure: Path


def write_scripts(variant: Variant, server: Server, run_dir: Path, seed: int) -> Scripts:
    """The URL list (cold) and the two Lua scripts of one variant on one server."""
    paths = variant.paths[server.name]
    stem = f"{variant.endpoint}-{variant.variant}-{server.name}"
    paths_file = None
    url = server.base_url + paths[0]
    if variant.variant != HOT:
        paths_file = run_dir / "urls" / f"{stem}.txt"
        paths_file.parent.mkdir(exist_ok=True)
        paths_file.write_text("\n".join(paths) + "\n")
        url = server.base_url + "/"
    scripts = {}
    for kind, expected in (("check", variant.status_for(server.name)), ("measure", None)):
        script = run_dir / "lua" / f"{stem}-{kind}.lua"
        script.parent.mkdir(exist_ok=True)
        script.write_text(
            wrk.lua_script(
                headers=variant.headers_for(server.name),
                paths_file=paths_file,
                seed=seed,
                expected_status=expected,
            )
        )
        scripts[kind] = script
    return Scripts(url, scripts["check"], scripts["measure"])


def _wrk(scripts: Scripts, script: Path, duration: int, load: Load) -> wrk.WrkResult:
    return wrk.run(
        scripts.url,
        script,
        duration=duration,
        threads=load.threads,
        connections=load.connections,
        timeout=load.timeout,
    )


def measure(
    variant: Variant, servers: Mapping[str, Server], run_dir: Path, load: Load
) -> dict[str, Any]:
    """Warm-up and status check per server, then the rounds, alternating the servers."""
    names = [name for name in servers if name in variant.paths]
    scripts = {name: write_scripts(variant, servers[name], run_dir, load.seed) for name in names}
    row: dict[str, Any] = {
        "endpoint": variant.endpoint,
        "variant": variant.variant,
        "label": variant.label,
        "expected_status": variant.expected_status,
        "urls": {name: len(set(variant.paths[name])) for name in names},
        "servers": {name: {"check": None, "rounds": []} for name in names},
    }
    for name in names:
        _settle(variant, name)
        checked = _wrk(scripts[name], scripts[name].check, load.warmup, load)
        _fail_on(checked, variant, name, "warm-up")
        row["servers"][name]["check"] = checked.as_dict()
    for number in range(load.rounds):
        # Who goes first alternates, so that neither always runs on a machine the other warmed.
        order = names[number % len(names) :] + names[: number % len(names)]
        for name in order:
            _settle(variant, name)
            result = _wrk(scripts[name], scripts[name].measure, load.duration, load)
            _fail_on(result, variant, name, f"round {number + 1}")
            row["servers"][name]["rounds"].append(result.as_dict())
    for name in names:
        found = row["servers"][name]
        found["median"] = report.median_round(found["rounds"])
    summary = ", ".join(
        f"{name} {row['servers'][name]['median']['requests_per_s']:.0f} req/s" for name in names
    )
    print(f"{variant.label}: {summary}", file=sys.stderr)
    return row


def _settle(variant: Variant, server: str) -> None:
    """Every run starts on an idle machine: earlier runs' backlogs finished."""
    waited = settle()
    if waited > 5:
        print(f"{variant.label}, {server}: waited {waited:.0f} s for the machine", file=sys.stderr)


def _fail_on(result: wrk.WrkResult, variant: Variant, server: str, run: str) -> None:
    found = wrk.problems(result, variant.status_for(server))
    if found:
        raise BenchError(f"{variant.label} on {server}, {run}: {'; '.join(found)}")


def response_callback_cost(bare: Server, run_dir: Path, load: Load) -> dict[str, Any]:
    """Throughput against the bare app with and without wrk's per-answer Lua callback."""
    variant = endpoints.bare_variant()
    scripts = write_scripts(variant, bare, run_dir, load.seed)
    without = _wrk(scripts, scripts.measure, load.duration, load).requests_per_s
    with_callback = _wrk(scripts, scripts.check, load.duration, load).requests_per_s
    change = with_callback / without - 1
    return {
        "without": without,
        "with": with_callback,
        "note": (
            "wrk's Lua `response` callback (it sees every status, but runs Lua for every "
            f"answer) was measured against bare FastAPI: {without:,.0f} req/s without it, "
            f"{with_callback:,.0f} with it ({change:+.0%}). Only the warm-up runs use it, to "
            "check every status; the measured runs go without (wrk's own error counts still "
            "fail them on any 4xx, 5xx or socket error)."
        ),
    }


# ---------------------------------------------------------------------------------------------
# The machine


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    ram_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            ram_kib = int(line.split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": ram_kib / 1024 / 1024,
        "kernel": f"{platform.system()} {platform.release()}",
    }


def versions(postgres: str | None) -> dict[str, str]:
    found = {"Python": platform.python_version()}
    for name in PUBAPI_VERSIONS:
        found[name] = metadata.version(name)
    found["SQLite"] = sqlite3.sqlite_version
    if postgres is not None:
        found["PostgreSQL"] = postgres
    found["datasette"] = metadata.version("datasette")
    found["sqlite-utils"] = metadata.version("sqlite-utils")
    found["wrk"] = wrk.version()
    return found


# ---------------------------------------------------------------------------------------------
# The run


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, required=True, help="publications to generate")
    parser.add_argument("--engines", default="sqlite,postgresql", help="pubapi engines")
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of the warm-up run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes of pubapi on SQLite and of the bare app (Datasette has one)",
    )
    parser.add_argument(
        "--postgres-workers", type=int, default=2, help="worker processes of pubapi on PostgreSQL"
    )
    parser.add_argument("--timeout", type=int, default=60, help="wrk's per-request timeout (s)")
    parser.add_argument("--seed", type=int, default=None, help="of the generator and the URLs")
    parser.add_argument("--workdir", type=Path, default=PROJECT_ROOT / "bench" / ".work")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL, help="server to use")
    parser.add_argument("--postgres-db", default="pubapi_bench", help="database made and dropped")
    parser.add_argument("--check", action="store_true", help="fail when a target is not met")
    args = parser.parse_args(argv)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(args.engines) - set(ENGINES)
    if unknown or "sqlite" not in args.engines:
        parser.error(f"--engines: sqlite, optionally with postgresql (got {args.engines})")
    for name in (
        "size",
        "duration",
        "warmup",
        "rounds",
        "connections",
        "threads",
        "workers",
        "postgres_workers",
    ):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.seed is None:
        args.seed = generate.DEFAULT_SEED
    return args


def run(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """The whole benchmark; the results (raw numbers) on success, BenchError otherwise."""
    started = time.monotonic()
    if not Path(wrk.WRK).exists():
        raise BenchError(f"{wrk.WRK} is missing: install wrk (Debian package `wrk`)")
    workdir: Path = args.workdir.resolve()
    run_dir = workdir / f"run-{args.size}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    rng = random.Random(args.seed)
    load = Load(
        args.threads,
        args.connections,
        args.duration,
        args.warmup,
        args.rounds,
        args.timeout,
        args.seed,
    )
    notes: list[str] = []
    jsonl, words = generated_data(workdir, args.size, args.seed)
    ingest, pubapi_db, datasette_db = ingest_sqlite(jsonl, run_dir)
    database_urls = {server_name("sqlite"): f"sqlite:///{pubapi_db}"}
    servers: dict[str, Server] = {}
    pg_version = None
    with ExitStack() as stack:
        if "postgresql" in args.engines:
            problem = postgres_problem(args.postgres_url)
            if problem is None:
                url, pg_version = stack.enter_context(
                    postgres_database(args.postgres_url, args.postgres_db)
                )
                print("loading: pubapi seed (PostgreSQL)", file=sys.stderr)
                timed = seed_pubapi(url, jsonl, run_dir, "pubapi-postgresql")
                ingest[report.PUBAPI_PG] = _load_numbers(timed, _count_publications(url))
                database_urls[server_name("postgresql")] = url
            else:
                notes.append(f"PostgreSQL was not measured: {problem}.")
        print("planning the URLs", file=sys.stderr)
        plan = make_plan(datasette_db, database_urls, words, rng)

        for engine_server, url in database_urls.items():
            engine = engine_server.removeprefix("pubapi-")
            workers = args.workers if engine == "sqlite" else args.postgres_workers
            servers[engine_server] = pubapi_server(engine, url, run_dir, workers)
        servers[DATASETTE] = datasette_server(datasette_db, run_dir)
        servers[BARE] = bare_server(run_dir, args.workers)
        for server in servers.values():
            # Registered before starting: a server that fails to start is still stopped.
            stack.callback(server.stop)
            server.start()
        for server in servers.values():
            server.wait_ready()
        print("checking answers", file=sys.stderr)
        verify(plan.variants, servers, rng)
        revalidate = next(v for v in plan.variants if v.endpoint == "revalidate")
        add_etags(revalidate, servers)
        callback = response_callback_cost(servers[BARE], run_dir, load)
        # The plain 200s beside each revalidation are asked of the same server.
        beside = {
            endpoints.plain(name): replace(server, name=endpoints.plain(name))
            for name, server in servers.items()
            if endpoints.plain(name) in revalidate.paths
        }
        rows = [measure(variant, {**servers, **beside}, run_dir, load) for variant in plan.variants]
        rss = {name: [rss_kib(pid) for pid in server.workers()] for name, server in servers.items()}
    pids = sorted({pid for server in servers.values() for pid in server.seen})
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "command": command,
        "elapsed_s": time.monotonic() - started,
        "machine": machine(),
        "versions": versions(pg_version),
        "settings": {
            "size": args.size,
            "seed": args.seed,
            "engines": sorted(database_urls),
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "connections": args.connections,
            "threads": args.threads,
            "workers": args.workers,
            "postgres_workers": args.postgres_workers,
            "timeout_s": args.timeout,
            "datasette_settings": [f"--setting {s}" for s in DATASETTE_SETTINGS],
        },
        "notes": notes,
        "facts": {
            "publications": plan.facts.publications,
            "dated": plan.facts.dated,
            "authors": plan.facts.authors,
            "venues": len(plan.facts.venues),
        },
        "ingest": ingest,
        "response_callback": callback,
        "rows": rows,
        "rss_kib": rss,
        "pids": pids,
    }
    results["targets"] = report.evaluate_targets(results)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "bench.run", *(sys.argv[1:] if argv is None else argv)])
    try:
        results = run(args, command)
    except (BenchError, ProcessError, wrk.WrkError, ValueError) as exc:
        print(f"bench: failed: {exc}", file=sys.stderr)
        return 2
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.render(results))
    (out.parent / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    missed = [t["target"] for t in results["targets"] if not t["ok"]]
    print(f"wrote {out} and {out.parent / 'results.json'}", file=sys.stderr)
    if args.check and missed:
        print(f"bench: targets not met: {'; '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
