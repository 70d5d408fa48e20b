"""The SQLAlchemy engine of the parts of the store that build their statements with
SQLAlchemy Core, and driver-error wrapping for them; no business logic.

Imported only when such a part is first used: a cycle of 304s never needs it (see
:mod:`.database`).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError, StatementError
from sqlalchemy.sql.dml import UpdateBase

from ..exceptions import StorageError
from .database import Database

#: Execution option for a write transaction that takes SQLite's write lock at BEGIN, so two
#: writers queue on busy_timeout instead of failing when a read lock cannot be upgraded.
IMMEDIATE = {"sqlite_immediate": True}


def make_engine(database: Database) -> Engine:
    """An engine on ``database``'s connections (WAL, foreign keys, a busy timeout) with
    real transactions (DDL included)."""
    engine = create_engine(f"sqlite:///{database.path}", creator=database.connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_begin(conn: Connection) -> None:
    # pysqlite's own transaction handling is off (Database.connect); SQLAlchemy's recipe:
    # emit BEGIN ourselves, so DDL in a migration is rolled back with the rest.
    immediate = conn.get_execution_options().get("sqlite_immediate")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def driver(conn: Connection) -> Any:
    """The ``sqlite3`` connection under ``conn``, for the parts of the store that speak
    ``sqlite3`` (:mod:`.database`) inside a transaction begun here."""
    return conn.connection.driver_connection


@contextlib.contextmanager
def wrap_exceptions(action: str) -> Iterator[None]:
    """Turn driver errors into :class:`StorageError` naming what we were doing."""
    try:
        yield
    except SQLAlchemyError as e:
        orig = getattr(e, "orig", None) or e
        raise StorageError(f"could not {action}: {orig}") from None


def executemany(
    conn: Connection, statement: UpdateBase, keys: tuple[str, ...], rows: Sequence[Sequence[Any]]
) -> None:
    """Run ``statement`` once per row (its values in ``keys`` order: the statement's columns
    or bind parameter names) with one executemany of the driver.

    A first cycle writes tens of thousands of rows, and SQLAlchemy Core spends more time per
    row coercing and processing parameters than SQLite spends storing it. Here the statement
    is compiled once per dialect (``statement`` must be a module-level constant) and only the
    values whose type needs it (dates, booleans, binaries) go through the dialect's own bind
    processor, so the stored values are the same as Core's.
    """
    sql, binds = _positional(statement, conn.dialect, keys)
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
) -> tuple[str, list[tuple[int, Any]]]:
    """``statement`` in SQLite's positional paramstyle (``qmark``) and its parameters in
    order: the index in a row and the bind processor."""
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    order = compiled.positiontup
    assert order is not None, "SQLite's driver takes positional parameters"
    binds = [
        (keys.index(name), compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
        for name in order
    ]
    return str(compiled), binds
