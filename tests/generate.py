"""Large generated databases for the tests that need volume (memory, speed), built in seconds.

`generate_sqlite` migrates a fresh SQLite file with the real migrations, then fills venue,
author, publication, publication_author and dataset_state with a few set-based SQL statements
(the loader's validation and upserts would take minutes at this size, and even row-by-row
Python is the slow part). The rows are what the loader would have written, `cite_base`,
`sort_title` and the publication counts included, which `_check_sample` verifies against the
app's own functions; only the search index is left empty, so `q` finds nothing there.

Content is deterministic (the same arguments give the same database): SQL draws its "random"
numbers from a hash of the publication id, `((id * a + b) mod p)² mod p`, one (a, b) per draw.
"""

import datetime as dt
import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from app.core.migrations import upgrade
from app.core.text import fold
from app.exports.keys import cite_base
from app.queries import bylines

YEARS = range(2015, 2025)  # ten years, each holding about 10% of the publications
VENUES = 50
AUTHORS = 20_000
SENTENCES = 2_000
MAX_BYLINE = 5


def _words(text: str) -> list[str]:
    return text.split()


_GIVEN = _words(
    "Ada Alan Barbara Chen Dmitri Elena Fatima Grace Hiro Ines Jonas Kofi Lena Mateo Nadia "
    "Olga Priya Quentin Rosa Sven Tariq Uma Viktor Wei Xavier Yara Zoltan Amara Bruno Chiara"
)
_FAMILY = _words(
    "Anderson Björk Castillo Dubois Eriksen Fischer García Haddad Ivanova Jensen Kowalski "
    "Lindqvist Müller Nakamura Okafor Petrov Quispe Rossi Schmidt Tanaka Ueda Varga Wójcik "
    "Xu Yilmaz Zhang Abe Bauer Costa Diallo Esposito Fontaine Gupta Horvat Ibrahim Jovanović "
    "Kim Larsen Moreau Novak"
)
_WORDS = _words(
    "adaptive attention bayesian contrastive convolutional curriculum diffusion distillation "
    "efficient embedding energy federated generative gradient graph hierarchical implicit "
    "invariant kernel language latent learning memory meta model multimodal neural optimal "
    "policy probabilistic pruning quantization reinforcement representation robust scalable "
    "sparse spectral stochastic structured temporal transformer uncertainty unsupervised "
    "variational vision weight zero-shot agents benchmarks compression estimation inference "
    "networks objectives priors retrieval sampling search signals training transfer causal"
)
_VENUE_KINDS = (
    "International Conference on {}",
    "Journal of {} Research",
    "Workshop on {}",
    "Transactions on {}",
    "Symposium on {}",
)
_PRIME = 2_147_483_647  # 2**31 - 1: squares stay within SQLite's 64-bit integers


@dataclass(frozen=True)
class Generated:
    """What a generated database holds, to check answers against."""

    count: int
    per_year: dict[int, int]
    body_chars: int  # characters of title + abstract over all publications


def _draw(k: int) -> str:
    """SQL for the k-th pseudo-random number (0 <= n < 2**31 - 1) of publication `n.i`."""
    a, b = 1_103_515_245 + 7_919 * k, 12_345 + 104_729 * k
    x = f"((n.i * {a} + {b}) % {_PRIME})"
    return f"({x} * {x} % {_PRIME})"


def _sentences(rng: random.Random) -> list[tuple[int, str]]:
    """Sentences of about 140 characters; five make an abstract of ~700."""
    out = []
    for i in range(SENTENCES):
        words = rng.choices(_WORDS, k=15)
        out.append((i, words[0].capitalize() + " " + " ".join(words[1:]) + "."))
    return out


def _authors(rng: random.Random) -> list[str]:
    """Distinct names: "Ada Anderson", then "Ada B. Anderson", "Ada C. Anderson", ..."""
    pairs = [(given, family) for given in _GIVEN for family in _FAMILY]
    rng.shuffle(pairs)
    names = []
    for n in range(AUTHORS):
        given, family = pairs[n % len(pairs)]
        initial = n // len(pairs)
        names.append(f"{given} {chr(65 + initial)}. {family}" if initial else f"{given} {family}")
    assert len(set(names)) == AUTHORS
    return names


def generate_sqlite(path: Path, count: int, seed: int = 20260101) -> Generated:
    """A migrated SQLite database at `path` with `count` publications, ids 1..count, dated
    uniformly over YEARS, each with 1 to 5 distinct authors out of 20,000, one of 50
    venues, a title of five to seven words and an abstract of ~700 characters."""
    upgrade(f"sqlite:///{path}")
    rng = random.Random(seed)
    topics = [word.capitalize() for word in rng.sample(_WORDS, VENUES)]
    venues = [
        (i, _VENUE_KINDS[i % len(_VENUE_KINDS)].format(topics[i - 1])) for i in range(1, VENUES + 1)
    ]
    authors = _authors(rng)
    first_day = dt.date(YEARS.start, 1, 1)
    days = [
        (n, (first_day + dt.timedelta(days=n)).isoformat(), (first_day + dt.timedelta(days=n)).year)
        for n in range((dt.date(YEARS.stop, 1, 1) - first_day).days)
    ]
    # cite_base is f"{family}{year}{word}" (app.exports.keys): its parts, from the app itself.
    bare = len(cite_base(None, None, None)) - len("anon")  # "nduntitled"
    families = [(i, cite_base(None, None, name)[:-bare]) for i, name in enumerate(authors, 1)]
    words = [
        (i, word, word.capitalize(), cite_base(word, None, None)[len("anonnd") :])
        for i, word in enumerate(_WORDS)
    ]
    n_words = len(_WORDS)

    def word(k: int, column: str = "word") -> str:
        return f"(SELECT {column} FROM gen_word WHERE i = {_draw(k)} % {n_words})"

    def sentence(k: int) -> str:
        return f"(SELECT s FROM gen_sentence WHERE i = {_draw(k)} % {SENTENCES})"

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("BEGIN")
        # Secondary indexes are built once at the end: far faster than updating them per row.
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('publication', 'publication_author', 'author', 'venue')"
        ).fetchall()
        for name, _sql in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for ddl in (
            "CREATE TEMP TABLE gen_word (i INTEGER PRIMARY KEY, word, cap, key)",
            "CREATE TEMP TABLE gen_sentence (i INTEGER PRIMARY KEY, s)",
            "CREATE TEMP TABLE gen_day (i INTEGER PRIMARY KEY, iso, year)",
            "CREATE TEMP TABLE gen_family (i INTEGER PRIMARY KEY, family)",
            "CREATE TEMP TABLE gen_pub (i INTEGER PRIMARY KEY, first_author, byline, title, "
            "day, venue, author_draw)",
        ):
            conn.execute(ddl)
        conn.executemany("INSERT INTO gen_word VALUES (?, ?, ?, ?)", words)
        conn.executemany("INSERT INTO gen_sentence VALUES (?, ?)", _sentences(rng))
        conn.executemany("INSERT INTO gen_day VALUES (?, ?, ?)", days)
        conn.executemany("INSERT INTO gen_family VALUES (?, ?)", families)
        conn.executemany(
            "INSERT INTO venue (id, name, sort_name, publication_count) VALUES (?, ?, ?, 0)",
            [(ident, name, fold(name)) for ident, name in venues],
        )
        conn.executemany(
            "INSERT INTO author (id, name, sort_name, publication_count) VALUES (?, ?, ?, 0)",
            [(ident, name, fold(name)) for ident, name in enumerate(authors, start=1)],
        )
        # Byline: 1 to 5 distinct authors, 1 + (d + position * 3989) % 20000 (3989 * k is no
        # multiple of 20000 for k < 5). The title's first word is always its key word.
        title = (
            f"CASE n.i % 3 WHEN 0 THEN {word(1, 'cap')} || ' ' || {word(2)} || ' for ' || "
            f"{word(3)} || ' ' || {word(4)} "
            f"WHEN 1 THEN 'Towards ' || {word(1)} || ' ' || {word(2)} || ': ' || "
            f"{word(3, 'cap')} || ' ' || {word(4)} "
            f"ELSE 'On the ' || {word(1)} || ' of ' || {word(2)} || ' ' || {word(3)} || ' ' || "
            f"{word(4)} END"
        )
        conn.execute(
            f"""
            INSERT INTO gen_pub
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})
            SELECT n.i,
                   1 + ({_draw(5)} + 3989) % {AUTHORS},
                   1 + {_draw(6)} % {MAX_BYLINE},
                   {title},
                   {_draw(7)} % {len(days)},
                   1 + {_draw(8)} % {VENUES},
                   {_draw(5)}
            FROM n
            """
        )
        abstract = " || ' ' || ".join(sentence(k) for k in range(10, 15))
        conn.execute(
            f"""
            INSERT INTO publication (id, key, content_hash, title, sort_title, abstract,
                                     published_on, year, venue_id, status, cite_base)
            SELECT n.i, printf('generated-%07d', n.i), printf('%032x', n.i), n.title,
                   lower(n.title), {abstract}, d.iso, d.year, n.venue,
                   CASE WHEN n.i % 3 THEN 'Accept (Poster)' ELSE 'Accept (Oral)' END,
                   f.family || d.year || w.key
            FROM gen_pub AS n
            JOIN gen_day AS d ON d.i = n.day
            JOIN gen_family AS f ON f.i = n.first_author
            JOIN gen_word AS w ON w.i = {_draw(1)} % {n_words}
            ORDER BY n.i
            """
        )
        conn.execute(
            f"""
            INSERT INTO publication_author (publication_id, position, author_id)
            WITH RECURSIVE p(position) AS (
                SELECT 1 UNION ALL SELECT position + 1 FROM p WHERE position < {MAX_BYLINE}
            )
            SELECT n.i, p.position, 1 + (n.author_draw + p.position * 3989) % {AUTHORS}
            FROM gen_pub AS n JOIN p ON p.position <= n.byline
            ORDER BY n.i, p.position
            """
        )
        conn.execute(bylines.refresh_sql("sqlite"))
        for _name, sql in indexes:
            conn.execute(sql)
        conn.execute(
            "UPDATE author SET publication_count = "
            "(SELECT count(*) FROM publication_author WHERE author_id = author.id)"
        )
        conn.execute(
            "UPDATE venue SET publication_count = "
            "(SELECT count(*) FROM publication WHERE venue_id = venue.id)"
        )
        conn.execute(
            "INSERT INTO dataset_state (id, version, updated_at) "
            "VALUES (1, 1, '2026-01-01 00:00:00.000000')"
        )
        for table in ("gen_word", "gen_sentence", "gen_day", "gen_family", "gen_pub"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("COMMIT")
        _check_sample(conn)
        per_year = dict(conn.execute("SELECT year, count(*) FROM publication GROUP BY year"))
        (body_chars,) = conn.execute(
            "SELECT sum(length(title) + length(abstract)) FROM publication"
        ).fetchone()
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    return Generated(count=count, per_year=per_year, body_chars=body_chars)


def _check_sample(conn: sqlite3.Connection) -> None:
    """Rows as the loader would have written them: keys and sort titles by the app's rules."""
    rows = conn.execute(
        "SELECT p.title, p.sort_title, p.year, p.cite_base, a.name FROM publication p "
        "JOIN publication_author pa ON pa.publication_id = p.id AND pa.position = 1 "
        "JOIN author a ON a.id = pa.author_id WHERE p.id % 997 = 1"
    ).fetchall()
    assert rows
    for title, sort_title, year, base, first_author in rows:
        assert (sort_title, base) == (fold(title), cite_base(title, year, first_author)), title
