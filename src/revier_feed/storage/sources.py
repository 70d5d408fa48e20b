"""Per-source state (validators, health, schedule), the robots.txt cache and the hosts'
turns: what every cycle reads and writes, in plain SQL (see :mod:`.database`)."""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from ..models import (
    IgnoredValidators,
    ItemIdentity,
    RobotsCopy,
    SourceState,
    SourceStatus,
)
from .database import chunks, from_db, marks, to_db

#: The stored columns of a :class:`SourceState`: its fields but ``source_id`` (the row's id).
_COLUMNS = tuple(f.name for f in fields(SourceState) if f.name != "source_id")
#: Those kept as dates (:func:`.database.to_db`).
_DATES = tuple(f.name for f in fields(SourceState) if "datetime" in str(f.type))
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
    values = dict(zip(_COLUMNS, row[1:], strict=True))
    for name in _DATES:
        values[name] = from_db(values[name])
    values["status"] = SourceStatus(values["status"])
    values["identity"] = ItemIdentity(values["identity"] or ItemIdentity.GUID)
    values["validators_ignored"] = IgnoredValidators(values["validators_ignored"] or 0)
    return SourceState(source_id=row[0], **values)


def save_states(conn: sqlite3.Connection, states: Sequence[SourceState], now: datetime) -> None:
    """Store sources' states with one executemany (``now`` is the creation time of those
    not stored yet)."""
    created = to_db(now)
    conn.executemany(_UPSERT, [(s.source_id, created, *_values(s)) for s in states])


def mark_read(conn: sqlite3.Connection, source_id: str, now: datetime) -> None:
    """The source's documents were read whole at ``now``: how long its tombstones' keys
    have been missing is counted up to here (:func:`.retention.forget_tombstones`)."""
    conn.execute("UPDATE sources SET last_read_at = ? WHERE id = ?", (to_db(now), source_id))


def _values(state: SourceState) -> tuple[Any, ...]:
    """The state's columns in :data:`_COLUMNS` order, as stored."""
    return tuple(map(_stored, (getattr(state, name) for name in _COLUMNS)))


def _stored(value: object) -> object:
    if isinstance(value, datetime):
        return to_db(value)
    return value.value if isinstance(value, enum.Enum) else value


def with_unplaced_items(conn: sqlite3.Connection) -> list[str]:
    """Sources with at least one item that has no story yet."""
    query = "SELECT DISTINCT source_id FROM items WHERE story_id IS NULL ORDER BY source_id"
    return [source_id for (source_id,) in conn.execute(query)]


def load_robots(conn: sqlite3.Connection) -> dict[str, RobotsCopy]:
    rows = conn.execute("SELECT origin, fetched_at, status, body, etag, last_modified FROM robots")
    found = {}
    for origin, fetched_at, status, body, etag, last_modified in rows:
        at = from_db(fetched_at)
        assert at is not None, "fetched_at is NOT NULL"
        found[origin] = RobotsCopy(at, status, body, etag, last_modified)
    return found


def save_robots(conn: sqlite3.Connection, origin: str, copy: RobotsCopy) -> None:
    conn.execute(
        "INSERT INTO robots (origin, fetched_at, status, body, etag, last_modified) "
        "VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (origin) DO UPDATE SET fetched_at = excluded.fetched_at, "
        "status = excluded.status, body = excluded.body, etag = excluded.etag, "
        "last_modified = excluded.last_modified",
        (origin, to_db(copy.fetched_at), copy.status, copy.body, copy.etag, copy.last_modified),
    )


def load_host_turns(conn: sqlite3.Connection) -> dict[str, tuple[datetime, datetime]]:
    found = {}
    for host, next_start_at, paused_until in conn.execute(
        "SELECT host, next_start_at, paused_until FROM host_turns"
    ):
        start, pause = from_db(next_start_at), from_db(paused_until)
        assert start is not None and pause is not None, "both are NOT NULL"
        found[host] = (start, pause)
    return found


def keep_host_turns(
    conn: sqlite3.Connection, turns: dict[str, tuple[datetime, datetime]], now: datetime
) -> None:
    # The later of each time wins: a command running beside the worker (`sources test`)
    # must not take back a pause the other stored meanwhile.
    conn.executemany(
        "INSERT INTO host_turns (host, next_start_at, paused_until) VALUES (?, ?, ?) "
        "ON CONFLICT (host) DO UPDATE SET "
        "next_start_at = max(next_start_at, excluded.next_start_at), "
        "paused_until = max(paused_until, excluded.paused_until)",
        [(host, to_db(start), to_db(pause)) for host, (start, pause) in turns.items()],
    )
    at = to_db(now)
    conn.execute("DELETE FROM host_turns WHERE next_start_at <= ? AND paused_until <= ?", (at, at))


def end_host_pauses(
    conn: sqlite3.Connection, now: datetime, sooner: Mapping[str, datetime]
) -> None:
    at = to_db(now)
    conn.execute("UPDATE host_turns SET paused_until = ? WHERE paused_until > ?", (at, at))
    conn.executemany(
        "UPDATE sources SET next_fetch_at = ? WHERE id = ?",
        [(to_db(when), source_id) for source_id, when in sooner.items()],
    )
