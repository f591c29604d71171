"""What is measured: for each endpoint, the URLs each server is asked, hot and cold.

A hot variant asks the same URL every time (what a cache, or a popular page, sees). A cold
variant picks, per request, one of many URLs, and sends `Cache-Control: no-cache`, so that no
server-side answer cache can serve it and the database does the work. Both servers get the
same question in their own dialect, with the same page size (20), and answer from the same
data: ids are the same on both sides, so the answers can be (and are) compared before timing.
"""

import random
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

HOT, COLD = "hot", "cold"
DATASETTE = "datasette"
BARE = "bare"
PLAIN = "+200"
NO_CACHE = {"Cache-Control": "no-cache"}
PAGE = 20
# Years offered to the cold page-1 variant, when the data has them.
YEARS = range(2015, 2027)
COLD_URLS = 500
COLD_IDS = 2000
# The deep page sits at 85-95% of the whole set in date order; the hot one at 90%.
DEEP_RANGE = (0.85, 0.95)
DEEP_HOT = 0.90
# Cold author pages start anywhere in the first half of the authors.
AUTHOR_RANGE = 0.5


@dataclass
class Variant:
    """One row of the results: an endpoint, hot or cold, and what each server is asked."""

    endpoint: str
    variant: str
    # Server name -> paths (one for a hot variant). Servers absent here do not run it.
    paths: dict[str, list[str]]
    headers: dict[str, str] = field(default_factory=dict)
    # Per-server headers (the ETag of the revalidation), on top of `headers`.
    server_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    expected_status: int = 200
    # Per-server statuses other than `expected_status` (the 200s beside the revalidation).
    server_status: dict[str, int] = field(default_factory=dict)
    # What pubapi's and Datasette's answers must agree on (see `disagreements`).
    compare: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.endpoint} ({self.variant})"

    def headers_for(self, server: str) -> dict[str, str]:
        return {**self.headers, **self.server_headers.get(server, {})}

    def status_for(self, server: str) -> int:
        return self.server_status.get(server, self.expected_status)


@dataclass(frozen=True)
class Facts:
    """What the URLs are chosen from, read from the Datasette database."""

    publications: int
    dated: int
    years: list[int]
    # (venue id, publications), busiest first.
    venues: list[tuple[int, int]]
    # (venue id, year, publications), busiest first.
    pairs: list[tuple[int, int, int]]
    authors: int


def read_facts(database: Path) -> Facts:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:

        def scalar(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0])

        years = [
            int(row[0])
            for row in conn.execute(
                "SELECT DISTINCT year FROM publications WHERE year BETWEEN ? AND ? ORDER BY year",
                (YEARS.start, YEARS.stop - 1),
            )
        ]
        venues = conn.execute(
            "SELECT venue_id, count(*) AS n FROM publications WHERE venue_id IS NOT NULL "
            "GROUP BY venue_id ORDER BY n DESC, venue_id"
        ).fetchall()
        pairs = conn.execute(
            "SELECT venue_id, year, count(*) AS n FROM publications "
            "WHERE venue_id IS NOT NULL AND year IS NOT NULL "
            "GROUP BY venue_id, year ORDER BY n DESC, venue_id, year"
        ).fetchall()
        return Facts(
            publications=scalar("SELECT count(*) FROM publications"),
            dated=scalar("SELECT count(*) FROM publications WHERE published_on IS NOT NULL"),
            years=years,
            venues=[(int(v), int(n)) for v, n in venues],
            pairs=[(int(v), int(y), int(n)) for v, y, n in pairs],
            authors=scalar("SELECT count(*) FROM authors"),
        )
    finally:
        conn.close()


def deep_positions(facts: Facts, rng: random.Random) -> tuple[int, list[int]]:
    """The hot deep position and the cold ones: rows (1-based, in date order) with a date and
    a row after them, at 85-95% of the whole set."""
    low = max(1, round(DEEP_RANGE[0] * facts.publications))
    high = min(round(DEEP_RANGE[1] * facts.publications), facts.dated, facts.publications - 1)
    if low > high:
        raise ValueError(
            f"no dated publication at 85-95% of {facts.publications} "
            f"({facts.dated} have a date): cannot place the deep page"
        )
    hot = min(max(round(DEEP_HOT * facts.publications), low), high)
    span = range(low, high + 1)
    return hot, sorted(rng.sample(span, min(COLD_URLS, len(span))))


def author_positions(facts: Facts, rng: random.Random) -> list[int]:
    """Where cold author pages resume: positions in the first half of the authors."""
    span = range(1, max(1, int(AUTHOR_RANGE * facts.authors)) + 1)
    if facts.authors < 2:
        raise ValueError("fewer than 2 authors: no author page to resume")
    return sorted(rng.sample(span, min(COLD_URLS, len(span))))


@dataclass(frozen=True)
class Tokens:
    """Deep-page tokens of one server, by position."""

    deep: Mapping[int, str]
    authors: Mapping[int, str]


def _q(value: str) -> str:
    return quote(value, safe="")


def pubapi_paths(
    facts: Facts,
    words: Mapping[str, Sequence[str]],
    tokens: Tokens,
    deep_hot: int,
    ids: tuple[int, Sequence[int]],
    pairs: Sequence[tuple[int, int]],
) -> dict[tuple[str, str], list[str]]:
    """(endpoint, variant) -> pubapi paths."""
    list_page = f"/publications?limit={PAGE}"
    busy_venue, busy_year, _ = facts.pairs[0]
    return {
        ("list", HOT): [list_page],
        ("list", COLD): [f"/publications?year={y}&limit={PAGE}" for y in facts.years],
        ("page-1", COLD): [list_page],
        ("deep", HOT): [f"{list_page}&cursor={tokens.deep[deep_hot]}"],
        ("deep", COLD): [
            f"{list_page}&cursor={token}" for p, token in tokens.deep.items() if p != deep_hot
        ],
        ("deep-90", COLD): [f"{list_page}&cursor={tokens.deep[deep_hot]}"],
        **{
            (f"search-{kind}", variant): [f"/publications?q={_q(w)}&limit={PAGE}" for w in chosen]
            for kind, found in words.items()
            for variant, chosen in ((HOT, found[:1]), (COLD, found))
        },
        ("by-id", HOT): [f"/publications/{ids[0]}"],
        ("by-id", COLD): [f"/publications/{i}" for i in ids[1]],
        ("authors", HOT): [f"/authors?sort=-publication_count&limit={PAGE}"],
        ("authors", COLD): [
            f"/authors?sort=-publication_count&limit={PAGE}&cursor={token}"
            for token in tokens.authors.values()
        ],
        ("facets", HOT): [f"/publications?facets=year,venue&limit={PAGE}"],
        ("facets", COLD): [
            f"/publications?venue={v}&facets=year,venue&limit={PAGE}" for v, _ in facts.venues
        ],
        ("venue-year", HOT): [f"/publications?venue={busy_venue}&year={busy_year}&limit={PAGE}"],
        ("venue-year", COLD): [f"/publications?venue={v}&year={y}&limit={PAGE}" for v, y in pairs],
    }


def datasette_paths(
    db: str,
    facts: Facts,
    words: Mapping[str, Sequence[str]],
    tokens: Tokens,
    deep_hot: int,
    ids: tuple[int, Sequence[int]],
    pairs: Sequence[tuple[int, int]],
) -> dict[tuple[str, str], list[str]]:
    """(endpoint, variant) -> Datasette paths, the same questions as `pubapi_paths`.

    Publication lists sort by date like pubapi (`_sort_desc=published_on`) and expand venue
    names (`_labels=on`); Datasette's counts stay on, as by default.
    """
    table = f"/{db}/publications.json"
    by_date = f"_sort_desc=published_on&_size={PAGE}&_labels=on"
    facets = "_facet=year&_facet=venue_id"
    busy_venue, busy_year, _ = facts.pairs[0]
    authors = f"/{db}/authors.json?_sort_desc=publication_count&_size={PAGE}"
    return {
        ("list", HOT): [f"{table}?{by_date}"],
        ("list", COLD): [f"{table}?year={y}&{by_date}" for y in facts.years],
        ("page-1", COLD): [f"{table}?{by_date}"],
        ("deep", HOT): [f"{table}?{by_date}&_next={tokens.deep[deep_hot]}"],
        ("deep", COLD): [
            f"{table}?{by_date}&_next={token}" for p, token in tokens.deep.items() if p != deep_hot
        ],
        ("deep-90", COLD): [f"{table}?{by_date}&_next={tokens.deep[deep_hot]}"],
        **{
            (f"search-{kind}", variant): [
                f"{table}?_search={_q(w)}&_size={PAGE}&_labels=on" for w in chosen
            ]
            for kind, found in words.items()
            for variant, chosen in ((HOT, found[:1]), (COLD, found))
        },
        ("by-id", HOT): [f"/{db}/publications/{ids[0]}.json"],
        ("by-id", COLD): [f"/{db}/publications/{i}.json" for i in ids[1]],
        ("authors", HOT): [authors],
        ("authors", COLD): [f"{authors}&_next={token}" for token in tokens.authors.values()],
        ("facets", HOT): [f"{table}?{facets}&{by_date}"],
        ("facets", COLD): [f"{table}?venue_id={v}&{facets}&{by_date}" for v, _ in facts.venues],
        ("venue-year", HOT): [f"{table}?venue_id={busy_venue}&year={busy_year}&{by_date}"],
        ("venue-year", COLD): [f"{table}?venue_id={v}&year={y}&{by_date}" for v, y in pairs],
    }


# What the two answers must agree on, per endpoint: the number of matches, and the page's
# sort values in order ("order:COLUMN"). Not the ids on a first page: Datasette sorts it by the
# column alone (`ORDER BY published_on DESC`, ties in whatever order the index gives), but the
# pages after a `_next` by the column then the id, as pubapi sorts every page. Search ranks
# differ too (BM25 over other columns and weights), so only the number of matches is compared.
COMPARE: dict[str, tuple[str, ...]] = {
    "list": ("total", "order:published_on"),
    "page-1": ("total", "order:published_on"),
    "deep": ("total", "order:published_on"),
    "deep-90": ("total", "order:published_on"),
    "search-common": ("total",),
    "search-rare": ("total",),
    "by-id": ("id",),
    "authors": ("total", "order:publication_count"),
    "facets": ("total", "order:published_on", "facets"),
    "venue-year": ("total", "order:published_on"),
}
# Pages resumed from a token: both servers break ties by id there, so the same rows come first.
RESUMED = {("deep", HOT), ("deep", COLD), ("deep-90", COLD), ("authors", COLD)}


def compared(endpoint: str, variant: str) -> tuple[str, ...]:
    return COMPARE[endpoint] + (("first",) if (endpoint, variant) in RESUMED else ())


def sample_ids(facts: Facts, rng: random.Random) -> tuple[int, list[int]]:
    """The hot id (the middle one) and the cold ids."""
    n = facts.publications
    return max(1, n // 2), rng.sample(range(1, n + 1), min(COLD_IDS, n))


def sample_pairs(facts: Facts, rng: random.Random) -> list[tuple[int, int]]:
    pairs = [(v, y) for v, y, _ in facts.pairs]
    return rng.sample(pairs, min(COLD_URLS, len(pairs)))


def build_variants(
    pubapi: Mapping[str, dict[tuple[str, str], list[str]]],
    datasette: dict[tuple[str, str], list[str]],
) -> list[Variant]:
    """Every compared variant, from each server's paths (pubapi: one set per engine)."""
    variants = []
    for key, ds_paths in datasette.items():
        endpoint, variant = key
        paths = {server: found[key] for server, found in pubapi.items()}
        paths[DATASETTE] = ds_paths
        variants.append(
            Variant(
                endpoint=endpoint,
                variant=variant,
                paths=paths,
                headers=NO_CACHE if variant == COLD else {},
                compare=compared(endpoint, variant),
            )
        )
    return variants


def plain(server: str) -> str:
    """The name the hot list's 200s are measured under beside `server`'s revalidation."""
    return server + PLAIN


def revalidate_variant(pubapi: Mapping[str, dict[tuple[str, str], list[str]]]) -> Variant:
    """The hot page 1 with its current ETag: a 304 each time (headers filled in once the
    servers answer). Beside each server's 304s, in the same rounds, alternating with them, its
    200s to the same URL without the ETag (`plain`): the two rates compared side by side, not
    from runs minutes apart on a machine whose speed drifts."""
    paths: dict[str, list[str]] = {}
    for server, found in pubapi.items():
        paths[server] = paths[plain(server)] = found[("list", HOT)]
    return Variant(
        endpoint="revalidate",
        variant=HOT,
        paths=paths,
        expected_status=304,
        server_status={plain(server): 200 for server in pubapi},
    )


def bare_variant() -> Variant:
    return Variant(endpoint="bare", variant=HOT, paths={BARE: ["/"]})


def rows_of(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Datasette's rows as objects: lists by default, objects with `_labels=on`, and a labelled
    foreign key as `{"value": ..., "label": ...}`."""
    columns = body.get("columns") or []
    rows = []
    for row in body.get("rows") or []:
        item = dict(row) if isinstance(row, dict) else dict(zip(columns, row, strict=True))
        rows.append({k: v["value"] if isinstance(v, dict) else v for k, v in item.items()})
    return rows


def disagreements(
    compare: Sequence[str], pubapi: Mapping[str, Any], datasette: Mapping[str, Any]
) -> list[str]:
    """Where pubapi's answer and Datasette's differ on what both must agree on: "total" (the
    number of matches), "order:COLUMN" (the page's values of COLUMN, in order), "first" (the
    first row's id), "id" (one publication's), "facets" (Datasette's buckets, in pubapi's)."""
    found = []
    ds_rows = rows_of(datasette)
    if "total" in compare:
        mine, theirs = pubapi["meta"]["total"], datasette.get("filtered_table_rows_count")
        if mine != theirs:
            found.append(f"total {mine} != Datasette's count {theirs}")
    if "first" in compare:
        mine = pubapi["results"][0]["id"] if pubapi["results"] else None
        theirs = ds_rows[0]["id"] if ds_rows else None
        if mine != theirs:
            found.append(f"first id {mine} != Datasette's {theirs}")
    for item in compare:
        if item.startswith("order:"):
            column = item.removeprefix("order:")
            mine = [row.get(column) for row in pubapi["results"]]
            theirs = [row.get(column) for row in ds_rows]
            if mine != theirs:
                found.append(f"{column} in page order {mine} != Datasette's {theirs}")
    if "id" in compare:
        theirs = ds_rows[0]["id"] if ds_rows else None
        if pubapi.get("id") != theirs:
            found.append(f"id {pubapi.get('id')} != Datasette's {theirs}")
    if "facets" in compare:
        facets = pubapi["meta"].get("facets", {})
        for mine_name, theirs_name in (("year", "year"), ("venue", "venue_id")):
            mine_counts = {b["value"]: b["count"] for b in facets.get(mine_name, [])}
            results = datasette.get("facet_results", {}).get(theirs_name, {}).get("results", [])
            # Datasette shows its top 30 buckets (no null one): each must be one of pubapi's.
            for bucket in results:
                if mine_counts.get(bucket["value"]) != bucket["count"]:
                    found.append(
                        f"facet {mine_name}={bucket['value']}: {mine_counts.get(bucket['value'])}"
                        f" != Datasette's {bucket['count']}"
                    )
                    break
    return found
