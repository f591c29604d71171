"""Export formats and citation keys, checked against the parsers that read them in the wild.

Every format is read back by a maintained parser (bibtexparser with pylatexenc, rispy, the csv
module, json with the official CSL-JSON schema) and compared field by field with what went in:
hand-picked hard cases, the seed data, and arbitrary text from hypothesis. BibTeX and RIS put
every value on one line; `one_line` below is what that does to a value, and all it may do.
"""

import csv
import datetime as dt
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware, SeparateCoAuthors
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator
from jsonschema.validators import validator_for
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from app.exports.formats import FORMATS, ExportFormat, render_list
from app.exports.keys import cite_base, cite_key

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Vendored verbatim from citation-style-language/schema, schemas/input/csl-data.json.
CSL_SCHEMA = json.loads((Path(__file__).parent / "data" / "csl-data.json").read_text("utf-8"))
CSL_VALIDATOR = Draft7Validator(CSL_SCHEMA)

CSV_COLUMNS = [
    *("id", "title", "authors", "abstract", "published_on", "year"),
    *("venue_id", "venue", "status", "cite_key"),
]
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


# --- what goes in ----------------------------------------------------------------------------


def with_cite_keys(pubs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`pubs` with their keys: among those sharing a base, the lowest id gets it bare."""
    ranks: Counter[str] = Counter()
    keyed = {}
    for pub in sorted(pubs, key=lambda pub: pub["id"]):
        first_author = pub["authors"][0]["name"] if pub["authors"] else None
        base = cite_base(pub["title"], pub["year"], first_author)
        keyed[pub["id"]] = {**pub, "cite_key": cite_key(base, ranks[base])}
        ranks[base] += 1
    return [keyed[pub["id"]] for pub in pubs]


def byline(*names: str) -> list[dict[str, Any]]:
    return [{"id": 100 + n, "name": name, "position": n} for n, name in enumerate(names, start=1)]


def seed_pubs() -> list[dict[str, Any]]:
    """seed_data/publications.json as the API shows it: ids in file order, venues numbered."""
    records = json.loads((PROJECT_ROOT / "seed_data" / "publications.json").read_text("utf-8"))
    venue_ids: dict[str, int] = {}
    pubs = []
    for pub_id, record in enumerate(records, start=1):
        published_on = record["published_on"] and dt.date.fromisoformat(record["published_on"])
        venue = record["venue"]
        pubs.append(
            {
                "id": pub_id,
                "title": record["title"],
                "abstract": record["abstract"],
                "published_on": published_on,
                "year": published_on.year if published_on else None,
                "venue": None
                if venue is None
                else {"id": venue_ids.setdefault(venue, len(venue_ids) + 1), "name": venue},
                "status": record["status"],
                "authors": byline(*record["authors"]),
            }
        )
    return with_cite_keys(pubs)


SEED = seed_pubs()

TEQUILA: dict[str, Any] = {
    "id": 4,
    "title": "Tequila: Deadzone-free Ternary Quantization for Large Language Models",
    "abstract": "Ternary weight quantization constrains weights to {-1, 0, 1}.",
    "published_on": dt.date(2025, 12, 31),
    "year": 2025,
    "venue": {"id": 2, "name": "International Conference on Learning Representations"},
    "status": "Accept (Poster)",
    "authors": [
        {"id": 1, "name": "Hong Huang", "position": 1},
        {"id": 2, "name": "Decheng Wu", "position": 2},
    ],
    "cite_key": "huang2025tequila",
}
NOTHING_KNOWN: dict[str, Any] = {
    "id": 3,
    "title": None,
    "abstract": None,
    "published_on": None,
    "year": None,
    "venue": None,
    "status": None,
    "authors": [],
    "cite_key": "anonnduntitled",
}
# Every character LaTeX, BibTeX, RIS or CSV treat specially, accents, and line breaks.
TRICKY: dict[str, Any] = {
    "id": 7,
    "title": "Tricky {braces} \\ back\\slash & 50% $x^2$ #1 a_b ~tilde -- em---dash "
    "``quotes'' !` ?` Ünïcode naïve 日本語",
    "abstract": 'Line one\nline two\r\n\tindented, "quoted"; {unbalanced\n\n\u2028end',
    "published_on": dt.date(999, 1, 2),
    "year": 999,
    "venue": {"id": 9, "name": "Proceedings of Tricky_Venue {2025}"},
    "status": "Accept (Oral) & more",
    "authors": byline(
        *("Simon and Schuster", "José Ñúñez", "Plato", "Anne-Marie O'Brien"),
        *("AND", "{Unbalanced", "Back\\slash}", "Ann Anderson", "x -- y", "Q &", "_Lead"),
    ),
    "cite_key": "schuster999tricky",
}


# --- what comes out, read back by the parsers ------------------------------------------------

_BREAKS = re.compile(r"\s*[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]\s*")


def one_line(text: str | None) -> str | None:
    """What BibTeX and RIS keep of a value: line breaks and tabs (and the whitespace around
    them) become one space, and the ends are trimmed; a value left blank is left out."""
    return None if text is None else _BREAKS.sub(" ", text).strip() or None


class Types(NamedTuple):
    bibtex: str
    bibtex_venue: str
    ris: str
    ris_venue: str  # rispy's name for the tag
    csl: str


TYPES = {
    "conference": Types(
        "inproceedings", "booktitle", "CONF", "secondary_title", "paper-conference"
    ),
    "journal": Types("article", "journal", "JOUR", "journal_name", "article-journal"),
    "other": Types("misc", "howpublished", "GEN", "secondary_title", "document"),
}


def types(pub: dict[str, Any]) -> Types:
    venue = pub["venue"]["name"] if pub["venue"] else ""
    if re.search("conference|workshop|symposium|proceedings", venue, re.IGNORECASE):
        return TYPES["conference"]
    if re.search("journal|transactions|letters", venue, re.IGNORECASE):
        return TYPES["journal"]
    return TYPES["other"]


def names(pub: dict[str, Any]) -> list[str]:
    return [author["name"] for author in pub["authors"]]


def venue_name(pub: dict[str, Any]) -> str | None:
    return pub["venue"]["name"] if pub["venue"] else None


def present(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value not in (None, [])}


def parse_jsonl(text: str) -> list[dict[str, Any]]:
    # splitlines() also ends lines at U+2028 and its kin: the writer escapes them.
    return [json.loads(line) for line in text.splitlines()]


def expect_jsonl(pub: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, dt.date) else value
        for key, value in pub.items()
        if key != "cite_key"
    }


def parse_csv(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    assert reader.fieldnames == CSV_COLUMNS
    return rows


def expect_csv(pub: dict[str, Any]) -> dict[str, str]:
    cells = {
        "id": pub["id"],
        "title": pub["title"],
        "authors": "; ".join(names(pub)),
        "abstract": pub["abstract"],
        "published_on": pub["published_on"],
        "year": pub["year"],
        "venue_id": pub["venue"] and pub["venue"]["id"],
        "venue": venue_name(pub),
        "status": pub["status"],
        "cite_key": pub["cite_key"],
    }
    return {column: "" if value is None else str(value) for column, value in cells.items()}


def latex_decoder() -> LatexNodes2Text:
    """bibtexparser's decoder, except that `\\textasciicircum` is `^`, as LaTeX typesets it.

    pylatexenc decodes it to U+02C6 (modifier letter circumflex), though its own encoder writes
    `^` as `\\textasciicircum`; see test_pylatexenc_reads_textasciicircum_as_a_modifier_letter.
    """
    context = get_default_latex_context_db()
    context.add_context_category(
        "ascii-circumflex", prepend=True, macros=[MacroTextSpec("textasciicircum", "^")]
    )
    return LatexNodes2Text(latex_context=context, math_mode="verbatim")


LATEX = latex_decoder()


def parse_bibtex(text: str) -> list[dict[str, Any]]:
    library = bibtexparser.parse_string(
        text, append_middleware=[SeparateCoAuthors(), LatexDecodingMiddleware(decoder=LATEX)]
    )
    assert library.failed_blocks == []
    assert library.comments == []
    return [
        {"ENTRYTYPE": entry.entry_type, "ID": entry.key}
        | {
            field.key: [LATEX.latex_to_text(name) for name in field.value]
            if field.key == "author"
            else field.value
            for field in entry.fields
        }
        for entry in library.entries
    ]


def expect_bibtex(pub: dict[str, Any]) -> dict[str, Any]:
    published_on = pub["published_on"]
    return present(
        {
            "ENTRYTYPE": types(pub).bibtex,
            "ID": pub["cite_key"],
            "title": one_line(pub["title"]),
            "author": [one_line(name) for name in names(pub)],
            types(pub).bibtex_venue: one_line(venue_name(pub)),
            "year": pub["year"] and str(pub["year"]),
            "month": published_on and MONTHS[published_on.month - 1],
            "date": published_on and published_on.isoformat(),
            "abstract": one_line(pub["abstract"]),
            "note": one_line(pub["status"]),
        }
    )


def parse_ris(text: str) -> list[dict[str, Any]]:
    return rispy.loads(text)


def expect_ris(pub: dict[str, Any]) -> dict[str, Any]:
    published_on = pub["published_on"]
    status = one_line(pub["status"])
    return present(
        {
            "type_of_reference": types(pub).ris,
            "id": pub["cite_key"],
            "title": one_line(pub["title"]),
            "authors": [one_line(name) for name in names(pub)],
            types(pub).ris_venue: one_line(venue_name(pub)),
            "year": pub["year"] and str(pub["year"]),
            "date": published_on
            and f"{published_on.year:04d}/{published_on.month:02d}/{published_on.day:02d}",
            "abstract": one_line(pub["abstract"]),
            "notes": status and [status],
        }
    )


def csl_name(name: dict[str, str]) -> str:
    """The name as written: a literal, or given and family names (both there) with a space."""
    if name.keys() == {"literal"}:
        return name["literal"]
    assert name.keys() == {"given", "family"}
    assert name["given"]
    assert name["family"]
    return f"{name['given']} {name['family']}"


def parse_csl(text: str) -> list[dict[str, Any]]:
    items = json.loads(text)
    CSL_VALIDATOR.validate(items)
    return [
        item | {"author": [csl_name(name) for name in item.get("author", [])]} for item in items
    ]


def expect_csl(pub: dict[str, Any]) -> dict[str, Any]:
    published_on, year = pub["published_on"], pub["year"]
    if published_on:
        issued = {"date-parts": [[published_on.year, published_on.month, published_on.day]]}
    else:
        issued = year and {"date-parts": [[year]]}
    return {"author": names(pub)} | present(
        {
            "id": pub["cite_key"],
            "type": types(pub).csl,
            "title": pub["title"],
            "container-title": venue_name(pub),
            "issued": issued,
            "abstract": pub["abstract"],
            "note": pub["status"],
        }
    )


PARSE = {
    "jsonl": parse_jsonl,
    "csv": parse_csv,
    "bibtex": parse_bibtex,
    "ris": parse_ris,
    "csl-json": parse_csl,
}
EXPECT = {
    "jsonl": expect_jsonl,
    "csv": expect_csv,
    "bibtex": expect_bibtex,
    "ris": expect_ris,
    "csl-json": expect_csl,
}


def document(fmt: ExportFormat, pubs: list[dict[str, Any]]) -> str:
    return "".join(render_list(fmt, pubs))


def assert_round_trip(name: str, pubs: list[dict[str, Any]]) -> None:
    parsed = PARSE[name](document(FORMATS[name], pubs))
    assert parsed == [EXPECT[name](pub) for pub in pubs]


# --- the registry ----------------------------------------------------------------------------


def test_formats_are_served_as_registered_media_types():
    assert {name: (fmt.name, fmt.media_type, fmt.extension) for name, fmt in FORMATS.items()} == {
        "jsonl": ("jsonl", "application/jsonl", "jsonl"),
        "csv": ("csv", "text/csv; charset=utf-8; header=present", "csv"),
        "bibtex": ("bibtex", "application/x-bibtex; charset=utf-8", "bib"),
        "ris": ("ris", "application/x-research-info-systems; charset=utf-8", "ris"),
        "csl-json": ("csl-json", "application/vnd.citationstyles.csl+json", "csl.json"),
    }


# --- whole documents -------------------------------------------------------------------------

TEQUILA_JSONL = (
    '{"id":4,"title":"Tequila: Deadzone-free Ternary Quantization for Large Language Models",'
    '"abstract":"Ternary weight quantization constrains weights to {-1, 0, 1}.",'
    '"published_on":"2025-12-31","year":2025,'
    '"venue":{"id":2,"name":"International Conference on Learning Representations"},'
    '"status":"Accept (Poster)",'
    '"authors":[{"id":1,"name":"Hong Huang","position":1},'
    '{"id":2,"name":"Decheng Wu","position":2}]}\n'
)
NOTHING_KNOWN_JSONL = (
    '{"id":3,"title":null,"abstract":null,"published_on":null,"year":null,"venue":null,'
    '"status":null,"authors":[]}\n'
)
CSV_HEADER = "id,title,authors,abstract,published_on,year,venue_id,venue,status,cite_key\r\n"
TEQUILA_CSV = (
    "4,Tequila: Deadzone-free Ternary Quantization for Large Language Models,"
    'Hong Huang; Decheng Wu,"Ternary weight quantization constrains weights to {-1, 0, 1}.",'
    "2025-12-31,2025,2,International Conference on Learning Representations,Accept (Poster),"
    "huang2025tequila\r\n"
)
NOTHING_KNOWN_CSV = "3,,,,,,,,,anonnduntitled\r\n"
TEQUILA_BIBTEX = """\
@inproceedings{huang2025tequila,
  title = {Tequila: Deadzone-free Ternary Quantization for Large Language Models},
  author = {Hong Huang and Decheng Wu},
  booktitle = {International Conference on Learning Representations},
  year = {2025},
  month = dec,
  date = {2025-12-31},
  abstract = {Ternary weight quantization constrains weights to \\{-1, 0, 1\\}.},
  note = {Accept (Poster)}
}
"""
NOTHING_KNOWN_BIBTEX = "@misc{anonnduntitled\n}\n"
TEQUILA_RIS = """\
TY  - CONF
ID  - huang2025tequila
TI  - Tequila: Deadzone-free Ternary Quantization for Large Language Models
AU  - Hong Huang
AU  - Decheng Wu
T2  - International Conference on Learning Representations
PY  - 2025
DA  - 2025/12/31
AB  - Ternary weight quantization constrains weights to {-1, 0, 1}.
N1  - Accept (Poster)
ER  - \n\n"""
NOTHING_KNOWN_RIS = "TY  - GEN\nID  - anonnduntitled\nER  - \n\n"
TEQUILA_CSL = (
    '{"id":"huang2025tequila","type":"paper-conference",'
    '"title":"Tequila: Deadzone-free Ternary Quantization for Large Language Models",'
    '"author":[{"given":"Hong","family":"Huang"},{"given":"Decheng","family":"Wu"}],'
    '"container-title":"International Conference on Learning Representations",'
    '"issued":{"date-parts":[[2025,12,31]]},'
    '"abstract":"Ternary weight quantization constrains weights to {-1, 0, 1}.",'
    '"note":"Accept (Poster)"}'
)
NOTHING_KNOWN_CSL = '{"id":"anonnduntitled","type":"document"}'


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("jsonl", TEQUILA_JSONL + NOTHING_KNOWN_JSONL),
        ("csv", CSV_HEADER + TEQUILA_CSV + NOTHING_KNOWN_CSV),
        ("bibtex", TEQUILA_BIBTEX + "\n" + NOTHING_KNOWN_BIBTEX),
        ("ris", TEQUILA_RIS + NOTHING_KNOWN_RIS),
        ("csl-json", "[" + TEQUILA_CSL + ",\n" + NOTHING_KNOWN_CSL + "]\n"),
    ],
)
def test_a_list_is_written_exactly(name, expected):
    assert document(FORMATS[name], [TEQUILA, NOTHING_KNOWN]) == expected


@pytest.mark.parametrize(
    ("name", "tequila", "nothing_known"),
    [
        ("jsonl", TEQUILA_JSONL, NOTHING_KNOWN_JSONL),
        ("csv", CSV_HEADER + TEQUILA_CSV, CSV_HEADER + NOTHING_KNOWN_CSV),
        ("bibtex", TEQUILA_BIBTEX, NOTHING_KNOWN_BIBTEX),
        ("ris", TEQUILA_RIS, NOTHING_KNOWN_RIS),
        # One object, not an array of one: as doi.org answers for a single work.
        ("csl-json", TEQUILA_CSL + "\n", NOTHING_KNOWN_CSL + "\n"),
    ],
)
def test_one_publication_is_a_complete_document(name, tequila, nothing_known):
    assert FORMATS[name].one(TEQUILA) == tequila
    assert FORMATS[name].one(NOTHING_KNOWN) == nothing_known


def test_bibtex_escapes_latex_and_keeps_names_whole():
    assert FORMATS["bibtex"].one(TRICKY) == (
        "@inproceedings{schuster999tricky,\n"
        "  title = {Tricky \\{braces\\} \\textbackslash{} back\\textbackslash{}slash \\& 50\\% "
        "\\$x\\textasciicircum{}2\\$ \\#1 a\\_b \\textasciitilde{}tilde -{}- em-{}-{}-dash "
        "`{}`quotes'{}' !{}` ?{}` Ünïcode naïve 日本語},\n"
        "  author = {{Simon and Schuster} and José Ñúñez and Plato and Anne-Marie O'Brien and "
        "{AND} and {\\{}Unbalanced and Back{\\textbackslash{}}slash{\\}} and Ann Anderson and "
        "x -{}- y and Q {\\&} and {\\_}Lead},\n"
        "  booktitle = {Proceedings of Tricky\\_Venue \\{2025\\}},\n"
        "  year = {999},\n"
        "  month = jan,\n"
        "  date = {0999-01-02},\n"
        '  abstract = {Line one line two indented, "quoted"; \\{unbalanced end},\n'
        "  note = {Accept (Oral) \\& more}\n"
        "}\n"
    )


def test_csl_names_split_at_the_last_space():
    pub = TEQUILA | {"authors": byline("Moritz von Knebel", "Plato", "José Ñúñez")}
    assert json.loads(FORMATS["csl-json"].one(pub))["author"] == [
        {"given": "Moritz von", "family": "Knebel"},
        {"literal": "Plato"},
        {"given": "José", "family": "Ñúñez"},
    ]


def test_csl_issued_falls_back_to_the_year():
    pub = NOTHING_KNOWN | {"year": 2024}
    assert json.loads(FORMATS["csl-json"].one(pub))["issued"] == {"date-parts": [[2024]]}


@pytest.mark.parametrize(
    ("venue", "kind"),
    [
        ("International Conference on Learning Representations", "conference"),
        ("Workshop Proposals @ International Conference on Learning Representations", "conference"),
        ("ACM SYMPOSIUM on Theory of Computing", "conference"),
        ("Proceedings of the VLDB Endowment", "conference"),
        ("Journal of Machine Learning Research", "journal"),
        ("IEEE Transactions on Pattern Analysis and Machine Intelligence", "journal"),
        ("Physical Review letters", "journal"),
        ("arXiv", "other"),
        (None, "other"),
    ],
)
def test_the_venue_name_decides_the_entry_type(venue, kind):
    pub = TEQUILA | {"venue": venue and {"id": 1, "name": venue}}
    expected = TYPES[kind]
    bibtex = parse_bibtex(FORMATS["bibtex"].one(pub))[0]
    assert bibtex["ENTRYTYPE"] == expected.bibtex
    assert bibtex.get(expected.bibtex_venue) == venue
    ris = parse_ris(FORMATS["ris"].one(pub))[0]
    assert ris["type_of_reference"] == expected.ris
    assert ris.get(expected.ris_venue) == venue
    assert json.loads(FORMATS["csl-json"].one(pub))["type"] == expected.csl


@pytest.mark.parametrize("month", range(1, 13))
def test_bibtex_month_is_the_unbraced_macro(month):
    pub = TEQUILA | {"published_on": dt.date(2025, month, 1)}
    assert f"  month = {MONTHS[month - 1]},\n" in FORMATS["bibtex"].one(pub)


def test_line_formats_collapse_line_breaks_and_the_others_keep_them():
    pub = NOTHING_KNOWN | {"abstract": " One\r\n  two\t three \u2028\n four "}
    assert "  abstract = {One two three four}\n" in FORMATS["bibtex"].one(pub)
    assert "AB  - One two three four\n" in FORMATS["ris"].one(pub)
    assert parse_csv(FORMATS["csv"].one(pub))[0]["abstract"] == pub["abstract"]
    assert parse_jsonl(FORMATS["jsonl"].one(pub))[0]["abstract"] == pub["abstract"]
    assert json.loads(FORMATS["csl-json"].one(pub))["abstract"] == pub["abstract"]


def test_jsonl_writes_a_sparse_fieldset_as_given():
    assert FORMATS["jsonl"].one({"id": 1, "title": "x"}) == '{"id":1,"title":"x"}\n'
    assert FORMATS["jsonl"].one({"title": "x", "id": 1}) == '{"title":"x","id":1}\n'
    assert FORMATS["jsonl"].one({"id": 1, "cite_key": "anonnduntitled"}) == '{"id":1}\n'


def test_jsonl_escapes_what_splitlines_takes_for_a_line_break():
    line = FORMATS["jsonl"].one({"title": "a\u2028b\x85c\u2029d"})
    assert line == '{"title":"a\\u2028b\\u0085c\\u2029d"}\n'
    assert parse_jsonl(line) == [{"title": "a\u2028b\x85c\u2029d"}]


# --- read back by the parsers ----------------------------------------------------------------


@pytest.mark.parametrize("name", FORMATS)
def test_hard_cases_read_back(name):
    assert_round_trip(name, [TRICKY, TEQUILA, NOTHING_KNOWN])


@pytest.mark.parametrize("name", FORMATS)
def test_the_seed_reads_back(name):
    assert_round_trip(name, SEED)


@pytest.mark.parametrize("name", ["jsonl", "csv", "bibtex", "ris"])
def test_each_seed_publication_alone_reads_back(name):
    for pub in SEED:
        assert PARSE[name](FORMATS[name].one(pub)) == [EXPECT[name](pub)]


def test_each_seed_publication_alone_is_a_csl_item():
    for pub in SEED:
        item = json.loads(FORMATS["csl-json"].one(pub))
        CSL_VALIDATOR.validate([item])
        assert item | {"author": [csl_name(name) for name in item.get("author", [])]} == (
            expect_csl(pub)
        )


def test_the_seed_gets_the_entry_types_its_venues_say():
    assert [entry["ENTRYTYPE"] for entry in parse_bibtex(document(FORMATS["bibtex"], SEED))] == [
        "misc",
        *("inproceedings", "misc", "inproceedings", "inproceedings", "misc"),
        *("inproceedings", "inproceedings", "inproceedings", "misc"),
    ]


def test_the_vendored_csl_schema_is_draft_07_and_strict():
    assert validator_for(CSL_SCHEMA) is Draft7Validator
    Draft7Validator.check_schema(CSL_SCHEMA)
    assert not CSL_VALIDATOR.is_valid([{"id": "x"}])  # no type
    assert not CSL_VALIDATOR.is_valid([{"id": "x", "type": "document", "venue": "y"}])


def test_pylatexenc_reads_textasciicircum_as_a_modifier_letter():
    """Why the tests decode `\\textasciicircum` themselves: when this fails, they need not."""
    library = bibtexparser.parse_string(
        "@misc{k, title = {x\\textasciicircum{}2}}", append_middleware=[LatexDecodingMiddleware()]
    )
    assert library.entries[0]["title"] == "x\u02c62"


# --- streaming -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FORMATS)
def test_render_list_streams(name):
    fmt = FORMATS[name]

    def only_one_is_read() -> Iterator[dict[str, Any]]:
        yield TEQUILA
        raise AssertionError("read past the first publication")

    chunks = render_list(fmt, only_one_is_read())
    assert list(islice(chunks, 2 if fmt.head() else 1))[-1] == fmt.item(TEQUILA, 0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("jsonl", ""), ("csv", CSV_HEADER), ("bibtex", ""), ("ris", ""), ("csl-json", "[]\n")],
)
def test_an_empty_list(name, expected):
    chunks = list(render_list(FORMATS[name], []))
    assert "".join(chunks) == expected
    assert "" not in chunks
    assert PARSE[name](expected) == []


# --- citation keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "year", "first_author", "expected"),
    [
        (TEQUILA["title"], 2025, "Hong Huang", "huang2025tequila"),
        (None, None, None, "anonnduntitled"),
        ("The Ünïcode Paper", 2020, "Moritz von Knebel", "knebel2020unicode"),
        ("On the Use of Keys: A Study", 2019, "A. N. Other", "other2019use"),
        ("— 3D Vision", 999, "Plato", "plato9993d"),
        ("ﬁne-tuning LLMs", 2024, "Ｄｏｎａｌｄ Ｋｎｕｔｈ", "knuth2024finetuning"),  # noqa: RUF001
        ("Towards a Theory", 2022, "Zoë Ö'Brien-Ünal", "obrienunal2022theory"),
        ("The of and", 2000, "   ", "anon2000untitled"),
        ("", 2000, "", "anon2000untitled"),
        ("Attention", None, "李小龙", "anonndattention"),
    ],
)
def test_cite_base(title, year, first_author, expected):
    assert cite_base(title, year, first_author) == expected


@pytest.mark.parametrize(
    "stopword",
    [
        *("a", "an", "the", "on", "of", "for", "in", "to", "and", "with", "via", "from"),
        *("by", "at", "towards", "toward", "is", "are"),
    ],
)
def test_cite_base_skips_stopwords(stopword):
    assert cite_base(f"{stopword.title()} {stopword.upper()} Keys", 2000, "Ada Lovelace") == (
        "lovelace2000keys"
    )


def test_cite_key_numbers_the_later_ones_from_two():
    assert [cite_key("huang2025tequila", rank) for rank in range(4)] == [
        "huang2025tequila",
        "huang2025tequila-2",
        "huang2025tequila-3",
        "huang2025tequila-4",
    ]


def test_seed_cite_keys():
    assert [pub["cite_key"] for pub in SEED] == [
        "anonndspatial",
        "anon2025untitled",
        "anonnduntitled",
        "huang2025tequila",
        "anon2025untitled-2",
        "anonnduntitled-2",
        "anon2025untitled-3",
        "anon2025untitled-4",
        "anon2025untitled-5",
        "knebelndbridging",
    ]


years = st.none() | st.integers(min_value=1, max_value=9999)


@given(title=st.none() | st.text(), year=years, first_author=st.none() | st.text())
def test_cite_base_is_always_a_plain_key(title, year, first_author):
    assert re.fullmatch("[a-z0-9]+", cite_base(title, year, first_author))


# --- arbitrary text --------------------------------------------------------------------------

# The loader refuses blank names: a name always has something left on one line.
author_names = st.text(min_size=1).filter(lambda name: one_line(name) is not None)
texts = st.none() | st.text()


@st.composite
def api_publications(draw: st.DrawFn) -> list[dict[str, Any]]:
    pubs = []
    for pub_id in range(1, draw(st.integers(min_value=0, max_value=3)) + 1):
        published_on = draw(st.none() | st.dates())
        venue_name = draw(texts)
        pubs.append(
            {
                "id": pub_id,
                "title": draw(texts),
                "abstract": draw(texts),
                "published_on": published_on,
                "year": published_on.year if published_on else draw(years),
                "venue": None
                if venue_name is None
                else {"id": draw(st.integers(1, 99)), "name": venue_name},
                "status": draw(texts),
                # Unique, as the loader refuses a name twice in one byline.
                "authors": byline(*draw(st.lists(author_names, max_size=3, unique=True))),
            }
        )
    return with_cite_keys(pubs)


@pytest.mark.parametrize("name", FORMATS)
@settings(deadline=None, max_examples=200)
@given(pubs=api_publications())
def test_arbitrary_text_reads_back(name, pubs):
    fmt = FORMATS[name]
    chunks = list(render_list(fmt, pubs))
    assert "" not in chunks
    items = "".join(fmt.item(pub, index) for index, pub in enumerate(pubs))
    assert "".join(chunks) == fmt.head() + items + fmt.tail()
    assert_round_trip(name, pubs)
