"""The candidate index: which stored items a new item is compared with. Pure, in memory.

The index holds the items of the time window (loaded once per placement run) and grows as
items are placed. Each item is listed under its marks (:attr:`.text.StoryFeatures.marks`:
sampled shingles, lead keywords, canonical URL); a new item is compared only with items
that share at least :data:`.text.MIN_SHARED_MARKS` of its marks (or its URL), at most
:data:`MAX_CANDIDATES` of them, those sharing the most marks first. Marks listed under more
than :data:`MAX_POSTINGS` items are common phrases, not evidence, and are skipped. Looking
up an item therefore costs a dictionary probe per mark and a bounded number of
comparisons, whatever the size of the store.

Why sampled shingles and not MinHash bands: a republication is often a short excerpt of the
original, so what matters is *containment* of the shorter text, which MinHash (an estimate
of Jaccard similarity) hides when the texts differ in length. A fixed sample of shingles
keeps containment: if half of an excerpt's shingles are in the release, about half of its
marks are too.

Stored items are kept compactly (packed shingles, a tuple of interned keywords), so a
window of 100,000 items fits in a few hundred megabytes.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import phase
from .text import (
    MIN_SHARED_MARKS,
    KeywordStats,
    StoryFeatures,
    compare,
    decide,
    unpack,
    url_mark,
)

#: A mark listed under more items than this is a common phrase, not evidence.
MAX_POSTINGS = 50
#: At most this many candidates (those sharing the most marks) are compared with an item.
MAX_CANDIDATES = 40


@dataclass(frozen=True, slots=True)
class IndexedItem:
    """A placed item as the index keeps it."""

    item_id: int
    story_id: int
    published: float  #: POSIX timestamp
    day: int  #: of publication (day number)
    upcoming: tuple[int, ...]  #: dates of events it announces
    shingles: bytes  #: packed (see :func:`.text.pack`)
    keywords: str  #: space-separated, as stored: split only when compared
    districts: frozenset[str]


@dataclass(frozen=True, slots=True)
class StoryMatch:
    story_id: int
    item_id: int  #: the member that matched best
    similarity: float


class StoryIndex:
    """Placed items of a time window, findable by their marks."""

    def __init__(self, window: timedelta, stats: KeywordStats) -> None:
        self.window = window.total_seconds()
        self.stats = stats
        self._items: list[IndexedItem] = []
        # A mark's postings: one slot (most marks) or a list of them; a bare int per mark
        # halves the memory of an index whose marks are mostly unique.
        self._postings: dict[int, int | list[int]] = {}
        self._districts: dict[frozenset[str], frozenset[str]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def add(
        self,
        item_id: int,
        story_id: int,
        published: datetime | float,
        shingles: bytes,
        keywords: str,
        districts: frozenset[str],
        marks: Iterable[int],
        upcoming: tuple[int, ...] = (),
    ) -> None:
        """List a placed item under its marks (its URL's among them).

        Args:
            keywords: space-separated.
        """
        when = published.timestamp() if isinstance(published, datetime) else published
        entry = IndexedItem(
            item_id=item_id,
            story_id=story_id,
            published=when,
            day=int(when // 86400),
            upcoming=upcoming,
            shingles=shingles,
            keywords=keywords,
            districts=self._districts.setdefault(districts, districts),
        )
        slot = len(self._items)
        self._items.append(entry)
        postings = self._postings
        for mark in marks:
            listed = postings.get(mark)
            if listed is None:
                postings[mark] = slot
            elif isinstance(listed, int):
                postings[mark] = [listed, slot]
            else:
                listed.append(slot)

    def best_match(self, features: StoryFeatures, published: datetime) -> StoryMatch | None:
        """The story ``features`` belongs to, or None for a new story.

        The single most similar candidate decides (no chaining through other members), so
        two stories never merge because a third item resembles both a little.
        """
        best: StoryMatch | None = None
        stats = self.stats
        weight = stats.weight_of(features.keywords)
        for entry, same_url in self.candidates(features, published):
            keywords = entry.keywords.split()
            sim = compare(
                features,
                weight,
                _shingles(entry.shingles),
                keywords,
                same_url,
                stats,
                b_shingle_count=len(entry.shingles) // 4,
            )
            if not decide(
                sim,
                min(len(features.shingles), len(entry.shingles) // 4),
                min(len(features.keywords), len(keywords)),
                features.districts,
                entry.districts,
                phase.differ(features.published, features.upcoming, entry.day, entry.upcoming),
            ):
                continue
            if best is None or sim.score > best.similarity:
                best = StoryMatch(entry.story_id, entry.item_id, sim.score)
        return best

    def candidates(
        self, features: StoryFeatures, published: datetime
    ) -> list[tuple[IndexedItem, bool]]:
        """Items published within the window that share enough marks (or the URL), each
        with whether it has the same canonical URL."""
        stats = self.stats
        own_url = url_mark(features.url_key) if features.url_key else None
        found: list[int] = []
        via_url: list[int] = []
        postings = self._postings
        for mark in features.query_marks(stats.counts, stats.total):
            listed = postings.get(mark)
            if listed is None:
                continue
            if mark == own_url:
                via_url.extend([listed] if isinstance(listed, int) else listed)
            elif isinstance(listed, int):
                found.append(listed)
            elif len(listed) <= MAX_POSTINGS:
                found.extend(listed)
        shared = Counter(found)
        shared.update(via_url)
        when = published.timestamp()
        items = self._items
        urls = set(via_url)
        eligible = [
            slot
            for slot, n in shared.items()
            if (n >= MIN_SHARED_MARKS or slot in urls)
            and abs(items[slot].published - when) <= self.window
        ]
        eligible.sort(key=lambda s: (s not in urls, -shared[s], items[s].item_id))
        return [(items[s], s in urls) for s in eligible[:MAX_CANDIDATES]]


def _shingles(packed: bytes) -> Iterable[int]:
    # Packed little-endian (see pack()): on such a machine a cast reads them without copying.
    if sys.byteorder == "little":
        return memoryview(packed).cast("I")
    return unpack(packed)  # pragma: no cover - no big-endian CI machine
