"""A minimal SMTP sink for the digest benchmark: accepts every message and throws it away.

Usage: python bench/smtp_sink.py PORT

Why not aiosmtpd's ``Sink``: aiosmtpd reads the DATA section one line at a time in Python
(an ``await readuntil()`` per line), so a 200 kB digest with its 2,700 base64 lines costs
the sink about 25 ms of CPU before it answers "250" -- on a 2-core machine the sink, not the
sender, set the pace. A real MTA (Postfix, Exim) scans DATA in C. This sink does what they
do in bulk: it looks for the end-of-data marker in whatever arrived, answers pipelined
commands (it advertises PIPELINING, as Postfix does) and keeps TCP_NODELAY on its sockets
(asyncio's default), so a reply is never held back by Nagle's algorithm.

On SIGTERM it prints ``messages bytes`` to stderr and exits.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import ClassVar

END = b"\r\n.\r\n"


class Session(asyncio.Protocol):
    received: ClassVar[list[int]] = [0, 0]  #: messages, bytes (of all sessions)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""
        self.in_data = False
        transport.write(b"220 sink.bench ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        replies = []
        while True:
            if self.in_data:
                # The marker may be the very first line of an empty body (".\r\n").
                if self.buffer.startswith(b".\r\n"):
                    end, skip = 0, 3
                else:
                    end, skip = self.buffer.find(END), len(END)
                if end < 0:
                    break
                self.received[0] += 1
                self.received[1] += end
                self.buffer = self.buffer[end + skip :]
                self.in_data = False
                replies.append(b"250 2.0.0 queued")
                continue
            line, sep, rest = self.buffer.partition(b"\r\n")
            if not sep:
                break
            self.buffer = rest
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                replies.append(
                    b"250-sink.bench\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                    b"250-SMTPUTF8\r\n250 SIZE 52428800"
                )
            elif verb == b"DATA":
                self.in_data = True
                replies.append(b"354 end with <CRLF>.<CRLF>")
            elif verb == b"QUIT":
                replies.append(b"221 bye")
                self.transport.write(b"\r\n".join(replies) + b"\r\n")
                self.transport.close()
                return
            else:  # MAIL, RCPT, RSET, NOOP
                replies.append(b"250 2.0.0 ok")
        if replies:
            self.transport.write(b"\r\n".join(replies) + b"\r\n")


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Session, "127.0.0.1", port)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    print(*Session.received, file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
