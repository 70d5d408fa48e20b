"""Delivery over SMTP (smtplib): implicit TLS or STARTTLS, login, a rate limit, and failures
sorted into temporary (retry later) and permanent (give up) ones.

The only module that imports smtplib. Credentials are passed in by the caller, who reads them
from environment variables; they are never part of a message, a log line or an error.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from email.message import EmailMessage
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

from ..exceptions import DeliveryError
from .message import Outgoing, envelope_address, outgoing

if TYPE_CHECKING:
    from typing_extensions import Buffer


#: A message (with connecting, if needed) may take this many times ``timeout`` in all; a
#: QUIT or RSET once ``timeout``.
MESSAGE_TIMEOUTS = 4
#: Lines a reply may have: a server's answers have a few; more is a server gone wrong.
MAX_REPLY_LINES = 1000


class Mailer:
    """One SMTP connection, opened on the first message and reused; use as a context manager.

    Args:
        security: "tls" (implicit TLS, port 465), "starttls" (587) or "none" (a local relay).
        rate_limit: messages per minute at most.
        monotonic, sleep: the clock of the rate limit (tests pass their own).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Literal["tls", "starttls", "none"],
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        rate_limit: float = 60.0,
        ca_file: str | None = None,
        local_hostname: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._host = host
        self._port = port
        self._security = security
        self._login = (username, password) if username and password is not None else None
        self._timeout = timeout
        self._interval = 60.0 / rate_limit
        self._ca_file = ca_file
        self._local_hostname = local_hostname
        self._monotonic = monotonic
        self._sleep = sleep
        self._smtp: _Tracked | None = None
        self._connecting: _Tracked | None = None
        self._guard = threading.Lock()
        self._watch = 0  # which watchdog may end the connection (see _watchdog)
        self._aborted = False
        self._last_send: float | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            with self._watchdog(self._timeout):  # QUIT's answer must not hold the run
                try:
                    self._smtp.quit()
                except (smtplib.SMTPException, OSError):
                    self._smtp.close()
            self._smtp = None

    @contextlib.contextmanager
    def _watchdog(self, seconds: float) -> Iterator[None]:
        """End the connection in hand if what runs inside takes longer than ``seconds``:
        smtplib's timeout bounds each read, not a reply, and a server that sends a line
        every few seconds, or lines without end, held the run (and the worker's collection
        with it) for good."""
        with self._guard:
            self._watch += 1
            self._aborted = False
            token = self._watch
        timer = threading.Timer(seconds, self._abort, (token,))
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            with self._guard:  # a timer that fires from now on finds its watch over
                self._watch += 1
            timer.cancel()

    def send(
        self, message: EmailMessage | Outgoing, recipients: Sequence[str]
    ) -> dict[str, tuple[int, str]]:
        """Hand ``message`` to the server for ``recipients`` (an :class:`.Outgoing` goes as
        it is: the bytes of an earlier send).

        Returns:
            The recipients the server refused while accepting the others: address -> (reply
            code, reply text).

        Raises:
            DeliveryError: nothing was accepted; ``permanent`` tells whether to retry.
        """
        self.wait_turn()
        if isinstance(message, EmailMessage):
            message = outgoing(message, recipients)
        smtp: _Tracked | None = None
        try:
            with self._watchdog(self._timeout * MESSAGE_TIMEOUTS):
                try:
                    smtp = self._connection()
                    try:
                        refused = _send(smtp, message, recipients)
                    except smtplib.SMTPServerDisconnected:
                        if smtp.body_sent or self._aborted:  # not idle: too slow, or taken
                            raise
                        # The server closed an idle connection between two messages: reconnect
                        # once.
                        self._smtp = None
                        smtp = self._connection()
                        refused = _send(smtp, message, recipients)
                except (smtplib.SMTPException, OSError) as e:
                    # A reply cut off by the watchdog is no answer, whatever it began with.
                    answered = isinstance(e, smtplib.SMTPResponseException) and (
                        e.smtp_code > 0 and not self._aborted
                    )
                    lost = isinstance(
                        e, (smtplib.SMTPServerDisconnected, OSError, smtplib.SMTPDataError)
                    )
                    if smtp is not None and smtp.body_sent and lost and not answered:
                        raise _Unconfirmed(f"{type(e).__name__}: {_text(str(e))}") from e
                    if self._aborted:
                        raise _TooSlow from e
                    raise
        except _TooSlow:
            raise self._server_wide(
                f"could not talk to {self._host}:{self._port}: its answers took longer than "
                f"{self._timeout * MESSAGE_TIMEOUTS:g} s"
            ) from None
        except _Unconfirmed as e:
            # The whole message went out and no answer came back (the connection dropped or
            # timed out, or the answer was no SMTP reply): the server may well have taken it,
            # and sending it again would mail the partner twice, as often as attempts are left.
            self.close()
            raise DeliveryError(
                f"the server took the whole message but gave no answer ({e}); it is probably "
                "delivered, and not sent again",
                permanent=False,
                unconfirmed=True,
            ) from None
        except smtplib.SMTPRecipientsRefused as e:
            self._reset()
            codes = [code for code, _ in e.recipients.values()]
            detail = "; ".join(f"{a}: {c} {_text(r)}" for a, (c, r) in e.recipients.items())
            raise DeliveryError(
                f"every address was refused ({detail})",
                permanent=all(code >= 500 for code in codes),
                code=max(codes) if codes else None,
            ) from None
        except smtplib.SMTPAuthenticationError as e:
            # Wrong or missing credentials concern every partner, not this one: temporary, so
            # the digests stay due until an admin fixes the login.
            raise self._server_wide(
                f"the server refused the login ({e.smtp_code} {_text(e.smtp_error)}); check "
                "the user name and password in the environment variables that "
                "smtp.username_env and smtp.password_env name",
                e.smtp_code,
            ) from None
        except smtplib.SMTPSenderRefused as e:
            # The sender is every message's ("530 authentication required", "550 sender
            # rejected"): each partner failed for good, one after the other, for a setting.
            raise self._server_wide(
                f"the server refused the sender {e.sender!r} ({e.smtp_code} "
                f"{_text(e.smtp_error)}); check digest.sender and the login",
                e.smtp_code,
            ) from None
        except smtplib.SMTPConnectError as e:
            # Its greeting turned us away (or never ended): every message would meet it.
            raise self._server_wide(
                f"the server's greeting was {e.smtp_code} {_text(e.smtp_error)[:200]}",
                e.smtp_code,
            ) from None
        except smtplib.SMTPResponseException as e:
            self._reset()
            raise DeliveryError(
                f"the server answered {e.smtp_code} {_text(e.smtp_error)}",
                permanent=e.smtp_code >= 500,
                code=e.smtp_code,
            ) from None
        except smtplib.SMTPNotSupportedError as e:
            if self._smtp is not None:
                # Connected, so this message needs what the server lacks: an address with
                # umlauts needs SMTPUTF8. Only this partner is affected.
                self._reset()
                raise DeliveryError(f"the server does not support {e}", permanent=True) from None
            hint = (
                "check smtp.port and smtp.security (STARTTLS on port 587, TLS from the start "
                "on 465)"
                if "STARTTLS" in str(e)
                else "the login (smtp.username_env) needs a server that offers AUTH, which "
                "many offer only after STARTTLS (smtp.security: starttls)"
            )
            raise DeliveryError(  # STARTTLS or AUTH missing: every message is affected
                f"the server lacks what the settings ask for: {_text(str(e))}; {hint}",
                permanent=False,
                server_wide=True,
            ) from None
        except (smtplib.SMTPException, OSError) as e:
            raise self._server_wide(
                f"could not talk to {self._host}:{self._port}: {type(e).__name__}: {e}"
                + _hint(e, self._security)
            ) from None
        finally:
            self._last_send = self._monotonic()
        return {address: (code, _text(reply)) for address, (code, reply) in refused.items()}

    def _server_wide(self, message: str, code: int | None = None) -> DeliveryError:
        """A temporary failure every message would meet: the connection is closed, and the
        rest of the run's digests are not tried."""
        self.close()
        return DeliveryError(message, permanent=False, code=code, server_wide=True)

    def wait_turn(self) -> None:
        """Wait until the rate limit lets the next message go (:meth:`send` waits too; a
        caller that records "sending" before it waits first, so that a run killed while
        waiting is not taken for one killed while a message was under way)."""
        if self._last_send is None:
            return
        wait = self._last_send + self._interval - self._monotonic()
        if wait > 0:
            self._sleep(wait)

    def _connection(self) -> _Tracked:
        if self._smtp is not None:
            return self._smtp
        context = self._tls_context() if self._security != "none" else None
        smtp: _Tracked
        if self._security == "tls":
            smtp = _TrackedSSL(
                local_hostname=self._local_hostname, timeout=self._timeout, context=context
            )
        else:
            smtp = _Tracked(local_hostname=self._local_hostname, timeout=self._timeout)
        # Connected apart from being made, so that the watchdog of :meth:`send` can end a
        # greeting that never ends. smtplib keeps the host for TLS's server name only when
        # it is made with one.
        smtp._host = self._host  # type: ignore[attr-defined]
        self._connecting = smtp
        try:
            code, greeting = smtp.connect(self._host, self._port)
            if code != 220:  # as smtplib checks it when it connects on its own
                raise smtplib.SMTPConnectError(code, greeting)
            _no_delay(smtp)
            smtp.ehlo()
            if self._security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if self._login is not None:
                username, password = self._login
                try:
                    smtp.login(username or "", password or "")
                except UnicodeEncodeError:
                    raise DeliveryError(
                        "the SMTP user name or password holds a character beyond ASCII, "
                        "which Python's SMTP client cannot send; use an ASCII password",
                        permanent=False,
                        server_wide=True,
                    ) from None
        except BaseException:
            smtp.close()
            raise
        finally:
            self._connecting = None
        self._smtp = smtp
        return smtp

    def _tls_context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=self._ca_file)
        except (OSError, ValueError) as e:  # ssl.SSLError is an OSError
            raise DeliveryError(
                f"smtp.ca_file {self._ca_file!r} cannot be used ({e}); it must be a readable "
                "file of PEM certificates",
                permanent=False,
                server_wide=True,
            ) from None

    def _abort(self, token: int) -> None:
        """End the connection in hand from a watchdog's thread, if its watch (``token``) is
        still on: a reply that never ends then fails its read at once."""
        with self._guard:
            if token != self._watch:
                return  # fired as its watch ended: the connection is the next message's
            self._aborted = True
            smtp = self._connecting or self._smtp
            sock = smtp.sock if smtp is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    # Below TLS: ssl's shutdown drops the TLS layer first, and a write of
                    # the sending thread could then go out in the clear.
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def _reset(self) -> None:
        """After a refused message the connection is still usable once reset (RSET)."""
        if self._smtp is None:
            return
        try:
            with self._watchdog(self._timeout):
                self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()


class _TooSlow(Exception):
    """The watchdog ended the connection: the server's answers took too long."""


class _Unconfirmed(Exception):
    """The whole message was written, and no reply to it came."""


class _Tracked(smtplib.SMTP):
    """A connection that knows whether its last message was written whole: smtplib writes
    the DATA section, up to its final ".", in one ``send``."""

    body_sent = False

    def getreply(self) -> tuple[int, bytes]:
        if self.file is None and self.sock is not None:
            self.file = _Lines(self.sock.makefile("rb"))
        if isinstance(self.file, _Lines):
            self.file.read = 0
        return super().getreply()

    def send(self, s: Buffer | str) -> None:
        super().send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.body_sent = True


class _Lines:
    """A reply's lines, at most :data:`MAX_REPLY_LINES` of them (smtplib reads continuation
    lines for as long as they come, keeping each)."""

    def __init__(self, file: Any) -> None:
        self._file = file
        self.read = 0

    def readline(self, limit: int = -1) -> bytes:
        self.read += 1
        if self.read > MAX_REPLY_LINES:
            raise OSError(f"the server's reply went on for more than {MAX_REPLY_LINES} lines")
        line: bytes = self._file.readline(limit)
        return line

    def close(self) -> None:
        self._file.close()


class _TrackedSSL(_Tracked, smtplib.SMTP_SSL):
    """:class:`_Tracked` over implicit TLS."""


def _send(
    smtp: _Tracked, message: Outgoing, recipients: Sequence[str]
) -> dict[str, tuple[int, bytes]]:
    """``smtp.send_message`` for a message flattened already (:func:`.message.outgoing`,
    faster than smtplib's): SMTPUTF8 when its headers need it, and the same errors;
    ``smtp.body_sent`` tells afterwards whether the whole message was written."""
    smtp.body_sent = False
    options: tuple[str, ...] = ()
    if message.utf8:
        smtp.ehlo_or_helo_if_needed()
        if not smtp.has_extn("smtputf8"):
            raise smtplib.SMTPNotSupportedError(
                "One or more source or delivery addresses require internationalized email "
                "support, but the server does not advertise the required SMTPUTF8 capability"
            )
        options = ("SMTPUTF8", "BODY=8BITMIME")
    envelope = {envelope_address(a): a for a in recipients}
    refused = smtp.sendmail(message.sender, list(envelope), message.data, mail_options=options)
    return {envelope.get(a, a): reply for a, reply in refused.items()}


def _no_delay(smtp: smtplib.SMTP) -> None:
    """Turn off Nagle's algorithm on the connection's socket (smtplib leaves it on).

    SMTP is a dialogue of small writes, each waiting for the server's reply: with Nagle on, a
    short write that follows another one before its ACK (the tail of a long DATA section)
    waits for the peer's delayed ACK, up to 40 ms per message on Linux. The option belongs to
    the file descriptor, so it survives STARTTLS wrapping the socket.
    """
    if smtp.sock is not None:
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _hint(error: BaseException, security: str) -> str:
    """What the admin should look at for a connection that failed this way."""
    if isinstance(error, socket.gaierror):
        return " (the host name does not resolve; check smtp.host)"
    if isinstance(error, ConnectionRefusedError):
        return " (nothing accepts connections there; check smtp.host and smtp.port)"
    if isinstance(error, PermissionError):
        return (
            " (this machine does not permit the connection: a firewall or policy; check "
            "smtp.host and smtp.port)"
        )
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = str(error.verify_message or "").lower()
        if "hostname mismatch" in reason or "ip address mismatch" in reason:
            return " (the server's certificate is for another name; check smtp.host)"
        if "expired" in reason or "not yet valid" in reason:
            return " (the server's certificate is out of date; its admin must renew it)"
        return (
            " (the server's certificate is not trusted; for a relay with a certificate of "
            "its own, set smtp.ca_file to its CA)"
        )
    if isinstance(error, ssl.SSLError) and security == "tls":
        return (
            " (the server does not speak TLS from the start; for one on port 587 set "
            "smtp.security: starttls)"
        )
    # smtplib reports a read that timed out as a closed connection.
    if isinstance(error, TimeoutError) or "timed out" in str(error):
        if security != "tls":
            return (
                " (no answer within smtp.timeout; a server that speaks TLS from the start, "
                "on port 465, needs smtp.security: tls; else check smtp.host, smtp.port and "
                "firewalls)"
            )
        return " (no answer within smtp.timeout; check smtp.host, smtp.port and firewalls)"
    return ""


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())
