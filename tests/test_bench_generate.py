"""bench.generate and bench.datasette_db: deterministic seed data, and the same rows in the
Datasette database as in pubapi's, ids included."""

import asyncio
import datetime as dt
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from datasette.app import Datasette
from jsonschema import Draft202012Validator

from bench import datasette_db, generate
from bench.generate import author_name, common_words, rare_words
from bench.generate import generate as write_seed

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "seed_data" / "seed-format.schema.json"
PUBAPI = Path(sys.executable).parent / "pubapi"
FIELDS = ["key", "title", "abstract", "published_on", "venue", "status", "authors"]
# fmt: off
STOP_WORDS = {
    "the", "a", "of", "and", "we", "to", "in", "is", "for", "on", "with", "that", "this", "by",
    "as", "are", "be", "an", "our", "from", "it", "which", "can",
}
# fmt: on
WORD = re.compile(r"[a-z]+")


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _words(record: dict[str, Any]) -> set[str]:
    """The whole lowercase words of the title and abstract."""
    return set(WORD.findall(f"{record['title'] or ''} {record['abstract'] or ''}".lower()))


def _document_counts(records: list[dict[str, Any]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for record in records:
        counts.update(_words(record))
    return counts


@pytest.fixture(scope="module")
def n2000(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    path = tmp_path_factory.mktemp("gen") / "publications.jsonl"
    write_seed(2000, path)
    return path, _read(path)


@pytest.fixture(scope="module")
def n300(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict[str, Any]]]:
    """A 300-record file and its Datasette database."""
    folder = tmp_path_factory.mktemp("db")
    path, db = folder / "publications.jsonl", folder / "bench.db"
    write_seed(300, path)
    datasette_db.build(path, db)
    return path, db, _read(path)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    first, again, other = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    write_seed(500, first, seed=7)
    write_seed(500, again, seed=7)
    write_seed(500, other, seed=8)
    assert first.read_bytes() == again.read_bytes()
    assert generate.words_path(first).read_bytes() == generate.words_path(again).read_bytes()
    assert first.read_bytes() != other.read_bytes()


def test_file_is_records_as_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    write_seed(50, path, seed=3)
    expected = "".join(
        json.dumps(r, ensure_ascii=False) + "\n" for r in generate.records(50, seed=3)
    )
    assert path.read_text(encoding="utf-8") == expected


def test_records_are_valid_and_shaped(n2000: tuple[Path, list[dict[str, Any]]]) -> None:
    path, records = n2000
    assert len(records) == 2000
    assert path.read_bytes().count(b"\n") == 2000
    validator = Draft202012Validator(
        json.loads(SCHEMA.read_text()), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    for record in records:
        validator.validate(record)
        assert list(record) == FIELDS
        assert record["title"] is not None or record["abstract"] is not None
    assert [r["key"] for r in records] == [f"gen-{i:07d}" for i in range(1, 2001)]

    counts = Counter(len(r["authors"]) for r in records)
    assert min(counts) == 1
    assert max(counts) == 12
    assert sum(counts[k] for k in range(2, 7)) > 0.6 * 2000  # most have 2 to 6
    assert all(len(set(r["authors"])) == len(r["authors"]) for r in records)
    authors = Counter(name for r in records for name in r["authors"])
    assert len(authors) <= 1000
    assert authors.most_common(1)[0][1] >= 30  # some authors are prolific
    assert "ü" in path.read_text(encoding="utf-8")  # UTF-8 as such, not \u escapes

    assert len({r["venue"] for r in records if r["venue"] is not None}) <= 200
    days = [dt.date.fromisoformat(r["published_on"]) for r in records if r["published_on"]]
    assert min(days) >= dt.date(2015, 1, 1)
    assert max(days) <= dt.date(2026, 12, 31)

    def null_share(field: str) -> float:
        return sum(r[field] is None for r in records) / len(records)

    assert 0.015 <= null_share("venue") <= 0.045  # 3% expected
    assert 0.008 <= null_share("published_on") <= 0.032  # 2%
    assert 0.075 <= null_share("status") <= 0.125  # 10%
    assert 0.015 <= null_share("abstract") <= 0.045  # 3%
    assert null_share("title") <= 0.015  # 0.5%
    titled = [r["title"] for r in records if r["title"]]
    assert all(6 <= len(title.split()) <= 14 for title in titled)
    assert 0.15 <= sum(":" in title for title in titled) / len(titled) <= 0.25  # 20% named
    abstracts = [r["abstract"] for r in records if r["abstract"]]
    assert all(80 <= len(text.split()) <= 200 and text.endswith(".") for text in abstracts)
    assert all(text[0].isupper() for text in abstracts)


def test_common_words_are_in_5_to_40_percent(n2000: tuple[Path, list[dict[str, Any]]]) -> None:
    path, records = n2000
    words = common_words(2000)
    assert len(words) == 50
    assert len(set(words)) == 50
    assert all(WORD.fullmatch(w) for w in words)
    assert not STOP_WORDS & set(words)
    counts = _document_counts(records)
    assert all(0.05 <= counts[w] / 2000 <= 0.40 for w in words), {
        w: counts[w] / 2000 for w in words
    }
    sidecar = json.loads(generate.words_path(path).read_text())
    assert sidecar["common"] == words
    assert sidecar["document_counts"] == {w: counts[w] for w in words + sidecar["rare"]}


@pytest.mark.parametrize("n", [2000, 20_000])
def test_rare_words_are_in_1_to_n_over_10000_documents(tmp_path: Path, n: int) -> None:
    path = tmp_path / "p.jsonl"
    write_seed(n, path)
    most = max(1, n // 10_000)
    counts = _document_counts(_read(path))
    rare = json.loads(generate.words_path(path).read_text())["rare"]
    assert rare == rare_words(n)
    assert len(rare) >= 20
    assert all(WORD.fullmatch(w) for w in rare)
    assert all(1 <= counts[w] <= most for w in rare), {w: counts[w] for w in rare}


def test_author_pool_reaches_500000_distinct_names() -> None:
    assert len({author_name(i) for i in range(500_000)}) == 500_000
    assert author_name(0).count(" ") == 1  # "Given Family"
    assert re.fullmatch(r"\S+ [A-Z]\. \S+", author_name(499_999))  # "Given M. Family"


def test_datasette_db_holds_the_same_rows(n300: tuple[Path, Path, list[dict[str, Any]]]) -> None:
    path, db, records = n300
    names = list(dict.fromkeys(name for r in records for name in r["authors"]))
    venues = list(dict.fromkeys(r["venue"] for r in records if r["venue"]))
    assert datasette_db.build(path, db.with_name("again.db")) == {
        "publications": 300,
        "authors": len(names),
        "venues": len(venues),
        "publication_authors": sum(len(r["authors"]) for r in records),
    }
    conn = sqlite3.connect(db)

    def count(table: str) -> int:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    assert count("publications") == 300
    assert count("authors") == len(names)
    assert count("venues") == len(venues)
    assert count("publication_authors") == sum(len(r["authors"]) for r in records)
    # Ids by first appearance: file order for publications.
    assert conn.execute("SELECT id, key FROM publications WHERE id IN (1, 300)").fetchall() == [
        (1, records[0]["key"]),
        (300, records[299]["key"]),
    ]
    assert conn.execute("SELECT name FROM authors WHERE id = 1").fetchone()[0] == names[0]
    last = conn.execute("SELECT name FROM authors WHERE id = ?", (len(names),)).fetchone()
    assert last[0] == names[-1]
    assert conn.execute("SELECT id, name FROM venues ORDER BY id").fetchall() == list(
        enumerate(venues, start=1)
    )
    byline = conn.execute(
        "SELECT a.name FROM publication_authors pa JOIN authors a ON a.id = pa.author_id "
        "WHERE pa.publication_id = 2 ORDER BY pa.position"
    ).fetchall()
    assert [name for (name,) in byline] == records[1]["authors"]
    first = records[0]
    row = conn.execute(
        "SELECT published_on, year, venue_id, status FROM publications WHERE id = 1"
    ).fetchone()
    assert row == (
        first["published_on"],
        int(first["published_on"][:4]) if first["published_on"] else None,
        venues.index(first["venue"]) + 1 if first["venue"] else None,
        first["status"],
    )
    # Exact publication counts, for the most frequent and the first author and venue.
    author_counts = Counter(name for r in records for name in r["authors"])
    venue_counts = Counter(r["venue"] for r in records if r["venue"])
    for name in (names[0], author_counts.most_common(1)[0][0]):
        found = conn.execute("SELECT publication_count FROM authors WHERE name = ?", (name,))
        assert found.fetchone()[0] == author_counts[name]
    for name in (venues[0], venue_counts.most_common(1)[0][0]):
        found = conn.execute("SELECT publication_count FROM venues WHERE name = ?", (name,))
        assert found.fetchone()[0] == venue_counts[name]
    conn.close()


def _matching(records: list[dict[str, Any]], word: str) -> set[int]:
    return {i for i, r in enumerate(records, start=1) if word in _words(r)}


def test_fts_and_datasette_find_what_a_word_count_finds(
    n300: tuple[Path, Path, list[dict[str, Any]]],
) -> None:
    _, db, records = n300
    conn = sqlite3.connect(db)
    for word in common_words(300)[:5] + rare_words(300)[:5]:
        expected = _matching(records, word)
        assert expected, word
        found = conn.execute(
            "SELECT rowid FROM publications_fts WHERE publications_fts MATCH ?", (word,)
        )
        assert {rowid for (rowid,) in found} == expected, word
    conn.close()

    word = common_words(300)[0]

    async def search() -> tuple[int, dict[str, Any]]:
        ds = Datasette([str(db)])
        response = await ds.client.get(
            f"/bench/publications.json?_search={word}&_labels=on&_size=5"
        )
        return response.status_code, response.json()

    status, body = asyncio.run(search())
    assert status == 200
    assert body["filtered_table_rows_count"] == len(_matching(records, word))
    assert [row["id"] for row in body["rows"]] == sorted(_matching(records, word))[:5]
    venue_names = {r["key"]: r["venue"] for r in records}
    for row in body["rows"]:
        label = row["venue_id"]["label"] if row["venue_id"] else None
        assert label == venue_names[row["key"]]


def test_pubapi_loads_the_file_with_the_same_ids(
    n300: tuple[Path, Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    path, db, _ = n300
    database = tmp_path / "p.db"
    env = {**os.environ, "PUBAPI_DATABASE_URL": f"sqlite:///{database}"}
    result = subprocess.run(
        [str(PUBAPI), "seed", str(path)], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    pubapi, ours = sqlite3.connect(database), sqlite3.connect(db)
    assert pubapi.execute("SELECT count(*) FROM publication").fetchone()[0] == 300
    for query, theirs, mine in (
        ("SELECT key, id FROM {} ORDER BY id", "publication", "publications"),
        ("SELECT name, id, publication_count FROM {} ORDER BY id", "author", "authors"),
        ("SELECT name, id, publication_count FROM {} ORDER BY id", "venue", "venues"),
    ):
        assert (
            pubapi.execute(query.format(theirs)).fetchall()
            == ours.execute(query.format(mine)).fetchall()
        ), theirs
    pubapi.close()
    ours.close()
