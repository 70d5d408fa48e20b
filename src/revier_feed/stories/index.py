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

Stored items are kept compactly (packed shingles, their keywords in one string), so a
window of 100,000 items fits in a few hundred megabytes.

The marks live in an index of their own (:class:`Marks`): which items are candidates does not
depend on the stories they were placed in, so a large batch's candidates can be found by
another process, with a copy of the marks, while the items are confirmed here.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import operator
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, cast

from . import phase
from .keywords import KeywordStats
from .native import NATIVE, native_best_candidate, native_mark_index, native_query_marks
from .packed import PackedFeatures, unpack_ints
from .text import (
    CONTAINMENT,
    MIN_SHARED_MARKS,
    MIN_SHINGLES,
    SAME_SOURCE,
    VERBATIM,
    Similarity,
    StoryFeatures,
    decide,
    keyword_share,
    keyword_weight_floor,
)

#: A mark listed under more items than this is a common phrase, not evidence.
MAX_POSTINGS = 50
#: At most this many candidates (those sharing the most marks) are compared with an item.
MAX_CANDIDATES = 40

#: Whether a mark is listed: a C-level test, since most marks of a new item are not.
_LISTED = functools.partial(operator.is_not, None)
#: Whether a mark's postings are a single slot (not a list of them).
_IS_SLOT = int.__instancecheck__


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
    source: str = ""  #: the source's id


@dataclass(frozen=True, slots=True)
class StoryMatch:
    story_id: int
    item_id: int  #: the member that matched best
    similarity: float


class Marks(Protocol):
    """Which placed items share marks with a new item: the marks' postings and each
    item's publication time, by slot (the order items were added in).

    The part of :class:`StoryIndex` that finding candidates needs, and no more: which items
    are candidates depends only on the items placed before and their keyword counts,
    never on the stories they were placed in, so a large batch's candidates can be found
    in another process while this one confirms them (:mod:`revier_feed.placement`).
    :class:`MarkIndex` is the reference; the C extension's is what runs where it is built
    (:func:`mark_index`).
    """

    def __len__(self) -> int: ...

    def add(self, item_id: int, published: float, marks: bytes | Iterable[int]) -> None:
        """List the next slot's item under its marks (packed, or values)."""

    def find_marks(
        self, marks: bytes | Iterable[int], url_mark: int | None, published: float
    ) -> list[tuple[int, bool]]:
        """The slots of items published within the window that share at least
        :data:`.text.MIN_SHARED_MARKS` of ``marks`` (a mark listed under more than
        :data:`MAX_POSTINGS` items does not count) or the URL's mark, each with whether it
        has the same canonical URL: those with the URL first, then most shared marks, then
        the lowest item id; at most :data:`MAX_CANDIDATES`."""
        ...


def candidates_of(
    marks: Marks,
    new: PackedFeatures,
    published: float,
    stats: KeywordStats,
    *,
    native: bool = NATIVE,
) -> list[tuple[int, bool]]:
    """The candidates of ``new`` (see :meth:`Marks.find_marks`), looked up by
    :meth:`.PackedFeatures.query_marks` with the keyword counts of the items placed so far
    (in C where the extension is built)."""
    if native:
        query: bytes | set[int] = native_query_marks(new, stats)
    else:
        query = new.query_marks(stats.counts, stats.total)
    return marks.find_marks(query, new.url_mark, published)


def mark_index(window: float) -> Marks:
    """An empty mark index: the C extension's where it is built."""
    if NATIVE:
        return native_mark_index(window, MAX_POSTINGS, MIN_SHARED_MARKS, MAX_CANDIDATES)
    return MarkIndex(window)


class MarkIndex:
    """:class:`Marks` in Python."""

    def __init__(self, window: float) -> None:
        self.window = window  #: seconds
        # A mark's postings: one slot (most marks) or a list of them; a bare int per mark
        # halves the memory of an index whose marks are mostly unique.
        self._postings: dict[int, int | list[int]] = {}
        self._published: list[float] = []
        self._item_ids: list[int] = []

    def __len__(self) -> int:
        return len(self._published)

    def add(self, item_id: int, published: float, marks: bytes | Iterable[int]) -> None:
        """List the next slot's item under its marks (packed, or values)."""
        slot = len(self._published)
        self._published.append(published)
        self._item_ids.append(item_id)
        postings = self._postings
        for mark in unpack_ints(marks) if isinstance(marks, bytes) else marks:
            listed = postings.get(mark)
            if listed is None:
                postings[mark] = slot
            elif isinstance(listed, int):
                postings[mark] = [listed, slot]
            else:
                listed.append(slot)

    def find_marks(
        self, marks: bytes | Iterable[int], url_mark: int | None, published: float
    ) -> list[tuple[int, bool]]:
        """See :meth:`Marks.find_marks`."""
        postings = self._postings
        query = unpack_ints(marks) if isinstance(marks, bytes) else marks
        hits = list(filter(_LISTED, map(postings.get, query)))
        # Split into single slots and lists of them, all in C: an item's marks find dozens
        # of postings.
        found = cast("list[int]", list(filter(_IS_SLOT, hits)))
        lists = cast("list[list[int]]", list(itertools.filterfalse(_IS_SLOT, hits)))
        short = map(MAX_POSTINGS.__ge__, map(len, lists))
        found.extend(itertools.chain.from_iterable(itertools.compress(lists, short)))
        via_url = postings.get(url_mark) if url_mark is not None else None
        urls = (
            set() if via_url is None else {via_url} if isinstance(via_url, int) else set(via_url)
        )
        # The slots found at least MIN_SHARED_MARKS times, by comparing the sorted list with
        # itself shifted: C-level, where counting them one by one in Python was not (an
        # item's rare lead keywords find hundreds of items once each).
        found.sort()
        k = MIN_SHARED_MARKS - 1
        shared = set(itertools.compress(found, map(operator.eq, found, found[k:]))) | urls
        if not shared:
            return []  # most new items of a first cycle: the first report of their story
        times = self._published
        eligible = [s for s in shared if abs(times[s] - published) <= self.window]
        if len(eligible) > 1:
            # Most shared marks first: a slot's marks are a run in the sorted list, found by
            # bisection (counting the whole list, most of it slots found once, cost more).
            first, after = bisect.bisect_left, bisect.bisect_right
            ids = self._item_ids
            eligible.sort(
                key=lambda s: (s not in urls, first(found, s) - after(found, s), ids[s], s)
            )
        return [(s, s in urls) for s in eligible[:MAX_CANDIDATES]]


class StoryIndex:
    """Placed items of a time window, findable by their marks."""

    def __init__(self, window: timedelta, stats: KeywordStats) -> None:
        self.window = window.total_seconds()
        self.stats = stats
        self._items: list[IndexedItem] = []
        self._marks: Marks | None = mark_index(self.window)
        self._districts: dict[frozenset[str], frozenset[str]] = {}
        #: Each story's first item in the index (its slot), by story id.
        self._first: dict[int, int] = {}

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
        marks: bytes | Iterable[int],
        upcoming: tuple[int, ...] = (),
        source: str = "",
    ) -> None:
        """List a placed item under its marks (its URL's among them); while the marks are
        detached (:meth:`detach_marks`), only keep the item for comparisons.

        Args:
            keywords: space-separated.
            source: the item's source's id (interned: one string per source).
        """
        when = published.timestamp() if isinstance(published, datetime) else published
        # The story's earliest item (then the lowest id): the same whatever the order the
        # items come in (a worker's cycles, a reload of the window, `run --once`).
        first = self._first.get(story_id)
        if first is None or (when, item_id) < (
            self._items[first].published,
            self._items[first].item_id,
        ):
            self._first[story_id] = len(self._items)
        self._items.append(
            IndexedItem(
                item_id=item_id,
                story_id=story_id,
                published=when,
                day=int(when // 86400),
                upcoming=upcoming,
                shingles=shingles,
                keywords=keywords,
                districts=self._districts.setdefault(districts, districts),
                source=sys.intern(source),
            )
        )
        if self._marks is not None:
            self._marks.add(item_id, when, marks)

    def detach_marks(self) -> Marks:
        """Hand the marks over to someone who finds the candidates (another process, with
        a copy); until :meth:`attach_marks`, items added are kept for comparisons only and
        :meth:`candidates` cannot be used."""
        marks = self._marks
        if marks is None:
            raise RuntimeError("the marks are detached already")
        self._marks = None
        return marks

    def attach_marks(self, marks: Marks) -> None:
        """Take the marks back, listing every item added since (``marks`` must hold them)."""
        if len(marks) != len(self._items):
            raise ValueError(f"marks of {len(marks)} items for an index of {len(self._items)}")
        self._marks = marks

    def best_match(self, features: StoryFeatures, published: datetime) -> StoryMatch | None:
        """The story ``features`` belongs to, or None for a new story.

        The single most similar candidate decides (no chaining through other members), so
        two stories never merge because a third item resembles both a little; one that is
        alike by shared keywords alone, not copied text, only with the story's first item
        alike too (:meth:`_holds_together`).
        """
        return self.match(PackedFeatures.of(features), published)

    def match(
        self, new: PackedFeatures, published: datetime, source: str | None = None
    ) -> StoryMatch | None:
        """:meth:`best_match` for an item whose features are packed (of ``source``, see
        :meth:`confirm`)."""
        return self.confirm(new, self.find(new, published), source)

    def candidates(
        self, new: StoryFeatures | PackedFeatures, published: datetime
    ) -> list[tuple[IndexedItem, bool]]:
        """Items published within the window that share enough marks (or the URL), each
        with whether it has the same canonical URL."""
        return self.entries(self.find(new, published))

    def find(
        self, new: StoryFeatures | PackedFeatures, published: datetime
    ) -> list[tuple[int, bool]]:
        """:meth:`candidates` by slot, as :meth:`Marks.find_marks` gives them."""
        if self._marks is None:
            raise RuntimeError("the marks are detached: candidates are found elsewhere")
        if isinstance(new, StoryFeatures):
            new = PackedFeatures.of(new)
        return candidates_of(self._marks, new, published.timestamp(), self.stats)

    def entries(self, found: Iterable[tuple[int, bool]]) -> list[tuple[IndexedItem, bool]]:
        """The items of slots (as :meth:`Marks.find_marks` gives them)."""
        items = self._items
        return [(items[slot], same_url) for slot, same_url in found]

    def confirm(
        self, new: PackedFeatures, found: list[tuple[int, bool]], source: str | None = None
    ) -> StoryMatch | None:
        """The story of the candidate in ``found`` (slots, as :meth:`Marks.find_marks` gives
        them) most similar to ``new`` among those that are the same story, or None.

        An item of ``source`` (the new item's) is the same story only as a near-identical
        copy (:data:`.text.SAME_SOURCE`) or, at the same link, by the rules for any two
        items (an edited version of an item back under a new guid), never by the link
        alone: a source's own items share its templates and paragraphs, and a feed may link
        every item to one page. Nor does the new item join a story through another source's
        copy of an item of its own source that is different news (a partner republishing
        last week's "Lehrstellen der Woche").
        """
        if not found:
            return None
        items = self._items
        if source is not None and any(items[slot].source == source for slot, _ in found):
            found = _own_judged(items, found, new, source)
        while (best := best_candidate(items, found, new, self.stats)) is not None:
            slot, score = best
            entry = items[slot]
            if self._holds_together(new, slot, found):
                return StoryMatch(entry.story_id, entry.item_id, score)
            found = [(s, u) for s, u in found if items[s].story_id != entry.story_id]
        return None

    def _holds_together(
        self, new: PackedFeatures, slot: int, found: list[tuple[int, bool]]
    ) -> bool:
        """Whether ``new``, the same story as the item at ``slot`` by shared keywords alone
        (no text copied), is also the same story as that story's first item, or ``slot``
        is a copy of it: joined by keywords one after another, releases of one kind
        ("Studie zeigt …") chained into a story of unrelated news."""
        items = self._items
        first = self._first.get(items[slot].story_id, slot)
        if first == slot or any(s == slot and same_url for s, same_url in found):
            return True
        if _copies(new.shingles, new.shingle_count, items[slot].shingles):
            return True  # a copy of the member's text: copies of copies are one story
        member = items[slot].shingles
        if _copies(member, len(member) // 4, items[first].shingles, VERBATIM):
            return True  # the member is a verbatim excerpt of the first (a partner's)
        return best_candidate(items, [(first, False)], new, self.stats) is not None


def _copies(shingles: bytes, count: int, other: bytes, share: float = CONTAINMENT) -> bool:
    """Whether the text of ``shingles`` (``count`` of them) is copied from ``other``'s: at
    least ``share`` of the shorter in the other, as :func:`.text.decide` asks."""
    shorter = min(count, len(other) // 4)
    return shorter >= MIN_SHINGLES and _shingle_overlap(shingles)(other) >= share * shorter


def best_candidate(
    items: list[IndexedItem],
    found: list[tuple[int, bool]],
    new: PackedFeatures,
    stats: KeywordStats,
    *,
    native: bool = NATIVE,
) -> tuple[int, float] | None:
    """Of the slots in ``found`` (``items`` by slot), the one whose item is most similar to
    ``new`` among those that are the same story (:func:`.text.decide`), with its score; the
    first of equals. The C extension does this where it is built (placement's main loop
    spent most of its time here); this Python is its reference."""
    if native:
        return native_best_candidate(items, found, new, stats)
    own = new.keywords.split()
    logs = stats.logs_of(own)
    weight = stats.weight_from(len(own), functools.reduce(operator.add, logs, 0.0))
    overlap = _shingle_overlap(new.shingles)
    # The weight of the keywords an item shares with this one, from this one's logs.
    shared_keywords = _keyword_overlap(new.keywords, logs)
    own_shingles = new.shingle_count
    best: tuple[int, float] | None = None
    for slot, same_url in found:
        entry = items[slot]
        shorter = min(own_shingles, len(entry.shingles) // 4)
        copied = overlap(entry.shingles) / shorter if shorter else 0.0
        shared_logs, shared, other_count = shared_keywords(entry.keywords)
        common = stats.weight_from(shared, shared_logs)
        same = functools.partial(
            decide,
            shingles=shorter,
            keywords=min(len(own), other_count),
            a_districts=new.districts,
            b_districts=entry.districts,
            phases_differ=phase.differ(new.published, new.upcoming, entry.day, entry.upcoming),
        )
        # Weighing the other item's keywords is most of a comparison's cost; most
        # candidates are decided without it. With a floor of that weight, the share has
        # an upper bound. The rule only ever accepts more as the share grows, so if even
        # the bound is rejected, so is the item; an item accepted by copied text alone
        # needs the share only if it could raise the score; and where the new item's own
        # weight is below the floor, the share is exact without the weight.
        floor = keyword_weight_floor(common, shared, other_count)
        bound = keyword_share(common, weight, floor)
        if not same(Similarity(copied, bound, same_url)):
            continue
        sim = Similarity(copied, 0.0, same_url)
        if not same(sim) or bound > sim.score:
            exact = weight <= floor
            other_weight = floor if exact else stats.weight_of(entry.keywords.split())
            sim = Similarity(copied, keyword_share(common, weight, other_weight), same_url)
            if not same(sim):
                continue
        if best is None or sim.score > best[1]:
            best = (slot, sim.score)
    return best


def _own_judged(
    items: list[IndexedItem], found: list[tuple[int, bool]], new: PackedFeatures, source: str
) -> list[tuple[int, bool]]:
    """``found`` (slots, with whether the link is the same) as :meth:`StoryIndex.confirm`
    may compare them with a new item of ``source``: its own items kept only as copies of its
    text (the score also counts shared keywords, which a source's items of one template
    share) or at its link, and judged without the link; and no candidate of a story that
    holds an item of ``source`` that is different news."""
    overlap = _shingle_overlap(new.shingles)
    kept: set[int] = set()
    different: set[int] = set()
    for slot, same_url in found:
        entry = items[slot]
        if entry.source != source:
            continue
        shorter = min(new.shingle_count, len(entry.shingles) // 4)
        copied = overlap(entry.shingles) / shorter if shorter else 0.0
        (kept if same_url or copied >= SAME_SOURCE else different).add(slot)
    stories = {items[slot].story_id for slot in different}
    stories -= {items[slot].story_id for slot in kept}
    return [
        (slot, same_url and slot not in kept)
        for slot, same_url in found
        if slot not in different and items[slot].story_id not in stories
    ]


def _shingle_overlap(shingles: bytes) -> Callable[[bytes], int]:
    """How many of the packed ``shingles`` another item's packed shingles have: a function
    of those, for comparing one new item with its candidates."""
    own = frozenset(unpack_ints(shingles))
    return lambda other: len(own.intersection(_values(other)))


def _keyword_overlap(
    keywords: str, values: list[float]
) -> Callable[[str], tuple[float, int, int]]:
    """For the space-separated ``keywords`` and a value of each (in their order): a function
    of another item's keywords giving the sum of the values of the keywords it shares
    (added in its order), how many it shares, and how many it has."""
    position = {word: i for i, word in enumerate(keywords.split())}

    def shared(other: str) -> tuple[float, int, int]:
        words = other.split()
        found = [values[position[w]] for w in words if w in position]
        # Added plainly, in order, as the C code adds them (sum() compensates its rounding
        # since Python 3.12).
        return functools.reduce(operator.add, found, 0.0), len(found), len(words)

    return shared


def _values(packed: bytes) -> Iterable[int]:
    # Packed little-endian: on such a machine a cast reads them without copying.
    if sys.byteorder == "little":
        return memoryview(packed).cast("I")
    return unpack_ints(packed)  # pragma: no cover - no big-endian CI machine
