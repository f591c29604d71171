"""Deterministic synthetic publications in pubapi's seed format, at any size up to millions.

`python -m bench.generate N OUT [--seed S]` writes N records as JSON Lines, streaming (memory
stays flat), and beside OUT a sidecar `OUT.words.json` with words to search for. The same N
and seed give the same bytes: every draw comes from one `random.Random(seed)`, in a fixed
order, in bulk (words from a slot table, the rest by `choices` with precomputed cumulative
weights): about 5 s per 100,000 records on one core. The records for N and for a larger N
differ (the author pool grows with N).

Why synthetic and shaped so: a benchmark needs volume with the skew of real data. Words follow
Zipf (weight 1/rank) over ~2,300 words (bench.words), with a geometric tail so that words
found in a handful of documents exist at every N; authors come from a pool of N/2 names with
a Zipf-like choice (some are prolific); venues, dates and decisions are skewed; some fields
are null.

The words to search for are chosen so that every engine counts the same documents: lowercase
ASCII, no other token that can occur (vocabulary, name part, model name) starts with them or
shares their stem (English Snowball as pubapi, Porter as FTS5's `porter`). So pubapi's `q`
(whose last word is also a prefix), FTS5 with or without `porter`, and a count of whole
lowercase words all find the same documents.
- common_words: by expected document frequency, computed from the weights: 50 words expected
  in 10% to 30% of documents, well inside the promised 5%-40% once N is a few hundred, and the
  same list for every N and seed so that runs at different sizes query the same words.
- rare_words: by counting the generated records, since a word expected in 0.3 documents may
  be in none: up to 200 words in at least 1 and at most max(1, N // 10,000) documents.
  `generate` counts while it writes and puts both lists, with their exact document counts,
  in the sidecar; `rare_words(n, seed)` regenerates the records to count (slow at large N).
"""

import argparse
import array
import bisect
import datetime as dt
import itertools
import json
import math
import random
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import snowballstemmer

from bench import words

DEFAULT_SEED = 20260101
# Records drawn per bulk call. Part of the output's definition: changing it changes every file.
CHUNK = 1000
# Fixed, not the user's seed: the word and venue rankings, hence the query words, never change.
RANKING_SEED = 1

HEAD_EXPONENT = 1.0
# Ranks past the head fall off geometrically, by e^-0.021 per rank: from ~1% of documents at
# the end of the head down to ~1 in 10 million, so every N has words of very few documents.
TAIL_DECAY = 0.021
# The most frequent function words lead; the rest are shuffled in among the CORE words.
LEADING_FUNCTION_WORDS = 25

TITLE_WORDS = (6, 14)
ABSTRACT_WORDS = (80, 200)
SENTENCE_WORDS = (8, 28)
MIN_LAST_SENTENCE = 5
# A random byte to a sentence length, near uniformly (each length has 12 or 13 of 256 bytes).
SENTENCE_LENGTHS = [
    SENTENCE_WORDS[0] + b * (SENTENCE_WORDS[1] - SENTENCE_WORDS[0] + 1) // 256 for b in range(256)
]
COMMA_FROM = 14  # sentences this long get a comma after their first third
NAMED_TITLE_SHARE = 0.2  # "Name: rest"
CONNECTOR_SHARE = 0.5  # one lowercase connector among the title's words
CONNECTORS = ("for", "with", "via", "in", "of", "on", "under", "without", "beyond", "through")

NULL_TITLE = 0.005
NULL_ABSTRACT = 0.03  # only for records that have a title: never both null
NULL_VENUE = 0.03
NULL_DATE = 0.02

AUTHOR_COUNT_WEIGHTS = (5, 14, 18, 18, 15, 11, 7, 4, 3, 2, 2, 1)  # 1 to 12 authors
AUTHOR_OFFSET = 100  # Zipf-like 1/(rank + offset)^exponent over the pool
AUTHOR_EXPONENT = 1.0
NAME_STRIDE = 7919  # a prime coprime with the name counts: spreads the names over the pool

STATUS_WEIGHTS: tuple[tuple[str | None, int], ...] = (
    ("Accept (Poster)", 30),
    ("published", 24),
    ("Reject", 15),
    ("Accept (regular)", 11),
    ("Accept (Spotlight)", 6),
    ("Accept (Oral)", 4),
    (None, 10),
)
FIRST_DAY, LAST_DAY = dt.date(2015, 1, 1), dt.date(2026, 12, 31)
DATE_GROWTH = 3.0  # the last day is drawn 3x as often as the first: the field grows

COMMON_COUNT, COMMON_SHARE = 50, (0.10, 0.30)
RARE_COUNT, RARE_PER_DOCUMENTS = 200, 10_000

Record = dict[str, Any]


def _cumulative(weights: Sequence[float]) -> list[float]:
    return list(itertools.accumulate(weights))


def _fold(text: str) -> str:
    """Lowercase without accents, as pubapi and FTS5 (unicode61) index a name."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _spread(items: Sequence[str], count: int) -> list[str]:
    """`count` items evenly spaced over `items` (all of them when there are fewer)."""
    if len(items) <= count:
        return list(items)
    return [items[i * len(items) // count] for i in range(count)]


class _Sampler:
    """Draws words with given weights, exactly, ~6x faster than `choices` with weights.

    A table of 65,536 slots holds each word floor(share * 65,536) times; 16 random bits pick
    a slot. The slots left empty (the fractions of a slot) are worth the remainders, and a
    draw that lands on one is drawn again by `choices` from those remainders: so each word's
    probability is exactly its share, the tail included.
    """

    SLOTS = 1 << 16

    def __init__(self, items: Sequence[str], weights: Sequence[float]) -> None:
        total = sum(weights)
        self.table: list[str] = []
        remainders = []
        for item, weight in zip(items, weights, strict=True):
            slots = weight / total * self.SLOTS
            self.table += [item] * int(slots)
            remainders.append(slots - int(slots))
        self.table += [""] * (self.SLOTS - len(self.table))  # "": draw from the remainders
        self.items = list(items)
        self.remainders = _cumulative(remainders)

    def draw(self, rng: random.Random, k: int) -> list[str]:
        slots = array.array("H", rng.randbytes(2 * k))
        if sys.byteorder == "big":  # the same slots from the same bytes on every machine
            slots.byteswap()
        drawn = list(map(self.table.__getitem__, slots))
        misses = drawn.count("")
        at = -1
        for word in rng.choices(self.items, cum_weights=self.remainders, k=misses):
            at = drawn.index("", at + 1)
            drawn[at] = word
        return drawn


@dataclass(frozen=True)
class _Vocabulary:
    words: tuple[str, ...]  # by rank
    sampler: _Sampler
    probability: dict[str, float]  # of one abstract word
    title_sampler: _Sampler  # no function words in titles but the connector
    title_probability: dict[str, float]


@cache
def _vocabulary() -> _Vocabulary:
    rng = random.Random(RANKING_SEED)
    mixed, general, rare = (
        words.FUNCTION[LEADING_FUNCTION_WORDS:] + words.CORE,
        list(words.GENERAL),
        list(words.RARE),
    )
    for tier in (mixed, general, rare):
        rng.shuffle(tier)
    head = words.FUNCTION[:LEADING_FUNCTION_WORDS] + mixed + general
    weights = [rank**-HEAD_EXPONENT for rank in range(1, len(head) + 1)]
    weights += [weights[-1] * math.exp(-TAIL_DECAY * k) for k in range(1, len(rare) + 1)]
    ranked = tuple(head + rare)
    total = sum(weights)
    function = set(words.FUNCTION)
    content = [(w, x) for w, x in zip(ranked, weights, strict=True) if w not in function]
    content_total = sum(x for _, x in content)
    return _Vocabulary(
        words=ranked,
        sampler=_Sampler(ranked, weights),
        probability={w: x / total for w, x in zip(ranked, weights, strict=True)},
        title_sampler=_Sampler([w for w, _ in content], [x for _, x in content]),
        title_probability={w: x / content_total for w, x in content},
    )


@cache
def _model_names() -> tuple[str, ...]:
    vocabulary = set(_vocabulary().words)
    names = (head + tail for head in words.MODEL_HEADS for tail in words.MODEL_TAILS)
    return tuple(name for name in names if name.lower() not in vocabulary)


@cache
def _venues() -> tuple[tuple[str, ...], list[float]]:
    names = [t.format(topic) for t in words.VENUE_TEMPLATES for topic in words.VENUE_TOPICS]
    random.Random(RANKING_SEED).shuffle(names)
    return tuple(names), _cumulative([1 / rank for rank in range(1, len(names) + 1)])


@cache
def _days() -> tuple[tuple[str, ...], list[float]]:
    span = (LAST_DAY - FIRST_DAY).days
    days = tuple((FIRST_DAY + dt.timedelta(days=d)).isoformat() for d in range(span + 1))
    return days, _cumulative([1 + (DATE_GROWTH - 1) * d / span for d in range(span + 1)])


PLAIN_NAMES = len(words.GIVEN_NAMES) * len(words.FAMILY_NAMES)
NAME_CAPACITY = PLAIN_NAMES * 27  # "Given Family", then "Given M. Family" for M in A..Z


def author_name(index: int) -> str:
    """The pool's `index`-th name (0 <= index < NAME_CAPACITY): distinct for distinct indexes.

    The first PLAIN_NAMES are "Given Family", the rest "Given M. Family"; within each range
    a multiplication by NAME_STRIDE modulo its size (a bijection) mixes the combinations.
    """
    given = len(words.GIVEN_NAMES)
    if index < PLAIN_NAMES:
        j = index * NAME_STRIDE % PLAIN_NAMES
        return f"{words.GIVEN_NAMES[j % given]} {words.FAMILY_NAMES[j // given]}"
    j = (index - PLAIN_NAMES) * NAME_STRIDE % (PLAIN_NAMES * 26)
    pair, initial = j % PLAIN_NAMES, chr(ord("A") + j // PLAIN_NAMES)
    return f"{words.GIVEN_NAMES[pair % given]} {initial}. {words.FAMILY_NAMES[pair // given]}"


def _author_pool(n: int) -> tuple[range, list[float]]:
    size = max(1, min(n // 2, NAME_CAPACITY))
    weights = ((i + AUTHOR_OFFSET) ** -AUTHOR_EXPONENT for i in range(size))
    return range(size), list(itertools.accumulate(weights))


class _Plan(NamedTuple):
    """What one record will hold, drawn before its words are drawn in bulk."""

    title_words: int  # content words of the title; 0: no title
    model: str | None  # "Model: ..." title
    connector: str | None  # a lowercase word put at `connector_at` among the content words
    connector_at: int
    abstract_words: int  # 0: no abstract


def _plan(rng: random.Random, model_names: Sequence[str]) -> _Plan:
    length = rng.randint(*TITLE_WORDS)
    model = connector = None
    if rng.random() < NAMED_TITLE_SHARE:
        model = model_names[rng.randrange(len(model_names))]
    if rng.random() < CONNECTOR_SHARE:
        connector = CONNECTORS[rng.randrange(len(CONNECTORS))]
    # The title's words: the model name, the connector and the content words.
    content = length - (model is not None) - (connector is not None)
    has_title = rng.random() >= NULL_TITLE
    has_abstract = not has_title or rng.random() >= NULL_ABSTRACT
    return _Plan(
        title_words=content if has_title else 0,
        model=model,
        connector=connector,
        connector_at=rng.randrange(1, content),
        abstract_words=rng.randint(*ABSTRACT_WORDS) if has_abstract else 0,
    )


def _title(plan: _Plan, content: list[str]) -> tuple[str, list[str]]:
    """The title and the vocabulary words in it, from its drawn content words."""
    shown = [w.capitalize() for w in content]
    tokens = list(content)
    if plan.connector is not None:
        shown.insert(plan.connector_at, plan.connector)
        tokens.append(plan.connector)
    title = " ".join(shown)
    return (title if plan.model is None else f"{plan.model}: {title}"), tokens


def _abstract(abstract_words: list[str], lengths: Iterator[int]) -> str:
    """Sentences over `abstract_words`: capitalized, a comma in long ones, ending with '.'."""
    sentences = []
    start, total = 0, len(abstract_words)
    while start < total:
        end = start + next(lengths)
        if total - end < MIN_LAST_SENTENCE:
            end = total
        sentence = abstract_words[start:end]
        if len(sentence) >= COMMA_FROM:
            sentence[len(sentence) // 3] += ","
        sentences.append(" ".join(sentence).capitalize() + ".")
        start = end
    return " ".join(sentences)


def _documents(n: int, seed: int) -> Iterator[tuple[Record, list[str]]]:
    """Each record with the vocabulary words of its title and abstract."""
    rng = random.Random(seed)
    vocabulary = _vocabulary()
    model_names = _model_names()
    venues, venue_weights = _venues()
    days, day_weights = _days()
    statuses = tuple(s for s, _ in STATUS_WEIGHTS)
    status_weights = _cumulative([w for _, w in STATUS_WEIGHTS])
    author_counts = range(1, len(AUTHOR_COUNT_WEIGHTS) + 1)
    author_count_weights = _cumulative(AUTHOR_COUNT_WEIGHTS)
    pool, pool_weights = _author_pool(n)
    width = max(7, len(str(n)))
    for first in range(0, n, CHUNK):
        size = min(CHUNK, n - first)
        plans = [_plan(rng, model_names) for _ in range(size)]
        title_pool = vocabulary.title_sampler.draw(rng, sum(p.title_words for p in plans))
        abstract_pool = vocabulary.sampler.draw(rng, sum(p.abstract_words for p in plans))
        # Each sentence takes one length and at least SENTENCE_WORDS[0] words (the last of
        # an abstract may take fewer): this many lengths always suffice.
        needed = len(abstract_pool) // SENTENCE_WORDS[0] + size
        lengths = map(SENTENCE_LENGTHS.__getitem__, rng.randbytes(needed))
        counts = rng.choices(author_counts, cum_weights=author_count_weights, k=size)
        drawn = rng.choices(pool, cum_weights=pool_weights, k=sum(counts))
        venue_draws = rng.choices(venues, cum_weights=venue_weights, k=size)
        day_draws = rng.choices(days, cum_weights=day_weights, k=size)
        status_draws = rng.choices(statuses, cum_weights=status_weights, k=size)
        t = a = d = 0
        for i, plan in enumerate(plans):
            tokens: list[str] = []
            title = abstract = None
            if plan.title_words:
                title, tokens = _title(plan, title_pool[t : t + plan.title_words])
                t += plan.title_words
            if plan.abstract_words:
                chosen = abstract_pool[a : a + plan.abstract_words]
                tokens += chosen
                abstract = _abstract(chosen, lengths)
                a += plan.abstract_words
            wanted = min(counts[i], len(pool))
            byline = dict.fromkeys(drawn[d : d + counts[i]])
            d += counts[i]
            while len(byline) < wanted:  # a repeated draw: draw again, in byline order
                byline[rng.choices(pool, cum_weights=pool_weights)[0]] = None
            record = {
                "key": f"gen-{first + i + 1:0{width}d}",
                "title": title,
                "abstract": abstract,
                "published_on": None if rng.random() < NULL_DATE else day_draws[i],
                "venue": None if rng.random() < NULL_VENUE else venue_draws[i],
                "status": status_draws[i],
                "authors": [author_name(index) for index in byline],
            }
            yield record, tokens


def records(n: int, seed: int = DEFAULT_SEED) -> Iterator[Record]:
    """The `n` records, in file order."""
    for record, _ in _documents(n, seed):
        yield record


@cache
def _query_safe() -> frozenset[str]:
    """Vocabulary words (no function word) that every engine here matches the same way."""
    tokens = set(_vocabulary().words) | {name.lower() for name in _model_names()}
    for name in words.GIVEN_NAMES + words.FAMILY_NAMES:
        tokens.update(_fold(name).split())
    tokens.update(chr(c) for c in range(ord("a"), ord("z") + 1))  # middle initials
    universe = sorted(tokens)
    stemmers = [snowballstemmer.stemmer("english"), snowballstemmer.stemmer("porter")]
    stems = [Counter(stemmer.stemWords(universe)) for stemmer in stemmers]

    def safe(word: str) -> bool:
        after = bisect.bisect_right(universe, word)
        if after < len(universe) and universe[after].startswith(word):
            return False
        return all(
            count[stemmer.stemWord(word)] == 1
            for stemmer, count in zip(stemmers, stems, strict=True)
        )

    function = set(words.FUNCTION)
    return frozenset(w for w in _vocabulary().words if w not in function and safe(w))


def expected_share(word: str) -> float:
    """The expected share of documents whose title or abstract contains `word`."""
    vocabulary = _vocabulary()
    p, pt = vocabulary.probability[word], vocabulary.title_probability.get(word, 0.0)
    low, high = ABSTRACT_WORDS
    absent_abstract = sum((1 - p) ** k for k in range(low, high + 1)) / (high - low + 1)
    # Content words in a title: its length, less the model name, less the connector.
    low, high = TITLE_WORDS
    absent_title = 0.0
    for length in range(low, high + 1):
        for named, share in ((1, NAMED_TITLE_SHARE), (0, 1 - NAMED_TITLE_SHARE)):
            k = length - named
            absent_title += share * (
                CONNECTOR_SHARE * (1 - pt) ** (k - 1) + (1 - CONNECTOR_SHARE) * (1 - pt) ** k
            )
    absent_title /= high - low + 1
    absent = NULL_TITLE * absent_abstract + (1 - NULL_TITLE) * (
        NULL_ABSTRACT * absent_title + (1 - NULL_ABSTRACT) * absent_abstract * absent_title
    )
    return 1 - absent


def common_words(n: int, seed: int = DEFAULT_SEED) -> list[str]:
    """50 query-safe words expected in 10% to 30% of documents, by rank.

    Chosen from the weights alone: the same for every `n` and `seed`, so that benchmarks at
    different sizes query the same words. Measured: 7% to 32% at n = 300 (seeds 1 to 8),
    10% to 30% at n = 100,000.
    """
    safe = _query_safe()
    low, high = COMMON_SHARE
    ranked = [w for w in _vocabulary().words if w in safe and low <= expected_share(w) <= high]
    return _spread(ranked, COMMON_COUNT)


def _rare(counts: Counter[str], n: int) -> list[str]:
    safe, most = _query_safe(), max(1, n // RARE_PER_DOCUMENTS)
    ranked = [w for w in _vocabulary().words if w in safe and 1 <= counts[w] <= most]
    return _spread(ranked, RARE_COUNT)


def document_counts(n: int, seed: int = DEFAULT_SEED) -> Counter[str]:
    """How many of the `n` records have each vocabulary word in their title or abstract."""
    counts: Counter[str] = Counter()
    for _, tokens in _documents(n, seed):
        counts.update(set(tokens))
    return counts


def rare_words(n: int, seed: int = DEFAULT_SEED) -> list[str]:
    """Up to 200 query-safe words in 1 to max(1, n // 10,000) of the `n` records, by rank.

    Counted on the records themselves (regenerated: at large n read `generate`'s sidecar).
    """
    return _rare(document_counts(n, seed), n)


def words_path(out: Path) -> Path:
    return out.with_name(out.name + ".words.json")


def generate(n: int, out: Path, seed: int = DEFAULT_SEED) -> None:
    """Write `n` records to `out` (JSON Lines) and the query words to `words_path(out)`."""
    counts: Counter[str] = Counter()
    with out.open("w", encoding="utf-8", newline="\n") as handle:
        lines: list[str] = []
        for record, tokens in _documents(n, seed):
            counts.update(set(tokens))
            lines.append(json.dumps(record, ensure_ascii=False))
            if len(lines) == CHUNK:
                handle.write("\n".join(lines) + "\n")
                lines = []
        if lines:
            handle.write("\n".join(lines) + "\n")
    common, rare = common_words(n, seed), _rare(counts, n)
    sidecar = {
        "n": n,
        "seed": seed,
        "common": common,
        "rare": rare,
        "document_counts": {w: counts[w] for w in common + rare},
    }
    words_path(out).write_text(json.dumps(sidecar, indent=1) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("n", type=int, metavar="N", help="number of publications")
    parser.add_argument("out", type=Path, metavar="OUT", help="JSON Lines file to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("N must be >= 0")
    generate(args.n, args.out, args.seed)
    print(f"wrote {args.n} records to {args.out} and {words_path(args.out)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
