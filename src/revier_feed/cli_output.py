"""What every command line module shares: exit codes and how values are shown."""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from ._utils import visible_json

if TYPE_CHECKING:
    from rich.console import Console

    from .app import App
    from .models import SourceSpec, SourceState

EXIT_OK = 0
EXIT_FAILED = 1  #: the command ran but failed (store unusable, every source failed)
EXIT_CONFIG = 2  #: invalid configuration or usage
EXIT_INTERRUPTED = 130  #: Ctrl-C (SIGINT) ended a command, as shells report it (128 + 2)
EXIT_TERMINATED = 143  #: SIGTERM ended a command (128 + 15)

#: Source states, worst first: tables and counts list problems before healthy sources.
SEVERITY = {"gone": 0, "failing": 1, "empty": 2, "degraded": 3, "stale": 4, "new": 5, "ok": 6}


def by_severity(pair: tuple[SourceSpec, SourceState | None]) -> tuple[int, str]:
    """Sort key of a source and its state: the worst problems first, then by id."""
    spec, state = pair
    return SEVERITY[state.status.value if state else "new"], spec.id


def console() -> Console:
    """Standard output; wide when it is a file or pipe, so table rows stay whole for grep."""
    # rich costs ~40 ms to import: the modules that print import it when they print, so a
    # quiet `run --once` from cron never loads it.
    from rich.console import Console

    # emoji=False: rich turned ":fire:" in a site's title (or in a feed's address) into 🔥.
    out = Console(highlight=False, soft_wrap=False, emoji=False)
    if not out.is_terminal:
        out.width = max(out.width, 160)
    return out


def error_console() -> Console:
    """Standard error, for errors and progress: site text in it is shown as written (no
    emoji codes read; markup only where the caller escapes what it did not write)."""
    from rich.console import Console

    return Console(stderr=True, emoji=False, highlight=False)


def print_json(out: Console, data: object) -> None:
    """``data`` as indented JSON on ``out``, with control, bidi and zero-width characters
    (which a website may put in a title) as ``\\u`` escapes; no markup, emoji codes or
    colours are applied to it."""
    out.out(visible_json(json.dumps(data, ensure_ascii=False, indent=2)), highlight=False)


def may_be_terminal(stream: TextIO) -> bool:
    """False when rich would not treat ``stream`` as a terminal either (a file or a pipe, as
    under cron, and neither TTY_COMPATIBLE=1 nor FORCE_COLOR set): then no progress bar is
    drawn and rich need not be imported to find that out. True: ask rich."""
    if os.environ.get("TTY_COMPATIBLE") == "1" or os.environ.get("FORCE_COLOR"):
        return True
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False


def when(value: datetime | None, app: App) -> str:
    """A stored time in the configured time zone, to the minute, short ("27.11. 14:05"; the
    year only when it is not this one); "-" when there is none."""
    if value is None:
        return "-"
    local = value.astimezone(app.tz)
    this_year = local.year == app.now().astimezone(app.tz).year
    return local.strftime("%d.%m. %H:%M" if this_year else "%d.%m.%Y %H:%M")
