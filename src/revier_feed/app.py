"""The application: built from a validated configuration, owns the store and the clock.

The CLI, the scheduler and the demo call only this API.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import json
import logging
import os
import random
import re
import socket
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Self
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from . import __version__, german, ingest, monitor, placement, schedule, stories
from ._utils import AlreadyLocked, LockHolder, ProcessLock
from .compute import AUTO_START_ITEMS, ItemWorkers, auto_processes
from .config import AppConfig
from .exceptions import (
    COMMAND_LINE,
    AlreadyRunning,
    ConfigError,
    ConfigIssue,
    Deferred,
    DigestError,
    PublishError,
    RevierError,
    SilentHost,
    SourceError,
    StorageError,
    StoreOutdatedError,
)
from .fetch import Fetcher, HostTurns, TlsContexts
from .models import (
    CLOCK_SLACK,
    ChannelInfo,
    CycleSummary,
    DigestIssue,
    Discovery,
    ErrorKind,
    FeedLink,
    FetchResult,
    Health,
    IgnoredValidators,
    MetricSample,
    PartnerSpec,
    Preview,
    RetentionResult,
    RobotsCopy,
    SourceReport,
    SourceSpec,
    SourceState,
    SourceStatus,
    SourceTls,
    StoredItem,
    Story,
    StoryFilter,
    fetch_due,
)
from .publish import (
    ICON_NAME,
    PublishResult,
    feed_paths,
    missing_files,
    page_path,
    publish,
    websub,
)
from .storage import VERSION as STORE_VERSION
from .storage import Storage
from .tag import Tagger, TagMatch

if TYPE_CHECKING:
    from email.message import EmailMessage

    import httpx  # only the type of the test transport; fetch owns httpx

    from . import deliver, digest

# The digest's modules (deliver, digest: jinja2, css-inline, smtplib) are imported by the
# methods that need them: `run --once` starts from cron every few minutes and sends no mail.

log = logging.getLogger(__name__)

#: The channel every item goes to.
ALL_CHANNEL = "all"
#: Stories read per publish; every channel chooses its entries from these.
STORIES_SCANNED = 2000
#: ``sources discover``: the links tried as feeds per step, at most (a site's page of its
#: feeds may list a dozen).
DISCOVER_TRIES = 12
#: What a feed a page names answered that shows it is none (not the site's trouble now).
_NO_FEED_THERE = frozenset(
    {ErrorKind.HTTP_4XX, ErrorKind.GONE, ErrorKind.NOT_A_FEED, ErrorKind.PARSE, ErrorKind.EMPTY}
    | {ErrorKind.PRIVATE}  # one the page names at a private address: not asked, and why
    # A snippet for it would fail at once (a firewall in front, a placeholder there).
    | {ErrorKind.BLOCKED, ErrorKind.UNAVAILABLE}
)


@dataclass(frozen=True, slots=True)
class CycleResult:
    summary: CycleSummary
    published: PublishResult


class App:
    """revier-feed for one configuration; use as a context manager.

    Args:
        config: the validated configuration.
        now: the clock (injected in tests).
        rng: random source for schedule jitter (seeded in tests).
        transport: an httpx transport (tests only; production uses the network).
        processes: worker processes for normalizing and tagging (default: the
            configuration's ``worker.processes``; 0 keeps everything in this process,
            "auto" starts one per core once a cycle brings many items).
        access: what the command does with the store, which decides what becomes of a
            store of an older schema version: "write" upgrades it, holding the store's
            locks while it does (never under an older worker still running); "read"
            leaves it as it is and refuses it (:class:`StoreOutdatedError` says what
            upgrades it); "copy" takes it as it is (``backup``, before an upgrade).

    Raises:
        StorageError: the store cannot be opened, or is older and cannot be upgraded now
            (:class:`AlreadyRunning`: another revier-feed holds it).
    """

    def __init__(
        self,
        config: AppConfig,
        *,
        now: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        processes: int | Literal["auto"] | None = None,
        access: Literal["write", "read", "copy"] = "write",
    ) -> None:
        self.config = config
        #: ``worker.processes`` unless the caller chose (tests, benchmarks).
        self._processes_chosen = processes
        self._use_processes(config)
        self.tz = ZoneInfo(config.settings.timezone)
        self.now = now or (lambda: datetime.now(UTC))
        self._rng = rng or random.Random()
        # A worker's cycles share the story index instead of loading it every time.
        self._story_cache = placement.StoryCache()
        self._transport = transport
        self._stop = threading.Event()
        #: The event loop and task of the cycle in progress, for :meth:`abandon`.
        self._running: tuple[asyncio.AbstractEventLoop, asyncio.Task[object]] | None = None
        self._running_lock = threading.Lock()
        self.tagger = Tagger(config.tags, config.districts, config.elsewhere)
        self.storage = Storage(config.storage_url, upgrade=False)
        if self.storage.schema_version < STORE_VERSION and access != "copy":
            try:
                self._upgrade_store(access)
            except BaseException:
                self.storage.close()
                raise
        self._said_python = False  # that the story stage's C extension is missing
        #: The store's lock while :meth:`exclusive` holds it.
        self._lock: ProcessLock | None = None
        #: The store's lock file was deleted and could not be made again (said once).
        self._lock_unmade = False
        #: When each host may next be asked, across cycles (Crawl-delay, 429 pauses).
        self._host_turns: dict[str, HostTurns] = {}
        self._tls_contexts = TlsContexts()
        #: The hosts' turns as they were after reading the store: what to store is only
        #: what this process moved on since.
        self._host_turns_read: dict[str, tuple[float, float]] = {}
        #: Whether the store held turns that were over when they were read (to drop).
        self._host_turns_expired = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.storage.close()

    def _upgrade_store(self, access: Literal["write", "read"]) -> None:
        """Bring the store to the current schema, holding its locks: a worker or a digest
        run of the older version still running would go on writing as if nothing had
        changed, and refuse the store when restarted."""
        found = self.storage.schema_version
        file = str(self.config.store_file)
        if access == "read":
            holder = self.worker_holder() or _holder(_lock_paths(self.config, ".digest-lock"))
            running = (
                f"; {holder.who} runs for it now: stop it, and start it with this version"
                if holder is not None
                else ""
            )
            raise StoreOutdatedError(
                f"the store {file} has schema version {found}, older than this "
                f"revier-feed's {STORE_VERSION}. This command only reads the store and "
                "leaves it as it is; the first command that writes to it upgrades it, such "
                f"as the worker as it starts (`revier-feed run`) or `run --once`{running}. "
                "To be able to go back to the older version, keep a copy first: "
                "`revier-feed backup FILE`"
            )
        description = f"pid {os.getpid()} on {socket.gethostname()}, {_UPGRADING} {STORE_VERSION}"
        braced = file.replace("{", "{{").replace("}", "}}")  # the message is formatted again
        busy = (
            f"the store {braced} has schema version {found}, and this revier-feed upgrades it "
            f"to {STORE_VERSION} only while no other revier-feed uses it, but {{holder}} "
            "does (lock file {path}). Nothing was changed: stop it, and start it with this "
            "version, which upgrades the store"
        )
        deadline = time.monotonic() + _UPGRADE_WAIT
        while True:
            try:
                store = _take(_lock_paths(self.config), description, "the store's lock", busy)
                break
            except AlreadyRunning:
                # Another process of this version that started at the same moment and is
                # upgrading: a moment's wait, and nothing is left to do.
                holder = _holder(_lock_paths(self.config))
                upgrading = holder is not None and _UPGRADING in holder.who
                if (holder is not None and not upgrading) or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        try:
            digests = _take(
                _lock_paths(self.config, ".digest-lock"), description, "the digest lock", busy
            )
            try:
                if not self.storage.upgrade():
                    return  # upgraded by that other process while this one waited
            finally:
                digests.release()
        finally:
            store.release()
        log.info(
            "upgraded the store %s from schema version %d to %d",
            file,
            found,
            STORE_VERSION,
            extra={"event": "store_upgraded", "from": found, "to": STORE_VERSION},
        )

    @contextlib.contextmanager
    def exclusive(self, command: str) -> Iterator[None]:
        """Hold the store's lock while collecting: one worker (or `run --once`) per store.

        Raises:
            AlreadyRunning: another process holds it; the message names that process.
        """
        started = self.now().astimezone(self.tz).strftime("%Y-%m-%d %H:%M")
        description = f"pid {os.getpid()} on {socket.gethostname()}, `{command}` since {started}"
        lock = _take(
            _lock_paths(self.config),
            description,
            "the store's lock",
            "another revier-feed is already collecting for this store: {holder} (lock file "
            "{path}); stop it first, or use a separate configuration",
        )
        self._lock = lock
        try:
            yield
        finally:
            self._lock = None
            lock.release()

    def keep_lock(self) -> bool:
        """Hold the store's lock still (in :meth:`exclusive`): if its file was deleted, a
        second worker would start beside this one; the file is made again and locked.
        True if that had to be done.

        Raises:
            AlreadyRunning: another process took the lock after the file was deleted.
        """
        if self._lock is None:
            return False
        try:
            remade = self._lock.keep()
        except AlreadyLocked as e:
            raise AlreadyRunning(
                f"another revier-feed took the store's lock after its file {e.path} was "
                f"deleted: {e.holder or 'another process'}; this one stops, so that only "
                "one collects for the store"
            ) from None
        except OSError as e:
            # A full or read-only disk: no other process could write the file either, so
            # none can start beside this one; tried again at every tick, said once.
            if not self._lock_unmade:
                log.warning(
                    "the store's lock file %s was deleted and cannot be made again now: %s; "
                    "trying again at every tick",
                    self._lock.path,
                    e.strerror or e,
                    extra={"event": "lock_lost"},
                )
            self._lock_unmade = True
            return False
        self._lock_unmade = False
        return remade

    def note_state(self, text: str) -> None:
        """Note ``text`` (one line; "" when all is well again) in the store's lock while
        holding it, for ``/healthz`` and ``status`` in other processes. It is written over
        bytes the lock file has, so a full disk, the first suspect when cycles fail, does
        not stop it; a failure to write it is logged only."""
        if self._lock is not None and not self._lock.note(text):
            log.warning("could not note the worker's state in %s", self._lock.path)

    def worker_holder(self) -> LockHolder | None:
        """The process collecting for this store right now, if any (from its lock)."""
        return _holder(_lock_paths(self.config))

    def paused_hosts(self) -> list[tuple[str, datetime]]:
        """The hosts that asked for a pause (429, Retry-After) not over yet, as the last
        run stored them, with its end; their sources are not asked until then (or until
        a reload, :meth:`end_host_pauses`)."""
        now = datetime.now(UTC)  # turns keep real time (HostTurns.on_clock)
        return sorted(
            (host, paused_until)
            for host, (_, paused_until) in self.storage.host_turns().items()
            if paused_until > now
        )

    def end_host_pauses(self) -> list[str]:
        """End the pauses hosts asked for, here and in the store (a reload: the admin may
        know a site is back): their turns, and the waits their ``Retry-After`` put on the
        schedules of sources that failed (their own backoff holds); Crawl-delays still hold.

        Returns:
            The sources due sooner now.

        Raises:
            StorageError: the store could not be written (this process's pauses are ended).
        """
        for turns in self._host_turns.values():
            turns.paused_until = 0.0
        sooner = self._without_asked_waits()
        self.storage.end_host_pauses(datetime.now(UTC), sooner)  # turns keep real time
        return sorted(sooner)

    def end_mail_server_wait(self) -> int:
        """End the wait for a mail server that could not be reached (a reload): the digests
        waiting for it are due now. How many were waiting."""
        waiting = self.storage.end_mail_server_wait(self.now())
        if waiting:
            log.info(
                "%d digest(s) waiting for the mail server are due now",
                waiting,
                extra={"event": "mail_server_wait_ended", "digests": waiting},
            )
        return waiting

    def _without_asked_waits(self) -> dict[str, datetime]:
        """The failed sources whose next fetch a site's ``Retry-After`` put beyond their
        own backoff, with the time their backoff alone gives."""
        states = self.storage.source_states(s.id for s in self.config.sources)
        sooner: dict[str, datetime] = {}
        for spec in self.config.sources:
            state = states.get(spec.id)
            if (
                state is None
                or state.error_count == 0
                or state.last_attempt_at is None
                or state.next_fetch_at is None
                or state.next_fetch_at <= self.now()
                or state.last_error_kind not in (ErrorKind.HTTP_429, ErrorKind.HTTP_5XX)
            ):
                continue
            own = schedule.next_fetch_at(
                state.last_attempt_at,
                self.current_interval(spec, state),
                error_count=state.error_count,
                max_backoff=self.config.settings.worker.max_backoff,
                rng=self._rng,
            )
            # Twice its own wait, and more: not the backoff's jitter, nor a slow fetch (the
            # wait counts from its end), but a site that asked for a pause (or an interval
            # the reloaded configuration shortened: due sooner as well).
            own_wait = own - state.last_attempt_at
            if state.next_fetch_at - state.last_attempt_at > 2 * own_wait:
                sooner[spec.id] = max(own, self.now())
        return sooner

    def request_stop(self) -> None:
        """Ask a running cycle to finish the sources it started and start no more."""
        self._stop.set()

    def abandon(self) -> None:
        """Cancel the cycle in progress (from another thread): requests in flight are
        dropped, a store transaction under way completes or rolls back whole, and the
        sources not stored stay due for the next start."""
        self._stop.set()
        with self._running_lock:
            if self._running is not None:
                loop, task = self._running
                loop.call_soon_threadsafe(task.cancel)

    def reconfigure(self, config: AppConfig) -> None:
        """Use a new, validated configuration from the next cycle on (config reload).

        Call it between cycles.

        Raises:
            ConfigError: the new configuration names another store (see :meth:`check_reload`).
        """
        self.check_reload(config)
        self.config = config
        self._use_processes(config)
        self.tz = ZoneInfo(config.settings.timezone)
        # An admin who reloads may know a paused site is back; Crawl-delays still hold.
        try:
            self.end_host_pauses()
        except StorageError as e:
            log.warning("the hosts' pauses could not be ended: %s; they end on their own", e)
        # ... or that the mail server is back, or has mended the login in the settings.
        try:
            self.end_mail_server_wait()
        except StorageError as e:
            log.warning("the wait for the mail server could not be ended: %s", e)
        self.tagger = Tagger(config.tags, config.districts, config.elsewhere)

    def _use_processes(self, config: AppConfig) -> None:
        chosen = self._processes_chosen
        configured = config.settings.worker.processes if chosen is None else chosen
        self._processes = auto_processes() if configured == "auto" else configured
        self._start_workers_after = AUTO_START_ITEMS if configured == "auto" else 0

    def check_reload(self, config: AppConfig) -> None:
        """Whether a running worker can switch to ``config``: not if the store moved.

        Raises:
            ConfigError: the new configuration names another store.
        """
        if (config.storage_url, config.lock_path) != (
            self.config.storage_url,
            self.config.lock_path,
        ):
            raise ConfigError(
                [
                    ConfigIssue(
                        str(config.config_dir / "settings.yaml"),
                        None,
                        "storage",
                        "the store cannot change while the worker runs",
                        "restart the worker to use another store",
                    )
                ]
            )

    def retire_old_items(self) -> RetentionResult:
        """Remove items older than ``worker.retention`` (the nightly job), keeping stories
        consistent; feeds must be republished afterwards if anything was removed."""
        now = self.now()
        retention = self.config.settings.worker.retention
        result = self.storage.retire_items(now - retention, now)
        log.info(
            "retention: removed %d items published before %s and %d emptied stories; "
            "forgot %d removed items their sources have not listed for as long",
            result.items,
            (now - retention).astimezone(self.tz).strftime("%Y-%m-%d %H:%M %Z"),
            result.stories,
            result.tombstones,
            extra={
                "event": "retention",
                "items": result.items,
                "stories": result.stories,
                "tombstones": result.tombstones,
            },
        )
        return result

    def run_ingest(
        self,
        *,
        only_due: bool = False,
        on_start: Callable[[int], None] | None = None,
        on_report: Callable[[SourceReport], None] | None = None,
        on_deferred: Callable[[str, str], None] | None = None,
    ) -> CycleSummary:
        """Collect all sources (or only the due ones) once.

        Args:
            only_due: skip sources whose next fetch time has not come (the worker's mode).
            on_start: called with the number of sources about to be collected.
            on_report: called with each source's report as it completes.
            on_deferred: called with each source left for later (its host gave it no
                turn) and why; such sources have no report.
        """
        if not self._said_python and not (
            stories.NATIVE and german.NATIVE_WORDS and _markup_built()
        ):
            self._said_python = True
            log.info(
                "the story stage, tagging and normalizing run in Python: the C extensions were "
                "not built (no C compiler when revier-feed was installed?); cycles with many "
                "new items are slower"
            )
        self.redate_future_digests()
        specs = list(self.config.sources)
        states = self.storage.source_states(s.id for s in specs)
        gone = tuple(s.id for s in specs if ingest.is_gone(s, states.get(s.id)))
        specs = [s for s in specs if s.id not in gone]
        if only_due:
            specs = self._due(specs, states)
        failing = (SourceStatus.FAILING, SourceStatus.EMPTY)
        failing_before = frozenset(
            s.id
            for s in specs
            if (st := states.get(s.id)) and ingest.current_state(s, st).status in failing
        )
        if on_start is not None:
            on_start(len(specs))
        started = self.now()
        done: list[SourceReport] = []

        def report(one: SourceReport) -> None:
            done.append(one)
            if on_report is not None:
                on_report(one)

        reports: list[SourceReport] = []
        deferred: list[tuple[str, str]] = []
        unanswered: list[str] = []

        def left_for_later(source_id: str, why: Deferred) -> None:
            deferred.append((source_id, str(why)))
            if isinstance(why, SilentHost):
                unanswered.append(source_id)
            if on_deferred is not None:
                on_deferred(source_id, str(why))

        if specs:
            try:
                reports = asyncio.run(
                    self._collect(
                        specs, states, report, defer=only_due, on_deferred=left_for_later
                    )
                )
            except asyncio.CancelledError:
                reports = done
                log.warning(
                    "cycle abandoned: %d of %d sources stored; the others stay due",
                    len(done),
                    len(specs),
                    extra={"event": "cycle_abandoned", "stored": len(done), "due": len(specs)},
                )
        finished = self.now()
        # Counters live in the store, so `serve` in another process can report them.
        increments, gauges = monitor.cycle_finished(finished)
        increments.update(monitor.fetch_metrics(reports))
        self.storage.record_metrics(increments, gauges)
        summary = CycleSummary(
            reports=tuple(reports),
            started_at=started,
            finished_at=finished,
            deferred=tuple(deferred),
            unanswered=tuple(unanswered),
            failing_before=failing_before,
            gone=gone,
        )
        _log_cycle(summary)
        return summary

    async def _collect(
        self,
        specs: list[SourceSpec],
        states: Mapping[str, SourceState],
        on_report: Callable[[SourceReport], None] | None,
        *,
        defer: bool = False,
        on_deferred: Callable[[str, Deferred], None] | None = None,
    ) -> list[SourceReport]:
        """Collect ``specs``; with ``defer``, a source whose host's Crawl-delay leaves it
        no turn within ``fetch.max_retry_wait`` stays due for the next cycle instead of
        holding this one back (the worker's cycles and `run --once --due`; plain
        `run --once` fetches all)."""
        task = asyncio.current_task()
        assert task is not None
        with self._running_lock:
            self._running = (asyncio.get_running_loop(), task)
        try:
            with self._executor() as executor, self._item_workers(executor) as items:
                async with self._fetching(defer) as fetcher:
                    ctx = self._context(fetcher, executor, items)
                    every = self.config.sources
                    return await ingest.collect(
                        specs,
                        ctx,
                        on_report,
                        all_specs=every,
                        on_deferred=on_deferred,
                        states=states,
                    )
        finally:
            with self._running_lock:
                self._running = None

    def preview_source(self, spec: SourceSpec) -> Preview:
        """Fetch and parse ``spec`` without storing anything (``sources test``).

        Raises:
            SourceError: the source could not be fetched or parsed.
        """

        async def run() -> Preview:
            with self._executor() as executor:
                # One source: starting worker processes would cost more than they save.
                items = ItemWorkers(self.tagger, executor, processes=0)
                async with self._fetching() as fetcher:
                    return await ingest.preview(spec, self._context(fetcher, executor, items))

        return asyncio.run(run())

    def discover(self, url: str, tls: SourceTls | None = None) -> Discovery:
        """What ``url`` offers as a source (``sources discover``); ``tls``: the TLS choices
        the site needs (``--tls-ca-file``, ``--tls-legacy``).

        Raises:
            FetchError: the URL could not be fetched.
        """

        async def run() -> Discovery:
            async with self._fetching() as fetcher:
                fetched = await fetcher.fetch("discover", url, tls=tls)
                assert isinstance(fetched, FetchResult)  # no validators were sent
                from . import parse  # lxml and the parsers load only when a page is read

                found = parse.discover_page(fetched, self.now(), self.tz)
                found = replace(found, url=_subscribed_url(url, fetched), read_from=found.url)
                if found.is_feed:
                    return found
                unusable: list[tuple[str, str]] = []
                if found.feeds:
                    working = await self._readable_feeds(fetcher, found.feeds, unusable, tls, url)
                    passed_over = tuple(sorted(unusable))
                    if working:
                        return replace(found, feeds=working, selectors=None, unusable=passed_over)
                    found = replace(found, feeds=(), unusable=passed_over)
                feeds = await self._unadvertised_feeds(fetcher, found, tls, url)
            return replace(found, feeds=feeds, selectors=None) if feeds else found

        return asyncio.run(run())

    async def _readable_feeds(
        self,
        fetcher: Fetcher,
        feeds: Sequence[FeedLink],
        unusable: list[tuple[str, str]],
        tls: SourceTls | None,
        home: str,
    ) -> tuple[FeedLink, ...]:
        """The feeds a page names, without those that answer as no feed: a TYPO3 site's
        feed page type often serves the page itself, and the snippet printed for it failed
        at once. Those go to ``unusable`` with why. A feed that could not be checked (the
        site did not answer, or not now) is kept, as are those beyond the first
        :data:`DISCOVER_TRIES`, which are not asked. ``home``: the URL the admin asked
        about, the one host that may be at a private address (the page names the others)."""
        from . import parse

        async def one(feed: FeedLink) -> FeedLink | None:
            try:
                fetched = await fetcher.fetch("discover", feed.url, tls=tls, home=home)
                assert isinstance(fetched, FetchResult)  # no validators were sent
            except SourceError as e:
                if e.kind in _NO_FEED_THERE:
                    unusable.append((feed.url, str(e)))
                    return None
                return feed  # not now: that says nothing about the feed
            read = parse.discover_page(fetched, self.now(), self.tz, guess=False)
            if read.is_feed:
                # Its own title, as Miniflux names a subscription: the link's is often
                # "RSS", which named the source to readers ("Auch berichtet von: RSS").
                # Its kind as read: a link's type may say only "XML" or nothing.
                kind = read.feed_type or feed.type
                return replace(feed, title=read.title or feed.title, type=kind)
            unusable.append((feed.url, "it answers with a web page, not a feed"))
            return None

        asked = list(feeds)[:DISCOVER_TRIES]
        found = await asyncio.gather(*(one(feed) for feed in asked))
        kept = [feed for feed in found if feed is not None]
        return (*kept, *list(feeds)[DISCOVER_TRIES:])

    async def _unadvertised_feeds(
        self, fetcher: Fetcher, page: Discovery, tls: SourceTls | None, home: str
    ) -> tuple[FeedLink, ...]:
        """The feeds behind a page whose head names none, as SimplePie and Miniflux look
        for them: its links that look like feeds (and, when those are pages, the feeds
        those pages name or link to: a site's "RSS-Feeds" overview), else the addresses
        where its site may serve one unlinked. Each is fetched and kept only if it is a
        feed; what cannot be fetched or read is passed over. ``home`` as for
        :meth:`_readable_feeds`."""
        from . import parse

        tried: set[str] = {page.url}

        async def look(urls: Sequence[str]) -> list[Discovery]:
            # At most DISCOVER_TRIES of those not tried yet (a page of feeds may repeat the
            # links tried already, first).
            fresh = [u for u in dict.fromkeys(urls) if u not in tried][:DISCOVER_TRIES]
            tried.update(fresh)
            found = await asyncio.gather(*(one(u) for u in fresh))
            return [d for d in found if d is not None]

        async def one(url: str) -> Discovery | None:
            try:
                fetched = await fetcher.fetch("discover", url, tls=tls, home=home)
                assert isinstance(fetched, FetchResult)  # no validators were sent
                found = parse.discover_page(fetched, self.now(), self.tz, guess=False)
                return replace(found, url=_subscribed_url(url, fetched))
            except SourceError:
                return None

        def feeds_of(found: list[Discovery]) -> list[FeedLink]:
            links = {
                d.url: FeedLink(d.url, d.feed_type or "rss", d.title, advertised=False)
                for d in found
                if d.is_feed
            }
            return list(links.values())

        pages = await look(page.feed_links)
        feeds = feeds_of(pages)
        if not feeds:
            behind = [url for p in pages for url in (*(f.url for f in p.feeds), *p.feed_links)]
            feeds = feeds_of(await look(behind))
        if not feeds:
            feeds = feeds_of(await look(page.usual_feeds))
        return tuple(feeds)

    @contextlib.asynccontextmanager
    async def _fetching(self, defer: bool = False) -> AsyncIterator[Fetcher]:
        """A cycle's (or a command's) fetcher, which keeps to the hosts' turns that earlier
        runs left (Crawl-delay, 429 pauses); those still holding are stored when it is done,
        for the next run: `run --once --due` from cron, or the worker after a restart."""
        self._load_host_turns()
        try:
            async with self._fetcher(defer) as fetcher:
                yield fetcher
        finally:
            self._keep_host_turns()

    def _load_host_turns(self) -> None:
        # Read every time: a command beside the worker (`sources test`) may have stored a
        # pause since. The later of each time holds.
        stored = self.storage.host_turns()
        now = datetime.now(UTC)  # turns keep real time (HostTurns.on_clock)
        for name, (next_start, paused_until) in stored.items():
            kept = HostTurns.from_clock(next_start, paused_until)
            turns = self._host_turns.setdefault(name, kept)
            turns.next_start = max(turns.next_start, kept.next_start)
            turns.paused_until = max(turns.paused_until, kept.paused_until)
        # What this process stores when done is only what it moved on itself: a command
        # that ran while a reload ended the pauses wrote them back, from what it had read.
        self._host_turns_read = {
            name: (turns.next_start, turns.paused_until)
            for name, turns in self._host_turns.items()
        }
        self._host_turns_expired = any(
            max(next_start, paused_until) <= now for next_start, paused_until in stored.values()
        )

    def _keep_host_turns(self) -> None:
        left = time.monotonic()
        for name in [n for n, turns in self._host_turns.items() if turns.over(left)]:
            del self._host_turns[name]
        moved = {
            name: turns.on_clock()
            for name, turns in self._host_turns.items()
            if self._host_turns_read.get(name) != (turns.next_start, turns.paused_until)
        }
        if not moved and not self._host_turns_expired:
            return  # the usual case: no host asked for a wait, and nothing stored is over
        try:
            self.storage.keep_host_turns(moved, datetime.now(UTC))
        except StorageError as e:
            log.warning(
                "the hosts' turns (Crawl-delay, pauses) were not stored: %s; a run started "
                "before they are over may ask those hosts sooner",
                e,
            )

    def _fetcher(self, defer: bool = False) -> Fetcher:
        settings = self.config.fetch_settings(__version__)
        return Fetcher(
            settings,
            robots_cache=_StoredRobots(self.storage),
            now=self.now,
            rng=self._rng,
            should_stop=self._stop.is_set,
            transport=self._transport,
            host_turns=self._host_turns,
            max_turn_wait=settings.max_retry_wait if defer else None,
            tls_contexts=self._tls_contexts,
        )

    @staticmethod
    def _executor() -> ThreadPoolExecutor:
        # One worker: parsing is CPU-bound (more threads would only contend for the GIL)
        # and the store takes one writer at a time anyway.
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="revier-ingest")

    @contextlib.contextmanager
    def _item_workers(self, executor: ThreadPoolExecutor) -> Iterator[ItemWorkers]:
        workers = ItemWorkers(self.tagger, executor, self._processes, self._start_workers_after)
        try:
            yield workers
        finally:
            workers.close()

    def _context(
        self, fetcher: Fetcher, executor: ThreadPoolExecutor, items: ItemWorkers
    ) -> ingest.IngestContext:
        return ingest.IngestContext(
            fetcher=fetcher,
            storage=self.storage,
            executor=executor,
            tagger=self.tagger,
            items=items,
            story_window=self.config.settings.stories.window,
            tz=self.tz,
            max_backoff=self.config.settings.worker.max_backoff,
            stale_after=self.config.settings.worker.stale_after,
            now=self.now,
            rng=self._rng,
            should_stop=self._stop.is_set,
            story_cache=self._story_cache,
            revalidate_after=self.config.settings.fetch.revalidate_after,
        )

    def channels(self) -> list[ChannelInfo]:
        """Every published channel: all news, the configured ones, one per tag and district."""
        config = self.config
        site = config.settings.site
        base = ChannelInfo(
            id=ALL_CHANNEL,
            title=site.title,
            description=site.description,
            language=site.language,
            public_base_url=site.public_base_url,
            site_url=site.public_base_url,
            limit=config.settings.output.max_items,
            source_names={s.id: s.name for s in config.sources},
            source_urls={s.id: s.url for s in config.sources},
            priorities={s.id: s.priority for s in config.sources},
            labels={
                **{d.id: d.name for d in config.districts},
                **{t.id: t.label for t in config.tags},
            },
            hub=config.settings.websub_hub,
            icon_file=f"{ICON_NAME}.{config.icon[1]}" if config.icon else None,
        )
        channels = [base]
        others: list[ChannelInfo] = []
        for model in config.channels:
            rule = model.filter
            others.append(
                replace(
                    base,
                    id=model.id,
                    title=model.title,
                    description=model.description or model.title,
                    language=model.language,
                    limit=model.limit,
                    filter=StoryFilter(
                        tags=frozenset(rule.tags),
                        all_tags=frozenset(rule.all_tags),
                        districts=frozenset(rule.districts),
                        sources=frozenset(rule.sources),
                        exclude_tags=frozenset(rule.exclude_tags),
                    ),
                )
            )
        if config.tag_channels:
            for tag in config.tags:
                others.append(
                    replace(
                        base,
                        id=f"tag-{tag.id}",
                        title=f"{site.title} – {tag.label}",
                        description=f"{site.description}: {tag.label}",
                        filter=StoryFilter(tags=frozenset({tag.id})),
                    )
                )
        if config.district_channels:
            for district in config.districts:
                others.append(
                    replace(
                        base,
                        id=f"district-{district.id}",
                        title=f"{site.title} – {district.name}",
                        description=f"{site.description}: {district.name}",
                        filter=StoryFilter(districts=frozenset({district.id})),
                    )
                )
        # Each channel's feeds link its own page: a reader's "open the site" led to all news.
        return channels + [
            replace(c, site_url=urljoin(site.public_base_url, page_path(c.id, ALL_CHANNEL)))
            for c in others
        ]

    def publish(self) -> PublishResult:
        """Write every channel's feeds; files whose content did not change are left untouched.

        The outcome is kept in the store (``/healthz`` is unhealthy while publishing fails);
        the admin commands (retag, split, merge) publish without recording it, since their
        failure is reported to the admin at once and no worker would clear it without news.

        Raises:
            PublishError: the output folder cannot be written.
            StorageError: the store cannot be read.
        """
        try:
            result = self._publish()
        except RevierError:
            # The store may be what failed; the error being raised matters more than its record.
            with contextlib.suppress(StorageError):
                self.storage.record_metrics(*monitor.publish_finished(self.now(), failed=True))
            raise
        self.storage.record_metrics(*monitor.publish_finished(self.now(), failed=False))
        return result

    def _publish(self) -> PublishResult:
        channels = self.channels()
        # One read serves every channel: the newest stories, from which each channel picks
        # its own (so a narrow channel reaches back at most this far; see docs/dev.md).
        scan = max(STORIES_SCANNED, *(c.limit for c in channels))
        source_ids = sorted(s.id for s in self.config.sources)
        # Read before the stories: a write in between makes the next publish read again.
        version = self.storage.publish_version()
        title = self.config.settings.site.title
        try:
            result = publish(
                self.config.output_dir,
                title,
                channels,
                lambda: self.storage.recent_stories(source_ids, scan),
                self.tz,
                home_channel=ALL_CHANNEL,
                store_version=json.dumps([version, scan, source_ids]),
                icon=self.config.icon,
            )
        except PublishError as e:
            # One channel's file could not be replaced; the others' changes went out, and
            # their hub is told (the next publish would not know they changed).
            if isinstance(e.published, PublishResult):
                self._ping(e.published)
            raise
        self._ping(result)
        if result.removed:
            log.info(
                "removed the files of channels no longer configured: %s",
                ", ".join(str(p.relative_to(self.config.output_dir)) for p in result.removed),
                extra={"event": "publish_removed", "removed": len(result.removed)},
            )
        log.log(
            logging.INFO if result.written else logging.DEBUG,
            "published: %d files written, %d unchanged",
            len(result.written),
            len(result.unchanged),
            extra={
                "event": "publish",
                "written": len(result.written),
                "unchanged": len(result.unchanged),
            },
        )
        return result

    def _ping(self, result: PublishResult) -> None:
        """Tell the WebSub hub (if one is set) which channels' feeds changed."""
        hub = self.config.settings.websub_hub
        if hub and result.changed_channels:
            base = self.config.settings.site.public_base_url
            topics = [
                base + path
                for channel in result.changed_channels
                for path in feed_paths(channel).values()
            ]
            websub.ping(hub, topics, self.config.fetch_settings(__version__).user_agent)

    def missing_output(self) -> list[Path]:
        """The files a publish writes that are missing from the output folder (deleted while
        the worker runs: it would publish them again only with its next news)."""
        ids = [channel.id for channel in self.channels()]
        return missing_files(self.config.output_dir, ids, ALL_CHANNEL)

    def run_cycle(
        self,
        *,
        only_due: bool = False,
        on_start: Callable[[int], None] | None = None,
        on_report: Callable[[SourceReport], None] | None = None,
    ) -> CycleResult:
        """Collect, then publish.

        Publishing runs every cycle, not only after news: it is cheap, it rewrites only files
        whose bytes change, and it repairs an earlier failed publish or a config change (a
        source removed, a new title) without waiting for the next news item.
        """
        summary = self.run_ingest(only_due=only_due, on_start=on_start, on_report=on_report)
        return CycleResult(summary=summary, published=self.publish())

    def retag(self, on_progress: Callable[[int], None] | None = None) -> tuple[int, int]:
        """Apply the current tag rules and gazetteer to every stored item, then publish.

        Returns:
            (items looked at, items whose tags or districts changed)
        """
        specs = {s.id: s for s in self.config.sources}
        seen = changed = 0
        for batch in self.storage.iter_items(specs):
            retagged = []
            for stored in batch:
                item = self.tagger.tag(stored.item, specs[stored.item.source_id])
                if (item.tags, item.districts) != (stored.item.tags, stored.item.districts):
                    retagged.append((stored.id, item))
            changed += self.storage.set_tags(retagged) if retagged else 0
            seen += len(batch)
            if on_progress is not None:
                on_progress(len(batch))
        self._publish()
        return seen, changed

    def explain(self, reference: str) -> tuple[StoredItem, list[TagMatch] | None] | None:
        """A stored item (by id, URL or key) and why it gets each of its tags now.

        The matches are None when the item's source is no longer configured: the rules are
        not applied to its items any more (``retag`` skips them too).
        """
        stored = self.storage.find_item(reference)
        if stored is None:
            return None
        spec = next((s for s in self.config.sources if s.id == stored.item.source_id), None)
        if spec is None:
            return stored, None
        return stored, self.tagger.explain(stored.item, spec)

    def story(self, reference: str) -> Story | None:
        """A story by its id ("s12"), or the story of an item (by item id, URL or guid)."""
        # Story ids are written "s12"; a bare number is an item id, never a story id.
        if reference.startswith("s") and reference[1:].isdecimal():
            return self.storage.story(int(reference[1:]))
        stored = self.storage.find_item(reference)
        if stored is None or stored.story_id is None:
            return None
        return self.storage.story(stored.story_id)

    def find_stories(
        self, story_filter: StoryFilter, search: str | None = None, limit: int = 20
    ) -> list[Story]:
        """The newest stories (by first publication) that pass ``story_filter`` and, with
        ``search``, have a member whose title holds it (case and umlauts folded: "laendlich"
        finds "Ländliche"), newest first (``stories list``). One scan of the items' titles
        and tags, whatever the store's size; only the stories listed are read whole."""
        ids = [s.id for s in self.config.sources]
        wanted = german.fold(search) if search else None
        first: dict[int, datetime] = {}
        tags: dict[int, set[str]] = defaultdict(set)
        districts: dict[int, set[str]] = defaultdict(set)
        sources: dict[int, set[str]] = defaultdict(set)
        found: set[int] = set()
        facets = self.storage.story_facets(ids)
        for story, source, published, title, its_tags, its_districts in facets:
            if story not in first or published < first[story]:
                first[story] = published
            tags[story] |= its_tags
            districts[story] |= its_districts
            sources[story].add(source)
            if wanted is None or wanted in german.fold(title):
                found.add(story)
        chosen = sorted(
            (
                (first[story], story)
                for story in found
                if story_filter.matches_facets(tags[story], districts[story], sources[story])
            ),
            reverse=True,
        )[:limit]
        return self.storage.stories([story for _, story in chosen], ids)

    def split_story(self, item_reference: str) -> tuple[StoredItem, int, bool] | None:
        """Take an item out of its story for good (``stories split``), then republish.

        Returns:
            The item, its story's id and whether it moved (an item alone in its story
            stays there, pinned: its feed entry keeps its id); None if it is unknown.
        """
        stored = self.storage.find_item(item_reference)
        if stored is None:
            return None
        story_id, moved = self.storage.split_story(stored.id, self.now())
        if moved:
            self._publish()
        return stored, story_id, moved

    def merge_stories(self, into: str, other: str) -> tuple[int, int, int] | None:
        """Join the story of ``other`` into the story of ``into`` for good, then republish.

        Returns:
            (story kept, story merged, items moved), or None if either is unknown.
        """
        keep, gone = self.story(into), self.story(other)
        if keep is None or gone is None:
            return None
        if keep.id == gone.id:
            return keep.id, gone.id, 0  # one story already: nothing to keep on re-runs
        moved = self.storage.merge_stories(keep.id, gone.id)
        self._publish()
        return keep.id, gone.id, moved

    def health(self) -> Health:
        """The worker's and the sources' health (``/healthz``); see :func:`monitor.judge`.

        Raises:
            StorageError: the store cannot be read.
        """
        samples = self.storage.metrics()
        holder = self.worker_holder()
        return monitor.judge(
            {spec.id: state for spec, state in self.source_overview()},
            holder.who if holder else None,
            monitor.last_cycle_at(samples),
            self.now(),
            self.max_cycle_age,
            publish_failed=monitor.publish_failed_at(samples),
            worker_note=holder.note if holder else "",
        )

    @property
    def max_cycle_age(self) -> timedelta:
        """A worker whose last cycle is older than this counts as stuck: three ticks, and
        never less than ten minutes, so one slow cycle is not an alarm."""
        return max(3 * self.config.settings.worker.tick, timedelta(minutes=10))

    def metric_samples(self) -> list[MetricSample]:
        """The worker's stored counters plus what the store holds now (``/metrics``)."""
        samples = self.storage.metrics()
        per_source = self.storage.count_items_by_source()
        for spec, state in self.source_overview():
            status = state.status.value if state else "new"
            labels = (("source", spec.id),)
            samples.append(
                MetricSample("revier_source_status", (*labels, ("status", status)), 1.0)
            )
            failures = float(state.error_count) if state else 0.0
            samples.append(MetricSample("revier_source_consecutive_failures", labels, failures))
            samples.append(MetricSample("revier_items", labels, float(per_source.get(spec.id, 0))))
        samples.append(MetricSample("revier_stories", (), float(self.storage.count_stories())))
        digests: dict[str, int] = {}
        for entry in self.storage.digest_log():
            digests[entry.state.value] = digests.get(entry.state.value, 0) + 1
        for outcome, count in sorted(digests.items()):
            samples.append(MetricSample("revier_digests", (("state", outcome),), float(count)))
        holder = self.worker_holder()
        samples.append(MetricSample("revier_worker_up", (), 0.0 if holder is None else 1.0))
        failing = 1.0 if holder is not None and holder.note else 0.0
        samples.append(MetricSample("revier_worker_cycles_failing", (), failing))
        return samples

    def backup(self, target: Path) -> None:
        """Copy the store to ``target`` while the worker may keep running.

        Raises:
            StorageError: not a SQLite store, or the copy failed.
        """
        self.storage.backup(target)

    @staticmethod
    def current_interval(spec: SourceSpec, state: SourceState | None) -> timedelta:
        """How often the source is polled now (its adaptive interval)."""
        return ingest.current_interval(spec, state.new_item_rate if state else None)

    def due_source_ids(self) -> list[str]:
        """The configured sources whose next fetch time has come (never fetched: at once),
        as their configuration has it now (see :meth:`run_ingest`)."""
        specs = self.config.sources
        return [s.id for s in self._due(specs, self.storage.source_states(s.id for s in specs))]

    def _due(
        self, specs: Sequence[SourceSpec], states: Mapping[str, SourceState]
    ) -> list[SourceSpec]:
        # As the configuration has it now: a source whose URL the admin changed is due at
        # once, its backoff was the old URL's failures; a lowered max_interval cuts a
        # planned wait (see ingest.current_state).
        now = self.now()
        return [
            spec
            for spec in specs
            for state in [ingest.current_state(spec, states.get(spec.id))]
            if fetch_due(state.next_fetch_at, state.last_attempt_at, now)
        ]

    def source_overview(self) -> list[tuple[SourceSpec, SourceState | None]]:
        """Each configured source with its state (None if never fetched): the stored one,
        as it applies to the configured URL (a changed URL's is new, due at once)."""
        states = self.storage.source_states(s.id for s in self.config.sources)
        return [
            (spec, ingest.current_state(spec, state) if state else None)
            for spec in self.config.sources
            for state in [states.get(spec.id)]
        ]

    def retry_sources(
        self, source_ids: Sequence[str], *, validators_again: bool = True
    ) -> dict[str, SourceStatus | None]:
        """Make the given sources due now, whatever their backoff, and ask a source that
        answered 410 Gone again (``sources retry``): it stays "gone" otherwise until its
        URL changes. A failed retry counts as before (a 410 makes it gone again). With
        ``validators_again``, a source whose server answered "not modified" to news is asked
        with its validators again (the site may have been mended).

        Returns:
            Each source's status before (None: never fetched, already due).

        Raises:
            ConfigError: a source that is not configured, or not enabled.
        """
        configured = {s.id: s for s in self.config.sources}
        unknown = [i for i in source_ids if i not in configured]
        if unknown:
            raise ConfigError(
                [
                    ConfigIssue(
                        COMMAND_LINE,
                        None,
                        "ID",
                        f"no enabled source {i!r} in sources.yaml",
                        "known: " + ", ".join(configured),
                    )
                    for i in unknown
                ]
            )
        stored = self.storage.source_states(source_ids)
        before: dict[str, SourceStatus | None] = {}
        retried = []
        for source_id in source_ids:
            state = stored.get(source_id)
            if state is None:
                before[source_id] = None
                continue
            state = ingest.current_state(configured[source_id], state)
            before[source_id] = state.status
            status = SourceStatus.FAILING if state.status is SourceStatus.GONE else state.status
            # A server found answering "not modified" to news may have been mended: its
            # validators are tried again (and dropped again if it still does).
            ignored = IgnoredValidators.NONE if validators_again else state.validators_ignored
            retried.append(
                replace(state, status=status, next_fetch_at=None, validators_ignored=ignored)
            )
        self.storage.save_source_states(retried, self.now())
        return before

    # --- digest ---------------------------------------------------------------------------

    def partners(self, *, active_only: bool = True) -> list[PartnerSpec]:
        """The configured partners (by default only the active ones)."""
        default = self.config.settings.digest
        return [
            PartnerSpec(
                id=p.id,
                name=p.name,
                addresses=tuple(p.addresses),
                filter=StoryFilter(
                    tags=frozenset(p.filter.tags),
                    all_tags=frozenset(p.filter.all_tags),
                    districts=frozenset(p.filter.districts),
                    sources=frozenset(p.filter.sources),
                    exclude_tags=frozenset(p.filter.exclude_tags),
                ),
                schedule=p.schedule or default.schedule,
                group_by=p.group_by or default.group_by,
                active=p.active,
            )
            for p in self.config.partners
            if p.active or not active_only
        ]

    def partner(self, partner_id: str) -> PartnerSpec:
        """One partner, active or not.

        Raises:
            DigestError: no partner has this id.
        """
        for partner in self.partners(active_only=False):
            if partner.id == partner_id:
                return partner
        known = ", ".join(p.id for p in self.config.partners) or "none configured"
        raise DigestError(f"unknown partner {partner_id!r} (partners.yaml has: {known})")

    def digest_context(self) -> deliver.DigestContext:
        from . import deliver

        config = self.config
        settings = config.settings
        return deliver.DigestContext(
            storage=self.storage,
            renderer=digest_renderer(config),
            settings=settings.digest,
            tz=self.tz,
            now=self.now,
            source_ids=tuple(s.id for s in config.sources),
            source_names={s.id: s.name for s in config.sources},
            priorities={s.id: s.priority for s in config.sources},
            topics=tuple((t.id, t.label) for t in config.tags),
            districts=tuple((d.id, d.name) for d in config.districts),
            site_title=settings.site.title,
            public_base_url=settings.site.public_base_url,
            output_dir=config.output_dir,
        )

    def send_due_digests(
        self,
        *,
        partner_id: str | None = None,
        outbox: Path | None = None,
        on_outcome: Callable[[deliver.DigestOutcome], None] | None = None,
    ) -> list[deliver.DigestOutcome]:
        """Send every digest that is due (the worker calls this every tick; cheap when
        nothing is due). With ``outbox`` nothing is sent or recorded: .eml files are written.

        Raises:
            DigestError: unknown partner, broken template, or an SMTP secret missing from the
                environment (nothing is sent then; the digests stay due).
            AlreadyRunning: another process is sending digests for this store right now.
        """
        from . import deliver

        if partner_id == deliver.ADMIN_ID:
            admin = deliver.admin_partner(self.config.settings.digest)
            if admin is None:
                raise DigestError("no admin digest: digest.admins lists no address")
            partners = [admin]
        elif partner_id:
            partners = [self.partner(partner_id)]
            if not partners[0].active:
                raise DigestError(f"partner {partner_id!r} is not active (active: false)")
        else:
            partners = self.partners()
            admin = deliver.admin_partner(self.config.settings.digest)
            if admin is not None:
                partners.append(admin)
        if outbox is not None:
            return deliver.send_due(
                self.digest_context(), partners, _NoMailer, outbox=outbox, on_outcome=on_outcome
            )
        # Two senders at once (the worker and a manual `digest send`) would both find a
        # digest due and both send it: the send log is only exactly-once for one sender.
        started = self.now().astimezone(self.tz).strftime("%Y-%m-%d %H:%M")
        lock = _take(
            _lock_paths(self.config, ".digest-lock"),
            f"pid {os.getpid()} on {socket.gethostname()}, sending digests since {started}",
            "the digest lock",
            "another revier-feed is sending digests for this store: {holder}",
        )
        try:
            self.redate_future_digests()
            return deliver.send_due(
                self.digest_context(),
                partners,
                self._mailer,
                on_outcome=on_outcome,
                should_stop=self._stop.is_set,
                everyone=partner_id is None,
            )
        finally:
            lock.release()

    def redate_future_digests(self) -> int:
        """Date now the digest send log rows recorded more than ``CLOCK_SLACK`` after now:
        written under a clock that ran ahead and has been set back since. A digest that
        went out so before its slot in real time is then recorded before its slot, and its
        period gets a second issue at the slot (``deliver._unsent_issue``); a retry waits
        no longer than now. Cycles and digest runs both do this, so it is noticed by
        whichever runs first after the clock was corrected. Returns how many rows."""
        now = self.now()
        redated = self.storage.redate_future_digests(now, now + CLOCK_SLACK)
        if redated:
            log.warning(
                "%d row(s) of the digest send log were dated ahead of the clock (it ran "
                "ahead when they were written): dated now; a digest sent before its slot "
                "is followed at the slot by a second issue of its period",
                redated,
                extra={"event": "digest_log_redated", "rows": redated},
            )
        return redated

    def preview_digest(self, partner_id: str) -> tuple[DigestIssue, EmailMessage]:
        """What the partner would receive now; nothing is sent or recorded."""
        from . import deliver

        return deliver.preview(self.digest_context(), self.partner(partner_id))

    def preview_admin_digest(self) -> EmailMessage:
        """The admin digest (source problems) as of now; nothing is sent or recorded.

        Raises:
            DigestError: ``digest.admins`` lists no address.
        """
        from . import deliver

        admin = deliver.admin_partner(self.config.settings.digest)
        if admin is None:
            raise DigestError("no admin digest: digest.admins lists no address")
        return deliver.preview_admin(self.digest_context(), admin)

    def digest_overview(self) -> list[deliver.PartnerStatus]:
        """Every partner's next digest and last result."""
        from . import deliver

        partners = self.partners(active_only=False)
        admin = deliver.admin_partner(self.config.settings.digest)
        return deliver.overview(self.digest_context(), [*partners, *([admin] if admin else [])])

    def _mailer(self) -> digest.Mailer:
        from . import digest

        smtp = self.config.settings.smtp
        secrets = {}
        for key, name in (("username", smtp.username_env), ("password", smtp.password_env)):
            if name is None:
                continue
            value = os.environ.get(name)
            if not value:  # set but empty: no login was sent at all, or an empty password
                raise DigestError(
                    f"smtp.{key}_env names the environment variable {name}, which is "
                    f"{'empty' if value == '' else 'not set'}; set it in the worker's "
                    "environment (the secret never goes into YAML)"
                )
            secrets[key] = value
        return digest.Mailer(
            smtp.host,
            smtp.effective_port,
            security=smtp.security,
            username=secrets.get("username"),
            password=secrets.get("password"),
            timeout=smtp.timeout.total_seconds(),
            rate_limit=smtp.rate_limit,
            ca_file=str(self.config.resolve(smtp.ca_file)) if smtp.ca_file else None,
        )


def _subscribed_url(asked: str, fetched: FetchResult) -> str:
    """The URL a source found at ``asked`` is to be read from: where permanent redirects
    (301/308) led, or the move to HTTPS of the same address; else the one asked, as a
    cycle keeps it. A temporary redirect's target may hold a session ("…;jsessionid=…")
    or this year's archive ("?jahr=2026"), and went into the snippet."""
    if fetched.permanent_url:
        return fetched.permanent_url
    before, after = urlsplit(asked), urlsplit(fetched.url)
    with contextlib.suppress(ValueError):  # a port out of range
        if (
            (before.scheme, after.scheme) == ("http", "https")
            and before.hostname == after.hostname
            and before.port in (None, 80)
            and after.port in (None, 443)
            and before.path.rstrip("/") == after.path.rstrip("/")
            and before.query == after.query
        ):
            return fetched.url
    return asked


#: What the lock of a process upgrading the store says it does.
_UPGRADING = "upgrading the store to schema version"
#: How long a process waits for another that upgrades the store as it starts.
_UPGRADE_WAIT = 60.0


def _lock_paths(config: AppConfig, suffix: str | None = None) -> list[Path]:
    """The store's lock file (or its sibling with ``suffix``: ``.digest-lock``), then where
    older versions kept it (:attr:`.AppConfig.old_lock_paths`)."""
    paths = [config.lock_path, *config.old_lock_paths]
    return [path.with_suffix(suffix) for path in paths] if suffix else paths


def _holder(paths: Sequence[Path]) -> LockHolder | None:
    """Who holds the first of the lock ``paths`` that is held (see :func:`_lock_paths`)."""
    holder = ProcessLock(paths[0], "").holder()
    for old in paths[1:]:
        if holder is not None:
            break
        holder = _old_holder(old)
    return holder


def _old_holder(path: Path) -> LockHolder | None:
    """Who holds the lock at ``path``, a place older versions kept it. One that cannot be
    read (an output folder of another user's) holds nothing this version could tell."""
    with contextlib.suppress(OSError):
        return ProcessLock(path, "").holder()
    return None


def _take(paths: Sequence[Path], description: str, what: str, busy: str) -> ProcessLock:
    """The lock at ``paths[0]`` (``what``, for messages) acquired, once nobody holds it at
    the places older versions kept it (``paths[1:]``: such a version, still running after
    an upgrade, takes only that one).

    Raises:
        AlreadyRunning: another process holds it: ``busy``, with {holder} and {path}.
        StorageError: the lock file cannot be written.
    """
    lock = ProcessLock(paths[0], description)
    try:
        lock.acquire()
    except AlreadyLocked as e:
        holder = e.holder or "another process"
        raise AlreadyRunning(busy.format(holder=holder, path=e.path)) from None
    except OSError as e:  # a folder of that name, no permission, a read-only or full disk
        raise StorageError(
            f"cannot take {what} {lock.path}: {e.strerror or e} (it must be a file "
            "revier-feed may write, beside the store, on a disk with room)"
        ) from None
    for old in paths[1:]:
        older = _old_holder(old)
        if older is not None:
            lock.release()
            raise AlreadyRunning(
                busy.format(holder=f"{older.who} (an older revier-feed)", path=old)
            )
    return lock


class _NoMailer(contextlib.AbstractContextManager["_NoMailer"]):
    """Stands in for the mailer in a dry run; sending through it is a bug."""

    def __exit__(self, *exc: object) -> None:
        return None

    def wait_turn(self) -> None:
        raise AssertionError("a dry run never sends")

    def send(
        self, message: digest.Outgoing, recipients: Sequence[str]
    ) -> dict[str, tuple[int, str]]:
        raise AssertionError("a dry run never sends")


def _log_cycle(summary: CycleSummary) -> None:
    """One line per cycle (debug when no source was due: the worker ticks every minute)."""
    seconds = (summary.finished_at - summary.started_at).total_seconds()
    log.log(
        logging.INFO if summary.reports else logging.DEBUG,
        "cycle: %d source%s, %d new, %d updated, %d failed in %.1fs",
        len(summary.reports),
        "" if len(summary.reports) == 1 else "s",
        summary.new,
        summary.updated,
        summary.failed,
        seconds,
        extra={
            "event": "cycle",
            "sources": len(summary.reports),
            "new": summary.new,
            "updated": summary.updated,
            "failed": summary.failed,
            "duration": round(seconds, 3),
        },
    )


def running_worker(config: AppConfig) -> tuple[int | None, str | None]:
    """The process collecting for ``config``'s store, from its lock, without opening it.

    Returns:
        (its pid if it runs on this machine, the description it wrote), or (None, None)
        when no worker holds the lock.
    """
    holder = _holder(_lock_paths(config))
    if holder is None:
        return None, None
    match = re.match(r"pid (\d+) on ([^,\s]+),", holder.who)
    if match is None or match.group(2) != socket.gethostname():
        return None, holder.who
    return int(match.group(1)), holder.who


class _StoredRobots:
    """The fetcher's robots.txt cache, kept in the store so restarts don't refetch them;
    read whole on the first lookup of a cycle."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._known: dict[str, RobotsCopy] | None = None

    def get(self, origin: str) -> RobotsCopy | None:
        if self._known is None:
            self._known = self._storage.robots_txts()
        return self._known.get(origin)

    def put(self, origin: str, copy: RobotsCopy) -> None:
        self._storage.save_robots_txt(origin, copy)
        if self._known is not None:
            self._known[origin] = copy


def digest_renderer(config: AppConfig) -> digest.Renderer:
    """The digest's renderer: built-in templates or the overrides in ``digest.templates``."""
    from . import digest

    settings = config.settings
    return digest.Renderer(
        template_dir=config.resolve(settings.digest.templates),
        tz=ZoneInfo(settings.timezone),
        site_title=settings.site.title,
        public_base_url=settings.site.public_base_url,
        subject=settings.digest.subject,
        unsubscribe_url=settings.digest.unsubscribe_url,
        unsubscribe_mailto=settings.digest.unsubscribe_mailto,
    )


@functools.cache
def _markup_built() -> bool:
    """Whether normalizing's C extension was built, without importing the normalize stage
    (and nh3) into a cycle of 304s."""
    return importlib.util.find_spec(f"{__package__}._markup") is not None
