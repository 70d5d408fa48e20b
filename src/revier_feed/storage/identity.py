"""Item identity per source: what the stored items are keyed by, and re-keying them."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterable, Mapping

from ..models import StoredKey
from .database import chunks, marks


def keys_by_url(
    conn: sqlite3.Connection, source_id: str, urls: Iterable[str]
) -> dict[str, list[tuple[str, str, str]]]:
    """(key, title, fingerprint) of the stored items of ``source_id`` at each of the given
    URLs."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    for chunk in chunks(list(dict.fromkeys(urls))):
        rows = conn.execute(
            "SELECT url, key, title, fingerprint FROM items "
            f"WHERE source_id = ? AND url IN ({marks(len(chunk))})",
            (source_id, *chunk),
        )
        for url, key, title, fingerprint in rows:
            found.setdefault(url, []).append((key, title, fingerprint))
    return found


def stored_keys(conn: sqlite3.Connection, source_id: str) -> list[StoredKey]:
    """Every item of ``source_id`` with what its key can be built from."""
    rows = conn.execute(
        "SELECT id, key, url, title, fingerprint FROM items WHERE source_id = ? ORDER BY id",
        (source_id,),
    )
    return [
        StoredKey(id=id_, key=key, url=url, title=title, fingerprint=fingerprint)
        for id_, key, url, title, fingerprint in rows
    ]


def rekey(conn: sqlite3.Connection, new_keys: Mapping[int, str]) -> None:
    """Give items (by id) new keys; in two steps, so that keys may be swapped."""
    if not new_keys:
        return
    statement = "UPDATE items SET key = ? WHERE id = ?"
    # The passing keys must be no item's key: a JSON Feed's ids may hold any character.
    passing = f"\x00{secrets.token_hex(16)}:"
    conn.executemany(statement, [(f"{passing}{i}", i) for i in new_keys])
    conn.executemany(statement, [(k, i) for i, k in new_keys.items()])
