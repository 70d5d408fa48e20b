"""Retention: removing old items while keeping stories, the index and the counts consistent."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, select, update

from ..models import RetentionResult
from .database import chunks
from .schema import item_tombstones, items, keyword_counts, stories
from .stories import _TOTAL, bump

#: Items removed per statement; SQLite limits bound parameters.


def retire(conn: Connection, before: datetime, now: datetime) -> RetentionResult:
    """Remove items published before ``before``; returns what was removed.

    Every trace goes with them: their candidate marks (kept in their rows), their share of
    the keyword counts, and stories left without members; the story generation changes,
    so a worker reloads its story index. Each removed item leaves a tombstone (source, key),
    so a source that still lists it does not bring it back as news. A story keeping some
    members simply shows the oldest remaining one first: the lead item is chosen when
    publishing, from the members there are.
    """
    rows = conn.execute(
        select(items.c.id, items.c.source_id, items.c.key, items.c.keywords, items.c.story_id)
        .where(items.c.published_at < before)
        .order_by(items.c.id)
    ).all()
    if not rows:
        return RetentionResult(items=0, stories=0)
    ids = [row.id for row in rows]
    _forget_keywords(conn, (row.keywords for row in rows if row.keywords is not None))
    for chunk in chunks(ids):
        conn.execute(delete(items).where(items.c.id.in_(chunk)))
    bump(conn)
    conn.execute(
        item_tombstones.insert(),
        [{"source_id": row.source_id, "key": row.key, "deleted_at": now} for row in rows],
    )
    touched = sorted({row.story_id for row in rows if row.story_id is not None})
    emptied = 0
    for chunk in chunks(touched):
        still_used = select(items.c.story_id).where(items.c.story_id.in_(chunk))
        result = conn.execute(
            delete(stories).where(stories.c.id.in_(chunk), stories.c.id.not_in(still_used))
        )
        emptied += int(result.rowcount)
    return RetentionResult(items=len(ids), stories=emptied)


def retired_keys(conn: Connection, source_id: str, keys: Iterable[str]) -> set[str]:
    """The given keys of ``source_id`` that retention removed."""
    key_list = list(keys)
    found: set[str] = set()
    for chunk in chunks(key_list):
        found.update(
            conn.execute(
                select(item_tombstones.c.key).where(
                    item_tombstones.c.source_id == source_id, item_tombstones.c.key.in_(chunk)
                )
            ).scalars()
        )
    return found


def _forget_keywords(conn: Connection, keyword_lists: Iterable[str]) -> None:
    """Take removed items out of the keyword counts (the weights of story matching)."""
    removed: Counter[str] = Counter()
    placed = 0
    for keywords in keyword_lists:
        placed += 1
        removed.update(set(keywords.split()))
    if not placed:
        return
    removed[_TOTAL] = placed
    words = list(removed)
    updates, gone = [], []
    for chunk in chunks(words):
        rows = conn.execute(
            select(keyword_counts.c.keyword, keyword_counts.c.documents).where(
                keyword_counts.c.keyword.in_(chunk)
            )
        )
        current = {row.keyword: row.documents for row in rows}
        for word in chunk:
            if word not in current:
                continue
            left = current[word] - removed[word]
            if left > 0 or word == _TOTAL:
                updates.append({"k": word, "n": max(left, 0)})
            else:
                gone.append(word)
    if updates:
        conn.execute(
            update(keyword_counts)
            .where(keyword_counts.c.keyword == bindparam("k"))
            .values(documents=bindparam("n")),
            updates,
        )
    for chunk in chunks(gone):
        conn.execute(delete(keyword_counts).where(keyword_counts.c.keyword.in_(chunk)))
