"""The long-running worker: APScheduler ticks, the store decides which sources are due.

Scheduling state (next fetch time, backoff) lives in the store, so a restart or a
``run --once`` in between behaves exactly like the running worker.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from .app import App
from .exceptions import RevierError

log = logging.getLogger(__name__)


def run_worker(app: App, tick: timedelta) -> None:
    """Run until SIGINT or SIGTERM; the cycle in progress finishes its started sources.

    Must be called from the main thread (it installs signal handlers).
    """
    stop = threading.Event()

    def collect() -> None:
        if stop.is_set():
            return
        try:
            result = app.run_cycle(only_due=True)
        except RevierError as e:
            # The store or the output folder failed; the next tick tries again.
            log.error("cycle failed: %s", e)
            return
        summary = result.summary
        if summary.reports:
            log.info(
                "cycle: %d sources, %d new, %d updated, %d failed%s",
                len(summary.reports),
                summary.new,
                summary.updated,
                summary.failed,
                ", feeds published" if result.published.written else "",
            )

    def send_digests() -> None:
        # Every tick: the send log decides what is due, so a worker that was down at send
        # time sends the missed digests right after it starts.
        if stop.is_set():
            return
        try:
            app.send_due_digests()
        except RevierError as e:
            log.error("digest run failed: %s", e)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info(
            "received %s, stopping after the sources in progress", signal.Signals(signum).name
        )
        app.request_stop()
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    scheduler = BackgroundScheduler(timezone=app.tz)
    scheduler.add_job(
        collect,
        IntervalTrigger(seconds=tick.total_seconds(), timezone=app.tz),
        id="collect",
        name="collect due sources",
        max_instances=1,
        coalesce=True,
        next_run_time=app.now(),
    )
    scheduler.add_job(
        send_digests,
        IntervalTrigger(seconds=tick.total_seconds(), timezone=app.tz),
        id="digests",
        name="send due digests",
        max_instances=1,
        coalesce=True,
        next_run_time=app.now(),
    )
    try:
        scheduler.start()
        log.info("worker started: %d sources, tick every %s", len(app.config.sources), tick)
        while not stop.wait(timeout=1.0):
            pass
    finally:
        scheduler.shutdown(wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("worker stopped")
