"""Full-text search, the same on every engine: how text becomes terms, how `q` is read, and
how a snippet is cut.

Text is folded (case and accents), split into runs of letters and digits, and stemmed
(English Snowball) here in Python; SQLite's FTS5 table and PostgreSQL's tsvector only index
the terms made here. So both engines match exactly the same documents for the same `q`.
"""

import html
import re
import threading
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

from app.core.text import fold, fold_letters

WORD = re.compile(r"[^\W_]+")
QUOTED = re.compile(r'"([^"]*)"?')
MAX_TERMS = 32
# Lexemes longer than this are not indexed (PostgreSQL's limit is 2 KiB; no word is this long).
MAX_TERM_LENGTH = 100
SNIPPET_WORDS = 30

# A Snowball stemmer keeps its work on the object: one per thread (requests stem in worker
# threads; a shared one raised IndexError, or returned a wrong stem, under concurrency).
_local = threading.local()


# Large enough for the vocabulary of a big catalogue's abstracts: a miss runs the Snowball
# algorithm in Python, about 10 µs.
@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    return str(stemmer.stemWord(word))


def words(text: str) -> list[str]:
    """Folded words of `text`, in order."""
    found: list[str] = WORD.findall(fold_letters(text))
    if found and max(map(len, found)) > MAX_TERM_LENGTH:
        return [w for w in found if len(w) <= MAX_TERM_LENGTH]
    return found


def terms(text: str) -> list[str]:
    """What a text is indexed as: its stemmed words, in order."""
    return list(map(stem, words(text)))


def words_and_terms(text: str) -> tuple[list[str], list[str]]:
    """`words(text)` and `terms(text)`, folding the text once."""
    found = words(text)
    return found, list(map(stem, found))


class QueryError(ValueError):
    pass


@dataclass(frozen=True)
class SearchQuery:
    """User text read as search: every term, phrase and the prefix must match (AND)."""

    terms: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    # The word being typed at the end of the text: it matches the start of a word, or the
    # word itself once stemmed (`tern` finds "Ternary"; `quantization` finds "quantized").
    prefix: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.terms or self.phrases or self.prefix)

    def stems(self) -> set[str]:
        found = set(self.terms) | {t for phrase in self.phrases for t in phrase}
        return found | ({stem(self.prefix)} if self.prefix else set())


def parse_query(text: str) -> SearchQuery:
    """`q` as a search, never as query syntax: quoted text is a phrase, other words are terms,
    and the last word, when the text ends inside it, is a prefix (search as you type)."""
    phrases: list[tuple[str, ...]] = []
    loose: list[str] = []
    position = 0
    for match in QUOTED.finditer(text):
        loose += words(text[position : match.start()])
        quoted = terms(match.group(1))
        if len(quoted) > 1:
            phrases.append(tuple(quoted))
        else:
            loose += words(match.group(1))
        position = match.end()
    tail = words(text[position:])
    loose += tail
    prefix = loose.pop() if tail and text[-1].isalnum() else None
    found = tuple(dict.fromkeys(stem(word) for word in loose))
    count = len(found) + sum(len(phrase) for phrase in phrases) + (prefix is not None)
    if count > MAX_TERMS:
        raise QueryError(f"too many words: at most {MAX_TERMS}")
    return SearchQuery(terms=found, phrases=tuple(dict.fromkeys(phrases)), prefix=prefix)


def snippet(text: str, query: SearchQuery) -> str:
    """The passage of `text` with the most matches, HTML-escaped, matches in `<mark>`."""
    spans = [(m.start(), m.end()) for m in WORD.finditer(text)]
    if not spans:
        return html.escape(text)
    if text.isascii():  # ASCII folds by lowercasing, letter for letter: fold it all at once
        lowered = text.lower()
        folded = [lowered[start:end] for start, end in spans]
    else:
        folded = [fold(text[start:end]) for start, end in spans]
    stems, prefix = query.stems(), query.prefix
    hits = [
        stem(word) in stems or (prefix is not None and word.startswith(prefix)) for word in folded
    ]
    if len(spans) <= SNIPPET_WORDS:
        first, last = 0, len(spans)
    else:
        best, best_at, window = -1, 0, sum(hits[:SNIPPET_WORDS])
        for at in range(len(spans) - SNIPPET_WORDS + 1):
            if at:
                window += hits[at + SNIPPET_WORDS - 1] - hits[at - 1]
            if window > best:
                best, best_at = window, at
        # Start a little before the first match, so that it reads in context.
        first_hit = next((i for i in range(best_at, best_at + SNIPPET_WORDS) if hits[i]), best_at)
        first = max(0, min(first_hit - 3, len(spans) - SNIPPET_WORDS))
        last = first + SNIPPET_WORDS
    begin = 0 if first == 0 else spans[first][0]
    end = len(text) if last >= len(spans) else spans[last - 1][1]
    out = ["…" if begin else ""]
    cursor = begin
    for (start, stop), hit in zip(spans[first:last], hits[first:last], strict=True):
        if hit:
            out.append(html.escape(text[cursor:start]))
            out.append(f"<mark>{html.escape(text[start:stop])}</mark>")
            cursor = stop
    out.append(html.escape(text[cursor:end]))
    out.append("…" if end < len(text) else "")
    return "".join(out)
