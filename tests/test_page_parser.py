"""The page parser: the checked-in seed files are exactly what the captured page parses into."""

import hashlib
import json
import re
from pathlib import Path

import pytest

from app.seed.page import (
    PageFormatError,
    parse_page,
    restore_abstract,
    split_venue,
    write_seed,
)
from app.seed.records import json_schema
from tests.support import (
    BANNER_AUTHOR,
    BANNER_TITLE,
    ICLR,
    ICML,
    SEED_DIR,
    SPATIAL_TITLE,
    TEQUILA_AUTHORS,
    TEQUILA_TITLE,
    WORKSHOP,
)

PAGE = SEED_DIR / "publications-page.txt"


@pytest.fixture(scope="module")
def publications() -> list[dict]:
    return parse_page(PAGE.read_text(encoding="utf-8")).publications


# --- the checked-in files ---------------------------------------------------------------------


def test_write_seed_reproduces_the_checked_in_files_byte_for_byte(tmp_path):
    written = write_seed(PAGE, tmp_path)

    names = ["publications.json", "consent-policy.json", "publications-page.txt"]
    assert written == [tmp_path / name for name in names]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    for name in names:
        assert (tmp_path / name).read_bytes() == (SEED_DIR / name).read_bytes(), name


def test_json_schema_reproduces_the_checked_in_schema_byte_for_byte():
    dumped = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    assert dumped.encode() == (SEED_DIR / "seed-format.schema.json").read_bytes()


def test_checked_in_publications_equal_a_fresh_parse(publications):
    on_disk = json.loads((SEED_DIR / "publications.json").read_text(encoding="utf-8"))
    assert on_disk == publications


# --- facts about the seed ---------------------------------------------------------------------


def test_ten_publications_in_page_order(publications):
    assert [p["title"] for p in publications] == [
        SPATIAL_TITLE,
        None,
        None,
        TEQUILA_TITLE,
        None,
        None,
        None,
        None,
        None,
        BANNER_TITLE,
    ]
    assert [(p["abstract"] or "")[:30] for p in publications] == [
        "In multiple sclerosis, differe",
        "In streaming Reinforcement Lea",
        "In this work, we propose Salie",
        "Quantization techniques are es",
        "Scientific foundation models s",
        "Discrete diffusion models have",
        "Pre-trained transformers have ",
        "State-Space Models (SSMs) have",
        "The Clock and Pizza interpreta",
        "",
    ]


def test_first_card_drops_the_abstract_label_and_the_expander(publications):
    first = publications[0]
    assert first["title"] == SPATIAL_TITLE
    assert first["abstract"].startswith("In multiple sclerosis, different types of lesions")
    # The expander sat inside "diseas… (see more)e progression".
    assert "clinical disability and disease progression. Ultra-high field" in first["abstract"]
    assert "diseas…" not in first["abstract"]
    assert first["authors"] == []
    assert (first["published_on"], first["venue"], first["status"]) == (None, None, None)


def test_no_abstract_keeps_the_expander(publications):
    abstracts = [p["abstract"] for p in publications if p["abstract"] is not None]
    assert len(abstracts) == 9
    assert [a for a in abstracts if "(see more)" in a or "…" in a] == []


def test_abstracts_cut_short_by_the_source_are_kept_as_they_are(publications):
    ssfl = publications[2]
    assert ssfl["abstract"].startswith("In this work, we propose Salient Sparse Federated Learning")
    assert ssfl["abstract"].endswith("while reducing communication costs by")
    assert "with efficient communication. SSFL identifies" in ssfl["abstract"]


def test_tequila_has_its_ten_authors_in_byline_order(publications):
    assert publications[3] == {
        "title": TEQUILA_TITLE,
        "abstract": publications[3]["abstract"],
        "published_on": "2025-12-31",
        "venue": ICLR,
        "status": "Accept (Poster)",
        "authors": TEQUILA_AUTHORS,
    }
    assert publications[3]["abstract"].startswith(
        "Quantization techniques are essential for the deployment of Large Language Models"
    )
    assert "prevailing methods often rely on mixed-precision" in publications[3]["abstract"]


def test_venue_and_status_are_split_on_every_venue_line(publications):
    assert [(p["published_on"], p["venue"], p["status"]) for p in publications] == [
        (None, None, None),
        ("2025-12-31", ICML, "Accept (regular)"),
        (None, None, None),
        ("2025-12-31", ICLR, "Accept (Poster)"),
        ("2025-12-31", WORKSHOP, "published"),
        (None, None, None),
        ("2025-12-31", ICML, "Accept (regular)"),
        ("2025-12-31", ICLR, "Accept (Poster)"),
        ("2025-12-31", ICLR, "Accept (Poster)"),
        (None, None, None),
    ]


def test_the_banner_publication_comes_last(publications):
    assert publications[-1] == {
        "title": BANNER_TITLE,
        "abstract": None,
        "published_on": None,
        "venue": None,
        "status": None,
        "authors": [BANNER_AUTHOR],
    }


def test_only_tequila_and_the_banner_name_authors(publications):
    assert [len(p["authors"]) for p in publications] == [0, 0, 0, 10, 0, 0, 0, 0, 0, 1]


# --- the consent policy -----------------------------------------------------------------------


def test_consent_policy_from_the_page():
    policy = parse_page(PAGE.read_text(encoding="utf-8")).policy
    texts = {
        "banner": "We use cookies to analyze the browsing and usage of our website and to "
        "personalize your experience. You can disable these technologies at any time, but this "
        "may limit certain functionalities of the site. Read our Privacy Policy for more "
        "information.",
        "settings_intro": "You can enable and disable the types of cookies you wish to accept. "
        "However certain choices you make could affect the services offered on our sites "
        "(e.g. suggestions, personalised ads, etc.).",
        "categories": [
            {
                "key": "essential",
                "name": "Essential cookies",
                "description": "These cookies are necessary for the operation of the site and "
                "cannot be deactivated.",
                "required": True,
            },
            {
                "key": "analytics",
                "name": "Analytics cookies",
                "description": "Do you accept the use of cookies to measure the audience of our "
                "sites?",
                "required": False,
            },
            {
                "key": "multimedia",
                "name": "Multimedia Player",
                "description": "Do you accept the use of cookies to display and allow you to "
                "watch the video content hosted by our partners (YouTube, etc.)?",
                "required": False,
            },
        ],
    }
    digest = hashlib.sha256(json.dumps(texts, sort_keys=True).encode()).hexdigest()[:12]
    assert digest == "b0cbb0c8d9f4"
    assert policy == {"version": digest, **texts}


def test_policy_version_changes_with_any_text():
    page = PAGE.read_text(encoding="utf-8").replace(
        "measure the audience of our sites?", "measure the audience of our site?"
    )
    policy = parse_page(page).policy
    assert policy["categories"][1]["description"] == (
        "Do you accept the use of cookies to measure the audience of our site?"
    )
    assert policy["version"] != "b0cbb0c8d9f4"


# --- split_venue and restore_abstract ---------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Venue (Accept (Poster))", ("Venue", "Accept (Poster)")),
        ("Venue (published)", ("Venue", "published")),
        ("Venue (2024) (Accept (Oral (top 5%)))", ("Venue (2024)", "Accept (Oral (top 5%))")),
        ("  Venue   ( Accept )", ("Venue", "Accept")),
        (f"{WORKSHOP} (published)", (WORKSHOP, "published")),
    ],
)
def test_split_venue_takes_the_last_balanced_group(line, expected):
    assert split_venue(line) == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Venue", "venue line has no decision in parentheses: 'Venue'"),
        ("Venue (Accept", "venue line has no decision in parentheses: 'Venue (Accept'"),
        ("Venue (Accept))", "venue line has unbalanced or empty parentheses: 'Venue (Accept))'"),
        ("(Accept)", "venue line has unbalanced or empty parentheses: '(Accept)'"),
        ("Venue ()", "venue line has unbalanced or empty parentheses: 'Venue ()'"),
        ("", "venue line has no decision in parentheses: ''"),
    ],
)
def test_split_venue_refuses_lines_without_a_decision(line, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        split_venue(line)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "Abstract In multiple sclerosis, diseas… (see more)e progression.",
            "In multiple sclerosis, disease progression.",
        ),
        ("Abstracts… (see more) are short", "Abstracts are short"),
        ("In streaming RL… (see more), transitions", "In streaming RL, transitions"),
        ("Cut short at the end… (see more)", "Cut short at the end"),
        ("… (see more)Starts at the expander", "Starts at the expander"),
    ],
)
def test_restore_abstract(line, expected):
    assert restore_abstract(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "An abstract without the expander",
        "Twice… (see more) and… (see more) again",
        "Abstract A label but no expander",
    ],
)
def test_restore_abstract_needs_the_expander_exactly_once(line):
    with pytest.raises(ValueError, match=r"^expected the expander '… \(see more\)' exactly once$"):
        restore_abstract(line)


# --- malformed pages --------------------------------------------------------------------------

# Seven lines before the cards, so the first card line is line 8.
HEADER = [
    "A banner. Read the newest publication A Title by Some One",
    "We use cookies.",
    "Setting cookies",
    "Choose.",
    "Essential cookies",
    "Needed. (Still active)",
    "Publications",
]


def page(*cards: str) -> str:
    return "\n".join([*HEADER, *cards]) + "\n"


def format_error(text: str) -> str:
    """The message of the PageFormatError that parsing `text` raises."""
    with pytest.raises(PageFormatError) as caught:
        parse_page(text)
    return str(caught.value)


def test_minimal_page_parses():
    parsed = parse_page(
        page(
            "Title",
            "Author",
            "Abs… (see more)tract",
            "2025-12-31",
            "Venue (Accept)",
            "B… (see more)",
        )
    )
    assert parsed.publications == [
        {
            "title": "Title",
            "abstract": "Abstract",
            "published_on": "2025-12-31",
            "venue": "Venue",
            "status": "Accept",
            "authors": ["Author"],
        },
        {
            "title": None,
            "abstract": "B",
            "published_on": None,
            "venue": None,
            "status": None,
            "authors": [],
        },
        {
            "title": "A Title",
            "abstract": None,
            "published_on": None,
            "venue": None,
            "status": None,
            "authors": ["Some One"],
        },
    ]
    assert parsed.policy["categories"] == [
        {
            "key": "essential",
            "name": "Essential cookies",
            "description": "Needed.",
            "required": True,
        }
    ]


@pytest.mark.parametrize(
    ("cards", "message"),
    [
        pytest.param(
            ["Title", "Abs… (see more)tract", "2025-12-31"],
            # The venue line that should follow the date on line 10 is missing.
            "line 11: the page ends after a date line",
            id="ends-after-date",
        ),
        pytest.param(
            ["Abs… (see more)tract", "A Title", "An Author"],
            "line 9: lines after the last card: no abstract follows",
            id="trailing-lines",
        ),
        pytest.param(
            ["Title", "An Author"],
            "line 8: lines after the last card: no abstract follows",
            id="no-abstract-at-all",
        ),
        pytest.param(
            ["Abs… (see more)tract", "2025-12-31", "Venue without decision"],
            "line 10: venue line has no decision in parentheses: 'Venue without decision'",
            id="bad-venue",
        ),
        pytest.param(
            ["Title", "One… (see more) two… (see more) three"],
            "line 9: expected the expander '… (see more)' exactly once",
            id="expander-twice",
        ),
        pytest.param(
            ["Abs… (see more)tract", "2025-12-31", "Venue (Accept)", "2025-12-30"],
            "line 11: a second date line for one card",
            id="second-date",
        ),
    ],
)
def test_malformed_cards_name_the_line(cards, message):
    assert format_error(page(*cards)) == message


def test_page_without_publications_heading():
    assert format_error("Setting cookies\nChoose.\n") == "line 1: no 'Publications' heading"


def test_page_without_cookie_settings():
    text = "A banner\nPublications\nAbs… (see more)tract\n"
    assert format_error(text) == "line 1: no 'Setting cookies' section"


def test_cookie_categories_must_pair_up():
    text = "\n".join(["Banner", "Setting cookies", "Choose.", "Odd one out", "Publications", ""])
    message = "line 4: cookie categories come as name/description pairs"
    assert format_error(text + "Abs… (see more)tract\n") == message


def test_write_seed_into_the_page_directory_keeps_the_page(tmp_path):
    source = tmp_path / "publications-page.txt"
    source.write_bytes(PAGE.read_bytes())
    write_seed(source, tmp_path)
    assert source.read_bytes() == PAGE.read_bytes()
    assert (tmp_path / "publications.json").read_bytes() == (
        SEED_DIR / "publications.json"
    ).read_bytes()


def test_page_format_error_is_a_value_error():
    error = PageFormatError(3, "bad")
    assert isinstance(error, ValueError)
    assert str(error) == "line 3: bad"


def test_page_path_is_read_as_utf8(tmp_path):
    page_file = tmp_path / "page.txt"
    page_file.write_bytes(page("Résumé… (see more) naïve").encode("utf-8"))
    write_seed(page_file, tmp_path / "out")
    records = json.loads((tmp_path / "out" / "publications.json").read_text(encoding="utf-8"))
    assert records[0]["abstract"] == "Résumé naïve"
    assert "Résumé naïve" in (tmp_path / "out" / "publications.json").read_text(encoding="utf-8")
    assert Path(tmp_path / "out" / "publications-page.txt").read_bytes() == page_file.read_bytes()
