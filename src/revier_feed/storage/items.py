"""Items: idempotent upserts keyed by (source, key), and the queries publishing needs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select, update

from ..models import Item, ItemDecision, StoredItem
from .database import chunks
from .engine import executemany
from .schema import items


def fingerprints(conn: Connection, source_id: str, keys: Iterable[str]) -> dict[str, str]:
    """Stored fingerprint per key, for the keys of ``source_id`` that are already stored."""
    key_list = list(keys)
    result: dict[str, str] = {}
    for chunk in chunks(key_list):
        rows = conn.execute(
            select(items.c.key, items.c.fingerprint).where(
                items.c.source_id == source_id, items.c.key.in_(chunk)
            )
        )
        result.update({row.key: row.fingerprint for row in rows})
    return result


def _columns(item: Item) -> dict[str, Any]:
    return dict(zip(_ITEM_COLUMNS, _values(item), strict=True))


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


#: Insert of a new item (see :func:`.engine.executemany`).
_INSERT = items.insert()

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
        item.published_at,
        item.date_estimated,
        item.updated_at,
        item.fingerprint,
    )


def _new_row(item: Item, now: datetime) -> tuple[Any, ...]:
    return (item.source_id, item.key, *_values(item), now, now, now, item.backlog)


def apply(conn: Connection, decisions: Sequence[tuple[Item, ItemDecision]], now: datetime) -> None:
    """Write what dedup decided; unchanged items only get ``last_seen_at`` bumped."""
    new_rows = []
    unchanged: dict[str, list[str]] = {}
    for item, decision in decisions:
        if decision is ItemDecision.NEW:
            new_rows.append(_new_row(item, now))
        elif decision is ItemDecision.UPDATED:
            values = _columns(item)
            if item.date_estimated:
                # Keep the first estimate: an undated item must not jump to the top again.
                del values["published_at"]
            conn.execute(
                update(items)
                .where(items.c.source_id == item.source_id, items.c.key == item.key)
                .values(**values, last_seen_at=now, last_changed_at=now)
            )
        else:
            unchanged.setdefault(item.source_id, []).append(item.key)
    for source_id, keys in unchanged.items():
        for chunk in chunks(keys):
            conn.execute(
                update(items)
                .where(items.c.source_id == source_id, items.c.key.in_(chunk))
                .values(last_seen_at=now)
            )
    if new_rows:
        executemany(conn, _INSERT, _NEW_COLUMNS, new_rows)


def recent(conn: Connection, source_ids: Iterable[str], limit: int) -> list[StoredItem]:
    """The newest items of the given sources, newest first (ties broken by id)."""
    rows = conn.execute(
        select(items)
        .where(items.c.source_id.in_(list(source_ids)))
        .order_by(items.c.published_at.desc(), items.c.id.desc())
        .limit(limit)
    ).mappings()
    return [_stored(row) for row in rows]


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(items)).scalar_one())


def _stored(row: RowMapping) -> StoredItem:
    item = Item(
        source_id=row["source_id"],
        key=row["key"],
        url=row["url"],
        title=row["title"],
        summary_html=row["summary_html"],
        summary_text=row["summary_text"],
        content_html=row["content_html"],
        author=row["author"],
        published_at=row["published_at"],
        date_estimated=row["date_estimated"],
        updated_at=row["updated_at"],
        categories=tuple(json.loads(row["categories"])),
        tags=frozenset(json.loads(row["tags"])),
        image=row["image"],
        fingerprint=row["fingerprint"],
        backlog=row["backlog"],
        districts=frozenset(json.loads(row["districts"])),
    )
    return StoredItem(
        id=row["id"],
        item=item,
        first_seen_at=row["first_seen_at"],
        last_changed_at=row["last_changed_at"],
        story_id=row["story_id"],
        story_similarity=row["story_similarity"],
    )


def batches(
    conn: Connection, source_ids: Iterable[str], after_id: int, size: int
) -> list[StoredItem]:
    """Up to ``size`` items of the given sources with ids above ``after_id``, by id."""
    rows = conn.execute(
        select(items)
        .where(items.c.source_id.in_(list(source_ids)), items.c.id > after_id)
        .order_by(items.c.id)
        .limit(size)
    ).mappings()
    return [_stored(row) for row in rows]


def set_tags(conn: Connection, tagged: Sequence[tuple[int, Item]]) -> int:
    """Store new tags and districts; returns how many items changed."""
    changed = 0
    for item_id, item in tagged:
        result = conn.execute(
            update(items)
            .where(items.c.id == item_id)
            .values(
                tags=json.dumps(sorted(item.tags), ensure_ascii=False),
                districts=json.dumps(sorted(item.districts), ensure_ascii=False),
            )
        )
        changed += result.rowcount
    return changed


def find(conn: Connection, reference: str) -> StoredItem | None:
    """The item with this id, or else the newest one with this URL or key."""
    query = select(items)
    if reference.isdigit():
        query = query.where(items.c.id == int(reference))
    else:
        query = query.where((items.c.url == reference) | (items.c.key == reference))
    row = conn.execute(query.order_by(items.c.id.desc()).limit(1)).mappings().first()
    return _stored(row) if row else None
