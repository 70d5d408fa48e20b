"""Counters and gauges of the worker, kept in the store so a separate server can report
them, and the counts and version numbers of what is stored; in plain SQL (see
:mod:`.database`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping

from ..models import MetricKey, MetricSample


def add(
    conn: sqlite3.Connection,
    increments: Mapping[MetricKey, float],
    gauges: Mapping[MetricKey, float],
) -> None:
    """Add ``increments`` to counters and set ``gauges`` to their values."""
    # A cycle of 500 sources touches ~520 counters: one statement per kind of change (an
    # executemany each), not one statement per counter.
    for changes, on_conflict in (
        (increments, "value = value + excluded.value"),
        (gauges, "value = excluded.value"),
    ):
        conn.executemany(
            "INSERT INTO counters (name, labels, value) VALUES (?, ?, ?) "
            f"ON CONFLICT (name, labels) DO UPDATE SET {on_conflict}",
            [(name, labels, value) for (name, labels), value in map(_encoded, changes.items())],
        )


def load(conn: sqlite3.Connection) -> list[MetricSample]:
    rows = conn.execute("SELECT name, labels, value FROM counters ORDER BY name, labels")
    return [
        MetricSample(name, tuple(sorted(json.loads(labels).items())), value)
        for name, labels, value in rows
    ]


def count_stories(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM stories").fetchone()[0])


def count_items_by_source(conn: sqlite3.Connection) -> dict[str, int]:
    rows = conn.execute("SELECT source_id, count(*) FROM items GROUP BY source_id")
    return {source_id: int(n) for source_id, n in rows}


def publish_version(conn: sqlite3.Connection) -> int:
    """A new random number after every published change of items (triggers, version 9)."""
    return int(conn.execute("SELECT version FROM publish_state").fetchone()[0])


def _encoded(change: tuple[MetricKey, float]) -> tuple[tuple[str, str], float]:
    (name, labels), value = change
    return (name, json.dumps(dict(labels), sort_keys=True, ensure_ascii=False)), value
