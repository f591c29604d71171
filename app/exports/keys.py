"""Citation keys: short, stable, and safe wherever BibTeX, RIS or CSL expect an identifier.

A key is `family name + year + first significant title word`, e.g. `huang2025tequila`, the
convention Google Scholar and DBLP users recognise. Bases use only `[a-z0-9]`, so that no
BibTeX toolchain (classic BibTeX included) chokes on them, and so that the `-2`, `-3` suffixes
that tell apart publications sharing a base can never collide with another base.
"""

import re
import unicodedata

_NOT_KEY_CHARS = re.compile(r"[^a-z0-9]+")

# English words that say nothing about a paper; a key starting with one is no help to a reader.
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "on",
        "of",
        "for",
        "in",
        "to",
        "and",
        "with",
        "via",
        "from",
        "by",
        "at",
        "towards",
        "toward",
        "is",
        "are",
    ]
)


def _fold(word: str) -> str:
    """`"Ünïcode:"` -> `"unicode"`: accents dropped, lowercase, nothing outside `[a-z0-9]`."""
    return _NOT_KEY_CHARS.sub("", unicodedata.normalize("NFKD", word).lower())


def _family(first_author: str | None) -> str:
    # The last word: "Moritz von Knebel" is filed under Knebel, as BibTeX itself would.
    words = first_author.split() if first_author else []
    return (_fold(words[-1]) if words else "") or "anon"


def _title_word(title: str | None) -> str:
    for word in (_fold(w) for w in (title or "").split()):
        if word and word not in _STOPWORDS:
            return word
    return "untitled"


def cite_base(title: str | None, year: int | None, first_author: str | None) -> str:
    """The key before disambiguation, e.g. `huang2025tequila`; `anonnduntitled` knowing nothing.

    `year` is a calendar year (1 to 9999), as `published_on` gives it.
    """
    return f"{_family(first_author)}{'nd' if year is None else year}{_title_word(title)}"


def cite_key(base: str, rank: int) -> str:
    """The key of the publication at `rank` (0-based, by id) among those sharing `base`.

    The first keeps the bare base, so a newer publication (a higher id) never renames an older one.
    """
    return base if rank == 0 else f"{base}-{rank + 1}"
