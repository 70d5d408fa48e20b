"""Engine setup and driver-error wrapping; no business logic."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Dialect, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError, StatementError
from sqlalchemy.sql.dml import UpdateBase

from ..exceptions import StorageError

#: Execution option for a write transaction that takes SQLite's write lock at BEGIN, so two
#: writers queue on busy_timeout instead of failing when a read lock cannot be upgraded.
IMMEDIATE = {"sqlite_immediate": True}


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL, foreign keys, a busy timeout and real
    transactions (DDL included).

    Raises:
        StorageError: the URL is malformed or names a database driver that is not installed.
    """
    try:
        parsed = make_url(url)
        is_sqlite = parsed.get_backend_name() == "sqlite"
        if is_sqlite and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
    except (ArgumentError, ImportError, OSError) as e:
        raise StorageError(f"cannot use the store at {url!r}: {e}") from None
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_begin(conn: Connection) -> None:
    # pysqlite's own transaction handling is off (see _sqlite_connect); SQLAlchemy's
    # recipe: emit BEGIN ourselves, so DDL in a migration is rolled back with the rest.
    immediate = conn.get_execution_options().get("sqlite_immediate")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the feed server read while the worker writes; NORMAL is durable in WAL mode
    # except for the last transactions on power loss, which the next cycle refetches.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@contextlib.contextmanager
def wrap_exceptions(action: str) -> Iterator[None]:
    """Turn driver errors into :class:`StorageError` naming what we were doing."""
    try:
        yield
    except SQLAlchemyError as e:
        orig = getattr(e, "orig", None) or e
        raise StorageError(f"could not {action}: {orig}") from None


T = TypeVar("T")
#: Values bound in one ``IN (...)`` list: SQLite limits the parameters of a statement (999
#: in builds before 3.32), and a first cycle or retention may bring thousands of keys.
CHUNK = 500


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``values`` in slices small enough for one statement's ``IN (...)`` list."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def executemany(
    conn: Connection, statement: UpdateBase, keys: tuple[str, ...], rows: Sequence[Sequence[Any]]
) -> None:
    """Run ``statement`` once per row (its values in ``keys`` order: the statement's columns
    or bind parameter names) with one executemany of the driver.

    A first cycle writes tens of thousands of rows, and SQLAlchemy Core spends more time per
    row coercing and processing parameters than SQLite spends storing it. Here the statement
    is compiled once per dialect (``statement`` must be a module-level constant) and only the
    values whose type needs it (dates, booleans, binaries) go through the dialect's own bind
    processor, so the stored values are the same as Core's. A driver with named parameters
    (PostgreSQL's) gets the rows through Core.
    """
    positional = _positional(statement, conn.dialect, keys)
    if positional is None:
        conn.execute(statement, [dict(zip(keys, row, strict=True)) for row in rows])
        return
    sql, binds = positional
    if not rows:
        return
    # Column by column, so that building the parameters is C-level calls, not a Python
    # expression per value.
    columns = list(zip(*rows, strict=True))
    try:
        ordered = [columns[i] if p is None else list(map(p, columns[i])) for i, p in binds]
    except Exception as e:  # a bug such as a naive datetime: reported as Core reports it
        raise StatementError(str(e), sql, None, e) from e
    conn.exec_driver_sql(sql, list(zip(*ordered, strict=True)))


@functools.cache
def _positional(
    statement: UpdateBase, dialect: Dialect, keys: tuple[str, ...]
) -> tuple[str, list[tuple[int, Any]]] | None:
    """``statement`` in ``dialect``'s positional paramstyle (SQLite's ``qmark``) and its
    parameters in order: the index in a row and the bind processor; None for a named
    paramstyle."""
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    order = compiled.positiontup
    if order is None:
        return None
    binds = [
        (keys.index(name), compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
        for name in order
    ]
    return str(compiled), binds
