"""Full-text search, the same on every engine: how text becomes terms, how `q` is read, and
how a snippet is cut.

Text is folded (case and accents), split into runs of letters and digits, and stemmed
(English Snowball) here in Python; SQLite's FTS5 table and PostgreSQL's tsvector only index
the terms made here. So both engines match exactly the same documents for the same `q`.
"""

import bisect
import html
import itertools
import re
import threading
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

from app.core.text import fold, fold_letters

WORD = re.compile(r"[^\W_]+")
# The same words in ASCII text, and what separates them there.
ASCII_WORD = re.compile(r"[A-Za-z0-9]+")
ASCII_SEPARATORS = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})
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
    """The passage of `text` with the most matches, HTML-escaped, matches in `<mark>`.

    The passage is the first window of SNIPPET_WORDS words holding the most matches, begun a
    little before its first match so that it reads in context. Each distinct word is judged
    once (stemmed, or compared with the prefix); the window is found from the matches alone.
    """
    if text.isascii():
        # ASCII folds by lowercasing, letter for letter, and its words are its runs of ASCII
        # letters and digits: split at everything else, at once.
        folded = text.lower().translate(ASCII_SEPARATORS).split()
        pattern = ASCII_WORD
    else:
        folded = [fold(found) for found in WORD.findall(text)]
        pattern = WORD
    if not folded:
        return html.escape(text)
    distinct = list(set(folded))
    # (map and compress judge the words in C: half the time of a comprehension)
    matching = set(
        itertools.compress(distinct, map(query.stems().__contains__, map(stem, distinct)))
    )
    if query.prefix is not None:
        starts = map(str.startswith, distinct, itertools.repeat(query.prefix))
        matching.update(itertools.compress(distinct, starts))
    hits = [i for i, word in enumerate(folded) if word in matching]
    count = len(folded)
    if count <= SNIPPET_WORDS:
        first, last = 0, count
    else:
        # The window holding the most matches begins, at the earliest, at a match: the first
        # match of the first such window.
        best, first_hit = 0, 0
        for n, at in enumerate(hits):
            inside = bisect.bisect_left(hits, at + SNIPPET_WORDS, n) - n
            if inside > best:
                best, first_hit = inside, at
        first = max(0, min(first_hit - 3, count - SNIPPET_WORDS))
        last = first + SNIPPET_WORDS
    shown = set(hits[bisect.bisect_left(hits, first) : bisect.bisect_left(hits, last)])
    window = list(itertools.islice(pattern.finditer(text), first, last))
    begin = 0 if first == 0 else window[0].start()
    end = len(text) if last >= count else window[-1].end()
    out = ["…" if begin else ""]
    cursor = begin
    for i, match in enumerate(window, start=first):
        if i in shown:
            out.append(html.escape(text[cursor : match.start()]))
            out.append(f"<mark>{html.escape(match.group())}</mark>")
            cursor = match.end()
    out.append(html.escape(text[cursor:end]))
    out.append("…" if end < len(text) else "")
    return "".join(out)
