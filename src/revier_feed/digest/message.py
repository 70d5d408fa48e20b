"""A rendered digest as a MIME message with the headers mailing-list readers expect.

Every header value passes :func:`header_text` (control characters, CR and LF removed) before
the ``email`` package sees it, and the package's SMTP policy refuses a header with a line
break anyway: nothing in an item can add a header.
"""

from __future__ import annotations

import binascii
import functools
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.generator import BytesGenerator
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from .._utils import ascii_host
from .render import RenderedDigest
from .select import clean


def header_text(value: str) -> str:
    """One line, no control characters (the safe form of any header value)."""
    return clean(value)


def message_id(partner_id: str, period: str, domain: str) -> str:
    """The same for every attempt at (partner, period), so a resend can be recognised."""
    return f"<digest.{period}.{partner_id}@{domain}>"


def mail_domain(public_base_url: str) -> str:
    """The host of the public site, used for Message-ID and List-Id: ASCII, as both must be
    (a host with umlauts in IDNA: "revier-news.müller.example" stopped every digest)."""
    try:
        host = urlsplit(public_base_url).hostname or ""
    except ValueError:
        host = ""
    return ascii_host(host) or "localhost"  # an IPv6 address as a domain literal, "[::1]"


def _mailbox(value: str) -> Address:
    """``Name <local@domain>`` or a bare address as an :class:`Address`, the domain in
    IDNA. The display name is taken as written up to its angle bracket: ``parseaddr``
    read "Stadt Zwenkau, Wirtschaftsförderung <…>" as the address "Stadt" (and every
    digest failed) and "Revier-News: Wochenüberblick <…>" as a group."""
    found = _NAME_ADDR.fullmatch(value.strip())
    if found:
        name, address = found["name"].strip().strip('"').strip(), found["address"].strip()
    else:
        name, address = parseaddr(value)
    return Address(display_name=name, addr_spec=envelope_address(address))


def envelope_address(address: str) -> str:
    """``address`` as SMTP and the headers carry it: a domain with umlauts in IDNA when the
    local part is ASCII, as mail programs send it, so that no SMTPUTF8 is needed (a partner
    at "landkreis-müller.example" got nothing from a server without it). A local part
    with umlauts is kept: only SMTPUTF8 can carry it."""
    local, at, domain = address.rpartition("@")
    if at and local.isascii() and not domain.isascii():
        return f"{local}@{ascii_host(domain) or domain}"
    return address


_NAME_ADDR = re.compile(r"(?P<name>[^<>]*)<(?P<address>[^<>]+)>")


def _ascii_uri(uri: str) -> str:
    """``uri`` in ASCII, as RFC 2369 list headers hold it: the host (or a mailto
    address's domain) in IDNA, other characters percent-encoded."""
    if uri.isascii():
        return uri
    parts = urlsplit(uri)
    if parts.scheme == "mailto":
        local, at, domain = parts.path.rpartition("@")
        path = f"{local}@{ascii_host(domain) or domain}" if at else parts.path
        parts = parts._replace(path=path)
    elif parts.hostname and not parts.hostname.isascii():
        netloc = parts.netloc.replace(parts.hostname, ascii_host(parts.hostname) or "", 1)
        parts = parts._replace(netloc=netloc)
    return quote(urlunsplit(parts), safe="".join(map(chr, range(0x21, 0x7F))))


def build_message(
    rendered: RenderedDigest,
    *,
    sender: str,
    recipients: tuple[str, ...],
    date: datetime,
    msgid: str,
    list_id: str,
    list_name: str,
    reply_to: str | None = None,
    unsubscribe_mailto: str | None = None,
    unsubscribe_url: str | None = None,
    unsubscribe_subject: str = "Abbestellen",
) -> EmailMessage:
    """multipart/alternative (text, then HTML), UTF-8, RFC 2047 subject, list headers."""
    message = EmailMessage(policy=_AS_WRITTEN)
    message["From"] = _address_header("From", header_text(sender))
    message["To"] = ", ".join(map(envelope_address, recipients))
    if reply_to:
        message["Reply-To"] = _address_header("Reply-To", header_text(reply_to))
    message["Date"] = format_datetime(date)
    message["Message-ID"] = msgid
    message["List-Id"] = _header("List-Id", f"{header_text(list_name)} <{list_id}>")
    targets = []
    if unsubscribe_mailto:
        target = _ascii_uri("mailto:" + header_text(unsubscribe_mailto).removeprefix("mailto:"))
        targets.append(f"<{target}?subject={quote(header_text(unsubscribe_subject))}>")
    if unsubscribe_url:
        targets.append(f"<{_ascii_uri(header_text(unsubscribe_url))}>")
    if targets:
        # As written, one target a line: folded by the policy as text, a long one became
        # RFC 2047 words, which the big mail services do not decode there (no one-click
        # unsubscribe). The generator keeps raw headers as they are (_AS_WRITTEN).
        message.set_raw("List-Unsubscribe", ",\r\n ".join(targets))
    if unsubscribe_url:
        # RFC 8058 one-click: mail clients POST to the https target instead of opening it.
        message["List-Unsubscribe-Post"] = _header(
            "List-Unsubscribe-Post", "List-Unsubscribe=One-Click"
        )
    message["Auto-Submitted"] = _header("Auto-Submitted", "auto-generated")
    message["Precedence"] = _header("Precedence", "bulk")
    # The parts are encoded here by binascii (C); set_content() would quoted-printable the text
    # in Python, a sixth of a digest run. base64 for the HTML: nobody reads its source.
    text = binascii.b2a_qp(rendered.text.encode("utf-8"), istext=True)
    encoded = binascii.b2a_base64(rendered.html.encode("utf-8"), newline=False)
    # 76-character lines, as base64.encodebytes makes them (it encodes 57 bytes per call)
    html = b"".join(encoded[i : i + 76] + b"\n" for i in range(0, len(encoded), 76))
    message.set_raw("MIME-Version", "1.0")
    message.set_raw("Content-Type", "multipart/alternative")  # the boundary comes on flattening
    message.set_payload([_part("plain", "quoted-printable", text), _part("html", "base64", html)])
    return _with_subject(message, header_text(rendered.subject))


@functools.lru_cache(maxsize=256)
def _header(name: str, value: str) -> Any:
    """The parsed header (the policy's checks included), once per run for the values every
    digest of a run shares: parsing a header costs more than rendering a story."""
    return SMTP.header_store_parse(name, value)[1]


@functools.lru_cache(maxsize=16)
def _address_header(name: str, value: str) -> Any:
    return SMTP.header_store_parse(name, _mailbox(value))[1]


def _part(subtype: str, encoding: str, payload: bytes) -> MIMEPart:
    part = MIMEPart(policy=SMTP)
    part.set_raw("Content-Type", f'text/{subtype}; charset="utf-8"')
    part.set_raw("Content-Transfer-Encoding", encoding)
    part.set_payload(payload.decode("ascii"))
    return part


def as_bytes(message: EmailMessage, *, utf8: bool = False) -> bytes:
    """``message`` as the bytes SMTP sends (CRLF line ends), the same as
    ``message.as_bytes()`` in a fraction of the time.

    Args:
        utf8: headers in UTF-8 (RFC 6532) instead of RFC 2047 words, for SMTPUTF8.
    """
    out = io.BytesIO()
    _Generator(out, policy=_AS_WRITTEN_UTF8 if utf8 else _AS_WRITTEN).flatten(
        message, linesep="\r\n"
    )
    return out.getvalue()


#: The SMTP policies, keeping the headers stored as written (``set_raw``: the subject and
#: the unsubscribe targets, folded here) as they are, whatever their lines' length.
_AS_WRITTEN = SMTP.clone(refold_source="none")
_AS_WRITTEN_UTF8 = SMTPUTF8.clone(refold_source="none")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message as SMTP sends it: kept whole for a resend, so that it is the same mail."""

    sender: str  #: the envelope sender, from From
    data: bytes
    utf8: bool  #: headers in UTF-8: sent with SMTPUTF8


def outgoing(message: EmailMessage, recipients: Sequence[str]) -> Outgoing:
    """``message`` for ``recipients``, as SMTP sends it (headers in UTF-8 when an address
    needs it, as ``smtplib.send_message`` does)."""
    sender = parseaddr(str(message["From"]))[1]
    utf8 = not all(envelope_address(a).isascii() for a in (sender, *recipients))
    return Outgoing(sender, as_bytes(message, utf8=utf8), utf8)


class _Generator(BytesGenerator):
    """The stdlib writes a body in two calls per line (2,700 lines for a 200 kB digest: half
    of a digest run); replacing every line end at once writes the same bytes."""

    def _write_lines(self, lines: str) -> None:
        if lines:
            if "\r" in lines:  # our parts have none: they come from binascii
                lines = lines.replace("\r\n", "\n").replace("\r", "\n")
            self.write(lines.replace("\n", "\r\n"))  # as_bytes() flattens with CRLF only


def _with_subject(message: EmailMessage, subject: str) -> EmailMessage:
    """``message`` with an RFC 2047 Subject encoded by ``email.header.Header``.

    The default policy's own folding drops the space between two encoded words on Python
    3.11 ("Leipzig – Wirtschaftsförderung" arrives as "Leipzig –Wirtschaftsförderung"), so
    the subject is encoded here and stored the way the parser stores a header it read
    (``set_raw``); the policy keeps such pre-folded headers as they are. ``subject`` has no
    control characters (``header_text``), and ``Header`` folds it into lines of at most 76.
    """
    charset = "us-ascii" if subject.isascii() else "utf-8"
    encoded = Header(subject, charset, header_name="Subject").encode(linesep="\r\n")
    message.set_raw("Subject", encoded)
    return message
