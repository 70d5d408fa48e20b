"""The SQLite file: opening it, transactions, and how values are kept in it.

revier-feed stores in one SQLite file, in WAL mode so that the feed server reads while the
worker writes. The store speaks to it through the standard library's ``sqlite3``, in plain
SQL, as the reader library does (it spoke through SQLAlchemy Core until importing that was
a fifth of a cycle without news).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from ..exceptions import (
    SchemaVersionError,
    StorageError,
    StoreBusyError,
    StoredDataError,
    StoreReadOnlyError,
)

log = logging.getLogger(__name__)

#: The schema version this code writes; :mod:`.schema` has the migrations up to it.
VERSION = 20

#: Pages in the write-ahead log at which a commit copies it into the file (SQLite's default).
AUTOCHECKPOINT = 1000

#: Values bound in one ``IN (...)`` list: SQLite limits the parameters of a statement (999
#: in builds before 3.32), and a first cycle or retention may bring thousands of keys.
CHUNK = 500

_PREFIX = "sqlite:///"

T = TypeVar("T")


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``values`` in slices small enough for one statement's ``IN (...)`` list."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def marks(count: int) -> str:
    """``?, ?, ?`` for an ``IN (...)`` list of ``count`` values."""
    return ", ".join("?" * count)


def store_path(url: str) -> Path:
    """The file of a store URL (``sqlite:///relative`` or ``sqlite:////absolute``).

    Raises:
        StorageError: not a SQLite file URL.
    """
    path = url.removeprefix(_PREFIX)
    if not url.startswith(_PREFIX) or path in ("", ":memory:") or "?" in path:
        raise StorageError(
            f"cannot use the store at {url!r}: revier-feed stores in a SQLite file; set "
            "storage.path, or storage.url to sqlite:///PATH (without options)"
        )
    return Path(path)


class Database:
    """Connections to one SQLite file, kept for reuse (never used by two threads at once).

    Raises:
        StorageError: the URL is not a SQLite file's, or its folder cannot be made.
    """

    def __init__(self, url: str) -> None:
        self.path = store_path(url)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(f"cannot use the store at {url!r}: {e}") from None
        self._idle: list[sqlite3.Connection] = []
        #: How often all connections were closed (_reopen); one taken before is not kept.
        self._generation = 0
        self._closed = False
        self._lock = threading.Lock()
        self._checkpoint_after: set[int] = set()  #: ids of connections (checkpoint_later)
        self._checkpointing: threading.Thread | None = None
        #: (device, inode) of the file the first connection opened.
        self._identity: tuple[int, int] | None = None

    def connect(self) -> sqlite3.Connection:
        """A new connection: WAL, foreign keys, a busy timeout, transactions begun
        explicitly (so a migration's DDL is rolled back with the rest)."""
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            # WAL lets the feed server read while the worker writes; NORMAL is durable in
            # WAL mode except for the last transactions on power loss, which the next cycle
            # fetches again.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if self._identity is None:
                self._identity = _identity(self.path)
        except BaseException:
            conn.close()
            raise
        return conn

    def check_file(self) -> None:
        """Make sure the store's path still names the file this process opened.

        Raises:
            StorageError: it was deleted or replaced (open connections would go on writing
                into the deleted file, and everything written would be lost at exit).
        """
        if self._identity is None:
            return
        try:
            found = _identity(self.path)
        except OSError as e:
            # A passing fault (a network file system's moment): the next tick asks again.
            log.warning("could not check the store %s: %s", self.path, e)
            return
        if found != self._identity:
            raise StorageError(
                f"the store {self.path} was deleted or replaced while this process had it "
                "open (hint: stop the worker before moving, deleting or restoring the store; "
                "restore it from `revier-feed backup`, or start again with a new store)"
            )

    @contextlib.contextmanager
    def reading(self, action: str) -> Iterator[sqlite3.Connection]:
        """A connection for reads, in one read transaction (its queries see one snapshot,
        whatever a writer does meanwhile); driver errors become :class:`StorageError`
        naming ``action``."""
        with self._connection() as conn, errors(action):
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.rollback()

    @contextlib.contextmanager
    def writing(self, action: str) -> Iterator[sqlite3.Connection]:
        """One transaction that takes the write lock at BEGIN (so two writers queue on the
        busy timeout instead of failing to upgrade a read lock); committed at the end,
        rolled back on any error."""
        with self._connection() as conn, errors(action):
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if id(conn) in self._checkpoint_after:
                    self._checkpoint_after.discard(id(conn))
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT}")
                conn.rollback()
                raise
            conn.commit()
            if id(conn) in self._checkpoint_after:
                self._checkpoint_after.discard(id(conn))
                conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT}")
                self._checkpoint_in_background()

    def checkpoint_later(self, conn: sqlite3.Connection) -> None:
        """Commit the transaction of :meth:`writing` on ``conn`` without copying the
        write-ahead log into the file (SQLite does so at a commit once the log holds
        :data:`AUTOCHECKPOINT` pages); a thread copies it after the commit instead, while the
        caller goes on (readers and writers are not blocked by it). :meth:`close` waits for
        it."""
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        self._checkpoint_after.add(id(conn))

    def _checkpoint_in_background(self) -> None:
        self.wait_for_checkpoint()
        self._checkpointing = threading.Thread(
            target=self._checkpoint, name="revier-feed checkpoint", daemon=True
        )
        self._checkpointing.start()

    def _checkpoint(self) -> None:
        try:
            conn = self.connect()
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                conn.close()
        except sqlite3.Error as e:
            # Nothing is lost: the log stays valid, and the next commit's checkpoint (or
            # closing the last connection) copies it.
            log.warning("the store's write-ahead log was not copied into the file: %s", e)

    def wait_for_checkpoint(self) -> None:
        """Wait for the checkpoint :meth:`checkpoint_later` started, if it still runs."""
        if self._checkpointing is not None:
            self._checkpointing.join()
            self._checkpointing = None

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
            generation = self._generation
        if conn is None:
            try:
                with errors("open the store"):
                    conn = self.connect()
            except StoreReadOnlyError:
                self._reopen()
                raise
        try:
            yield conn
        except StoreReadOnlyError:
            self._reopen()
            raise
        finally:
            with self._lock:
                # One left in a transaction by an error is never handed out again; one given
                # back after close(), or taken (or opened) before a write found the store
                # read-only, is not kept.
                keep = not conn.in_transaction and not self._closed
                keep = keep and generation == self._generation
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    def _reopen(self) -> None:
        """Close every connection once it is idle: SQLite opens the -shm file once per
        process, read-only if it could not be written then, and keeps it while any
        connection is open; a worker whose store was read-only once failed every write
        until it was restarted, after the files were writable again."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._generation += 1
        for conn in idle:
            conn.close()

    def schema_version(self) -> int:
        """The store's schema version; 0 for a new (empty) file.

        Raises:
            StorageError: the file is not a SQLite database.
        """
        with self.reading("open the store") as conn:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone()
            row = conn.execute("SELECT version FROM schema_version").fetchone() if found else None
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close the idle connections (those in use close when they are given back), once a
        checkpoint still running has ended."""
        self.wait_for_checkpoint()
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``; None if there is none."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


def check_version(found: int) -> None:
    """Refuse a store written by a newer revier-feed.

    Raises:
        SchemaVersionError: ``found`` is above :data:`VERSION`.
    """
    if found > VERSION:
        raise SchemaVersionError(
            f"the store has schema version {found}, but this revier-feed knows only up to "
            f"{VERSION}; upgrade revier-feed or restore a backup"
        )


@contextlib.contextmanager
def errors(action: str) -> Iterator[None]:
    """Driver errors become :class:`StorageError` naming what we were doing (anything else
    is a bug and propagates as itself)."""
    try:
        yield
    except sqlite3.IntegrityError as e:
        raise StoredDataError(f"could not {action}: {e}") from None
    except sqlite3.Error as e:
        code = getattr(e, "sqlite_errorcode", -1) & 0xFF
        hint = _HINTS.get(code)
        kind = _KINDS.get(code, StorageError)
        raise kind(f"could not {action}: {e}" + (f" (hint: {hint})" if hint else "")) from None


_KINDS: dict[int, type[StorageError]] = {
    sqlite3.SQLITE_BUSY: StoreBusyError,
    sqlite3.SQLITE_LOCKED: StoreBusyError,
    sqlite3.SQLITE_READONLY: StoreReadOnlyError,
}

#: How long a statement waits for another process's write lock before it fails.
BUSY_TIMEOUT_MS = 10_000

#: What an admin can do about SQLite's primary result codes that come from the machine.
_HINTS = {
    sqlite3.SQLITE_BUSY: (
        f"another process held the store's write lock for longer than "
        f"{BUSY_TIMEOUT_MS / 1000:g} s (a second revier-feed, a backup, an sqlite3 shell); "
        "nothing was written"
    ),
    sqlite3.SQLITE_FULL: (
        "the disk that holds the store is full; free space there. The transaction was rolled "
        "back: nothing stored is lost, and sources not stored stay due"
    ),
    sqlite3.SQLITE_READONLY: (
        "this user must be able to write the store, its folder and the files beside it "
        "that end in -wal and -shm, on a disk that is not read-only"
    ),
    sqlite3.SQLITE_IOERR: "the disk failed to read or write; check the system log",
    sqlite3.SQLITE_CORRUPT: (
        "the store is damaged; stop the worker and restore a copy from `revier-feed backup`"
    ),
    sqlite3.SQLITE_NOTADB: "the store's path names a file that is not a revier-feed store",
    sqlite3.SQLITE_CANTOPEN: "the store's folder is missing or cannot be entered",
}


# Dates are kept as SQLAlchemy's SQLite dialect kept them from the first version on (naive
# UTC, "2021-06-10 12:30:00.000000"): one text format, so that they sort and compare as
# text in SQL, in stores written before and since.


def to_db(value: datetime | None) -> str | None:
    """An aware datetime as the store keeps it (naive UTC text, always with microseconds).

    Raises:
        StorageError: ``value`` is naive (the write it belongs to is rolled back).
    """
    if value is None:
        return None
    if value.tzinfo is None:
        raise StorageError(f"naive datetime passed to the store: {value.isoformat()}")
    v = value.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
    )


def from_db(value: str | None) -> datetime | None:
    """A stored date as an aware UTC datetime.

    Raises:
        StorageError: the stored text is no date (a damaged or hand-edited row).
    """
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        raise StorageError(
            f"the store holds {value!r} where a date belongs (a damaged or hand-edited row; "
            "`revier-feed backup` and SQLite's own tools can help to repair it)"
        ) from None
