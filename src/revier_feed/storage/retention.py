"""Retention: removing old items while keeping stories, the index and the counts consistent."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta

from ..models import RetentionResult
from .database import chunks, from_db, marks, to_db
from .stories import _TOTAL, bump


def retire(conn: sqlite3.Connection, before: datetime, now: datetime) -> RetentionResult:
    """Remove items published before ``before``; returns what was removed.

    Every trace goes with them: their candidate marks (kept in their rows), their share of
    the keyword counts, stories left without members and what partners were sent of those
    (``digest_stories``); the story generation changes, so a worker reloads its story
    index. Each removed item leaves a tombstone (source, key),
    so a source that still lists it does not bring it back as news. A story keeping some
    members simply shows the oldest remaining one first: the lead item is chosen when
    publishing, from the members there are.

    Tombstones whose source has gone without their key for as long as the retention
    period (``now - before``) go first (:func:`forget_tombstones`).
    """
    forgotten = forget_tombstones(conn, now - before)
    rows = conn.execute(
        "SELECT id, source_id, key, keywords, story_id, url, title FROM items "
        "WHERE published_at < ? ORDER BY id",
        (to_db(before),),
    ).fetchall()
    if not rows:
        return RetentionResult(items=0, stories=0, tombstones=forgotten)
    ids = [row[0] for row in rows]
    _forget_keywords(conn, (words for _, _, _, words, *_ in rows if words is not None))
    for chunk in chunks(ids):
        conn.execute(f"DELETE FROM items WHERE id IN ({marks(len(chunk))})", chunk)
    bump(conn)
    deleted_at = to_db(now)
    conn.executemany(
        "INSERT INTO item_tombstones (source_id, key, deleted_at, url, title) "
        "VALUES (?, ?, ?, ?, ?)",
        [(source_id, key, deleted_at, url, title) for _, source_id, key, _, _, url, title in rows],
    )
    touched = sorted({story for *_, story, _, _ in rows if story is not None})
    emptied = 0
    for chunk in chunks(touched):
        listed = marks(len(chunk))
        gone = [
            story_id
            for (story_id,) in conn.execute(
                f"SELECT id FROM stories WHERE id IN ({listed}) AND id NOT IN "
                f"(SELECT story_id FROM items WHERE story_id IN ({listed}))",
                (*chunk, *chunk),
            )
        ]
        if not gone:
            continue
        emptied += len(gone)
        conn.execute(f"DELETE FROM stories WHERE id IN ({marks(len(gone))})", gone)
        # What partners were sent of a story that is gone: its id is never given again
        # (migration 11), so nothing needs it, and every digest run read it.
        conn.execute(f"DELETE FROM digest_stories WHERE story_id IN ({marks(len(gone))})", gone)
    return RetentionResult(items=len(ids), stories=emptied, tombstones=forgotten)


def retired_keys(conn: sqlite3.Connection, source_id: str, keys: Iterable[str]) -> set[str]:
    """The given keys of ``source_id`` that retention removed."""
    found: set[str] = set()
    for chunk in chunks(list(keys)):
        rows = conn.execute(
            "SELECT key FROM item_tombstones "
            f"WHERE source_id = ? AND key IN ({marks(len(chunk))})",
            (source_id, *chunk),
        )
        found.update(key for (key,) in rows)
    return found


def tombstone_keys(
    conn: sqlite3.Connection, source_id: str
) -> list[tuple[str, str | None, str | None]]:
    """Each tombstone of ``source_id``: its key, and its item's link and title (None for
    tombstones of before schema 17)."""
    rows = conn.execute(
        "SELECT key, url, title FROM item_tombstones WHERE source_id = ? ORDER BY key",
        (source_id,),
    )
    return [(key, url, title) for key, url, title in rows]


def rekey_tombstones(
    conn: sqlite3.Connection, source_id: str, new_keys: Mapping[str, str]
) -> None:
    """Give tombstones of ``source_id`` new keys (old key -> new key): its items are keyed
    otherwise from now on. Two that get one key are one."""
    rows = []
    for chunk in chunks(list(new_keys)):
        listed = marks(len(chunk))
        rows += conn.execute(
            "SELECT key, deleted_at, missed_at, url, title FROM item_tombstones "
            f"WHERE source_id = ? AND key IN ({listed})",
            (source_id, *chunk),
        ).fetchall()
        conn.execute(
            f"DELETE FROM item_tombstones WHERE source_id = ? AND key IN ({listed})",
            (source_id, *chunk),
        )
    conn.executemany(
        "INSERT OR IGNORE INTO item_tombstones (source_id, key, deleted_at, missed_at, url, "
        "title) VALUES (?, ?, ?, ?, ?, ?)",
        [(source_id, new_keys[key], *rest) for key, *rest in rows],
    )


def note_listing(
    conn: sqlite3.Connection, source_id: str, listed: Collection[str], now: datetime
) -> None:
    """The documents of ``source_id``, read whole at ``now``, list these retired keys: their
    absence ends; the absence of every other retired key of the source starts now, unless
    it had started before."""
    conn.execute(
        "UPDATE item_tombstones SET missed_at = ? WHERE source_id = ? AND missed_at IS NULL",
        (to_db(now), source_id),
    )
    for chunk in chunks(list(listed)):
        conn.execute(
            "UPDATE item_tombstones SET missed_at = NULL "
            f"WHERE source_id = ? AND key IN ({marks(len(chunk))})",
            (source_id, *chunk),
        )


def forget_tombstones(conn: sqlite3.Connection, absent_for: timedelta) -> int:
    """Drop the tombstones of keys that every whole read of their source's documents has
    missed for ``absent_for``: from the first read without the key to the last read.

    Only reads count: a 304 says the document is unchanged, a failure says nothing, so a
    source that answers only those keeps its tombstones, and one read that misses a key
    (a page that failed) is undone by the next read that lists it. Returns how many were
    dropped.
    """
    dropped = 0
    rows = conn.execute("SELECT id, last_read_at FROM sources WHERE last_read_at IS NOT NULL")
    for source_id, last_read in rows.fetchall():
        read = from_db(last_read)
        assert read is not None
        dropped += conn.execute(
            "DELETE FROM item_tombstones WHERE source_id = ? AND missed_at <= ?",
            (source_id, to_db(read - absent_for)),
        ).rowcount
    return dropped


def _forget_keywords(conn: sqlite3.Connection, keyword_lists: Iterable[str]) -> None:
    """Take removed items out of the keyword counts (the weights of story matching)."""
    removed: Counter[str] = Counter()
    placed = 0
    for keywords in keyword_lists:
        placed += 1
        removed.update(set(keywords.split()))
    if not placed:
        return
    removed[_TOTAL] = placed
    updates, gone = [], []
    for chunk in chunks(list(removed)):
        rows = conn.execute(
            "SELECT keyword, documents FROM keyword_counts "
            f"WHERE keyword IN ({marks(len(chunk))})",
            chunk,
        )
        for word, documents in rows:
            left = documents - removed[word]
            if left > 0 or word == _TOTAL:
                updates.append((max(left, 0), word))
            else:
                gone.append(word)
    conn.executemany("UPDATE keyword_counts SET documents = ? WHERE keyword = ?", updates)
    for chunk in chunks(gone):
        conn.execute(f"DELETE FROM keyword_counts WHERE keyword IN ({marks(len(chunk))})", chunk)
