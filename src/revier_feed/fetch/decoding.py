"""Response bodies decompressed in bounded steps, so that the body cap bounds memory too.

httpx inflates each chunk read from the network whole: 128 KB of gzip-compressed zeros
became 131 MB at once, before the cap on the body's size could look at it (a cycle's peak
memory rose by 250 MB on a 3 MB bomb). Here no step gives more than :data:`STEP` bytes.
``gzip`` and ``x-gzip`` (RFC 9110 says to read it as gzip; httpx did not know it), and
``deflate`` with or without its zlib header are decoded, as ``Accept-Encoding`` asks for
them; a compression that was not asked for (``br``, ``zstd``) is an error that names it,
and other unknown codings (``identity``, ``none``, a charset) are taken as none.
A body cut inside the compressed text is an error; a gzip body whose text is whole and
only its checksum trailer is missing is read, as browsers read it.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator, Iterator

import httpx

#: The most one step of decompression gives.
STEP = 64 * 1024


class _Inflater:
    """One ``gzip`` or ``deflate`` layer."""

    def __init__(self, coding: str) -> None:
        self._deflate = coding == "deflate"
        # Servers send "deflate" both with the zlib header (as the RFC says) and without.
        self._raw_tried = False
        self._started = False
        #: A deflate body's first byte, while zlib could not yet tell its header from raw
        #: deflate (a first piece of one byte).
        self._first = b""
        self._decompressor = zlib.decompressobj(zlib.MAX_WBITS | (0 if self._deflate else 16))
        #: Bytes after the end of a gzip member, not yet known to begin another one.
        self._after = b""
        #: What follows the last member is no gzip: dropped, as other readers do.
        self._ignoring = False
        #: The CRC-32 and size of the gzip member's text so far, for its trailer.
        self._crc = 0
        self._size = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._deflate and not self._started:
            # zlib tells its header from raw deflate by the first two bytes; fed one, it
            # waits, and the raw deflate it would then refuse could not be read from the
            # start any more.
            data = self._first + data
            self._first = data if len(data) < 2 else b""
            if self._first:
                return
        while True:
            if self._decompressor.eof:
                data = self._next_member(data)
                if not data:
                    return
            try:
                out = self._decompressor.decompress(data, STEP)
            except zlib.error as e:
                if self._deflate and not self._started and not self._raw_tried:
                    self._raw_tried = True
                    self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise httpx.DecodingError(str(e)) from None
            self._started = self._started or bool(data)
            if self._decompressor.eof:
                # What came after the member's end; zlib may leave a copy of it in
                # unconsumed_tail too, which is not to be fed again.
                self._after += self._decompressor.unused_data
                data = b""
            else:
                data = self._decompressor.unconsumed_tail
            if out:
                if not self._deflate:
                    self._crc = zlib.crc32(out, self._crc)
                    self._size += len(out)
                yield out
            elif not data and not (self._decompressor.eof and self._after):
                return

    def _next_member(self, data: bytes) -> bytes:
        """After a member's end: the input of the gzip member that follows (RFC 1952 allows
        several, as `cat a.gz b.gz` writes them), or nothing to feed."""
        if self._deflate or self._ignoring:
            return b""
        following = self._after + data
        self._after = b""
        if len(following) < 2:
            self._after = following  # the next member's first byte, perhaps
            return b""
        if not following.startswith(b"\x1f\x8b"):
            self._ignoring = True
            return b""
        self._decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self._crc = self._size = 0
        return following

    def flush(self) -> Iterator[bytes]:
        """What is left once the input has ended.

        Raises:
            Truncated: the input stopped inside a gzip member or deflate stream.
        """
        yield from self.feed(b"")
        whole = self._decompressor.eof or self._only_trailer_missing()
        try:
            rest = self._decompressor.flush()
        except zlib.error as e:
            raise httpx.DecodingError(str(e)) from None
        if rest:
            yield rest
        # zlib's flush() gives what it can of a cut stream without a word; a cut body would
        # then pass for a whole one (a listing with fewer items, an article without its end).
        if (self._started and not whole) or self._first:
            raise Truncated("the compressed body ended before its end mark")

    def _only_trailer_missing(self) -> bool:
        """Whether the gzip member's text ended and only (part of) the 8-byte trailer after
        it is missing: its CRC-32 and size, as the text read gives them, end the member
        where so many bytes of them came (feeding them to a cut text ends nothing)."""
        if self._deflate or not self._started:
            return False
        trailer = struct.pack("<II", self._crc, self._size & 0xFFFFFFFF)
        for came in range(len(trailer)):
            probe = self._decompressor.copy()
            try:
                probe.decompress(trailer[came:], STEP)
            except zlib.error:
                continue
            if probe.eof:
                return True
        return False


def _layers(content_encoding: str) -> list[_Inflater]:
    """The decoders of a ``Content-Encoding`` value, in the order to apply them (the last
    coding applied by the server first).

    Raises:
        UnsupportedCoding: a compression that was not asked for (``br``, ``zstd``; a server
            that sends its precompressed files whatever the request accepts).
    """
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    for coding in codings:
        if coding in _UNSUPPORTED:
            raise UnsupportedCoding(coding)
    known = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate"}
    return [_Inflater(known[c]) for c in reversed(codings) if c in known]


#: Compressions a body may come in that are not decoded here; other unknown codings
#: ("identity", "none", a charset sent by mistake) are taken as no coding, as browsers do.
_UNSUPPORTED = frozenset({"br", "zstd", "compress", "x-compress", "bzip2", "x-bzip2", "lzma"})


class UnsupportedCoding(httpx.DecodingError):
    """The body is compressed in a way that was not asked for and cannot be read."""


class Truncated(httpx.DecodingError):
    """A compressed body stopped before its end: the connection was cut where the HTTP
    framing could not tell (a body ended by closing the connection), or the server's
    compression broke off."""


class RawTooLarge(Exception):
    """More bytes came over the network than the body may have (what follows a gzip
    body's end is dropped, so it would not count otherwise)."""


async def decoded(response: httpx.Response, max_raw: int) -> AsyncIterator[bytes]:
    """``response``'s body as its ``Content-Encoding`` says, no piece larger than
    :data:`STEP` bytes (raw pieces as the server sent them, where it is not encoded).

    Raises:
        httpx.DecodingError: the body is not what its encoding says (a broken gzip).
        Truncated: the compressed body stopped before its end.
        RawTooLarge: more than ``max_raw`` bytes came.
    """
    layers = _layers(response.headers.get("content-encoding", ""))
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > max_raw:
            raise RawTooLarge
        for piece in _through(layers, chunk):
            yield piece
    for at, layer in enumerate(layers):
        for rest in layer.flush():
            for piece in _through(layers[at + 1 :], rest):
                yield piece


def _through(layers: list[_Inflater], data: bytes) -> Iterator[bytes]:
    if not layers:
        if data:
            yield data
        return
    first, rest = layers[0], layers[1:]
    for out in first.feed(data):
        yield from _through(rest, out)
