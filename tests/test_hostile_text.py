"""Every stage that reads an item's text, on text made to break it.

A teaser with "500 m ² Juni" once stopped every story placement: "²" is a digit to
``str.isdigit()`` that ``int()`` cannot read. These seeded random items mix such digits,
other scripts' digits, combining marks, controls, bidi overrides, character references
beyond Unicode and markup with month names, dates, place names and German punctuation.
Normalizing, tagging, the story features and the date reader must take every one of them
without an error, and the story features in C must equal the Python reference's.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from revier_feed import normalize
from revier_feed.config import load_config
from revier_feed.models import RawItem, SourceKind, SourceSpec
from revier_feed.parse.dates import parse_date
from revier_feed.stories.batch import source_features_native, source_features_python
from revier_feed.story_work import story_texts
from revier_feed.tag import Tagger

from .conftest import write_config

NOW = datetime(2021, 6, 10, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
SPEC = SourceSpec(
    id="k",
    name="K",
    kind=SourceKind.FEED,
    url="https://k.example/feed",
    interval=timedelta(hours=1),
)
PIECES = (
    # Digits int() does not read, and digits of other scripts that it does.
    *("²", "³", "¹", "⁰", "²⁰²¹", "٣", "١٢", "１０", "Ⅻ", "𝟗", "᠐", "꧑", "𑁧"),
    # Letters that change length or case oddly when folded.
    *("ß", "ẞ", "İ", "ı", "ﬁ", "ǅ", "ǰ", "ŉ", "Σ", "ς", "\u0345", "K", "Å", "Ω"),
    # Marks, invisible and control characters, and what must never reach the output.
    *("\u0301", "\u200b", "\u202e", "\ufeff", "\x00", "\x01", "\x85", "\u2028", "\U0001f600"),
    *("&#0;", "&#x110000;", "&#xD800;", "&#1114111;", "&", "<", "]]>", "%00", "\\", "'", '"'),
    *("<p>", "</p>", "<br>", "<script>x</script>", "<img src=x onerror=1>"),
    "<a href='javascript:alert(1)'>x</a>",
    # What the date, event and place readers look for.
    *("Juni", "juni", "Mai", "März", "Maerz", "31.", "0.", "1.", "2021", "20210", "9999"),
    *("am", "bis", "vor", "Tagen", "heute", "gestern", "Zeitz", "Borna", "Landkreis Leipzig"),
    *("-", "–", "„", "“", "…", "€", " ", "\t", "\n"),
)


def hostile(rng: random.Random, pieces: int) -> str:
    return "".join(rng.choice(PIECES) + rng.choice(("", " ", ". ", ", ")) for _ in range(pieces))


def hostile_item(rng: random.Random) -> RawItem:
    return RawItem(
        title=hostile(rng, rng.randint(0, 12)),
        link=rng.choice(
            (
                None,
                "https://k.example/" + hostile(rng, 2),
                "https://Ä.example/a?utm_source=" + hostile(rng, 1),
                "javascript:alert(1)",
                hostile(rng, 3),
            )
        ),
        guid=rng.choice((None, hostile(rng, 2))),
        summary_html=hostile(rng, rng.randint(0, 200)),
        content_html=rng.choice(("", hostile(rng, 300))),
        author=rng.choice((None, hostile(rng, 2))),
        published=rng.choice((None, NOW - timedelta(days=rng.randint(0, 400)))),
        categories=tuple(hostile(rng, 1) for _ in range(rng.randint(0, 3))),
    )


@pytest.fixture(scope="module")
def region_tagger(tmp_path_factory: pytest.TempPathFactory) -> Tagger:
    config = load_config(write_config(Path(tmp_path_factory.mktemp("c")), "sources: []\n"))
    return Tagger(config.tags, config.districts)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_hostile_text_passes_every_stage_and_c_agrees_with_python(
    region_tagger: Tagger, seed: int
) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        items = [
            region_tagger.tag(normalize.normalize(hostile_item(rng), SPEC, NOW), SPEC)
            for _ in range(rng.randint(1, 8))
        ]
        texts = story_texts(items)
        assert source_features_native(texts, frozenset(), []) == source_features_python(
            texts, frozenset(), []
        )
        for _ in range(5):
            parse_date(hostile(rng, rng.randint(1, 6)), NOW, BERLIN)
