"""Text normalisation shared by the loader (sort keys) and the queries."""

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Case- and accent-insensitive form: `"Knébel"` and `"KNEBEL"` fold to `"knebel"`."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def printable(text: str) -> str:
    # PostgreSQL cannot hold NUL in text; no one types control characters into a search box.
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in text):
        raise ValueError("must not contain NUL or other control characters")
    return text


# User text from a query string: never query syntax, 1 to 200 characters, no control characters.
def _searchable(text: str) -> str:
    if not fold(text):
        raise ValueError("nothing to search for: only spaces or accents")
    return text


SearchText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(printable),
    AfterValidator(_searchable),
]
