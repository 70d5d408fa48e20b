"""An HTML page's ``<meta http-equiv="refresh">``, read as browsers read it.

A page that sends browsers on at once ("Sie werden weitergeleitet", a site moved by its
old CMS) is a redirect to them; the fetcher follows it as one. Read as the site's own, it
was a feed that is none, a listing without items, or an article's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

#: How much of a page is searched for a refresh: it belongs in the head.
SCAN = 32 * 1024
#: The longest delay read, in seconds (a longer one is as good as none to us).
_LONGEST = 10**6


@dataclass(frozen=True, slots=True)
class Refresh:
    """A page's refresh: after ``delay`` seconds, to ``url`` (relative to ``base``)."""

    delay: int
    url: str
    base: str | None  #: the page's ``<base href>`` before it, if any
    by_header: bool = False  #: given by a ``Refresh`` header, not a ``<meta>``


#: Where the scan looks: a comment (skipped whole, as browsers do), the start or end of an
#: element whose text is no markup, of ``<noscript>``, a ``<meta>`` or ``<base>``.
_MARKUP = re.compile(
    rb"<(?:(!--)|(/?)(script|style|template|textarea|title|xmp|noscript|meta|base)(?=[\s/>]))"
)
_RAW_TEXT = frozenset({b"script", b"style", b"template", b"textarea", b"title", b"xmp"})
#: An attribute in a start tag: its name, and its value in quotes or without.
_ATTRIBUTE = re.compile(rb"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]*)))?""")
_TAG_LENGTH = 4096
_WHITESPACE = " \t\n\f\r"


def page_refresh(content: bytes, content_type: str, header: str | None = None) -> Refresh | None:
    """The refresh of an HTML page that a browser acts on: its ``Refresh`` header (as PHP's
    ``header("Refresh: 0; url=…")`` sends it), else the first ``<meta http-equiv>`` in its
    first :data:`SCAN` bytes: not one in a comment, a script's text or ``<noscript>`` (for
    browsers without scripts, a notice to turn them on), nor one whose content the HTML
    Standard refuses."""
    if "html" not in (content_type or "text/html").lower():
        return None
    if header is not None and (parsed := _refresh_content(header)) is not None:
        return Refresh(parsed[0], parsed[1], None, by_header=True)
    window = content[:SCAN].lower()
    base: str | None = None
    hidden = False
    position = 0
    while (found := _MARKUP.search(window, position)) is not None:
        comment, closing, name = found.groups()
        if comment:
            end = window.find(b"-->", found.end())
            if end < 0:
                return None  # the rest of the page is the comment
            position = end + 3
            continue
        if closing:
            hidden = hidden and name != b"noscript"
            position = found.end()
            continue
        if name in _RAW_TEXT:
            end = window.find(b"</" + name, found.end())
            if end < 0:
                return None
            position = end
            continue
        if name == b"noscript":
            hidden = True
            position = found.end()
            continue
        attributes, position = _attributes(content, found.end())
        if name == b"base":
            if base is None and b"href" in attributes:
                base = _text(attributes[b"href"])
            continue
        equiv = attributes.get(b"http-equiv", b"").strip().lower()
        if hidden or equiv != b"refresh" or b"content" not in attributes:
            continue
        parsed = _refresh_content(_text(attributes[b"content"]))
        if parsed is not None:
            return Refresh(parsed[0], parsed[1], base)
    return None


def _attributes(content: bytes, start: int) -> tuple[dict[bytes, bytes], int]:
    """A start tag's attributes from ``start`` (after its name), by lower-case name (the
    first of a name counts, as in HTML), and where the tag ends."""
    attributes: dict[bytes, bytes] = {}
    position = start
    end = min(len(content), start + _TAG_LENGTH)
    while position < end:
        while position < end and content[position] in b" \t\n\f\r/":
            position += 1
        if position >= end or content[position] == ord(">"):
            return attributes, position + 1
        found = _ATTRIBUTE.match(content, position, end)
        if found is None:
            position += 1
            continue
        value = next((v for v in found.groups()[1:] if v is not None), b"")
        attributes.setdefault(found[1].lower(), value)
        position = max(found.end(), position + 1)
    return attributes, position


def _text(value: bytes) -> str:
    """An attribute's value as text: UTF-8, else windows-1252 (what German pages not in
    UTF-8 are written in), its character references read."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        text = value.decode("cp1252", errors="replace")
    return unescape(text)


def _refresh_content(text: str) -> tuple[int, str] | None:
    """The delay and address of a refresh's ``content`` ("0; URL='/neu/'"), read as the
    HTML Standard's shared declarative refresh steps read it; None where they stop (no
    delay, or a delay followed by other text: "5x")."""
    position, size = _skip(text, 0), len(text)
    digits_end = position
    while digits_end < size and text[digits_end].isascii() and text[digits_end].isdigit():
        digits_end += 1
    digits = text[position:digits_end]
    if not digits and (digits_end >= size or text[digits_end] != "."):
        return None
    significant = digits.lstrip("0")  # "0000003600" is an hour
    delay = min(int(significant), _LONGEST) if len(significant) <= 9 and significant else 0
    if len(significant) > 9:
        delay = _LONGEST
    position = digits_end
    while position < size and (text[position] == "." or text[position] in "0123456789"):
        position += 1
    if position < size:
        if text[position] not in ";," + _WHITESPACE:
            return None
        position = _skip(text, position)
        if position < size and text[position] in ";,":
            position = _skip(text, position + 1)
    address = text[position:]
    if address[:3].lower() == "url":
        rest = _skip(address, 3)
        if rest < len(address) and address[rest] == "=":
            address = address[_skip(address, rest + 1) :]
    if address[:1] in ("'", '"'):
        address = address[1:].partition(address[0])[0]
    return delay, address.strip(_WHITESPACE)


def _skip(text: str, position: int) -> int:
    """``position`` moved past ASCII whitespace."""
    while position < len(text) and text[position] in _WHITESPACE:
        position += 1
    return position
