"""`snippet`: the passage of a text a search result shows, pinned against a plain reference.

The reference below cuts the passage the slow, obvious way: every word stemmed and judged in
order, every window of SNIPPET_WORDS words counted. app.core.search judges each distinct word
once and finds the window from the matches alone; both must give the same passage, character
for character, on any text and any query.
"""

import html
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.core.search import SNIPPET_WORDS, QueryError, SearchQuery, parse_query, snippet, stem
from app.core.text import fold

WORD = re.compile(r"[^\W_]+")


def reference(text: str, query: SearchQuery) -> str:
    spans = [(m.start(), m.end()) for m in WORD.finditer(text)]
    if not spans:
        return html.escape(text)
    folded = [fold(text[start:end]) for start, end in spans]
    hits = [
        stem(word) in query.stems() or (query.prefix is not None and word.startswith(query.prefix))
        for word in folded
    ]
    first, last = 0, len(spans)
    if len(spans) > SNIPPET_WORDS:
        counts = [
            sum(hits[at : at + SNIPPET_WORDS]) for at in range(len(spans) - SNIPPET_WORDS + 1)
        ]
        best_at = counts.index(max(counts))
        window = range(best_at, best_at + SNIPPET_WORDS)
        first_hit = next((i for i in window if hits[i]), best_at)
        first = max(0, min(first_hit - 3, len(spans) - SNIPPET_WORDS))
        last = first + SNIPPET_WORDS
    begin = spans[first][0] if first else 0
    end = len(text) if last == len(spans) else spans[last - 1][1]
    out, cursor = ["…" if begin else ""], begin
    for i in range(first, last):
        if hits[i]:
            start, stop = spans[i]
            out += [
                html.escape(text[cursor:start]),
                f"<mark>{html.escape(text[start:stop])}</mark>",
            ]
            cursor = stop
    return "".join([*out, html.escape(text[cursor:end]), "…" if end < len(text) else ""])


FILLER = ["the", "model", "is", "trained", "on", "data", "and", "we", "report", "results"]


def test_the_passage_is_the_window_with_most_matches_begun_before_its_first():
    words = [FILLER[i % len(FILLER)] for i in range(120)]
    words[10] = "graph"  # one match early
    for at in (70, 75, 80):  # three later, within one window
        words[at] = "graphs"
    text = " ".join(words) + "."
    cut = snippet(text, parse_query("graph "))
    assert cut == reference(text, parse_query("graph "))
    assert cut.startswith("…" + " ".join(words[67:70]) + " <mark>graphs</mark>")
    assert cut.count("<mark>") == 3
    assert cut.endswith(" ".join(words[96 - 3 : 97]) + "…")


def test_of_equal_windows_the_first_is_shown():
    words = [FILLER[i % len(FILLER)] for i in range(200)]
    words[40], words[150] = "Ternary", "ternary"
    text = " ".join(words)
    cut = snippet(text, parse_query("tern"))
    assert cut == reference(text, parse_query("tern"))
    assert (
        cut
        == "…" + " ".join(words[37:40]) + " <mark>Ternary</mark> " + " ".join(words[41:67]) + "…"
    )


def test_a_short_text_is_shown_whole_and_escaped():
    text = 'Graph <nets> & "graphs"'
    assert snippet(text, parse_query("graph ")) == (
        "<mark>Graph</mark> &lt;nets&gt; &amp; &quot;<mark>graphs</mark>&quot;"
    )
    assert snippet("-- !", parse_query("graph")) == "-- !"


TEXT_CHARACTERS = st.sampled_from(
    [
        *"abcdefgXYZ019",
        " ",
        " ",
        " ",
        ".",
        ",",
        "_",
        "-",
        "<",
        "&",
        "'",
        "é",
        "É",
        "ß",
        "ﬁ",
        "İ",
        "\u0301",
        "日",
    ]
)
VOCABULARY = ["graph", "graphs", "network", "nets", "ternary", "é", "ﬁne", "stra", "ß", "ab", "x1"]


@settings(max_examples=400, deadline=None)
@given(
    words=st.lists(
        st.one_of(st.sampled_from(VOCABULARY), st.text(TEXT_CHARACTERS, min_size=1, max_size=8)),
        max_size=90,
    ),
    separators=st.lists(
        st.sampled_from([" ", ", ", " - ", "_", "  ", " <&> "]), min_size=90, max_size=90
    ),
    query=st.lists(
        st.sampled_from([*VOCABULARY, "Graph", "NET", "fine", "strasse"]), min_size=1, max_size=4
    ),
    trailing_space=st.booleans(),
)
@example(words=["ﬁne"] * 40, separators=[" "] * 90, query=["fine"], trailing_space=True)
@example(words=["a"] * 31, separators=["_"] * 90, query=["a"], trailing_space=False)
def test_any_text_gives_the_reference_passage(words, separators, query, trailing_space):
    text = "".join(word + separator for word, separator in zip(words, separators, strict=False))
    try:
        parsed = parse_query(" ".join(query) + (" " if trailing_space else ""))
    except QueryError:
        return
    assert snippet(text, parsed) == reference(text, parsed)
