"""Text normalisation shared by the loader (sort keys) and the queries."""

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Case- and accent-insensitive form: `"Knébel"` and `"KNEBEL"` fold to `"knebel"`."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()
