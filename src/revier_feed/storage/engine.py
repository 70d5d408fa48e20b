"""The SQLAlchemy engine the migrations run on (:mod:`.schema`); no business logic.

Imported only when a store is older than this code: everything else speaks ``sqlite3``
(:mod:`.database`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from ..exceptions import StorageError
from .database import Database
from .schema import migrate

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


def upgrade(database: Database) -> int:
    """Bring ``database``'s store to the current schema version (:func:`.schema.migrate`).

    Returns:
        The version the store had before.

    Raises:
        StorageError: a migration failed on the database.
        SchemaVersionError: the store is newer than this code.
    """
    engine = make_engine(database)
    try:
        with wrap_exceptions("open the store"):
            return migrate(lambda: engine.connect().execution_options(**IMMEDIATE))
    finally:
        engine.dispose()


@contextlib.contextmanager
def wrap_exceptions(action: str) -> Iterator[None]:
    """Turn driver errors into :class:`StorageError` naming what we were doing."""
    try:
        yield
    except SQLAlchemyError as e:
        orig = getattr(e, "orig", None) or e
        raise StorageError(f"could not {action}: {orig}") from None
