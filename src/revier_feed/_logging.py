"""Log setup for the command line (the package itself only logs to a NullHandler).

Two formats: one human-readable line per event (the default), or one JSON object per line
(``--log-format json``) for journald, Loki and friends. Fields given as ``extra=`` (such as
``event``, ``source_id``, ``status``, ``duration``, ``new``, ``updated``) become JSON keys.
Secrets never reach the output: the values of secret-looking environment variables and
passwords in URLs are masked in every line, tracebacks included.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO
from urllib.parse import quote, quote_plus

from ._utils import is_secret_name, visible

FORMATS = ("text", "json")
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

#: Shorter values are not masked: "1" or "yes" would mangle every line.
_MIN_SECRET = 6
#: The password in ``scheme://user:password@host``.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/@:\s]*:)[^/@\s]+(?=@)", re.I)
MASK = "***"

#: Attributes every LogRecord has; anything else on a record came in through ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class Redactor:
    """Masks secrets in text: given values, also as a URL writes them (percent-encoded, as
    UTF-8 or Latin-1), and passwords inside URLs."""

    def __init__(self, secrets: Iterable[str]) -> None:
        given = {s for s in secrets if len(s) >= _MIN_SECRET}
        values = sorted(given | {v for s in given for v in _in_urls(s)}, key=len, reverse=True)
        self._values = re.compile("|".join(map(re.escape, values))) if values else None

    @classmethod
    def from_environment(cls) -> Redactor:
        return cls(v for k, v in os.environ.items() if is_secret_name(k))

    def __call__(self, text: str) -> str:
        if self._values is not None:
            text = self._values.sub(MASK, text)
        return _URL_PASSWORD.sub(rf"\g<head>{MASK}", text)


def _in_urls(secret: str) -> set[str]:
    """How ``secret`` may appear in an address a site sends back: percent-encoded, all of
    it or what a path or query may not hold as it is, as UTF-8 or Latin-1."""
    spellings = set()
    for encoding in ("utf-8", "latin-1"):
        with contextlib.suppress(UnicodeEncodeError):
            for safe in ("", _URL_SAFE):
                spellings.add(quote(secret, safe=safe, encoding=encoding))
            spellings.add(quote_plus(secret, encoding=encoding))
    return spellings - {secret}


#: What a URL's path and query hold as it is (RFC 3986 pchar, "/" and "?").
_URL_SAFE = "!$&'()*+,;=:@/?~"


def mask_secrets(text: str) -> str:
    """``text`` with the values of this process's secret variables and passwords in URLs
    masked: for messages that are stored or printed besides the log (a source's last error,
    which `sources`, `status` and the admin's digest show)."""
    return Redactor.from_environment()(text)


class TextFormatter(logging.Formatter):
    """``2026-11-26 01:02:03 INFO    message`` with secrets masked."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(message)s", datefmt="%Y-%m-%d %H:%M:%S")
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        # A site's text in a message (a reason phrase, a link) must not move the cursor or
        # colour the terminal that shows the log: ESC and the like are written as escapes.
        return self._redact(visible(super().format(record)))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's extras."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # Masked before JSON escapes a secret's '"' or "\\" (it would no longer be found),
        # and once more after, for what only JSON's text of a value shows.
        masked = _masked(entry, self._redact)
        return _ascii(self._redact(json.dumps(masked, ensure_ascii=False, default=str)))


def _masked(value: object, redact: Redactor) -> object:
    """``value`` with every text in it masked, through lists, tuples and dictionaries."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _masked(item, redact) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(item, redact) for item in value]
    return value


def _ascii(text: str) -> str:
    """JSON text with every character beyond ASCII escaped (``\\u2028`` splits no line for
    tools that split on it; non-ASCII occurs only inside JSON strings)."""
    if text.isascii():
        return text
    return _NON_ASCII.sub(lambda m: json.dumps(m[0])[1:-1], text)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


class JournalPriority(logging.Formatter):
    """Each line of ``inner``'s text led by its syslog priority, ``<4>`` for a warning:
    journald reads the prefix as the line's priority (and drops it), where a service's
    stderr is otherwise all "info", so `journalctl -p warning` showed none of our
    warnings."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self._inner = inner

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{_PRIORITY.get(record.levelno, 6)}>"
        return prefix + self._inner.format(record).replace("\n", "\n" + prefix)


_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


def to_journal(stream: TextIO) -> bool:
    """Whether ``stream`` is systemd's journal: the device and inode systemd names in
    ``JOURNAL_STREAM`` are the stream's (not so when the output is redirected)."""
    named = os.environ.get("JOURNAL_STREAM", "")
    try:
        stat = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return False
    return named == f"{stat.st_dev}:{stat.st_ino}"


def configure(level: int = logging.INFO, fmt: str = "text") -> None:
    """Send revier-feed's log records to stderr, one line each, in ``fmt`` (text or json);
    into systemd's journal, each with its priority."""
    redact = Redactor.from_environment()
    handler = logging.StreamHandler(sys.stderr)
    formatter: logging.Formatter = (
        JsonFormatter(redact) if fmt == "json" else TextFormatter(redact)
    )
    handler.setFormatter(JournalPriority(formatter) if to_journal(sys.stderr) else formatter)
    root = logging.getLogger("revier_feed")
    root.handlers[:] = [h for h in root.handlers if isinstance(h, logging.NullHandler)]
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler logs every job run at INFO; only its warnings matter to an admin, and not
    # "skipped: maximum number of running instances reached": a cycle that outlasts a tick
    # is normal, and the next tick picks up whatever became due.
    scheduler_log = logging.getLogger("apscheduler")
    scheduler_log.setLevel(max(level, logging.WARNING))
    scheduler_log.handlers[:] = [handler]
    handler.addFilter(_drop_skipped_runs)


def _drop_skipped_runs(record: logging.LogRecord) -> bool:
    return "maximum number of running instances reached" not in record.getMessage()
