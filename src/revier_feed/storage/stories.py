"""Stories: which items report the same news, what the story index is loaded from, and
the write transaction that places items (:class:`StoryWrites`)."""

from __future__ import annotations

import functools
import json
import operator
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from ..models import PlacedItem, StoredItem, Story, StoryPlacement, StoryText
from .database import chunks, from_db, marks, to_db
from .items import STORED, stored

#: The keyword_counts row holding the number of items counted.
_TOTAL = ""
#: SQLite's page cache while placing a large batch of items, in KiB (the default is 2 MiB).
PLACING_CACHE_KB = 32768
#: Placements from which a batch is large.
LARGE_BATCH = 1000


def pending(
    conn: sqlite3.Connection, source_ids: Sequence[str]
) -> dict[str, list[tuple[int, str]]]:
    """The ids and keys of the given sources' items not yet placed in a story, by source,
    oldest first."""
    # One query for all sources, filtered here: per source, SQLite would read every unplaced
    # item (by the story_id index) once per source, which is quadratic in a first cycle.
    rows = conn.execute("SELECT id, key, source_id FROM items WHERE story_id IS NULL ORDER BY id")
    found: dict[str, list[tuple[int, str]]] = {source_id: [] for source_id in source_ids}
    for id_, key, source_id in rows:
        listed = found.get(source_id)
        if listed is not None:
            listed.append((id_, key))
    return {source_id: listed for source_id, listed in found.items() if listed}


def texts(conn: sqlite3.Connection, ids: Sequence[int]) -> list[StoryText]:
    """What the stories step reads of these items (by id, in that order)."""
    found: list[StoryText] = []
    for chunk in chunks(ids):
        rows = conn.execute(
            "SELECT id, source_id, url, title, summary_text, content_html, published_at, "
            f"districts FROM items WHERE id IN ({marks(len(chunk))}) ORDER BY id",
            chunk,
        )
        found.extend(
            StoryText(
                id=id_,
                source_id=source_id,
                url=url,
                title=title,
                summary_text=summary,
                content_html=content,
                published_at=_published(published_at),
                districts=_districts(where),
            )
            for id_, source_id, url, title, summary, content, published_at, where in rows
        )
    return found


def _published(value: str) -> datetime:
    published = from_db(value)
    assert published is not None, "published_at is NOT NULL"
    return published


@functools.lru_cache(maxsize=1024)
def _districts(stored: str) -> frozenset[str]:
    """A stored district list (JSON); the few distinct lists are parsed once each."""
    return frozenset(json.loads(stored))


def boilerplate(conn: sqlite3.Connection, source_id: str) -> bytes:
    row = conn.execute("SELECT boilerplate FROM sources WHERE id = ?", (source_id,)).fetchone()
    return (row[0] if row else None) or b""


def set_boilerplate(conn: sqlite3.Connection, source_id: str, packed: bytes) -> None:
    conn.execute("UPDATE sources SET boilerplate = ? WHERE id = ?", (packed, source_id))


def counts(conn: sqlite3.Connection) -> tuple[dict[str, int], int]:
    """In how many items each keyword occurs, and how many items were counted."""
    found = dict(conn.execute("SELECT keyword, documents FROM keyword_counts"))
    return found, found.pop(_TOTAL, 0)


def save_counts(conn: sqlite3.Connection, changed: Mapping[str, int], total: int) -> None:
    """Store new counts for the keywords that changed (and the total)."""
    conn.executemany(
        "INSERT INTO keyword_counts (keyword, documents) VALUES (?, ?) "
        "ON CONFLICT (keyword) DO UPDATE SET documents = excluded.documents",
        [*changed.items(), (_TOTAL, total)],
    )


def placed(conn: sqlite3.Connection, since: datetime) -> Iterator[PlacedItem]:
    """Every item already in a story and published since ``since``: the story index's
    content."""
    rows = conn.execute(
        "SELECT id, story_id, published_at, shingles, keywords, districts, story_marks, "
        "story_events, source_id FROM items WHERE story_id IS NOT NULL AND published_at >= ?",
        (to_db(since),),
    )
    for row in rows:
        id_, story_id, published_at, shingles, keywords, districts, story_marks, events, source = (
            row
        )
        yield PlacedItem(
            item_id=id_,
            story_id=story_id,
            published_at=_published(published_at),
            shingles=shingles or b"",
            keywords=keywords or "",
            districts=tuple(json.loads(districts)) if districts != "[]" else (),
            marks=story_marks or b"",
            events=tuple(map(int, events.split())) if events else (),
            source_id=source,
        )


def generation(conn: sqlite3.Connection) -> int:
    """Changes whenever stories change other than by placing new items."""
    return int(conn.execute("SELECT generation FROM story_state").fetchone()[0])


def bump(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE story_state SET generation = generation + 1")


def next_story_id(conn: sqlite3.Connection) -> int:
    """The id a story created now gets (inside the write transaction, nobody else can):
    above every story's id, also those of deleted stories (migration 11)."""
    row = conn.execute(
        "SELECT max(coalesce((SELECT max(id) FROM stories), 0), last_story_id) FROM story_state"
    ).fetchone()
    return int(row[0]) + 1


def set_page_cache(conn: sqlite3.Connection, size: int) -> int:
    """Set SQLite's page cache size (``PRAGMA cache_size``); returns the one before.

    A first cycle rewrites every row of the store in one transaction, in the order of
    publication, not of ids: with SQLite's default cache of 2 MiB, changed pages were
    written to the WAL and read back again and again. Small cycles keep the default, and
    the pages it holds between them.
    """
    before = int(conn.execute("PRAGMA cache_size").fetchone()[0] or 0)
    conn.execute(f"PRAGMA cache_size = {int(size)}")
    return before


#: Where an item was placed, parameters numbered in :func:`_placement_rows`'s order.
_PLACE = (
    "UPDATE items SET story_id = ?2, story_similarity = ?3, shingles = ?4, keywords = ?5, "
    "story_marks = ?6, story_events = ?7 WHERE id = ?1"
)


def place(conn: sqlite3.Connection, placements: Sequence[StoryPlacement], now: datetime) -> None:
    """Write where items were placed: new stories first, then every item in one batch."""
    _new_stories(conn, placements, now)
    # In order of id, the rows' pages are visited once each, in the order they are stored.
    conn.executemany(_PLACE, _placement_rows(sorted(placements, key=_item_id)))


def stage(conn: sqlite3.Connection, placements: Sequence[StoryPlacement], now: datetime) -> None:
    """The first half of :func:`place` for a large batch: create the new stories and copy
    the placements into a temporary table; :func:`apply_staged` writes them into the items.

    Filling the table is a plain insert, a fraction of the cost of updating the items,
    whose rows are wide (texts, packed features) and fire the publish trigger; the update
    itself is one statement, so it may run on another thread while this one goes on.
    """
    _new_stories(conn, placements, now)
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS placing (item_id INTEGER PRIMARY KEY, story INTEGER,"
        " similarity REAL, shingles BLOB, keywords TEXT, marks BLOB, events TEXT)"
    )
    conn.execute("DELETE FROM temp.placing")
    rows = _placement_rows(sorted(placements, key=_item_id))
    conn.executemany("INSERT INTO temp.placing VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("UPDATE publish_state SET deferred = 1")


def apply_staged(conn: sqlite3.Connection) -> None:
    """Write the staged placements (:func:`stage`) into the items, in one statement, and
    bump the publish version once for all of them (schema version 10)."""
    conn.execute(
        "UPDATE items SET story_id = p.story, story_similarity = p.similarity,"
        " shingles = p.shingles, keywords = p.keywords, story_marks = p.marks,"
        " story_events = p.events FROM temp.placing AS p WHERE items.id = p.item_id"
    )
    conn.execute("UPDATE publish_state SET deferred = 0, version = random()")


def _new_stories(
    conn: sqlite3.Connection, placements: Sequence[StoryPlacement], now: datetime
) -> None:
    created = to_db(now)
    conn.executemany(
        "INSERT INTO stories (id, created_at) VALUES (?, ?)",
        [(p.story_id, created) for p in placements if p.new_story],
    )


def _placement_rows(placements: Sequence[StoryPlacement]) -> list[tuple[Any, ...]]:
    """Placements as rows: item id, story, similarity, shingles, keywords, marks, events."""
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


_item_id = operator.attrgetter("item_id")


#: News first seen more than this many days after the date it gives counts by that date in
#: the feeds: an old item found again (its links moved, a site back after months), not news
#: that came late (a listing that gives only the day, a site back after a weekend).
LATE_DAYS = 7
#: When an item came, as stored text (see :func:`recent`).
_CAME = (
    "CASE WHEN backlog OR julianday(first_seen_at) - julianday(published_at) > "
    f"{LATE_DAYS} THEN min(published_at, first_seen_at) ELSE first_seen_at END"
)


def recent(conn: sqlite3.Connection, source_ids: Sequence[str], limit: int) -> list[Story]:
    """The stories that came last, with a member from the given sources, newest first;
    members are the items of those sources.

    A story came when its first item (the first seen) came: an item collected as news when
    it was first seen; one of a new source's archive (backlog), or news first seen more
    than :data:`LATE_DAYS` after its date, on that date. Members that join later do not
    move it. Not by the date alone: news collected late (a listing that gives only the day,
    a site back after a weekend, a partner's republication of a recent release) ranked
    below a full feed's cut by its date and never reached a subscriber, and a story already
    in a feed dropped out when a member of an earlier date joined it. Stories that came at
    the same moment (a source's archive, the news of one fetch) rank by their first
    publication.
    """
    ids = list(source_ids)
    # Where the first cutoff is counted from (any date is correct, a good one saves rounds):
    # the newest date, by index, over all sources. News comes soon after its date; a store
    # of archives only (after a first run) was first seen long after the newest of them.
    newest = from_db(conn.execute("SELECT max(published_at) FROM items").fetchone()[0])
    if newest is None:
        return []
    # Grouping every item by story is a scan of the whole table. Instead look at the items
    # that may have come since a cutoff, by index: news first seen since, backlog published
    # since. Every story that came since then has all its members among them (an item comes
    # at the latest when it is first seen). Once `limit` such stories exist, no other story
    # can rank before them; otherwise move the cutoff back.
    first_seen, published = conn.execute(
        "SELECT min(first_seen_at), (SELECT min(published_at) FROM items) FROM items"
    ).fetchone()
    oldest = min(first_seen, published)  # text sorts as the dates do
    span = timedelta(days=7)
    while True:
        cutoff = to_db(newest - span) or ""
        found = _arrivals(conn, ids, cutoff)
        # Every item looked at: every story is complete, also those that came before the
        # cutoff.
        everything = oldest >= cutoff
        complete = [
            (came, first, story)
            for story, (came, first) in found.items()
            if everything or came >= cutoff
        ]
        if len(complete) >= limit or everything:
            complete.sort(reverse=True)
            return members(conn, [story for _, _, story in complete[:limit]], ids)
        span *= 2


def _arrivals(conn: sqlite3.Connection, ids: list[str], cutoff: str) -> dict[int, tuple[str, str]]:
    """Stories with a member that may have come at or after ``cutoff``: when each came (see
    :func:`recent`), and its first publication (which ranks stories that came at once); as
    stored, text that sorts as the dates do."""
    # Sources are filtered in Python, not in SQL: with them in the WHERE clause SQLite picks
    # the (source_id, key) index and reads every item instead of a range of dates.
    rows = conn.execute(
        "SELECT story_id FROM items WHERE first_seen_at >= ? AND NOT backlog "
        "AND story_id IS NOT NULL UNION "
        "SELECT story_id FROM items WHERE published_at >= ? AND backlog AND story_id IS NOT NULL",
        (cutoff, cutoff),
    )
    candidates = sorted(story_id for (story_id,) in rows)
    wanted = set(ids)
    # Per story: its first seen member's first-seen time and arrival, its first publication.
    first: dict[int, tuple[str, str, str]] = {}
    for chunk in chunks(candidates):
        rows = conn.execute(
            f"SELECT story_id, source_id, first_seen_at, {_CAME}, published_at FROM items "
            f"WHERE story_id IN ({marks(len(chunk))})",
            chunk,
        )
        for story_id, source_id, seen, at, published in rows:
            if source_id not in wanted:
                continue
            known = first.get(story_id)
            if known is None:
                first[story_id] = (seen, at, published)
                continue
            lead_seen, lead_at, lead_published = known
            if (seen, at) < (lead_seen, lead_at):
                lead_seen, lead_at = seen, at
            first[story_id] = (lead_seen, lead_at, min(published, lead_published))
    return {story_id: (at, published) for story_id, (_, at, published) in first.items()}


#: One placed item as ``stories list`` searches it: story, source, date, title, tags,
#: districts.
Facets = tuple[int, str, datetime, str, frozenset[str], frozenset[str]]


def facets(conn: sqlite3.Connection, source_ids: Sequence[str]) -> list[Facets]:
    """Every placed item of the given sources, without its texts."""
    wanted = set(source_ids)
    rows = conn.execute(
        "SELECT story_id, source_id, published_at, title, tags, districts FROM items "
        "WHERE story_id IS NOT NULL"
    )
    return [
        (
            story_id,
            source_id,
            _published(at),
            title,
            frozenset(json.loads(tags)),
            frozenset(json.loads(districts)),
        )
        for story_id, source_id, at, title, tags, districts in rows
        if source_id in wanted
    ]


def members(
    conn: sqlite3.Connection, story_ids: Sequence[int], source_ids: Sequence[str] | None = None
) -> list[Story]:
    """The given stories with their members (optionally only those of some sources), in the
    order of ``story_ids``."""
    grouped: dict[int, list[StoredItem]] = {i: [] for i in story_ids}
    # Sources are filtered here, not in SQL, so that SQLite uses the story index.
    wanted = set(source_ids) if source_ids is not None else None
    for chunk in chunks(story_ids):
        rows = conn.execute(
            f"SELECT {STORED} FROM items WHERE story_id IN ({marks(len(chunk))}) "
            "ORDER BY published_at, id",
            chunk,
        )
        for row in rows:
            if wanted is not None and row[1] not in wanted:  # source_id
                continue
            item = stored(row)
            assert item.story_id is not None
            grouped[item.story_id].append(item)
    return [Story(id=i, members=tuple(m)) for i, m in grouped.items() if m]


def split(conn: sqlite3.Connection, item_id: int, now: datetime) -> tuple[int, bool]:
    """Move an item into a story of its own and pin it there; returns the story id, and
    whether the item moved. An item alone in its story already is pinned where it is: a new
    story would give its feed entry a new id, and readers would show it twice."""
    row = conn.execute("SELECT story_id FROM items WHERE id = ?", (item_id,)).fetchone()
    current = row[0] if row else None
    if current is not None:
        others = conn.execute(
            "SELECT 1 FROM items WHERE story_id = ? AND id != ? LIMIT 1", (current, item_id)
        ).fetchone()
        if others is None:
            conn.execute("UPDATE items SET story_pinned = 1 WHERE id = ?", (item_id,))
            return int(current), False
    bump(conn)
    story_id = next_story_id(conn)
    conn.execute("INSERT INTO stories (id, created_at) VALUES (?, ?)", (story_id, to_db(now)))
    conn.execute(
        "UPDATE items SET story_id = ?, story_pinned = 1, story_similarity = NULL WHERE id = ?",
        (story_id, item_id),
    )
    return story_id, True


def merge(conn: sqlite3.Connection, into_story: int, from_story: int) -> int:
    """Move every item of ``from_story`` into ``into_story`` and pin them; returns how many."""
    bump(conn)
    moved = conn.execute(
        "UPDATE items SET story_id = ?, story_pinned = 1 WHERE story_id = ?",
        (into_story, from_story),
    ).rowcount
    conn.execute("UPDATE items SET story_pinned = 1 WHERE story_id = ?", (into_story,))
    conn.execute("DELETE FROM stories WHERE id = ?", (from_story,))
    return moved


def count_since(conn: sqlite3.Connection, source_ids: Sequence[str], since: datetime) -> int:
    """Stories whose first item was first seen after ``since``, among the given sources."""
    ids = list(source_ids)
    row = conn.execute(
        "SELECT count(*) FROM (SELECT story_id FROM items "
        f"WHERE source_id IN ({marks(len(ids))}) AND story_id IS NOT NULL "
        "GROUP BY story_id HAVING min(first_seen_at) >= ?)",
        (*ids, to_db(since)),
    ).fetchone()
    return int(row[0])


def recent_shingles(conn: sqlite3.Connection, source_id: str, limit: int) -> list[bytes]:
    """The packed shingles of the source's newest placed items."""
    rows = conn.execute(
        "SELECT shingles FROM items WHERE source_id = ? AND shingles IS NOT NULL "
        "ORDER BY id DESC LIMIT ?",
        (source_id, limit),
    )
    return [shingles for (shingles,) in rows]


class StoryWrites:
    """What placing items into stories reads and writes, inside one write transaction.

    A large batch of placements on SQLite is written while the caller goes on placing the
    next items (see :meth:`place`): every other method first waits for it, and its error,
    if any, comes out of that method (or :meth:`close`), so the transaction rolls back.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._cache_before: int | None = None  #: page cache size before a large batch
        #: Whether a large batch was written (its transaction rewrote many rows).
        self.large = False
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
        self.large = self.large or large
        if not large:
            place(self._conn, placements, now)
            return
        stage(self._conn, placements, now)
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="revier-feed-placements")
        self._writing = self._writer.submit(apply_staged, self._conn)
