"""Counters and gauges of the worker, kept in the store so a separate server can report them."""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy import Connection, bindparam, func, select, update

from ..models import MetricKey, MetricSample
from .schema import counters, items, stories


def add(
    conn: Connection, increments: Mapping[MetricKey, float], gauges: Mapping[MetricKey, float]
) -> None:
    """Add ``increments`` to counters and set ``gauges`` to their values."""
    # A cycle of 500 sources touches ~520 counters: one statement per kind of change (an
    # executemany each), not one update (and maybe insert) per counter.
    names = {name for name, _ in [*increments, *gauges]}
    query = select(counters.c.name, counters.c.labels).where(counters.c.name.in_(names))
    stored = {(name, labels) for name, labels in conn.execute(query)}
    where = (counters.c.name == bindparam("k_name")) & (counters.c.labels == bindparam("k_labels"))
    for changes, value in (
        (increments, counters.c.value + bindparam("k_value")),
        (gauges, bindparam("k_value")),
    ):
        rows = [
            {"k_name": name, "k_labels": labels, "k_value": amount}
            for (name, labels), amount in map(_encoded, changes.items())
        ]
        present = [r for r in rows if (r["k_name"], r["k_labels"]) in stored]
        missing = [r for r in rows if (r["k_name"], r["k_labels"]) not in stored]
        # Update-then-insert rather than a dialect's upsert, so any database works.
        if present:
            conn.execute(update(counters).where(where).values(value=value), present)
        if missing:
            insert = counters.insert().values(
                name=bindparam("k_name"), labels=bindparam("k_labels"), value=bindparam("k_value")
            )
            conn.execute(insert, missing)


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


def _encoded(change: tuple[MetricKey, float]) -> tuple[tuple[str, str], float]:
    (name, labels), value = change
    return (name, json.dumps(dict(labels), sort_keys=True, ensure_ascii=False)), value
