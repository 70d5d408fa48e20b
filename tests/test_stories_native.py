"""The story stage's C extension gives exactly what its Python reference gives.

Placement compares new items by packed shingles, marks and keyword strings: if the C
extension (stories/_textcore.c) read one word differently, an item would silently land in
another story than the Python rules say. So every output is compared byte for byte with
:func:`revier_feed.stories.batch.source_features_python`, on texts chosen for the rules'
edges and on a seeded random corpus of German-looking news with markup, umlauts, foreign
letters, digits and stray angle brackets.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import pickle
import random
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from revier_feed import stories
from revier_feed.app import App
from revier_feed.config import AppConfig, load_config
from revier_feed.demo import SampleRegion
from revier_feed.models import StoryText
from revier_feed.stories import (
    MAX_CANDIDATES,
    NATIVE,
    MarkIndex,
    _textcore,
    batch,
    mark_index,
    pack,
    phase,
)
from revier_feed.stories.native import FEATURIZER
from revier_feed.stories.text import KEYWORD_WORDS, MAX_WORDS

from .conftest import Clock, prepare_test_demo


def test_extension_is_built() -> None:
    # An install without the extension is slower by seconds a cycle, and the benchmarks
    # would measure the wrong code: the tests fail rather than skip. scripts/setup builds it
    # with the system's C compiler (gcc and the Python headers).
    assert NATIVE, "revier_feed.stories._textcore was not built: is a C compiler installed?"


def text(n: int = 0, **fields: object) -> StoryText:
    defaults: dict[str, object] = {
        "id": n,
        "source_id": "kreis",
        "url": f"https://www.kreis.example/news/{n}/",
        "title": "Titel",
        "summary_text": "",
        "content_html": "",
        "published_at": datetime(2021, 6, 10, 12, tzinfo=UTC),
        "districts": frozenset({"burgenlandkreis"}),
    }
    return StoryText(**{**defaults, **fields})  # type: ignore[arg-type]


def assert_same(
    items: list[StoryText], known: frozenset[int] = frozenset(), recent: list[bytes] | None = None
) -> None:
    expected = batch.source_features_python(items, known, recent or [])
    actual = batch.source_features_native(items, known, recent or [])
    assert actual[0] == expected[0], "boilerplate differs"
    for item, want, got in zip(items, expected[1], actual[1], strict=True):
        assert got == want, f"item {item.id}: {item.title[:40]!r}"


def words(n: int, stem: str = "wort") -> str:
    return " ".join(f"{stem}{i}" for i in range(n))


@pytest.mark.parametrize(
    ("title", "summary", "content"),
    [
        ("", "", ""),
        ("Eins", "", ""),
        ("Zwei Worte", "", ""),
        ("Drei kleine Worte", "", ""),
        ("Zwei Worte", "", "<p>und ein Körper</p>"),
        # Lead longer than the opening, and longer than all words that count.
        (words(100), words(100, "teaser"), "<p>" + words(50, "body") + "</p>"),
        (words(300), words(200, "teaser"), "<p>" + words(50, "body") + "</p>"),
        ("Kurz", "", "<p>" + words(900, "lang") + "</p>"),
        # Thousands of lead keywords (a 40,000-character title): sorted another way in C.
        (" ".join(f"w{i * 7919 % 5000}ort" for i in range(5000)), words(2000, "t"), ""),
        # Markup: tags, comments, attributes with text, a "<" that never closes.
        ("Titel", "", '<a href="x y z">Verlinkter Text</a> <!-- kommentiert --> danach'),
        ("Titel", "", "vorher 3 < 5 und 7 > 2 nachher"),
        ("Titel", "", "Text <ohne Ende und noch mehr Worte hier"),
        ("Titel", "", "a<b>c</b>d<<e>>f<"),
        # Folding and letters: umlauts, ß, capitals, foreign scripts, digits, underscores.
        ("Ländliche RÄUME in Sachsen-Anhalt", "Straße, Größe, Fußgänger", "ÄÖÜ äöü ß ẞ"),
        ("Café résumé naïve", "Ελληνικά Κείμενα και λέξεις", "日本語のテキスト 中文 한국어"),
        ("Preis 2021 für ΑΒΓ_δεζ", "snake_case und CamelCase und x2y", "10.06.2021 um 14:30 Uhr"),
        ("Emoji 🎉 trennt🎉Worte", "Zeichen\u0301 kombiniert", "Tab\tund\nZeilen\r\numbruch"),
        # Stemming: stop words, short words, suffixes at the length limit.
        ("Die und der das ist ab zu im", "Studie Studien Räume Räumen Partner Partnern", ""),
        ("Sitzungen Kundinnen Wandern Lehrer Hauses Hause Buben Autos", "ungen innen erne", ""),
        # Event dates (the phase rule reads the opening's words).
        ("Vortrag am 25. August", "Anmeldung bis 1. Juli 2021", "Termin: June 30 in Halle"),
    ],
)
def test_edge_texts(title: str, summary: str, content: str) -> None:
    assert_same([text(1, title=title, summary_text=summary, content_html=content)])


def test_no_url() -> None:
    assert_same([text(1, url=None, title="Ohne Adresse"), text(2, url="", title="Leer")])


def test_boilerplate_learned_known_and_recent() -> None:
    footer = "Pressekontakt Landratsamt Burgenlandkreis Schönburger Straße 41 Naumburg"
    items = [
        text(i, title=f"Meldung {i} über {words(5, f't{i}')}", summary_text=f"{footer} {i}")
        for i in range(6)
    ]
    # Learned from the batch (the footer recurs in every item).
    assert_same(items)
    # Known from earlier cycles, and recurring with recent items of the source.
    known = frozenset(batch.source_features_python(items, frozenset(), [])[0])
    assert known, "the footer should be boilerplate"
    assert_same(items[:2], known=known)
    recent = [f.shingles for f in batch.source_features_python(items, frozenset(), [])[1]]
    assert_same(items[:1], recent=recent[:3])


def test_copies_of_one_text_are_no_boilerplate() -> None:
    """A feed whose guids change at every fetch stored each item again; the copies' text
    became the source's boilerplate, and every later copy opened a story of its own."""
    item = text(1, title="Altenburg: Skatbrunnen wird saniert", summary_text=words(30, "s"))
    copies = [dataclasses.replace(item, id=n) for n in range(2, 7)]
    others = [
        text(n, title=f"Andere Meldung {n}", summary_text=words(30, f"o{n}")) for n in (8, 9)
    ]
    assert_same(copies)
    assert_same(copies + others)
    python = batch.source_features_python(copies, frozenset(), [])
    assert python[0] == frozenset()
    # Stored copies (the source's recent items) count once too, in both paths.
    recent = [f.shingles for f in python[1]] * 4
    assert batch.source_features_python(copies[:1] + others, frozenset(), recent)[0] == frozenset()
    assert_same(copies[:1] + others, recent=recent)
    assert_same(copies[:3], recent=recent)


def random_corpus(seed: int, count: int) -> list[StoryText]:
    """German-looking news with markup and the odd foreign letter (deterministic)."""
    rng = random.Random(seed)
    syllables = ["ber", "lin", "ä", "ö", "ü", "ß", "stadt", "kreis", "ung", "en", "er", "ie"]
    syllables += ["zeitz", "naum", "burg", "é", "ø", "ı", "ǅ", "ﬁ", "2021", "_", "ΣΑ", "ς"]
    stop = ["der", "die", "und", "im", "am", "zu", "August", "Juni", "25.", "3."]

    def word() -> str:
        if rng.random() < 0.2:
            return rng.choice(stop)
        w = "".join(rng.choice(syllables) for _ in range(rng.randint(1, 4)))
        return w.capitalize() if rng.random() < 0.3 else w

    def sentence(n: int) -> str:
        parts = [word() for _ in range(n)]
        for i in range(len(parts)):
            r = rng.random()
            if r < 0.05:
                parts[i] = f"<b>{parts[i]}</b>"
            elif r < 0.07:
                parts[i] = f'<a href="/x?{word()}={word()}">{parts[i]}'
            elif r < 0.08:
                parts[i] += rng.choice([" <", " >", "<<", " &amp; ", "«»", "—"])
        return " ".join(parts) + rng.choice([".", "!", "?", ","])

    shared = [sentence(12) for _ in range(5)]  # recurring sentences: boilerplate, copies
    items = []
    for n in range(count):
        body = " ".join(
            rng.choice(shared) if rng.random() < 0.2 else sentence(rng.randint(3, 30))
            for _ in range(rng.randint(0, 40))
        )
        items.append(
            text(
                n,
                url=None if rng.random() < 0.1 else f"https://www.example.org/n/{n}?utm=x#f",
                title=sentence(rng.randint(0, 14)),
                summary_text=sentence(rng.randint(0, 80)) if rng.random() < 0.8 else "",
                content_html=f"<div><p>{body}</p></div>" if rng.random() < 0.7 else "",
                published_at=datetime(2021, 6, 1, tzinfo=UTC) + timedelta(hours=n),
            )
        )
    return items


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_corpus(seed: int) -> None:
    corpus = random_corpus(seed, 300)
    # In batches as sources deliver them: some too small to learn boilerplate from.
    for start, size in [(0, 1), (1, 2), (3, 30), (33, 67), (100, 200)]:
        assert_same(corpus[start : start + size])
    # The corpus reaches the rules' limits: bodies past the words that count, teasers
    # that fill much of the opening.
    assert any(len(t.content_html.split()) > MAX_WORDS for t in corpus)
    assert max(len(t.summary_text.split()) for t in corpus) > KEYWORD_WORDS // 2


def test_keyword_counts_count_what_python_counts() -> None:
    rng = random.Random(3)
    vocabulary = ["aach", "burg", "zeitz", "ärger", "éclair", "z", "ab", "abc", "ΣΑς", "😀"]
    start = {"aach": 3, "ärger": 1}
    reference = stories.KeywordCounts(start)
    native = stories.keyword_counts(start, native=True)
    assert type(native) is not stories.KeywordCounts
    for step in range(2000):
        words = rng.sample(vocabulary, rng.randint(0, 5))
        keywords = " ".join(words) if rng.random() < 0.8 else "  ".join(words) + " "
        reference.add(keywords)
        native.add(keywords)
        probe = rng.choice([*vocabulary, "nie", ""])
        assert native.get(probe) == reference.get(probe)
        assert native.get(probe, -1) == reference.get(probe, -1)
        assert len(native) == len(reference)
        if step % 300 == 0:
            assert native.take_changed() == reference.take_changed()
        if step == 1000:  # the finder process gets the counts pickled
            native = pickle.loads(pickle.dumps(native))
    assert native.take_changed() == reference.take_changed() != {}
    assert native.take_changed() == {}
    assert native.get("aach") > 3
    for empty in (stories.keyword_counts({}, native=True), _textcore.KeywordCounts(None)):
        assert len(empty) == 0 and empty.get("aach") == 0


def placed_index(rng: random.Random, count: int) -> tuple[stories.StoryIndex, list[int]]:
    """An index of ``count`` items that repeat each other in part: copies, excerpts and
    rewordings, some announcing events, from a few districts; keywords counted. With it,
    each item's group: the items repeating one original."""
    vocabulary = [f"{stem}{n}" for stem in ("ärger", "zeitz", "burg", "éclair") for n in range(40)]
    index = stories.StoryIndex(timedelta(days=14), stories.KeywordStats({}, 0))
    districts = [frozenset(), frozenset({"a"}), frozenset({"b"}), frozenset({"a", "b"})]
    originals: list[tuple[set[int], set[str]]] = []
    groups = []
    for n in range(count):
        if originals and rng.random() < 0.7:  # a republication: part of an earlier item
            group = rng.randrange(len(originals))
            shingles, keywords = originals[group]
            keep = rng.random()
            shingles = {s for s in shingles if rng.random() < keep} | {
                rng.randrange(1 << 32) for _ in range(rng.randint(0, 30))
            }
            if rng.random() < 0.3:  # reworded: copied text alone may decide
                keywords = set(rng.sample(vocabulary, rng.randint(0, 20)))
            else:
                keywords = {k for k in keywords if rng.random() < keep + 0.2} | set(
                    rng.sample(vocabulary, rng.randint(0, 10))
                )
        else:
            # Short items too: a few shingles, at the rule's minimum and around it.
            size = rng.choice([rng.randint(0, 12), rng.randint(0, 60)])
            shingles = {rng.randrange(1 << 32) for _ in range(size)}
            keywords = set(rng.sample(vocabulary, rng.randint(0, 40)))
            group = len(originals)
            originals.append((shingles, keywords))
        groups.append(group)
        day = 18_800 + rng.randrange(10)
        upcoming = tuple(sorted({day + rng.randint(-3, 12) for _ in range(rng.choice([0, 0, 2]))}))
        index.add(
            n,
            n,
            day * 86400.0,
            pack(shingles),
            " ".join(sorted(keywords)),
            rng.choice(districts),
            b"",
            upcoming,
        )
        index.stats.add(" ".join(sorted(keywords)))
    return index, groups


def test_comparing_candidates_gives_what_python_gives() -> None:
    # Every new item is compared with the items of its group and a few others: the
    # decision's every branch (same URL, announcement and report, districts apart, copied
    # text, keywords), on weights that change as keywords are counted.
    rng = random.Random(5)
    index, groups = placed_index(rng, 1500)
    items = index._items
    results = []
    for n, entry in enumerate(items):
        new = stories.PackedFeatures(
            shingles=entry.shingles,
            sampled=b"",
            marks=b"",
            keywords=entry.keywords,
            lead="",
            url_mark=None,
            districts=entry.districts,
            published=entry.day,
            upcoming=entry.upcoming,
        )
        slots = [s for s in range(n) if groups[s] == groups[n]][-20:]
        slots += rng.sample(range(n), min(n, 5))
        found = [(slot, rng.random() < 0.05) for slot in slots]
        best = stories.best_candidate(items, found, new, index.stats, native=True)
        assert best == stories.best_candidate(items, found, new, index.stats, native=False)
        results.append(best)
    # Both outcomes, and scores between 0 and 1 (not only same-URL matches scoring 1).
    assert sum(r is None for r in results) > 100
    assert sum(r is not None and r[1] < 1.0 for r in results) > 100


def test_lookup_marks_are_what_python_chooses() -> None:
    # Lead keywords counted in few items, in many, and never, more of them than are looked
    # up (the rarest win, uncounted ones last, ties by keyword), and a URL whose mark is
    # also one of the item's marks.
    rng = random.Random(9)
    vocabulary = [f"{stem}{n}" for stem in ("ärger", "zeitz", "burg", "ΣΑς") for n in range(30)]
    counts = {word: rng.choice([0, 1, 2, 3, 5, 6, 40]) for word in vocabulary}
    native_stats = stories.KeywordStats({k: n for k, n in counts.items() if n}, 300, native=True)
    python_stats = stories.KeywordStats({k: n for k, n in counts.items() if n}, 300, native=False)
    marks = stories.mark_index(60.0)
    differing_sizes = 0
    for _ in range(500):
        lead = sorted(rng.sample(vocabulary, rng.randint(0, 30)))
        sampled = sorted(rng.sample(range(1 << 32), rng.randint(0, 20)))
        url = rng.choice([None, 7, *sampled[:1]])
        new = stories.PackedFeatures(
            b"", pack(sampled), b"", "", " ".join(lead), url, frozenset(), 0, ()
        )
        native = stories.unpack_ints(stories.native_query_marks(new, native_stats))
        expected = new.query_marks(python_stats.counts, python_stats.total)
        assert list(native) == sorted(expected)
        differing_sizes += len(expected) < len(sampled) + len(lead)
        assert stories.candidates_of(marks, new, 0.0, native_stats, native=True) == []
        counted = " ".join(rng.sample(vocabulary, 5))
        native_stats.add(counted)
        python_stats.add(counted)
    assert differing_sizes > 100  # the rules left keywords out, often


def python_dates(words: bytes) -> list[tuple[int, int, int | None]]:
    """phase.mentions of an item's opening, as batch.py reads it in Python."""
    return phase.mentions(
        words.decode().split(" ", KEYWORD_WORDS)[:KEYWORD_WORDS] if words else []
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "juni",
        "8 juni",
        "juni 8",
        "juni 8 2021",
        "8 juni 2021",
        "am 31 juni und 0 juli 00 august 07 mai 32 maerz",
        "8 juni 1900 9 juli 1901 10 mai 2199 11 mai 2200 12 mai 02021 13 mai 999",
        "sept 3 sep 4 september 5 oct 6 okt 7 dez 8 dec 9 jaenner 10",
        "juni juni 8 juni 9",
        "junis 8 jun 9 ju 10 juniper 11",
        "8  juni  2021",  # empty words, as str.split(" ") gives them
        " 8 juni",
        "8 juni ",
        "zwei worte " * 80 + "8 juni",  # past the opening
        "zwei worte " * 74 + "8 juni 2021",  # at its end: the year is the 151st word
        # Dates in numbers (session 22): with a year, or after a word that introduces one.
        "am dienstag 24 11 2026 laedt der landkreis",
        "anmeldung bis 20 11 unter 10 12 uhr",
        "am 24 11 26 in borna",
        "di 24 11 im kulturhaus",
        "vom 20 11 bis 15 1",
        "telefon 0341 24 11 20",
        "am 32 11 am 24 13 am 0 5 am 24 11 2199 am 24 11 2200",
        "zwei worte " * 74 + "am 24 11",  # the month is the 151st word
        "vom 20 november bis 15 januar ab 20 11 von 3 mai vom 20 11 bis 15 1 2027",
        "vom november 20",  # the English order: the day after the month
        "ab freitag 20 11 ab dem 20 november ab di 3 mai dem 4 mai",
        "am mittwoch 25 08 18 uhr am 25 08 19 30 uhr am 24 11 26 in am 24 11 26",
        "mo fr 8 12 und 13 16 uhr di 9 12 und 14 18 uhr version 2 1 und 3 12 zum 2 1",
    ],
)
def test_event_dates_are_read_as_python_reads_them(text: str) -> None:
    featurizer = FEATURIZER
    assert featurizer is not None
    words_ = text.encode()
    assert featurizer.dates(words_) == python_dates(words_)


def test_event_dates_beside_other_scripts_digits_are_left_to_python() -> None:
    featurizer = FEATURIZER
    assert featurizer is not None
    # int() reads "٣" as 3 (and "²" not at all): phase.py decides those.
    for text in ["٣ juni", "juni ٣", "8 juni ٢٠٢١", "² juni", "juni ²", "1 juni ²⁰²¹"]:
        assert featurizer.dates(text.encode()) is None, text
    # Other words may be anything, and so may words too long to be a day or a year.
    assert featurizer.dates("schön ٣ am 8 juni 2021 ²".encode()) == [(6, 8, 2021)]
    assert featurizer.dates("schön juni 8 für".encode()) == [(6, 8, None)]
    assert featurizer.dates("8 juni über".encode()) is None  # four letters, like a year


def test_event_dates_of_random_words_are_read_as_python_reads_them() -> None:
    featurizer = FEATURIZER
    assert featurizer is not None
    rng = random.Random(7)
    vocabulary = [*phase.MONTHS, "juniper", "ma", "", "am", "der", "2021", "1999", "2200"]
    vocabulary += [str(n) for n in range(40)] + ["07", "000", "12345", "schön", "٣", "²"]
    vocabulary += ["bis", "di", "uhr", "und", "26", "٢٦", "vom", "ab", "dem", "freitag", "١٢"]
    in_python = 0
    for _ in range(3000):
        words_ = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 200))).encode()
        found = featurizer.dates(words_)
        if found is None:
            in_python += 1
            assert any(w.encode() in words_ for w in ("٣", "²", "٢٦", "١٢"))
        else:
            assert found == python_dates(words_)
    assert 0 < in_python < 3000


def test_bad_input_is_an_error_not_a_crash() -> None:
    featurizer = FEATURIZER
    assert featurizer is not None
    words_, lead, hashes = featurizer.tokenize("eins zwei drei vier", "")
    with pytest.raises(ValueError, match="lead_count"):
        featurizer.features(words_, lead + 1, hashes, b"", None)
    with pytest.raises(ValueError, match="multiple of 4"):
        featurizer.features(words_, lead, hashes[:-1], b"", None)
    with pytest.raises(OverflowError):
        featurizer.features(words_, lead, hashes, b"", 1 << 40)
    with pytest.raises(ValueError, match="without spaces"):
        stories.keyword_counts({"zwei worte": 1}, native=True)
    with pytest.raises(ValueError, match="without spaces"):
        stories.keyword_counts({"wort": -1}, native=True)
    with pytest.raises(UnicodeDecodeError):  # not UTF-8: an error, whatever else fails
        featurizer.features(b"\xff\xfe\xfd\xfc", 1, b"", b"", None)
    with pytest.raises(TypeError):
        featurizer.dates("8 juni")  # type: ignore[arg-type]
    index, _ = placed_index(random.Random(1), 3)
    new = stories.PackedFeatures(b"", b"", b"", "aach", "", None, frozenset(), 0, ())
    best = functools.partial(stories.best_candidate, index._items, new=new, stats=index.stats)
    with pytest.raises(IndexError, match="beyond"):
        best([(3, False)])
    with pytest.raises(TypeError, match="pairs"):
        best([(0, False, 1)])
    with pytest.raises(ValueError, match="multiple of 4"):
        best([(0, False)], new=new._replace(shingles=b"abc"))
    index.stats.add("aach")
    index.stats.total = 0  # more items with a keyword than were counted: no such log
    index.stats.log_table.clear()
    with pytest.raises(ValueError, match="outside the table"):
        best([(0, False)])
    python_counts = stories.KeywordStats({}, 0, native=False)
    with pytest.raises(TypeError, match="keyword counts in C"):
        stories.best_candidate(index._items, [(0, False)], new, python_counts, native=True)
    with pytest.raises(TypeError, match="keyword counts in C"):
        stories.native_query_marks(new, python_counts)
    with pytest.raises(ValueError, match="multiple of 4"):
        stories.native_query_marks(new._replace(sampled=b"abcde"), index.stats)


def test_objects_whose_init_failed_refuse_to_work() -> None:
    # A rejected parameter must not leave a half-made object that reads out of bounds.
    rules = {
        "stop_words": [],
        "suffixes": ["en"],
        "min_word": 3,
        "min_stem": 4,
        "shingle": 3,
        "max_words": 400,
        "keyword_words": 150,
        "sample_mod": 4,
    }
    for bad in [
        {"keyword_words": -5},
        {"suffixes": [""]},
        {"suffixes": ["ä"]},
        {"shingle": 0},
        {"months": {"juni": 13}},
        {"months": {"jüni": 6}},
        {"months": {"": 6}},
    ]:
        featurizer = _textcore.Featurizer.__new__(_textcore.Featurizer)
        with pytest.raises(ValueError):
            featurizer.__init__(**{**rules, **bad})  # type: ignore[misc]
        with pytest.raises(TypeError, match="not called"):
            featurizer.tokenize("alpha beta gamma delta", "")
    marks = _textcore.MarkIndex.__new__(_textcore.MarkIndex)
    with pytest.raises(ValueError):
        marks.__init__(60.0, 50, 2, -3)  # type: ignore[misc]
    with pytest.raises(TypeError, match="not called"):
        marks.find_marks([1, 2], None, 0.0)


def test_mark_index_never_finds_an_item_at_an_impossible_time() -> None:
    nan = float("nan")
    for index in (MarkIndex(60.0), mark_index(60.0)):
        index.add(1, nan, [1, 2])
        index.add(2, 0.0, [1, 2])
        assert index.find_marks([1, 2], None, nan) == []
        assert index.find_marks([1, 2], None, 30.0) == [(1, False)]


def test_a_collection_without_the_extension_says_so(
    demo_config: AppConfig,
    make_app: Callable[[AppConfig], App],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # An admin whose install found no C compiler learns why a first cycle is slow, once.
    app = make_app(demo_config)
    caplog.set_level(logging.INFO, logger="revier_feed.app")
    app.run_ingest()
    assert "C extension" not in caplog.text
    monkeypatch.setattr(stories, "NATIVE", False)
    app.run_ingest()
    app.run_ingest()
    assert caplog.text.count("the story stage, tagging and normalizing run in Python") == 1


def test_mark_index_finds_what_the_python_one_finds() -> None:
    # Marks drawn from a small range, so items share marks often, some marks are listed
    # under more than MAX_POSTINGS items, and URLs repeat; times spread past the window.
    rng = random.Random(11)
    window = 3 * 86400.0
    reference = MarkIndex(window)
    native = mark_index(window)
    assert type(native) is not MarkIndex
    results = []
    for slot in range(1500):
        published = rng.uniform(0, 30 * 86400)
        query = {rng.randrange(400) for _ in range(rng.randint(0, 40))}
        url = rng.choice([None, None, 10_000 + rng.randrange(30)])
        found = reference.find_marks(query, url, published)
        assert native.find_marks(query, url, published) == found
        results.append(found)
        marks = sorted(query | ({url} if url is not None else set()))
        item_id = rng.randrange(10**6)
        if slot % 2:
            reference.add(item_id, published, marks)
            native.add(item_id, published, marks)
        else:
            reference.add(item_id, published, pack(marks))
            native.add(item_id, published, pack(marks))
        if slot == 700:  # the finder process gets the index pickled
            native = pickle.loads(pickle.dumps(native))
    assert len(native) == len(reference) == 1500
    # The comparison covered the rules: candidates by marks, by URL, and cut off.
    assert sum(bool(r) for r in results) > 500
    assert any(same for r in results for _, same in r)
    assert any(len(r) == MAX_CANDIDATES for r in results)


def test_mark_index_refuses_bad_state() -> None:
    native = mark_index(60.0)
    with pytest.raises(ValueError, match="multiple of 4"):
        native.add(1, 0.0, b"abc")
    with pytest.raises(OverflowError):
        native.add(1, 0.0, [1 << 33])
    state = native.__reduce__()
    assert isinstance(state, tuple)
    with pytest.raises(ValueError, match="truncated"):
        restored = state[0](*state[1])
        restored.__setstate__((b"", b"", (5).to_bytes(4, "little") + (9).to_bytes(4, "little")))


_WITHOUT_EXTENSION = """
import json, random, sys
from datetime import datetime
sys.modules["revier_feed.stories._textcore"] = None  # as if no compiler had built them
sys.modules["revier_feed._words"] = None
from revier_feed import german, stories
from revier_feed.app import App
from revier_feed.config import load_config
assert not stories.NATIVE and not german.NATIVE_WORDS
config = load_config(sys.argv[1])
now = datetime.fromisoformat(sys.argv[2])
with App(config, now=lambda: now, rng=random.Random(7), processes=0) as app:
    app.run_ingest()
    found = app.storage.recent_stories([s.id for s in config.sources], 1000)
    members = [
        [[m.item.key, round(m.story_similarity or 0.0, 9)] for m in s.members] for s in found
    ]
    print(json.dumps(sorted(sorted(story) for story in members)))
"""


@pytest.mark.slow
def test_without_the_extension_a_cycle_places_the_same_stories(
    tmp_path: Path, region: SampleRegion, clock: Clock
) -> None:
    # The Python references (folding, features, the index of marks, the comparisons, the
    # keyword counts) run together in a whole cycle, in a process that cannot import the
    # extensions.
    with_c = prepare_test_demo(tmp_path / "with-c", region.base_url)
    without_c = prepare_test_demo(tmp_path / "without-c", region.base_url)
    config = load_config(with_c)
    with App(config, now=clock, rng=random.Random(7), processes=0) as app:
        app.run_ingest()
        found = app.storage.recent_stories([s.id for s in config.sources], 1000)
        members = [
            [[m.item.key, round(m.story_similarity or 0.0, 9)] for m in s.members] for s in found
        ]
        expected = sorted(sorted(story) for story in members)
    assert any(len(story) > 1 for story in expected)  # the region has republications
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTENSION, str(without_c), clock.now.isoformat()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(result.stdout) == expected
