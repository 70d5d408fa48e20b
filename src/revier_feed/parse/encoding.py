"""Bytes of an HTML page -> text, with the encoding found the way browsers find it.

Order: byte-order mark, then valid UTF-8 (a legacy page never happens to be valid UTF-8
with non-ASCII bytes, while "UTF-8 declared as ISO-8859-1" is a common CMS mistake), then
the HTTP charset, then ``<meta charset>``, then detection among the encodings German and
Central European sites use, then windows-1252.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# WHATWG: pages labelled Latin-1 or ASCII are decoded as windows-1252 by every browser.
_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso8859-1": "cp1252",
}
_CANDIDATES = ["utf_8", "cp1252", "iso8859_15", "cp1250", "iso8859_2"]


def decode_html(content: bytes, declared: str | None = None) -> str:
    """The text of an HTML document.

    Args:
        content: the body as received.
        declared: the charset from the HTTP Content-Type header, if any.
    """
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return content.decode(encoding, errors="replace")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    meta = _META_CHARSET.search(content[:4096])
    for label in (declared, meta.group(1).decode("ascii", "ignore") if meta else None):
        text = _try(content, label)
        if text is not None:
            return text
    best = charset_normalizer.from_bytes(content, cp_isolation=_CANDIDATES).best()
    if best is not None:
        return str(best)
    return content.decode("cp1252", errors="replace")


def _try(content: bytes, label: str | None) -> str | None:
    if not label:
        return None
    name = _ALIASES.get(label.strip().lower(), label.strip().lower())
    if name in ("utf-8", "utf8"):
        return None  # already tried strictly above; it is mis-declared
    try:
        return content.decode(name)
    except (LookupError, UnicodeDecodeError):
        return None
