"""The long-running worker: APScheduler ticks, the store decides which sources are due.

Scheduling state (next fetch time, backoff, new-item rate) lives in the store, so a
restart or a ``run --once`` in between behaves exactly like the running worker. Jobs:

- ``collect`` every ``worker.tick``: apply a pending config reload, collect the due
  sources, publish when stories changed and the debounce says so (``schedule.publish_due``);
- ``retention`` nightly at ``worker.retention_at``: remove old items, then republish.

Jobs that touch the store take turns (one lock), so retention never runs in the middle
of a cycle. Signals: SIGHUP reloads the configuration (validated first; an invalid one is
logged with file and line and the worker keeps the old one); SIGINT/SIGTERM stop, letting
the sources in flight finish for at most ``worker.shutdown_timeout``, then abandoning them.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
import time
from datetime import UTC, date, datetime, timedelta
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from . import schedule
from ._utils import release_free_memory, visible
from .app import App
from .config import AppConfig, load_config
from .exceptions import AlreadyRunning, ConfigError, RevierError, StorageError
from .ingest import reading_of
from .models import SourceSpec

log = logging.getLogger(__name__)

#: After abandoning the cycle, how long its store transaction may take to end.
ABANDON_GRACE = timedelta(seconds=10)
#: Exit status when even abandoning did not end the cycle in time.
EXIT_STUCK = 3
#: The longest the worker waits before trying again to publish after failures.
PUBLISH_RETRY_MAX = timedelta(minutes=30)
#: The longest the worker waits before the next cycle after cycles that failed.
CYCLE_RETRY_MAX = timedelta(minutes=30)
#: How often a job ends with a full garbage collection (seconds of ``time.monotonic``).
FULL_COLLECTION_EVERY = 600.0


class _Backoff:
    """Failures in a row of one job, and when it may run again: after a tick, then twice as
    long after each further failure, up to ``cap``."""

    def __init__(self, cap: timedelta) -> None:
        self.cap = cap
        self.failures = 0
        self.until: datetime | None = None
        #: When the first of the failures in a row happened.
        self.since: datetime | None = None

    def waiting(self, now: datetime) -> bool:
        return self.until is not None and now < self.until

    def failed(self, now: datetime, tick: timedelta) -> timedelta:
        """Count a failure; the wait before the next attempt."""
        self.failures += 1
        if self.since is None:
            self.since = now
        delay = schedule.retry_delay(tick, self.failures, self.cap)
        self.until = now + delay
        return delay

    def reset(self) -> int:
        """Forget the failures; how many there were."""
        failures, self.failures, self.until, self.since = self.failures, 0, None, None
        return failures

    def shift(self, by: timedelta) -> None:
        """Move its times by ``by`` (the clock was set back by as much)."""
        self.until = self.until + by if self.until is not None else None
        self.since = self.since + by if self.since is not None else None


class Worker:
    """The worker's jobs and state, without threads or signals (tests drive it directly).

    Args:
        app: the application; its clock drives the publish debounce.
    """

    def __init__(self, app: App) -> None:
        self.app = app
        self.stop = threading.Event()
        #: Held while a job uses the store; shutdown waits for it.
        self.busy = threading.Lock()
        self._pending_config: AppConfig | None = None
        # Publish once after starting, even without news: it repairs a publish that failed
        # or was cut short before the restart.
        self._pending_since: datetime | None = app.now()
        self._last_change: datetime | None = None
        self._publishing = _Backoff(PUBLISH_RETRY_MAX)
        self._cycles = _Backoff(CYCLE_RETRY_MAX)
        #: Why the worker stopped on its own (its store is gone), if it did.
        self.fatal: StorageError | AlreadyRunning | None = None
        #: How far the system clock was set back since the last ``collect`` noticed.
        self._set_back = timedelta(0)
        self._set_back_lock = threading.Lock()
        #: The local day retention last ran on: the night the clocks go back repeats an hour,
        #: and a `retention_at` inside it came twice.
        self._retained_on: date | None = None
        #: Seconds between full garbage collections (see :meth:`_end_turn`).
        self.full_collection_every = FULL_COLLECTION_EVERY
        self._collected_at = time.monotonic()

    def collect(self) -> None:
        """The ``collect`` job: reload if asked, collect due sources, publish if due."""
        if not self._take_turn():
            return
        try:
            self._apply_clock_set_back()
            try:
                self.app.storage.check_file()
                if self.app.keep_lock():
                    log.warning(
                        "the store's lock file %s was deleted; made it again, so that no "
                        "second worker starts beside this one",
                        self.app.config.lock_path,
                        extra={"event": "lock_remade"},
                    )
            except (StorageError, AlreadyRunning) as e:
                lost = "lock_lost" if isinstance(e, AlreadyRunning) else "store_lost"
                log.critical("stopping: %s", e, extra={"event": lost})
                self.fatal = e
                self.stop.set()
                return
            self._apply_reload()
            if self._cycles.waiting(self.app.now()):
                # News of earlier cycles, or a publish that failed, need not wait for the
                # store to take writes again.
                self.publish_if_due()
                return
            try:
                summary = self.app.run_ingest(only_due=True)
            except RevierError as e:
                # The store failed (a full disk, say), or the machine ran out of something;
                # the sources stay due. Fetching them all again every tick would poll their
                # sites far more often than configured.
                delay = self._cycles.failed(self.app.now(), self.app.config.settings.worker.tick)
                assert self._cycles.since is not None
                since = self._cycles.since.astimezone(UTC)
                self.app.note_state(
                    f"{self._cycles.failures} in a row since {since:%Y-%m-%d %H:%M:%S} UTC, "
                    f"the next in {delay}; the last: {visible(str(e))}"
                )
                log.error(
                    "cycle failed: %s; the next cycle in %s (`revier-feed reload` tries at once)",
                    e,
                    delay,
                    extra={
                        "event": "cycle_failed",
                        "failures": self._cycles.failures,
                        "retry_in_seconds": delay.total_seconds(),
                    },
                )
                self.publish_if_due()
                return
            if failures := self._cycles.reset():
                self.app.note_state("")
                log.info(
                    "a cycle worked again after %d failed ones",
                    failures,
                    extra={"event": "cycle_recovered", "failures": failures},
                )
            if summary.new or summary.updated:
                self.note_change()
            elif self._pending_since is None and (missing := self.app.missing_output()):
                # Deleted under the worker (a clean-up, a redeploy): the feeds stayed gone,
                # and /healthz said ok, until a source brought news.
                log.warning(
                    "%d published file(s) are missing (%s%s); publishing again",
                    len(missing),
                    missing[0],
                    ", …" if len(missing) > 1 else "",
                    extra={"event": "output_missing", "missing": len(missing)},
                )
                self._pending_since = self.app.now()
            self.publish_if_due()
        finally:
            self._end_turn()

    def clock_set_back(self, by: timedelta) -> None:
        """The system clock was set back by ``by``: the times kept for the publish debounce
        and the backoffs go back with it (else news waited, unpublished, for as long), at
        the start of the next ``collect`` (the job may be running now, on its thread)."""
        with self._set_back_lock:
            self._set_back += by

    def _apply_clock_set_back(self) -> None:
        with self._set_back_lock:
            back, self._set_back = -self._set_back, timedelta(0)
        if not back:
            return
        if self._pending_since is not None:
            self._pending_since += back
        if self._last_change is not None:
            self._last_change += back
        self._publishing.shift(back)
        self._cycles.shift(back)

    def retention(self) -> None:
        """The nightly ``retention`` job: remove old items; feeds follow."""
        today = self.app.now().astimezone(self.app.tz).date()
        if today == self._retained_on or not self._take_turn():
            return
        try:
            try:
                result = self.app.retire_old_items()
            except RevierError as e:
                log.error("retention failed: %s", e, extra={"event": "retention_failed"})
                return
            self._retained_on = today
            if result.items:
                self.note_change()
                self.publish(reason="retention")
        finally:
            self._end_turn()

    def send_digests(self) -> None:
        """The ``digests`` job: send the partners' digests that are due (#6).

        The send log decides what is due, so a worker that was down at send time sends the
        missed digests right after it starts.
        """
        if not self._take_turn():
            return
        try:
            self.app.send_due_digests()
        except RevierError as e:
            log.error("digests failed: %s", e, extra={"event": "digests_failed"})
        finally:
            self._end_turn()

    def publish_if_due(self) -> bool:
        """Publish if changes are pending and the debounce allows.

        Returns:
            Whether feeds were published.
        """
        settings = self.app.config.settings.worker
        now = self.app.now()
        if self._publishing.waiting(now):
            return False
        due = schedule.publish_due(
            now,
            self._pending_since,
            self._last_change,
            quiet=settings.publish_delay,
            max_wait=settings.publish_max_delay,
        )
        return self.publish() if due else False

    def publish(self, reason: str = "changes") -> bool:
        """Publish now; on failure the changes stay pending.

        After a failure the next attempt waits a tick, then twice as long after each further
        failure, up to ``PUBLISH_RETRY_MAX``: an output folder that cannot be written (a full
        or read-only disk) is not rendered again every tick, nor logged every tick.
        """
        try:
            self.app.publish()
        except RevierError as e:
            delay = self._publishing.failed(self.app.now(), self.app.config.settings.worker.tick)
            log.error(
                "publishing failed (%s): %s; trying again in %s",
                reason,
                e,
                delay,
                extra={
                    "event": "publish_failed",
                    "failures": self._publishing.failures,
                    "retry_in_seconds": delay.total_seconds(),
                },
            )
            return False
        if failures := self._publishing.reset():
            log.info(
                "published again after %d failed attempts",
                failures,
                extra={"event": "publish_recovered", "failures": failures},
            )
        self._pending_since = self._last_change = None
        return True

    def request_reload(self) -> AppConfig | None:
        """Validate the configuration files now; if valid, use them from the next cycle.

        Returns:
            The accepted configuration, or None if it was refused (the errors are logged).
        """
        try:
            config = load_config(self.app.config.config_dir)
            self.app.check_reload(config)
        except ConfigError as e:
            log.error(
                "reload refused, still running on the previous configuration: %s",
                e.message,
                extra={"event": "reload_failed", "issues": [str(i) for i in e.issues]},
            )
            for issue in e.issues:
                log.error("  %s", issue, extra={"event": "config_issue"})
            return None
        except Exception:
            # A file that reading does not expect (a bug): the worker must go on with what
            # it runs on, not stop on an admin's edit.
            log.exception(
                "reload refused, still running on the previous configuration: reading it "
                "failed unexpectedly (please report this with the files)",
                extra={"event": "reload_failed"},
            )
            return None
        self._pending_config = config
        log.info(
            "reload: configuration valid (%d sources); used from the next cycle",
            len(config.sources),
            extra={"event": "reload_accepted", "sources": len(config.sources)},
        )
        return config

    def finish(self) -> None:
        """Publish what is still pending before the worker exits."""
        if (
            self.fatal is None
            and self._pending_since is not None
            and self._last_change is not None
        ):
            self.publish(reason="shutdown")

    def _apply_reload(self) -> None:
        config, self._pending_config = self._pending_config, None
        if config is None:
            return
        before = {s.id for s in self.app.config.sources}
        reach_before = {s.id: _how_read(s) for s in self.app.config.sources}
        self.app.reconfigure(config)
        after = {s.id for s in config.sources}
        # A source whose TLS, login, User-Agent, selectors or rules the admin just mended, as
        # its error advised, is asked now, not when its backoff ends (worker.max_backoff).
        mended = [
            s.id for s in config.sources if s.id in before and _how_read(s) != reach_before[s.id]
        ]
        if mended:
            try:
                self.app.retry_sources(mended, validators_again=False)
            except StorageError as e:
                # The reload itself is done: its log line, the feeds' refresh and the
                # reset backoffs below must not be lost to this; they are asked when due.
                log.warning("could not ask %s at once: %s", ", ".join(mended), e)
        log.info(
            "reloaded: %d sources (added: %s; removed: %s)",
            len(after),
            ", ".join(sorted(after - before)) or "none",
            ", ".join(sorted(before - after)) or "none",
            extra={
                "event": "reloaded",
                "sources": len(after),
                "added": sorted(after - before),
                "removed": sorted(before - after),
            },
        )
        # Feeds follow the new configuration: removed sources leave them, titles change;
        # a new output folder (or store) may be what the admin reloaded for, so no waiting
        # after failures.
        self._publishing.reset()
        self._cycles.reset()
        self.note_change()

    def note_change(self) -> None:
        """Stories changed: publish once the debounce allows."""
        now = self.app.now()
        self._pending_since = self._pending_since or now
        self._last_change = now

    def _end_turn(self) -> None:
        """Let the other jobs run; return the memory this one freed to the system (a large
        cycle's teasers and rows would otherwise stay with the worker for good).

        Every :data:`FULL_COLLECTION_EVERY` seconds the job first collects all garbage: each
        cycle leaves reference cycles (its fetcher with the connections' transports, parsed
        pages, rendered templates) that outlive the young collections, and Python starts a
        full collection only once the objects that survived them number a quarter of all it
        tracks: with a large story index, that is many cycles' garbage.
        """
        if time.monotonic() - self._collected_at >= self.full_collection_every:
            gc.collect()
            self._collected_at = time.monotonic()
        self.busy.release()
        release_free_memory()

    def _take_turn(self) -> bool:
        """Wait for the other job to finish; False if the worker is stopping meanwhile."""
        while not self.busy.acquire(timeout=1.0):
            if self.stop.is_set():
                return False
        if self.stop.is_set():
            self.busy.release()
            return False
        return True


def run_worker(app: App, tick: timedelta) -> None:
    """Run until SIGINT or SIGTERM; SIGHUP reloads the configuration.

    Must be called from the main thread (it installs signal handlers).

    Raises:
        StorageError: the worker stopped on its own because its store's file was deleted
            or replaced.
    """
    worker = Worker(app)
    reload_requested = threading.Event()

    def on_stop(signum: int, _frame: FrameType | None) -> None:
        if worker.stop.is_set():
            # A second Ctrl-C / SIGTERM: the admin does not want to wait.
            log.warning(
                "received %s again: abandoning the sources in flight now",
                signal.Signals(signum).name,
                extra={"event": "abandoning"},
            )
            app.abandon()
            return
        log.info(
            "received %s, stopping after the sources in progress (at most %s)",
            signal.Signals(signum).name,
            app.config.settings.worker.shutdown_timeout,
            extra={"event": "stopping"},
        )
        app.request_stop()
        worker.stop.set()

    def on_hup(_signum: int, _frame: FrameType | None) -> None:
        reload_requested.set()

    previous = {sig: signal.signal(sig, on_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hup)
    scheduler = BackgroundScheduler(timezone=app.tz)
    scheduler.add_job(
        worker.collect,
        _tick_trigger(tick, app),
        id="collect",
        name="collect due sources",
        max_instances=1,
        coalesce=True,
        next_run_time=app.now(),
    )
    scheduler.add_job(
        worker.send_digests,
        _tick_trigger(tick, app),
        id="digests",
        name="send due digests",
        max_instances=1,
        coalesce=True,
        next_run_time=app.now(),
    )
    scheduler.add_job(
        worker.retention,
        _retention_trigger(app),
        id="retention",
        name="remove old items",
        max_instances=1,
        coalesce=True,
        # Not "however late": a clock stepped forward by mistake (days ahead, then
        # corrected) would run retention at once and remove current items, and the day's
        # guard would then skip the nights until the clock reaches that day again.
        misfire_grace_time=3600,
    )
    clock = _ClockWatch()
    try:
        scheduler.start()
        log.info(
            "worker started: %d sources, tick every %s",
            len(app.config.sources),
            tick,
            extra={"event": "worker_started", "pid": os.getpid()},
        )
        while not worker.stop.wait(timeout=0.5):
            back = clock.stepped_back()
            if back > max(app.config.settings.worker.tick.total_seconds(), 1.0):
                # The scheduler keeps its next run times on the clock: set back an hour (a
                # correction, a restored VM), it would collect and send nothing for an hour.
                log.warning(
                    "the system clock was set back by %s; collecting and sending due digests "
                    "now instead of that much later",
                    timedelta(seconds=round(back)),
                    extra={"event": "clock_set_back", "seconds": round(back)},
                )
                worker.clock_set_back(timedelta(seconds=back))
                for job in ("collect", "digests"):
                    scheduler.modify_job(job, next_run_time=app.now())
            if reload_requested.is_set():
                reload_requested.clear()
                config = worker.request_reload()
                if config is not None:
                    _reschedule(scheduler, app, config)
        _stop_within_bounds(worker)
    finally:
        scheduler.shutdown(wait=False)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("worker stopped", extra={"event": "worker_stopped"})
    if worker.fatal is not None:
        raise worker.fatal


#: The system's clock as the scheduler reads it (a test steps it).
_wall = time.time


class _ClockWatch:
    """Notices the system clock being set back: against the monotonic clock, which no
    correction moves."""

    def __init__(self) -> None:
        self._offset = _wall() - time.monotonic()

    def stepped_back(self) -> float:
        """Seconds the clock was set back since the last call (0 if it was not)."""
        offset = _wall() - time.monotonic()
        back, self._offset = self._offset - offset, offset
        return max(back, 0.0)


def _tick_trigger(tick: timedelta, app: App) -> IntervalTrigger:
    return IntervalTrigger(seconds=tick.total_seconds(), timezone=app.tz)


def _retention_trigger(app: App, config: AppConfig | None = None) -> CronTrigger:
    hour, minute = (config or app.config).settings.worker.retention_at.split(":")
    return CronTrigger(hour=int(hour), minute=int(minute), timezone=app.tz)


def _reschedule(scheduler: BackgroundScheduler, app: App, config: AppConfig) -> None:
    """After an accepted reload: the next cycle starts now, with the new tick."""
    scheduler.reschedule_job("collect", trigger=_tick_trigger(config.settings.worker.tick, app))
    scheduler.modify_job("collect", next_run_time=app.now())
    scheduler.reschedule_job("retention", trigger=_retention_trigger(app, config))


def _stop_within_bounds(worker: Worker) -> None:
    """Let the job in progress finish for ``shutdown_timeout``, then abandon it."""
    timeout = worker.app.config.settings.worker.shutdown_timeout
    if not worker.busy.acquire(timeout=timeout.total_seconds()):
        log.warning(
            "sources still in flight after %s: abandoning them (they stay due)",
            timeout,
            extra={"event": "abandoning"},
        )
        worker.app.abandon()
        if not worker.busy.acquire(timeout=ABANDON_GRACE.total_seconds()):
            # Something is stuck outside our control (a parser in C code). Every write is
            # a transaction and every file is replaced atomically, so exiting hard loses
            # nothing that was complete.
            log.error("the cycle did not end; exiting hard", extra={"event": "stuck"})
            logging.shutdown()
            os._exit(EXIT_STUCK)
    try:
        worker.finish()
    finally:
        worker.busy.release()


def _how_read(spec: SourceSpec) -> tuple[object, ...]:
    """What decides whether a source can be reached and how it is read."""
    return spec.tls, spec.auth, spec.user_agent, reading_of(spec)
