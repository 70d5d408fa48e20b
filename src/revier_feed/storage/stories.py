"""Stories: which items report the same news, what the story index is loaded from, and
the write transaction that places items (:class:`StoryWrites`)."""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update

from ..models import PlacedItem, StoredItem, Story, StoryPlacement, StoryText
from .database import chunks
from .engine import executemany
from .items import _stored
from .schema import items, keyword_counts, publish_state, sources, stories, story_state

#: The keyword_counts row holding the number of items counted.
_TOTAL = ""
#: SQLite's page cache while placing a large batch of items, in KiB (the default is 2 MiB).
PLACING_CACHE_KB = 32768
#: Placements from which a batch is large.
LARGE_BATCH = 1000


def pending(conn: Connection, source_ids: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
    """The ids and keys of the given sources' items not yet placed in a story, by source,
    oldest first."""
    # One query for all sources, filtered here: per source, SQLite would read every unplaced
    # item (by the story_id index) once per source, which is quadratic in a first cycle.
    rows = conn.execute(
        select(items.c.id, items.c.key, items.c.source_id)
        .where(items.c.story_id.is_(None))
        .order_by(items.c.id)
    )
    found: dict[str, list[tuple[int, str]]] = {source_id: [] for source_id in source_ids}
    for id_, key, source_id in rows.all():
        listed = found.get(source_id)
        if listed is not None:
            listed.append((id_, key))
    return {source_id: listed for source_id, listed in found.items() if listed}


def texts(conn: Connection, ids: Sequence[int]) -> list[StoryText]:
    """What the stories step reads of these items (by id, in that order)."""
    found: list[StoryText] = []
    for chunk in chunks(ids):
        rows = conn.execute(
            select(
                items.c.id,
                items.c.source_id,
                items.c.url,
                items.c.title,
                items.c.summary_text,
                items.c.content_html,
                items.c.published_at,
                items.c.districts,
            )
            .where(items.c.id.in_(chunk))
            .order_by(items.c.id)
        )
        found.extend(
            StoryText(
                id=id_,
                source_id=source_id,
                url=url,
                title=title,
                summary_text=summary,
                content_html=content,
                published_at=published_at,
                districts=_districts(where),
            )
            for id_, source_id, url, title, summary, content, published_at, where in rows.all()
        )
    return found


@functools.lru_cache(maxsize=1024)
def _districts(stored: str) -> frozenset[str]:
    """A stored district list (JSON); the few distinct lists are parsed once each."""
    return frozenset(json.loads(stored))


def boilerplate(conn: Connection, source_id: str) -> bytes:
    value = conn.execute(select(sources.c.boilerplate).where(sources.c.id == source_id)).scalar()
    return value or b""


def set_boilerplate(conn: Connection, source_id: str, packed: bytes) -> None:
    conn.execute(update(sources).where(sources.c.id == source_id).values(boilerplate=packed))


def counts(conn: Connection) -> tuple[dict[str, int], int]:
    """In how many items each keyword occurs, and how many items were counted."""
    found = {row.keyword: row.documents for row in conn.execute(select(keyword_counts))}
    return found, found.pop(_TOTAL, 0)


def save_counts(conn: Connection, changed: Mapping[str, int], total: int) -> None:
    """Store new counts for the keywords that changed (and the total)."""
    values = {**changed, _TOTAL: total}
    words = list(values)
    existing: set[str] = set()
    for chunk in chunks(words):
        existing.update(
            conn.execute(
                select(keyword_counts.c.keyword).where(keyword_counts.c.keyword.in_(chunk))
            ).scalars()
        )
    # A first cycle counts tens of thousands of keywords: rows go to the driver's
    # executemany, not through Core's per-row parameter processing.
    updates = [(w, n) for w, n in values.items() if w in existing]
    if updates:
        executemany(conn, _COUNT_UPDATE, _COUNT_KEYS, updates)
    inserts = [(w, n) for w, n in values.items() if w not in existing]
    if inserts:
        executemany(conn, _COUNT_INSERT, _COUNT_COLUMNS, inserts)


#: A keyword's new count (see :func:`.engine.executemany`), values in _COUNT_KEYS order.
_COUNT_UPDATE = (
    update(keyword_counts)
    .where(keyword_counts.c.keyword == bindparam("k"))
    .values(documents=bindparam("n"))
)
_COUNT_KEYS = ("k", "n")
_COUNT_INSERT = keyword_counts.insert()
_COUNT_COLUMNS = ("keyword", "documents")


def placed(conn: Connection, since: datetime) -> Iterator[PlacedItem]:
    """Every item already in a story and published since ``since``: the story index's
    content."""
    rows = conn.execute(
        select(
            items.c.id,
            items.c.story_id,
            items.c.published_at,
            items.c.shingles,
            items.c.keywords,
            items.c.districts,
            items.c.story_marks,
            items.c.story_events,
        ).where(
            items.c.story_id.is_not(None),
            items.c.published_at >= since,
        )
    )
    for row in rows:
        yield PlacedItem(
            item_id=row.id,
            story_id=row.story_id,
            published_at=row.published_at,
            shingles=row.shingles or b"",
            keywords=row.keywords or "",
            districts=tuple(json.loads(row.districts)) if row.districts != "[]" else (),
            marks=row.story_marks or b"",
            events=tuple(map(int, row.story_events.split())) if row.story_events else (),
        )


def generation(conn: Connection) -> int:
    """Changes whenever stories change other than by placing new items."""
    return int(conn.execute(select(story_state.c.generation)).scalar_one())


def bump(conn: Connection) -> None:
    conn.execute(update(story_state).values(generation=story_state.c.generation + 1))


def next_story_id(conn: Connection) -> int:
    """The id a story created now gets (inside the write transaction, nobody else can)."""
    return int(conn.execute(select(func.coalesce(func.max(stories.c.id), 0))).scalar_one()) + 1


def set_page_cache(conn: Connection, size: int) -> int:
    """Set SQLite's page cache size (``PRAGMA cache_size``); returns the one before.

    A first cycle rewrites every row of the store in one transaction, in the order of
    publication, not of ids: with SQLite's default cache of 2 MiB, changed pages were
    written to the WAL and read back again and again. Small cycles keep the default, and
    the pages it holds between them.
    """
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar() or 0)
    conn.exec_driver_sql(f"PRAGMA cache_size = {int(size)}")
    return before


def place(conn: Connection, placements: Sequence[StoryPlacement], now: datetime) -> None:
    """Write where items were placed: new stories first, then every item in one batch."""
    _new_stories(conn, placements, now)
    if not placements:
        return
    # In order of id, the rows' pages are visited once each, in the order they are stored.
    placements = sorted(placements, key=_item_id)
    executemany(conn, _PLACE, _PLACE_KEYS, _placement_rows(placements))


def stage(conn: Connection, placements: Sequence[StoryPlacement], now: datetime) -> None:
    """The first half of :func:`place` for a large batch: create the new stories and copy
    the placements into a temporary table; :func:`apply_staged` writes them into the items.

    Filling the table is a plain insert, a fraction of the cost of updating the items,
    whose rows are wide (texts, packed features) and fire the publish trigger; the update
    itself is one statement, so it may run on another thread while this one goes on.
    """
    _new_stories(conn, placements, now)
    conn.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS placing (item_id INTEGER PRIMARY KEY, story INTEGER,"
        " similarity REAL, shingles BLOB, keywords TEXT, marks BLOB, events TEXT)"
    )
    conn.exec_driver_sql("DELETE FROM temp.placing")
    rows = _placement_rows(sorted(placements, key=_item_id))
    conn.exec_driver_sql("INSERT INTO temp.placing VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute(update(publish_state).values(deferred=1))


def apply_staged(conn: Connection) -> None:
    """Write the staged placements (:func:`stage`) into the items, in one statement, and
    bump the publish version once for all of them (schema version 10)."""
    conn.exec_driver_sql(
        "UPDATE items SET story_id = p.story, story_similarity = p.similarity,"
        " shingles = p.shingles, keywords = p.keywords, story_marks = p.marks,"
        " story_events = p.events FROM temp.placing AS p WHERE items.id = p.item_id"
    )
    conn.execute(update(publish_state).values(deferred=0, version=func.random()))


def _new_stories(conn: Connection, placements: Sequence[StoryPlacement], now: datetime) -> None:
    new = [(p.story_id, now) for p in placements if p.new_story]
    if new:
        executemany(conn, _NEW_STORY, ("id", "created_at"), new)


def _placement_rows(placements: Sequence[StoryPlacement]) -> list[tuple[Any, ...]]:
    """Placements as rows in :data:`_PLACE_KEYS` order."""
    return [
        (
            p.item_id,
            p.story_id,
            p.similarity,
            p.shingles,
            p.keywords,
            p.marks,
            " ".join(map(str, p.events)) or None,
        )
        for p in placements
    ]


_NEW_STORY = stories.insert()
#: Where an item was placed (see :func:`.engine.executemany`), values in _PLACE_KEYS order.
_PLACE = (
    update(items)
    .where(items.c.id == bindparam("item_id"))
    .values(
        story_id=bindparam("story"),
        story_similarity=bindparam("similarity"),
        shingles=bindparam("packed"),
        keywords=bindparam("words"),
        story_marks=bindparam("marks"),
        story_events=bindparam("events"),
    )
)
_PLACE_KEYS = ("item_id", "story", "similarity", "packed", "words", "marks", "events")
_item_id = operator.attrgetter("item_id")


def recent(conn: Connection, source_ids: Sequence[str], limit: int) -> list[Story]:
    """The newest stories with a member from the given sources, by first publication,
    newest first; members are the items of those sources."""
    ids = list(source_ids)
    # Bounds over all sources: they come from the date index, and they are safe bounds.
    newest = conn.execute(select(func.max(items.c.published_at))).scalar()
    if newest is None:
        return []
    # Grouping every item by story is a scan of the whole table. Instead look at the items
    # published since a cutoff (by index): every story whose first member is that recent
    # has all its members there. Once `limit` such stories exist, no older story can rank
    # before them; otherwise move the cutoff back and look again.
    span = timedelta(days=7)
    while True:
        cutoff = newest - span
        found = _first_published(conn, ids, cutoff)
        complete = [(first, story) for story, first in found.items() if first >= cutoff]
        oldest = conn.execute(select(func.min(items.c.published_at))).scalar()
        if len(complete) >= limit or oldest is None or oldest >= cutoff:
            complete.sort(reverse=True)
            return members(conn, [story for _, story in complete[:limit]], ids)
        span *= 2


def _first_published(conn: Connection, ids: list[str], cutoff: datetime) -> dict[int, datetime]:
    """Stories with a member published at or after ``cutoff``: their first publication."""
    # Sources are filtered in Python, not in SQL: with them in the WHERE clause SQLite picks
    # the (source_id, key) index and reads every item instead of a range of dates.
    candidates = sorted(
        {
            row.story_id
            for row in conn.execute(select(items.c.story_id).where(items.c.published_at >= cutoff))
            if row.story_id is not None
        }
    )
    wanted = set(ids)
    first: dict[int, datetime] = {}
    for chunk in chunks(candidates):
        rows = conn.execute(
            select(items.c.story_id, items.c.source_id, items.c.published_at).where(
                items.c.story_id.in_(chunk)
            )
        )
        for story_id, source_id, published_at in rows:
            if source_id in wanted and (story_id not in first or published_at < first[story_id]):
                first[story_id] = published_at
    return first


def members(
    conn: Connection, story_ids: Sequence[int], source_ids: Sequence[str] | None = None
) -> list[Story]:
    """The given stories with their members (optionally only those of some sources), in the
    order of ``story_ids``."""
    grouped: dict[int, list[StoredItem]] = {i: [] for i in story_ids}
    # Sources are filtered here, not in SQL, so that SQLite uses the story index.
    wanted = set(source_ids) if source_ids is not None else None
    for chunk in chunks(story_ids):
        query = select(items).where(items.c.story_id.in_(chunk))
        for row in conn.execute(query.order_by(items.c.published_at, items.c.id)).mappings():
            if wanted is not None and row["source_id"] not in wanted:
                continue
            stored = _stored(row)
            assert stored.story_id is not None
            grouped[stored.story_id].append(stored)
    return [Story(id=i, members=tuple(m)) for i, m in grouped.items() if m]


def split(conn: Connection, item_id: int, now: datetime) -> int:
    """Move an item into a story of its own and pin it there; returns the new story id."""
    bump(conn)
    key = conn.execute(stories.insert().values(created_at=now)).inserted_primary_key
    assert key is not None
    story_id = int(key[0])
    conn.execute(
        update(items)
        .where(items.c.id == item_id)
        .values(story_id=story_id, story_pinned=True, story_similarity=None)
    )
    return story_id


def merge(conn: Connection, into_story: int, from_story: int) -> int:
    """Move every item of ``from_story`` into ``into_story`` and pin them; returns how many."""
    bump(conn)
    result = conn.execute(
        update(items)
        .where(items.c.story_id == from_story)
        .values(story_id=into_story, story_pinned=True)
    )
    conn.execute(update(items).where(items.c.story_id == into_story).values(story_pinned=True))
    conn.execute(delete(stories).where(stories.c.id == from_story))
    return int(result.rowcount)


def count_since(conn: Connection, source_ids: Sequence[str], since: datetime) -> int:
    """Stories whose first item was first seen after ``since``, among the given sources."""
    first_seen = func.min(items.c.first_seen_at)
    subquery = (
        select(items.c.story_id)
        .where(items.c.source_id.in_(list(source_ids)), items.c.story_id.is_not(None))
        .group_by(items.c.story_id)
        .having(first_seen >= since)
        .subquery()
    )
    return int(conn.execute(select(func.count()).select_from(subquery)).scalar_one())


def recent_shingles(conn: Connection, source_id: str, limit: int) -> list[bytes]:
    """The packed shingles of the source's newest placed items."""
    rows = conn.execute(
        select(items.c.shingles)
        .where(items.c.source_id == source_id, items.c.shingles.is_not(None))
        .order_by(items.c.id.desc())
        .limit(limit)
    )
    return [row.shingles for row in rows]


class StoryWrites:
    """What placing items into stories reads and writes, inside one write transaction.

    A large batch of placements on SQLite is written while the caller goes on placing the
    next items (see :meth:`place`): every other method first waits for it, and its error,
    if any, comes out of that method (or :meth:`close`), so the transaction rolls back.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._cache_before: int | None = None  #: page cache size before a large batch
        self._writer: ThreadPoolExecutor | None = None
        self._writing: Future[None] | None = None

    def close(self) -> None:
        """Wait for a batch still being written; the connection's page cache as it was."""
        try:
            self._settle()
        finally:
            if self._writer is not None:
                self._writer.shutdown()
                self._writer = None
            if self._cache_before is not None:
                set_page_cache(self._conn, self._cache_before)
                self._cache_before = None

    def _settle(self) -> None:
        """Wait for the batch being written, raising its error."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()

    def boilerplate(self, source_id: str) -> bytes:
        self._settle()
        return boilerplate(self._conn, source_id)

    def recent_shingles(self, source_id: str, limit: int) -> list[bytes]:
        """Packed shingles of the source's newest placed items (for boilerplate learning)."""
        self._settle()
        return recent_shingles(self._conn, source_id, limit)

    def set_boilerplate(self, source_id: str, packed: bytes) -> None:
        self._settle()
        set_boilerplate(self._conn, source_id, packed)

    def keyword_counts(self) -> tuple[dict[str, int], int]:
        """Items per keyword, and items counted in all (kept in memory while placing)."""
        self._settle()
        return counts(self._conn)

    def save_keyword_counts(self, changed: Mapping[str, int], total: int) -> None:
        self._settle()
        save_counts(self._conn, changed, total)

    def placed(self, since: datetime) -> Iterator[PlacedItem]:
        """Items already in a story, published since ``since`` (to load the index)."""
        self._settle()
        return placed(self._conn, since)

    def generation(self) -> int:
        """Changes when stories change other than by placing items (split, merge, retag)."""
        self._settle()
        return generation(self._conn)

    def next_story_id(self) -> int:
        self._settle()
        return next_story_id(self._conn)

    def place(self, placements: Sequence[StoryPlacement], now: datetime) -> None:
        """Write where items were placed (and create the stories they started).

        A large batch on SQLite is staged here and written into the items on a thread of
        its own while the caller places the next items: SQLite runs that one statement
        without Python's GIL, so both cores work. (Writing row by row on a thread was slower:
        the GIL went back and forth for every row.)
        """
        self._settle()
        large = len(placements) >= LARGE_BATCH
        if large and self._cache_before is None:
            self._cache_before = set_page_cache(self._conn, -PLACING_CACHE_KB)
        if not large:
            place(self._conn, placements, now)
            return
        stage(self._conn, placements, now)
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="revier-feed-placements")
        self._writing = self._writer.submit(apply_staged, self._conn)
