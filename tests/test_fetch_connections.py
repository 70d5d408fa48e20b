"""The fetcher's HTTP/1.1 connections against a scripted server on 127.0.0.1 that writes
raw bytes: framings, keep-alive and its races, informational answers, broken answers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import gzip
import hashlib
import os
import socket
import ssl
import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from revier_feed.exceptions import Deferred, FetchError
from revier_feed.fetch import Fetcher, connections
from revier_feed.fetch.connections import ConnectionPools
from revier_feed.models import ErrorKind, FetchResult, FetchSettings, NotModified

from .conftest import make_certificate, resolve

SETTINGS = FetchSettings(
    user_agent="revier-feed-test/1.0 (+https://example.org/kontakt)",
    timeout=3.0,
    connect_timeout=1.0,
    max_concurrency=4,
    max_per_host=1,
    max_body_bytes=20_000_000,
    max_redirects=3,
    retries=0,
    respect_robots=False,
)
FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>Kreis</title></channel></rss>"


class _Peer:
    """One accepted connection, as the script sees it."""

    def __init__(self, sock: socket.socket, number: int) -> None:
        self.sock = sock
        self.number = number  # 1 for the server's first connection
        self._buffer = b""

    def request(self) -> bytes | None:
        """The next request's head, or None when the client closed the connection."""
        while b"\r\n\r\n" not in self._buffer:
            data = self.sock.recv(65536)
            if not data:
                return None
            self._buffer += data
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        return head

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)


class ScriptedServer:
    """Accepts connections and hands each to ``script`` in its own thread."""

    def __init__(self, script: Callable[[_Peer], None], tls: ssl.SSLContext | None = None) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._tls = tls
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self._listener.getsockname()[1]}/feed.xml"
        self.connections = 0
        self._script = script
        self._peers: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            peer = _Peer(sock, self.connections)
            thread = threading.Thread(target=self._run, args=(peer,), daemon=True)
            self._peers.append(thread)
            thread.start()

    def _run(self, peer: _Peer) -> None:
        if self._tls is not None:
            peer.sock = self._tls.wrap_socket(
                peer.sock, server_side=True, do_handshake_on_connect=False
            )
            try:
                peer.sock.do_handshake()
            except OSError:
                # The alert is on its way. Closed at once, with the client's request unread,
                # the socket would send a reset that can overtake it; servers close lingering
                # (nginx), so does this one.
                time.sleep(0.3)
                peer.sock.close()
                return
        with peer.sock, contextlib.suppress(OSError):
            self._script(peer)

    def close(self) -> None:
        self._listener.close()

    def wait_for_peers(self, timeout: float) -> None:
        """Until every connection the server took has ended on its side (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._peers):
            thread.join(max(0.0, deadline - time.monotonic()))


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[_Peer], None]], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(script: Callable[[_Peer], None]) -> ScriptedServer:
        servers.append(ScriptedServer(script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def answer(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def keep_alive(reply: Callable[[bytes], bytes]) -> Callable[[_Peer], None]:
    """A script answering every request on its connection with ``reply(request head)``."""

    def script(peer: _Peer) -> None:
        while (head := peer.request()) is not None:
            peer.send(reply(head))

    return script


Outcome = FetchResult | NotModified | FetchError


async def attempt(fetcher: Fetcher, url: str, etag: str | None = None) -> Outcome:
    try:
        return await fetcher.fetch("kreis", url, etag=etag)
    except FetchError as e:
        return e


def fetch_all(
    urls: list[str], settings: FetchSettings = SETTINGS, etag: str | None = None
) -> list[Outcome]:
    """Fetch the URLs one after the other with one fetcher, as a cycle does."""

    async def go() -> list[Outcome]:
        async with Fetcher(settings) as fetcher:
            return [await attempt(fetcher, url, etag) for url in urls]

    return asyncio.run(go())


def test_requests_in_turn_share_one_kept_alive_connection(serve: Callable) -> None:
    server = serve(keep_alive(lambda head: answer(FEED, 'ETag: "v1"')))
    results = fetch_all([server.url] * 5)
    assert [r.content for r in results if isinstance(r, FetchResult)] == [FEED] * 5
    assert server.connections == 1


def test_chunked_and_until_close_bodies(serve: Callable) -> None:
    def chunked(peer: _Peer) -> None:
        while peer.request() is not None:
            peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for start in range(0, len(FEED), 20):
                part = FEED[start : start + 20]
                peer.send(b"%x\r\n%s\r\n" % (len(part), part))
                time.sleep(0.01)
            peer.send(b"0\r\n\r\n")

    def until_close(peer: _Peer) -> None:
        # HTTP/1.0 style: no length, the body ends when the server closes the connection.
        peer.request()
        peer.send(b"HTTP/1.0 200 OK\r\nContent-Type: application/rss+xml\r\n\r\n" + FEED)

    first, second = serve(chunked), serve(until_close)
    results = fetch_all([first.url, first.url, second.url, second.url])
    assert [r.content for r in results if isinstance(r, FetchResult)] == [FEED] * 4
    assert (first.connections, second.connections) == (1, 2)


def test_a_compressed_body_in_small_chunks_is_decoded(serve: Callable) -> None:
    # Hex digests compress only to about half: over 70 pieces of 1,000 bytes on the wire.
    noise = b"".join(hashlib.sha256(b"%d" % n).hexdigest().encode() for n in range(2000))
    body = FEED.replace(b"Kreis", "Landkreis Görlitz ".encode() + noise)
    packed = gzip.compress(body)
    assert len(packed) > 50_000

    def script(peer: _Peer) -> None:
        peer.request()
        head = f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(packed)}"
        peer.send(head.encode() + b"\r\n\r\n")
        for start in range(0, len(packed), 1000):
            peer.send(packed[start : start + 1000])

    server = serve(script)
    [result] = fetch_all([server.url])
    assert isinstance(result, FetchResult) and result.content == body


@pytest.mark.parametrize("raw", [True, False], ids=["raw deflate", "zlib"])
def test_a_deflate_body_whose_first_piece_is_one_byte_is_decoded(
    serve: Callable, raw: bool
) -> None:
    """zlib tells its header from raw deflate (IIS) by two bytes; a first chunk of one
    byte made the raw body an error ("incorrect header check")."""
    packed = zlib.compress(FEED)[2:-4] if raw else zlib.compress(FEED)

    def script(peer: _Peer) -> None:
        peer.request()
        peer.send(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        for piece in (packed[:1], packed[1:]):
            peer.send(b"%x\r\n%s\r\n" % (len(piece), piece))
            time.sleep(0.02)
        peer.send(b"0\r\n\r\n")

    [result] = fetch_all([serve(script).url])
    assert isinstance(result, FetchResult) and result.content == FEED


def test_a_compression_not_asked_for_is_named_and_not_asked_again(serve: Callable) -> None:
    """A server sending its precompressed .br files whatever the request accepts: the
    bytes went to the parser, which blamed the feed ("not a readable feed") or the layout
    ("the item selector matched nothing")."""
    server = serve(keep_alive(lambda head: answer(b"\x1b\x00\xf8\xa5", "Content-Encoding: br")))
    (error,) = fetch_all([server.url], dataclasses.replace(SETTINGS, retries=2))
    assert isinstance(error, FetchError) and error.kind is ErrorKind.CONNECT
    assert "compressed its answer in a way that was not asked for" in str(error)
    assert str(error).endswith("UnsupportedCoding: br")
    assert server.connections == 1


@pytest.mark.parametrize(
    ("coding", "pack"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),  # RFC 9110: read as gzip; it was parsed as it came
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # without the zlib header, as some send
        ("gzip, gzip", lambda b: gzip.compress(gzip.compress(b))),
        # Two members, as `cat a.gz b.gz` writes them: only the first was read. A first one
        # of over 64 KB, or anything after it, made a first fix loop for ever.
        ("gzip", lambda b: gzip.compress(b[:1000]) + gzip.compress(b[1000:])),
        ("gzip", lambda b: gzip.compress(b[:200_000]) + gzip.compress(b[200_000:])),
        ("gzip", lambda b: gzip.compress(b) + b"\0" * 1000),
        ("identity", lambda b: b),
    ],
)
def test_content_codings_are_decoded_in_bounded_steps(
    serve: Callable, coding: str, pack: Callable[[bytes], bytes]
) -> None:
    body = FEED.replace(b"Kreis", "Landkreis Görlitz ".encode() * 20_000)
    packed = pack(body)
    server = serve(keep_alive(lambda head: answer(packed, f"Content-Encoding: {coding}")))
    [result] = fetch_all([server.url])
    assert isinstance(result, FetchResult) and result.content == body


@pytest.mark.parametrize(
    ("coding", "cut"),
    [
        ("gzip", lambda b: gzip.compress(b)[:300]),
        ("gzip", lambda b: gzip.compress(b)[:-9]),  # the text's last byte cut, no trailer
        ("gzip", lambda b: gzip.compress(b) + gzip.compress(b)[:300]),  # the 2nd member cut
        ("deflate", lambda b: zlib.compress(b)[:300]),
        ("deflate", lambda b: zlib.compress(b)[2:300]),
    ],
)
def test_a_cut_compressed_body_is_an_error_not_a_shorter_page(
    serve: Callable, coding: str, cut: Callable[[bytes], bytes]
) -> None:
    """zlib gave what it could of a cut stream without a word: the first part of a listing
    passed for the whole page, with its last items missing and nothing said."""
    text = " ".join(f"Landkreis Görlitz {n}" for n in range(3000)).encode()
    packed = cut(FEED.replace(b"Kreis", text))
    server = serve(keep_alive(lambda head: answer(packed, f"Content-Encoding: {coding}")))
    [result] = fetch_all([server.url])
    assert isinstance(result, FetchError) and result.kind == ErrorKind.CONNECT, result
    assert "stopped before its end" in str(result)


@pytest.mark.parametrize("missing", [8, 5, 1])
def test_a_gzip_body_whose_text_is_whole_is_read_without_its_trailer(
    serve: Callable, missing: int
) -> None:
    """Browsers read a gzip body whose checksum trailer is missing (a server or proxy that
    miscounts its length); it was an error here, and the source failed."""
    text = " ".join(f"Landkreis Görlitz {n}" for n in range(3000)).encode()
    body = FEED.replace(b"Kreis", text)
    packed = gzip.compress(body)[:-missing]
    server = serve(keep_alive(lambda head: answer(packed, "Content-Encoding: gzip")))
    [result] = fetch_all([server.url])
    assert isinstance(result, FetchResult) and result.content == body, result


def test_a_gzip_body_with_a_wrong_checksum_is_an_error(serve: Callable) -> None:
    text = " ".join(f"Landkreis Görlitz {n}" for n in range(3000)).encode()
    packed = bytearray(gzip.compress(FEED.replace(b"Kreis", text)))
    packed[-6] ^= 0xFF  # the trailer's CRC-32
    server = serve(keep_alive(lambda head: answer(bytes(packed), "Content-Encoding: gzip")))
    [result] = fetch_all([server.url])
    assert isinstance(result, FetchError) and "could not be decompressed" in str(result), result


def test_a_compressed_body_cut_by_closing_the_connection_is_an_error(serve: Callable) -> None:
    """Without Content-Length the body ends where the server closes the connection: HTTP
    cannot tell a cut there, the gzip's missing end can."""
    text = " ".join(f"Landkreis Görlitz {n}" for n in range(3000)).encode()
    packed = gzip.compress(FEED.replace(b"Kreis", text))[:-100]

    def script(peer: _Peer) -> None:
        peer.request()
        head = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n"
        peer.send(head.encode() + packed)

    server = serve(script)
    [result] = fetch_all([server.url])
    assert isinstance(result, FetchError) and "stopped before its end" in str(result), result


def test_an_empty_body_marked_gzip_is_an_empty_body_not_a_cut_one(serve: Callable) -> None:
    server = serve(keep_alive(lambda head: answer(b"", "Content-Encoding: gzip")))
    [result] = fetch_all([server.url])
    assert isinstance(result, FetchError) and result.kind == ErrorKind.EMPTY, result


def test_a_gzip_bomb_is_cut_before_it_fills_the_memory(serve: Callable) -> None:
    """The cap was checked after httpx had inflated each chunk from the network whole: a
    256 KB bomb raised the peak memory by over 200 MB before it was cut."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    bomb = b"".join(packer.compress(block) for _ in range(256)) + packer.flush()
    response = answer(bomb, "Content-Encoding: gzip")  # made before measuring
    server = serve(keep_alive(lambda head: response))
    settings = dataclasses.replace(SETTINGS, max_body_bytes=10_000_000)
    tracemalloc.start()
    try:
        [result] = fetch_all([server.url], settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(result, FetchError) and result.kind == ErrorKind.TOO_LARGE
    assert peak < 40_000_000, peak  # the body's cap, twice (pieces and their join), and a bit


def test_what_follows_a_gzip_body_counts_against_the_cap(serve: Callable) -> None:
    """Dropped after the body's end, it was held in memory and never counted: a tiny member
    followed by 24 MB of zeros passed a 1 MB cap as a body of 38 bytes."""
    body = gzip.compress(FEED) + b"\0" * 3_000_000
    server = serve(keep_alive(lambda head: answer(body, "Content-Encoding: gzip")))
    settings = dataclasses.replace(SETTINGS, max_body_bytes=1_000_000)
    [result] = fetch_all([server.url], settings)
    assert isinstance(result, FetchError) and result.kind == ErrorKind.TOO_LARGE, result


def test_a_gzip_bomb_is_inflated_a_step_at_a_time() -> None:
    from revier_feed.fetch.decoding import STEP, decoded

    async def pieces() -> list[int]:
        # What the fetcher holds at a time: 128 KB that inflate to 100 MB came in one piece.
        bomb = gzip.compress(b"\0" * 100_000_000)
        headers = {"Content-Encoding": "gzip"}
        response = httpx.Response(200, headers=headers, stream=httpx.ByteStream(bomb))
        return [len(piece) async for piece in decoded(response, max_raw=1_000_000)]

    sizes = asyncio.run(pieces())
    assert max(sizes) <= STEP and sum(sizes) == 100_000_000


def test_a_body_read_slower_than_it_arrives_waits_in_the_socket_not_in_memory(
    serve: Callable,
) -> None:
    # The server sends 16 MB at once to a reader that stalls after every chunk: the socket
    # is paused past the read-ahead, so the client holds a small part of the body at a time,
    # and every byte still arrives, in order.
    body = bytes(range(256)) * 65536

    async def go() -> tuple[str, int]:
        pools = ConnectionPools(keepalive_per_origin=1, max_idle_origins=1, tls=ssl.SSLContext)
        digest = hashlib.sha256()
        async with httpx.AsyncClient(transport=pools) as client:
            tracemalloc.start()
            try:
                async with client.stream("GET", server.url) as response:
                    async for chunk in response.aiter_raw():
                        digest.update(chunk)
                        await asyncio.sleep(0.02)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
        return digest.hexdigest(), peak

    response = answer(body)  # made before measuring: the server shares our memory
    server = serve(keep_alive(lambda head: response))
    received, peak = asyncio.run(go())
    assert received == hashlib.sha256(body).hexdigest()
    assert peak < 4_000_000, peak


def test_a_connection_the_server_dropped_while_idle_is_not_used(serve: Callable) -> None:
    def one_per_connection(peer: _Peer) -> None:
        # Keep-alive announced, then closed after a moment, as servers do with idle ones.
        peer.request()
        peer.send(answer(FEED))
        time.sleep(0.05)

    server = serve(one_per_connection)

    async def go() -> list[Outcome]:
        async with Fetcher(SETTINGS) as fetcher:
            first = await attempt(fetcher, server.url)
            await asyncio.sleep(0.2)
            return [first, await attempt(fetcher, server.url)]

    results = asyncio.run(go())
    assert all(isinstance(r, FetchResult) and r.content == FEED for r in results), results
    assert server.connections == 2


def test_a_kept_alive_connection_closed_unanswered_is_asked_again(serve: Callable) -> None:
    # The race keep-alive allows: the server closes an idle connection just as the next
    # request goes out on it. The request is asked again on a new connection, once.
    def script(peer: _Peer) -> None:
        peer.request()
        peer.send(answer(FEED))
        if peer.request() is not None and peer.number == 1:
            return  # closes without an answer
        peer.send(answer(FEED))
        while peer.request() is not None:
            peer.send(answer(FEED))

    server = serve(script)
    results = fetch_all([server.url] * 3)
    assert all(isinstance(r, FetchResult) and r.content == FEED for r in results), results
    assert server.connections == 2


def test_a_new_connection_closed_unanswered_is_an_error(serve: Callable) -> None:
    server = serve(lambda peer: peer.request() and None)
    [error] = fetch_all([server.url])
    assert isinstance(error, FetchError) and error.kind is ErrorKind.CONNECT
    assert server.connections == 1  # not asked again: the server is not answering at all


def test_a_body_cut_short_is_an_error_and_the_next_request_connects_anew(
    serve: Callable,
) -> None:
    def script(peer: _Peer) -> None:
        peer.request()
        if peer.number == 1:
            peer.send(answer(FEED)[:-10])  # closes 10 bytes short
            return
        peer.send(answer(FEED))

    server = serve(script)
    error, result = fetch_all([server.url, server.url])
    assert isinstance(error, FetchError) and error.kind is ErrorKind.CONNECT
    assert "connection closed mid-answer" in str(error)
    assert isinstance(result, FetchResult) and result.content == FEED


def test_a_body_without_a_length_cut_by_a_reset_is_an_error_not_a_shorter_feed(
    serve: Callable,
) -> None:
    """A body without a length ends when the server closes the connection; one that is
    reset instead was cut (curl: "Recv failure", requests and httpcore: a read error). It was
    taken whole: a third of a feed stored, its ETag with it, and the rest never asked for."""
    feed = FEED.replace(
        b"</channel>", b"<item><title>Meldung</title></item>" * 200 + b"</channel>"
    )

    def script(peer: _Peer) -> None:
        peer.request()
        if peer.number == 1:
            peer.send(b'HTTP/1.0 200 OK\r\nETag: "v1"\r\n\r\n' + feed[:2000])
            time.sleep(0.1)  # the part is read before the reset arrives
            peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        peer.send(b'HTTP/1.0 200 OK\r\nETag: "v1"\r\n\r\n' + feed)

    server = serve(script)
    error, result = fetch_all([server.url, server.url])
    assert isinstance(error, FetchError) and error.kind is ErrorKind.CONNECT
    assert "reset before the end of the answer" in str(error)
    assert isinstance(result, FetchResult) and result.content == feed


@pytest.mark.parametrize(
    ("head", "mended"),
    [
        (
            b"HTTP/1.1 200 OK\r\nContent-Type : text/xml\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\n",
        ),
        (b"HTTP/1.1 200 OK\nX-Powered-By PHP/5.2\nA: b\n\n", b"HTTP/1.1 200 OK\nA: b\n\n"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: Chunked\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Length: 3\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
        ),
        # Folded lines, and codings other than chunked, are h11's to judge.
        (b"HTTP/1.1 200 OK\r\nA: b\r\n  c\r\n\r\n", b"HTTP/1.1 200 OK\r\nA: b\r\n  c\r\n\r\n"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        ),
    ],
)
def test_heads_are_mended_where_curl_and_browsers_read_past_a_mistake(
    head: bytes, mended: bytes
) -> None:
    assert connections.lenient_head(head) == mended


def test_a_head_with_mistakes_others_read_past_is_read_in_pieces(serve: Callable) -> None:
    """IIS and PHP behind a proxy send "Transfer-Encoding: chunked" twice, old CMSs a blank
    before a colon; curl, requests and browsers read both, h11 refuses them. The head
    arrives in pieces, split inside the repeated header."""
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type : application/rss+xml\r\n"
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
    )

    def script(peer: _Peer) -> None:
        while peer.request() is not None:
            for start in range(0, len(head), 7):
                peer.send(head[start : start + 7])
                time.sleep(0.002)
            peer.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(FEED), FEED))

    server = serve(script)
    results = fetch_all([server.url, server.url])
    assert [r.content for r in results if isinstance(r, FetchResult)] == [FEED] * 2
    assert results[0].headers["content-type"] == "application/rss+xml"
    assert server.connections == 1


def test_a_head_that_is_no_http_is_not_asked_again_and_says_so(serve: Callable) -> None:
    def script(peer: _Peer) -> None:
        peer.request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n" + FEED)

    server = serve(script)
    (error,) = fetch_all([server.url], dataclasses.replace(SETTINGS, retries=2))
    assert isinstance(error, FetchError) and error.kind is ErrorKind.CONNECT
    assert "not valid HTTP/1.1" in str(error) and "Content-Length" in str(error)
    assert server.connections == 1  # a transient failure would have been asked twice more


def test_a_server_that_stalls_mid_body_times_out(serve: Callable) -> None:
    def script(peer: _Peer) -> None:
        peer.request()
        peer.send(answer(FEED)[:-10])
        time.sleep(2)

    server = serve(script)
    started = time.monotonic()
    [error] = fetch_all([server.url], dataclasses.replace(SETTINGS, timeout=0.5))
    assert isinstance(error, FetchError) and error.kind is ErrorKind.TIMEOUT
    assert time.monotonic() - started < 1.5


def test_informational_answers_before_the_real_one_are_skipped(serve: Callable) -> None:
    server = serve(
        keep_alive(
            lambda head: (
                b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                + answer(FEED)
            )
        )
    )
    results = fetch_all([server.url, server.url])
    assert [r.content for r in results if isinstance(r, FetchResult)] == [FEED] * 2
    assert server.connections == 1


def test_a_protocol_switch_nobody_asked_for_fails_at_once(serve: Callable) -> None:
    """A 101 is the last head an HTTP server sends on that connection (a WebSocket
    endpoint set as a feed's URL): the error says so, instead of h11's "Received server
    _SWITCH_UPGRADE event without a pending proposal", and comes without a retry or a wait
    for the read timeout."""

    def script(peer: _Peer) -> None:
        peer.request()
        peer.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
        time.sleep(3)

    server = serve(script)
    started = time.monotonic()
    (error,) = fetch_all([server.url], dataclasses.replace(SETTINGS, timeout=2, retries=2))
    assert isinstance(error, FetchError) and error.kind is ErrorKind.CONNECT
    assert "not valid HTTP/1.1" in str(error) and "101 Switching Protocols" in str(error)
    assert time.monotonic() - started < 1 and server.connections == 1


@pytest.mark.parametrize("split", [True, False], ids=["head split after the 103", "one piece"])
def test_a_head_after_an_informational_answer_is_read_whole_and_mended(
    serve: Callable, split: bool
) -> None:
    """A 103 and the start of the real head in one piece, the head's blank line in the
    next: the rest waited for a head end h11 already held, until the timeout (a review
    found it). In one piece, the real head was not mended."""
    first = (
        b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
    )
    rest = b"\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(FEED), FEED)

    def script(peer: _Peer) -> None:
        while peer.request() is not None:
            if split:
                peer.send(first)
                time.sleep(0.1)
                peer.send(rest)
            else:
                peer.send(first + rest)

    server = serve(script)
    started = time.monotonic()
    results = fetch_all([server.url, server.url])
    assert [r.content for r in results if isinstance(r, FetchResult)] == [FEED] * 2
    assert time.monotonic() - started < 1.5 and server.connections == 1


def test_connection_close_is_honoured_and_304s_keep_the_connection(serve: Callable) -> None:
    def closing(peer: _Peer) -> None:
        while peer.request() is not None:
            peer.send(answer(FEED, "Connection: close"))
            return

    def not_modified(head: bytes) -> bytes:
        assert b'if-none-match: "v1"' in head.lower()
        return b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n'

    first, second = serve(closing), serve(keep_alive(not_modified))
    results = fetch_all([first.url, first.url])
    assert all(isinstance(r, FetchResult) for r in results)
    assert first.connections == 2
    results = fetch_all([second.url] * 4, etag='"v1"')
    assert all(isinstance(r, NotModified) and r.etag == '"v1"' for r in results)
    assert second.connections == 1


def test_a_long_answer_head_is_read(serve: Callable) -> None:
    # Sites with many cookies and long security policies send heads of tens of KB.
    policy = "Content-Security-Policy: " + "script-src 'self' https://cdn.example.org; " * 900
    assert len(policy) > 30_000  # h11 alone stops at 16 KB

    def script(peer: _Peer) -> None:
        peer.request()
        for start in range(0, len(policy), 4096):  # as the network delivers it: in pieces
            peer.send(f"HTTP/1.1 200 OK\r\n{policy}"[start : start + 4096].encode())
            time.sleep(0.001)
        peer.send(answer(FEED).removeprefix(b"HTTP/1.1 200 OK"))

    [result] = fetch_all([serve(script).url])
    assert isinstance(result, FetchResult) and result.content == FEED


def test_the_request_is_plain_http_11_with_our_headers(serve: Callable) -> None:
    heads: list[bytes] = []

    def record(head: bytes) -> bytes:
        heads.append(head)
        return answer(FEED)

    server = serve(keep_alive(record))
    fetch_all([server.url + "?seite=2"])
    lines = heads[0].decode().split("\r\n")
    assert lines[0] == "GET /feed.xml?seite=2 HTTP/1.1"
    fields = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert fields["host"] == server.url.split("/")[2]
    assert fields["user-agent"] == SETTINGS.user_agent
    assert "gzip" in fields["accept-encoding"]


def test_bytes_after_an_answer_never_become_the_next_answer(serve: Callable) -> None:
    # A CMS that sends its feed after a "304", or a whole second answer, in the same packet:
    # kept, those bytes would be read as the answer to the next source's request, and one
    # source's feed stored as another's.
    def script(peer: _Peer) -> None:
        while (head := peer.request()) is not None:
            path = head.split(b" ")[1]
            if path == b"/a.xml":
                peer.send(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n' + FEED)
            elif path == b"/b.xml":
                peer.send(answer(b"<b/>") + answer(b"<smuggled/>"))
            else:
                peer.send(answer(b"<" + path.strip(b"/") + b"/>"))

    server = serve(script)
    base = server.url.rsplit("/", 1)[0]
    # Every request with a validator: a 304 answers only such a request.
    urls = [f"{base}/a.xml", f"{base}/c.xml", f"{base}/b.xml", f"{base}/d.xml"]
    results = fetch_all(urls, etag='"v1"')
    assert isinstance(results[0], NotModified)
    assert [r.content for r in results[1:] if isinstance(r, FetchResult)] == [
        b"<c.xml/>",
        b"<b/>",
        b"<d.xml/>",
    ]
    assert server.connections == 3  # a new one after each answer with bytes too many


def test_a_connection_idle_too_long_is_not_reused(
    serve: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A NAT or firewall may forget an idle flow without a word; reusing it would wait out
    # the read timeout.
    monkeypatch.setattr(connections, "_IDLE_EXPIRY", 0.2)
    server = serve(keep_alive(lambda head: answer(FEED)))

    async def go() -> list[Outcome]:
        async with Fetcher(SETTINGS) as fetcher:
            first = await attempt(fetcher, server.url)
            second = await attempt(fetcher, server.url)  # at once: the same connection
            await asyncio.sleep(0.3)
            return [first, second, await attempt(fetcher, server.url)]

    results = asyncio.run(go())
    assert all(isinstance(r, FetchResult) for r in results), results
    assert server.connections == 2


def test_a_408_on_a_kept_alive_connection_is_asked_again(serve: Callable) -> None:
    def script(peer: _Peer) -> None:
        peer.request()
        peer.send(answer(FEED))
        if peer.number == 1 and peer.request() is not None:
            # The server timed the idle connection out just as our request went out.
            peer.send(answer(b"", "Connection: close", status="408 Request Timeout"))
            return
        while peer.request() is not None:
            peer.send(answer(FEED))

    server = serve(script)
    results = fetch_all([server.url] * 3)
    assert all(isinstance(r, FetchResult) and r.content == FEED for r in results), results
    assert server.connections == 2


def test_a_host_name_no_resolver_accepts_is_a_dns_error() -> None:
    [error] = fetch_all(["http://" + "a" * 64 + ".example/feed.xml"])
    assert isinstance(error, FetchError) and error.kind is ErrorKind.DNS
    assert "check the URL" in error.message


def test_a_tls_alert_after_the_handshake_is_a_tls_error(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server that wants a client certificate refuses only after the TLS 1.3 handshake,
    # with the client's first read: still a TLS problem, not "the server broke HTTP".
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(cert, key)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cert)
    server = ScriptedServer(keep_alive(lambda head: answer(FEED)), tls=context)
    try:
        [error] = fetch_all([server.url])
    finally:
        server.close()
    assert isinstance(error, FetchError) and error.kind is ErrorKind.TLS, error


def test_a_small_error_page_keeps_its_connection_a_large_one_does_not(serve: Callable) -> None:
    # A host's failing source must not cost its next source a new connection (and, on the
    # web, a TLS handshake); a large error page is not worth reading.
    def script(peer: _Peer) -> None:
        while (head := peer.request()) is not None:
            path = head.split(b" ")[1]
            if path == b"/missing.xml":
                peer.send(answer(b"<h1>Nicht gefunden</h1>", status="404 Not Found"))
            elif path == b"/huge-error.xml":
                peer.send(answer(b"x" * 200_000, status="503 Service Unavailable"))
            else:
                peer.send(answer(FEED))

    server = serve(script)
    base = server.url.rsplit("/", 1)[0]
    missing, feed = fetch_all([f"{base}/missing.xml", server.url])
    assert isinstance(missing, FetchError) and missing.kind is ErrorKind.HTTP_4XX
    assert isinstance(feed, FetchResult) and feed.content == FEED
    assert server.connections == 1
    huge, feed = fetch_all([f"{base}/huge-error.xml", server.url])
    assert isinstance(huge, FetchError) and huge.kind is ErrorKind.HTTP_5XX
    assert isinstance(feed, FetchResult)
    assert server.connections == 3  # one more for each run's first request, one after 503


def proxy_from_environment(
    serve: Callable, monkeypatch: pytest.MonkeyPatch, body: bytes, no_proxy: str | None = None
) -> list[bytes]:
    """Start a proxy answering ``body`` to everything, make it the environment's HTTP_PROXY
    (with ``no_proxy`` as NO_PROXY), and return the request heads it will receive."""
    heads: list[bytes] = []

    def proxy(peer: _Peer) -> None:
        while (head := peer.request()) is not None:
            heads.append(head)
            peer.send(answer(body))

    server = serve(proxy)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.url.rsplit("/", 1)[0])
    if no_proxy is not None:
        monkeypatch.setenv("NO_PROXY", no_proxy)
    return heads


def test_a_proxy_from_the_environment_carries_every_request(
    serve: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Behind a proxy the fetcher leaves the connections to httpx's own transport, which
    # sends each request to the proxy (the site's name is never resolved here).
    heads = proxy_from_environment(serve, monkeypatch, FEED)
    results = fetch_all(["http://kreis.example.invalid/feed.xml"] * 2)
    assert all(isinstance(r, FetchResult) and r.content == FEED for r in results), results
    assert [h.split(b"\r\n")[0] for h in heads] == [
        b"GET http://kreis.example.invalid/feed.xml HTTP/1.1"
    ] * 2


def test_redirects_are_followed_on_a_kept_connection_and_bad_ones_refused(
    serve: Callable,
) -> None:
    def script(peer: _Peer) -> None:
        while (head := peer.request()) is not None:
            path = head.split(b" ")[1]
            if path == b"/alt/rss":  # relative, with a small page, as CMSs send
                peer.send(
                    answer(
                        b"<a href='../feed.xml'>moved</a>",
                        "Location: ../feed.xml",
                        status="301 Moved Permanently",
                    )
                )
            elif path == b"/ftp":
                peer.send(answer(b"", "Location: ftp://example.org/feed.xml", status="302 Found"))
            elif path == b"/broken":
                peer.send(answer(b"", "Location: http://[::1/feed", status="302 Found"))
            else:
                peer.send(answer(FEED))

    server = serve(script)
    base = server.url.rsplit("/", 1)[0]
    moved, ftp, broken = fetch_all([f"{base}/alt/rss", f"{base}/ftp", f"{base}/broken"])
    assert isinstance(moved, FetchResult) and moved.content == FEED
    assert moved.url == moved.permanent_url == server.url
    assert server.connections == 1  # the redirect's page was read, its connection kept
    assert isinstance(ftp, FetchError) and ftp.kind is ErrorKind.REDIRECT
    assert "'ftp' URL" in ftp.message
    assert isinstance(broken, FetchError) and broken.kind is ErrorKind.REDIRECT
    assert "invalid URL" in broken.message


def test_a_location_in_latin_1_or_twice_is_followed_as_the_server_meant_it(
    serve: Callable,
) -> None:
    """An old IIS or Apache sends a file name's Latin-1 bytes raw ("Straße" as 0xDF): they
    are percent-encoded as they came, as curl does (decoded as Latin-1 and sent as UTF-8
    they asked for another file: a 404). Of two Location headers the first counts (they
    were joined into "/a.xml, /b.xml")."""
    asked: list[bytes] = []

    def script(peer: _Peer) -> None:
        while (head := peer.request()) is not None:
            path = head.split(b" ")[1]
            asked.append(path)
            if path == b"/alt":
                peer.send(
                    b"HTTP/1.1 301 Moved\r\nLocation: /Stra\xdfe.xml\r\nContent-Length: 0\r\n\r\n"
                )
            elif path == b"/zwei":
                peer.send(answer(b"", "Location: /a.xml", "Location: /b.xml", status="302 Found"))
            elif path in (b"/Stra%DFe.xml", b"/a.xml"):
                peer.send(answer(FEED))
            elif path == b"/weg":
                peer.send(answer(b"", "Location: /neu.xml", status="302 Found"))
            else:
                peer.send(answer(b"", status="404 Not Found"))

    server = serve(script)
    base = server.url.rsplit("/", 1)[0]
    latin, twice, missing = fetch_all([f"{base}/alt", f"{base}/zwei", f"{base}/weg"])
    assert isinstance(latin, FetchResult) and latin.url == f"{base}/Stra%DFe.xml"
    assert isinstance(twice, FetchResult) and twice.url == f"{base}/a.xml"
    assert asked[:4] == [b"/alt", b"/Stra%DFe.xml", b"/zwei", b"/a.xml"]
    # A 404 behind a redirect names the URL that answered it, the one to check.
    assert isinstance(missing, FetchError) and missing.status_code == 404
    assert str(missing) == (
        f"HTTP 404 Not Found: check the URL (answered by {base}/neu.xml, where the source's "
        "URL redirects)"
    )


def test_no_proxy_sends_its_hosts_past_the_proxy(
    serve: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = serve(keep_alive(lambda head: answer(FEED)))
    proxied = proxy_from_environment(
        serve, monkeypatch, b"<from-proxy/>", no_proxy="127.0.0.1,localhost"
    )
    [result] = fetch_all([site.url])
    assert isinstance(result, FetchResult) and result.content == FEED
    assert proxied == []


@contextlib.contextmanager
def unanswering_address() -> Iterator[tuple[str, int]]:
    """An address on loopback that never answers a connect: a listener whose queue is full
    drops every further handshake, as a host behind a broken route does."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    filler = socket.create_connection(listener.getsockname())
    try:
        yield listener.getsockname()
    finally:
        filler.close()
        listener.close()


def test_a_name_whose_first_address_does_not_answer_is_fetched_from_the_next(
    serve: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Addresses are raced as browsers do: the next one is tried after a quarter second
    without an answer, not after the connect timeout; one refused is followed at once."""
    server = serve(keep_alive(lambda head: answer(FEED)))
    port = int(server.url.split(":")[2].split("/")[0])
    refused = socket.create_server(("127.0.0.1", 0))
    refused_address = refused.getsockname()
    refused.close()
    with unanswering_address() as dead:
        resolve(monkeypatch, "zwei-adressen.test", dead, refused_address, ("127.0.0.1", port))
        # A name at private addresses (all here are) is fetched where settings name it.
        settings = dataclasses.replace(
            SETTINGS, connect_timeout=5.0, private_hosts=("zwei-adressen.test",)
        )
        started = time.monotonic()
        [result] = fetch_all([f"http://zwei-adressen.test:{port}/feed.xml"], settings)
        took = time.monotonic() - started
    assert isinstance(result, FetchResult) and result.content == FEED, result
    assert took < 2.0, f"waited {took:.2f} s for an address that does not answer"


def test_when_no_address_of_a_name_takes_the_connection_it_is_a_connect_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed = []
    for _ in range(2):
        listener = socket.create_server(("127.0.0.1", 0))
        closed.append(listener.getsockname())
        listener.close()
    resolve(monkeypatch, "zwei-adressen.test", *closed)
    settings = dataclasses.replace(SETTINGS, private_hosts=("127.0.0.0/8",))
    [error] = fetch_all([f"http://zwei-adressen.test:{closed[0][1]}/feed.xml"], settings)
    assert isinstance(error, FetchError) and error.kind is ErrorKind.CONNECT, error
    assert error.message == "could not connect to the server"


def test_a_request_cancelled_at_any_moment_of_the_race_leaves_no_socket_open(
    serve: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cycle that fails cancels its other sources' requests. On Python 3.11 asyncio's own
    race left the socket of an address that had just won to the garbage collector (one or
    two of this test's 150 cancellations); sockets are counted with the collector off."""
    server = serve(keep_alive(lambda head: answer(FEED)))
    port = int(server.url.split(":")[2].split("/")[0])
    monkeypatch.setattr(connections, "_HAPPY_EYEBALLS_DELAY", 0.02)

    def open_sockets() -> set[str]:
        found = set()
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                if (target := os.readlink(f"/proc/self/fd/{fd}")).startswith("socket:"):
                    found.add(target)
        return found

    async def cancelled_requests() -> set[str]:
        pools = ConnectionPools(keepalive_per_origin=0, max_idle_origins=1, tls=ssl.SSLContext)
        before = open_sockets()  # the event loop's own are among them
        for i in range(150):
            request = httpx.Request("GET", f"http://zwei-adressen.test:{port}/feed.xml")
            task = asyncio.create_task(pools.handle_async_request(request))
            await asyncio.sleep(0.02 + (i % 30) * 0.0003)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                response = await task
                await response.aread()
                await response.aclose()
        await pools.aclose()
        for _ in range(3):
            await asyncio.sleep(0.01)
        return before

    with unanswering_address() as dead:
        resolve(monkeypatch, "zwei-adressen.test", dead, ("127.0.0.1", port))
        gc.disable()
        try:
            before = asyncio.run(cancelled_requests())
            # The server's side of each connection is a socket of this process too; it
            # closes when the client's does, on the server's threads.
            server.wait_for_peers(5.0)
            assert open_sockets() - before == set()
        finally:
            gc.enable()


def test_tls_to_a_host_name_checks_the_certificate_for_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name's socket comes from our own race; TLS must still be for the name asked for."""
    cert, key = make_certificate(tmp_path, "DNS:kreis.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ScriptedServer(keep_alive(lambda head: answer(FEED)), tls=context)
    port = int(server.url.split(":")[2].split("/")[0])
    resolve(monkeypatch, "kreis.test", ("127.0.0.1", port))
    resolve(monkeypatch, "andere.test", ("127.0.0.1", port))
    try:
        named, other = fetch_all(
            [f"https://kreis.test:{port}/feed.xml", f"https://andere.test:{port}/feed.xml"],
            dataclasses.replace(SETTINGS, private_hosts=("127.0.0.1",)),
        )
    finally:
        server.close()
    assert isinstance(named, FetchResult) and named.content == FEED, named
    assert isinstance(other, FetchError) and other.kind is ErrorKind.TLS, other


def test_an_error_page_shorter_than_announced_reports_its_status_not_a_timeout(
    serve: Callable,
) -> None:
    """A 410 whose Content-Length promised more than came, the connection kept open: the
    whole request timed out, so the source was retried and never became gone."""

    def overstated(peer: _Peer) -> None:
        if peer.number > 1:
            keep_alive(lambda head: answer(FEED))(peer)
        elif peer.request() is not None:
            peer.send(b"HTTP/1.1 410 Gone\r\nContent-Length: 500\r\n\r\nshort")
            time.sleep(5)

    server = serve(overstated)
    started = time.monotonic()
    gone, after = fetch_all([server.url, server.url.replace("feed.xml", "other.xml")])
    assert isinstance(gone, FetchError) and gone.kind == "gone", gone
    # The next request on the host does not wait on the half-read connection.
    assert isinstance(after, FetchResult) and server.connections == 2
    assert time.monotonic() - started < SETTINGS.timeout


def test_a_host_that_took_a_connection_and_timed_out_is_skipped_for_the_rest_of_a_cycle(
    serve: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its further sources are left for the next cycle (where a cycle takes only the turns
    it gets); the host is the one that did not answer, after redirects; a host that could
    not be reached at all, as when the network is down, is no reason to skip."""

    def silent(peer: _Peer) -> None:
        if peer.request() is not None:
            time.sleep(2)

    quiet = serve(silent)
    quiet_port = int(quiet.url.split(":")[2].split("/")[0])
    resolve(monkeypatch, "still.test", ("127.0.0.1", quiet_port))

    def forwarding(peer: _Peer) -> None:
        while (head := peer.request()) is not None:
            if head.split()[1] == b"/weiter":
                location = f"Location: http://still.test:{quiet_port}/feed.xml"
                peer.send(answer(b"", location, status="301 Moved Permanently"))
            else:
                peer.send(answer(FEED))

    forwarder = serve(forwarding)
    base = forwarder.url.rsplit("/", 1)[0]
    # still.test is at a loopback address, as every site here.
    settings = dataclasses.replace(SETTINGS, timeout=0.5, private_hosts=("still.test",))

    async def cycle(
        *urls: str, max_turn_wait: float | None = 5.0, connect_timeout: float = 1.0
    ) -> list[object]:
        outcomes: list[object] = []
        limits = dataclasses.replace(settings, connect_timeout=connect_timeout)
        async with Fetcher(limits, max_turn_wait=max_turn_wait) as fetcher:
            for url in urls:
                try:
                    outcomes.append(await fetcher.fetch("kreis", url, may_defer=True))
                except (FetchError, Deferred) as e:
                    outcomes.append(e)
        return outcomes

    still = f"http://still.test:{quiet_port}"
    timed_out, skipped = asyncio.run(cycle(f"{still}/a.xml", f"{still}/b.xml"))
    assert isinstance(timed_out, FetchError) and timed_out.kind is ErrorKind.TIMEOUT
    assert isinstance(skipped, Deferred) and "still.test let a request time out" in str(skipped)
    # Plain `run --once` (no turns taken) asks every source.
    _, asked = asyncio.run(cycle(f"{still}/a.xml", f"{still}/b.xml", max_turn_wait=None))
    assert isinstance(asked, FetchError) and asked.kind is ErrorKind.TIMEOUT
    # Redirected to the silent host: that one is skipped, not the one that redirected.
    _, same_host, redirected_to = asyncio.run(
        cycle(f"{base}/weiter", f"{base}/feed.xml", f"{still}/c.xml")
    )
    assert isinstance(same_host, FetchResult)
    assert isinstance(redirected_to, Deferred)
    with unanswering_address() as (host, port):
        resolve(monkeypatch, "unerreichbar.test", (host, port))
        unreachable = f"http://unerreichbar.test:{port}"
        first, second = asyncio.run(
            # Also when the request's whole time runs out first, while connecting.
            cycle(f"{unreachable}/a.xml", f"{unreachable}/b.xml", connect_timeout=2.0)
        )
    assert isinstance(first, FetchError) and isinstance(second, FetchError)
