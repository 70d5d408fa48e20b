"""The store: the only part of revier-feed that speaks SQL.

One :class:`Storage` owns the engine; each public method is one transaction, so a crash
or a signal never leaves half of a source's items written.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from ..exceptions import StorageError
from ..models import (
    DigestLogEntry,
    Item,
    ItemDecision,
    MetricKey,
    MetricSample,
    PlacedItem,
    RetentionResult,
    SourceState,
    StoredItem,
    StoredKey,
    Story,
    StoryPlacement,
    StoryText,
)
from . import counters as _counters
from . import digests as _digests
from . import identity as _identity
from . import items as _items
from . import retention as _retention
from . import sources as _sources
from . import stories as _stories
from .engine import IMMEDIATE, make_engine, wrap_exceptions
from .schema import VERSION, migrate

__all__ = ["VERSION", "Storage", "StoryWrites"]


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

    def backup(self, target: Path) -> None:
        """Copy the store to ``target`` with SQLite's online backup API.

        The copy is one consistent snapshot taken while the worker may keep writing (in WAL
        mode readers do not block the writer). It is written to a temporary file next to
        ``target`` and renamed at the end, so ``target`` is never half-written.

        Raises:
            StorageError: the store is not SQLite, or the copy failed.
        """
        if self._engine.dialect.name != "sqlite":
            raise StorageError(
                f"revier-feed backup copies SQLite stores only; back up {self.url!r} with "
                "your database's own tools"
            )
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        raw = self._engine.raw_connection()
        try:
            source = raw.driver_connection
            assert isinstance(source, sqlite3.Connection)
            copy = sqlite3.connect(tmp)
            try:
                source.backup(copy)  # all pages in one step: a single snapshot
                # One self-contained file, without a -wal beside it.
                copy.execute("PRAGMA journal_mode=DELETE")
            finally:
                copy.close()
            os.replace(tmp, target)
        except (sqlite3.Error, OSError) as e:
            raise StorageError(f"could not back up the store to {target}: {e}") from None
        finally:
            raw.close()
            tmp.unlink(missing_ok=True)

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
        rekeyed: Mapping[int, str] | None = None,
    ) -> None:
        """Write a source's new state and its items in one transaction.

        Args:
            rekeyed: new keys of stored items (by id), written first: the source's items
                are identified differently from now on (``state.identity``).
        """
        with (
            wrap_exceptions(f"save source {state.source_id}"),
            self._writer() as conn,
            conn.begin(),
        ):
            _sources.save_state(conn, state, now)
            _identity.rekey(conn, rekeyed or {})
            _items.apply(conn, decisions, now)

    def keys_by_url(self, source_id: str, urls: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """(key, title) of the source's stored items at each of the given URLs."""
        with wrap_exceptions("read item keys"), self._engine.connect() as conn:
            return _identity.keys_by_url(conn, source_id, urls)

    def stored_keys(self, source_id: str) -> list[StoredKey]:
        """Every stored item of the source with what a new key could be built from."""
        with wrap_exceptions("read item keys"), self._engine.connect() as conn:
            return _identity.stored_keys(conn, source_id)

    def save_source_states(self, states: Sequence[SourceState], now: datetime) -> None:
        """Write the new states of several sources (that stored no items) in one transaction."""
        with wrap_exceptions("save source states"), self._writer() as conn, conn.begin():
            _sources.save_states(conn, states, now)

    def sources_with_unplaced_items(self) -> list[str]:
        """Ids of the sources that have items not yet placed in a story."""
        with wrap_exceptions("read items"), self._engine.connect() as conn:
            return _items.unplaced_source_ids(conn)

    def recent_items(self, source_ids: Iterable[str], limit: int) -> list[StoredItem]:
        """Newest items of the given sources, newest first."""
        with wrap_exceptions("read items"), self._engine.connect() as conn:
            return _items.recent(conn, source_ids, limit)

    def robots_txts(self) -> dict[str, tuple[datetime, int, str]]:
        """Every cached robots.txt by origin: (fetched at, HTTP status, body).

        One row per origin ever fetched: few enough to read at once, which costs one query
        per cycle instead of one per host.
        """
        with wrap_exceptions("read robots.txt cache"), self._engine.connect() as conn:
            return _sources.load_robots(conn)

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
            _stories.bump(conn)  # districts decide stories too
            return _items.set_tags(conn, tagged)

    def find_item(self, reference: str) -> StoredItem | None:
        """An item by its id, URL or source key."""
        with wrap_exceptions("find item"), self._engine.connect() as conn:
            return _items.find(conn, reference)

    @contextlib.contextmanager
    def story_index(self) -> Iterator[StoryWrites]:
        """One write transaction for placing items into stories."""
        with wrap_exceptions("update stories"), self._writer() as conn, conn.begin():
            writes = StoryWrites(conn)
            try:
                yield writes
            except BaseException:
                # A batch may still be written on its thread: wait for it before the
                # rollback, whatever its outcome (the first error is the one to report).
                with contextlib.suppress(Exception):
                    writes.close()
                raise
            writes.close()

    def pending_story_items(self, source_ids: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
        """The ids and keys of these sources' items that the stories step has not placed
        yet, by source (only sources with some), oldest first."""
        with wrap_exceptions("read items"), self._engine.connect() as conn:
            return _stories.pending(conn, source_ids)

    def story_context(self, source_id: str, recent: int) -> tuple[bytes, list[bytes]]:
        """What learning a source's boilerplate starts from: its known boilerplate (packed)
        and the packed shingles of its ``recent`` newest placed items."""
        with wrap_exceptions("read story context"), self._engine.connect() as conn:
            return (
                _stories.boilerplate(conn, source_id),
                _stories.recent_shingles(conn, source_id, recent),
            )

    def story_texts(self, ids: Sequence[int]) -> list[StoryText]:
        """What the stories step reads of these items, in order of id."""
        with wrap_exceptions("read items"), self._engine.connect() as conn:
            return _stories.texts(conn, sorted(ids))

    def recent_stories(self, source_ids: Iterable[str], limit: int) -> list[Story]:
        """The newest stories of the given sources (by first publication), newest first."""
        with wrap_exceptions("read stories"), self._engine.connect() as conn:
            return _stories.recent(conn, list(source_ids), limit)

    def publish_version(self) -> int | None:
        """A number that changes with every write that can change published stories
        (items added, changed, retagged, moved between stories or removed); None when the
        store cannot tell (not SQLite), so the caller must read the stories every time.

        Read it *before* the stories: a write in between then only makes the next
        publish read again, never skip a change.
        """
        if self._engine.dialect.name != "sqlite":
            return None
        with wrap_exceptions("read publish version"), self._engine.connect() as conn:
            return _stories.publish_version(conn)

    def story(self, story_id: int) -> Story | None:
        """A story with all its members."""
        with wrap_exceptions("read story"), self._engine.connect() as conn:
            found = _stories.members(conn, [story_id])
        return found[0] if found else None

    def split_story(self, item_id: int, now: datetime) -> int:
        """Give an item a story of its own, for good; returns the new story's id."""
        with wrap_exceptions("split story"), self._writer() as conn, conn.begin():
            return _stories.split(conn, item_id, now)

    def merge_stories(self, into_story: int, from_story: int) -> int:
        """Join ``from_story`` into ``into_story`` for good; returns the items moved."""
        with wrap_exceptions("merge stories"), self._writer() as conn, conn.begin():
            return _stories.merge(conn, into_story, from_story)

    def count_new_stories(self, source_ids: Iterable[str], since: datetime) -> int:
        """Stories first seen after ``since`` (backlog included)."""
        with wrap_exceptions("count stories"), self._engine.connect() as conn:
            return _stories.count_since(conn, list(source_ids), since)

    def retire_items(self, published_before: datetime, now: datetime) -> RetentionResult:
        """Remove items published before the date, in one transaction (see retention.py)."""
        with wrap_exceptions("remove old items"), self._writer() as conn, conn.begin():
            return _retention.retire(conn, published_before, now)

    def retired_keys(self, source_id: str, keys: Iterable[str]) -> set[str]:
        """Which of these item keys of ``source_id`` retention has removed."""
        with wrap_exceptions("read removed items"), self._engine.connect() as conn:
            return _retention.retired_keys(conn, source_id, keys)

    def count_items(self) -> int:
        with wrap_exceptions("count items"), self._engine.connect() as conn:
            return _items.count(conn)

    def count_items_by_source(self) -> dict[str, int]:
        """Stored items per source id."""
        with wrap_exceptions("count items"), self._engine.connect() as conn:
            return _counters.count_items_by_source(conn)

    def count_stories(self) -> int:
        with wrap_exceptions("count stories"), self._engine.connect() as conn:
            return _counters.count_stories(conn)

    def record_metrics(
        self, increments: Mapping[MetricKey, float], gauges: Mapping[MetricKey, float]
    ) -> None:
        """Add to counters and set gauges, in one transaction."""
        with wrap_exceptions("record metrics"), self._writer() as conn, conn.begin():
            _counters.add(conn, increments, gauges)

    def metrics(self) -> list[MetricSample]:
        """Every stored counter and gauge."""
        with wrap_exceptions("read metrics"), self._engine.connect() as conn:
            return _counters.load(conn)

    # --- digest ------------------------------------------------------------------------

    def digest_candidates(
        self, source_ids: Iterable[str], since: datetime, until: datetime
    ) -> list[Story]:
        """Stories first seen by ``until`` with a member new or changed after ``since``."""
        with wrap_exceptions("read digest stories"), self._engine.connect() as conn:
            return _digests.changed_stories(conn, list(source_ids), since, until)

    def digest_log(
        self, partner_ids: Iterable[str] | None = None, limit: int | None = None
    ) -> list[DigestLogEntry]:
        """The send log, newest period first."""
        with wrap_exceptions("read the digest log"), self._engine.connect() as conn:
            return _digests.entries(conn, partner_ids, limit)

    def digest_entry(self, partner_id: str, period: str) -> DigestLogEntry | None:
        """The send log row of one partner and period."""
        with wrap_exceptions("read the digest log"), self._engine.connect() as conn:
            return _digests.entry(conn, partner_id, period)

    def digest_covered_until(self, partner_id: str) -> datetime | None:
        """Where the partner's last delivered (or empty) digest ended."""
        with wrap_exceptions("read the digest log"), self._engine.connect() as conn:
            return _digests.covered_until(conn, partner_id)

    def digest_sent_stories(self, partner_id: str) -> dict[int, tuple[str, bool]]:
        """Stories the partner has received: id -> (text hash, already listed as updated)."""
        with wrap_exceptions("read the digest log"), self._engine.connect() as conn:
            return _digests.sent_stories(conn, partner_id)

    def save_digest_state(
        self,
        log: DigestLogEntry,
        now: datetime,
        stories: Sequence[tuple[int, str, bool]] = (),
        supersede: bool = False,
    ) -> None:
        """Write a send log row, with the stories it delivered, in one transaction.

        Args:
            stories: (story id, text hash, listed as update) of a delivered digest.
            supersede: older pending periods of the partner become superseded.
        """
        with wrap_exceptions("write the digest log"), self._writer() as conn, conn.begin():
            _digests.save(conn, log, now)
            if stories:
                _digests.record_stories(conn, log.partner_id, log.period, stories)
            if supersede:
                _digests.supersede(conn, log.partner_id, log.period, now)


class StoryWrites:
    """What placing items into stories reads and writes, inside one write transaction.

    A large batch of placements on SQLite is written while the caller goes on placing the
    next items (see :meth:`place`): every other method first waits for it, and its error,
    if any, comes out of that method (or :meth:`close`), so the transaction rolls back.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._cache_before: int | None = None  #: page cache size before a large batch
        self._writer: ThreadPoolExecutor | None = None
        self._writing: Future[None] | None = None

    def close(self) -> None:
        """Wait for a batch still being written; the connection's page cache as it was."""
        try:
            self._settle()
        finally:
            if self._writer is not None:
                self._writer.shutdown()
                self._writer = None
            if self._cache_before is not None:
                _stories.set_page_cache(self._conn, self._cache_before)
                self._cache_before = None

    def _settle(self) -> None:
        """Wait for the batch being written, raising its error."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()

    def boilerplate(self, source_id: str) -> bytes:
        self._settle()
        return _stories.boilerplate(self._conn, source_id)

    def recent_shingles(self, source_id: str, limit: int) -> list[bytes]:
        """Packed shingles of the source's newest placed items (for boilerplate learning)."""
        self._settle()
        return _stories.recent_shingles(self._conn, source_id, limit)

    def set_boilerplate(self, source_id: str, packed: bytes) -> None:
        self._settle()
        _stories.set_boilerplate(self._conn, source_id, packed)

    def keyword_counts(self) -> tuple[dict[str, int], int]:
        """Items per keyword, and items counted in all (kept in memory while placing)."""
        self._settle()
        return _stories.counts(self._conn)

    def save_keyword_counts(self, changed: Mapping[str, int], total: int) -> None:
        self._settle()
        _stories.save_counts(self._conn, changed, total)

    def placed(self, since: datetime) -> Iterator[PlacedItem]:
        """Items already in a story, published since ``since`` (to load the index)."""
        self._settle()
        return _stories.placed(self._conn, since)

    def generation(self) -> int:
        """Changes when stories change other than by placing items (split, merge, retag)."""
        self._settle()
        return _stories.generation(self._conn)

    def next_story_id(self) -> int:
        self._settle()
        return _stories.next_story_id(self._conn)

    def place(self, placements: Sequence[StoryPlacement], now: datetime) -> None:
        """Write where items were placed (and create the stories they started).

        A large batch on SQLite is staged here and written into the items on a thread of
        its own while the caller places the next items: SQLite runs that one statement
        without Python's GIL, so both cores work. (Writing row by row on a thread was slower:
        the GIL went back and forth for every row.)
        """
        self._settle()
        large = len(placements) >= _stories.LARGE_BATCH
        if large and self._cache_before is None:
            self._cache_before = _stories.set_page_cache(self._conn, -_stories.PLACING_CACHE_KB)
        if not (large and _stories.can_stage(self._conn)):
            _stories.place(self._conn, placements, now)
            return
        _stories.stage(self._conn, placements, now)
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="revier-feed-placements")
        self._writing = self._writer.submit(_stories.apply_staged, self._conn)
