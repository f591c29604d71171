"""Full-text search (`q`, issue #4) on SQLite and PostgreSQL: matching, ranking, snippets,
hostile input, combination with filters/sorts/pages, index maintenance, and the same
matches on both engines over a generated corpus.

Which documents match is pinned against a reference written here in Python from the terms
app.core.search makes (stems per field, phrases within one field, the last word as a prefix of
any word or as its stem): both engines must agree with it exactly. Ranking differs in its
numbers between BM25 and ts_rank_cd, so only its ordering properties are pinned.
"""

import json
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.core.limits import MAX_URL_BYTES
from app.core.migrations import alembic_config, upgrade
from app.core.search import QueryError, SearchQuery, parse_query, stem, terms, words
from app.main import create_app
from app.seed import loader
from tests.conftest import ENGINES, Database, _new_database
from tests.support import (
    BANNER_TITLE,
    ICLR_REF,
    POSTER,
    SEED_DIR,
    TEQUILA,
    TEQUILA_AUTHORS,
    assert_problem,
    get_json,
    ids,
    unprocessable,
)

# --- a reference matcher ---------------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    id: int
    title: str | None
    abstract: str | None
    authors: tuple[str, ...]


def _contains(sequence: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(sequence[i : i + n]) == phrase for i in range(len(sequence) - n + 1))


def reference_match(doc: Doc, query: SearchQuery) -> bool:
    """Does `doc` match `query`, by the contract (computed without any database)."""
    if query.empty:
        return False
    fields = [doc.title or "", " ".join(doc.authors), doc.abstract or ""]
    stems_by_field = [terms(field) for field in fields]
    stems = {s for field in stems_by_field for s in field}
    if any(term not in stems for term in query.terms):
        return False
    for phrase in query.phrases:
        if not any(_contains(field, phrase) for field in stems_by_field):
            return False
    if query.prefix is not None:
        all_words = [w for field in fields for w in words(field)]
        if stem(query.prefix) not in stems and not any(
            w.startswith(query.prefix) for w in all_words
        ):
            return False
    return True


def reference_ids(docs: list[Doc], q: str) -> set[int]:
    query = parse_query(q)
    return {doc.id for doc in docs if reference_match(doc, query)}


def _seed_docs() -> list[Doc]:
    records = json.loads((SEED_DIR / "publications.json").read_text(encoding="utf-8"))
    return [
        Doc(n, r.get("title"), r.get("abstract"), tuple(r.get("authors", [])))
        for n, r in enumerate(records, start=1)
    ]


SEED_DOCS = _seed_docs()


def all_ids(client: TestClient, params: dict[str, Any]) -> tuple[list[int], int]:
    """Every id of a search, in pages of 100 by offset; and the total."""
    body = get_json(client, "/publications", {**params, "fields": "id", "limit": 100})
    total = body["meta"]["total"]
    found = ids(body)
    for offset in range(100, total, 100):
        page = {**params, "fields": "id", "limit": 100, "offset": offset}
        found += ids(get_json(client, "/publications", page))
    return found, total


def walk(client: TestClient, params: dict[str, Any]) -> list[int]:
    """Every id of a search, following next_cursor."""
    body = get_json(client, "/publications", {**params, "fields": "id"})
    found = ids(body)
    while (cursor := body["meta"]["next_cursor"]) is not None:
        body = get_json(client, "/publications", {**params, "fields": "id", "cursor": cursor})
        found += ids(body)
        assert len(found) <= body["meta"]["total"], "the walk repeats results"
    return found


# --- 1. the seed: matching and ranking ---------------------------------------------------------

TERNARY_SNIPPET = (
    "…it not feasible. <mark>Ternary</mark> weight quantization addresses this by constraining "
    "weights to {-1, 0, 1}, replacing expensive multiplications with hardware-efficient "
    "additions. However, such aggressive compression leads to significant accuracy…"
)
QUANTIZATION_SNIPPET = (
    "…feasible. Ternary weight <mark>quantization</mark> addresses this by constraining weights "
    "to {-1, 0, 1}, replacing expensive multiplications with hardware-efficient additions. "
    "However, such aggressive compression leads to significant accuracy degradation, even…"
)
SCLEROSIS_SNIPPET = (
    "In <mark>multiple</mark> <mark>sclerosis</mark>, different types of lesions and their "
    "localization can have varying effects on clinical disability and disease progression. "
    "Ultra-high field 7-Tesla MRI improves the visualization of…"
)
# Every word of the phrase is marked wherever it occurs (`weights` too: it stems the same).
PHRASE_SNIPPET = TERNARY_SNIPPET.replace(" weight ", " <mark>weight</mark> ").replace(
    "constraining weights", "constraining <mark>weights</mark>"
)
BANNER_SNIPPET = BANNER_TITLE.replace("Expertise Gap", "<mark>Expertise</mark> <mark>Gap</mark>")
TEQUILA_PLAIN_SNIPPET = (
    "Quantization techniques are essential for the deployment of Large Language Models (LLMs) "
    "on edge devices. However, prevailing methods often rely on mixed-precision multiplication "
    "that lacks efficient hardware support, making…"
)


def meta(total: int, limit: int = 25) -> dict[str, Any]:
    return {"total": total, "limit": limit, "offset": 0, "next_cursor": None}


def test_ternary_finds_tequila_with_every_field_and_the_snippet(client):
    body = get_json(client, "/publications", {"q": "ternary"})
    assert body == {"results": [{**TEQUILA, "snippet": TERNARY_SNIPPET}], "meta": meta(1)}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ternary", [(4, TERNARY_SNIPPET)]),
        ("multiple sclerosis", [(1, SCLEROSIS_SNIPPET)]),
        # English stemming, both ways.
        ("quantized", [(4, QUANTIZATION_SNIPPET)]),
        ("quantization", [(4, QUANTIZATION_SNIPPET)]),
        # Case and accents fold.
        ("TERNARY", [(4, TERNARY_SNIPPET)]),
        ("ternäry", [(4, TERNARY_SNIPPET)]),
        ("TERNÄRY", [(4, TERNARY_SNIPPET)]),
        # The last word is a prefix while it is being typed ...
        ("tern", [(4, TERNARY_SNIPPET)]),
        ("TÉRN", [(4, TERNARY_SNIPPET)]),
        # ... and a whole word once a space follows it.
        ("ternary ", [(4, TERNARY_SNIPPET)]),
        ("tern ", []),
        ("tern quantization", []),
        # Quoted phrases keep their order.
        ('"multiple sclerosis"', [(1, SCLEROSIS_SNIPPET)]),
        ('"sclerosis multiple"', []),
        ('"ternary weight"', [(4, PHRASE_SNIPPET)]),
        # Author names, the title as the passage when there is no abstract.
        ("knebel", [(10, BANNER_TITLE)]),
        ("KNÉBEL", [(10, BANNER_TITLE)]),
        ("von knebel", [(10, BANNER_TITLE)]),
        ("hong huang", [(4, TEQUILA_PLAIN_SNIPPET)]),
        ('"expertise gap"', [(10, BANNER_SNIPPET)]),
        # Every word must match.
        ("ternary sclerosis", []),
        ("zzzqqq", []),
    ],
)
def test_seed_search(client, q, expected):
    body = get_json(client, "/publications", {"q": q, "fields": "id,snippet"})
    assert body == {
        "results": [{"id": i, "snippet": s} for i, s in expected],
        "meta": meta(len(expected)),
    }
    # The reference agrees (it knows nothing of snippets or ranking).
    assert reference_ids(SEED_DOCS, q) == {i for i, _ in expected}


def test_multiple_sclerosis_without_quotes_puts_the_spatial_pattern_card_first(client):
    body = get_json(client, "/publications", {"q": "multiple sclerosis", "fields": "id,title"})
    assert body["results"][0] == {
        "id": 1,
        "title": "Spatial pattern regression for meteorological fields interpolation",
    }
    assert body["meta"] == meta(1)


def test_tequila_ranks_first_for_quantization_among_several_matches(client):
    # `model` matches many; with `ternary` (only Tequila) it is first and alone.
    found, total = all_ids(client, {"q": "language models"})
    expected = reference_ids(SEED_DOCS, "language models")
    assert (sorted(found), total) == (sorted(expected), len(expected))
    assert found[0] == 4  # the only one with both words in its title


# --- 2. hostile input ----------------------------------------------------------------------------

CONTROL_MSG = "must not contain NUL or other control characters"
CONTROL_PROBLEM = unprocessable(["query", "q"], CONTROL_MSG, f"q: {CONTROL_MSG}")
LONG_MSG = "String should have at most 1000 characters"
LONG_PROBLEM = unprocessable(["query", "q"], LONG_MSG, f"q: {LONG_MSG}")
TOO_MANY_MSG = "too many words: at most 32"
TOO_MANY_PROBLEM = unprocessable(["query", "q"], TOO_MANY_MSG, f"q: {TOO_MANY_MSG}")


def _has_control(q: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in q)


def check_any_q(client: TestClient, q: str) -> None:
    """Whatever `q` is: the exact 422 for what cannot be searched, else the reference's ids."""
    response = client.get("/publications", params={"q": q, "fields": "id,snippet", "limit": 100})
    if len(q) > 1000:
        assert_problem(response, 422, LONG_PROBLEM)
        return
    if _has_control(q):
        assert_problem(response, 422, CONTROL_PROBLEM)
        return
    try:
        expected = reference_ids(SEED_DOCS, q)
    except QueryError:
        assert_problem(response, 422, TOO_MANY_PROBLEM)
        return
    assert response.status_code == 200, (q, response.text[:300])
    body = response.json()
    assert set(body) == {"results", "meta"}
    assert body["meta"] == meta(len(expected), limit=100)
    assert sorted(ids(body)) == sorted(expected)
    for item in body["results"]:
        assert set(item) == {"id", "snippet"}
        assert isinstance(item["snippet"], str)


HOSTILE = [
    "",
    " ",
    '"',
    '""',
    '"unclosed phrase',
    'ternary"',
    "AND",
    "ternary AND",
    "ternary AND quantization",
    "ternary OR sclerosis",
    "ternary NOT quantization",
    "NEAR(",
    "NEAR(ternary quantization)",
    "*",
    "tern*",
    "*tern",
    "title:ternary",
    "{title}: ternary",
    "ternary:*",
    "ternary:A",
    "'ternary'",
    "'; DROP TABLE publication; --",
    "(ternary)",
    "((((",
    ")",
    "\\",
    "ternary\\",
    "\\'ternary",
    "-ternary",
    "^ternary",
    "ternary & quantization | !x",
    "ternary <-> quantization",
    "🙂",
    "🙂 ternary",
    "ternary 🙂",
    "𞤀",
    "ternary\ttab",
    "ternary\r\nquantization",
    "x" * 1000,
    "ternary " * 125,
    " ".join(f"w{n}" for n in range(32)),
    " ".join(f"w{n}" for n in range(33)),
    "a" * 2000,
    "ternary " * 126,
    "ternary\x00",
    "\x00",
    "tern\x07ary",
    "\x1b[31m",
    "\x7f",
]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_examples(client, q):
    check_any_q(client, q)


def test_specific_hostile_answers(client):
    # A few of the above, pinned literally rather than through the reference.
    assert_problem(client.get("/publications", params={"q": "a" * 1001}), 422, LONG_PROBLEM)
    assert_problem(client.get("/publications", params={"q": "a" * 2000}), 422, LONG_PROBLEM)
    assert_problem(client.get("/publications", params={"q": "\x00"}), 422, CONTROL_PROBLEM)
    too_many = " ".join(f"w{n}" for n in range(33))
    assert_problem(client.get("/publications", params={"q": too_many}), 422, TOO_MANY_PROBLEM)
    for q, expected in [
        ('"', []),
        ("*", []),
        ("NEAR(ternary quantization)", [4]),
        ("title:ternary", []),
        ("(ternary)", [4]),
        ("ternary\\", [4]),
        ("🙂 ternary", [4]),
        ("x" * 1000, []),
    ]:
        body = get_json(client, "/publications", {"q": q, "fields": "id"})
        assert (q, body) == (
            q,
            {"results": [{"id": i} for i in expected], "meta": meta(1 if expected else 0)},
        )


SEARCHY = st.sampled_from(
    [
        '"',
        "AND",
        "OR",
        "NOT",
        "NEAR(",
        "*",
        ":",
        "(",
        ")",
        "\\",
        "'",
        "🙂",
        "^",
        "-",
        "{",
        "}",
        "ternary",
        "tern",
        "quantiz",
        "multiple",
        "sclerosis",
        "knebel",
        " ",
        "\x00",
        "é",
    ]
)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=1000),
    st.lists(SEARCHY, max_size=40).map("".join),
    st.lists(st.one_of(SEARCHY, st.text(max_size=5)), max_size=40).map(" ".join),
)


@settings(max_examples=60, deadline=None)
@given(q=HOSTILE_TEXT)
@example(q='ternary "quantization')
@example(q="NEAR(ternary, 5)")
def test_any_q_is_200_or_a_422_naming_q(client, q):
    check_any_q(client, q)


@settings(max_examples=20, deadline=None)
@given(q=st.text(min_size=1001, max_size=1500))
def test_q_longer_than_1000_characters_is_422(client, q):
    response = client.get("/publications", params={"q": q})
    if len(response.request.url.raw_path) > MAX_URL_BYTES:
        # Past the URL's limit as well (a long q in a script that takes 12 bytes a character
        # once encoded): that limit is met first.
        assert response.status_code == 414
        return
    assert_problem(response, 422, LONG_PROBLEM)


@settings(max_examples=30, deadline=None)
@given(
    before=st.text(max_size=20),
    control=st.characters(categories=["Cc"]).filter(lambda c: c not in "\t\n\r"),
    after=st.text(max_size=20),
)
def test_control_characters_are_422(client, before, control, after):
    response = client.get("/publications", params={"q": before + control + after})
    assert_problem(response, 422, CONTROL_PROBLEM)


# --- 3. snippets -------------------------------------------------------------------------------


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def load(db: Database, path: Path) -> None:
    engine = db.engine()
    loader.load(engine, [path])
    engine.dispose()


@pytest.fixture
def app_client(empty_db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(empty_db.settings())) as test_client:
        yield test_client


LONG_WORDS = [f"w{n}" for n in range(60)]
LONG_WORDS[20] = "zebra"


def test_snippets_escape_html_mark_matches_and_cut_long_abstracts(empty_db, app_client, tmp_path):
    records = [
        {
            "key": "xss",
            "title": "Harmless title",
            "abstract": 'Before <script>alert(1)</script> & "quotes" then the word zebra here.',
            "authors": ["Ann Author"],
        },
        {"key": "untitled-abstract", "title": "Zebra <b>stripes</b> & 'more'", "authors": []},
        {"key": "long", "title": "Long one", "abstract": " ".join(LONG_WORDS), "authors": []},
    ]
    load(empty_db, write_jsonl(tmp_path / "publications.jsonl", records))
    body = get_json(app_client, "/publications", {"q": "zebra", "fields": "id,snippet"})
    assert body["meta"] == meta(3)
    assert sorted(body["results"], key=lambda item: item["id"]) == [
        {
            "id": 1,
            "snippet": "Before &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; "
            "then the word <mark>zebra</mark> here.",
        },
        {
            "id": 2,
            "snippet": "<mark>Zebra</mark> &lt;b&gt;stripes&lt;/b&gt; &amp; &#x27;more&#x27;",
        },
        {
            "id": 3,
            "snippet": "…w17 w18 w19 <mark>zebra</mark> "
            + " ".join(f"w{n}" for n in range(21, 47))
            + "…",
        },
    ]
    # A match on `script` is marked inside the escaped tag, never unescaped.
    body = get_json(app_client, "/publications", {"q": "script", "fields": "id,snippet"})
    assert body["results"] == [
        {
            "id": 1,
            "snippet": "Before &lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt; "
            "&amp; &quot;quotes&quot; then the word zebra here.",
        }
    ]


# --- 4. q with filters, sorts, facets, pages and fields ----------------------------------------

SORTS = ["-published_on", "published_on", "title", "-title"]


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("q", ["a", "language", "the model", "ternary"])
@pytest.mark.parametrize(
    "filters",
    [{}, {"year": 2025}, {"venue": 2}, {"author": 1}, {"status": POSTER}, {"venue": [1, 2]}],
    ids=["none", "year", "venue", "author", "status", "venues"],
)
def test_q_with_filters_and_sort_is_the_filtered_list_restricted_to_matches(
    client, q, sort, filters
):
    unsearched = ids(get_json(client, "/publications", {**filters, "sort": sort, "fields": "id"}))
    matching = reference_ids(SEED_DOCS, q)
    expected = [i for i in unsearched if i in matching]
    body = get_json(client, "/publications", {**filters, "q": q, "sort": sort, "fields": "id"})
    assert body == {"results": [{"id": i} for i in expected], "meta": meta(len(expected))}


@pytest.mark.parametrize("filters", [{}, {"year": 2025}, {"venue": 2}, {"status": POSTER}], ids=str)
def test_relevance_with_filters_keeps_exactly_the_matches(client, filters):
    unsearched = set(ids(get_json(client, "/publications", {**filters, "fields": "id"})))
    expected = reference_ids(SEED_DOCS, "a") & unsearched
    body = get_json(client, "/publications", {**filters, "q": "a", "fields": "id"})
    assert sorted(ids(body)) == sorted(expected)
    assert body["meta"] == meta(len(expected))


@pytest.mark.parametrize("q", ["a", "the", "model"])
def test_relevance_cursor_walk_and_offsets_visit_one_big_page_in_order(client, q):
    big = get_json(client, "/publications", {"q": q, "fields": "id", "limit": 100})
    order = ids(big)
    assert sorted(order) == sorted(reference_ids(SEED_DOCS, q))
    assert walk(client, {"q": q, "limit": 1, "sort": "relevance"}) == order
    by_offset: list[int] = []
    for offset in range(0, len(order), 3):
        page = get_json(
            client, "/publications", {"q": q, "fields": "id", "limit": 3, "offset": offset}
        )
        by_offset += ids(page)
    assert by_offset == order


def test_relevance_without_q_is_422(client):
    msg = "relevance needs q: there is nothing to rank by"
    assert_problem(
        client.get("/publications", params={"sort": "relevance"}),
        422,
        unprocessable(["query", "sort"], msg, f"sort: {msg}"),
    )


def test_snippet_field_needs_q(client):
    msg = (
        "unknown field 'snippet'; allowed: id, title, abstract, published_on, year, venue, "
        "status, authors"
    )
    assert_problem(
        client.get("/publications", params={"fields": "id,snippet"}),
        422,
        unprocessable(["query", "fields"], msg, f"fields: {msg}"),
    )


def test_with_q_fields_may_name_snippet(client):
    body = get_json(client, "/publications", {"q": "ternary", "fields": "id,snippet"})
    assert body == {"results": [{"id": 4, "snippet": TERNARY_SNIPPET}], "meta": meta(1)}
    body = get_json(client, "/publications", {"q": "ternary", "fields": "title"})
    assert body == {"results": [{"title": TEQUILA["title"]}], "meta": meta(1)}
    msg = (
        "unknown field 'score'; allowed: id, title, abstract, published_on, year, venue, "
        "status, authors, snippet"
    )
    assert_problem(
        client.get("/publications", params={"q": "ternary", "fields": "id,score"}),
        422,
        unprocessable(["query", "fields"], msg, f"fields: {msg}"),
    )


def test_q_with_facets_counts_only_the_matches(client):
    body = get_json(
        client,
        "/publications",
        {"q": "quantization", "fields": "id", "facets": "year,venue,status,author"},
    )
    assert body == {
        "results": [{"id": 4}],
        "meta": {
            **meta(1),
            "facets": {
                "year": [{"value": 2025, "count": 1}],
                "venue": [{"value": 2, "name": ICLR_REF["name"], "count": 1}],
                "status": [{"value": POSTER, "count": 1}],
                "author": [
                    {"value": n, "name": name, "count": 1}
                    for n, name in enumerate(TEQUILA_AUTHORS, start=1)
                ],
            },
        },
    }


# --- 5. the index follows the data -------------------------------------------------------------


def search_ids(client: TestClient, q: str) -> tuple[list[int], int]:
    body = get_json(client, "/publications", {"q": q, "fields": "id"})
    return ids(body), body["meta"]["total"]


def test_reload_reindexes_changed_and_new_publications(empty_db, app_client, tmp_path):
    first = [{"key": "k1", "title": "Stable title", "abstract": "alpha zebra", "authors": ["Ann"]}]
    load(empty_db, write_jsonl(tmp_path / "one.jsonl", first))
    assert search_ids(app_client, "zebra") == ([1], 1)
    second = [
        {"key": "k1", "title": "Stable title", "abstract": "alpha giraffe", "authors": ["Bo"]},
        {"key": "k2", "title": "Okapi sightings", "authors": ["Ann"]},
    ]
    load(empty_db, write_jsonl(tmp_path / "two.jsonl", second))
    assert search_ids(app_client, "zebra ") == ([], 0)
    assert search_ids(app_client, "zebra") == ([], 0)
    assert search_ids(app_client, "giraffe") == ([1], 1)
    assert search_ids(app_client, "okapi") == ([2], 1)
    assert search_ids(app_client, "stable") == ([1], 1)
    # The byline changed too: Ann wrote only k2 now; Bo wrote k1.
    assert search_ids(app_client, "ann ") == ([2], 1)
    assert search_ids(app_client, "bo ") == ([1], 1)


def test_migration_backfills_publications_loaded_before_it(empty_db):
    command.downgrade(alembic_config(empty_db.url), "0002")
    engine = empty_db.engine()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO publication (id, key, content_hash, title, sort_title, abstract) "
                "VALUES (1, 'old-1', 'h1', 'Ternary zebras', 'ternary zebras', 'Striped data'), "
                "(2, 'old-2', 'h2', NULL, NULL, 'Quantized giraffes in multiple sclerosis')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO author (id, name, sort_name, publication_count) "
                "VALUES (1, 'Zoë Ölm', 'zoe olm', 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO publication_author (publication_id, position, author_id) "
                "VALUES (2, 1, 1)"
            )
        )
    engine.dispose()
    upgrade(empty_db.url)
    with TestClient(create_app(empty_db.settings())) as test_client:
        assert search_ids(test_client, "zebra") == ([1], 1)
        assert search_ids(test_client, "quantization") == ([2], 1)
        assert search_ids(test_client, '"multiple sclerosis"') == ([2], 1)
        assert search_ids(test_client, "zoe olm") == ([2], 1)
        assert search_ids(test_client, "striped") == ([1], 1)


# --- 6. a generated corpus: the same matches on both engines ------------------------------------

VOCABULARY = [
    "attention",
    "transformer",
    "sparse",
    "dense",
    "graph",
    "neural",
    "network",
    "networks",
    "convolutional",
    "recurrent",
    "quantization",
    "quantized",
    "pruning",
    "distillation",
    "diffusion",
    "generative",
    "adversarial",
    "reinforcement",
    "learning",
    "learned",
    "learner",
    "policy",
    "gradient",
    "gradients",
    "optimization",
    "optimizer",
    "stochastic",
    "descent",
    "regularization",
    "dropout",
    "batch",
    "normalization",
    "embedding",
    "embeddings",
    "token",
    "tokens",
    "language",
    "vision",
    "multimodal",
    "contrastive",
    "representation",
    "representations",
    "retrieval",
    "augmented",
    "federated",
    "privacy",
    "differential",
    "robust",
    "robustness",
    "adversarial",
    "benchmark",
    "evaluation",
    "scaling",
    "laws",
    "efficient",
    "inference",
    "training",
    "pretraining",
    "finetuning",
    "alignment",
    "reward",
    "model",
    "models",
    "agent",
    "agents",
    "planning",
    "search",
    "tree",
    "bayesian",
    "variational",
    "inference",
    "kernel",
    "manifold",
    "spectral",
    "clustering",
    "causal",
    "causality",
    "fairness",
    "interpretability",
]
NAMES = ["Ana Lópes", "Björn Ek", "Chen Wei", "Dara Ó Sé", "Émile Roux", "Fatima Zahra", "Gus Ng"]
CORPUS_SIZE = 2000
# Twelve publications, one with the rank word in its title, the others only in their abstract;
# otherwise the same. The title one comes last, so a tie on id cannot put it first.
RANK_WORD = "xylophone"


def generated_records() -> list[dict[str, Any]]:
    rng = random.Random(20261130)
    records = []
    for n in range(CORPUS_SIZE):
        title = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(3, 9))).capitalize()
        abstract = (
            None
            if n % 17 == 0
            else ". ".join(
                " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(4, 12)))
                for _ in range(rng.randint(1, 5))
            )
        )
        authors = rng.sample(NAMES, rng.randint(0, 3))
        records.append({"key": f"g{n}", "title": title, "abstract": abstract, "authors": authors})
    for n in range(11):
        records.append(
            {
                "key": f"rank-abstract-{n}",
                "title": "Tuning percussion",
                "abstract": f"Studies of {RANK_WORD} tuning",
                "authors": ["Gus Ng"],
            }
        )
    records.append(
        {
            "key": "rank-title",
            "title": f"Tuning {RANK_WORD}",
            "abstract": "Studies of percussion tuning",
            "authors": ["Gus Ng"],
        }
    )
    return records


CORPUS = generated_records()
CORPUS_DOCS = [
    Doc(n, r["title"], r["abstract"], tuple(r["authors"])) for n, r in enumerate(CORPUS, start=1)
]
RANK_TITLE_ID = len(CORPUS)


@pytest.fixture(scope="module", params=ENGINES)
def corpus_client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    directory = tmp_path_factory.mktemp("corpus")
    database = _new_database(request.param, directory, request)
    load(database, write_jsonl(directory / "publications.jsonl", CORPUS))
    with TestClient(create_app(database.settings())) as test_client:
        yield test_client


CORPUS_QUERIES = [
    "quantization",
    "quantized pruning",
    "sparse attention",
    '"graph neural"',
    '"neural graph"',
    "transform",
    "reinforcement learn",
    "chen",
    "lopes",
    '"dara o se"',
    "emile kernel",
    "optimization optimizer",
    "adversarial robust",
    '"policy gradient" agents',
    "causal fairness interpretab",
]


@pytest.mark.parametrize("q", CORPUS_QUERIES)
def test_corpus_matches_are_the_reference(corpus_client, q):
    expected = reference_ids(CORPUS_DOCS, q)
    assert 0 < len(expected) < CORPUS_SIZE, "the query should tell documents apart"
    found, total = all_ids(corpus_client, {"q": q})
    assert total == len(expected)
    assert len(found) == len(set(found))
    assert set(found) == expected


@pytest.mark.parametrize("q", [RANK_WORD, f"{RANK_WORD} ", f"tuning {RANK_WORD}", "xylophones "])
def test_corpus_title_match_ranks_above_abstract_matches(corpus_client, q):
    found, total = all_ids(corpus_client, {"q": q})
    assert total == 12
    assert found[0] == RANK_TITLE_ID
    # The others are tied: by id.
    assert found[1:] == list(range(CORPUS_SIZE + 1, CORPUS_SIZE + 12))


def test_corpus_title_match_ranks_first_while_typing(corpus_client):
    # Search as you type: `xyloph` is a prefix only; the title match should still lead.
    found, total = all_ids(corpus_client, {"q": "xyloph"})
    assert total == 12
    assert found[0] == RANK_TITLE_ID


@pytest.mark.parametrize("q", ["adversarial robust", "quantization"])
def test_corpus_relevance_cursor_walk_is_the_offset_pages(corpus_client, q):
    by_offset, total = all_ids(corpus_client, {"q": q})
    assert len(by_offset) == total
    assert walk(corpus_client, {"q": q, "limit": 100}) == by_offset


def test_stemming_is_safe_from_several_threads_at_once() -> None:
    """Requests stem in worker threads: a shared Snowball stemmer raised IndexError (a 500) or
    returned another word's stem when two threads used it at once."""
    from concurrent.futures import ThreadPoolExecutor

    from app.core import search as core_search

    words_ = [
        f"{stem_}{suffix}"
        for stem_ in ("generat", "quantiz", "learn")
        for suffix in ("ing", "ed", "ation", "ations", "ness", "ly", "ize", "izing")
    ] * 400
    expected = {word: core_search.stem.__wrapped__(word) for word in set(words_)}

    def stem_all(offset: int) -> list[tuple[str, str]]:
        return [(w, core_search.stem.__wrapped__(w)) for w in words_[offset::4]]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [pair for part in pool.map(stem_all, range(4)) for pair in part]
    assert len(results) == len(words_)
    assert all(found == expected[word] for word, found in results)
