"""The `pubapi` command: serve, migrate, seed, and regenerate the seed data from the page."""

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from app.core.config import Settings, get_settings
from app.core.db import make_engine
from app.core.migrations import schema_lock, upgrade
from app.core.observability import log_config
from app.models import Publication
from app.queries import consent as consent_queries
from app.seed import loader
from app.seed.page import PAGE_FILE, PageFormatError, write_seed
from app.seed.records import json_schema

SCHEMA_FILE = "seed-format.schema.json"


def _migrate(settings: Settings, engine: Engine) -> None:
    with schema_lock(engine):
        upgrade(settings.database_url)


def cmd_migrate(_args: argparse.Namespace) -> int:
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        _migrate(settings, engine)
    finally:
        engine.dispose()
    print(f"database at the newest migration: {_safe_url(settings.database_url)}")
    return 0


def _report(report: loader.LoadReport) -> str:
    return (
        f"{report.records} records from {len(report.files)} file(s): {report.inserted} new, "
        f"{report.updated} updated, {report.unchanged} unchanged; data version "
        f"{report.data_version}"
        + (
            f"; records prepared in {loader.PREPARING_PROCESSES} processes"
            if report.parallel
            else ""
        )
    )


def cmd_seed(args: argparse.Namespace) -> int:
    settings = get_settings()
    engine = make_engine(settings.database_url, immediate=True)
    try:
        _migrate(settings, engine)
        report = loader.load(
            engine,
            args.paths or [settings.seed_path],
            progress=args.progress,
            parallel=args.parallel,
        )
    except loader.SeedError as exc:
        print(f"pubapi seed: nothing loaded: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(_report(report))
    return 0


WORKER_HEALTHCHECK_SECONDS = 60


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.core.server import ProblemHttpToolsProtocol

    settings = get_settings()
    engine = make_engine(settings.database_url, immediate=True)
    try:
        # Under one lock, so that servers starting together migrate and seed only once.
        with schema_lock(engine):
            upgrade(settings.database_url)
            with engine.connect() as conn:
                count = select(func.count()).select_from(Publication)
                empty = conn.execute(count).scalar_one() == 0
            if empty:
                print(f"empty database: loading {settings.seed_path}", file=sys.stderr)
                print(_report(loader.load(engine, [settings.seed_path])), file=sys.stderr)
    except loader.SeedError as exc:
        print(f"pubapi serve: could not load the seed data: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # X-Forwarded-For is believed only from the proxies the operator names.
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_config=log_config(),
        access_log=False,
        # Its refusal of an unreadable request is a problem document too.
        http=ProblemHttpToolsProtocol,
        # With several workers, uvicorn kills one that does not answer its health check in
        # time, requests in flight included. Its 5 s default killed busy workers on a saturated
        # machine (tests/test_soak.py, beside a benchmark); a hung one is still replaced.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )
    return 0


def cmd_consent_purge(args: argparse.Namespace) -> int:
    settings = get_settings()
    retention = dt.timedelta(days=settings.consent_retention_days)
    horizon = dt.datetime.now(dt.UTC) - retention
    engine = make_engine(settings.database_url, immediate=True)
    try:
        _migrate(settings, engine)
        with engine.begin() as conn:
            deleted = consent_queries.purge_expired(conn, horizon)
    finally:
        engine.dispose()
    print(
        f"deleted {deleted} consent record(s) that expired before "
        f"{horizon.isoformat(timespec='seconds').replace('+00:00', 'Z')} "
        f"(retention: {settings.consent_retention_days} days after expiry)"
    )
    return 0


def cmd_parse_page(args: argparse.Namespace) -> int:
    try:
        written = write_seed(args.page, args.out)
    except PageFormatError as exc:
        print(f"pubapi parse-page: {args.page}: {exc}", file=sys.stderr)
        return 2
    schema = args.out / SCHEMA_FILE
    schema.write_text(_schema_text(), encoding="utf-8")
    for path in [*written, schema]:
        print(f"wrote {path}")
    return 0


def _schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="pubapi", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="migrate, load the seed data into an empty database, and serve"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)

    migrate = commands.add_parser("migrate", help="bring the schema to the newest migration")
    migrate.set_defaults(func=cmd_migrate)

    seed = commands.add_parser(
        "seed", help="load publications from JSON or JSON Lines files, all or nothing"
    )
    seed.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help=f"files or directories (default: {settings.seed_path})",
    )
    seed.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: for files over 1 MiB on a terminal)",
    )
    seed.add_argument(
        "--parallel",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="read and index records in other processes while this one writes "
        "(default: for 8 MiB of input or more, on a machine with several cores)",
    )
    seed.set_defaults(func=cmd_seed)

    consent = commands.add_parser("consent", help="manage consent records")
    consent_commands = consent.add_subparsers(dest="consent_command", required=True)
    purge = consent_commands.add_parser(
        "purge",
        help="delete consent records past their retention horizon "
        "(expired more than PUBAPI_CONSENT_RETENTION_DAYS ago), and only those",
    )
    purge.set_defaults(func=cmd_consent_purge)

    parse_page = commands.add_parser(
        "parse-page", help="turn the captured publications page into seed_data/ files"
    )
    parse_page.add_argument("page", type=Path, nargs="?", default=settings.seed_path / PAGE_FILE)
    parse_page.add_argument("--out", type=Path, default=settings.seed_path)
    parse_page.set_defaults(func=cmd_parse_page)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
