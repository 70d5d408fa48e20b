"""Log setup for the command line (the package itself only logs to a NullHandler)."""

from __future__ import annotations

import logging
import sys


def configure(level: int = logging.INFO) -> None:
    """Send revier-feed's log records to stderr, one line each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", datefmt="%Y-%m-%d %H:%M:%S")
    )
    root = logging.getLogger("revier_feed")
    root.handlers[:] = [h for h in root.handlers if isinstance(h, logging.NullHandler)]
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler logs every job run at INFO; only its warnings matter to an admin, and not
    # "skipped: maximum number of running instances reached": a cycle that outlasts a tick
    # is normal, and the next tick picks up whatever became due.
    scheduler_log = logging.getLogger("apscheduler")
    scheduler_log.setLevel(max(level, logging.WARNING))
    scheduler_log.addHandler(handler)
    handler.addFilter(_drop_skipped_runs)


def _drop_skipped_runs(record: logging.LogRecord) -> bool:
    return "maximum number of running instances reached" not in record.getMessage()
