"""Items: idempotent upserts keyed by (source, key), and the queries publishing needs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from ..models import Attachment, Item, ItemDecision, StoredItem
from .database import chunks, from_db, marks, to_db


def fingerprints(conn: sqlite3.Connection, source_id: str, keys: Iterable[str]) -> dict[str, str]:
    """Stored fingerprint per key, for the keys of ``source_id`` that are already stored."""
    return dict(_by_key(conn, "fingerprint", source_id, keys))


def estimated_first_seen(
    conn: sqlite3.Connection, source_id: str, keys: Iterable[str]
) -> dict[str, datetime]:
    """When each stored item of ``source_id`` among ``keys`` whose date is estimated (the
    time it was first seen) was first seen."""
    rows = _by_key(conn, "first_seen_at", source_id, keys, "date_estimated AND ")
    return {key: at for key, seen in rows if (at := from_db(seen)) is not None}


def _by_key(
    conn: sqlite3.Connection, column: str, source_id: str, keys: Iterable[str], where: str = ""
) -> Iterator[tuple[str, Any]]:
    """(key, ``column``) of the stored items of ``source_id`` among ``keys`` (``where``: a
    condition of ours, ending in AND, that they must meet too)."""
    for chunk in chunks(list(keys)):
        yield from conn.execute(
            f"SELECT key, {column} FROM items "
            f"WHERE source_id = ? AND {where}key IN ({marks(len(chunk))})",
            (source_id, *chunk),
        )


#: The columns an item's content fills, in the order of :func:`_values`.
_ITEM_COLUMNS = (
    "url",
    "title",
    "summary_html",
    "summary_text",
    "content_html",
    "author",
    "categories",
    "tags",
    "districts",
    "image",
    "attachments",
    "published_at",
    "date_estimated",
    "updated_at",
    "fingerprint",
)
#: The columns a new item fills, in the order of :func:`_new_row`.
_NEW_COLUMNS = (
    "source_id",
    "key",
    *_ITEM_COLUMNS,
    "first_seen_at",
    "last_seen_at",
    "last_changed_at",
    "backlog",
)
_INSERT = f"INSERT INTO items ({', '.join(_NEW_COLUMNS)}) VALUES ({marks(len(_NEW_COLUMNS))})"
#: An updated item's content; a date estimated again keeps the first estimate (an undated
#: item must not jump to the top again), so published_at is set apart.
_UPDATE = (
    f"UPDATE items SET {', '.join(f'{c} = ?' for c in _ITEM_COLUMNS if c != 'published_at')}, "
    "published_at = CASE WHEN ? THEN published_at ELSE ? END, "
    "last_seen_at = ?, last_changed_at = ? WHERE source_id = ? AND key = ?"
)

#: json.dumps() with options builds an encoder per call; one is enough (same output).
_JSON = json.JSONEncoder(ensure_ascii=False)


def _values(item: Item) -> tuple[Any, ...]:
    return (
        item.url,
        item.title,
        item.summary_html,
        item.summary_text,
        item.content_html,
        item.author,
        _JSON.encode(list(item.categories)),
        _JSON.encode(sorted(item.tags)),
        _JSON.encode(sorted(item.districts)),
        item.image,
        attachments_to_db(item.attachments),
        to_db(item.published_at),
        item.date_estimated,
        to_db(item.updated_at),
        item.fingerprint,
    )


def attachments_to_db(attachments: Sequence[Attachment]) -> str:
    """The ``attachments`` column's JSON for these attachments."""
    if not attachments:
        return "[]"
    return _JSON.encode(
        [
            {"url": file.url, "type": file.media_type, "size": file.size, "title": file.title}
            for file in attachments
        ]
    )


def _attachments(column: str) -> tuple[Attachment, ...]:
    if column == "[]":
        return ()
    return tuple(
        Attachment(a["url"], a["type"], a["size"], a.get("title")) for a in json.loads(column)
    )


def _new_row(item: Item, now: str | None) -> tuple[Any, ...]:
    return (item.source_id, item.key, *_values(item), now, now, now, item.backlog)


def _updated_row(item: Item, now: str | None) -> tuple[Any, ...]:
    values = _values(item)
    published = values[_ITEM_COLUMNS.index("published_at")]
    others = tuple(v for c, v in zip(_ITEM_COLUMNS, values, strict=True) if c != "published_at")
    return (*others, item.date_estimated, published, now, now, item.source_id, item.key)


def apply(
    conn: sqlite3.Connection,
    decisions: Sequence[tuple[Item, ItemDecision]],
    now: datetime,
    *,
    refresh_files: bool = True,
) -> None:
    """Write what dedup decided; unchanged items only get ``last_seen_at`` bumped, and
    (``refresh_files``) the files their document gives now."""
    stamp = to_db(now)
    new_rows = []
    updated_rows = []
    unchanged: dict[str, list[str]] = {}
    refreshed: list[tuple[str, str, str, str]] = []
    for item, decision in decisions:
        if decision is ItemDecision.NEW:
            new_rows.append(_new_row(item, stamp))
        elif decision is ItemDecision.UPDATED:
            updated_rows.append(_updated_row(item, stamp))
        else:
            unchanged.setdefault(item.source_id, []).append(item.key)
            if refresh_files:
                files = attachments_to_db(item.attachments)
                refreshed.append((files, item.source_id, item.key, files))
    if updated_rows:
        conn.executemany(_UPDATE, updated_rows)
    if refreshed:
        # Not in the fingerprint, as the picture is not: a file added or moved is no news
        # (it is published from now on, without "updated"); the item's text decides that.
        conn.executemany(
            "UPDATE items SET attachments = ? "
            "WHERE source_id = ? AND key = ? AND attachments IS NOT ?",
            refreshed,
        )
    for source_id, keys in unchanged.items():
        for chunk in chunks(keys):
            conn.execute(
                "UPDATE items SET last_seen_at = ? "
                f"WHERE source_id = ? AND key IN ({marks(len(chunk))})",
                (stamp, source_id, *chunk),
            )
    if new_rows:
        conn.executemany(_INSERT, new_rows)


#: The columns :func:`stored` reads, in its order (``SELECT {STORED} FROM items``).
STORED = (
    "id, source_id, key, url, title, summary_html, summary_text, content_html, author, "
    "published_at, date_estimated, updated_at, categories, tags, image, fingerprint, backlog, "
    "districts, first_seen_at, last_changed_at, story_id, story_similarity, attachments"
)


def stored(row: Sequence[Any]) -> StoredItem:
    """A row of :data:`STORED` columns as a stored item."""
    (
        id_,
        source_id,
        key,
        url,
        title,
        summary_html,
        summary_text,
        content_html,
        author,
        published_at,
        date_estimated,
        updated_at,
        categories,
        tags,
        image,
        fingerprint,
        backlog,
        districts,
        first_seen_at,
        last_changed_at,
        story_id,
        story_similarity,
        attachments,
    ) = row
    published = from_db(published_at)
    first_seen = from_db(first_seen_at)
    last_changed = from_db(last_changed_at)
    assert published and first_seen and last_changed, "NOT NULL columns"
    item = Item(
        source_id=source_id,
        key=key,
        url=url,
        title=title,
        summary_html=summary_html,
        summary_text=summary_text,
        content_html=content_html,
        author=author,
        published_at=published,
        date_estimated=bool(date_estimated),
        updated_at=from_db(updated_at),
        categories=tuple(json.loads(categories)),
        tags=frozenset(json.loads(tags)),
        image=image,
        fingerprint=fingerprint,
        backlog=bool(backlog),
        districts=frozenset(json.loads(districts)),
        attachments=_attachments(attachments),
    )
    return StoredItem(
        id=id_,
        item=item,
        first_seen_at=first_seen,
        last_changed_at=last_changed,
        story_id=story_id,
        story_similarity=story_similarity,
    )


def recent(conn: sqlite3.Connection, source_ids: Iterable[str], limit: int) -> list[StoredItem]:
    """The newest items of the given sources, newest first (ties broken by id)."""
    ids = list(source_ids)
    rows = conn.execute(
        f"SELECT {STORED} FROM items WHERE source_id IN ({marks(len(ids))}) "
        "ORDER BY published_at DESC, id DESC LIMIT ?",
        (*ids, limit),
    )
    return [stored(row) for row in rows]


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM items").fetchone()[0])


def batches(
    conn: sqlite3.Connection, source_ids: Iterable[str], after_id: int, size: int
) -> list[StoredItem]:
    """Up to ``size`` items of the given sources with ids above ``after_id``, by id."""
    ids = list(source_ids)
    rows = conn.execute(
        f"SELECT {STORED} FROM items WHERE source_id IN ({marks(len(ids))}) AND id > ? "
        "ORDER BY id LIMIT ?",
        (*ids, after_id, size),
    )
    return [stored(row) for row in rows]


def set_tags(conn: sqlite3.Connection, tagged: Sequence[tuple[int, Item]]) -> int:
    """Store new tags and districts; returns how many items changed."""
    changed = 0
    for item_id, item in tagged:
        changed += conn.execute(
            "UPDATE items SET tags = ?, districts = ? WHERE id = ?",
            (_JSON.encode(sorted(item.tags)), _JSON.encode(sorted(item.districts)), item_id),
        ).rowcount
    return changed


def find(conn: sqlite3.Connection, reference: str) -> StoredItem | None:
    """The item with this id, or else the newest one with this URL or key."""
    values: tuple[object, ...]
    if reference.isdecimal():
        query, values = "id = ?", (int(reference),)
    else:
        query, values = "url = ? OR key = ?", (reference, reference)
    row = conn.execute(
        f"SELECT {STORED} FROM items WHERE {query} ORDER BY id DESC LIMIT 1", values
    ).fetchone()
    return stored(row) if row else None
