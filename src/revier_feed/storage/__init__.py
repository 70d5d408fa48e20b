"""The store: the only part of revier-feed that speaks SQL.

One :class:`Storage` owns the SQLite file; each public method is one transaction, so a
crash or a signal never leaves half of a source's items written.

The store speaks plain SQL through the standard library's ``sqlite3`` (:mod:`.database`),
one module per part of it, and the numbered migrations in :mod:`.schema` (see docs/dev.md,
"The store on sqlite3").
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from ..exceptions import StorageError
from ..models import (
    DigestCopy,
    DigestLogEntry,
    DigestResend,
    Item,
    ItemDecision,
    MetricKey,
    MetricSample,
    RetentionResult,
    RobotsCopy,
    SourceState,
    StoredItem,
    StoredKey,
    Story,
    StoryText,
)
from . import counters as _counters
from . import database
from . import digests as _digests
from . import identity as _identity
from . import items as _items
from . import retention as _retention
from . import sources as _sources
from . import stories as _stories
from .database import VERSION, Database
from .schema import migrate
from .stories import StoryWrites

__all__ = ["VERSION", "Storage", "StoryWrites"]


class Storage:
    """A revier-feed store: a SQLite file, given as a ``sqlite:///PATH`` URL.

    Args:
        url: where the store is (a new one is made there, at the current schema version).
        upgrade: bring a store of an older schema version up to date at once; if False it
            is left as it is (:attr:`schema_version`) until :meth:`upgrade`.

    Raises:
        StorageError: the store cannot be opened (not a SQLite file URL, not a database).
        SchemaVersionError: the store was written by a newer revier-feed.
    """

    def __init__(self, url: str, *, upgrade: bool = True) -> None:
        self.url = url
        self._database = Database(url)
        try:
            found = self._database.schema_version()
            database.check_version(found)
            #: The store's schema version (:data:`VERSION` once upgraded).
            self.schema_version = found
            if found == 0 or upgrade:
                self.upgrade()
        except BaseException:
            self.close()
            raise

    def upgrade(self) -> bool:
        """Bring the store to :data:`VERSION`; False if it was there already (also when
        another process upgraded it since it was opened).

        Raises:
            StorageError: a migration failed (it is rolled back whole).
        """
        self.schema_version = self._database.schema_version()
        if self.schema_version >= database.VERSION:
            return False
        migrate(self._database)
        self.schema_version = database.VERSION
        return True

    def close(self) -> None:
        self._database.close()

    def check_file(self) -> None:
        """Make sure the store's file is still the one opened (see :meth:`Database.check_file`).

        Raises:
            StorageError: it was deleted or replaced.
        """
        self._database.check_file()

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
            StorageError: the copy failed.
        """
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            with self._database.reading(f"back up the store to {target}") as source:
                copy = _backup_file(tmp, target)
                try:
                    source.backup(copy)  # all pages in one step: a single snapshot
                    # One self-contained file, without a -wal beside it.
                    copy.execute("PRAGMA journal_mode=DELETE")
                    # A damaged store copies without complaint: say so, and write nothing.
                    found = [row[0] for row in copy.execute("PRAGMA quick_check(3)")]
                except sqlite3.OperationalError as e:
                    if e.sqlite_errorcode & 0xFF not in _COPY_FAILURES:
                        raise
                    raise _backup_error(target, e) from None
                finally:
                    copy.close()
            if found != ["ok"]:
                raise StorageError(
                    f"the store is damaged ({'; '.join(found)}): no backup written; "
                    "`sqlite3 STORE .recover` saves what can still be read"
                )
            os.replace(tmp, target)
        except OSError as e:
            raise StorageError(f"could not back up the store to {target}: {e}") from None
        finally:
            tmp.unlink(missing_ok=True)

    def source_states(self, source_ids: Iterable[str]) -> dict[str, SourceState]:
        """Stored state of each given source that has been fetched at least once."""
        with self._database.reading("read source states") as conn:
            return _sources.load_states(conn, source_ids)

    def item_fingerprints(self, source_id: str, keys: Iterable[str]) -> dict[str, str]:
        """Fingerprints of already stored items of ``source_id``, by item key."""
        with self._database.reading("read item fingerprints") as conn:
            return _items.fingerprints(conn, source_id, keys)

    def estimated_first_seen(self, source_id: str, keys: Iterable[str]) -> dict[str, datetime]:
        """When the stored items of ``source_id`` among ``keys`` whose date is estimated
        were first seen, by item key."""
        with self._database.reading("read items' first sighting") as conn:
            return _items.estimated_first_seen(conn, source_id, keys)

    def save_source_result(
        self,
        state: SourceState,
        decisions: Sequence[tuple[Item, ItemDecision]],
        now: datetime,
        rekeyed: Mapping[int, str] | None = None,
        retired_listed: Collection[str] | None = None,
        retired_rekeyed: Mapping[str, str] | None = None,
        refresh_files: bool = True,
    ) -> None:
        """Write a source's new state and its items in one transaction.

        Args:
            rekeyed: new keys of stored items (by id), written first: the source's items
                are identified differently from now on (``state.identity``).
            retired_listed: when the source's documents were read whole (not a 304, not
                a failure, nothing left out or warned about), the keys of retired items
                they still list (see :func:`.retention.forget_tombstones`).
            retired_rekeyed: new keys of retired items (old key -> new key), as for
                ``rekeyed``.
            refresh_files: unchanged items take the files their document gives now; not
                for a source that follows its items, whose files come from article pages
                read only when an item is new or changed.
        """
        with self._database.writing(f"save source {state.source_id}") as conn:
            _sources.save_states(conn, [state], now)
            _identity.rekey(conn, rekeyed or {})
            _retention.rekey_tombstones(conn, state.source_id, retired_rekeyed or {})
            _items.apply(conn, decisions, now, refresh_files=refresh_files)
            if retired_listed is not None:
                _sources.mark_read(conn, state.source_id, now)
                _retention.note_listing(conn, state.source_id, retired_listed, now)

    def keys_by_url(
        self, source_id: str, urls: Iterable[str]
    ) -> dict[str, list[tuple[str, str, str]]]:
        """(key, title) of the source's stored items at each of the given URLs."""
        with self._database.reading("read item keys") as conn:
            return _identity.keys_by_url(conn, source_id, urls)

    def stored_keys(self, source_id: str) -> list[StoredKey]:
        """Every stored item of the source with what a new key could be built from."""
        with self._database.reading("read item keys") as conn:
            return _identity.stored_keys(conn, source_id)

    def save_source_states(self, states: Sequence[SourceState], now: datetime) -> None:
        """Write the new states of several sources (that stored no items) in one transaction."""
        with self._database.writing("save source states") as conn:
            _sources.save_states(conn, states, now)

    def sources_with_unplaced_items(self) -> list[str]:
        """Ids of the sources that have items not yet placed in a story."""
        with self._database.reading("read items") as conn:
            return _sources.with_unplaced_items(conn)

    def recent_items(self, source_ids: Iterable[str], limit: int) -> list[StoredItem]:
        """Newest items of the given sources, newest first."""
        with self._database.reading("read items") as conn:
            return _items.recent(conn, source_ids, limit)

    def robots_txts(self) -> dict[str, RobotsCopy]:
        """Every cached robots.txt by origin.

        One row per origin ever fetched: few enough to read at once, which costs one query
        per cycle instead of one per host.
        """
        with self._database.reading("read robots.txt cache") as conn:
            return _sources.load_robots(conn)

    def save_robots_txt(self, origin: str, copy: RobotsCopy) -> None:
        """Remember the robots.txt of ``origin`` (status 404 etc. means "no rules")."""
        with self._database.writing("save robots.txt cache") as conn:
            _sources.save_robots(conn, origin, copy)

    def host_turns(self) -> dict[str, tuple[datetime, datetime]]:
        """When each host may next be asked, as the last run left it: (next start by its
        Crawl-delay, end of the pause it asked for), by host name."""
        with self._database.reading("read the hosts' turns") as conn:
            return _sources.load_host_turns(conn)

    def keep_host_turns(self, turns: dict[str, tuple[datetime, datetime]], now: datetime) -> None:
        """Store the hosts' turns (see :meth:`host_turns`): for a host known already, the
        later of each time wins; hosts whose turns are both over by ``now`` are dropped."""
        with self._database.writing("save the hosts' turns") as conn:
            _sources.keep_host_turns(conn, turns, now)

    def end_host_pauses(self, now: datetime, sooner: Mapping[str, datetime] | None = None) -> None:
        """End every pause a host asked for (an admin's reload: the site may be back), and
        move the next fetch of the sources in ``sooner`` (by id) to the time given."""
        with self._database.writing("end the hosts' pauses") as conn:
            _sources.end_host_pauses(conn, now, sooner or {})

    def iter_items(
        self, source_ids: Iterable[str], batch: int = 500
    ) -> Iterator[list[StoredItem]]:
        """All items of the given sources in batches, oldest id first."""

        ids = list(source_ids)
        last = 0
        while True:
            with self._database.reading("read items") as conn:
                chunk = _items.batches(conn, ids, last, batch)
            if not chunk:
                return
            yield chunk
            last = chunk[-1].id

    def set_tags(self, tagged: Sequence[tuple[int, Item]]) -> int:
        """Replace tags and districts of stored items (by id) in one transaction."""
        with self._database.writing("save tags") as conn:
            _stories.bump(conn)  # districts decide stories too
            return _items.set_tags(conn, tagged)

    def find_item(self, reference: str) -> StoredItem | None:
        """An item by its id, URL or source key."""
        with self._database.reading("find item") as conn:
            return _items.find(conn, reference)

    @contextlib.contextmanager
    def story_index(self) -> Iterator[StoryWrites]:
        """One write transaction for placing items into stories."""
        with self._database.writing("update stories") as conn:
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
            if writes.large:
                # Its transaction rewrote thousands of item rows: copying them from the
                # write-ahead log into the file is left to a thread, beside publishing.
                self._database.checkpoint_later(conn)

    def pending_story_items(self, source_ids: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
        """The ids and keys of these sources' items that the stories step has not placed
        yet, by source (only sources with some), oldest first."""
        with self._database.reading("read items") as conn:
            return _stories.pending(conn, source_ids)

    def story_context(self, source_id: str, recent: int) -> tuple[bytes, list[bytes]]:
        """What learning a source's boilerplate starts from: its known boilerplate (packed)
        and the packed shingles of its ``recent`` newest placed items."""
        with self._database.reading("read story context") as conn:
            return (
                _stories.boilerplate(conn, source_id),
                _stories.recent_shingles(conn, source_id, recent),
            )

    def story_texts(self, ids: Sequence[int]) -> list[StoryText]:
        """What the stories step reads of these items, in order of id."""
        with self._database.reading("read items") as conn:
            return _stories.texts(conn, sorted(ids))

    def recent_stories(self, source_ids: Iterable[str], limit: int) -> list[Story]:
        """The stories of the given sources that came last (collected as news, or first
        published if they came as backlog), newest first."""
        with self._database.reading("read stories") as conn:
            return _stories.recent(conn, list(source_ids), limit)

    def publish_version(self) -> int:
        """A number that changes with every write that can change published stories
        (items added, changed, retagged, moved between stories or removed).

        Read it *before* the stories: a write in between then only makes the next
        publish read again, never skip a change.
        """
        with self._database.reading("read publish version") as conn:
            return _counters.publish_version(conn)

    def story(self, story_id: int) -> Story | None:
        """A story with all its members."""
        with self._database.reading("read story") as conn:
            found = _stories.members(conn, [story_id])
        return found[0] if found else None

    def stories(self, story_ids: Sequence[int], source_ids: Iterable[str]) -> list[Story]:
        """The given stories, in that order, with their members of the given sources."""
        with self._database.reading("read stories") as conn:
            return _stories.members(conn, list(story_ids), list(source_ids))

    def story_facets(self, source_ids: Iterable[str]) -> list[_stories.Facets]:
        """Every placed item of these sources as ``stories list`` searches it: story,
        source, date, title, tags and districts, without reading the items' texts."""
        with self._database.reading("read stories") as conn:
            return _stories.facets(conn, list(source_ids))

    def split_story(self, item_id: int, now: datetime) -> tuple[int, bool]:
        """Give an item a story of its own, for good; returns the story's id and whether the
        item moved (not if it was alone in its story: it stays there, pinned)."""
        with self._database.writing("split story") as conn:
            return _stories.split(conn, item_id, now)

    def merge_stories(self, into_story: int, from_story: int) -> int:
        """Join ``from_story`` into ``into_story`` for good; returns the items moved."""
        with self._database.writing("merge stories") as conn:
            return _stories.merge(conn, into_story, from_story)

    def count_new_stories(self, source_ids: Iterable[str], since: datetime) -> int:
        """Stories first seen after ``since`` (backlog included)."""
        with self._database.reading("count stories") as conn:
            return _stories.count_since(conn, list(source_ids), since)

    def retire_items(self, published_before: datetime, now: datetime) -> RetentionResult:
        """Remove items published before the date, in one transaction (see retention.py)."""
        with self._database.writing("remove old items") as conn:
            return _retention.retire(conn, published_before, now)

    def tombstone_keys(self, source_id: str) -> list[tuple[str, str | None, str | None]]:
        """The key, link and title of each item of ``source_id`` that retention removed."""
        with self._database.reading("read removed items") as conn:
            return _retention.tombstone_keys(conn, source_id)

    def retired_keys(self, source_id: str, keys: Iterable[str]) -> set[str]:
        """Which of these item keys of ``source_id`` retention has removed."""
        with self._database.reading("read removed items") as conn:
            return _retention.retired_keys(conn, source_id, keys)

    def count_items(self) -> int:

        with self._database.reading("count items") as conn:
            return _items.count(conn)

    def count_items_by_source(self) -> dict[str, int]:
        """Stored items per source id."""
        with self._database.reading("count items") as conn:
            return _counters.count_items_by_source(conn)

    def count_stories(self) -> int:
        with self._database.reading("count stories") as conn:
            return _counters.count_stories(conn)

    def record_metrics(
        self, increments: Mapping[MetricKey, float], gauges: Mapping[MetricKey, float]
    ) -> None:
        """Add to counters and set gauges, in one transaction."""
        with self._database.writing("record metrics") as conn:
            _counters.add(conn, increments, gauges)

    def metrics(self) -> list[MetricSample]:
        """Every stored counter and gauge."""
        with self._database.reading("read metrics") as conn:
            return _counters.load(conn)

    # --- digest ------------------------------------------------------------------------

    def digest_candidates(
        self, source_ids: Iterable[str], since: datetime, until: datetime
    ) -> list[Story]:
        """Stories first seen by ``until`` with a member new or changed after ``since``."""
        with self._database.reading("read digest stories") as conn:
            return _digests.changed_stories(conn, list(source_ids), since, until)

    def digest_log(
        self, partner_ids: Iterable[str] | None = None, limit: int | None = None
    ) -> list[DigestLogEntry]:
        """The send log, newest period first."""
        with self._database.reading("read the digest log") as conn:
            return _digests.entries(conn, partner_ids, limit)

    def digest_entry(self, partner_id: str, period: str) -> DigestLogEntry | None:
        """The send log row of one partner and period."""
        with self._database.reading("read the digest log") as conn:
            return _digests.entry(conn, partner_id, period)

    def digest_covered_until(self, partner_id: str) -> tuple[datetime, datetime] | None:
        """Where the partner's last delivered (or empty) digest ended, and its slot (not
        of a digest recorded before its slot: sent under a clock that ran ahead)."""
        with self._database.reading("read the digest log") as conn:
            return _digests.covered_until(conn, partner_id)

    def redate_future_digests(self, now: datetime, ahead_of: datetime) -> int:
        """Date ``now`` the send log rows recorded after ``ahead_of`` (under a clock that
        ran ahead); returns how many."""
        # Read first: every cycle asks, and a write would wait for the store's other users.
        with self._database.reading("read the digest log") as conn:
            if not _digests.any_after(conn, ahead_of):
                return 0
        with self._database.writing("write the digest log") as conn:
            return _digests.redate_future(conn, now, ahead_of)

    def first_unplaced_seen(self, source_ids: Iterable[str]) -> datetime | None:
        """When the first stored item of these sources that waits for its story was first
        seen (None: every item is in a story)."""
        with self._database.reading("read the items") as conn:
            return _digests.first_unplaced_seen(conn, list(source_ids))

    def digest_archived_until(self, before: datetime, excluding: str) -> datetime | None:
        """Where the archive page of the last period before ``before`` that some partner
        (not ``excluding``) was sent a digest of ends: its slot, or before the first story
        still waiting for its placement when that period's digests were sent."""
        with self._database.reading("read the digest log") as conn:
            return _digests.archived_until(conn, before, excluding)

    def digest_sent_stories(self, partner_id: str) -> dict[int, tuple[str, bool]]:
        """Stories the partner has received: id -> (text hash, already listed as updated)."""
        with self._database.reading("read the digest log") as conn:
            return _digests.sent_stories(conn, partner_id)

    def save_digest_state(
        self,
        log: DigestLogEntry,
        now: datetime,
        stories: Sequence[tuple[int, str, bool]] = (),
        supersede: bool = False,
        resend: DigestResend | None = None,
        copy: DigestCopy | None = None,
    ) -> None:
        """Write a send log row, with the stories it delivered, in one transaction. The
        partner's kept copies of periods now done are dropped.

        Args:
            stories: (story id, text hash, listed as update) of a delivered digest.
            supersede: older pending periods of the partner become superseded.
            resend: addresses that refused it for now, to send it to again.
            copy: the message as handed to the mail server, kept while the period is
                pending (one kept already stays: it is what may have arrived).
        """
        with self._database.writing("write the digest log") as conn:
            _digests.save(conn, log, now)
            if stories:
                _digests.record_stories(conn, log.partner_id, log.period, stories)
            if supersede:
                _digests.supersede(conn, log.partner_id, log.period, now)
            if resend is not None:
                _digests.save_resend(conn, resend)
            if copy is not None:
                _digests.save_copy(conn, copy)
            _digests.drop_done_copies(conn, log.partner_id)

    def digest_copy(self, partner_id: str, period: str) -> DigestCopy | None:
        """The message of a pending digest as first handed to the mail server, if kept."""
        with self._database.reading("read the digest log") as conn:
            return _digests.copy(conn, partner_id, period)

    def digest_resends(
        self, partner_ids: Iterable[str] | None = None, due_by: datetime | None = None
    ) -> list[DigestResend]:
        """Pending resends of digests (of some partners, and due by ``due_by``, if given)."""
        with self._database.reading("read the digest log") as conn:
            return _digests.resends(conn, partner_ids, due_by)

    def save_digest_resend(
        self, log: DigestLogEntry, now: datetime, resend: DigestResend | None
    ) -> None:
        """Write the send log row of a resent digest and what is left to resend (None:
        nothing; the resend is done), in one transaction."""
        with self._database.writing("write the digest log") as conn:
            _digests.save(conn, log, now)
            if resend is None:
                _digests.delete_resend(conn, log.partner_id, log.period)
            else:
                _digests.save_resend(conn, resend)

    def mail_server_failures(self) -> int:
        """How many digest runs in a row could not reach the mail server (0: the last run
        that tried did)."""
        with self._database.reading("read the digest log") as conn:
            return _digests.mail_server_failures(conn)

    def end_mail_server_wait(self, now: datetime) -> int:
        """End the wait for a mail server that could not be reached (an admin's reload: it
        may be back, or its login mended): the digests and resends waiting for it are due
        at ``now``. How many were waiting (0 if the server had no failures)."""
        with self._database.writing("write the digest log") as conn:
            return _digests.end_mail_server_wait(conn, now)

    def save_mail_server_failures(self, failures: int) -> None:
        with self._database.writing("write the digest log") as conn:
            _digests.set_mail_server_failures(conn, failures)


#: Errors of a backup that are the copy's (its folder, its disk), not the store's.
_COPY_FAILURES = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY})


def _backup_file(tmp: Path, target: Path) -> sqlite3.Connection:
    try:
        return sqlite3.connect(tmp)
    except sqlite3.OperationalError as e:
        raise _backup_error(target, e) from None


def _backup_error(target: Path, error: sqlite3.OperationalError) -> StorageError:
    """A backup that failed on the copy's side: the store's hints would mislead."""
    where = (
        f"the disk that holds {target.parent} is full; free space there"
        if error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_FULL
        else f"{target.parent} must be a folder this user can write, on a working disk"
    )
    return StorageError(
        f"could not back up the store to {target}: {error} (hint: {where}, or back up "
        "elsewhere; the store is untouched)"
    )
