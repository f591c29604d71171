"""The results of a benchmark run: the targets of the issue, evaluated, and RESULTS.md.

Everything here is computed from the raw numbers (`results.json`): no verdict is typed by hand,
so the report cannot claim what the run did not show.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

from bench.endpoints import plain

PUBAPI = "pubapi-sqlite"
PUBAPI_PG = "pubapi-postgresql"
DATASETTE = "datasette"
BARE = "bare"

COLD_RATIO = 2.0
HOT_SHARE = 0.25
DEEP_RATIO = 1.25
SEED_RATIO = 0.5

# Escaped: ruff rightly flags look-alike characters written as such in source.
OK, NOT_OK = "\u2713", "\u2717"
TIMES = "\u00d7"


def median_round(rounds: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The round with the median throughput (the lower one of an even count), whole: its
    latencies belong to its throughput."""
    ordered = sorted(rounds, key=lambda r: r["requests_per_s"])
    return ordered[(len(ordered) - 1) // 2]


def _median(row: Mapping[str, Any], server: str) -> Mapping[str, Any] | None:
    found = row["servers"].get(server)
    return None if found is None else found["median"]


def _row(results: Mapping[str, Any], endpoint: str, variant: str) -> Mapping[str, Any] | None:
    for row in results["rows"]:
        if row["endpoint"] == endpoint and row["variant"] == variant:
            return row
    return None


def _target(name: str, value: float | None, threshold: str, ok: bool, shown: str) -> dict[str, Any]:
    return {"target": name, "value": value, "threshold": threshold, "ok": ok, "shown": shown}


def evaluate_targets(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue, for pubapi on SQLite (like for like with Datasette)."""
    targets = []
    bare_row = _row(results, BARE, "hot")
    bare = _median(bare_row, BARE) if bare_row else None
    for row in results["rows"]:
        mine, theirs = _median(row, PUBAPI), _median(row, DATASETTE)
        if row["variant"] == "cold" and mine is not None and theirs is not None:
            ratio = _rate_ratio(mine, theirs)
            targets.append(
                _target(
                    f"{row['endpoint']} cold: pubapi ≥ {COLD_RATIO:g}{TIMES} Datasette req/s",
                    ratio,
                    f"≥ {COLD_RATIO:g}{TIMES}",
                    ratio is not None and ratio >= COLD_RATIO,
                    "—" if ratio is None else f"{ratio:.2f}{TIMES}",
                )
            )
    for row in results["rows"]:
        mine = _median(row, PUBAPI)
        if row["variant"] == "hot" and mine is not None and bare is not None:
            share = mine["requests_per_s"] / bare["requests_per_s"]
            targets.append(
                _target(
                    f"{row['endpoint']} hot: ≥ {HOT_SHARE:.0%} of bare FastAPI req/s",
                    share,
                    f"≥ {HOT_SHARE:.0%}",
                    share >= HOT_SHARE,
                    f"{share:.0%}",
                )
            )
    revalidate = _row(results, "revalidate", "hot")
    if revalidate is not None:
        # Against the same page's 200s, measured in the same rounds (`endpoints.plain`).
        fast, page = _median(revalidate, PUBAPI), _median(revalidate, plain(PUBAPI))
        if fast is not None and page is not None:
            ratio = fast["requests_per_s"] / page["requests_per_s"]
            targets.append(
                _target(
                    "revalidate (304) faster than the hot list (side by side)",
                    ratio,
                    f"> 1{TIMES}",
                    ratio > 1,
                    f"{ratio:.2f}{TIMES} the hot list's req/s "
                    f"({fast['requests_per_s']:,.0f} against {page['requests_per_s']:,.0f})",
                )
            )
    deep = deep_ratio(results, PUBAPI)
    if deep is not None:
        targets.append(
            _target(
                f"deep page p50 ≤ {DEEP_RATIO:g}{TIMES} page 1 p50 (cold, one URL each)",
                deep,
                f"≤ {DEEP_RATIO:g}{TIMES}",
                deep <= DEEP_RATIO,
                f"{deep:.2f}{TIMES}",
            )
        )
    seed = seed_ratio(results, PUBAPI)
    if seed is not None:
        targets.append(
            _target(
                f"pubapi seed ≥ {SEED_RATIO:g}{TIMES} sqlite-utils insert rows/s",
                seed,
                f"≥ {SEED_RATIO:g}{TIMES}",
                seed >= SEED_RATIO,
                f"{seed:.2f}{TIMES}",
            )
        )
    rss = results.get("rss_kib", {})
    stated = bool(rss.get(PUBAPI)) and all(kib > 0 for kib in rss.get(PUBAPI, []))
    targets.append(
        _target(
            "RSS per pubapi worker stated",
            None,
            "measured",
            stated,
            ", ".join(f"{kib / 1024:.0f} MiB" for kib in rss.get(PUBAPI, [])) or "not measured",
        )
    )
    return targets


def deep_ratio(results: Mapping[str, Any], server: str) -> float | None:
    """p50 of the deep page at 90% over p50 of page 1 of the whole set, both one URL, cold.

    Cold, because a hot page is a kept answer, whatever its depth: only the database's work
    tells a deep page from the first. One URL each, so that both are read from the same kind
    of cache: the 500 cold deep pages are 500 places in the file, page 1 one place that stays
    in memory, and their ratio measured the page cache, not the depth.
    """
    deep, first = _row(results, "deep-90", "cold"), _row(results, "page-1", "cold")
    if deep is None or first is None:
        return None
    d, f = _median(deep, server), _median(first, server)
    if d is None or f is None or f["p50_ms"] == 0:
        return None
    ratio: float = d["p50_ms"] / f["p50_ms"]
    return ratio


def seed_ratio(
    results: Mapping[str, Any], load: str, baseline: str = "sqlite-utils"
) -> float | None:
    ingest = results["ingest"]
    if load not in ingest or baseline not in ingest:
        return None
    ratio: float = ingest[load]["rows_per_s"] / ingest[baseline]["rows_per_s"]
    return ratio


def _num(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right_from: int = 1) -> str:
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


INGEST_NAMES = {
    PUBAPI: "`pubapi seed` into SQLite",
    "sqlite-utils": "`sqlite-utils insert --nl` (flat rows, the baseline)",
    "sqlite-utils-fts": "the same, then `sqlite-utils enable-fts --fts5` on title and abstract",
    "datasette-build": "`bench.datasette_db.build` (Datasette's database; not compared)",
    PUBAPI_PG: "`pubapi seed` into PostgreSQL",
}


def _ingest_table(results: Mapping[str, Any]) -> str:
    rows = []
    for load, name in INGEST_NAMES.items():
        found = results["ingest"].get(load)
        if found is None:
            continue
        ratios = [
            seed_ratio(results, load, baseline) if load != "datasette-build" else None
            for baseline in ("sqlite-utils", "sqlite-utils-fts")
        ]
        rows.append(
            [
                name,
                _num(found["rows"]),
                _num(found["seconds"], 2),
                _num(found["rows_per_s"]),
                _num(found["peak_rss_kib"] / 1024, 0),
                *("—" if ratio is None else f"{ratio:.2f}{TIMES}" for ratio in ratios),
            ]
        )
    header = ["load", "rows", "seconds", "rows/s", "peak RSS (MiB)"]
    return _table([*header, "vs sqlite-utils", "vs sqlite-utils with FTS"], rows)


def _endpoint_table(results: Mapping[str, Any]) -> str:
    with_pg = any(PUBAPI_PG in row["servers"] for row in results["rows"])
    bare_row = _row(results, BARE, "hot")
    bare = _median(bare_row, BARE) if bare_row else None
    header = [
        "endpoint",
        "variant",
        "URLs",
        "pubapi req/s",
        "p50 ms",
        "p99 ms",
        "Datasette req/s",
        "p50 ms",
        "p99 ms",
        "pubapi / Datasette",
    ]
    if with_pg:
        header += ["PostgreSQL req/s", "p50 ms", "p99 ms", "PostgreSQL / Datasette"]
    header.append("% of bare (hot)")
    rows = []
    for row in results["rows"]:
        mine = _median(row, PUBAPI) or _median(row, BARE)
        theirs = _median(row, DATASETTE)
        pg = _median(row, PUBAPI_PG)
        urls = max(row["urls"].values())
        cells = [
            row["endpoint"],
            row["variant"],
            _num(urls),
            *_numbers(mine),
            *_numbers(theirs),
            _ratio(mine, theirs),
        ]
        if with_pg:
            cells += [*_numbers(pg), _ratio(pg, theirs)]
        share = (
            f"{mine['requests_per_s'] / bare['requests_per_s']:.0%}"
            if row["variant"] == "hot" and mine is not None and bare is not None
            else "—"
        )
        cells.append(share)
        rows.append(cells)
    return _table(header, rows, right_from=2)


def _numbers(median: Mapping[str, Any] | None) -> list[str]:
    """req/s, p50 and p99 of a median round, as table cells (no latency without an answer)."""
    if median is None:
        return ["—", "—", "—"]
    if not median["requests_per_s"]:
        return ["0", "—", "—"]
    return [_num(median["requests_per_s"]), _ms(median["p50_ms"]), _ms(median["p99_ms"])]


def _rate_ratio(mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> float | None:
    """mine's req/s over theirs; infinite when only mine answered, None when neither did."""
    if not theirs["requests_per_s"]:
        return math.inf if mine["requests_per_s"] else None
    return float(mine["requests_per_s"] / theirs["requests_per_s"])


def _ratio(mine: Mapping[str, Any] | None, theirs: Mapping[str, Any] | None) -> str:
    ratio = None if mine is None or theirs is None else _rate_ratio(mine, theirs)
    return "—" if ratio is None else f"{ratio:.2f}{TIMES}"


def _rss_table(results: Mapping[str, Any]) -> str:
    rows = []
    for server, sizes in results["rss_kib"].items():
        for n, kib in enumerate(sizes, 1):
            what = f"worker {n}" if len(sizes) > 1 else "process"
            rows.append([server, what, f"{kib / 1024:.0f}"])
    return _table(["server", "process", "RSS (MiB)"], rows, right_from=2)


def _targets_table(targets: Sequence[Mapping[str, Any]]) -> str:
    rows = [[t["target"], t["shown"], t["threshold"], OK if t["ok"] else NOT_OK] for t in targets]
    return _table(["target", "measured", "wanted", ""], rows, right_from=1)


def render(results: Mapping[str, Any]) -> str:
    """RESULTS.md: how the numbers were made, the numbers, and the targets."""
    s = results["settings"]
    machine = results["machine"]
    versions = results["versions"]
    targets = results["targets"]
    passed = sum(1 for t in targets if t["ok"])
    lines = [
        "# pubapi beside Datasette",
        "",
        f"Measured {results['date']} with:",
        "",
        "```sh",
        results["command"],
        "```",
        "",
        f"**{s['size']:,} publications** (generated by `bench.generate`, seed {s['seed']}); "
        f"**{passed} of {len(targets)} targets met** (see [Targets](#targets)). The whole run "
        f"took {results['elapsed_s'] / 60:.1f} minutes.",
        "",
        "## Machine and versions",
        "",
        f"- CPU: {machine['cpu']}, {machine['cores']} cores; RAM {machine['ram_gib']:.1f} GiB; "
        f"kernel {machine['kernel']}",
        "- " + ", ".join(f"{name} {version}" for name, version in versions.items()),
        "",
        "## How",
        "",
        f"- Everything on loopback, on this one machine: wrk ({s['threads']} threads, "
        f"{s['connections']} connections) shares the CPU with the servers.",
        f"- pubapi: `pubapi serve --workers {s['workers']}` on SQLite (one process, like "
        f"Datasette; `--workers {s['postgres_workers']}` on PostgreSQL), uvicorn with uvloop and "
        "httptools, access log on (to a file), as Datasette's uvicorn access log is. The bare "
        f"FastAPI app: `uvicorn --workers {s['workers']}`, no access log.",
        "- Datasette: `datasette serve -i --inspect-file` (immutable, with the table counts "
        "precomputed by `datasette inspect`: the fast mode a publisher would pick) "
        f"with `{' '.join(s['datasette_settings'])}`. The generous time limits make it compute "
        "what is asked instead of timing out; suggested facets are off because no client asked "
        "for them (on, they would run extra queries on every page 1 and slow Datasette down).",
        "- Page size 20 on both. Publication lists on Datasette sort by date "
        "(`_sort_desc=published_on`, like pubapi's default) and expand venue names "
        "(`_labels=on`); its counts stay on (its default). pubapi's bodies are richer (authors "
        "and venue embedded, totals, snippets with `q`). No `Accept-Encoding`: neither compresses.",
        "- **hot**: the same URL every request. **cold**: a URL picked at random per request from "
        "the list (`URLs` column) with `Cache-Control: no-cache`, so that no answer cache serves "
        "it. Deep pages resume at 85-95% of the whole set in date order (pubapi: a cursor, "
        "Datasette: `_next`); hot deep is at 90%. **list** cold asks page 1 of each year; "
        "**page-1** cold asks page 1 of the whole set, and **deep-90** cold the deep page at "
        "90%: one URL each, the pair a deep page's cost is compared on. **revalidate** asks "
        "the hot list with its ETag (`If-None-Match`: 304s) and, in the same rounds, "
        "alternating with it, the same URL without (200s): the pair a 304 is compared on.",
        f"- Per endpoint and variant: a {s['warmup_s']} s warm-up run per server that also checks "
        "the status of every answer (200, or 304 for revalidate); then "
        f"{s['rounds']} round(s) of {s['duration_s']} s per server, the order of the servers "
        "alternating from round to round; the table shows each server's median round. Every "
        "run starts on an idle machine (under 15% of its CPU busy for a second): requests an "
        "earlier run left in flight are finished first. A server that completes no request in "
        "a run is shown at 0 req/s. Any "
        "error or unexpected status fails the run. Before timing, one answer of each kind (and "
        "up to 5 random cold ones) was compared between pubapi and Datasette: the same totals "
        "and facet counts, the same sort values in the same order, and the same rows after a "
        "cursor. (Not the same ids on a first page: Datasette sorts it by the column alone, ties "
        "in index order, i.e. by descending id here, but pages after `_next` by the column then "
        "ascending id; pubapi sorts every page by the column then ascending id.)",
        "- " + results["response_callback"]["note"],
    ]
    lines += [f"- {note}" for note in results.get("notes", [])]
    lines += [
        "",
        "## Loading",
        "",
        _ingest_table(results),
        "",
        "Peak RSS is the loading process's (`ru_maxrss`); for PostgreSQL, the client's only.",
        "",
        "## Endpoints",
        "",
        _endpoint_table(results),
        "",
    ]
    deep = deep_ratio(results, PUBAPI)
    if deep is not None:
        lines += [
            f"Deep page at 90% vs page 1 (pubapi, SQLite, cold, one URL each, p50): "
            f"{deep:.2f}{TIMES}"
            + (
                f"; PostgreSQL: {pg:.2f}{TIMES}"
                if (pg := deep_ratio(results, PUBAPI_PG)) is not None
                else ""
            )
            + ".",
            "",
        ]
    lines += [
        "## Memory",
        "",
        "Resident set size (VmRSS) after the runs.",
        "",
        _rss_table(results),
        "",
        "## Targets",
        "",
        "Evaluated on pubapi with SQLite, like for like with Datasette (PostgreSQL is shown "
        "above for information).",
        "",
        _targets_table(targets),
        "",
    ]
    return "\n".join(lines)
