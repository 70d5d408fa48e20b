"""Fetch over HTTP as a good citizen: one client, bounded concurrency, robots.txt,
conditional GET, size caps, retries with backoff.

Every failure becomes a :class:`~revier_feed.exceptions.FetchError` with a ``kind`` from
:class:`~revier_feed.models.ErrorKind`, so callers never see an httpx exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import os
import random
import re
import ssl
import sys
import time
import urllib.request
import urllib.robotparser
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Protocol, Self
from urllib.parse import urlsplit

from ..exceptions import Cancelled, FetchError, RevierError
from ..models import ErrorKind, FetchResult, FetchSettings, NotModified

# httpx imports its own command line (click, pygments, rich's syntax and progress) whenever
# it can: about 20 ms of every start, for a tool we never run. None in sys.modules makes that
# import fail, and httpx goes on without it (its `main` then only says how to install it).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx  # noqa: E402
import sniffio  # noqa: E402

from .connections import ConnectionPools  # noqa: E402

log = logging.getLogger(__name__)

#: The product token robots.txt rules are matched against.
ROBOTS_AGENT = "revier-feed"
#: How long a robots.txt is trusted before it is fetched again.
ROBOTS_TTL = timedelta(hours=24)
#: Crawl-delay values above this are capped: a site asking for an hour between requests
#: would otherwise stall the worker.
MAX_CRAWL_DELAY = 60.0
_RETRYABLE = frozenset(
    {ErrorKind.TIMEOUT, ErrorKind.CONNECT, ErrorKind.HTTP_429, ErrorKind.HTTP_5XX}
)
_PERMANENT_REDIRECTS = frozenset({301, 308})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: Error pages up to this size are read to their end to keep the connection (_drain_small).
_DRAIN_LIMIT = 64 * 1024
_DNS_FAILURES = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated with hostname",
    "'idna' codec failed",  # a host name no resolver accepts (a label over 63 characters)
)


class RobotsCache(Protocol):
    """Where robots.txt files are remembered between cycles (the store, in production)."""

    def get(self, origin: str) -> tuple[datetime, int, str] | None: ...

    def put(self, origin: str, status: int, body: str) -> None: ...


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
    ) -> None:
        self.settings = settings
        self._should_stop = should_stop
        self._robots_cache = robots_cache
        self._now = now
        self._rng = rng or random.Random()
        self._global = asyncio.Semaphore(settings.max_concurrency)
        self._hosts: dict[str, _Host] = {}
        self._robots: dict[str, _Robots] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self._sniffed: str | None = None
        self._tls: ssl.SSLContext | None = None
        chosen = {k: v for k in ("SSL_CERT_FILE", "SSL_CERT_DIR") if (v := os.environ.get(k))}
        if chosen:
            # Certificates an admin chose are loaded now, so that a wrong path stops the
            # cycle before it starts instead of failing every https source, one by one,
            # into its backoff.
            try:
                self._tls = httpx.create_ssl_context()
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
        self._proxy_transports: dict[str, httpx.AsyncBaseTransport] = {}

    def _tls_context(self) -> ssl.SSLContext:
        # Loading the CA bundle takes ~25 ms: done on the first https request, not before
        # (plain http never needs it), and shared by all connections.
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        return self._tls

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
    ) -> FetchResult | NotModified:
        """GET ``url`` for ``source_id``, conditionally when validators are given.

        Timeouts, connection errors, 429 and 5xx are retried with exponential backoff and
        jitter (``Retry-After`` honoured) up to ``settings.retries`` times. A redirect to
        another origin is followed only if that origin's robots.txt allows the URL, and
        only if ``may_go_to`` (when given) accepts it.

        Raises:
            FetchError: on any network, HTTP, robots.txt or size problem.
            Cancelled: the worker is stopping and the request was not started.
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if self.settings.respect_robots:
            await self._check_robots(source_id, url)
        attempt = 0
        restarts = 0
        while True:
            try:
                return await self._attempt(source_id, url, headers, may_go_to)
            except _RobotsFirst as first:
                # Loaded outside the request's slot (it needs a slot of its own); then the
                # request starts again and finds the rules known. A server that redirects
                # to a new host every time would have kept this going for ever.
                restarts += 1
                if restarts > self.settings.max_redirects:
                    raise FetchError(
                        source_id,
                        url,
                        kind=ErrorKind.REDIRECT,
                        message="redirected to another new host on every request "
                        f"(last: {first.url[:200]})",
                    ) from None
                await self._robots_for(first.url)
                continue
            except FetchError as error:
                wait = self._retry_wait(error, attempt)
                if wait is None:
                    raise
                log.info("source %s: %s, retrying in %.1fs", source_id, error.kind, wait)
            # Sleeping outside the slot: a waiting retry must not block the host's others.
            await asyncio.sleep(wait)
            attempt += 1

    def _retry_wait(self, error: FetchError, attempt: int) -> float | None:
        if error.kind not in _RETRYABLE or attempt >= self.settings.retries:
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
    ) -> FetchResult | NotModified:
        async with self._slot(url):
            with _wrap_exceptions(source_id, url):
                # httpx's timeout is per network operation; this one bounds the whole request.
                async with asyncio.timeout(self.settings.timeout):
                    return await self._get(source_id, url, headers, may_go_to, robots)

    @contextlib.asynccontextmanager
    async def _slot(self, url: str) -> AsyncIterator[None]:
        host = self._host(url)
        async with host.semaphore:
            if host.crawl_delay:
                # Crawl-delay: request starts on this host at least this far apart.
                async with host.lock:
                    wait = host.next_start - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    host.next_start = time.monotonic() + host.crawl_delay
            async with self._global:
                # Checked when the request would really start, not when it was queued, so a
                # stop request skips everything still waiting for a free slot.
                if self._should_stop():
                    raise Cancelled
                yield

    def _host(self, url: str) -> _Host:
        name = (urlsplit(url).hostname or "").lower()
        host = self._hosts.get(name)
        if host is None:
            host = self._hosts[name] = _Host(asyncio.Semaphore(self.settings.max_per_host))
        return host

    async def _get(
        self,
        source_id: str,
        url: str,
        headers: dict[str, str],
        may_go_to: Callable[[str], bool] | None,
        robots: bool,
    ) -> FetchResult | NotModified:
        target = httpx.URL(url)
        redirects: list[int] = []
        while True:
            request = httpx.Request(
                "GET",
                target,
                headers={**self._headers, **headers},
                extensions={"timeout": self._timeouts},
            )
            response = await self._transport_for(target).handle_async_request(request)
            response.request = request
            try:
                location = response.headers.get("location")
                if response.status_code in _REDIRECTS and location:
                    # Small bodies are read, so the connection is kept (a redirect often
                    # stays on its host).
                    await _drain_small(response)
                    before = target
                    target = self._redirect(source_id, url, target, location, len(redirects))
                    self._may_redirect(source_id, url, before, target, may_go_to, robots)
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
                    )
                if response.status_code >= 400:
                    await _drain_small(response)
                    _raise_for_status(source_id, url, response, self._now())
                content = await self._read_capped(source_id, url, response)
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
        permanent = None
        if redirects and all(status in _PERMANENT_REDIRECTS for status in redirects):
            permanent = str(target)
        return FetchResult(
            url=str(target),
            status_code=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            content=content,
            etag=_validator(response.headers.get("etag")),
            last_modified=_validator(response.headers.get("last-modified")),
            permanent_url=permanent,
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

    def _may_redirect(
        self,
        source_id: str,
        url: str,
        current: httpx.URL,
        target: httpx.URL,
        may_go_to: Callable[[str], bool] | None,
        robots: bool,
    ) -> None:
        """Refuse a redirect the caller does not allow, or one to another origin whose
        robots.txt disallows the target (not loaded yet: :class:`_RobotsFirst`)."""
        if may_go_to is not None and not may_go_to(str(target)):
            raise FetchError(
                source_id,
                url,
                kind=ErrorKind.REDIRECT,
                message=f"redirected to {str(target)[:200]}, a host this source may not "
                "follow (see allow_hosts)",
            )
        if not (robots and self.settings.respect_robots):
            return
        rules = self._known_robots(str(target))
        if rules is None:
            if _origin(target) == _origin(current):
                return  # the origin's rules were checked for the URL asked, or are absent
            raise _RobotsFirst(str(target))
        if not rules.allows(str(target)):
            raise FetchError(
                source_id,
                url,
                kind=ErrorKind.ROBOTS,
                message=f"redirected to {str(target)[:200]}, which the robots.txt of "
                f"{_origin(target)} does not allow us (ask the site to allow the user agent "
                "'revier-feed')",
            )

    def _transport_for(self, url: httpx.URL) -> httpx.AsyncBaseTransport:
        """Our connections, or, for a URL a proxy from the environment covers, httpx's own
        transport through that proxy (NO_PROXY honoured as urllib reads it)."""
        proxy = self._proxies.get(url.scheme) or self._proxies.get("all")
        if proxy is None or urllib.request.proxy_bypass(url.host):
            return self._transport
        transport = self._proxy_transports.get(proxy)
        if transport is None:
            # httpcore gets slow with large pools and long queues (encode/httpcore#1035):
            # the pool stays at the global limit, our own semaphores queue the rest.
            n = self.settings.max_concurrency
            transport = self._proxy_transports[proxy] = httpx.AsyncHTTPTransport(
                proxy=proxy,
                verify=self._tls_context(),
                limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
            )
        return transport

    async def _read_capped(self, source_id: str, url: str, response: httpx.Response) -> bytes:
        cap = self.settings.max_body_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdecimal() and int(declared) > cap:
            raise _too_large(source_id, url, cap, response.status_code)
        chunks = []
        size = 0
        # aiter_bytes yields *decoded* bytes, so a small gzip bomb is cut here too.
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise _too_large(source_id, url, cap, response.status_code)
            chunks.append(chunk)
        return b"".join(chunks)

    # --- robots.txt ----------------------------------------------------------------------

    async def _check_robots(self, source_id: str, url: str) -> None:
        robots = await self._robots_for(url)
        if not robots.allows(url):
            raise FetchError(
                source_id,
                url,
                kind=ErrorKind.ROBOTS,
                message=f"robots.txt of {_origin(url)} does not allow us this URL "
                "(ask the site to allow the user agent 'revier-feed')",
            )

    async def _robots_for(self, url: str) -> _Robots:
        """The rules of ``url``'s origin, read once per cycle (or from the cache)."""
        robots = self._known_robots(url)
        if robots is None:
            origin = _origin(url)
            lock = self._robots_locks.setdefault(origin, asyncio.Lock())
            async with lock:  # one robots.txt request per origin, however many sources
                robots = self._robots.get(origin)
                if robots is None:
                    robots = self._use_robots(url, await self._load_robots(origin))
        return robots

    def _known_robots(self, url: str) -> _Robots | None:
        """The rules of ``url``'s origin if this cycle or the cache has them (no request)."""
        origin = _origin(url)
        robots = self._robots.get(origin)
        if robots is None:
            cached = self._robots_cache.get(origin) if self._robots_cache else None
            if cached is not None and self._now() - cached[0] < ROBOTS_TTL:
                robots = self._use_robots(url, _Robots(cached[1], cached[2]))
        return robots

    def _use_robots(self, url: str, robots: _Robots) -> _Robots:
        self._robots[_origin(url)] = robots
        delay = robots.crawl_delay()
        if delay:
            self._host(url).crawl_delay = min(delay, MAX_CRAWL_DELAY)
        return robots

    async def _load_robots(self, origin: str) -> _Robots:
        cached = self._robots_cache.get(origin) if self._robots_cache else None
        try:
            # A robots.txt redirected elsewhere is read without asking that origin's.
            result = await self._attempt("robots.txt", origin + "/robots.txt", {}, robots=False)
        except FetchError as e:
            if e.status_code is not None and 400 <= e.status_code < 500:
                # RFC 9309 2.3.1.3: an unavailable robots.txt (4xx) means no rules.
                robots = _Robots(e.status_code, "")
                self._remember(origin, robots)
                return robots
            # Unreachable (5xx, network): keep the last known rules if any; never stop a
            # source because its robots.txt is down for a moment.
            log.info(
                "robots.txt of %s unreachable (%s); using %s",
                origin,
                e.kind,
                "the cached copy" if cached else "no rules",
            )
            return _Robots(cached[1], cached[2]) if cached else _Robots(200, "")
        assert isinstance(result, FetchResult)  # no validators were sent, so no 304
        robots = _Robots(200, result.content.decode("utf-8", errors="replace"))
        self._remember(origin, robots)
        return robots

    def _remember(self, origin: str, robots: _Robots) -> None:
        if self._robots_cache is not None:
            self._robots_cache.put(origin, robots.status, robots.body)


class _RobotsFirst(Exception):
    """A redirect leads to an origin whose robots.txt has not been read yet."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def _origin(url: str | httpx.URL) -> str:
    """``scheme://host[:port]``, lower-cased: what a robots.txt covers."""
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc}".lower()


def _environment_proxies() -> dict[str, str]:
    """The proxies of HTTP_PROXY, HTTPS_PROXY and ALL_PROXY, by scheme ("all" for any)."""
    found = urllib.request.getproxies()
    return {scheme: found[scheme] for scheme in ("http", "https", "all") if found.get(scheme)}


class _Host:
    """Per-host limits: concurrency and, when robots.txt asks for it, a crawl delay."""

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self.semaphore = semaphore
        self.crawl_delay = 0.0
        self.lock = asyncio.Lock()
        self.next_start = 0.0


class _Robots:
    def __init__(self, status: int, body: str) -> None:
        self.status = status
        self.body = body
        self._parser = urllib.robotparser.RobotFileParser()
        self._parser.parse(_robots_lines(body))

    def allows(self, url: str) -> bool:
        return self._parser.can_fetch(ROBOTS_AGENT, url)

    def crawl_delay(self) -> float | None:
        delay = self._parser.crawl_delay(ROBOTS_AGENT)
        return float(delay) if delay else None


#: The values of Crawl-delay and Request-rate that the standard parser reads safely.
_ROBOTS_NUMBER = re.compile(r"[0-9]{1,6}(?:/[0-9]{1,6})?")


def _robots_lines(body: str) -> list[str]:
    """robots.txt's lines without the Crawl-delay and Request-rate lines whose values
    urllib.robotparser would fail on: it reads whatever ``str.isdigit()`` accepts with
    ``int()`` ("Crawl-delay: ²", 5,000 digits), and one such line failed every source of
    the host. Such a line is ignored, as the parser ignores "Crawl-delay: 1.5"."""
    kept = []
    for line in body.splitlines():
        key, colon, value = line.partition("#")[0].partition(":")
        if (
            colon
            and key.strip().lower() in ("crawl-delay", "request-rate")
            and not _ROBOTS_NUMBER.fullmatch(value.strip())
        ):
            continue
        kept.append(line)
    return kept


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
    with contextlib.suppress(httpx.HTTPError):  # the status is the error to report
        async for _ in response.aiter_raw():
            pass


def _raise_for_status(source_id: str, url: str, response: httpx.Response, now: datetime) -> None:
    """Raise the FetchError for an error status (400 and above)."""
    code = response.status_code
    retry_after = _retry_after(response.headers.get("retry-after"), now)
    if code == 410:
        kind, text = ErrorKind.GONE, "the server says the feed is gone for good (HTTP 410)"
    elif code == 429:
        kind, text = ErrorKind.HTTP_429, "the server asks us to slow down (HTTP 429)"
    elif code >= 500:
        kind, text = ErrorKind.HTTP_5XX, f"server error (HTTP {code})"
    else:
        kind, text = ErrorKind.HTTP_4XX, f"HTTP {code} {response.reason_phrase}".strip()
        if code in (401, 403):
            text += ": access denied, the site may block crawlers"
        elif code == 404:
            text += ": check the URL"
    raise FetchError(
        source_id, url, kind=kind, message=text, status_code=code, retry_after=retry_after
    )


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
def _wrap_exceptions(source_id: str, url: str) -> Iterator[None]:
    try:
        yield
    except FetchError:
        raise
    except TimeoutError as e:
        raise FetchError(
            source_id,
            url,
            kind=ErrorKind.TIMEOUT,
            message="no complete answer within the time limit",
        ) from e
    except httpx.TimeoutException as e:
        raise FetchError(
            source_id, url, kind=ErrorKind.TIMEOUT, message="the server did not answer in time"
        ) from e
    except httpx.ConnectError as e:
        kind, text = _classify_connect_error(e)
        raise FetchError(source_id, url, kind=kind, message=text) from e
    except httpx.DecodingError as e:
        raise FetchError(
            source_id,
            url,
            kind=ErrorKind.CONNECT,
            message="the response could not be decompressed (broken gzip/deflate)",
        ) from e
    except (httpx.RemoteProtocolError, httpx.LocalProtocolError) as e:
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


def _classify_connect_error(error: httpx.ConnectError) -> tuple[ErrorKind, str]:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return ErrorKind.TLS, "TLS handshake failed (certificate or protocol problem)"
        cause = cause.__cause__ or cause.__context__
    text = str(error).lower()
    if any(marker in text for marker in _DNS_FAILURES):
        return ErrorKind.DNS, "the host name could not be resolved (check the URL)"
    return ErrorKind.CONNECT, "could not connect to the server"
