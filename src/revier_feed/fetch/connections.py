"""HTTP/1.1 connections for the fetcher: keep-alive pools per origin on asyncio protocols,
framed by h11 (the parser httpcore uses too).

With httpx's default transport, httpcore on anyio, the fetcher spent 1.5-1.9 ms of CPU per
request here, mostly in anyio's cancel scopes and the pool's locks: 0.76-0.97 s for 500
conditional GETs, against 0.28-0.40 s on this module (``bench/fetch.py``, docs/dev.md).
The fetcher needs a small part of what httpcore offers (GET over HTTP/1.1 with keep-alive,
TLS, connect and read timeouts); it builds httpx requests, follows redirects itself and
reads httpx responses, which decode the bodies. URLs a proxy from the environment covers
still go through httpx's own transport (see :class:`~revier_feed.fetch.Fetcher`).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import itertools
import re
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from typing import Any

import h11
import httpx

#: A connection pool's key: scheme, host, port, and the TLS choice of the request's source
#: (:data:`TLS_CHOICE`): a connection one source's trusted certificates verified is not
#: another source's.
Origin = tuple[str, str, int, Hashable]
#: One address of a host, as ``getaddrinfo`` gives it.
_AddressInfo = tuple[int, int, int, str, tuple[Any, ...]]

#: Bytes read from a socket ahead of the response's reader before the socket is paused, so
#: a reader that is slower than the network never piles a large body up in memory.
_READ_AHEAD = 256 * 1024
#: Errors of connecting that say this machine is out of something (open files, memory).
_OUT_OF = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM})
#: Like browsers: after this long without an answer from a host's first address (IPv6, say),
#: its next one is tried in parallel.
_HAPPY_EYEBALLS_DELAY = 0.25
#: Set in a request's extensions once it has a connection to its host.
CONNECTED = "revier_feed.connected"
#: A request extension: the hashable TLS choice (a source's ``tls``) the pool's ``tls``
#: callable builds the context from; absent or None: the default context.
TLS_CHOICE = "revier_feed.tls"
#: A request extension: the networks (a tuple, maybe empty) in which the request may reach
#: a private, loopback or link-local address besides the public ones; absent or None: any
#: address (see :func:`reachable`).
REACH = "revier_feed.reach"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: The largest response head accepted. h11's default (16 KB) refuses real sites with long
#: cookie and content-security headers; httpcore allows 100 KB too.
_MAX_HEAD = 100 * 1024
#: Idle connections older than this are not reused (httpcore's default too): a NAT or
#: firewall that silently forgot the flow would make the next request wait out its timeout.
_IDLE_EXPIRY = 5.0


class _ClosedBeforeAnswer(Exception):
    """The server closed a connection before it sent a byte of the answer."""


class PrivateAddress(httpx.ConnectError):
    """The host is at an address the request may not reach (:data:`REACH`): nothing was
    sent to it."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} is at {address}, not a public address")
        self.host = host
        self.address = address


class HandshakeCut(ConnectionResetError):
    """The server reset or closed the connection in the middle of the TLS handshake,
    without a TLS alert to say why (the TCP connection itself was made)."""


class MalformedHead(httpx.RemoteProtocolError):
    """The head of an answer is not HTTP/1.1, even read as browsers read it: asking again
    gets the same head, so it is not retried."""


#: The blank line that ends a head (h11 takes a bare LF for a line end too).
_HEAD_END = re.compile(rb"\n\r?\n")
#: The status line of an informational answer, which another head follows.
_INFORMATIONAL = re.compile(rb"HTTP/\d\.\d[ \t]+1\d\d\b")
#: A 101, after which the connection speaks another protocol: no head follows.
_SWITCHING = re.compile(rb"HTTP/\d\.\d[ \t]+101\b")
#: What :func:`lenient_head` mends but a Transfer-Encoding: a blank before a colon, a
#: header line without a colon (not a folded one, nor the status line, which no line end
#: comes before). One scan of a head that needs nothing, on every request's path.
_TO_MEND = re.compile(rb"[ \t]:|\n[^ \t\r\n:][^:\n]*\n")


def lenient_head(head: bytes) -> bytes:
    """The head of an answer with the mistakes curl, requests and browsers read past made
    readable for h11, which refuses them: blanks before a header's colon (``Content-Type :
    text/xml``), a line without a colon (``X-Powered-By PHP/5.2``, dropped), and
    ``Transfer-Encoding`` sent twice as ``chunked`` or as ``identity`` (an IIS or a PHP
    behind a proxy; one ``chunked`` is kept, ``identity`` means none).
    """
    if not _TO_MEND.search(head) and b"ransfer-" not in head and b"RANSFER-" not in head:
        return head  # what nearly every server sends: nothing to mend
    status, *lines = head.split(b"\n")
    kept = [status]
    chunked_seen = False
    for line in lines:
        if not line.strip(b"\r") or line[:1] in (b" ", b"\t"):
            kept.append(line)  # the blank end, or a folded continuation (h11 reads those)
            continue
        name, colon, value = line.partition(b":")
        name = name.rstrip(b" \t")
        if not colon or not name:
            continue
        if name.lower() == b"transfer-encoding":
            codings = [c.strip().lower() for c in value.strip(b" \t\r").split(b",")]
            if codings == [b"identity"]:
                continue
            if all(c == b"chunked" for c in codings):
                if chunked_seen:
                    continue
                chunked_seen = True
                line = b"Transfer-Encoding: chunked" + (b"\r" if line.endswith(b"\r") else b"")
                kept.append(line)
                continue
        kept.append(name + b":" + value)
    return b"\n".join(kept)


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection, one request at a time.

    Bytes from the socket wait in ``_pending`` and go to h11 only when the reader needs
    them, so the amount waiting is known and the socket can be paused above _READ_AHEAD.
    """

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
        self._transport: asyncio.Transport | None = None
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._paused = False
        self._eof = False
        self._eof_read = False  #: h11 was told of the end of the stream
        self._head = b""  #: the start of an answer's head, until its end arrives
        self._lost: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._answered = False
        self.idle_since = 0.0
        self.address = ""  #: the peer's IP address

    # --- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) and peer else ""

    def data_received(self, data: bytes) -> None:
        self._answered = True
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size > _READ_AHEAD and not self._paused and self._transport:
            self._paused = True
            self._transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False  # let asyncio close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._lost = exc
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # --- the pool's side ---------------------------------------------------------------

    @property
    def reusable(self) -> bool:
        """Idle, still open and fresh: the server has neither closed it nor sent anything
        unasked."""
        return (
            not self._eof
            and not self._pending
            and self._h11.our_state is h11.IDLE
            and time.monotonic() - self.idle_since < _IDLE_EXPIRY
        )

    def close(self) -> None:
        """Close the socket now (an idle or half-read connection has nothing to flush)."""
        self._eof = True
        if self._transport is not None:
            self._transport.abort()

    def finished(self) -> bool:
        """After a complete exchange: ready for the next request if both sides keep alive."""
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            # Bytes after the end of the answer (a "304" with a body, a stray CRLF) would be
            # read as the start of the next request's answer: one source's feed stored as
            # another's. Such a connection is not kept.
            if self._eof or self._h11.trailing_data[0]:
                return False
            self._h11.start_next_cycle()
            self.idle_since = time.monotonic()
            return True
        return False

    # --- one exchange --------------------------------------------------------------------

    async def send(
        self, request: httpx.Request, body: bytes, read_timeout: float | None
    ) -> h11.Response:
        """Send the request and wait for the head of its response."""
        assert self._transport is not None
        self._answered = False
        try:
            events: list[h11.Event] = [
                h11.Request(
                    method=request.method,
                    target=request.url.raw_path,
                    headers=request.headers.raw,
                )
            ]
            if body:
                events.append(h11.Data(data=body))
            events.append(h11.EndOfMessage())
            data = b"".join(self._h11.send(event) or b"" for event in events)
        except h11.LocalProtocolError as e:
            raise httpx.LocalProtocolError(str(e)) from e
        # A GET's head fits the socket's buffer at once; asyncio writes the rest as it can.
        self._transport.write(data)
        while True:
            event = await self.next_event(read_timeout)
            if isinstance(event, h11.Response):
                return event
            if not isinstance(event, h11.InformationalResponse):
                raise httpx.RemoteProtocolError(f"{type(event).__name__} before the answer")
            # 100 Continue, 103 Early Hints: the answer follows.

    async def next_event(
        self, read_timeout: float | None
    ) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        """The next response event (never NEED_DATA), reading from the socket as needed."""
        while True:
            in_head = self._h11.their_state is h11.SEND_RESPONSE
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as e:
                if not self._answered:
                    raise _ClosedBeforeAnswer from self._lost or e
                if self._lost is not None:
                    raise httpx.ReadError(str(self._lost) or repr(self._lost)) from self._lost
                if in_head and not self._eof_read:
                    raise MalformedHead(str(e)) from e
                raise httpx.RemoteProtocolError(str(e)) from e
            if event is not h11.NEED_DATA:
                if isinstance(event, h11.ConnectionClosed) and not self._answered:
                    raise _ClosedBeforeAnswer from self._lost
                if isinstance(event, h11.EndOfMessage) and self._eof_read and self._lost:
                    # A body without a length ends when the server closes the connection;
                    # one reset instead (an error, a crash, a proxy's timeout) was cut, and
                    # its part would have been stored as the whole feed, with its ETag.
                    raise httpx.ReadError(
                        f"the connection was reset before the end of the answer ({self._lost})"
                    ) from self._lost
                return event
            if self._pending:
                data = b"".join(self._pending)
                self._pending.clear()
                self._pending_size = 0
                if self._paused and self._transport is not None:
                    self._paused = False
                    self._transport.resume_reading()
                if self._h11.their_state is h11.SEND_RESPONSE:
                    data = self._whole_heads(data)
                    if not data:
                        continue
                self._h11.receive_data(data)
            elif self._eof and self._head:
                self._h11.receive_data(self._head)  # the start of a head the server cut
                self._head = b""
            elif self._eof:
                self._eof_read = True
                self._h11.receive_data(b"")
            else:
                await self._wait(read_timeout)

    def _whole_heads(self, data: bytes) -> bytes:
        """What h11 may read of ``data`` while it waits for an answer's head: whole heads
        only, each mended (:func:`lenient_head`), informational ones (103 Early Hints) and
        the final one, and what follows the final one; the start of a head waits in
        ``_head`` for its end. Past :data:`_MAX_HEAD` bytes without an end, h11 gets them
        as they are, and refuses them."""
        # Searched from where the last piece ended: a head trickling in byte by byte is not
        # searched again and again from its start.
        searched = max(0, len(self._head) - 2)
        data = self._head + data
        self._head = b""
        heads: list[bytes] = []
        start = 0
        while True:
            end = _HEAD_END.search(data, max(start, searched))
            if end is None:
                if len(data) - start <= _MAX_HEAD:
                    self._head = data[start:]
                    return b"".join(heads)
                return b"".join(heads) + data[start:]
            head = data[start : end.end()]
            if _SWITCHING.match(head):
                # A WebSocket endpoint, say: waiting for a final head would only time out.
                raise MalformedHead(
                    "101 Switching Protocols: the address speaks another protocol, not HTTP"
                )
            heads.append(lenient_head(head))
            start = end.end()
            if not _INFORMATIONAL.match(head):
                return b"".join(heads) + data[start:]

    async def _wait(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = None if timeout is None else loop.call_later(timeout, _time_out, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()


def _time_out(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(httpx.ReadTimeout("the server sent nothing within the read timeout"))


class _Body(httpx.AsyncByteStream):
    """A response body read from its connection; closing it gives the connection back."""

    def __init__(
        self, pool: ConnectionPools, connection: _Connection, read_timeout: float | None
    ) -> None:
        self._pool = pool
        self._connection: _Connection | None = connection
        self._read_timeout = read_timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            raise httpx.StreamClosed()
        while True:
            event = await connection.next_event(self._read_timeout)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return
            else:
                raise httpx.RemoteProtocolError(f"{type(event).__name__} inside a body")

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._pool.release(connection)


class ConnectionPools(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 connections, pooled per origin (scheme, host, port).

    Args:
        keepalive_per_origin: idle connections kept per origin; busy ones are not limited
            here, the fetcher's per-host and global semaphores bound them.
        max_idle_origins: origins that keep idle connections; beyond it the longest idle
            origin is disconnected, so hundreds of hosts do not each keep sockets open.
        tls: the TLS context for https of a request's :data:`TLS_CHOICE`, called when an
            https connection is made (built once per choice by the caller, who caches it).
    """

    def __init__(
        self,
        *,
        keepalive_per_origin: int,
        max_idle_origins: int,
        tls: Callable[[Hashable], ssl.SSLContext],
    ) -> None:
        self._keepalive = keepalive_per_origin
        self._max_idle_origins = max_idle_origins
        self._tls = tls
        # Insertion order: the longest idle origin first.
        self._idle: dict[Origin, list[_Connection]] = {}
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"cannot fetch {url.scheme!r} URLs")
        origin = (
            url.scheme,
            url.raw_host.decode("ascii"),
            url.port or _DEFAULT_PORTS[url.scheme],
            request.extensions.get(TLS_CHOICE),
        )
        timeouts = request.extensions.get("timeout", {})
        read_timeout = timeouts.get("read")
        reach: Sequence[Network] | None = request.extensions.get(REACH)
        body = b""
        if isinstance(request.stream, httpx.AsyncByteStream):
            body = b"".join([part async for part in request.stream])
        while True:
            connection = self._idle_connection(origin)
            reused = connection is not None
            if connection is not None and not reachable(connection.address, reach):
                # Made for a request that could reach the address (its source's own host).
                connection.close()
                raise PrivateAddress(origin[1], connection.address)
            if connection is None:
                connection = await self._connect(origin, timeouts.get("connect"), reach)
            # The host took a connection: a timeout from here on is its silence, not a
            # network that cannot reach it (see the fetcher's silent hosts).
            request.extensions[CONNECTED] = True
            try:
                head = await connection.send(request, body, read_timeout)
            except _ClosedBeforeAnswer as e:
                connection.close()
                if reused:
                    # The server dropped a kept-alive connection just as we used it: that is
                    # what keep-alive allows it to do; ask again on a fresh connection.
                    continue
                if isinstance(e.__cause__, OSError):
                    # A reset, or a TLS alert that TLS 1.3 delivers with the first read (a
                    # client certificate required, say): a failure to connect, cause kept.
                    cause = e.__cause__
                    raise httpx.ConnectError(str(cause) or repr(cause)) from cause
                raise httpx.RemoteProtocolError(
                    "the server closed the connection without an answer"
                ) from e
            except BaseException:
                connection.close()
                raise
            if reused and head.status_code == 408:
                # A server timing out an idle connection may send 408 as it closes it, just
                # as our request goes out (browsers ask again too).
                connection.close()
                continue
            return httpx.Response(
                head.status_code,
                headers=head.headers.raw_items(),
                stream=_Body(self, connection, read_timeout),
                extensions={
                    "http_version": b"HTTP/" + head.http_version,
                    "reason_phrase": head.reason,
                },
            )

    def _idle_connection(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()  # the most recently used: the least likely to be closed
            if connection.reusable:
                if not idle:
                    del self._idle[origin]
                return connection
            connection.close()
        self._idle.pop(origin, None)
        return None

    async def _connect(
        self, origin: Origin, timeout: float | None, reach: Sequence[Network] | None = None
    ) -> _Connection:
        scheme, host, port, tls = origin
        context = self._tls(tls) if scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                # A name is resolved and its addresses raced here, not by asyncio: on Python
                # 3.11 a connection cancelled just as asyncio's race had won (a cycle that
                # fails cancels its other sources' requests) leaves its socket to the garbage
                # collector. One address needs no race.
                if is_address(host):
                    if not reachable(host.strip("[]"), reach):
                        raise PrivateAddress(host, host.strip("[]"))
                    _, connection = await loop.create_connection(
                        lambda: _Connection(origin), host, port, ssl=context
                    )
                else:
                    sock = await open_socket(host, port, reach)
                    try:
                        _, connection = await loop.create_connection(
                            lambda: _Connection(origin),
                            sock=sock,
                            ssl=context,
                            server_hostname=host if context else None,
                        )
                    except BaseException:
                        sock.close()  # asyncio closes it too, unless it failed before
                        raise
        except TimeoutError as e:  # the timeout above, or the system's own (ETIMEDOUT)
            raise httpx.ConnectTimeout(f"could not connect to {host}:{port} in time") from e
        except (OSError, UnicodeError) as e:
            if isinstance(e, OSError) and e.errno in _OUT_OF:
                # This machine's limits, not the site's: the cycle fails, not the source.
                raise
            if context is not None and isinstance(e, ConnectionResetError):
                # A refused connection is ConnectionRefusedError: this one was made.
                cut = HandshakeCut(e.errno, e.strerror or "closed")
                raise httpx.ConnectError(f"TLS handshake cut: {cut}") from cut
            # Refused, unreachable, DNS (socket.gaierror), TLS (ssl.SSLError); a host name
            # the resolver cannot encode (a label over 63 characters) is a UnicodeError.
            raise httpx.ConnectError(str(e) or repr(e)) from e
        except (IndexError, OverflowError) as e:
            # A port beyond 65535 ("http://host:99999/"), as asyncio reports it.
            raise httpx.ConnectError(f"no such port: {port}") from e
        return connection

    def release(self, connection: _Connection) -> None:
        """Keep a connection whose exchange is over for the next request, or close it."""
        if self._closed or not connection.finished():
            connection.close()
            return
        origin = connection.origin
        idle = self._idle.pop(origin, [])  # popped and put back: now the most recently idle
        idle.append(connection)
        if len(idle) > self._keepalive:
            idle.pop(0).close()
        self._idle[origin] = idle
        while len(self._idle) > self._max_idle_origins:
            oldest = next(iter(self._idle))
            for stale in self._idle.pop(oldest):
                stale.close()

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()
        # The sockets close in the event loop's next round, which must come before the loop
        # itself may end.
        await asyncio.sleep(0)


async def open_socket(
    host: str, port: int, reach: Sequence[Network] | None = None
) -> socket.socket:
    """A socket connected to ``host``, its addresses tried as browsers do (RFC 8305): the
    first at once, the next one after :data:`_HAPPY_EYEBALLS_DELAY` without an answer or
    as soon as the ones before failed, address families taking turns; the first to connect
    wins. Cancelled at any point, it leaves no socket open.

    Raises:
        OSError: no address could be connected (the errors of all of them), or the name
            could not be resolved (``socket.gaierror``).
        PrivateAddress: one of the name's addresses is not :func:`reachable` with
            ``reach`` (then none is tried: a name that resolves to an internal address
            among public ones is no public site).
    """
    loop = asyncio.get_running_loop()
    addresses = _interleaved(await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    if not addresses:
        raise socket.gaierror(f"no address for {host}")
    for address in addresses:
        if not reachable(str(address[4][0]), reach):
            raise PrivateAddress(host, str(address[4][0]))
    attempts: list[asyncio.Task[socket.socket]] = []
    errors: list[OSError] = []
    winner: asyncio.Task[socket.socket] | None = None

    def settled(done: set[asyncio.Task[socket.socket]]) -> asyncio.Task[socket.socket] | None:
        for task in done:
            error = task.exception()
            if error is None:
                return task
            errors.append(error if isinstance(error, OSError) else OSError(str(error)))
        return None

    try:
        for address in addresses:
            attempts.append(asyncio.create_task(_connect_to(loop, address)))
            deadline = loop.time() + _HAPPY_EYEBALLS_DELAY
            while running := {t for t in attempts if not t.done()}:
                left = max(0.0, deadline - loop.time())
                done, _ = await asyncio.wait(
                    running, timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                if winner := settled(done):
                    return winner.result()
                if not done:
                    break  # no answer yet: the next address runs beside it
        while running := {t for t in attempts if not t.done()}:
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            if winner := settled(done):
                return winner.result()
    finally:
        for task in attempts:
            if task is not winner:
                task.cancel()
                task.add_done_callback(_close_unused)
    raise _one_error(errors)


async def _connect_to(loop: asyncio.AbstractEventLoop, address: _AddressInfo) -> socket.socket:
    family, kind, proto, _, sockaddr = address
    sock = socket.socket(family, kind, proto)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def _close_unused(task: asyncio.Task[socket.socket]) -> None:
    """A race's losing attempt, done: its socket closed if it connected after all (and its
    error taken, so asyncio does not log it as never retrieved)."""
    if not task.cancelled() and task.exception() is None:
        task.result().close()


def _interleaved(addresses: Sequence[_AddressInfo]) -> list[_AddressInfo]:
    """The resolver's addresses with the families taking turns, each in its own order."""
    by_family: dict[int, list[_AddressInfo]] = {}
    for address in addresses:
        by_family.setdefault(address[0], []).append(address)
    turns = itertools.zip_longest(*by_family.values())
    return [address for turn in turns for address in turn if address is not None]


def _one_error(errors: list[OSError]) -> OSError:
    """What connecting to every address gave, as one error: this machine's limit if one
    was met (the cycle's problem, not the site's), else the only error, else all of them."""
    for error in errors:
        if error.errno in _OUT_OF:
            return error
    messages = list(dict.fromkeys(str(e) for e in errors))
    if len(messages) == 1:
        return errors[0]
    return OSError(f"Multiple exceptions: {', '.join(messages)}")


def reachable(address: str, reach: Sequence[Network] | None) -> bool:
    """Whether a request whose :data:`REACH` is ``reach`` may connect to ``address``: a
    public one always; a private, loopback, link-local or reserved one only inside one of
    ``reach``'s networks; any when ``reach`` is None."""
    if reach is None:
        return True
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])  # without an IPv6 zone
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # "::ffff:127.0.0.1" is 127.0.0.1
    if (
        ip.is_global
        and not ip.is_multicast
        and not ip.is_reserved
        and not any(ip in n for n in _EMBEDDING)
    ):
        return True
    return any(ip in network for network in reach)


#: IPv6 networks that Python counts as global but that lead to IPv4 addresses (6to4) or
#: are site-local. The others that do (NAT64's 64:ff9b::/96 and /48, the IPv4-compatible
#: ::/96 and IPv4-translated ::ffff:0:0/96 forms: "64:ff9b::a00:5" is 10.0.0.5 behind a
#: NAT64 gateway) are in ::/8, which Python counts as reserved.
_EMBEDDING = tuple(ipaddress.IPv6Network(n) for n in ("2002::/16", "fec0::/10"))

#: This machine's own networks: what a source at "localhost" may reach.
LOOPBACK = (ipaddress.IPv4Network("127.0.0.0/8"), ipaddress.IPv6Network("::1/128"))


def is_address(host: str) -> bool:
    """Whether ``host`` is an IP address rather than a name to resolve."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
