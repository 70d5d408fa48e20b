"""Fetch sources over HTTP: one shared client, bounded concurrency, conditional GET, size cap.

Every failure becomes a :class:`~revier_feed.exceptions.FetchError` with a ``kind`` from
:class:`~revier_feed.models.ErrorKind`, so callers never see an httpx exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import ssl
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

import httpx

from .exceptions import FetchError
from .models import ErrorKind, FetchResult, FetchSettings, NotModified, SourceSpec, SourceState


class Fetcher:
    """An HTTP client shared by all sources of a cycle; use as an async context manager."""

    def __init__(
        self, settings: FetchSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._global = asyncio.Semaphore(settings.max_concurrency)
        self._per_host: dict[str, asyncio.Semaphore] = {}
        self._client = httpx.AsyncClient(
            headers={
                "User-Agent": settings.user_agent,
                "Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9, "
                "text/xml;q=0.9, text/html;q=0.8, */*;q=0.5",
                "Accept-Language": "de, en;q=0.5",
            },
            timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
            # The pool stays at the global limit: httpcore gets slow with large pools and
            # long queues (encode/httpcore#1035); we queue in our own semaphores instead.
            limits=httpx.Limits(
                max_connections=settings.max_concurrency,
                max_keepalive_connections=settings.max_concurrency,
            ),
            follow_redirects=True,
            max_redirects=settings.max_redirects,
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.aclose()

    async def fetch(
        self, spec: SourceSpec, state: SourceState | None
    ) -> FetchResult | NotModified:
        """GET the source's URL, conditionally if the store has validators.

        Raises:
            FetchError: on any network, HTTP or size problem.
        """
        headers = {}
        if state is not None:
            if state.etag:
                headers["If-None-Match"] = state.etag
            if state.last_modified:
                headers["If-Modified-Since"] = state.last_modified
        async with self._slot(spec.url):
            with _wrap_exceptions(spec.id, spec.url):
                # httpx's timeout is per network operation; this one bounds the whole request.
                async with asyncio.timeout(self.settings.timeout):
                    return await self._get(spec, headers)

    @contextlib.asynccontextmanager
    async def _slot(self, url: str) -> AsyncIterator[None]:
        host = (urlsplit(url).hostname or "").lower()
        per_host = self._per_host.get(host)
        if per_host is None:
            per_host = self._per_host[host] = asyncio.Semaphore(self.settings.max_per_host)
        async with per_host, self._global:
            yield

    async def _get(self, spec: SourceSpec, headers: dict[str, str]) -> FetchResult | NotModified:
        async with self._client.stream("GET", spec.url, headers=headers) as response:
            if response.status_code == 304:
                return NotModified(
                    etag=response.headers.get("etag") or headers.get("If-None-Match"),
                    last_modified=response.headers.get("last-modified")
                    or headers.get("If-Modified-Since"),
                )
            _raise_for_status(spec, response)
            content = await self._read_capped(spec, response)
        if not content.strip():
            raise FetchError(
                spec.id,
                spec.url,
                kind=ErrorKind.EMPTY,
                message="the server sent an empty body",
                status_code=response.status_code,
            )
        return FetchResult(
            url=str(response.url),
            status_code=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            content=content,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )

    async def _read_capped(self, spec: SourceSpec, response: httpx.Response) -> bytes:
        cap = self.settings.max_body_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise _too_large(spec, cap, response.status_code)
        chunks = []
        size = 0
        # aiter_bytes yields *decoded* bytes, so a small gzip bomb is cut here too.
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise _too_large(spec, cap, response.status_code)
            chunks.append(chunk)
        return b"".join(chunks)


def _too_large(spec: SourceSpec, cap: int, status: int) -> FetchError:
    return FetchError(
        spec.id,
        spec.url,
        kind=ErrorKind.TOO_LARGE,
        status_code=status,
        message=f"the response is larger than the limit of {cap:,} bytes "
        "(raise fetch.max_body_size if this source is legitimately this big)",
    )


def _raise_for_status(spec: SourceSpec, response: httpx.Response) -> None:
    code = response.status_code
    if code < 400:
        return
    retry_after = _retry_after(response.headers.get("retry-after"))
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
        spec.id, spec.url, kind=kind, message=text, status_code=code, retry_after=retry_after
    )


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


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
    except httpx.TooManyRedirects as e:
        raise FetchError(
            source_id,
            url,
            kind=ErrorKind.REDIRECT,
            message="too many redirects (a redirect loop?)",
        ) from e
    except httpx.ConnectError as e:
        kind, text = _classify_connect_error(e)
        raise FetchError(source_id, url, kind=kind, message=text) from e
    except (httpx.HTTPError, httpx.InvalidURL) as e:
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
    if (
        "name or service not known" in text
        or "nodename nor servname" in text
        or ("temporary failure in name resolution" in text)
    ):
        return ErrorKind.DNS, "the host name could not be resolved (check the URL)"
    return ErrorKind.CONNECT, "could not connect to the server"
