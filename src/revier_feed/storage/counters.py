"""Counters and gauges of the worker, kept in the store so a separate server can report them."""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy import Connection, func, select, update

from ..models import MetricKey, MetricSample
from .schema import counters, items, stories


def add(
    conn: Connection, increments: Mapping[MetricKey, float], gauges: Mapping[MetricKey, float]
) -> None:
    """Add ``increments`` to counters and set ``gauges`` to their values."""
    for key, amount in increments.items():
        _write(conn, key, counters.c.value + amount, amount)
    for key, value in gauges.items():
        _write(conn, key, value, value)


def load(conn: Connection) -> list[MetricSample]:
    rows = conn.execute(select(counters).order_by(counters.c.name, counters.c.labels))
    return [
        MetricSample(row.name, tuple(sorted(json.loads(row.labels).items())), row.value)
        for row in rows
    ]


def count_stories(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(stories)).scalar_one())


def count_items_by_source(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(items.c.source_id, func.count()).group_by(items.c.source_id))
    return {source_id: int(n) for source_id, n in rows}


def _write(conn: Connection, key: MetricKey, new_value: object, first_value: float) -> None:
    name, labels = key
    encoded = json.dumps(dict(labels), sort_keys=True, ensure_ascii=False)
    where = (counters.c.name == name) & (counters.c.labels == encoded)
    # Update-then-insert rather than a dialect's upsert, so any database works.
    if conn.execute(update(counters).where(where).values(value=new_value)).rowcount == 0:
        conn.execute(counters.insert().values(name=name, labels=encoded, value=first_value))
