"""A rendered digest as a MIME message with the headers mailing-list readers expect.

Every header value passes :func:`header_text` (control characters, CR and LF removed) before
the ``email`` package sees it, and the package's SMTP policy refuses a header with a line
break anyway: nothing in an item can add a header.
"""

from __future__ import annotations

from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from urllib.parse import quote, urlsplit

from .render import RenderedDigest
from .select import clean


def header_text(value: str) -> str:
    """One line, no control characters (the safe form of any header value)."""
    return clean(value)


def message_id(partner_id: str, period: str, domain: str) -> str:
    """The same for every attempt at (partner, period), so a resend can be recognised."""
    return f"<digest.{period}.{partner_id}@{domain}>"


def mail_domain(public_base_url: str) -> str:
    """The host of the public site, used for Message-ID and List-Id."""
    return urlsplit(public_base_url).hostname or "localhost"


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
    message = EmailMessage(policy=SMTP)
    name, address = parseaddr(header_text(sender))
    message["From"] = Address(display_name=name, addr_spec=address)
    message["To"] = ", ".join(recipients)
    if reply_to:
        message["Reply-To"] = header_text(reply_to)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = msgid
    message["List-Id"] = f"{header_text(list_name)} <{list_id}>"
    targets = []
    if unsubscribe_mailto:
        target = unsubscribe_mailto.removeprefix("mailto:")
        targets.append(f"<mailto:{target}?subject={quote(header_text(unsubscribe_subject))}>")
    if unsubscribe_url:
        targets.append(f"<{header_text(unsubscribe_url)}>")
    if targets:
        message["List-Unsubscribe"] = ", ".join(targets)
    if unsubscribe_url:
        # RFC 8058 one-click: mail clients POST to the https target instead of opening it.
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message["Precedence"] = "bulk"
    message.set_content(rendered.text, charset="utf-8", cte="quoted-printable")
    # base64 for the HTML part: the email package encodes it in C, quoted-printable in Python
    # (a fifth of the time of a digest run); nobody reads the HTML source of a mail.
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="base64")
    return _with_subject(message, header_text(rendered.subject))


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
