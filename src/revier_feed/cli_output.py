"""What every command line module shares: exit codes and how values are shown."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from .app import App

EXIT_OK = 0
EXIT_FAILED = 1  #: the command ran but failed (store unusable, every source failed)
EXIT_CONFIG = 2  #: invalid configuration or usage

#: Source states, worst first: tables and counts list problems before healthy sources.
SEVERITY = {"gone": 0, "failing": 1, "empty": 2, "degraded": 3, "stale": 4, "new": 5, "ok": 6}


def console() -> Console:
    """Standard output; wide when it is a file or pipe, so table rows stay whole for grep."""
    out = Console(highlight=False, soft_wrap=False)
    if not out.is_terminal:
        out.width = max(out.width, 160)
    return out


def span(value: timedelta) -> str:
    """2h30m, 45m, 1d6h: how an admin writes intervals in the YAML."""
    minutes = round(value.total_seconds() / 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    text = (f"{days}d" if days else "") + (f"{hours}h" if hours else "")
    return text + (f"{minutes}m" if minutes or not text else "")


def when(value: datetime | None, app: App) -> str:
    """A stored time in the configured time zone, to the minute; "-" when there is none."""
    if value is None:
        return "-"
    return value.astimezone(app.tz).strftime("%Y-%m-%d %H:%M")
