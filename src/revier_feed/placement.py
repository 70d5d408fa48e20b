"""Story placement: new items into stories, with the candidate index in memory.

This is the stories half of a collection cycle (:mod:`.ingest` calls it once all sources of
the cycle are stored): take the unplaced items' features (prepared while the cycle collected
them, :class:`PreparedFeatures`, or computed now from the stored items, learning each
source's boilerplate), load the story index of the time window (or reuse a worker's), place
the items oldest first, write every placement back in one batch.

A large batch uses both cores twice: its features are computed in worker processes, and
its candidates are found in a process of their own while this one confirms them
(:class:`_Finder`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from . import stories
from ._utils import collector_paused, forkserver, start_every_worker, usable_cores
from .models import StoryPlacement, StoryText
from .storage import Storage, StoryWrites
from .story_work import (
    FINDER_CHUNK,
    Pending,
    Query,
    SourceFeatures,
    find_candidates,
    source_features,
    without_features,
)

log = logging.getLogger(__name__)

#: Placements written per statement: a first cycle's hundred thousand items are not all
#: held in memory until the end (it is still one transaction). A batch is written on a
#: thread while the next is placed, but the last one after the loop, with nothing beside
#: it: 2,000 made that wait 0.03 s instead of 0.13 s for 5,000 (15,000 items).
_WRITE_BATCH = 2000
#: From this many new items on, their features are computed on every core (worker
#: processes started for the run): below it, starting them costs more than it saves.
PARALLEL_MIN_ITEMS = 5000


#: A source's newest placed items whose shingles count when its boilerplate is learned: a
#: footer shows in them too, even if few items are new.
RECENT_ITEMS = 20


class PreparedFeatures:
    """New items' features computed while their sources were collected, by source and item
    key, for :func:`place_in_stories`.

    The features are the largest part of a first cycle's CPU time. Computed after every
    source is stored, they kept the cores busy while nothing else could run; computed as
    each source is collected (on the normalizing workers), they use the time the workers
    were idle while the cycle fetched, parsed and stored, and placing does not read the
    items back from the store.
    """

    def __init__(self) -> None:
        self._by_source: dict[str, tuple[frozenset[int], frozenset[int], dict[str, Pending]]] = {}

    def add(
        self, source_id: str, keys: Sequence[str], known: frozenset[int], result: SourceFeatures
    ) -> None:
        """The features of a source's new items (``keys``, in the order of ``result``),
        learned with the boilerplate ``known`` before."""
        learned, found = result
        self._by_source[source_id] = (known, learned, dict(zip(keys, found, strict=True)))

    def take(
        self, source_id: str, unplaced: Sequence[tuple[int, str]]
    ) -> tuple[frozenset[int] | None, list[Pending]] | None:
        """The features of a source's unplaced items (ids and keys), with its boilerplate
        if it changed; None unless exactly these items were prepared (others left unplaced
        by an interrupted cycle are learned from together, as a batch read back)."""
        entry = self._by_source.pop(source_id, None)
        if entry is None or len(entry[2]) != len(unplaced):
            return None
        known, learned, by_key = entry
        found: list[Pending] = []
        for item_id, key in unplaced:
            ready = by_key.get(key)
            if ready is None:
                return None
            found.append(ready._replace(item_id=item_id))
        return (learned if learned != known else None), found


class StoryCache:
    """The story index of the last placement run, kept between the cycles of a worker.

    Valid while the store's story generation is unchanged (split, merge and retag change
    it; placing items does not, and only one collector writes to a store) and its items
    reach back far enough, but not a week further than they need to; otherwise the next
    run loads the index from the store again. Nothing is ever taken out of an index: kept
    for good, a worker's index held every item placed since it started (about 5 KB each,
    over 300 MB after some months).
    """

    #: Extra days loaded, so that the window's start can move a week before a reload.
    SLACK = timedelta(days=7)

    def __init__(self) -> None:
        self.index: stories.StoryIndex | None = None
        self.since: datetime | None = None  #: items published since then are indexed
        self.generation: int | None = None

    def get(self, since: datetime, generation: int) -> stories.StoryIndex | None:
        fits = self.since is not None and self.since <= since <= self.since + 2 * self.SLACK
        return self.index if fits and self.generation == generation else None

    def keep(self, index: stories.StoryIndex, since: datetime, generation: int) -> None:
        self.index, self.since, self.generation = index, since, generation

    def clear(self) -> None:
        self.index = self.since = self.generation = None


def place_in_stories(
    source_ids: Sequence[str],
    storage: Storage,
    window: timedelta,
    now: datetime,
    cache: StoryCache | None = None,
    prepared: PreparedFeatures | None = None,
) -> None:
    """Put the new items of these sources into stories: a story they repeat, or their own.

    Items are placed oldest first, whatever order their sources were fetched in, so an
    original release is in place before its republications arrive and the result does not
    depend on network timing. The story index is built in memory from the items of the
    time window (or taken from ``cache``, a worker's) and grows as items are placed;
    everything is written back in one batch at the end. This runs after the items are
    stored, in its own transaction: if it is interrupted, the items are still unplaced
    next time and are placed then. Features ``prepared`` while the items were collected are
    used instead of reading the items again.
    """
    try:
        with collector_paused():
            kept = _place(source_ids, storage, window, now, cache, prepared)
    except BaseException:
        if cache is not None:
            cache.clear()  # it may hold placements that were never written
        raise
    if cache is not None and kept is not None:
        cache.keep(*kept)


def _place(
    source_ids: Sequence[str],
    storage: Storage,
    window: timedelta,
    now: datetime,
    cache: StoryCache | None,
    prepared: PreparedFeatures | None,
) -> tuple[stories.StoryIndex, datetime, int] | None:
    """:func:`place_in_stories`; returns the index, since when it holds items, and the
    story generation it belongs to."""
    with storage.story_index() as store:
        source_of: dict[int, str] = {}
        pending = _pending_features(source_ids, storage, store, prepared, source_of)
        if not pending:
            return None
        # Newest first, so that the oldest is popped first and placed items free memory.
        pending.sort(key=_placing_order, reverse=True)
        since = pending[-1].published_at - window
        generation = store.generation()
        index = cache.get(since, generation) if cache is not None else None
        if index is not None and index.window != window.total_seconds():
            index = None  # the configuration changed the window
        if index is None:
            if cache is not None:
                since -= StoryCache.SLACK
            index = _load_index(store, since, window)
        elif cache is not None and cache.since is not None:
            since = cache.since
        stats = index.stats
        next_story = store.next_story_id()
        placements: list[StoryPlacement] = []
        finder = _Finder.start(index, pending) if _worth_a_finder(index, pending) else None
        try:
            while pending:
                if len(placements) >= _WRITE_BATCH:
                    store.place(placements, now)
                    placements = []
                new = pending.pop()
                f = new.features
                source = source_of.get(new.item_id, "")
                found = None
                if finder is not None:
                    try:
                        found = finder.next(new.item_id)
                    except _FinderGone:
                        # Its work, here: the marks it took, and those of the items since.
                        log.warning("the story candidate finder process died; finding them here")
                        finder.take_back(index)
                        finder = None
                try:
                    if found is None:
                        match = index.match(f, new.published_at, source)
                    else:
                        match = index.confirm(f, found, source)
                except Exception:
                    # One odd item must not keep the other items out of the feeds.
                    log.exception(
                        "item %d placed in a story of its own after an unexpected error",
                        new.item_id,
                    )
                    placements.append(
                        StoryPlacement(new.item_id, next_story, True, None, b"", "", b"")
                    )
                    next_story += 1
                    if finder is not None:
                        # It listed the item, which stays out of the index here: the rest
                        # of the batch is found here, with the marks of the items placed.
                        finder.take_back(index)
                        finder = None
                    continue
                placement = StoryPlacement(
                    item_id=new.item_id,
                    story_id=match.story_id if match else next_story,
                    new_story=match is None,
                    similarity=match.similarity if match else None,
                    shingles=f.shingles,
                    keywords=f.keywords,
                    marks=f.marks,
                    events=f.upcoming,
                )
                next_story += match is None
                placements.append(placement)
                index.add(
                    new.item_id,
                    placement.story_id,
                    new.published_at,
                    f.shingles,
                    f.keywords,
                    f.districts,
                    f.marks,
                    f.upcoming,
                    source,
                )
                if finder is not None:
                    finder.listed(new.item_id, new.published_at, f.marks)
                stats.add(f.keywords)
        finally:
            if finder is not None:
                finder.close()
        store.place(placements, now)
        store.save_keyword_counts(stats.take_changed(), stats.total)
    if finder is not None:
        # The marks of this run's items are the finder's, gone with it: the next run loads
        # the index from the store (a batch this large is a first cycle or a catch-up).
        if cache is not None:
            cache.clear()
        return None
    return index, since, generation


def _placing_order(item: Pending) -> tuple[datetime, bytes, int, int]:
    """Oldest first; items published at the same time by their text (shingles, then URL),
    not by their ids, which follow the order their sources happened to be stored in."""
    features = item.features
    return (item.published_at, features.shingles, features.url_mark or 0, item.item_id)


def _worth_a_finder(index: stories.StoryIndex, pending: list[Pending]) -> bool:
    """Whether to find the candidates in a process of their own: for a large batch, when
    there is a second core, and when the batch is at least as large as the index it joins
    (the finder gets a copy of the index's marks, and the next run loads them again)."""
    return (
        len(pending) >= PARALLEL_MIN_ITEMS and len(pending) >= len(index) and usable_cores() >= 2
    )


class _FinderGone(Exception):
    """The candidate finder process is gone (killed, out of memory, or its pipe broke)."""


class _Finder:
    """The candidate finder: a process that finds every new item's candidates, in placing
    order, while this one confirms them.

    Which items are candidates depends only on the items placed before and the keyword
    counts, never on the stories they joined (:class:`.stories.Marks`), so the finder
    runs ahead of the placing loop, keeping its own copy of the marks and the counts.
    Finding (looking an item's marks up, listing it under them) was about half of the
    loop's time, confirming the candidates and counting keywords most of the rest; the
    finder also counts keywords, for choosing the rarest lead keywords.
    """

    def __init__(
        self,
        process: BaseProcess,
        sender: threading.Thread,
        conn: Connection,
        marks: stories.Marks,
        items: int,
    ) -> None:
        self._process = process
        self._sender = sender
        self._conn = conn
        self._marks = marks  # as they were handed over, for :meth:`take_back`
        self._since: list[tuple[int, float, bytes]] = []  # items listed since
        self._chunk: list[tuple[int, list[tuple[int, bool]]]] = []
        self._at = 0
        self._left = items  # whose candidates are still to come

    @classmethod
    def start(cls, index: stories.StoryIndex, pending: list[Pending]) -> _Finder | None:
        """Start a finder for ``pending`` (placed from the end), or None if it cannot start:
        then the loop finds the candidates itself."""
        marks = index.detach_marks()
        context = forkserver()
        conn, child = context.Pipe()
        try:
            process = context.Process(
                target=find_candidates,
                args=(child, marks, index.stats),
                name="revier-feed story candidates",
                daemon=True,
            )
            process.start()
        except (OSError, RuntimeError) as e:
            log.warning("the story candidate finder could not start (%s); finding them here", e)
            conn.close()
            index.attach_marks(marks)
            return None
        finally:
            child.close()
        # Only what finding needs: the shingles, most of an item's size, stay here.
        queries: list[Query] = [
            (p.published_at.timestamp(), p.item_id, p.features._replace(shingles=b""))
            for p in reversed(pending)
        ]
        # Sent a chunk at a time, so the finder holds one chunk's copy, not the batch's; from
        # a thread, so the loop here receives the answers meanwhile (one thread doing both
        # could block on a full pipe each way).
        sender = threading.Thread(
            target=_send_queries, args=(conn, queries), name="revier-feed story queries"
        )
        sender.start()
        return cls(process, sender, conn, marks, len(pending))

    def next(self, item_id: int) -> list[tuple[int, bool]]:
        """The candidates (slots, same URL) of the next item, ``item_id``."""
        if self._at == len(self._chunk):
            try:
                self._chunk = self._conn.recv()
            except (EOFError, OSError) as e:
                raise _FinderGone from e
            self._at = 0
        found_for, found = self._chunk[self._at]
        self._at += 1
        self._left -= 1
        if found_for != item_id:
            raise RuntimeError(f"candidates of item {found_for} sent for item {item_id}")
        return found

    def listed(self, item_id: int, published: datetime, marks: bytes) -> None:
        """Note an item the finder listed, for :meth:`take_back`."""
        self._since.append((item_id, published.timestamp(), marks))

    def take_back(self, index: stories.StoryIndex) -> None:
        """Give ``index`` its marks back, with every item added since, and stop."""
        self.close()
        for item_id, published, marks in self._since:
            self._marks.add(item_id, published, marks)
        self._since.clear()
        index.attach_marks(self._marks)

    def close(self) -> None:
        """Stop the finder; once it has sent every item's candidates, log what it used."""
        if self._left:
            # Its answers are not wanted any more (the loop failed, or found the rest
            # itself): stopping it also ends a send of the thread blocked on a full pipe.
            self._process.kill()
        self._sender.join()
        if not self._left:
            with contextlib.suppress(EOFError, OSError):
                if self._conn.poll(5.0):  # its figures follow its last answer at once
                    items, cpu, peak = self._conn.recv()
                    log.debug(
                        "story candidate finder: %d items, %.1f s of CPU, peak RSS %.0f MB",
                        items,
                        cpu,
                        peak,
                    )
        self._conn.close()
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def _send_queries(conn: Connection, queries: list[Query]) -> None:
    """Send the finder its queries, :data:`.story_work.FINDER_CHUNK` per message, then None."""
    try:
        for start in range(0, len(queries), FINDER_CHUNK):
            conn.send(queries[start : start + FINDER_CHUNK])
        conn.send(None)
    except OSError:
        pass  # the finder is gone: the loop learns it from its next receive


def _load_index(store: StoryWrites, since: datetime, window: timedelta) -> stories.StoryIndex:
    """The index of every placed item published since ``since``, with the keyword counts."""
    index = stories.StoryIndex(window, stories.KeywordStats(*store.keyword_counts()))
    for placed in store.placed(since):
        index.add(
            placed.item_id,
            placed.story_id,
            placed.published_at,
            placed.shingles,
            placed.keywords,
            frozenset(placed.districts),
            placed.marks,
            placed.events,
            placed.source_id,
        )
    return index


def _pending_features(
    source_ids: Sequence[str],
    storage: Storage,
    store: StoryWrites,
    prepared: PreparedFeatures | None,
    source_of: dict[int, str],
) -> list[Pending]:
    """The unplaced items of each source with their features, the source's boilerplate
    (learned from these items and its recent ones) removed: as ``prepared`` while they were
    collected, or computed now. Each item's source goes into ``source_of``."""
    pending: list[Pending] = []
    by_source: dict[str, list[int]] = {}
    for source_id, listed in storage.pending_story_items(source_ids).items():
        source_of.update(dict.fromkeys((item_id for item_id, _ in listed), source_id))
        ready = prepared.take(source_id, listed) if prepared is not None else None
        if ready is None:
            by_source[source_id] = [item_id for item_id, _ in listed]
            continue
        learned, found = ready
        if learned is not None:
            store.set_boilerplate(source_id, stories.pack(learned))
        pending.extend(found)
    if by_source:
        pending.extend(_computed_features(by_source, storage, store))
    return pending


def _computed_features(
    by_source: dict[str, list[int]], storage: Storage, store: StoryWrites
) -> list[Pending]:
    """:func:`_pending_features` of items whose features were not prepared: their texts are
    read from the store."""
    processes = min(usable_cores(), len(by_source))
    if sum(map(len, by_source.values())) < PARALLEL_MIN_ITEMS or processes < 2:
        return _collect(by_source, storage, store, None, 0)
    # Reading the words is most of the CPU time of a large batch and needs nothing but the
    # items: it runs on every core.
    context = forkserver()
    try:
        with ProcessPoolExecutor(processes, mp_context=context) as pool:
            start_every_worker(pool, processes)
            return _collect(by_source, storage, store, pool, 2 * processes)
    except BrokenProcessPool:
        # A worker died (killed, out of memory, or it could not start): same work, here.
        log.warning("a story worker process died; computing the features here")
        return _collect(by_source, storage, store, None, 0)


def _collect(
    by_source: dict[str, list[int]],
    storage: Storage,
    store: StoryWrites,
    pool: ProcessPoolExecutor | None,
    ahead: int,
) -> list[Pending]:
    """:func:`_computed_features`, one source at a time, on ``pool`` or here.

    At most ``ahead`` sources are read ahead of the one whose results are collected (enough
    to keep the pool busy), so only their texts are in memory at once.
    """
    pending: list[Pending] = []
    queued: deque[tuple[str, frozenset[int], list[StoryText], Future[SourceFeatures]]] = deque()

    def finish() -> None:
        source_id, known, texts, result = queued.popleft()
        try:
            boilerplate, found = result.result()
        except BrokenProcessPool:
            raise  # the caller computes everything again here
        except Exception:
            # A bug on one source's text must not keep every other item out of the stories
            # (this cycle's, and every later one's, which would meet the same text again).
            log.exception(
                "source %s: the story features of %d new items could not be computed; "
                "each is a story of its own",
                source_id,
                len(texts),
                extra={"source_id": source_id},
            )
            boilerplate, found = known, without_features(texts)
        if boilerplate != known:
            store.set_boilerplate(source_id, stories.pack(boilerplate))
        pending.extend(found)

    for source_id, ids in by_source.items():
        known = stories.unpack(store.boilerplate(source_id))
        texts = storage.story_texts(ids)
        # A source's footer shows in its recent items too, even if few items are new.
        args = (texts, known, store.recent_shingles(source_id, RECENT_ITEMS))
        if pool is None:
            result: Future[SourceFeatures] = Future()
            try:
                result.set_result(source_features(*args))
            except Exception as error:
                result.set_exception(error)
        else:
            result = pool.submit(source_features, *args)
        queued.append((source_id, known, texts, result))
        if len(queued) > ahead:
            finish()
    while queued:
        finish()
    return pending
