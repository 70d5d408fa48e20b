"""What items are compared by, and when two are the same story. Pure.

Partners republish a press release with an edited title, a shortened or reordered teaser, a
local paragraph and their own URL. Two items are one story when a large share of the
*shorter* text's word 3-grams ("shingles") appears in the longer one (containment, not
Jaccard: a three-sentence excerpt of a long release is still the release).

Finding candidates is sub-linear (:mod:`.index`): every item is indexed under a fixed sample
of its shingles (those whose hash is divisible by :data:`SAMPLE_MOD`, "marks"); a new item is
only compared with items sharing at least :data:`MIN_SHARED_MARKS` marks (or its canonical
URL) within a time window. Marks shared by very many items are common phrases, not evidence.

Partners also paraphrase. The second signal is therefore the overlap of *keywords* (the
words of title, teaser and opening that are not stop words, lightly stemmed), each weighted
by its rarity in the store (IDF): "tediro", "Buhl-Wagner" or "Kooperationsorte" weigh much,
"Innovationspreis" or "Landkreis" little. Items are also indexed under the keywords of their
title and teaser, so a paraphrase finds its original too. Two prizes of one programme
announced the same day share the programme's words but not the winners' names, and stay
apart.

Boilerplate must not glue stories together: shingles that recur in many items of one source
(a project footer, "Mehr News" teasers, a press contact) are learned per source and removed
before anything is compared.
"""

from __future__ import annotations

import functools
import itertools
import re
import struct
import zlib
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..german import fold
from ..models import Item, StoryText
from . import phase

if TYPE_CHECKING:
    from .keywords import KeywordStats

#: Words per shingle.
SHINGLE = 3
#: A shingle is a mark (indexed for candidate search) when its hash is divisible by this.
SAMPLE_MOD = 4
_SAMPLE_MASK = SAMPLE_MOD - 1
assert SAMPLE_MOD & _SAMPLE_MASK == 0, "SAMPLE_MOD must be a power of two"
#: Candidates must share at least this many marks.
MIN_SHARED_MARKS = 2
#: A lead keyword is used to find candidates only if at most this share of the stored items
#: (but at least RARE_MIN of them) have it.
RARE_SHARE = 0.01
RARE_MIN = 5
#: At most this many lead keywords (the rarest that stored items have) are looked up.
RAREST_LEAD = 12


def rare_limit(total: int) -> int:
    """In how many of ``total`` counted items a lead keyword may be at most to be looked up."""
    return max(RARE_MIN, int(total * RARE_SHARE))


#: Share of the shorter text's shingles found in the other text for "same story".
CONTAINMENT = 0.5
#: Items set in different districts are one story only with a near-verbatim copy or this
#: much keyword containment (tuned on the labelled set: bench/stories_quality.py).
VERBATIM = 0.8
ACROSS_DISTRICTS = 0.45
#: Two items of one source are one story only as this close a copy (a re-post under a new
#: link): a source's own items share its templates ("Fördermittelbescheid für … übergeben",
#: "Lehrstellen der Woche") and paragraphs, and are different news.
SAME_SOURCE = 0.9
#: Texts with fewer shingles than this are too short for containment alone.
MIN_SHINGLES = 8
#: Words of the body that count; the rest of a long article adds cost, not evidence.
MAX_WORDS = 400
#: IDF-weighted share of the smaller keyword set found in the other one, for "same story".
KEYWORD_CONTAINMENT = 0.3
#: Items need at least this many keywords for the keyword signal to count.
MIN_KEYWORDS = 6
#: Keywords of the opening that count (titles and teasers carry the facts).
KEYWORD_WORDS = 150
#: A shingle in at least this share of a source's items (and in at least
#: :data:`BOILERPLATE_MIN_ITEMS` of them) is that source's boilerplate.
BOILERPLATE_SHARE = 0.3
BOILERPLATE_MIN_ITEMS = 3

#: Characters of HTML (or of a title or teaser) read at most: far more than MAX_WORDS words.
_MAX_HTML = 40_000
_WORD = re.compile(r"\w+")
_TAG = re.compile(r"<[^>]*>")


# German function words; they say nothing about which story an item tells.
STOP_WORDS = frozenset(
    """aber alle allen als also am an auch auf aus bei beim bis bisher da damit dann das dass
    dem den denen der des die dies diese diesem diesen dieser dieses doch dort durch ein
    eine einem einen einer eines er es etwa fuer gegen haben hat hatte heute ihr ihre ihrem
    ihren im in ins ist jetzt kann koennen man mehr mit nach neue neuen neuer nicht noch nun
    nur ob oder ohne rund schon sehr sei seien sein seine seit sich sie sind so sollen soll
    sowie ueber um und unter viele vom von vor war waren was weiter weitere weiteren wenn
    werden wie wieder will wir wird wurde wurden zu zum zur zwei drei vier fuenf""".split()  # noqa: SIM905 - a word list reads better as text
)
#: Stemming strips the first of these endings that leaves at least MIN_STEM characters.
SUFFIXES = ("ungen", "innen", "ern", "en", "er", "es", "e", "n", "s")
MIN_STEM = 4
#: Shorter words are no keywords.
MIN_KEYWORD = 3


@dataclass(frozen=True, slots=True)
class StoryFeatures:
    """What an item is compared by."""

    shingles: frozenset[int]  #: boilerplate removed
    keywords: frozenset[str]  #: stemmed content words of title, teaser and opening
    lead: frozenset[str]  #: the keywords of title and teaser, where the facts are
    url_key: str | None  #: canonical URL: same URL on two sites means the same story
    districts: frozenset[str] = frozenset()  #: where the item is set (from the tag stage)
    published: int = 0  #: day number (see :func:`.phase.day_number`)
    upcoming: tuple[int, ...] = ()  #: dates of events it announces (:func:`.phase.upcoming`)
    #: The sampled shingles (see :attr:`marks`), computed once: indexing and looking up an
    #: item both need them.
    sampled: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # h % SAMPLE_MOD == 0 as a C-level test (SAMPLE_MOD is a power of two).
        sampled = frozenset(itertools.filterfalse(_SAMPLE_MASK.__and__, self.shingles))
        object.__setattr__(self, "sampled", sampled)

    @property
    def marks(self) -> list[int]:
        """The index entries of the item: sampled shingles, lead keywords, its URL."""
        marks = set(self.sampled)
        marks.update(map(keyword_mark, self.lead))
        if self.url_key:
            marks.add(_url_mark(self.url_key))
        return sorted(marks)


@dataclass(frozen=True, slots=True)
class Text:
    """An item's words, read once for both boilerplate learning and its features."""

    words: list[str]  #: folded words of title, teaser and body, at most MAX_WORDS
    hashes: list[int]  #: the shingle starting at each word (one for a text of < 3 words)
    lead: list[str]  #: folded words of title and teaser (all of them)


def prepare(item: Item | StoryText) -> Text:
    """The item's words and shingle hashes."""
    # Title and teaser are read once, for the lead and as the start of the text.
    lead = _words(lead_text(item))
    words = lead[:MAX_WORDS]
    if len(words) < MAX_WORDS and item.content_html:
        # Only the opening counts, so a 1 MB article is cut before it is read.
        body = _TAG.sub(" ", body_html(item))
        words += _words(body)[: MAX_WORDS - len(words)]
    return Text(words, _shingle_list(words), lead)


def shingles_of(item: Item | StoryText) -> set[int]:
    """All shingles of the item's title, teaser and body (before boilerplate removal)."""
    return set(prepare(item).hashes)


def features(
    item: Item | StoryText,
    shingles: set[int],
    boilerplate: frozenset[int],
    text: Text | None = None,
) -> StoryFeatures:
    """The item's comparison features, with the source's boilerplate removed.

    Args:
        text: ``prepare(item)``, if the caller has it already.
    """
    text = text or prepare(item)
    # Keywords come from the opening, minus word trigrams that are boilerplate.
    opening = text.words[:KEYWORD_WORDS]
    boiler_words: set[str] = set()
    if not boilerplate.isdisjoint(shingles):
        # The positions of boilerplate shingles in the opening, found without a Python loop
        # over every word (most items of a source with a footer get here).
        starts = range(max(0, len(opening) - SHINGLE + 1))
        for i in itertools.compress(starts, map(boilerplate.__contains__, text.hashes)):
            boiler_words.update(opening[i : i + SHINGLE])
    # Title and teaser start the opening: the words both have are stemmed once.
    both = min(len(text.lead), KEYWORD_WORDS)
    shared = frozenset(_stems(text.lead[:both], boiler_words))
    return StoryFeatures(
        shingles=frozenset(shingles - boilerplate),
        keywords=shared.union(_stems(opening[both:], boiler_words)) - _NO_KEYWORD,
        lead=shared.union(_stems(text.lead[both:], boiler_words)) - _NO_KEYWORD,
        url_key=canonical_url(item.url) if item.url else None,
        districts=item.districts,
        published=phase.day_number(item.published_at.date()),
        upcoming=phase.upcoming(opening, item.published_at.date()),
    )


def _stems(words: Iterable[str], excluded: set[str]) -> list[str]:
    """The stems of ``words`` but ``excluded``; "" for a word that is no keyword."""
    if excluded:
        words = itertools.filterfalse(excluded.__contains__, words)
    if len(_KEYWORDS) > _KEYWORDS_MAX:
        _KEYWORDS.clear()
    return list(map(_KEYWORDS.__getitem__, words))


_NO_KEYWORD = frozenset({""})


def url_mark(url_key: str) -> int:
    return _url_mark(url_key)


def learn_boilerplate(shingle_sets: Sequence[set[int]], known: frozenset[int]) -> frozenset[int]:
    """A source's boilerplate: what it knew, plus shingles recurring in this batch's items.

    The caller passes identical texts once: a feed whose items come back under new keys
    (guids that change at every fetch) stored each item many times, its copies' text
    became the source's boilerplate, and every later copy matched nothing and opened a
    story of its own: the same news again and again in the feeds and digests."""
    needed = boilerplate_needs(len(shingle_sets))
    if needed is None:
        return known
    counts: Counter[int] = Counter()
    for shingles in shingle_sets:
        counts.update(shingles)
    return known | {h for h, n in counts.items() if n >= needed}


def boilerplate_needs(items: int) -> int | None:
    """In how many of a batch's ``items`` a shingle must be to be boilerplate; None for a
    batch too small to tell."""
    if items < BOILERPLATE_MIN_ITEMS:
        return None
    return max(BOILERPLATE_MIN_ITEMS, int(items * BOILERPLATE_SHARE + 0.999))


@dataclass(frozen=True, slots=True)
class Similarity:
    copied: float  #: shingle containment: text taken over word for word
    keywords: float  #: IDF-weighted keyword containment: the same facts, reworded
    same_url: bool

    @property
    def score(self) -> float:
        """One number for sorting and for admins (``stories show``)."""
        return 1.0 if self.same_url else max(self.copied, self.keywords)


def similarity(a: StoryFeatures, b: StoryFeatures, stats: KeywordStats) -> Similarity:
    """How much of the shorter item is in the longer one, by copied text and by keywords."""
    same_url = a.url_key is not None and a.url_key == b.url_key
    return compare(a, stats.weight_of(a.keywords), b.shingles, b.keywords, same_url, stats)


def compare(
    a: StoryFeatures,
    a_weight: float,
    b_shingles: Iterable[int],
    b_keywords: Collection[str],
    same_url: bool,
    stats: KeywordStats,
    b_shingle_count: int | None = None,
) -> Similarity:
    """:func:`similarity` for a stored item kept as the store keeps it (packed shingles,
    keywords as words): the reference the benchmarks and tests check placement against.

    Args:
        a_weight: ``stats.weight_of(a.keywords)``, computed once per new item.
    """
    if b_shingle_count is None:
        b_shingles = frozenset(b_shingles)
        b_shingle_count = len(b_shingles)
    return containment(
        a.shingles, a.keywords, a_weight, b_shingles, b_shingle_count, b_keywords, same_url, stats
    )


def containment(
    a_shingles: frozenset[int],
    a_keywords: frozenset[str],
    a_weight: float,
    b_shingles: Iterable[int],
    b_shingle_count: int,
    b_keywords: Collection[str],
    same_url: bool,
    stats: KeywordStats,
) -> Similarity:
    """:func:`compare` from the parts (placement itself weighs the overlaps in C where it
    can: :meth:`.index.StoryIndex.confirm`)."""
    common = stats.weight_of(a_keywords.intersection(b_keywords))
    return Similarity(
        copied=copied_share(a_shingles, b_shingles, b_shingle_count),
        keywords=keyword_share(common, a_weight, stats.weight_of(b_keywords)),
        same_url=same_url,
    )


def copied_share(a_shingles: frozenset[int], b_shingles: Iterable[int], b_count: int) -> float:
    """Share of the shorter text's shingles found in the other one."""
    shorter = min(len(a_shingles), b_count)
    return len(a_shingles.intersection(b_shingles)) / shorter if shorter else 0.0


def keyword_share(common: float, a_weight: float, b_weight: float) -> float:
    """Share of the lighter keyword set's weight that the common keywords weigh."""
    smaller = min(a_weight, b_weight)
    return common / smaller if smaller > 0 else 0.0


def keyword_weight_floor(common: float, common_count: int, b_count: int) -> float:
    """Less than the weight of the other item's ``b_count`` keywords, without weighing them:
    its ``common_count`` keywords shared with the new item weigh ``common``, and each of the
    others at least 1 (no keyword is in more items than were counted). The margin covers
    rounding, so :func:`keyword_share` with this floor is never below the exact share."""
    return (common + b_count - common_count) * (1 - 1e-9)


def same_story(a: StoryFeatures, b: StoryFeatures, sim: Similarity) -> bool:
    """The decision rule, in one place (thresholds tuned on the labelled set, bench/)."""
    return decide(
        sim,
        min(len(a.shingles), len(b.shingles)),
        min(len(a.keywords), len(b.keywords)),
        a.districts,
        b.districts,
        phase.differ(a.published, a.upcoming, b.published, b.upcoming),
    )


def decide(
    sim: Similarity,
    shingles: int,
    keywords: int,
    a_districts: frozenset[str],
    b_districts: frozenset[str],
    phases_differ: bool = False,
) -> bool:
    """:func:`same_story` from the sizes of the smaller shingle and keyword sets.

    Args:
        phases_differ: one item announces an event that had happened when the other was
            published (:func:`.phase.differ`).
    """
    if sim.same_url:
        return True
    if phases_differ:
        # Announcement and report of one event share names, place and topic, often whole
        # sentences; only a near-verbatim copy is still one story.
        return sim.copied >= VERBATIM
    if a_districts and b_districts and a_districts.isdisjoint(b_districts):
        # The same kind of news from two different districts ("Kreistag beschließt Haushalt
        # 2021") is two stories, however alike the template wording; two districts' versions
        # of one release share its distinctive words. Short texts have too few keywords for
        # that: "Neue Schule in Köthen eröffnet" and "Neues Bad in Mücheln eröffnet" shared
        # three of five.
        return sim.copied >= VERBATIM or (
            keywords >= MIN_KEYWORDS and sim.keywords >= ACROSS_DISTRICTS
        )
    if shingles >= MIN_SHINGLES and sim.copied >= CONTAINMENT:
        return True
    return keywords >= MIN_KEYWORDS and sim.keywords >= KEYWORD_CONTAINMENT


def canonical_url(url: str) -> str:
    """One spelling per page: no scheme, www., default port, trailing slash or fragment;
    sorted query."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2].lower().removeprefix("www.")
    host = host.removesuffix(":80").removesuffix(":443")
    path = parts.path.rstrip("/") or "/"
    query = "&".join(sorted(p for p in parts.query.split("&") if p))
    return f"{host}{path}" + (f"?{query}" if query else "")


def pack(values: Iterable[int]) -> bytes:
    """Shingle hashes as bytes for the store."""
    ordered = sorted(values)
    return struct.pack(f"<{len(ordered)}I", *ordered)


def unpack(data: bytes) -> frozenset[int]:
    return frozenset(struct.unpack(f"<{len(data) // 4}I", data))


class _KeywordCache(dict[str, str]):
    """Each word's stem, or "" for a word that is no keyword.

    Words repeat a lot, so stems are looked up, not recomputed; a dictionary's own
    ``__getitem__`` (the miss goes to ``__missing__``) is cheaper per word than a cached
    function call.
    """

    def __missing__(self, word: str) -> str:
        stem = "" if word in STOP_WORDS or len(word) < MIN_KEYWORD else _stem(word)
        self[word] = stem
        return stem


_KEYWORDS = _KeywordCache()
#: Words cached at most (emptied when full: a bound, not an eviction policy).
_KEYWORDS_MAX = 1 << 17


def _stem(word: str) -> str:
    """Crude German stemming, enough for "Studie/Studien", "Räume/Räumen", "Partner/n"."""
    for suffix in SUFFIXES:
        if len(word) - len(suffix) >= MIN_STEM and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


@functools.lru_cache(maxsize=1 << 16)
def keyword_mark(keyword: str) -> int:
    """The index entry of a lead keyword."""
    return zlib.crc32(b"k:" + keyword.encode())


def _url_mark(url_key: str) -> int:
    return zlib.crc32(b"u:" + url_key.encode())


def lead_text(item: Item | StoryText) -> str:
    """What the lead words are read from: title and teaser."""
    return f"{item.title[:_MAX_HTML]} . {item.summary_text[:_MAX_HTML]}"


def body_html(item: Item | StoryText) -> str:
    """What the body words are read from, tags and all: the opening of the content."""
    return item.content_html[:_MAX_HTML]


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def _shingle_list(words: list[str]) -> list[int]:
    if len(words) < SHINGLE:
        return [zlib.crc32(" ".join(words).encode())] if words else []
    # The same bytes as f"{a} {b} {c}".encode(), hashed in C-level maps: no Python loop.
    triples = zip(words, words[1:], words[2:], strict=False)
    return list(map(zlib.crc32, map(str.encode, map(" ".join, triples))))
