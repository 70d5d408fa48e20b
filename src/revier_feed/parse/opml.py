"""OPML subscription lists -> the feeds they name (``sources import``).

OPML 1.0 and 2.0 as feed readers export them: an ``<outline>`` with an ``xmlUrl`` is a
feed, one without that holds others is a folder. Readers differ in details, all taken:
attribute names in any case (``xmlurl``), the title in ``text`` or ``title``, folders
nested at any depth, outlines straight in ``<opml>`` without a ``<body>``, OPML 2.0's
``category`` (comma-separated paths), OPML 1.0's ``type="rss"`` with ``url``, titles
escaped twice.
"""

from __future__ import annotations

import html
import re

from lxml import etree

from ..exceptions import ParseError
from ..models import SOURCE_ID_ATTRIBUTE, ListedFeed

#: ``type`` of an outline whose ``url`` is a feed (OPML 1.0 writers without ``xmlUrl``).
_FEED_TYPES = frozenset({"rss", "atom", "feed"})

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
)


def read_opml(name: str, data: bytes) -> list[ListedFeed]:
    """The feeds an OPML document names, in its order (an address named twice, twice).

    Raises:
        ParseError: ``data`` is no well-formed XML or no OPML; ``name`` (the file) is
            its ``source_id``.
    """
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as e:
        # lxml's message ends in "line L, column C (<string>, line L)".
        message = re.sub(r",? line \d+, column \d+.*$", "", str(e.msg))
        raise ParseError(
            name, message=f"{name} is not well-formed XML at line {e.lineno}: {message}"
        ) from None
    if root is None or not isinstance(root.tag, str) or _local(root.tag) != "opml":
        tag = _local(root.tag) if root is not None and isinstance(root.tag, str) else "?"
        raise ParseError(name, message=f"{name} is not an OPML file: its root is <{tag}>")
    feeds: list[ListedFeed] = []
    for outline in root.iter():
        if not isinstance(outline.tag, str) or _local(outline.tag) != "outline":
            continue
        attrs = _attributes(outline)
        url = attrs.get("xmlurl", "")
        if not url and attrs.get("type", "").lower() in _FEED_TYPES:
            url = attrs.get("url", "")  # OPML 1.0 as Radio UserLand wrote it
        if not url:
            continue
        # lxml refuses a document nested deeper than 256 elements: this walk is short.
        folders = tuple(
            title
            for ancestor in reversed(list(outline.iterancestors()))
            if isinstance(ancestor.tag, str) and _local(ancestor.tag) == "outline"
            if (title := _title(_attributes(ancestor)))
        )
        feeds.append(
            ListedFeed(
                url=url,
                title=_title(attrs),
                site_url=attrs.get("htmlurl") or None,
                folders=folders,
                categories=tuple(
                    " ".join(part.split())
                    for path in attrs.get("category", "").split(",")
                    for part in path.split("/")
                    if part.strip()
                ),
                line=outline.sourceline or 0,
                source_id=attrs.get(SOURCE_ID_ATTRIBUTE.lower()) or None,
            )
        )
    return feeds


def _attributes(outline: etree._Element) -> dict[str, str]:
    return {str(k).lower(): str(v).strip() for k, v in outline.attrib.items()}


def _title(attrs: dict[str, str]) -> str:
    # Feedly, Inoreader and The Old Reader escape titles twice ("don&amp;#39;t"); only
    # whole references are read ("Lokales&regionales" is no "®ionales").
    text = attrs.get("text") or attrs.get("title") or ""
    return " ".join(_REFERENCE.sub(lambda m: html.unescape(m[0]), text).split())


_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def _local(tag: str) -> str:
    """A tag's name without its namespace (OPML has none, but some writers add one)."""
    return tag.rsplit("}", 1)[-1].lower()
