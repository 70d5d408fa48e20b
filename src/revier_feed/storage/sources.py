"""Per-source state (validators, health, schedule) and the robots.txt cache: what every
cycle reads and writes, in plain SQL (see :mod:`.database`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from ..models import ItemIdentity, SourceState, SourceStatus
from .database import chunks, from_db, marks, to_db

#: The stored columns of a :class:`SourceState` (its fields but ``source_id``), in order.
_COLUMNS = (
    "status",
    "url",
    "config_url",
    "etag",
    "last_modified",
    "error_count",
    "last_error_kind",
    "last_error",
    "http_status",
    "last_attempt_at",
    "last_success_at",
    "next_fetch_at",
    "items_last_fetch",
    "last_new_item_at",
    "fetch_seconds",
    "new_item_rate",
    "identity",
)
_SELECT = f"SELECT id, {', '.join(_COLUMNS)} FROM sources WHERE id IN "
_UPSERT = (
    f"INSERT INTO sources (id, created_at, {', '.join(_COLUMNS)}) "
    f"VALUES (?, ?, {marks(len(_COLUMNS))}) ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS)
)


def load_states(conn: sqlite3.Connection, source_ids: Iterable[str]) -> dict[str, SourceState]:
    states = {}
    for part in chunks(list(source_ids)):
        for row in conn.execute(f"{_SELECT}({marks(len(part))})", part):
            states[row[0]] = _state(row)
    return states


def _state(row: Sequence[Any]) -> SourceState:
    (
        source_id,
        status,
        url,
        config_url,
        etag,
        last_modified,
        error_count,
        last_error_kind,
        last_error,
        http_status,
        last_attempt_at,
        last_success_at,
        next_fetch_at,
        items_last_fetch,
        last_new_item_at,
        fetch_seconds,
        new_item_rate,
        identity,
    ) = row
    return SourceState(
        source_id=source_id,
        status=SourceStatus(status),
        url=url,
        config_url=config_url,
        etag=etag,
        last_modified=last_modified,
        error_count=error_count,
        last_error_kind=last_error_kind,
        last_error=last_error,
        http_status=http_status,
        last_attempt_at=from_db(last_attempt_at),
        last_success_at=from_db(last_success_at),
        next_fetch_at=from_db(next_fetch_at),
        items_last_fetch=items_last_fetch,
        last_new_item_at=from_db(last_new_item_at),
        fetch_seconds=fetch_seconds,
        new_item_rate=new_item_rate,
        identity=ItemIdentity(identity or ItemIdentity.GUID),
    )


def due_ids(conn: sqlite3.Connection, source_ids: Iterable[str], now: datetime) -> list[str]:
    ids = list(source_ids)
    scheduled: dict[str, datetime | None] = {}
    for part in chunks(ids):
        query = f"SELECT id, next_fetch_at FROM sources WHERE id IN ({marks(len(part))})"
        scheduled.update((i, from_db(at)) for i, at in conn.execute(query, part))
    # Sources never fetched, or without a schedule, are due at once.
    return [i for i in ids if (at := scheduled.get(i)) is None or at <= now]


def save_states(conn: sqlite3.Connection, states: Sequence[SourceState], now: datetime) -> None:
    """Store sources' states with one executemany (``now`` is the creation time of those
    not stored yet)."""
    created = to_db(now)
    conn.executemany(_UPSERT, [(s.source_id, created, *_values(s)) for s in states])


def _values(state: SourceState) -> tuple[Any, ...]:
    """The state's columns in :data:`_COLUMNS` order, as stored."""
    return (
        state.status.value,
        state.url,
        state.config_url,
        state.etag,
        state.last_modified,
        state.error_count,
        state.last_error_kind,
        state.last_error,
        state.http_status,
        to_db(state.last_attempt_at),
        to_db(state.last_success_at),
        to_db(state.next_fetch_at),
        state.items_last_fetch,
        to_db(state.last_new_item_at),
        state.fetch_seconds,
        state.new_item_rate,
        state.identity.value,
    )


def with_unplaced_items(conn: sqlite3.Connection) -> list[str]:
    """Sources with at least one item that has no story yet."""
    query = "SELECT DISTINCT source_id FROM items WHERE story_id IS NULL ORDER BY source_id"
    return [source_id for (source_id,) in conn.execute(query)]


def load_robots(conn: sqlite3.Connection) -> dict[str, tuple[datetime, int, str]]:
    rows = conn.execute("SELECT origin, fetched_at, status, body FROM robots")
    found = {}
    for origin, fetched_at, status, body in rows:
        at = from_db(fetched_at)
        assert at is not None, "fetched_at is NOT NULL"
        found[origin] = (at, status, body)
    return found


def save_robots(
    conn: sqlite3.Connection, origin: str, status: int, body: str, now: datetime
) -> None:
    conn.execute(
        "INSERT INTO robots (origin, fetched_at, status, body) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (origin) DO UPDATE SET fetched_at = excluded.fetched_at, "
        "status = excluded.status, body = excluded.body",
        (origin, to_db(now), status, body),
    )
