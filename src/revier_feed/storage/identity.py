"""Item identity per source: what the stored items are keyed by, and re-keying them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, bindparam, select, update

from ..models import StoredKey
from .database import chunks
from .schema import items


def keys_by_url(
    conn: Connection, source_id: str, urls: Iterable[str]
) -> dict[str, list[tuple[str, str]]]:
    """(key, title) of the stored items of ``source_id`` at each of the given URLs."""
    url_list = list(dict.fromkeys(urls))
    found: dict[str, list[tuple[str, str]]] = {}
    for chunk in chunks(url_list):
        rows = conn.execute(
            select(items.c.url, items.c.key, items.c.title).where(
                items.c.source_id == source_id, items.c.url.in_(chunk)
            )
        )
        for row in rows:
            found.setdefault(row.url, []).append((row.key, row.title))
    return found


def stored_keys(conn: Connection, source_id: str) -> list[StoredKey]:
    """Every item of ``source_id`` with what its key can be built from."""
    rows = conn.execute(
        select(items.c.id, items.c.key, items.c.url, items.c.title, items.c.fingerprint)
        .where(items.c.source_id == source_id)
        .order_by(items.c.id)
    )
    return [
        StoredKey(id=r.id, key=r.key, url=r.url, title=r.title, fingerprint=r.fingerprint)
        for r in rows
    ]


def rekey(conn: Connection, new_keys: Mapping[int, str]) -> None:
    """Give items (by id) new keys; in two steps, so that keys may be swapped."""
    if not new_keys:
        return
    statement = update(items).where(items.c.id == bindparam("item_id")).values(key=bindparam("k"))
    conn.execute(statement, [{"item_id": i, "k": f"\x00{i}"} for i in new_keys])
    conn.execute(statement, [{"item_id": i, "k": k} for i, k in new_keys.items()])
