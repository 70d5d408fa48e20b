"""Which items are the same story: near-duplicate detection across sources. Pure.

Partners republish a press release with an edited title, a shortened or reordered teaser, a
local paragraph and their own URL. Two items are one story when a large share of the
*shorter* text's word 3-grams ("shingles") appears in the longer one (containment, not
Jaccard: a three-sentence excerpt of a long release is still the release).

Finding candidates is sub-linear: every item is indexed under a fixed sample of its
shingles (those whose hash is divisible by :data:`SAMPLE_MOD`, "marks"); a new item is only
compared with items sharing at least :data:`MIN_SHARED_MARKS` marks (or its canonical URL)
within a time window. Marks shared by very many items are common phrases, not evidence, and
the store skips them.

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

import math
import re
import struct
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from .models import Item, StoryCandidate

#: Words per shingle.
SHINGLE = 3
#: A shingle is a mark (indexed for candidate search) when its hash is divisible by this.
SAMPLE_MOD = 4
#: Candidates must share at least this many marks.
MIN_SHARED_MARKS = 2
#: A lead keyword is used to find candidates only if at most this share of the stored items
#: (but at least RARE_MIN of them) have it.
RARE_SHARE = 0.01
RARE_MIN = 5
#: Share of the shorter text's shingles found in the other text for "same story".
CONTAINMENT = 0.5
#: Items set in different districts are one story only with a near-verbatim copy or this
#: much keyword containment (tuned on the labelled set: bench/stories_quality.py).
VERBATIM = 0.8
ACROSS_DISTRICTS = 0.45
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

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_WORD = re.compile(r"\w+")
_TAG = re.compile(r"<[^>]*>")


# German function words; they say nothing about which story an item tells.
_STOP = frozenset(
    """aber alle allen als also am an auch auf aus bei beim bis bisher da damit dann das dass
    dem den denen der des die dies diese diesem diesen dieser dieses doch dort durch ein
    eine einem einen einer eines er es etwa fuer gegen haben hat hatte heute ihr ihre ihrem
    ihren im in ins ist jetzt kann koennen man mehr mit nach neue neuen neuer nicht noch nun
    nur ob oder ohne rund schon sehr sei seien sein seine seit sich sie sind so sollen soll
    sowie ueber um und unter viele vom von vor war waren was weiter weitere weiteren wenn
    werden wie wieder will wir wird wurde wurden zu zum zur zwei drei vier fuenf""".split()  # noqa: SIM905 - a word list reads better as text
)
_SUFFIXES = ("ungen", "innen", "ern", "en", "er", "es", "e", "n", "s")


@dataclass(frozen=True, slots=True)
class StoryFeatures:
    """What an item is compared by."""

    shingles: frozenset[int]  #: boilerplate removed
    keywords: frozenset[str]  #: stemmed content words of title, teaser and opening
    lead: frozenset[str]  #: the keywords of title and teaser, where the facts are
    url_key: str | None  #: canonical URL: same URL on two sites means the same story
    districts: frozenset[str] = frozenset()  #: where the item is set (from the tag stage)

    @property
    def marks(self) -> list[int]:
        """The index entries of the item: sampled shingles, lead keywords, its URL."""
        marks = {h for h in self.shingles if h % SAMPLE_MOD == 0}
        marks.update(_keyword_mark(k) for k in self.lead)
        if self.url_key:
            marks.add(_url_mark(self.url_key))
        return sorted(marks)

    def query_marks(self, counts: Mapping[str, int], total: int) -> list[int]:
        """The marks to look candidates up by: like :attr:`marks`, but only the lead keywords
        that are rare in the store, since a common word is no evidence of a shared story."""
        limit = max(RARE_MIN, int(total * RARE_SHARE))
        marks = {h for h in self.shingles if h % SAMPLE_MOD == 0}
        marks.update(_keyword_mark(k) for k in self.lead if counts.get(k, 0) <= limit)
        if self.url_key:
            marks.add(_url_mark(self.url_key))
        return sorted(marks)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored item that may be the same story, as the store found it."""

    item_id: int
    story_id: int
    source_id: str
    features: StoryFeatures


@dataclass(frozen=True, slots=True)
class StoryMatch:
    story_id: int
    item_id: int  #: the member that matched best
    similarity: float


def shingles_of(item: Item) -> set[int]:
    """All shingles of the item's title, teaser and body (before boilerplate removal)."""
    return _shingles(_item_words(item)[:MAX_WORDS])


def features(item: Item, shingles: set[int], boilerplate: frozenset[int]) -> StoryFeatures:
    """The item's comparison features, with the source's boilerplate removed."""
    words = _item_words(item)
    # Keywords come from the opening, minus word trigrams that are boilerplate.
    opening = words[:KEYWORD_WORDS]
    boiler_words = {
        w
        for i in range(len(opening) - SHINGLE + 1)
        if zlib.crc32(" ".join(opening[i : i + SHINGLE]).encode()) in boilerplate
        for w in opening[i : i + SHINGLE]
    }
    lead = _words(f"{item.title} . {item.summary_text}")
    return StoryFeatures(
        shingles=frozenset(shingles - boilerplate),
        keywords=_keywords(opening, boiler_words),
        lead=_keywords(lead, boiler_words),
        url_key=canonical_url(item.url) if item.url else None,
        districts=item.districts,
    )


def _keywords(words: Iterable[str], excluded: set[str]) -> frozenset[str]:
    return frozenset(
        _stem(w) for w in words if w not in _STOP and len(w) > 2 and w not in excluded
    )


def from_stored(stored: StoryCandidate) -> Candidate:
    """A candidate as the store keeps it, ready to compare."""
    return Candidate(
        item_id=stored.item_id,
        story_id=stored.story_id,
        source_id=stored.source_id,
        features=StoryFeatures(
            shingles=unpack(stored.shingles),
            keywords=frozenset(stored.keywords),
            lead=frozenset(),  # only needed to index an item, which is done by now
            url_key=canonical_url(stored.url) if stored.url else None,
            districts=frozenset(stored.districts),
        ),
    )


def url_mark(url_key: str) -> int:
    return _url_mark(url_key)


def learn_boilerplate(shingle_sets: Sequence[set[int]], known: frozenset[int]) -> frozenset[int]:
    """A source's boilerplate: what it knew, plus shingles recurring in this batch's items."""
    if len(shingle_sets) < BOILERPLATE_MIN_ITEMS:
        return known
    counts: Counter[int] = Counter()
    for shingles in shingle_sets:
        counts.update(shingles)
    needed = max(BOILERPLATE_MIN_ITEMS, int(len(shingle_sets) * BOILERPLATE_SHARE + 0.999))
    return known | {h for h, n in counts.items() if n >= needed}


@dataclass(frozen=True, slots=True)
class Similarity:
    copied: float  #: shingle containment: text taken over word for word
    keywords: float  #: IDF-weighted keyword containment: the same facts, reworded
    same_url: bool

    @property
    def score(self) -> float:
        """One number for sorting and for admins (``stories show``)."""
        return 1.0 if self.same_url else max(self.copied, self.keywords)


def similarity(a: StoryFeatures, b: StoryFeatures, weight: Callable[[str], float]) -> Similarity:
    """How much of the shorter item is in the longer one, by copied text and by keywords.

    Args:
        weight: a keyword's weight (see :func:`weights`).
    """
    same_url = a.url_key is not None and a.url_key == b.url_key
    shorter = min(len(a.shingles), len(b.shingles))
    copied = len(a.shingles & b.shingles) / shorter if shorter else 0.0

    def total(words: Iterable[str]) -> float:
        return sum(map(weight, words))

    smaller = min(total(a.keywords), total(b.keywords))
    keywords = total(a.keywords & b.keywords) / smaller if smaller else 0.0
    return Similarity(copied=copied, keywords=keywords, same_url=same_url)


def same_story(a: StoryFeatures, b: StoryFeatures, sim: Similarity) -> bool:
    """The decision rule, in one place (thresholds tuned on the labelled set, bench/)."""
    if sim.same_url:
        return True
    if a.districts and b.districts and a.districts.isdisjoint(b.districts):
        # The same kind of news from two different districts ("Kreistag beschließt Haushalt
        # 2021") is two stories, however alike the template wording; two districts' versions
        # of one release share its distinctive words.
        return sim.copied >= VERBATIM or sim.keywords >= ACROSS_DISTRICTS
    if min(len(a.shingles), len(b.shingles)) >= MIN_SHINGLES and sim.copied >= CONTAINMENT:
        return True
    return (
        min(len(a.keywords), len(b.keywords)) >= MIN_KEYWORDS
        and sim.keywords >= KEYWORD_CONTAINMENT
    )


def best_match(
    item: StoryFeatures, candidates: Iterable[Candidate], weight: Callable[[str], float]
) -> StoryMatch | None:
    """The story ``item`` belongs to, or None for a new story.

    The single most similar candidate decides (no chaining through other members), so two
    stories never merge because a third item resembles both a little.
    """
    best: StoryMatch | None = None
    for candidate in candidates:
        sim = similarity(item, candidate.features, weight)
        if not same_story(item, candidate.features, sim):
            continue
        if best is None or sim.score > best.similarity:
            best = StoryMatch(candidate.story_id, candidate.item_id, sim.score)
    return best


def weights(counts: Mapping[str, int], total: int) -> Callable[[str], float]:
    """Keyword weights: smoothed inverse document frequency from the store's counts
    (a keyword never seen weighs most)."""

    def weight(keyword: str) -> float:
        return math.log((total + 1) / (counts.get(keyword, 0) + 1)) + 1.0

    return weight


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


def _item_words(item: Item) -> list[str]:
    body = _TAG.sub(" ", item.content_html) if item.content_html else ""
    return _words(f"{item.title} . {item.summary_text} . {body}")


def _stem(word: str) -> str:
    """Crude German stemming, enough for "Studie/Studien", "Räume/Räumen", "Partner/n"."""
    for suffix in _SUFFIXES:
        if len(word) - len(suffix) >= 4 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _keyword_mark(keyword: str) -> int:
    return zlib.crc32(b"k:" + keyword.encode())


def _url_mark(url_key: str) -> int:
    return zlib.crc32(b"u:" + url_key.encode())


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold().translate(_FOLD))


def _shingles(words: list[str]) -> set[int]:
    if len(words) < SHINGLE:
        return {zlib.crc32(" ".join(words).encode())} if words else set()
    return {
        zlib.crc32(" ".join(words[i : i + SHINGLE]).encode())
        for i in range(len(words) - SHINGLE + 1)
    }
