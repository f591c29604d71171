"""Parser of the captured publications page (`seed_data/publications-page.txt`).

The page is plain text, one block per line:

* a banner announcing the newest publication: "... Read the newest publication TITLE by AUTHOR";
* the cookie banner and its settings: the consent policy;
* a "Publications" list of cards. A card is an optional title line, optional author lines (one
  name each), one abstract paragraph, then optionally a date line and a venue line. The abstract
  paragraph is the line that carries the page's expander, `… (see more)`, which the page cuts
  into the middle of the text: removing it restores the text. A new abstract starts a new card.

Nothing is invented: what a card does not show is `null`.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXPANDER = "… (see more)"
ABSTRACT_LABEL = "Abstract "
NEWEST = re.compile(r"Read the newest publication (?P<title>.+) by (?P<author>[^.]+?)\.?$")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

PUBLICATIONS_FILE = "publications.json"
POLICY_FILE = "consent-policy.json"
PAGE_FILE = "publications-page.txt"


class PageFormatError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")


@dataclass
class ParsedPage:
    publications: list[dict[str, Any]]
    policy: dict[str, Any]


def split_venue(line: str) -> tuple[str, str]:
    """`"Venue (Accept (Poster))"` → `("Venue", "Accept (Poster)")`: the last balanced group."""
    if not line.endswith(")"):
        raise ValueError(f"venue line has no decision in parentheses: {line!r}")
    depth = 0
    for index in range(len(line) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(line[index], 0)
        if depth == 0:
            venue, status = line[:index].strip(), line[index + 1 : -1].strip()
            if not venue or not status:
                break
            return venue, status
    raise ValueError(f"venue line has unbalanced or empty parentheses: {line!r}")


def restore_abstract(line: str) -> str:
    text = line.removeprefix(ABSTRACT_LABEL)
    if text.count(EXPANDER) != 1:
        raise ValueError(f"expected the expander {EXPANDER!r} exactly once")
    return text.replace(EXPANDER, "")


def _card(pending: list[str], abstract: str) -> dict[str, Any]:
    return {
        "title": pending[0] if pending else None,
        "abstract": abstract,
        "published_on": None,
        "venue": None,
        "status": None,
        "authors": pending[1:],
    }


def parse_cards(lines: list[str], first_line: int) -> list[dict[str, Any]]:
    cards: list[dict[str, Any]] = []
    pending: list[str] = []  # title and author lines seen since the last card ended
    expect_venue = False
    for number, line in enumerate(lines, start=first_line):
        if expect_venue:
            try:
                cards[-1]["venue"], cards[-1]["status"] = split_venue(line)
            except ValueError as exc:
                raise PageFormatError(number, str(exc)) from None
            expect_venue = False
        elif EXPANDER in line:
            try:
                cards.append(_card(pending, restore_abstract(line)))
            except ValueError as exc:
                raise PageFormatError(number, str(exc)) from None
            pending = []
        elif DATE.fullmatch(line) and cards and not pending:
            if cards[-1]["published_on"] is not None:
                raise PageFormatError(number, "a second date line for one card")
            cards[-1]["published_on"] = line
            expect_venue = True
        else:
            pending.append(line)
    if expect_venue:
        raise PageFormatError(first_line + len(lines), "the page ends after a date line")
    if pending:
        raise PageFormatError(
            first_line + len(lines) - len(pending), "lines after the last card: no abstract follows"
        )
    return cards


def parse_policy(lines: list[str]) -> dict[str, Any]:
    """The cookie banner, its settings introduction and the categories it offers."""
    try:
        settings_at = lines.index("Setting cookies")
    except ValueError:
        raise PageFormatError(1, "no 'Setting cookies' section") from None
    banner, intro = lines[settings_at - 1], lines[settings_at + 1]
    pairs = lines[settings_at + 2 :]
    if len(pairs) % 2:
        raise PageFormatError(settings_at + 3, "cookie categories come as name/description pairs")
    categories = []
    for name, description in zip(pairs[::2], pairs[1::2], strict=True):
        required = description.endswith("(Still active)")
        categories.append(
            {
                "key": name.split()[0].casefold(),
                "name": name,
                "description": description.removesuffix("(Still active)").strip(),
                "required": required,
            }
        )
    texts = {"banner": banner, "settings_intro": intro, "categories": categories}
    return {"version": policy_version(texts), **texts}


def policy_version(texts: dict[str, Any]) -> str:
    """Derived from the texts, so that changing any of them makes a new version."""
    return hashlib.sha256(json.dumps(texts, sort_keys=True).encode()).hexdigest()[:12]


def parse_page(text: str) -> ParsedPage:
    lines = text.splitlines()
    try:
        list_at = lines.index("Publications")
    except ValueError:
        raise PageFormatError(1, "no 'Publications' heading") from None
    publications = parse_cards(lines[list_at + 1 :], first_line=list_at + 2)
    newest = next((m for line in lines[:list_at] if (m := NEWEST.search(line))), None)
    if newest is not None:
        publications.append(
            {
                "title": newest["title"],
                "abstract": None,
                "published_on": None,
                "venue": None,
                "status": None,
                "authors": [newest["author"]],
            }
        )
    return ParsedPage(publications=publications, policy=parse_policy(lines[:list_at]))


def dump_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def write_seed(page: Path, out: Path) -> list[Path]:
    """Parse `page` and write the seed files (and a copy of the page) into `out`."""
    text = page.read_text(encoding="utf-8")
    parsed = parse_page(text)
    out.mkdir(parents=True, exist_ok=True)
    written = {
        PUBLICATIONS_FILE: dump_json(parsed.publications),
        POLICY_FILE: dump_json(parsed.policy),
        PAGE_FILE: text,
    }
    for name, content in written.items():
        if page.resolve() != (out / name).resolve():
            (out / name).write_text(content, encoding="utf-8")
    return [out / name for name in written]
