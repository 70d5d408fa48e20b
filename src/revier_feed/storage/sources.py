"""Per-source state: validators, health, schedule."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from ..models import ItemIdentity, SourceState, SourceStatus
from .schema import robots, sources


def load_states(conn: Connection, source_ids: Iterable[str]) -> dict[str, SourceState]:
    ids = list(source_ids)
    rows = conn.execute(select(sources).where(sources.c.id.in_(ids))).mappings()
    states = {}
    for row in rows:
        states[row["id"]] = SourceState(
            source_id=row["id"],
            status=SourceStatus(row["status"]),
            etag=row["etag"],
            last_modified=row["last_modified"],
            error_count=row["error_count"],
            last_error_kind=row["last_error_kind"],
            last_error=row["last_error"],
            http_status=row["http_status"],
            last_attempt_at=row["last_attempt_at"],
            last_success_at=row["last_success_at"],
            next_fetch_at=row["next_fetch_at"],
            items_last_fetch=row["items_last_fetch"],
            url=row["url"],
            config_url=row["config_url"],
            last_new_item_at=row["last_new_item_at"],
            fetch_seconds=row["fetch_seconds"],
            new_item_rate=row["new_item_rate"],
            identity=ItemIdentity(row["identity"] or ItemIdentity.GUID),
        )
    return states


def due_ids(conn: Connection, source_ids: Iterable[str], now: datetime) -> list[str]:
    ids = list(source_ids)
    rows = conn.execute(
        select(sources.c.id, sources.c.next_fetch_at).where(sources.c.id.in_(ids))
    ).all()
    scheduled = {row.id: row.next_fetch_at for row in rows}
    # Sources never fetched, or without a schedule, are due at once.
    return [i for i in ids if scheduled.get(i) is None or scheduled[i] <= now]


def save_state(conn: Connection, state: SourceState, now: datetime) -> None:
    values = _values(state)
    # Update-then-insert rather than a dialect's upsert, so any database works.
    result = conn.execute(_UPDATE, {**values, "b_id": state.source_id})
    if result.rowcount == 0:
        conn.execute(sources.insert(), {**values, "id": state.source_id, "created_at": now})


def save_states(conn: Connection, states: Sequence[SourceState], now: datetime) -> None:
    """Update many stored sources with one executemany; any not stored yet are inserted."""
    rows = [{**_values(state), "b_id": state.source_id} for state in states]
    if not rows:
        return
    result = conn.execute(_UPDATE, rows)
    if result.rowcount != len(rows):  # some were never stored: do them one by one
        for state in states:
            save_state(conn, state, now)


#: One statement for every update of a source's state: built and compiled once.
_UPDATE = update(sources).where(sources.c.id == bindparam("b_id"))


def _values(state: SourceState) -> dict[str, Any]:
    """The state's columns but its id (a shallow copy: ``asdict`` deep-copies every value)."""
    values = {f.name: getattr(state, f.name) for f in fields(state) if f.name != "source_id"}
    values["status"] = state.status.value
    return values


def load_robots(conn: Connection) -> dict[str, tuple[datetime, int, str]]:
    return {
        row.origin: (row.fetched_at, row.status, row.body) for row in conn.execute(select(robots))
    }


def save_robots(conn: Connection, origin: str, status: int, body: str, now: datetime) -> None:
    values = {"fetched_at": now, "status": status, "body": body}
    result = conn.execute(update(robots).where(robots.c.origin == origin).values(**values))
    if result.rowcount == 0:
        conn.execute(robots.insert().values(origin=origin, **values))
