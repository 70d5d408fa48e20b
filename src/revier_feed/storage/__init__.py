"""The store: the only part of revier-feed that speaks SQL.

One :class:`Storage` owns the engine; each public method is one transaction, so a crash
or a signal never leaves half of a source's items written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from ..models import Item, ItemDecision, SourceState, StoredItem
from . import items as _items
from . import sources as _sources
from .engine import IMMEDIATE, make_engine, wrap_exceptions
from .schema import VERSION, migrate

__all__ = ["VERSION", "Storage"]


class Storage:
    """A revier-feed store at a SQLAlchemy URL (a SQLite file by default)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine = make_engine(url)
        with wrap_exceptions("open the store"):
            migrate(self._writer)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def source_states(self, source_ids: Iterable[str]) -> dict[str, SourceState]:
        """Stored state of each given source that has been fetched at least once."""
        with wrap_exceptions("read source states"), self._engine.connect() as conn:
            return _sources.load_states(conn, source_ids)

    def due_source_ids(self, source_ids: Iterable[str], now: datetime) -> list[str]:
        """The given sources whose next fetch time has come (or that were never fetched)."""
        with wrap_exceptions("find due sources"), self._engine.connect() as conn:
            return _sources.due_ids(conn, source_ids, now)

    def item_fingerprints(self, source_id: str, keys: Iterable[str]) -> dict[str, str]:
        """Fingerprints of already stored items of ``source_id``, by item key."""
        with wrap_exceptions("read item fingerprints"), self._engine.connect() as conn:
            return _items.fingerprints(conn, source_id, keys)

    def save_source_result(
        self,
        state: SourceState,
        decisions: Sequence[tuple[Item, ItemDecision]],
        now: datetime,
    ) -> None:
        """Write a source's new state and its items in one transaction."""
        with (
            wrap_exceptions(f"save source {state.source_id}"),
            self._writer() as conn,
            conn.begin(),
        ):
            _sources.save_state(conn, state, now)
            _items.apply(conn, decisions, now)

    def recent_items(self, source_ids: Iterable[str], limit: int) -> list[StoredItem]:
        """Newest items of the given sources, newest first."""
        with wrap_exceptions("read items"), self._engine.connect() as conn:
            return _items.recent(conn, source_ids, limit)

    def robots_txt(self, origin: str) -> tuple[datetime, int, str] | None:
        """The cached robots.txt of ``origin``: (fetched at, HTTP status, body), if any."""
        with wrap_exceptions("read robots.txt cache"), self._engine.connect() as conn:
            return _sources.load_robots(conn, origin)

    def save_robots_txt(self, origin: str, status: int, body: str, now: datetime) -> None:
        """Remember the robots.txt of ``origin`` (status 404 etc. means "no rules")."""
        with wrap_exceptions("save robots.txt cache"), self._writer() as conn, conn.begin():
            _sources.save_robots(conn, origin, status, body, now)

    def _writer(self) -> Connection:
        """A connection whose transactions take the write lock at BEGIN."""
        return self._engine.connect().execution_options(**IMMEDIATE)

    def iter_items(
        self, source_ids: Iterable[str], batch: int = 500
    ) -> Iterator[list[StoredItem]]:
        """All items of the given sources in batches, oldest id first."""
        ids = list(source_ids)
        last = 0
        while True:
            with wrap_exceptions("read items"), self._engine.connect() as conn:
                chunk = _items.batches(conn, ids, last, batch)
            if not chunk:
                return
            yield chunk
            last = chunk[-1].id

    def set_tags(self, tagged: Sequence[tuple[int, Item]]) -> int:
        """Replace tags and districts of stored items (by id) in one transaction."""
        with wrap_exceptions("save tags"), self._writer() as conn, conn.begin():
            return _items.set_tags(conn, tagged)

    def find_item(self, reference: str) -> StoredItem | None:
        """An item by its id, URL or source key."""
        with wrap_exceptions("find item"), self._engine.connect() as conn:
            return _items.find(conn, reference)

    def count_items(self) -> int:
        with wrap_exceptions("count items"), self._engine.connect() as conn:
            return _items.count(conn)
