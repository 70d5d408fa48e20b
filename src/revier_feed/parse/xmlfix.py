"""Repairs of XML as templates write it, before a strict parser reads it."""

from __future__ import annotations

import html.entities
import re

# An "&" that starts no reference XML knows, with the name after it, if any.
_UNESCAPED_AMPERSAND = re.compile(
    rb"&(?!#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z_:][-\w.:]*;)([A-Za-z][A-Za-z0-9]*(?![A-Za-z0-9=;]))?"
)
#: HTML's entities that browsers read without their ";" ("&nbsp", "&uuml").
_LEGACY_ENTITIES = frozenset(
    name.encode() for name in html.entities.html5 if not name.endswith(";")
)


def escape_bare_ampersands(content: bytes) -> bytes:
    """``content`` with each "&" that starts no reference written as "&amp;" (but in CDATA
    sections, where an "&" is a character).

    A template that pastes text into XML unescaped writes "F&E", "H&M" and "?id=5&lang=de";
    feedparser's loose parser read them as entities and wrote them back with a ";" ("H&M;"),
    and "&lang" in a link became "〈". An HTML entity without its ";" ("&nbsp ") gets it.
    A document in UTF-16 or UTF-32 is left as it is: its bytes are no ASCII.
    """
    if (
        b"&" not in content
        or b"\0" in content[:4]
        or content.startswith((b"\xff\xfe", b"\xfe\xff"))
    ):
        return content
    parts = []
    position = 0
    # By find(), not by a pattern: a CDATA section left open made a pattern scan to the
    # end of the document once for every one of them.
    while (start := content.find(b"<![CDATA[", position)) >= 0:
        parts.append(_UNESCAPED_AMPERSAND.sub(_escaped_ampersand, content[position:start]))
        end = content.find(b"]]>", start)
        if end < 0:
            return b"".join([*parts, content[start:]])
        parts.append(content[start : end + 3])
        position = end + 3
    parts.append(_UNESCAPED_AMPERSAND.sub(_escaped_ampersand, content[position:]))
    return b"".join(parts)


def _escaped_ampersand(found: re.Match[bytes]) -> bytes:
    name = found[1] or b""
    return b"&" + name + b";" if name in _LEGACY_ENTITIES else b"&amp;" + name


_NAMED_REFERENCE = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
_XML_ENTITIES = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})


def html_entities_as_references(content: bytes) -> bytes:
    """``content`` with HTML's named entities XML does not know ("&aelig;", "&uuml;") as
    character references; a name HTML does not know either stays, for the parser to
    refuse. For a document without a DTD of its own, which could define them; and, as
    :func:`escape_bare_ampersands`, not in UTF-16 or UTF-32."""
    if b"&" not in content or b"<!DOCTYPE" in content or b"\0" in content[:4]:
        return content
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content

    def reference(found: re.Match[bytes]) -> bytes:
        if found[1] in _XML_ENTITIES:
            return found[0]
        text = html.entities.html5.get(found[1].decode() + ";")
        if text is None:
            return found[0]
        return "".join(f"&#{ord(c)};" for c in text).encode()

    return _NAMED_REFERENCE.sub(reference, content)
