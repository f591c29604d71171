"""Text normalisation shared by the loader (sort keys) and the queries."""

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from app.core.limits import MAX_NAME_SEARCH_CHARS

_SPACES = re.compile(r"\s+")
# Unicode's control characters (category Cc) but tab, line feed and carriage return.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def fold(text: str) -> str:
    """Case- and accent-insensitive form: `"Knébel"` and `"KNEBEL"` fold to `"knebel"`."""
    return _SPACES.sub(" ", fold_letters(text)).strip()


def fold_letters(text: str) -> str:
    """`fold` without collapsing white space: for splitting into words, which drops it anyway."""
    if not text.isascii():  # (ASCII is its own decomposition, with nothing to strip)
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return text.casefold()


def printable(text: str) -> str:
    # PostgreSQL cannot hold NUL in text; no one types control characters into a search box.
    if _CONTROL.search(text):
        raise ValueError("must not contain NUL or other control characters")
    return text


# User text from a query string: never query syntax, 1 to 200 characters, no control characters.
def _searchable(text: str) -> str:
    if not fold(text):
        raise ValueError("nothing to search for: only spaces or accents")
    return text


SearchText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME_SEARCH_CHARS),
    AfterValidator(printable),
    AfterValidator(_searchable),
]
