"""Fetch over HTTP as a good citizen: one client, bounded concurrency, robots.txt,
conditional GET, size caps, retries with backoff.

Every failure becomes a :class:`~revier_feed.exceptions.FetchError` with a ``kind`` from
:class:`~revier_feed.models.ErrorKind`, so callers never see an httpx exception.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import email.utils
import functools
import http
import ipaddress
import logging
import os
import random
import re
import socket
import ssl
import sys
import time
import urllib.request
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Protocol, Self
from urllib.parse import quote, urlsplit

from .._utils import visible
from ..exceptions import Cancelled, Deferred, FetchError, RevierError, SilentHost
from ..models import (
    FIREWALL_HINT,
    ErrorKind,
    FetchResult,
    FetchSettings,
    NotModified,
    RobotsCopy,
    SourceAuth,
    SourceTls,
)

# httpx imports its own command line (click, pygments, rich's syntax and progress) whenever
# it can: about 20 ms of every start, for a tool we never run. None in sys.modules makes that
# import fail, and httpx goes on without it (its `main` then only says how to install it).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx  # noqa: E402
import sniffio  # noqa: E402

from .connections import (  # noqa: E402
    CONNECTED,
    LOOPBACK,
    REACH,
    TLS_CHOICE,
    ConnectionPools,
    HandshakeCut,
    MalformedHead,
    Network,
    PrivateAddress,
    is_address,
    reachable,
)
from .cookies import RedirectCookies  # noqa: E402
from .decoding import RawTooLarge, Truncated, UnsupportedCoding, decoded  # noqa: E402
from .refresh import Refresh, page_refresh  # noqa: E402
from .robots import MAX_ROBOTS_BYTES, RobotsRules  # noqa: E402

log = logging.getLogger(__name__)

#: The product token robots.txt rules are matched against.
ROBOTS_AGENT = "revier-feed"
#: How long a robots.txt is trusted before it is fetched again.
ROBOTS_TTL = timedelta(hours=24)
#: The longest Crawl-delay a command that waits for its turns (`run --once`, `sources
#: test`) keeps to: one asking for an hour between requests would hold it up for hours.
MAX_CRAWL_DELAY = 60.0
#: The longest Crawl-delay the worker (and `run --once --due`) keeps to: it waits for no
#: turn, a source whose turn has not come stays due for a later cycle. Beyond it, the
#: site's news would come a day late (Heritrix keeps to 300 s by default, Nutch leaves
#: such sites out).
MAX_HONOURED_CRAWL_DELAY = 3600.0
#: The seconds the requests of the current task (a source's collection) waited for their
#: host's turns (Crawl-delay, a pause it asked for), when the task keeps count: a polite
#: site's fetches looked slow in the average fetch time by them.
TURN_WAITS: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
    "revier_feed_turn_waits", default=None
)
#: The TLS choice of the source whose :meth:`Fetcher.fetch` runs in the current task: its
#: requests (robots.txt and redirects included) carry it to the connections.
_SOURCE_TLS: contextvars.ContextVar[SourceTls | None] = contextvars.ContextVar(
    "revier_feed_source_tls", default=None
)
#: The host of the URL the admin gave for the source whose :meth:`Fetcher.fetch` runs in the
#: current task: the one host its requests may find at a private or local address.
_HOME: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "revier_feed_home", default=None
)
#: The login of the source whose :meth:`Fetcher.fetch` runs in the current task: the origin
#: of the URL the admin gave, and the ``Authorization`` header sent to that origin only.
_LOGIN: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "revier_feed_login", default=None
)
#: OpenSSL's SSL_OP_LEGACY_SERVER_CONNECT, which Python names only from 3.12 on.
_LEGACY_SERVER_CONNECT = getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0x4)
#: The longest a host's pause (429, Retry-After) keeps its other sources from asking; a
#: source that got the answer itself is scheduled by it (up to 30 days).
MAX_HOST_PAUSE = timedelta(hours=6)
#: A robots.txt that has not been readable (5xx, no answer) for this long counts as absent
#: (RFC 9309 2.3.1.4 suggests 30 days).
ROBOTS_UNREADABLE_FOR = timedelta(days=30)
#: The status the robots.txt cache keeps for one that could not be read (no HTTP status).
_UNREADABLE = 599
_RETRYABLE = frozenset(
    {ErrorKind.TIMEOUT, ErrorKind.CONNECT, ErrorKind.HTTP_429, ErrorKind.HTTP_5XX}
)
_PERMANENT_REDIRECTS = frozenset({301, 308})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: A wait for a host's turn longer than this many seconds is logged where nothing defers.
_SAY_WAIT = 2.0
#: Error pages up to this size are read to their end to keep the connection (_drain_small).
_DRAIN_LIMIT = 64 * 1024
#: ... and read for at most this long.
_DRAIN_SECONDS = 1.0
_DNS_FAILURES = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated with hostname",
    "'idna' codec failed",  # a host name no resolver accepts (a label over 63 characters)
)


class RobotsCache(Protocol):
    """Where robots.txt files are remembered between cycles (the store, in production)."""

    def get(self, origin: str) -> RobotsCopy | None: ...

    def put(self, origin: str, copy: RobotsCopy) -> None: ...


class Fetcher:
    """An HTTP client shared by all requests of a cycle; use as an async context manager.

    Args:
        settings: limits, timeouts, retries, User-Agent.
        robots_cache: persistent robots.txt cache; None keeps them for this cycle only.
        now: the clock (robots.txt expiry, Retry-After dates).
        rng: random source for retry jitter.
        should_stop: when it turns true, requests not yet started raise :class:`Cancelled`.
        transport: one httpx transport for every request, proxies from the environment
            not consulted (tests and benchmarks).
        tls_contexts: the TLS contexts, shared by the fetchers of a worker's cycles.
        host_turns: when each host may next be asked, shared by the fetchers of a worker's
            cycles: a Crawl-delay or a 429's pause holds across cycles, not only within one.
        max_turn_wait: a source whose host's next turn is further away than this many
            seconds is not fetched (:class:`Deferred`), so that one site's Crawl-delay does
            not hold every other source's news back; None waits for it.
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        robots_cache: RobotsCache | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        transport: httpx.AsyncBaseTransport | None = None,
        host_turns: dict[str, HostTurns] | None = None,
        max_turn_wait: float | None = None,
        tls_contexts: TlsContexts | None = None,
    ) -> None:
        self.settings = settings
        self._should_stop = should_stop
        self._robots_cache = robots_cache
        self._now = now
        self._rng = rng or random.Random()
        self._global = asyncio.Semaphore(settings.max_concurrency)
        networks = [_network(host) for host in settings.private_hosts]
        self._private_networks = tuple(n for n in networks if n is not None)
        self._private_names = frozenset(
            host for host, n in zip(settings.private_hosts, networks, strict=True) if n is None
        )
        self._hosts: dict[str, _Host] = {}
        self._host_turns = {} if host_turns is None else host_turns
        self._max_turn_wait = max_turn_wait
        if max_turn_wait is None:
            # Turns the worker took under a longer Crawl-delay than a command keeps to
            # (the App keeps them across runs): a command waits for them only as far.
            latest = time.monotonic() + MAX_CRAWL_DELAY
            for turns in self._host_turns.values():
                turns.next_start = min(turns.next_start, latest)
        # By origin and TLS choice: a source that trusts a site's missing intermediate reads
        # its robots.txt, whatever the failure of another source of the site without.
        self._robots: dict[tuple[str, SourceTls | None], _Robots] = {}
        self._robots_locks: dict[tuple[str, SourceTls | None], asyncio.Lock] = {}
        self._sniffed: str | None = None
        self._tls_contexts = TlsContexts() if tls_contexts is None else tls_contexts
        #: This cycle's contexts, taken from ``_tls_contexts`` once each.
        self._tls: dict[SourceTls | None, ssl.SSLContext] = {}
        chosen = {k: v for k in ("SSL_CERT_FILE", "SSL_CERT_DIR") if (v := os.environ.get(k))}
        if chosen:
            # Certificates an admin chose are loaded now, so that a wrong path stops the
            # cycle before it starts instead of failing every https source, one by one,
            # into its backoff.
            try:
                self._tls_context()
            except OSError as e:  # ssl.SSLError is one too
                named = ", ".join(f"{k}={v}" for k, v in chosen.items())
                raise RevierError(
                    f"cannot load the trusted certificates of {named} (hint: point it at a "
                    "PEM file or folder of certificates, or unset it for the bundled ones)"
                ) from e
        self._headers = {
            "User-Agent": settings.user_agent,
            "Accept": "application/atom+xml, application/rss+xml, application/feed+json, "
            "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5",
            "Accept-Language": "de, en;q=0.5",
            "Accept-Encoding": "gzip, deflate",  # what httpx decodes without extra packages
        }
        #: httpx's timeout extension, the same for every request.
        self._timeouts = httpx.Timeout(
            settings.timeout, connect=settings.connect_timeout
        ).as_dict()
        # Requests go straight to a transport, not through an httpx.AsyncClient: the client's
        # layer (URL merging, cookie jar, auth and redirect machinery) cost as much CPU per
        # request as the connections themselves; the fetcher follows redirects itself.
        self._proxies = _environment_proxies() if transport is None else {}
        self._transport = transport or ConnectionPools(
            keepalive_per_origin=settings.max_per_host,
            max_idle_origins=settings.max_concurrency,
            tls=self._tls_context,
        )
        self._proxy_transports: dict[tuple[str, SourceTls | None], httpx.AsyncBaseTransport] = {}

    def _tls_context(self, choice: object = None) -> ssl.SSLContext:
        """The TLS context of a source's ``tls`` choice (None: the default one)."""
        # Loading the CA bundle takes ~25 ms: done on the first https request that needs
        # it, not before (plain http never does), and shared by all such connections.
        assert choice is None or isinstance(choice, SourceTls)
        context = self._tls.get(choice)
        if context is None:
            context = self._tls[choice] = self._tls_contexts.get(choice)
        return context

    async def __aenter__(self) -> Self:
        # Behind a proxy, httpx's own transports run: httpcore and anyio ask sniffio which
        # event loop runs for every lock, event and timeout they make, about 20 times per
        # request; unanswered, each ask looks for the current task anew. This thread runs
        # our asyncio loop until __aexit__, so we tell sniffio so, as trio does for its own
        # loop.
        self._sniffed = sniffio.thread_local.name
        sniffio.thread_local.name = "asyncio"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            for transport in [self._transport, *self._proxy_transports.values()]:
                await transport.aclose()
        finally:
            sniffio.thread_local.name = self._sniffed

    async def fetch(
        self,
        source_id: str,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        may_go_to: Callable[[str], bool] | None = None,
        may_defer: bool = False,
        waiting_since: float | None = None,
        first_ended: Callable[[], None] | None = None,
        tls: SourceTls | None = None,
        home: str | None = None,
        auth: SourceAuth | None = None,
        user_agent: str | None = None,
        accept: str | None = None,
    ) -> FetchResult | NotModified:
        """GET ``url`` for ``source_id``, conditionally when validators are given.

        Timeouts, connection errors, 429 and 5xx are retried with exponential backoff and
        jitter (``Retry-After`` honoured) up to ``settings.retries`` times. A redirect to
        another origin is followed only if that origin's robots.txt allows the URL, and
        only if ``may_go_to`` (when given) accepts it. ``first_ended`` is called when the
        first attempt has ended, before a retry's wait. ``tls`` is the source's TLS choice,
        for its https connections (robots.txt and redirects included). ``home`` is the
        URL the admin gave for the source (default ``url``): only its host, where written
        as an address (or "localhost"), and the hosts and networks of
        ``settings.private_hosts`` may be at a private, loopback or link-local address;
        any other request to such an address is refused before anything is sent there (a
        site could otherwise have internal services read and published). ``auth`` is the
        source's login, read from the environment now and sent to the origin of ``home``
        only: not to another host a redirect or link leads to, nor with robots.txt.
        ``user_agent`` replaces the configured User-Agent for this source's requests (not
        for robots.txt, whose rules are read for our product token all the same), and
        ``accept`` the ``Accept`` header (an API that answers browsers with HTML).

        Raises:
            FetchError: on any network, HTTP, robots.txt or size problem; a login whose
                environment variable is not set (kind ``login``).
            Cancelled: the worker is stopping and the request was not started.
            Deferred: ``may_defer``, and the host's turn is further away than
                ``max_turn_wait`` (counted from ``waiting_since``, the monotonic time
                the source began to wait for its host: default now) or it asked for a
                pause longer than a retry waits; nothing was asked.
        """
        if tls is not None:
            self._check_tls(source_id, url, tls)
        login = (
            None if auth is None else (_origin(home or url), _authorization(source_id, url, auth))
        )
        # None: the request may not be left for later; else when its wait began.
        defer_since = (waiting_since or time.monotonic()) if may_defer else None
        headers = {"User-Agent": user_agent} if user_agent else {}
        if accept:
            headers["Accept"] = accept
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified

        async def attempt_once(attempt: int) -> FetchResult | NotModified:
            try:
                first = None if attempt else defer_since  # only before anything was asked
                return await self._attempt(source_id, url, headers, may_go_to, defer_since=first)
            finally:
                if attempt == 0 and first_ended is not None:
                    first_ended()

        chosen = _SOURCE_TLS.set(tls)
        at_home = _HOME.set(_home_host(home or url))
        logged_in = _LOGIN.set(login)
        try:
            with _wrap_exceptions(source_id, url, self.settings.timeout, []):
                target = httpx.URL(url)
                reach = self._reach(target.host)
                if reach is not None:
                    # Before its robots.txt is asked for (whose answer other sources share).
                    await self._refuse_private(source_id, url, target, reach)
            if self.settings.respect_robots:
                try:
                    await self._check_robots(source_id, url, defer_since)
                except FetchError as e:
                    if e.kind is not ErrorKind.PRIVATE or e.source_id == source_id:
                        raise
                    # Its robots.txt request met it (the name resolved otherwise by then):
                    # this source's error, at this source's URL.
                    raise FetchError(
                        source_id, url, kind=e.kind, message=e.message, at=e.at
                    ) from None
            return await self._retried(attempt_once)
        finally:
            _LOGIN.reset(logged_in)
            _HOME.reset(at_home)
            _SOURCE_TLS.reset(chosen)

    def _check_tls(self, source_id: str, url: str, tls: SourceTls) -> None:
        """Build the source's TLS context now: a ca_file deleted or spoilt since the
        configuration was checked is this source's error, named, not the cycle's."""
        try:
            self._tls_context(tls)
        except (OSError, ValueError) as e:  # ssl.SSLError is an OSError
            raise FetchError(
                source_id,
                url,
                kind=ErrorKind.TLS,
                message=f"the source's tls.ca_file {tls.ca_file!r} cannot be used ({e}); it "
                "must be a readable file of PEM certificates",
            ) from e

    async def _retried(
        self, attempt_once: Callable[[int], Awaitable[FetchResult | NotModified]]
    ) -> FetchResult | NotModified:
        """``attempt_once(attempt)``, tried again after transient failures (timeouts,
        connection errors, 429, 5xx) with backoff and jitter, ``Retry-After`` honoured."""
        attempt = 0
        while True:
            try:
                return await attempt_once(attempt)
            except FetchError as error:
                wait = self._retry_wait(error, attempt)
                if wait is None:
                    raise
                # The URL too: robots.txt's retries named no site at all.
                log.info(
                    "source %s: %s at %s, retrying in %.1fs",
                    error.source_id,
                    error.kind,
                    error.url,
                    wait,
                )
            # Sleeping outside the slot: a waiting retry must not block the host's others.
            await asyncio.sleep(wait)
            attempt += 1

    def _pause_if_asked(self, url: str, error: FetchError) -> None:
        """After a 429, or a 5xx with Retry-After, no request starts on the host for that
        long (a 429 without one: ``retry_backoff``), whichever source it is for."""
        if error.kind is ErrorKind.HTTP_429:
            pause = max(error.retry_after or 0.0, self.settings.retry_backoff)
        elif error.kind is ErrorKind.HTTP_5XX and error.retry_after:
            pause = error.retry_after
        else:
            return
        host = self._host(url)
        pause = min(pause, MAX_HOST_PAUSE.total_seconds())
        host.turns.paused_until = max(host.turns.paused_until, time.monotonic() + pause)

    def _paused_beyond_wait(self, url: str) -> bool:
        """Whether ``url``'s host asked for a pause longer than a cycle waits for."""
        pause = self._host(url).turns.paused_until - time.monotonic()
        return pause > self.settings.max_retry_wait

    def _retry_wait(self, error: FetchError, attempt: int) -> float | None:
        if (
            error.kind not in _RETRYABLE
            or attempt >= self.settings.retries
            or isinstance(error.__cause__, (MalformedHead, UnsupportedCoding))
        ):
            return None
        wait = self.settings.retry_backoff * (2**attempt) * (1 + 0.5 * self._rng.random())
        if error.retry_after is not None:
            wait = max(wait, error.retry_after)
        return wait if wait <= self.settings.max_retry_wait else None

    async def _attempt(
        self,
        source_id: str,
        url: str,
        headers: dict[str, str],
        may_go_to: Callable[[str], bool] | None = None,
        *,
        robots: bool = True,
        keep_first: int | None = None,
        defer_since: float | None = None,
    ) -> FetchResult | NotModified:
        """One request (redirects followed) in the host's slot.

        Args:
            robots: whether a redirect's target is checked against its robots.txt.
            keep_first: read only this many bytes of the body and drop the rest (instead
                of failing beyond ``max_body_bytes``).
        """
        sent: list[httpx.Request] = []  # after redirects, maybe to another host
        with _wrap_exceptions(source_id, url, self.settings.timeout, sent):
            return await self._get(
                source_id, url, sent, headers, may_go_to, robots, keep_first, defer_since
            )

    @contextlib.asynccontextmanager
    async def _slot(self, url: str, defer_since: float | None = None) -> AsyncIterator[None]:
        host = self._host(url)
        may_defer = defer_since is not None
        if defer_since is not None and self._max_turn_wait is not None and _turns(host):
            # The requests queued for the host's slots each take a turn before this one;
            # what counts is the wait since it began (a source waits for its host's place
            # in the cycle before it asks for a slot).
            now = time.monotonic()
            start = max(now, host.turns.next_start) + host.queued * host.crawl_delay
            if start - defer_since > self._max_turn_wait:
                delay = f" ({host.crawl_delay:g} s)" if host.crawl_delay else ""
                raise Deferred(
                    f"the Crawl-delay of {urlsplit(url).hostname}{delay} leaves it no turn now"
                )
        # As for a Crawl-delay, only where a cycle takes the turns it gets (plain `run
        # --once` asks every source).
        defer = may_defer and self._max_turn_wait is not None
        _defer_if_silent(host, url, defer, self.settings.timeout)
        host.queued += 1
        try:
            await host.semaphore.acquire()
        finally:
            host.queued -= 1
        # With the host's slot held: its pause, its Crawl-delay, then a global slot.
        try:
            _defer_if_silent(host, url, defer, self.settings.timeout)
            # A host that said "too many requests" gets none from any source until its
            # pause is over; they start spread over a second, not all at its end.
            while (pause := host.turns.paused_until - time.monotonic()) > 0:
                if pause > self.settings.max_retry_wait:
                    if may_defer:
                        # Not asked, so not failed: it is asked when the pause is over (also
                        # by `run --once`, which waits for Crawl-delays but not for hours).
                        raise Deferred(
                            f"{urlsplit(url).hostname} asked for a pause (429 or "
                            f"Retry-After), over in {_duration(pause)}"
                        )
                    raise _HostPaused(pause)
                _waited_for_turn(await _sleep(pause + self._rng.random()))
            if _turns(host):
                # Crawl-delay: request starts on this host at least this far apart. Each
                # request takes the next turn before it waits for it (no await between
                # reading and taking it), so the waits need no lock.
                now = time.monotonic()
                start = max(now, host.turns.next_start)
                host.turns.next_start = start + host.crawl_delay
                if start - now > _SAY_WAIT and self._max_turn_wait is None:
                    # `sources test` or `run --once` would look hung (up to a minute).
                    log.info(
                        "waiting %.0f s for a turn on %s (its robots.txt asks for %s "
                        "between requests)",
                        start - now,
                        urlsplit(url).hostname,
                        f"{host.crawl_delay:g} s" if host.crawl_delay else "time",
                    )
                if start > now:
                    _waited_for_turn(await _sleep(start - now))
            async with self._global:
                # Checked when the request would really start, not when it was queued, so a
                # stop request skips everything still waiting for a free slot.
                if self._should_stop():
                    raise Cancelled
                yield
        finally:
            host.semaphore.release()

    def _host(self, url: str) -> _Host:
        name = host_name(url)
        host = self._hosts.get(name)
        if host is None:
            turns = self._host_turns.setdefault(name, HostTurns())
            host = self._hosts[name] = _Host(asyncio.Semaphore(self.settings.max_per_host), turns)
        return host

    async def _get(
        self,
        source_id: str,
        url: str,
        sent: list[httpx.Request],
        headers: dict[str, str],
        may_go_to: Callable[[str], bool] | None,
        robots: bool,
        keep_first: int | None = None,
        defer_since: float | None = None,
    ) -> FetchResult | NotModified:
        """The request and its redirects; each request is appended to ``sent`` as it goes
        out."""
        try:
            # httpx's timeout is per network operation; this one bounds the whole request,
            # the waits for a host's turn not counted.
            async with contextlib.AsyncExitStack() as slot, asyncio.timeout(None) as budget:
                return await self._get_in_slots(
                    slot,
                    budget,
                    source_id,
                    url,
                    sent,
                    headers,
                    may_go_to,
                    robots,
                    keep_first,
                    defer_since,
                )
        except (TimeoutError, httpx.ReadTimeout, httpx.WriteTimeout):
            # A host that took the connection and then did not answer (one that could not
            # be reached, a network that is down, is no reason to skip the others). Not
            # for robots.txt's own request (robots False): a stored copy may stand in for
            # it, and the sources would have been skipped every cycle, never asked.
            if robots and sent and sent[-1].extensions.get(CONNECTED):
                self._host(str(sent[-1].url)).timed_out = True
            raise

    async def _get_in_slots(
        self,
        slot: contextlib.AsyncExitStack,
        budget: asyncio.Timeout,
        source_id: str,
        url: str,
        sent: list[httpx.Request],
        headers: dict[str, str],
        may_go_to: Callable[[str], bool] | None,
        robots: bool,
        keep_first: int | None,
        defer_since: float | None,
    ) -> FetchResult | NotModified:
        """The request and its redirects, each in its host's slot: a redirect to another
        host waits for that host's turn (its limit, its Crawl-delay) and frees this one's.
        Each request is appended to ``sent`` as it goes out."""
        loop = asyncio.get_running_loop()
        target = httpx.URL(url)
        redirects: list[int] = []
        visited: set[str] = set()  # the addresses asked, for refreshes that lead back
        refreshed = False  # whether a page's refresh led on
        slot_host: str | None = None
        left = self.settings.timeout
        unknown_robots = False
        before = target  # the URL redirected from, when there was a redirect
        cookies: RedirectCookies | None = None  # set by the redirects so far
        while True:
            reach = self._reach(target.host)
            if redirects and target.host != slot_host and reach is not None:
                # Before its robots.txt is asked for, and before its slot is waited for (the
                # URL asked was checked so by fetch()).
                await self._refuse_private(source_id, url, target, reach)
            if target.host != slot_host or unknown_robots:
                when = budget.when()
                if when is not None:
                    left = when - loop.time()
                    budget.reschedule(None)
                await slot.aclose()
                if unknown_robots:
                    # Read in its host's slot, not this one's, like the waits not counted.
                    await self._robots_for(str(target))
                    unknown_robots = self._may_redirect(
                        source_id, url, before, target, may_go_to, robots
                    )
                try:
                    # Only before anything was asked: a source half read is finished.
                    first = None if redirects else defer_since
                    await slot.enter_async_context(self._slot(str(target), first))
                except _HostPaused as paused:
                    raise FetchError(
                        source_id,
                        url,
                        kind=ErrorKind.HTTP_429,
                        status_code=429,
                        retry_after=paused.seconds,
                        message=f"{target.host} asked for a pause of {paused.seconds:.0f} s "
                        "(429 or Retry-After to another request); not asked before it is over",
                    ) from None
                slot_host = target.host
                budget.reschedule(loop.time() + left)
            sent_along = {}
            if cookies is not None and (cookie := cookies.header(target)):
                sent_along["Cookie"] = cookie
            login = _LOGIN.get()
            # Never to another origin, where a redirect or a link led (as curl and requests
            # do), nor with robots.txt, whose answer the host's other sources share.
            if login is not None and robots and _origin(target) == login[0]:
                sent_along["Authorization"] = login[1]
            request = httpx.Request(
                "GET",
                target,
                headers={**self._headers, **headers, **sent_along},
                extensions={
                    "timeout": self._timeouts,
                    TLS_CHOICE: _SOURCE_TLS.get(),
                    REACH: reach,
                },
            )
            sent.append(request)
            visited.add(str(target.copy_with(fragment=None)))
            response = await self._transport_for(target).handle_async_request(request)
            response.request = request
            try:
                location = _location(response)
                if response.status_code in _REDIRECTS and location:
                    # Small bodies are read, so the connection is kept (a redirect often
                    # stays on its host).
                    await _drain_small(response)
                    set_cookies = response.headers.get_list("set-cookie")
                    if set_cookies:
                        cookies = cookies or RedirectCookies()
                        cookies.take(target, set_cookies, self._now())
                    before = target
                    target = self._redirect(source_id, url, target, location, len(redirects))
                    unknown_robots = self._may_redirect(
                        source_id, url, before, target, may_go_to, robots
                    )
                    redirects.append(response.status_code)
                    continue
                if response.status_code == 304:
                    # Reading the (empty) body lets the connection go back to the pool: a
                    # response closed unread closes its connection, and a cycle of 304s
                    # would connect anew for every source.
                    await response.aread()
                    if not headers.get("If-None-Match") and not headers.get("If-Modified-Since"):
                        # Nothing to be unmodified against: taken for "no news", it left a
                        # source without a single item, and without an error, for good.
                        raise FetchError(
                            source_id,
                            url,
                            kind=ErrorKind.EMPTY,
                            status_code=304,
                            message="the server answered 304 Not Modified to a request "
                            "without validators (a broken cache or server in front of it)",
                        )
                    # Checked as a 200's are: a validator that cannot be sent back would
                    # fail every later request of the source.
                    return NotModified(
                        etag=_validator(response.headers.get("etag"))
                        or headers.get("If-None-Match"),
                        last_modified=_validator(response.headers.get("last-modified"))
                        or headers.get("If-Modified-Since"),
                        # A site that moved keeps its validators: the move counts as with
                        # a 200, or the source went through the redirect for good.
                        permanent_url=_permanent(redirects, target),
                        fresh_for=fresh_for(response.headers, self._now()),
                    )
                # Not robots.txt's: its answer is read as RFC 9309 says (a 2xx check, no
                # rules, not a site to leave for a month).
                bot_check = robots and any(
                    header in response.headers for header, _ in _CHALLENGE_HEADERS
                )
                if response.status_code >= 400 or bot_check:
                    await _drain_small(response)
                    try:
                        if robots:
                            _raise_for_bot_check(source_id, url, response)
                        _raise_for_status(
                            source_id,
                            url,
                            response,
                            self._now(),
                            redirected_to=str(target) if redirects else None,
                        )
                    except FetchError as error:
                        self._pause_if_asked(str(target), error)
                        raise
                content = await self._read_capped(source_id, url, response, keep_first)
                refresh = (
                    page_refresh(
                        content,
                        response.headers.get("content-type", ""),
                        response.headers.get("refresh"),
                    )
                    if robots  # not robots.txt
                    else None
                )
                if refresh is not None and (
                    following := self._refreshed(target, refresh, visited)
                ):
                    # A page that sends browsers on at once: followed as a temporary
                    # redirect, with its hosts' limits, robots.txt and allow_hosts.
                    set_cookies = response.headers.get_list("set-cookie")
                    if set_cookies:
                        cookies = cookies or RedirectCookies()
                        cookies.take(target, set_cookies, self._now())
                    before = target
                    try:
                        target = self._redirect(source_id, url, target, following, len(redirects))
                        unknown_robots = self._may_redirect(
                            source_id, url, before, target, may_go_to, robots
                        )
                    except FetchError as error:
                        raise _by_refresh(error, before, refresh) from None
                    redirects.append(response.status_code)
                    # The validators were the document's, not this page's: sent here, a
                    # static page older than them answered 304 for the document.
                    headers = {
                        name: value for name, value in headers.items() if name not in _VALIDATORS
                    }
                    refreshed = True
                    continue
            finally:
                await response.aclose()
            break
        if not content.strip():
            raise FetchError(
                source_id,
                url,
                kind=ErrorKind.EMPTY,
                message="the server sent an empty body",
                status_code=response.status_code,
            )
        return FetchResult(
            url=str(target),
            status_code=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            content=content,
            # Not kept after a refresh: they would be sent to the page that refreshes.
            etag=None if refreshed else _validator(response.headers.get("etag")),
            last_modified=None if refreshed else _validator(response.headers.get("last-modified")),
            permanent_url=_permanent(redirects, target),
            fresh_for=fresh_for(response.headers, self._now()),
        )

    def _reach(self, host: str) -> tuple[Network, ...] | None:
        """The private networks a request to ``host`` may reach (:data:`REACH`): any for
        the hosts named in ``private_hosts`` and for the source's own host written as an
        address, the loopback networks for its own host named "localhost"."""
        if host in self._private_names:
            return None
        if host == _HOME.get():
            # An address the admin wrote reaches itself; a localhost name reaches only this
            # machine (a resolver that sends "*.localhost" on could answer anything).
            return None if is_address(host) else (*self._private_networks, *LOOPBACK)
        return self._private_networks

    async def _refuse_private(
        self, source_id: str, url: str, target: httpx.URL, reach: tuple[Network, ...]
    ) -> None:
        """Refuse ``target`` if its host is, or resolves to, an address ``reach`` does not
        allow (the connection checks again, for a name that resolves otherwise by then)."""
        host = target.host
        if is_address(host):
            addresses = [host]
        else:
            try:
                answers = await asyncio.get_running_loop().getaddrinfo(
                    host, target.port or 443, type=socket.SOCK_STREAM
                )
            except (OSError, UnicodeError):
                return  # the request itself fails, and says why
            addresses = [str(answer[4][0]) for answer in answers]
        for address in addresses:
            if not reachable(address, reach):
                at = str(target) if _origin(target) != _origin(url) else None
                raise FetchError(
                    source_id,
                    url,
                    kind=ErrorKind.PRIVATE,
                    message=_private_message(host, address, url if at else None),
                    at=at,
                )

    def _redirect(
        self, source_id: str, url: str, current: httpx.URL, location: str, followed: int
    ) -> httpx.URL:
        """The URL a redirect points to, relative ones resolved against ``current``."""
        if followed >= self.settings.max_redirects:
            raise FetchError(
                source_id,
                url,
                kind=ErrorKind.REDIRECT,
                message="too many redirects (a redirect loop?)",
            )
        try:
            target = current.join(location)
        except httpx.InvalidURL as e:
            raise FetchError(
                source_id,
                url,
                kind=ErrorKind.REDIRECT,
                message=f"the server redirected to an invalid URL: {location[:200]!r}",
            ) from e
        if target.scheme not in ("http", "https"):
            raise FetchError(
                source_id,
                url,
                kind=ErrorKind.REDIRECT,
                message=f"the server redirected to a {target.scheme!r} URL, not http(s)",
            )
        return target

    @staticmethod
    def _refreshed(current: httpx.URL, refresh: Refresh, visited: set[str]) -> str | None:
        """Where a page's refresh leads, if that is a redirect: within
        :data:`REFRESH_AS_REDIRECT` seconds, to a web page not met on the way (a page that
        reloads itself, under any spelling of its address, is the page), nor the page
        itself with another query after a delay (a reload that defeats caches). None for
        an address a browser could not go to either."""
        if refresh.delay > REFRESH_AS_REDIRECT or not refresh.url:
            return None
        try:
            base = current.join(refresh.base) if refresh.base else current
            target = base.join(refresh.url).copy_with(fragment=None)
        except httpx.InvalidURL:
            return None
        if target.scheme not in ("http", "https") or str(target) in visited:
            return None
        if refresh.delay and (target.host, target.path) == (current.host, current.path):
            return None
        return str(target)

    def _may_redirect(
        self,
        source_id: str,
        url: str,
        current: httpx.URL,
        target: httpx.URL,
        may_go_to: Callable[[str], bool] | None,
        robots: bool,
    ) -> bool:
        """Refuse a redirect the caller does not allow, or one to another origin whose
        robots.txt disallows the target; True if that robots.txt must be read first."""
        if may_go_to is not None and not may_go_to(str(target)):
            raise FetchError(
                source_id,
                url,
                kind=ErrorKind.REDIRECT,
                message=f"redirected to {str(target)[:200]}, a host this source may not "
                "follow (see allow_hosts)",
            )
        if not (robots and self.settings.respect_robots):
            return False
        rules = self._known_robots(str(target))
        if rules is None:
            # The origin's rules were checked for the URL asked, or are absent.
            return _origin(target) != _origin(current)
        if rules.unreadable is not None:
            raise _unreadable_robots(source_id, url, _origin(target), rules.unreadable)
        if not rules.allows(str(target)):
            raise FetchError(
                source_id,
                url,
                kind=ErrorKind.ROBOTS,
                message=f"redirected to {str(target)[:200]}, which the robots.txt of "
                f"{_origin(target)} does not allow us (ask the site to allow the user agent "
                "'revier-feed')",
            )
        return False

    def _transport_for(self, url: httpx.URL) -> httpx.AsyncBaseTransport:
        """Our connections, or, for a URL a proxy from the environment covers, httpx's own
        transport through that proxy (NO_PROXY honoured as urllib reads it)."""
        proxy = self._proxies.get(url.scheme) or self._proxies.get("all")
        if proxy is None or urllib.request.proxy_bypass(url.host):
            return self._transport
        tls = _SOURCE_TLS.get()
        transport = self._proxy_transports.get((proxy, tls))
        if transport is None:
            # httpcore gets slow with large pools and long queues (encode/httpcore#1035):
            # the pool stays at the global limit, our own semaphores queue the rest.
            n = self.settings.max_concurrency
            transport = self._proxy_transports[proxy, tls] = httpx.AsyncHTTPTransport(
                proxy=proxy,
                verify=self._tls_context(tls),
                limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
            )
        return transport

    async def _read_capped(
        self, source_id: str, url: str, response: httpx.Response, keep_first: int | None = None
    ) -> bytes:
        cap = self.settings.max_body_bytes
        declared = response.headers.get("content-length", "")
        if keep_first is None and declared.isdecimal() and int(declared) > cap:
            raise _too_large(source_id, url, cap, response.status_code)
        chunks = []
        size = 0
        # Decoded bytes, in bounded steps: a small gzip bomb is cut here too, early.
        try:
            # robots.txt's first bytes are read whatever the cap (keep_first).
            async for chunk in decoded(response, max_raw=max(cap, keep_first or 0)):
                size += len(chunk)
                chunks.append(chunk)
                if keep_first is not None:
                    if size >= keep_first:
                        return b"".join(chunks)[:keep_first]
                elif size > cap:
                    raise _too_large(source_id, url, cap, response.status_code)
        except RawTooLarge:
            raise _too_large(source_id, url, cap, response.status_code) from None
        return b"".join(chunks)

    # --- robots.txt ----------------------------------------------------------------------

    async def _check_robots(
        self, source_id: str, url: str, defer_since: float | None = None
    ) -> None:
        robots = await self._robots_for(url, defer_since)
        if robots.unreadable is not None:
            raise _unreadable_robots(
                source_id, url, _origin(url), robots.unreadable, not_now=robots.not_now
            )
        if not robots.allows(url):
            raise FetchError(
                source_id,
                url,
                kind=ErrorKind.ROBOTS,
                message=f"robots.txt of {_origin(url)} does not allow us this URL "
                "(ask the site to allow the user agent 'revier-feed')",
            )

    async def _robots_for(self, url: str, defer_since: float | None = None) -> _Robots:
        """The rules of ``url``'s origin, read once per cycle (or from the cache).

        Raises:
            Deferred: ``defer_since``, and the host gives the robots.txt request no turn now
                (a pause it asked for): the source is not asked either, so not failed.
        """
        robots = self._known_robots(url)
        if robots is None:
            origin = _origin(url)
            key = (origin, _SOURCE_TLS.get())
            lock = self._robots_locks.setdefault(key, asyncio.Lock())
            async with lock:  # one robots.txt request per origin, however many sources
                robots = self._robots.get(key)
                if robots is None:
                    loaded = await self._load_robots(origin, defer_since)
                    if loaded.not_now:
                        # Not the cycle's rules: the host's other sources wait out the pause
                        # that answer set, unasked, as for any pause.
                        return loaded
                    robots = self._use_robots(url, loaded, fetched=True)
        return robots

    def _known_robots(self, url: str) -> _Robots | None:
        """The rules of ``url``'s origin if this cycle or the cache has them (no request)."""
        origin = _origin(url)
        robots = self._robots.get((origin, _SOURCE_TLS.get()))
        if robots is None:
            cached = self._robots_cache.get(origin) if self._robots_cache else None
            if (
                cached is not None
                and cached.status < _UNREADABLE
                and self._now() - cached.fetched_at < ROBOTS_TTL
            ):
                robots = self._use_robots(url, _Robots(cached.status, cached.body))
        return robots

    def _use_robots(self, url: str, robots: _Robots, fetched: bool = False) -> _Robots:
        """Take ``robots`` as the rules of ``url``'s origin for this cycle; ``fetched``:
        read from the site now, not from the cache (said once a day, not every cycle)."""
        self._robots[_origin(url), _SOURCE_TLS.get()] = robots
        delay = robots.crawl_delay()
        if delay:
            # A worker defers sources whose turn is far off; a command would wait for it.
            most = MAX_CRAWL_DELAY if self._max_turn_wait is None else MAX_HONOURED_CRAWL_DELAY
            if delay > most and fetched:
                log.warning(
                    "robots.txt of %s asks for %g s between requests; keeping %g s between "
                    "them (the most revier-feed keeps to%s)",
                    _origin(url),
                    delay,
                    most,
                    " when it waits for its turns, as `run --once` does"
                    if self._max_turn_wait is None
                    else "",
                )
            self._host(url).crawl_delay = min(delay, most)
        return robots

    async def _load_robots(self, origin: str, defer_since: float | None = None) -> _Robots:
        """``origin``'s robots.txt as RFC 9309 reads its answer: 2xx are the rules, 4xx
        (and too many redirects) mean no rules, and a robots.txt that cannot be read (5xx,
        no answer) means nothing may be fetched, unless a copy read before is known; after
        :data:`ROBOTS_UNREADABLE_FOR` of that, the site counts as having none. A copy
        read before is asked for with its validators: a 304 keeps it for another day."""
        cached = self._robots_cache.get(origin) if self._robots_cache else None
        known = cached if cached is not None and 200 <= cached.status < 300 else None
        try:
            result = await self._robots_request(origin, known, defer_since)
        except FetchError as e:
            status = e.status_code
            # 429 is a 4xx, but "not now" rather than "there is none" (so Google reads it
            # too); and the pause may be our own, after another origin of the host said so.
            # A robots.txt behind a redirect to an address the site may not lead us to is
            # unavailable as one behind too many redirects is (RFC 9309 2.3.1.2).
            if e.kind is ErrorKind.PRIVATE and e.at is None:
                # The origin itself, for this source: no answer of the site's to remember.
                raise
            if (status is not None and 400 <= status < 500 and status != 429) or (
                e.kind in (ErrorKind.REDIRECT, ErrorKind.PRIVATE)
            ):
                robots = _Robots(status or 404, "")
                self._remember(origin, robots)
                return robots
            if e.kind is ErrorKind.EMPTY and status == 304 and known is not None:
                # A 304 to a request without validators (a broken cache in front; a copy
                # stored before validators were kept has none): the copy is still the file.
                robots = _Robots(known.status, known.body)
                self._remember(origin, robots, known.etag, known.last_modified)
                return robots
            if isinstance(e.__cause__, UnsupportedCoding):
                # Its bytes were read as text before, and gave no rules; no reason to keep
                # the whole site back now that they are known to be unreadable.
                robots = _Robots(status or 200, "")
                self._remember(origin, robots)
                return robots
            if e.kind is ErrorKind.EMPTY and status is not None and status < 400:
                robots = _Robots(status, "")  # an empty file (or a 304 unasked): no rules
                self._remember(origin, robots)
                return robots
            if cached is not None and cached.status < _UNREADABLE:
                asked_to_wait = e.kind is ErrorKind.HTTP_429 or e.retry_after is not None
                if defer_since is not None and asked_to_wait and self._paused_beyond_wait(origin):
                    # "Not now" for the whole site (a 429, a 503 with Retry-After). With the
                    # copy, the source's own request met the pause this answer set and was
                    # left for later, unasked and not failed: at every cycle for as long as
                    # the site said so, and the source looked healthy (a soak probe, session
                    # 33). It fails with the answer now, which schedules its next try.
                    return _Robots(_UNREADABLE, "", unreadable=e, not_now=True)
                log.info(
                    "robots.txt of %s could not be read (%s); using the copy of %s",
                    origin,
                    e,
                    cached.fetched_at.date(),
                )
                return _Robots(cached.status, cached.body)
            since = cached.fetched_at if cached is not None else self._now()
            if self._now() - since > ROBOTS_UNREADABLE_FOR:
                log.info(
                    "robots.txt of %s has not been readable since %s (%s): fetching as if the "
                    "site had none (RFC 9309)",
                    origin,
                    since.date(),
                    e,
                )
                return _Robots(200, "")
            if cached is None:  # remembered from its first failure on: "since when"
                self._remember(origin, _Robots(_UNREADABLE, ""))
            return _Robots(_UNREADABLE, "", unreadable=e)
        if isinstance(result, NotModified):
            assert known is not None  # a 304 to a request without validators is an error
            robots = _Robots(known.status, known.body)
            self._remember(origin, robots, result.etag, result.last_modified)
            return robots
        robots = _Robots(200, result.content.decode("utf-8", errors="replace"))
        self._remember(origin, robots, result.etag, result.last_modified)
        return robots

    async def _robots_request(
        self, origin: str, known: RobotsCopy | None, defer_since: float | None = None
    ) -> FetchResult | NotModified:
        """GET robots.txt (conditionally, with the validators of a ``known`` copy), retried
        like a source; a redirect elsewhere is read without asking that origin's
        robots.txt; only its first :data:`MAX_ROBOTS_BYTES` are read."""
        headers = {}
        if known is not None and known.etag:
            headers["If-None-Match"] = known.etag
        if known is not None and known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
        return await self._retried(
            lambda attempt: self._attempt(
                "robots.txt",
                origin + "/robots.txt",
                headers,
                robots=False,
                keep_first=MAX_ROBOTS_BYTES,
                defer_since=None if attempt else defer_since,
            )
        )

    def _remember(
        self,
        origin: str,
        robots: _Robots,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        if self._robots_cache is not None:
            copy = RobotsCopy(self._now(), robots.status, robots.body, etag, last_modified)
            self._robots_cache.put(origin, copy)


def _origin(url: str | httpx.URL) -> str:
    """``scheme://host[:port]`` as requests name it (IDNA, lower case, no default port, no
    user name): what a robots.txt covers."""
    if isinstance(url, httpx.URL):
        return f"{url.scheme}://{url.netloc.decode('ascii')}"
    return _origin_of(url)


# Parsing a URL the way httpx does costs about 12 µs; a cycle asks for the same few hundred
# sources' hosts and origins several times each.
@functools.lru_cache(maxsize=4096)
def _origin_of(url: str) -> str:
    try:
        return _origin(httpx.URL(url))
    except (httpx.InvalidURL, UnicodeError):  # fails as a request in its turn
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}".lower()


@functools.lru_cache(maxsize=4096)
def host_name(url: str) -> str:
    """The host as requests name it: "münchen.example" and its IDNA spelling are one."""
    try:
        return httpx.URL(url).raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError):
        return (urlsplit(url).hostname or "").lower()


def _location(response: httpx.Response) -> str | None:
    """The first ``Location`` of a response. Bytes that are no UTF-8 (a Latin-1 file name
    of an old IIS or Apache: ``/Stra\\xdfe.xml``) are percent-encoded as they came, as curl
    does: decoded as Latin-1 and encoded again as UTF-8 they asked for another file."""
    for name, value in response.headers.raw:
        if name.lower() == b"location":
            try:
                return value.decode()
            except UnicodeDecodeError:
                return quote(value, safe=bytes(range(0x21, 0x7F)))
    return None


#: A page's refresh to another address within this many seconds is a redirect; a longer
#: one leaves time to read the page (and a news page's own refresh reloads it).
REFRESH_AS_REDIRECT = 10


#: The request headers of a conditional request.
_VALIDATORS = frozenset({"If-None-Match", "If-Modified-Since"})


def _by_refresh(error: FetchError, page: httpx.URL, refresh: Refresh) -> FetchError:
    """``error`` of where a page's refresh leads, said to come of that refresh: an admin
    asking the page with curl sees a 200."""
    by = "Refresh header" if refresh.by_header else '<meta http-equiv="refresh">'
    return FetchError(
        error.source_id,
        error.url,
        kind=error.kind,
        message=f"{error} (where the {by} of {str(page)[:200]} leads)",
        status_code=error.status_code,
        retry_after=error.retry_after,
        at=error.at,
    )


def _permanent(redirects: list[int], target: httpx.URL) -> str | None:
    """Where the request ended, if it got there by permanent redirects (301/308) only."""
    if redirects and all(status in _PERMANENT_REDIRECTS for status in redirects):
        return str(target)
    return None


def _duration(seconds: float) -> str:
    """``seconds`` as an admin reads a wait: "40 s", "12 min", "2 h 5 min"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _environment_proxies() -> dict[str, str]:
    """The proxies of HTTP_PROXY, HTTPS_PROXY and ALL_PROXY, by scheme ("all" for any)."""
    found = urllib.request.getproxies()
    return {scheme: found[scheme] for scheme in ("http", "https", "all") if found.get(scheme)}


@dataclass(slots=True)
class HostTurns:
    """When a host may next be asked (``time.monotonic``): after its Crawl-delay, after a
    pause it asked for (429, Retry-After)."""

    next_start: float = 0.0
    paused_until: float = 0.0

    def over(self, now: float) -> bool:
        """Whether neither holds any more (the host may be forgotten)."""
        return self.next_start <= now and self.paused_until <= now

    def on_clock(self) -> tuple[datetime, datetime]:
        """(next start, end of the pause) on this machine's wall clock: how they outlast
        the process (the monotonic clock starts anew with each boot). The real clock, not
        a cycle's (tests set that): turns are waited for in real time."""
        now, left = datetime.now(UTC), time.monotonic()
        return (
            now + timedelta(seconds=max(0.0, self.next_start - left)),
            now + timedelta(seconds=max(0.0, self.paused_until - left)),
        )

    @classmethod
    def from_clock(cls, next_start: datetime, paused_until: datetime) -> Self:
        """What :meth:`on_clock` gave, back on the monotonic clock. Capped at the longest
        Crawl-delay and pause a host gets, so that a clock set back (or a stored time far
        ahead) does not hold a host back for longer."""
        now, at = datetime.now(UTC), time.monotonic()
        start = min((next_start - now).total_seconds(), MAX_HONOURED_CRAWL_DELAY)
        pause = min((paused_until - now).total_seconds(), MAX_HOST_PAUSE.total_seconds())
        return cls(next_start=at + max(0.0, start), paused_until=at + max(0.0, pause))


class _Host:
    """Per-host limits of one cycle: concurrency, a crawl delay when robots.txt asks for
    one, and its turns (kept across cycles by whoever passes them in)."""

    def __init__(self, semaphore: asyncio.Semaphore, turns: HostTurns) -> None:
        self.semaphore = semaphore
        self.crawl_delay = 0.0
        self.turns = turns
        #: Requests waiting for one of the host's slots.
        self.queued = 0
        #: A request of this cycle had a connection to the host and timed out.
        self.timed_out = False


def _turns(host: _Host) -> bool:
    """Whether requests to ``host`` take turns: it asks for a Crawl-delay, or a turn taken
    under one is still ahead (robots.txt, read anew each day before its Crawl-delay is
    known this cycle, was asked at once)."""
    return bool(host.crawl_delay) or host.turns.next_start > time.monotonic()


async def _sleep(seconds: float) -> float:
    """Sleep ``seconds``; how long it took."""
    started = time.monotonic()
    await asyncio.sleep(seconds)
    return time.monotonic() - started


def _waited_for_turn(seconds: float) -> None:
    waits = TURN_WAITS.get()
    if waits is not None:
        waits.append(seconds)


def _defer_if_silent(host: _Host, url: str, may_defer: bool, timeout: float) -> None:
    """A host that let a request of this cycle time out gets no more of its sources' first
    requests in it: a host that accepts connections and never answers held every other
    source's news back until each of its sources had timed out, in turns of its slots
    (8 sources, 2 slots, 3 attempts of 30 s: 6 minutes). They are asked next cycle."""
    if may_defer and host.timed_out:
        raise SilentHost(
            f"{urlsplit(url).hostname} let a request time out in this cycle ({timeout:g} s, "
            "fetch.timeout); not asked again before the next"
        )


class _HostPaused(Exception):
    """The host asked for a pause longer than a request waits in a cycle."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class _Robots:
    """One origin's robots.txt (what the cache keeps) and its rules for us."""

    def __init__(
        self,
        status: int,
        body: str,
        unreadable: FetchError | None = None,
        not_now: bool = False,
    ) -> None:
        self.status = status
        self.body = body
        #: Why it could not be read, when nothing may be fetched for that reason.
        self.unreadable = unreadable
        #: ``unreadable`` is the site's "not now" (a pause longer than a cycle waits), not
        #: a fault of the file: it concerns the source that asked, and only it.
        self.not_now = not_now
        self._rules = RobotsRules(body, ROBOTS_AGENT)

    def allows(self, url: str) -> bool:
        return self.unreadable is None and self._rules.allows(url)

    def crawl_delay(self) -> float | None:
        return self._rules.crawl_delay


def _unreadable_robots(
    source_id: str, url: str, origin: str, error: FetchError, *, not_now: bool = False
) -> FetchError:
    """The source's error when its site's robots.txt cannot be read: of that failure's
    kind (the site is down, most likely), saying that nothing was fetched for it;
    ``not_now``: the site asked for a pause (the copy read before would do)."""
    if error.kind is ErrorKind.TLS:
        # The site's TLS is the problem, and the same for every URL: robots.txt, the first
        # one asked, only names where it was met (the message names a redirect's target).
        met = "" if error.at else f" (met at {origin}/robots.txt, the site's first request)"
        return FetchError(source_id, url, kind=error.kind, message=f"{error.message}{met}")
    return FetchError(
        source_id,
        url,
        kind=error.kind,
        status_code=error.status_code,
        retry_after=error.retry_after,  # the site's own wish schedules the source's next try
        message=f"{error.message}, asking for {origin}/robots.txt; "
        + (
            "nothing is asked of the site before the pause it asked for is over"
            if not_now
            else "nothing is fetched from a site before its robots.txt can be read (RFC "
            "9309); asked again when the source is next due"
        ),
    )


def _validator(value: str | None) -> str | None:
    """A validator we can send back: a non-ASCII ETag could not be encoded in the next
    request's headers, so it is dropped (the source is then fetched unconditionally)."""
    return value if value and value.isascii() and value.isprintable() else None


def _too_large(source_id: str, url: str, cap: int, status: int) -> FetchError:
    return FetchError(
        source_id,
        url,
        kind=ErrorKind.TOO_LARGE,
        status_code=status,
        message=f"the response is larger than the limit of {cap:,} bytes "
        "(raise fetch.max_body_size if this source is legitimately this big)",
    )


async def _drain_small(response: httpx.Response) -> None:
    """Read a small error page to its end, so that its connection is kept for the host's
    next source (or this one's retry) instead of paying a new connection and TLS handshake.
    Raw bytes, not decoded: a compressed page cannot grow here. Larger or unannounced
    bodies are left unread and their connection closed."""
    declared = response.headers.get("content-length", "")
    if not (declared.isdecimal() and int(declared) <= _DRAIN_LIMIT):
        return
    # The status is the error to report (or the redirect to follow), also when the body
    # never comes: a Content-Length beyond what the server sends left the request to wait
    # out its whole time, and a 410 was reported as a timeout. Cut short, the body is left
    # unread and its connection closed with the response.
    with contextlib.suppress(httpx.HTTPError, TimeoutError):
        async with asyncio.timeout(_DRAIN_SECONDS):
            async for _ in response.aiter_raw():
                pass


def _authorization(source_id: str, url: str, auth: SourceAuth) -> str:
    """The ``Authorization`` header of ``auth``, its secrets read from the environment.

    Raises:
        FetchError: a variable is not set, is empty, or holds what no header can carry; the
            message names the variable only.
    """
    names = [auth.token_env] if auth.token_env else [auth.username_env, auth.password_env]
    values = []
    for name in names:
        assert name is not None, "checked with the configuration"
        value = os.environ.get(name)
        problem = _unusable(value, user=name == auth.username_env, token=bool(auth.token_env))
        if problem is not None or value is None:
            raise FetchError(
                source_id,
                url,
                kind=ErrorKind.LOGIN,
                message=f"the source's login was not sent: the environment variable {name} "
                f"{problem}; set it to the secret alone in the worker's environment (a "
                "shell's variable must be exported; the secret never goes into YAML)",
            )
        values.append(value)
    if auth.token_env:
        return f"Bearer {values[0]}"
    pair = f"{values[0]}:{values[1]}".encode()  # RFC 7617: UTF-8
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _unusable(value: str | None, *, user: bool, token: bool) -> str | None:
    """Why ``value`` cannot go into a login's header, or None."""
    if value is None:
        return "is not set"
    if not value:
        return "is empty"
    if any(c < " " or c == "\x7f" for c in value):
        return "holds a line break or another control character"
    if user and ":" in value:
        return "holds a ':', which no Basic login's user name can"
    if token and not value.isascii():
        return "holds characters outside ASCII, which no header carries"
    if token and value.lower().startswith("bearer "):
        return 'begins with "Bearer ", which revier-feed writes itself'
    if token and any(c.isspace() for c in value):
        return "holds a blank, which no token has (one copied with a space at its end?)"
    return None


def _raise_for_status(
    source_id: str,
    url: str,
    response: httpx.Response,
    now: datetime,
    redirected_to: str | None = None,
) -> None:
    """Raise the FetchError for an error status (400 and above); ``redirected_to`` is the
    URL that answered, when the source's own redirected there (the one to check)."""
    code = response.status_code
    retry_after = _retry_after(response.headers.get("retry-after"), now)
    if code == 410:
        kind, text = (
            ErrorKind.GONE,
            (
                "the server says the feed is gone for good (HTTP 410); not fetched again until "
                "its url is changed in sources.yaml, or `revier-feed sources retry` asks again"
            ),
        )
    elif code == 429:
        kind, text = ErrorKind.HTTP_429, "the server asks us to slow down (HTTP 429)"
    elif code >= 500:
        kind, text = ErrorKind.HTTP_5XX, f"server error (HTTP {code})"
    else:
        kind, text = ErrorKind.HTTP_4XX, f"HTTP {code} {_reason(code, response)}".strip()
        if code == 401:
            text += _login_asked(response)
        elif code == 403 and "authorization" in response.request.headers:
            text += (
                ": access denied to the source's login (check the values of its auth variables)"
            )
        elif code == 403 and (firewall := _firewall_in_front(response)):
            text += (
                f" (through {firewall}): access denied by the site or the firewall in front of "
                f"it, which may block crawlers; {FIREWALL_HINT}"
            )
        elif code == 403:
            text += (
                ": access denied, the site may block crawlers (a source's `user_agent` is for "
                "a site that refuses programs it does not know)"
            )
        elif code == 404:
            text += ": check the URL"
    if redirected_to is not None:
        text += f" (answered by {redirected_to[:200]}, where the source's URL redirects)"
    raise FetchError(
        source_id, url, kind=kind, message=text, status_code=code, retry_after=retry_after
    )


def _login_asked(response: httpx.Response) -> str:
    """What a 401 means for the source: its login refused, or none given, or not sent there
    (another origin), or asked of a kind revier-feed does not send (Digest, NTLM)."""
    schemes = {
        scheme.lower()
        for value in response.headers.get_list("www-authenticate")
        for scheme in _CHALLENGE_SCHEME.findall(value)
    }
    if schemes and not schemes & {"basic", "bearer"}:
        kinds = ", ".join(sorted(visible(s[:20]) for s in schemes)[:3])
        return (
            f": the site asks for a login of a kind revier-feed does not send ({kinds}; only "
            "Basic and bearer tokens)"
        )
    if "authorization" in response.request.headers:
        return ": the site refused the source's login (check the values of its auth variables)"
    login = _LOGIN.get()
    if login is not None:
        return (
            f": the source's login was not sent to {_origin(response.request.url)}, which is not "
            "the origin of its URL (a redirect or link led there; write the address that "
            "answers into sources.yaml if the site moved)"
        )
    return (
        ": the site asks for a login (give the source an auth block, see docs/config.md, "
        '"Sources behind a login")'
    )


def _raise_for_bot_check(source_id: str, url: str, response: httpx.Response) -> None:
    """Raise a ``blocked`` FetchError for an answer a firewall marks as its bot check (a
    page whose script only a browser runs), whatever its status: Cloudflare answers 403
    or 503 with it, AWS WAF 202, and read as the site's, the check's page was taken for
    a feed that is none or a listing whose layout changed."""
    for header, firewall in _CHALLENGE_HEADERS:
        if header in response.headers:
            raise FetchError(
                source_id,
                url,
                kind=ErrorKind.BLOCKED,
                status_code=response.status_code,
                message=f"HTTP {response.status_code}: {firewall}'s bot check, which lets "
                f"through only browsers that run its script; {FIREWALL_HINT}",
            )


#: Headers a firewall sets on the bot check it answers with instead of the site.
_CHALLENGE_HEADERS = (("cf-mitigated", "Cloudflare"), ("x-amzn-waf-action", "AWS WAF"))


def _firewall_in_front(response: httpx.Response) -> str | None:
    """The firewall or bot protection in front of the site that answered, as its headers
    name it (a 403 passed through it may be the site's own or the firewall's)."""
    for server in response.headers.get_list("server"):
        for mark, name in _FIREWALL_SERVERS:
            if server.strip().lower().startswith(mark):
                return name
    for header, name in _FIREWALL_HEADERS:
        if header in response.headers:
            return name
    return None


_FIREWALL_SERVERS = (
    ("cloudflare", "Cloudflare"),
    ("ddos-guard", "DDoS-Guard"),
    ("akamaighost", "Akamai"),
    ("sucuri", "Sucuri"),
)
_FIREWALL_HEADERS = (("x-sucuri-id", "Sucuri"), ("x-iinfo", "Imperva"))


#: An auth scheme in a WWW-Authenticate header: a token at the start or after a comma,
#: not followed by "=" (which makes it a parameter: realm="…").
_CHALLENGE_SCHEME = re.compile(r"(?:^|,)\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?=\s+[^\s=,]|\s*(?:,|$))")


def _reason(code: int, response: httpx.Response) -> str:
    """The status's standard name; the server's own words only for a status without one,
    and short: they go into the admin's digest, where a site could write a whole page."""
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        words = " ".join(response.reason_phrase.split())
        return words if len(words) <= _MAX_REASON else words[: _MAX_REASON - 1] + "…"


#: The longest reason phrase of a server's quoted in an error.
_MAX_REASON = 60


def fresh_for(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds a response stays fresh from now (RFC 9111 4.2): its lifetime (Cache-Control's
    max-age, else Expires less Date) less the Age a cache in front put on it; 0 for
    ``no-cache``/``no-store`` or what cannot be read (an Expires of "0" or "-1", or without
    its zone, means already stale); None when it says nothing, or gives a lifetime of more
    than :data:`MAX_LIFETIME`: a server's rule for its static files ("expires 30d"), not a
    word about a feed."""
    control = headers.get("cache-control")
    lifetime = None
    if control:
        directives = [part.strip().lower() for part in control.split(",")]
        if "no-cache" in directives or "no-store" in directives:
            return 0.0
        for directive in directives:
            name, _, value = directive.partition("=")
            if name.strip() == "max-age":
                lifetime = _seconds(value.strip().strip('"'))
                if lifetime is None:
                    return 0.0
                break
    if lifetime is None:
        lifetime = _expires_in(headers, now)
        if lifetime is None:
            return None
    if lifetime > MAX_LIFETIME.total_seconds():
        return None
    return max(0.0, lifetime - (_seconds((headers.get("age") or "").split(",")[0]) or 0.0))


#: A longer lifetime says nothing of a feed (see :func:`fresh_for`).
MAX_LIFETIME = timedelta(days=1)


def _seconds(value: str) -> float | None:
    """Delta-seconds (RFC 9111 1.2.2): ASCII digits, a larger value read as 2^31."""
    value = value.strip()
    return float(min(int(value), 2**31)) if value.isascii() and value.isdigit() else None


def _expires_in(headers: Mapping[str, str], now: datetime) -> float | None:
    """Expires less Date (the server's clock, so that its skew does not count), or less
    ``now`` without a Date; None without Expires."""
    expires = headers.get("expires")
    if not expires:
        return None
    until = _http_date(expires)
    if until is None:
        return 0.0
    at = _http_date(headers.get("date") or "") or now
    return max(0.0, (until - at).total_seconds())


def _http_date(value: str) -> datetime | None:
    """An HTTP date (RFC 9110 5.6.7) in any of its three forms, or None: the preferred
    "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850's and C's asctime() "Sun Nov  6 08:49:37
    1994", which names no zone but is in GMT; another date without its zone is none."""
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC) if _ASCTIME.fullmatch(value.strip()) else None
    return when


_ASCTIME = re.compile(r"[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d\d:\d\d:\d\d \d{4}")


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    # isdecimal, not isdigit: float() reads no "²", which a broken server may send.
    if value.isdecimal():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


@contextlib.contextmanager
def _wrap_exceptions(
    source_id: str, url: str, limit: float, sent: list[httpx.Request]
) -> Iterator[None]:
    try:
        yield
    except FetchError:
        raise
    except TimeoutError:
        # Without the cause: its text ("TimeoutError") said nothing the message does not.
        raise FetchError(
            source_id,
            url,
            kind=ErrorKind.TIMEOUT,
            message=f"no complete answer within {limit:g} s (fetch.timeout)",
        ) from None
    except httpx.TimeoutException as e:
        raise FetchError(
            source_id, url, kind=ErrorKind.TIMEOUT, message="the server did not answer in time"
        ) from e
    except PrivateAddress as e:
        at = str(sent[-1].url) if sent and _origin(sent[-1].url) != _origin(url) else None
        text = _private_message(e.host, e.address, url if at else None)
        raise FetchError(source_id, url, kind=ErrorKind.PRIVATE, message=text, at=at) from e
    except httpx.ConnectError as e:
        kind, text = _classify_connect_error(e)
        # The site a redirect led to is the one that could not be reached (or whose TLS
        # failed), not the one asked.
        at = str(sent[-1].url) if sent and _origin(sent[-1].url) != _origin(url) else None
        if at is not None:
            text = f"{text} (at {at}, where {url} redirects)"
        raise FetchError(source_id, url, kind=kind, message=text, at=at) from e
    except Truncated as e:
        raise FetchError(
            source_id,
            url,
            kind=ErrorKind.CONNECT,
            message="the compressed answer stopped before its end (the connection was cut, "
            "or the server's gzip broke off); nothing of it was kept",
        ) from e
    except UnsupportedCoding as e:
        raise FetchError(
            source_id,
            url,
            kind=ErrorKind.CONNECT,
            message="the server compressed its answer in a way that was not asked for "
            "(Accept-Encoding: gzip, deflate) and cannot be read (not asked again: the same "
            "answer would come)",
        ) from e
    except httpx.DecodingError as e:
        raise FetchError(
            source_id,
            url,
            kind=ErrorKind.CONNECT,
            message="the response could not be decompressed (broken gzip/deflate)",
        ) from e
    except MalformedHead as e:
        raise FetchError(
            source_id,
            url,
            kind=ErrorKind.CONNECT,
            message="the server's answer is not valid HTTP/1.1 (not asked again: the same "
            "answer would come)",
        ) from e
    except httpx.LocalProtocolError:
        # Without the cause: h11 quotes the header value it refused, which may be a login.
        raise FetchError(
            source_id,
            url,
            kind=ErrorKind.CONNECT,
            message="the request could not be written (a header value HTTP does not allow)",
        ) from None
    except httpx.RemoteProtocolError as e:
        raise FetchError(
            source_id,
            url,
            kind=ErrorKind.CONNECT,
            message="the server broke the HTTP protocol (connection closed mid-answer?)",
        ) from e
    except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as e:
        raise FetchError(
            source_id, url, kind=ErrorKind.CONNECT, message="the connection failed"
        ) from e


def _private_message(host: str, address: str, redirected_from: str | None) -> str:
    """Why a request to ``host`` at ``address`` was not made."""
    where = f" (where {redirected_from} leads)" if redirected_from else ""
    at = "" if host == address else f" at {address},"
    return (
        f"{host}{where} is{at} not a public address (private, loopback, link-local or "
        "reserved): a source may "
        "reach one only where its own URL names it by address, so nothing was asked "
        f"(hint: if {host} is meant, add it to fetch.private_hosts in settings.yaml)"
    )


def _network(host: str) -> Network | None:
    """The network a ``private_hosts`` entry names ("10.0.0.0/8", "192.168.1.5"), or None
    for a host name."""
    try:
        return ipaddress.ip_network(host.strip("[]"), strict=False)
    except ValueError:
        return None


def _home_host(url: str) -> str | None:
    """The host of a source's own URL if it may be at a private address: written as an
    address, or "localhost". A name is not: its owner could point it at one (at
    169.254.169.254, a cloud's metadata) and have the answer published; intranet names go
    into ``private_hosts``."""
    try:
        host = httpx.URL(url).host
    except (httpx.InvalidURL, UnicodeError):
        return None
    return host if is_address(host) or host == "localhost" or host.endswith(".localhost") else None


def _classify_connect_error(error: httpx.ConnectError) -> tuple[ErrorKind, str]:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return ErrorKind.TLS, _tls_problem(cause, _SOURCE_TLS.get())
        if isinstance(cause, HandshakeCut):
            return ErrorKind.TLS, _handshake_cut(cause, _SOURCE_TLS.get())
        cause = cause.__cause__ or cause.__context__
    text = str(error).lower()
    if any(marker in text for marker in _DNS_FAILURES):
        return ErrorKind.DNS, "the host name could not be resolved (check the URL)"
    return ErrorKind.CONNECT, "could not connect to the server"


# OpenSSL's verify codes (X509_V_ERR_*) for a chain that ends at no trusted authority, for
# a self-signed certificate, and for a certificate of other names.
_UNKNOWN_ISSUER = frozenset({2, 20, 21})
_SELF_SIGNED = frozenset({18, 19})
_OTHER_NAME = frozenset({62, 64})
# ... and for a certificate with a key or signature too weak for OpenSSL's default level.
_WEAK_CERTIFICATE = frozenset({66, 67, 68})
# OpenSSL's reasons for a handshake that only the TLS of before 1.2 would make, for one that
# only weak keys or ciphers would, and for an answer that is not TLS at all.
_OLD_PROTOCOL = frozenset(
    {"TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS_AVAILABLE"}
)
_WEAK_CRYPTO = frozenset(
    {
        "NO_SHARED_CIPHER",
        "NO_CIPHERS_AVAILABLE",
        "DH_KEY_TOO_SMALL",
        "TLSV1_ALERT_INSUFFICIENT_SECURITY",
    }
)
# Alerts a server sends when it wants a client certificate (TLS 1.2 sends the generic one).
_CLIENT_CERTIFICATE = frozenset({"TLSV13_ALERT_CERTIFICATE_REQUIRED"})
_GENERIC_REFUSAL = "SSLV3_ALERT_HANDSHAKE_FAILURE"
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST"})


def _tls_problem(error: ssl.SSLError, tls: SourceTls | None) -> str:
    """What went wrong in a TLS handshake, in words, with what the admin can do about it:
    the certificate problems German public sites have (a chain without its intermediate,
    which browsers fetch themselves; a certificate of the site's own) and old servers."""
    trusted = tls is not None and tls.ca_file is not None
    legacy = tls is not None and tls.legacy
    if isinstance(error, ssl.SSLCertVerificationError):
        code, said = error.verify_code, error.verify_message or "refused"
        if code in _UNKNOWN_ISSUER:
            if trusted:
                return (
                    f"the site's certificate leads to no trusted authority ({said}), "
                    "even with the certificates of the source's tls.ca_file (put the site's "
                    "missing intermediate certificate there, or its own)"
                )
            return (
                f"the site's certificate leads to no trusted authority ({said}); most "
                "often the site leaves out its intermediate certificate, which browsers "
                "fetch themselves (ask the site to send its whole chain; meanwhile save the "
                "missing certificate as PEM and name it in the source's tls.ca_file)"
            )
        if code in _SELF_SIGNED:
            if trusted:
                return (
                    f"the site's certificate is signed by itself or by an authority of its "
                    f"own ({said}), and is not the one in the source's tls.ca_file (did the "
                    "site renew it? save the new one there)"
                )
            return (
                f"the site's certificate is signed by itself or by an authority of its "
                f"own ({said}) (if you know it is the site's, save it as PEM and name it in "
                "the source's tls.ca_file)"
            )
        if code in _WEAK_CERTIFICATE and not legacy:
            return (
                f"the site's certificate has a key or signature too weak for the default "
                f"({said}) (set tls.legacy: true on the source to accept it)"
            )
        if code == 10:
            return (
                "the site's certificate has expired (its operator must renew it; the "
                "source is asked again when due)"
            )
        if code == 9:
            return "the site's certificate is not valid yet (check this machine's clock)"
        if code in _OTHER_NAME:
            return f"{said.rstrip('.')} (check the URL's host name: with or without www.?)"
        return f"the site's certificate was refused ({said})"
    reason = error.reason or ""
    if reason == "UNSAFE_LEGACY_RENEGOTIATION_DISABLED" and not legacy:
        return (
            "the server knows only the renegotiation of before 2010, which is refused by "
            "default (set tls.legacy: true on the source to accept it)"
        )
    if reason in _OLD_PROTOCOL and not legacy:
        return (
            f"the server offers only TLS versions before 1.2 ({reason}), refused by "
            "default (set tls.legacy: true on the source to accept them)"
        )
    if reason in _WEAK_CRYPTO and not legacy:
        return (
            f"the handshake failed ({reason}): the server may offer only old, weak keys "
            "or ciphers (set tls.legacy: true on the source to accept them)"
        )
    if reason in _CLIENT_CERTIFICATE:
        return (
            f"the server asks for a client certificate ({reason}), which revier-feed does "
            "not send: a site for members only?"
        )
    if reason == _GENERIC_REFUSAL:
        # What it means depends on the server: no shared cipher, no certificate for the
        # name asked, a client certificate wanted.
        hint = "" if legacy else "; if it offers only old ciphers, tls.legacy: true accepts them"
        return (
            f"the server refused the handshake ({reason}): it may want a client "
            f"certificate, which revier-feed does not send{hint}"
        )
    if reason in _NOT_TLS:
        return (
            f"the server does not speak TLS at this address ({reason}): an http site "
            "at an https URL, or the wrong port? (check the URL)"
        )
    detail = reason or str(error)
    return f"TLS handshake failed ({detail}{', with tls.legacy' if legacy else ''})"


def _handshake_cut(error: HandshakeCut, tls: SourceTls | None) -> str:
    """A handshake the server broke off without an alert: some old servers do that instead
    of saying they know no TLS version or cipher in common, and so do filters in between."""
    cut = f"the server {'reset' if error.errno else 'closed'} the connection during the TLS "
    if tls is not None and tls.legacy:
        return (
            f"{cut}handshake without saying why, also with tls.legacy: a filter in between "
            "may do that; or https is not served at this port"
        )
    return (
        f"{cut}handshake without saying why: an old server may do that instead of refusing "
        "TLS 1.2 (try tls.legacy: true), and so may a filter in between; or https is not "
        "served at this port"
    )


class TlsContexts:
    """TLS contexts by a source's ``tls`` choice (None: the default one), each kept for as
    long as the certificate files it was made from stay the same.

    A worker's fetchers share them. Made afresh by each cycle's fetcher, a context cost
    about 25 ms of CPU and some 7,000 small allocations of OpenSSL's for the CA bundle, and
    in a soak probe (session 33) the worker's heap grew by about 2 MB a minute as they were
    freed among longer-lived objects.
    """

    def __init__(self) -> None:
        self._made: dict[SourceTls | None, tuple[tuple[object, ...], ssl.SSLContext]] = {}

    def get(self, choice: SourceTls | None) -> ssl.SSLContext:
        """The context for ``choice``, made again if a file it was made from changed.

        Raises:
            OSError: a certificate file cannot be read or holds no certificates.
        """
        stamp = _certificates_stamp(choice)
        made = self._made.get(choice)
        if made is not None and made[0] == stamp:
            return made[1]
        context = _context_for(choice)
        self._made[choice] = (stamp, context)
        return context


def _certificates_stamp(choice: SourceTls | None) -> tuple[object, ...]:
    """What tells the certificate files a context is made from apart from their next
    version: the environment's choice of them, and each file's inode, size and times (a
    file copied over with its time kept, `cp -p`, still changes its inode change time)."""
    paths = [os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")]
    if choice is not None and choice.ca_file:
        paths.append(choice.ca_file)
    stamp: list[object] = []
    for path in paths:
        try:
            found = os.stat(path) if path else None
        except OSError:
            found = None
        stamp.append(
            (path, found and (found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns))
        )
    return tuple(stamp)


def _context_for(tls: SourceTls | None) -> ssl.SSLContext:
    """A TLS context with the system's (or SSL_CERT_FILE's) certificates, and a source's
    choices on top."""
    context = httpx.create_ssl_context()
    if tls is None:
        return context
    if tls.ca_file:
        context.load_verify_locations(cafile=tls.ca_file)
        # A certificate of the file is trusted as it is, also a site's own one that is not
        # self-signed (Python's default from 3.13 on).
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    if tls.legacy:
        with warnings.catch_warnings():
            # Python deprecates the old versions; the admin chose them for one old server.
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
        # Security level 0: OpenSSL 3 refuses TLS 1.0/1.1 (their SHA-1) and small keys above.
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.options |= _LEGACY_SERVER_CONNECT
    return context
