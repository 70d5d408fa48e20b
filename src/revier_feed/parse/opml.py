"""OPML subscription lists -> the feeds they name (``sources import``).

OPML 1.0 and 2.0 as feed readers export them: an ``<outline>`` with an ``xmlUrl`` is a
feed, one without that holds others is a folder. Readers differ in details, all taken:
attribute names in any case (``xmlurl``), the title in ``text`` or ``title``, folders
nested at any depth, outlines straight in ``<opml>`` without a ``<body>``, OPML 2.0's
``category`` (comma-separated paths), OPML 1.0's ``type="rss"`` with ``url``, titles
escaped twice. As lists are written by hand or by templates, also an "&" that starts no
reference ("?a=1&b=2"), HTML's entities ("&auml;") and blanks before the XML declaration;
other damage (a missing end tag, a cut file) is refused with its line, not salvaged: a list
read in part would lose feeds without a word. Liferea's ``type="source"`` outline names
another list, not a feed.
"""

from __future__ import annotations

import contextlib
import html
import re

from lxml import etree

from ..exceptions import ParseError
from ..models import SOURCE_ID_ATTRIBUTE, ListedFeed
from .xmlfix import escape_bare_ampersands, html_entities_as_references

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
    root = _root(name, data)
    if root is None or not isinstance(root.tag, str) or _local(root.tag) != "opml":
        tag = _local(root.tag) if root is not None and isinstance(root.tag, str) else "?"
        raise ParseError(name, message=f"{name} is not an OPML file: its root is <{tag}>")
    feeds: list[ListedFeed] = []
    for outline in root.iter():
        if not isinstance(outline.tag, str) or _local(outline.tag) != "outline":
            continue
        attrs = _attributes(outline)
        url = _feed_url(attrs)
        if not url:
            continue
        # lxml refuses a document nested deeper than 256 elements: this walk is short. An
        # outline that is a feed itself is no folder of those in it.
        folders = tuple(
            title
            for ancestor in reversed(list(outline.iterancestors()))
            if isinstance(ancestor.tag, str) and _local(ancestor.tag) == "outline"
            for ancestor_attrs in [_attributes(ancestor)]
            if not _feed_url(ancestor_attrs) and (title := _title(ancestor_attrs))
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
                is_list=attrs.get("type", "").lower() == "source",
            )
        )
    return feeds


def _root(name: str, data: bytes) -> etree._Element:
    """The document's root; a template's bare "&" and HTML entities mended, if need be."""
    if data[:1].isspace() and data.lstrip().startswith(b"<?xml"):
        data = data.lstrip()  # what a template's first line left before the declaration
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as e:
        mended = html_entities_as_references(escape_bare_ampersands(data))
        if mended != data:
            with contextlib.suppress(etree.XMLSyntaxError):
                return etree.fromstring(mended, _PARSER)
        # lxml's message ends in "line L, column C (<string>, line L)".
        message = re.sub(r",? line \d+, column \d+.*$", "", str(e.msg))
        if "encoding" in message.lower():
            message += (
                " (the file is not in the encoding it declares, UTF-8 if it declares none:"
                " save it as UTF-8)"
            )
        raise ParseError(
            name, message=f"{name} is not well-formed XML at line {e.lineno}: {message}"
        ) from None


def _feed_url(attrs: dict[str, str]) -> str:
    url = attrs.get("xmlurl", "")
    if not url and attrs.get("type", "").lower() in _FEED_TYPES:
        url = attrs.get("url", "")  # OPML 1.0 as Radio UserLand wrote it
    return url


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
