"""Export formats: JSON Lines, CSV, BibTeX, RIS and CSL-JSON.

Each format renders one publication at a time (`item`) between a fixed `head` and `tail`, so a
list of any length streams out without the whole document ever being in memory. A publication
is a dict as the API shows it plus its `cite_key`; a field the source does not give is left out
(or left empty in CSV), never made up.
"""

import csv
import datetime as dt
import io
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

# A publication as the API shows it (all fields, or the selected ones), plus its `cite_key`.
Pub = Mapping[str, Any]
_Kind = Literal["conference", "journal", "other"]


@dataclass(frozen=True)
class ExportFormat(ABC):
    """How one format writes publications, and what it is served as."""

    name: str
    media_type: str
    extension: str

    def head(self) -> str:
        """Text before the first item of a list."""
        return ""

    @abstractmethod
    def item(self, pub: Pub, index: int) -> str:
        """One publication at 0-based `index` of a list, with the separator it needs there."""

    def tail(self) -> str:
        """Text after the last item of a list."""
        return ""

    def one(self, pub: Pub) -> str:
        """A single publication as a complete document."""
        return self.head() + self.item(pub, 0) + self.tail()


def render_list(fmt: ExportFormat, pubs: Iterable[Pub]) -> Iterator[str]:
    """The document for `pubs`, chunk by chunk.

    Empty chunks are left out: in chunked HTTP a zero-length chunk means the end of the body, so
    none should reach a server.
    """
    if head := fmt.head():
        yield head
    for index, pub in enumerate(pubs):
        yield fmt.item(pub, index)
    if tail := fmt.tail():
        yield tail


# What every format needs from a publication.

_CONFERENCE = re.compile("conference|workshop|symposium|proceedings", re.IGNORECASE)
_JOURNAL = re.compile("journal|transactions|letters", re.IGNORECASE)

# Line breaks as str.splitlines() sees them, and tabs, with the whitespace around them.
_BREAKS = re.compile(r"\s*[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]\s*")


def _venue(pub: Pub) -> str | None:
    venue = pub.get("venue")
    return None if venue is None else str(venue["name"])


def _kind(venue: str | None) -> _Kind:
    """What the venue's name says it is: the source has no entry types of its own.

    A conference word wins: "Proceedings of ... Letters" are proceedings.
    """
    if venue and _CONFERENCE.search(venue):
        return "conference"
    if venue and _JOURNAL.search(venue):
        return "journal"
    return "other"


def _authors(pub: Pub) -> list[str]:
    return [str(author["name"]) for author in pub.get("authors") or []]


def _one_line(text: str) -> str:
    """`text` on one trimmed line: line-based formats and readers have no other way to hold it."""
    return _BREAKS.sub(" ", text).strip()


def _json_value(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# JSON leaves these unescaped, yet str.splitlines() and JavaScript's old parsers end lines there.
_UNICODE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _json(value: object) -> str:
    compact = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_value)
    return compact.translate(_UNICODE_BREAKS)


# JSON Lines


@dataclass(frozen=True)
class _JsonLines(ExportFormat):
    """Exactly the fields of the API's JSON, one publication per line; no cite key."""

    def item(self, pub: Pub, index: int) -> str:
        return _json({key: value for key, value in pub.items() if key != "cite_key"}) + "\n"


# CSV

_CSV_COLUMNS = (
    "id",
    "title",
    "authors",
    "abstract",
    "published_on",
    "year",
    "venue_id",
    "venue",
    "status",
    "cite_key",
)


def _csv_row(cells: Iterable[object]) -> str:
    """One RFC 4180 record; the csv module writes None as an empty cell."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue()


@dataclass(frozen=True)
class _Csv(ExportFormat):
    """A header row, then one row per publication: for spreadsheets, so one value per cell."""

    def head(self) -> str:
        return _csv_row(_CSV_COLUMNS)

    def item(self, pub: Pub, index: int) -> str:
        venue = pub.get("venue") or {}
        return _csv_row(
            [
                pub.get("id"),
                pub.get("title"),
                "; ".join(_authors(pub)),
                pub.get("abstract"),
                pub.get("published_on"),
                pub.get("year"),
                venue.get("id"),
                venue.get("name"),
                pub.get("status"),
                pub.get("cite_key"),
            ]
        )


# BibTeX

_BIBTEX_TYPES: dict[_Kind, tuple[str, str]] = {
    "conference": ("inproceedings", "booktitle"),
    "journal": ("article", "journal"),
    "other": ("misc", "howpublished"),
}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_SPECIALS = re.compile("[" + re.escape("".join(_LATEX_ESCAPES)) + "]")
# TeX turns -- --- `` '' !` ?` into dashes, curly quotes and inverted marks; an empty group
# between the two characters keeps them as typed.
_LIGATURES = re.compile(r"(?<=-)(?=-)|(?<=')(?=')|(?<=[`!?])(?=`)")
# In a name, each escape is a BibTeX "special character" such as `{\&}`: BibTeX counts it as
# one letter (for initials and sorting), and bibtexparser (2.1), which skips a bare escape while
# looking for " and ", splits the list around it correctly.
_NAME_ESCAPES = {char: f"{{{escape}}}" for char, escape in _LATEX_ESCAPES.items()}
# Some readers (Typst's, for one) take any Unicode space around "and" as a separator.
_AND_WORD = re.compile(r"(?<!\S)and(?!\S)", re.IGNORECASE)


def _latex(text: str, escapes: Mapping[str, str] = _LATEX_ESCAPES) -> str:
    """`text` on one line, as LaTeX that typesets to exactly `text` (non-ASCII stays UTF-8)."""
    escaped = _LATEX_SPECIALS.sub(lambda special: escapes[special[0]], _one_line(text))
    return _LIGATURES.sub("{}", escaped)


def _braced(value: object) -> str | None:
    """The field value `{...}`; None, so no field at all, when there is nothing to say."""
    text = "" if value is None else _latex(str(value))
    return f"{{{text}}}" if text else None


def _bibtex_name(name: str) -> str:
    escaped = _latex(name, _NAME_ESCAPES)
    # BibTeX splits the list at every word "and", in any case; braces keep this name whole.
    return f"{{{escaped}}}" if _AND_WORD.search(escaped) else escaped


def _bibtex_authors(names: list[str]) -> str | None:
    return "{" + " and ".join(map(_bibtex_name, names)) + "}" if names else None


def _bibtex_entry(pub: Pub) -> str:
    venue = _venue(pub)
    entry_type, venue_field = _BIBTEX_TYPES[_kind(venue)]
    published_on: dt.date | None = pub.get("published_on")
    fields = {
        "title": _braced(pub.get("title")),
        "author": _bibtex_authors(_authors(pub)),
        venue_field: _braced(venue),
        "year": _braced(pub.get("year")),
        # The month macro lets every style spell the month in its own language.
        "month": _MONTHS[published_on.month - 1] if published_on else None,
        "date": _braced(published_on),
        "abstract": _braced(pub.get("abstract")),
        "note": _braced(pub.get("status")),
    }
    body = "".join(f",\n  {name} = {value}" for name, value in fields.items() if value)
    return f"@{entry_type}{{{pub['cite_key']}{body}\n}}\n"


@dataclass(frozen=True)
class _Bibtex(ExportFormat):
    def item(self, pub: Pub, index: int) -> str:
        return ("\n" if index else "") + _bibtex_entry(pub)


# RIS

_RIS_TYPES: dict[_Kind, tuple[str, str]] = {
    "conference": ("CONF", "T2"),
    "journal": ("JOUR", "JO"),
    "other": ("GEN", "T2"),
}


def _ris_date(day: dt.date | None) -> str | None:
    # Not strftime: "%Y" leaves years before 1000 unpadded on some platforms.
    return None if day is None else f"{day.year:04d}/{day.month:02d}/{day.day:02d}"


def _ris_record(pub: Pub) -> str:
    venue = _venue(pub)
    ris_type, venue_tag = _RIS_TYPES[_kind(venue)]
    tags = [
        ("TY", ris_type),
        ("ID", pub["cite_key"]),
        ("TI", pub.get("title")),
        *(("AU", name) for name in _authors(pub)),
        (venue_tag, venue),
        ("PY", pub.get("year")),
        ("DA", _ris_date(pub.get("published_on"))),
        ("AB", pub.get("abstract")),
        ("N1", pub.get("status")),
    ]
    lines = ((tag, "" if value is None else _one_line(str(value))) for tag, value in tags)
    return "".join(f"{tag}  - {text}\n" for tag, text in lines if text) + "ER  - \n\n"


@dataclass(frozen=True)
class _Ris(ExportFormat):
    def item(self, pub: Pub, index: int) -> str:
        return _ris_record(pub)


# CSL-JSON

_CSL_TYPES: dict[_Kind, str] = {
    "conference": "paper-conference",
    "journal": "article-journal",
    "other": "document",
}


def _csl_name(name: str) -> dict[str, str]:
    # The source has names as written, not their parts; the last word is the best guess at
    # the family name, and a one-word name stays as it is.
    given, _, family = name.rpartition(" ")
    return {"given": given, "family": family} if given and family else {"literal": name}


def _csl_issued(pub: Pub) -> dict[str, list[list[int]]] | None:
    published_on: dt.date | None = pub.get("published_on")
    if published_on is not None:
        return {"date-parts": [[published_on.year, published_on.month, published_on.day]]}
    year: int | None = pub.get("year")
    return None if year is None else {"date-parts": [[year]]}


def _csl_item(pub: Pub) -> dict[str, Any]:
    venue = _venue(pub)
    item = {
        "id": pub["cite_key"],
        "type": _CSL_TYPES[_kind(venue)],
        "title": pub.get("title"),
        "author": [_csl_name(name) for name in _authors(pub)] or None,
        "container-title": venue,
        "issued": _csl_issued(pub),
        "abstract": pub.get("abstract"),
        "note": pub.get("status"),
    }
    return {key: value for key, value in item.items() if value is not None}


@dataclass(frozen=True)
class _CslJson(ExportFormat):
    def head(self) -> str:
        return "["

    def item(self, pub: Pub, index: int) -> str:
        return (",\n" if index else "") + _json(_csl_item(pub))

    def tail(self) -> str:
        return "]\n"

    def one(self, pub: Pub) -> str:
        # One object, not a one-item array: what DOI content negotiation answers too.
        return _json(_csl_item(pub)) + "\n"


FORMATS: dict[str, ExportFormat] = {
    fmt.name: fmt
    for fmt in (
        _JsonLines("jsonl", "application/jsonl", "jsonl"),
        _Csv("csv", "text/csv; charset=utf-8; header=present", "csv"),
        _Bibtex("bibtex", "application/x-bibtex; charset=utf-8", "bib"),
        _Ris("ris", "application/x-research-info-systems; charset=utf-8", "ris"),
        _CslJson("csl-json", "application/vnd.citationstyles.csl+json", "csl.json"),
    )
}
