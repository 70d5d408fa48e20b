"""Cookies within one request's redirects.

Some sites answer a client without a cookie with a redirect that sets one, and redirect
again until the cookie comes back (a load balancer's session pinning, a CMS's cookie
check, a bot filter's "are you a browser" hop). Without cookies that ends in "too many
redirects"; reader (requests' session), curl with a cookie engine and browsers follow it.

The cookies live as long as one request and its redirects, nothing is stored: the next
cycle's request starts without them, as feedparser's and Miniflux's do, and a site that
wants them is sent through its hops again. What is kept of RFC 6265 is what a redirect
needs: host-only and Domain cookies, Path, Secure, deletion by Max-Age or Expires.
Without the Public Suffix List, a Domain attribute must hold a dot and be the setting host
or one of its parents, so a cookie never reaches another site's host unless the two
share a parent domain the setting site named (``.example.de``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

#: Bounds on what a site can make the next requests carry: a server refuses a request
#: head of more than about 8 KB (431), and each hop could add cookies.
MAX_COOKIES = 30
MAX_COOKIE_BYTES = 4096

# RFC 6265's cookie-octets loosened as browsers do (spaces, commas, quotes are taken),
# but only visible ASCII and spaces: controls or non-ASCII in a request header would
# either be refused by the HTTP layer or let a site's bytes into another header.
_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE = re.compile(r"[\x20-\x3a\x3c-\x7e]*")


@dataclass(frozen=True, slots=True)
class _Cookie:
    name: str
    value: str
    domain: str  #: lower case, no leading dot
    host_only: bool  #: sent to ``domain`` itself only (no Domain attribute)
    path: str
    secure: bool


class RedirectCookies:
    """The cookies the responses of one request's redirects set, for the next hops."""

    def __init__(self) -> None:
        self._cookies: dict[tuple[str, str, str], _Cookie] = {}

    def take(self, url: httpx.URL, set_cookies: list[str], now: datetime) -> None:
        """Keep (or delete) the cookies of the ``Set-Cookie`` values of a response to
        ``url``; values that are not valid cookies, or not for this host, are ignored."""
        for line in set_cookies:
            parsed = _parse(url, line, now)
            if parsed is None:
                continue
            cookie, expired = parsed
            key = (cookie.domain, cookie.path, cookie.name)
            self._cookies.pop(key, None)
            if not expired and len(self._cookies) < MAX_COOKIES:
                self._cookies[key] = cookie

    def header(self, url: httpx.URL) -> str | None:
        """The ``Cookie`` header for a request to ``url``, or None when none applies."""
        if not self._cookies:
            return None
        host = url.host.lower()
        path = url.path or "/"
        chosen = [
            cookie
            for cookie in self._cookies.values()
            if (host == cookie.domain if cookie.host_only else _domain_match(host, cookie.domain))
            and _path_match(path, cookie.path)
            and (url.scheme == "https" or not cookie.secure)
        ]
        # Longer paths first (RFC 6265, 5.4): the most specific value of a name is first.
        chosen.sort(key=lambda cookie: -len(cookie.path))
        return "; ".join(f"{c.name}={c.value}" for c in chosen) or None


def _parse(url: httpx.URL, line: str, now: datetime) -> tuple[_Cookie, bool] | None:
    """The cookie of a ``Set-Cookie`` value and whether it is expired (a deletion)."""
    pair, *attributes = line.split(";")
    name, equals, value = pair.partition("=")
    name, value = name.strip(), value.strip()
    if (
        not equals
        or not _NAME.fullmatch(name)
        or not _VALUE.fullmatch(value)
        or len(name) + len(value) > MAX_COOKIE_BYTES
    ):
        return None
    host = url.host.lower()
    domain, path, secure, expired = "", "", False, False
    max_age_seen = False
    for attribute in attributes:
        key, _, argument = attribute.partition("=")
        key, argument = key.strip().lower(), argument.strip()
        if key == "domain" and argument:
            domain = argument.lstrip(".").lower()
        elif key == "path" and argument.startswith("/"):
            path = argument
        elif key == "secure":
            secure = True
        elif key == "max-age" and re.fullmatch(r"-?[0-9]+", argument):
            max_age_seen = True
            # Compared as text: int() refuses more than 4,300 digits.
            expired = argument.startswith("-") or not argument.lstrip("0")
        elif key == "expires" and not max_age_seen:
            expired = _expired(argument, now)
    if domain and domain != host and ("." not in domain or not _domain_match(host, domain)):
        return None  # a cookie for another site, or for a whole top-level domain
    if not path:
        # The default path: the request's directory (RFC 6265, 5.1.4).
        directory = (url.path or "/").rsplit("/", 1)[0]
        path = directory or "/"
    cookie = _Cookie(name, value, domain or host, not domain, path, secure)
    return cookie, expired


def _expired(argument: str, now: datetime) -> bool:
    try:
        when = parsedate_to_datetime(argument)
    except (TypeError, ValueError, IndexError, OverflowError):
        return False  # an unreadable date: a session cookie, as browsers take it
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when <= now
    except OverflowError:  # an offset of years: compared in UTC, out of datetime's range
        return False


def _domain_match(host: str, domain: str) -> bool:
    if host == domain:
        return True
    if not host.endswith("." + domain):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False  # an address matches only itself


def _path_match(path: str, cookie_path: str) -> bool:
    return (
        path == cookie_path
        or (path.startswith(cookie_path) and cookie_path.endswith("/"))
        or path.startswith(cookie_path + "/")
    )
