"""Engine setup and driver-error wrapping; no business logic."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ..exceptions import StorageError


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
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
