"""The text of sanitized markup and the removal of control characters in C (``_markup.c``)
give exactly what their Python references give.

Every published teaser and every story feature starts from these texts: if the C code read
one tag, entity or space differently, items would read differently in the feeds, and
fingerprints would change. So both are compared on what nh3 writes for the bench corpus's
and the fixtures' kind of teaser, on tricky hand-made fragments, and on seeded random
fragments built from the characters the patterns care about.
"""

from __future__ import annotations

import random

import pytest

from revier_feed import normalize
from revier_feed.normalize import (
    sanitize_html,
    sanitized_text,
    sanitized_text_python,
    strip_control,
    strip_control_python,
)

#: Fragments where a tag, a boundary, a reference or a space is easy to read wrongly.
TRICKY = [
    "",
    "plain",
    "<p>Ländliche Räume</p><p>Zweite&nbsp;Studie</p>",
    "a<br>b<BR/>c<Br >d",
    "x<li>y</LI>z<lİ>w<lı>v",  # the re module's IGNORECASE: "i" matches U+0130 and U+0131
    "<blocKquote>q</blocKquote><blockquote>k</blockquote>",  # U+212A is "k" too
    "<pre>kein Block</pre><link>auch nicht</link><h7>nicht</h7><h3>doch</h3>",
    '<a href="x>y" title="<p>">Link</a> danach',
    '<a title="unclosed>text after',
    "a < b und c > d",
    "3 <4 und 5> 2",
    "<<p>>doppelt",
    "&amp;&lt;&gt;&quot;&nbsp;&#39;",
    "AT&amp;T &amp; Co",
    "& allein, &; &&amp; &#x; &#q; &# ",
    "&am<b>p;",  # a reference across a removed tag is decoded, as in the reference
    "  viel   \t\n Raum \u00a0 und\u2003Geviert  ",
    "<td>1</td><td>2</td><tr><th>3</th></tr>",
    "<div/>a<div\n>b</div >c",
    "<p\u00e4>kein Name</p>",
    "Zeilen\x1cTrenner\x1d\x1e\x1fund\x85NEL",
    "😀<p>Emoji</p>中文",
]

#: Fragments with a reference the C code leaves to Python (it returns None for them).
LEFT_TO_PYTHON = ["&copy; 2021", "&#8211; Strich", "&#x2013;", "&auml;", "&ampfoo;", "&lt"]


def test_extension_is_built() -> None:
    # Without it every teaser is read by three regular expressions, seconds slower a first
    # cycle.
    assert normalize.NATIVE_MARKUP, "revier_feed._markup was not built: is a C compiler there?"


@pytest.mark.parametrize("fragment", TRICKY)
def test_tricky_fragments(fragment: str) -> None:
    assert sanitized_text(fragment) == sanitized_text_python(fragment)


@pytest.mark.parametrize("fragment", LEFT_TO_PYTHON)
def test_other_references_are_decoded_as_in_python(fragment: str) -> None:
    from revier_feed import _markup

    assert _markup.markup_text(fragment) is None
    assert sanitized_text(fragment) == sanitized_text_python(fragment)


def test_examples() -> None:
    assert sanitized_text("<p>Ländliche&nbsp;Räume</p><p>im   Wandel</p>") == (
        "Ländliche Räume im Wandel"
    )
    assert sanitized_text("a<br>b") == "a b"
    assert sanitized_text("a<b>b</b>") == "ab"


def test_what_nh3_writes() -> None:
    # The fragments sanitized_text really reads: nh3's output for hostile and ordinary input.
    rng = random.Random(7)
    pieces = [
        "<p>",
        "</p>",
        "<br>",
        "<script>alert(1)</script>",
        '<a href="/pfad?a=1&b=2" onclick="x()">',
        "</a>",
        "<img src=x width=1 height=1>",
        "&",
        "<",
        ">",
        '"',
        "&copy;",
        "\u00a0",
        "Ländliche Räume ",
        "Studie",
        "\x01",
        "<!-- c -->",
        "<table><tr><td>1</td></tr></table>",
        "<ul><li>a</li><li>b</li></ul>",
    ]
    for _ in range(2000):
        raw = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 25)))
        cleaned = sanitize_html(raw, base_url="https://example.org/a/")
        assert sanitized_text(cleaned) == sanitized_text_python(cleaned), raw


@pytest.mark.parametrize("seed", range(4))
def test_random_fragments(seed: int) -> None:
    rng = random.Random(seed)
    letters = [
        *"<>/\"'&;#x pPdivbrlhHtdqkKİı1236_-aäß\t\n\u00a0\u2003\x1f\u212a😀",
        "&amp;",
        "&lt;",
        "&nbsp;",
        "&#39;",
        "<p>",
        "</li>",
        "<br/>",
    ]
    for _ in range(5000):
        fragment = "".join(rng.choice(letters) for _ in range(rng.randint(0, 40)))
        assert sanitized_text(fragment) == sanitized_text_python(fragment), fragment


@pytest.mark.parametrize("code", [*range(0x21), 0x7F, 0x80, 0x85, 0xA0, 0xFFFD, 0xFFFE, 0xFFFF])
def test_control_characters(code: int) -> None:
    c = chr(code)
    for text in (c, f"a{c}b", f"{c}{c}Ä{c}", f"中{c}😀"):
        assert strip_control(text) == strip_control_python(text)


def test_control_free_text_is_returned_as_is() -> None:
    text = "Ländliche Räume\tim Wandel\n"
    assert strip_control(text) is text
    assert strip_control("a\x00b\x7fc\ufffe") == "abc"


@pytest.mark.parametrize("code", [0x00, 0x7F, 0x80, 0x85, 0x9F, 0xA0, 0xE4, 0x100, 0x2013])
def test_c1_controls_as_the_feed_reader_sees_them(code: int) -> None:
    # The feed reader maps C1 controls to windows-1252 (as feedparser does) where it finds
    # one; the C test must find exactly where the pattern finds.
    from revier_feed import _markup
    from revier_feed.parse.encoding import has_c1_python

    for text in (chr(code), f"Ländliche{chr(code)}Räume", f"„Studie“ – {chr(code)}", ""):
        assert _markup.has_c1(text) is has_c1_python(text)


_AROUND_BIDI = [0x7F, 0x80, 0x9F, 0xA0, 0x61B, 0x61C, 0x200D, 0x200E, 0x200F, 0x2029]
_AROUND_BIDI += [0x202A, 0x202E, 0x202F, 0x2065, 0x2066, 0x2069, 0x206A, 0x1F600]


@pytest.mark.parametrize("code", _AROUND_BIDI)
def test_the_controls_that_reorder_text_as_titles_and_teasers_lose_them(code: int) -> None:
    from revier_feed import _markup
    from revier_feed._utils import has_bidi_python

    for text in (chr(code), f"Ländliche{chr(code)}Räume", f"„Studie“ – {chr(code)}", ""):
        assert _markup.has_bidi(text) is has_bidi_python(text)


def test_not_a_str_is_an_error() -> None:
    from revier_feed import _markup

    with pytest.raises(TypeError):
        _markup.markup_text(b"<p>")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _markup.strip_control(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "Viel Spa\u07e0beim Fest",  # "ß" and a no-break space read again as UTF-8
        "\u07e0Spa",
        "Spa\u07e0",
        "\u07e0",
        "Spaß beim Fest",
        "„Studie“ – Ländliche Räume",
        "عروض الـiPhone الجديدة",  # a word of two such letters: real text
        "x\u0500\u0501",
        "1\u0500 2",  # beside digits only
        "\u00d7\u0500",  # "×" is in the Latin range the pattern names
        "\u0250\u0500",  # just past it
        "\u04ff" + "a",  # just below the scripts
        "a\u0800",  # just above them
        "",
    ],
)
def test_a_false_repair_is_found_where_the_patterns_find_it(text: str) -> None:
    # The feed reader gives a text back as the feed had it where the parser's UTF-8 repair
    # left such a letter beside a Latin one; the C scan must decide exactly as the patterns.
    from revier_feed import _markup
    from revier_feed.parse.feed import mixed_scripts_python

    assert _markup.mixed_scripts(text) is mixed_scripts_python(text)
    assert _markup.mixed_scripts(text + " Straße") is mixed_scripts_python(text + " Straße")
