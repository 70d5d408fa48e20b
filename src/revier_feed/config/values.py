"""Values the YAML files share: durations, sizes, ids, URLs, and the strict base model."""

from __future__ import annotations

import re
from datetime import timedelta
from importlib import resources
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
)

from .._utils import TAG_LIKE

CONFIG_FILES = (
    "settings.yaml",
    "sources.yaml",
    "tags.yaml",
    "districts.yaml",
    "channels.yaml",
    "partners.yaml",
)
#: The region's districts and their towns, shipped with revier-feed; districts.yaml extends it.
GAZETTEER = resources.files("revier_feed") / "data" / "districts.yaml"
REQUIRED_FILES = ("settings.yaml", "sources.yaml")

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)", re.IGNORECASE)
_DURATION_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}
#: Ids name files ("tag-<id>.rss.xml") and fill a column of 100 characters: at most 64.
MAX_ID_CHARS = 64
# \Z, not $: "$" also matches before a final line break, which an id or address must not
# carry into a file name or a mail header.
_ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
# A plain address: no quoted local part, comments, groups, address literals or controls,
# which smtplib would read as another address ("a:b@x" is mailed to b@x).
_EMAIL_RE = re.compile(
    r"^[^@\s<>\"',;:()\[\]\\\x00-\x1f\x7f]+@[^@\s<>\"',;:()\[\]\\\x00-\x1f\x7f]+"
    r"\.[^@\s<>\"',;:()\[\]\\\x00-\x1f\x7f.]+\Z"
)


def parse_duration(value: object) -> timedelta:
    """Read ``30s``, ``15m``, ``2h``, ``1d``, ``1w``, combinations like ``1h30m``, or seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30m, 2h or 1d")
    if isinstance(value, int | float):
        if not value > 0:  # NaN too
            raise ValueError("a duration must be positive")
        return _seconds(float(value), value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        parts = list(_DURATION_RE.finditer(text))
        if parts and "".join(p.group(0) for p in parts) == text:
            seconds = sum(float(p.group(1)) * _DURATION_UNITS[p.group(2).lower()] for p in parts)
            if seconds > 0:
                return _seconds(seconds, value)
    raise ValueError(f"{value!r} is not a duration; write it like 30s, 15m, 2h, 1d or 1h30m")


#: Longer than any setting needs, and far inside what a timedelta holds.
_LONGEST = timedelta(days=100 * 365)


def _seconds(seconds: float, value: object) -> timedelta:
    if seconds > _LONGEST.total_seconds():  # inf too; a timedelta would overflow
        raise ValueError(f"{value!r} is longer than any duration this setting takes (100 years)")
    if seconds < 0.001:  # a timedelta keeps microseconds: less would be no time at all
        raise ValueError(f"{value!r} is shorter than any duration this setting takes (1 ms)")
    return timedelta(seconds=seconds)


def parse_size(value: object) -> int:
    """Read ``10MB``, ``512KiB`` or a plain number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and (m := _SIZE_RE.match(value)):
        size = float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()]
        if size > 1000**5:  # inf too; int() of it would overflow
            raise ValueError(f"{value!r} is larger than any size this setting takes (1 PB)")
        if size >= 1:
            return int(size)
    raise ValueError(f"{value!r} is not a size; write it like 10MB, 512KB or 1048576")


#: What no URL holds unescaped: blanks, controls, quotes, angle brackets.
_NOT_IN_URLS = re.compile(r"[\x00-\x20\x7f\"<>\\]")


def check_url(value: str) -> str:
    """``value`` if it is an absolute http(s) URL a request can carry.

    Raises:
        ValueError: what is wrong with it, and how to write it.
    """
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0  # reading it checks 0 to 65535
    except ValueError:  # "http://[::1", "http://host:99999/"
        port_ok = False
    if "@" in re.split("[/?#]", value.partition("://")[2], maxsplit=1)[0]:
        # Published with the source (feeds name each item's source), and printed: secrets
        # come from the environment only.
        raise ValueError(
            f"{_without_login(value)!r} has a user name or password in it: those do not "
            "belong in the configuration (a source's login comes from environment "
            "variables its `auth` block names, see docs/config.md)"
        )
    if not port_ok or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{_without_login(value)!r} is not an absolute http(s) URL (write it like "
            "https://www.example.org/presse/feed.xml)"
        )
    if _NOT_IN_URLS.search(value):
        raise ValueError(
            f"{value!r} has a blank, quote or angle bracket in it (write them as %20, %22, "
            "%3C and %3E)"
        )
    return value


def _without_login(url: str) -> str:
    """``url`` with all before its last "@" masked, for messages: a password may hold a
    "/" ("user:ge/heim@host"), and a message must not show any of it."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


def is_id(value: str) -> bool:
    """Whether ``value`` is an id as the configuration takes them (``sources import`` keeps
    an id another revier-feed exported only then)."""
    return bool(_ID_RE.match(value)) and len(value) <= MAX_ID_CHARS


def _check_id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid id; use lower-case letters, digits, '-' and '_'"
        )
    if len(value) > MAX_ID_CHARS:
        raise ValueError(
            f"an id of {len(value)} characters is too long; use at most {MAX_ID_CHARS}"
        )
    return value


def _check_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _check_language(value: str) -> str:
    if not _LANGUAGE_RE.match(value):
        raise ValueError(f"{value!r} is not a language tag like de, en or de-DE")
    return value


def _check_shown(value: str) -> str:
    if TAG_LIKE.search(value):
        raise ValueError(
            f"{value!r} looks like HTML markup: it is shown as text (and some feed readers "
            "would take it for markup); leave the tags out"
        )
    return value


_LANGUAGE_RE = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*\Z")
#: Text that may not be empty or blank (paths).
Text = Annotated[str, AfterValidator(_check_text)]
#: Text shown to readers (names, labels, descriptions): no markup.
Shown = Annotated[str, AfterValidator(_check_shown)]
#: A title shown to readers: not empty, no markup.
Title = Annotated[str, AfterValidator(_check_text), AfterValidator(_check_shown)]
#: A language tag (BCP 47's shape), as feeds and pages declare it.
Language = Annotated[str, AfterValidator(_check_language)]
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _check_interval(value: timedelta) -> timedelta:
    if value < MIN_INTERVAL:
        raise ValueError(
            f"{value.total_seconds():g}s is too often to poll a website; the minimum is "
            f"{MIN_INTERVAL.total_seconds():g}s (YAML reads 1:30 as 90 seconds: write 1h30m)"
        )
    return value


#: Sources are polled at most this often, to be a good citizen.
MIN_INTERVAL = timedelta(minutes=1)
Interval = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_check_interval)]
ByteSize = Annotated[int, BeforeValidator(parse_size)]
Url = Annotated[str, BeforeValidator(lambda v: check_url(v) if isinstance(v, str) else v)]
Id = Annotated[str, BeforeValidator(lambda v: _check_id(v) if isinstance(v, str) else v)]


class _Model(BaseModel):
    # Unknown keys are errors: a typo such as "intervall" must not pass silently.
    model_config = ConfigDict(extra="forbid", frozen=True)
