"""A fast reader for the common, well-formed RSS 2.0 and Atom 1.0 feed, with lxml.

It gives exactly what feedparser (``sanitize_html=False, resolve_relative_uris=False``)
gives for the fields revier-feed reads, or declines: :func:`read_entries` returns None for
anything it does not fully handle, and ``parse/feed.py`` then asks feedparser. Declined
are: XML that is not well-formed (feedparser salvages what it can), a DOCTYPE (entities),
encodings other than UTF-8, RSS 0.90/1.0 and Atom 0.3, XHTML or base64 content, elements
of an entry it does not know, element children where text is expected, repeated single
elements, dates it cannot read exactly as feedparser would, items or entries spelled
otherwise (``<Item>``, another namespace, the other format's name), a feed title in
``dc:title``, empty or attributed RSS links, empty Atom ids and ``rdf:about`` on RSS items.
``tests/test_fastfeed.py`` compares both parsers on a corpus of real-world shapes; session
39 also ran both on feedparser's own test corpus (2,106 documents, see docs/probes.md).

Entries come back as plain dicts with feedparser's keys, so one function turns either
parser's entries into ``RawItem``. Where feedparser has quirks (the last alternate link
wins, a permalink guid stands in for a missing link, Latin-1-read UTF-8 is repaired, C1
controls are mapped to windows-1252), they are reproduced on purpose.
"""

from __future__ import annotations

import contextlib
import re
import time
import urllib.parse
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from lxml import etree

from .._utils import join_url
from .encoding import c1_as_cp1252, declared_encoding, http_charset

_ATOM = "{http://www.w3.org/2005/Atom}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_MEDIA = "{http://search.yahoo.com/mrss/}"
_XML = "{http://www.w3.org/XML/1998/namespace}"
_XML_BASE = _XML + "base"
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
_RSS_VERSIONS = frozenset({"2.0", "0.91", "0.92"})
# Children of an RSS item that feedparser reads into fields we do not use; no effect.
_RSS_IGNORED = frozenset(
    {
        "comments",
        "{http://wellformedweb.org/CommentAPI/}commentRss",
        "{http://purl.org/rss/1.0/modules/slash/}comments",
    }
)
_ATOM_IGNORED = frozenset({_ATOM + "rights", _ATOM + "contributor"})
#: What a picture's media:content says about it, none of it the entry's: its caption (which
#: feedparser would take as the entry's text, see feed._without_captions), credit and
#: copyright.
_MEDIA_CAPTIONS = frozenset({_MEDIA + "description", _MEDIA + "credit", _MEDIA + "copyright"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_CONTENT_TYPES = {"text": "text/plain", "html": "text/html", "xhtml": "application/xhtml+xml"}
_URIFIXER = re.compile("^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")
_LINK_REF = re.compile("&([A-Za-z0-9_]+);")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_RFC822 = re.compile(
    r"^(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Z][a-z]{2})\s+(\d{4})\s+(\d{2}):(\d{2})(?::(\d{2}))?"
    r"\s+([+-]\d{4}|GMT|UT|UTC|Z)$"
)
_W3C = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$")
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
)


class Unsupported(Exception):
    """This document is not one the fast reader fully handles; feedparser must read it."""


def read_entries(
    content: bytes, headers: dict[str, str]
) -> tuple[str | None, list[dict[str, Any]]] | None:
    """The feed's title and its entries as feedparser would give them, or None to decline.

    Args:
        content: the document as fetched.
        headers: the response headers, lower-case names, with ``content-location`` set.
    """
    try:
        return _read(content, headers)
    except (Unsupported, etree.XMLSyntaxError, ValueError, OverflowError):
        return None


def _read(content: bytes, headers: dict[str, str]) -> tuple[str | None, list[dict[str, Any]]]:
    _check_encoding(content, headers)
    head = content[:2048]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in content:
        raise Unsupported("DTD")
    root = etree.fromstring(content, _PARSER)
    if root.getroottree().docinfo.doctype:
        # After a long comment (a licence): undefined entities in attributes were dropped
        # silently ("stra&szlig;e.html" became "strae.html").
        raise Unsupported("DTD")
    location = headers.get("content-location", "")
    base = location if urllib.parse.urlsplit(location).scheme in ("http", "https") else ""
    base = _rebase(base, root)
    if root.tag == "rss" and root.get("version") in _RSS_VERSIONS:
        elements = [c for c in root if isinstance(c.tag, str)]
        if len(elements) != 1 or elements[0].tag != "channel":
            # Items beside the channel, a second channel (feedparser reads "<CHANNEL>" too).
            raise Unsupported("RSS layout")
        channel = elements[0]
        _refuse_look_alikes(channel, "item", "title")
        _refuse_nested_titles(channel, "item")
        base = _rebase(base, channel)
        for node in channel.iterchildren("title"):
            _text_construct(node)
        title = _single_text(channel, "title", base)
        return title, [_rss_item(item, _rebase(base, item)) for item in channel.iter("item")]
    if root.tag == _ATOM + "feed" and root.get("version") is None:
        _refuse_look_alikes(root, _ATOM + "entry", _ATOM + "title")
        _refuse_nested_titles(root, _ATOM + "entry")
        title = _atom_title(root, base)
        entries = [_atom_entry(e, _rebase(base, e)) for e in root if e.tag == _ATOM + "entry"]
        if sum(1 for _ in root.iter(_ATOM + "entry")) != len(entries):
            raise Unsupported("nested entries")
        return title, entries
    raise Unsupported("format")


def _refuse_look_alikes(parent: Any, tag: str, title_tag: str) -> None:
    """Decline items or entries spelled otherwise (``<Item>``, another namespace, an
    ``<item>`` in an Atom feed or an ``<entry>`` in an RSS channel): feedparser reads
    element names case-blind and takes either name for an entry; here they would be missed
    without a word. So are titles spelled otherwise (``dc:title``, ``atom:title`` in RSS),
    which feedparser takes for the feed's title, and the attributes of Microsoft's CDF
    that feedparser reads on an entry (``href`` its link, ``lastmod`` its date)."""
    for child in parent:
        found = child.tag
        if not isinstance(found, str):
            continue
        if found == tag:
            if any(name.lower() in ("href", "lastmod") for name in child.attrib):
                raise Unsupported("CDF attribute")
            continue
        name = found.rpartition("}")[2].lower()
        if name in ("item", "entry"):
            raise Unsupported(f"entry element {found}")
        if name == "title" and found != title_tag:
            raise Unsupported(f"feed title in {found}")


def _refuse_nested_titles(parent: Any, entry_tag: str) -> None:
    """Decline a title inside another element of the feed's head (but a channel's image or
    text input): feedparser takes it for the feed's title where the feed has none. Markup
    inside an image's or a text input's fields lets their title out to the feed too."""
    for child in parent:
        if child.tag == entry_tag or not len(child):
            continue
        if child.tag in ("image", "textInput", "textinput"):
            if any(len(field) for field in child):
                raise Unsupported(f"markup in {child.tag}")
            continue
        for node in child.iter():
            if isinstance(node.tag, str) and node.tag.rpartition("}")[2].lower() == "title":
                raise Unsupported("nested title")


def _check_encoding(content: bytes, headers: dict[str, str]) -> None:
    """Only UTF-8, declared as such or not at all, where feedparser uses UTF-8 too."""
    content_type = headers.get("content-type", "")
    charset = http_charset(content_type)
    if charset and charset.lower() not in ("utf-8", "utf8"):
        raise Unsupported("HTTP charset")
    if content_type.strip().lower().startswith("text/") and not charset:
        raise Unsupported("text/* without charset is us-ascii to feedparser")
    body = content.removeprefix(b"\xef\xbb\xbf")
    declared = declared_encoding(content)
    if declared and declared.lower() not in ("utf-8", "utf8"):
        raise Unsupported("declared encoding")
    body.decode("utf-8")  # UnicodeDecodeError is a ValueError: declined


def _rss_item(item: Any, base: str) -> dict[str, Any]:
    if _RDF_ABOUT in item.attrib:
        raise Unsupported("rdf:about")  # feedparser takes it as the item's id
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    for child in item:
        tag = child.tag
        if not isinstance(tag, str):  # a processing instruction
            continue
        here = _rebase(base, child)
        if tag in ("title", "description", "guid", "pubDate", "author", "link") or tag in (
            _CONTENT + "encoded",
            _DC + "creator",
            _DC + "date",
        ):
            if tag in seen:
                raise Unsupported(f"repeated {tag}")
            seen.add(tag)
        if tag in ("title", "description", _CONTENT + "encoded"):
            _text_construct(child)
        if tag == "title":
            entry["title"] = _text(child)
        elif tag == "link":
            link = _text(child)
            if not link or len(child.attrib):
                # feedparser leaves an empty link empty and takes an href attribute; made
                # absolute, an empty one became the feed's own URL for every such item.
                raise Unsupported("link without text or with attributes")
            entry["link"] = _link_text(join_feed_url(here, link))
        elif tag in ("description", _CONTENT + "encoded") and "type" in _attrs(child):
            raise Unsupported("typed description")  # feedparser takes type="text" as text
        elif tag == "description":
            entry["summary"] = _text(child)
        elif tag == _CONTENT + "encoded":
            entry["content"] = [{"value": _text(child)}]
        elif tag == "guid":
            permalink = _attrs(child).get("ispermalink", "true") == "true"
            value = _text(child)
            entry["id"] = join_feed_url(here, value) if permalink and value else value
            if permalink and "link" not in entry:
                entry["link"] = entry["id"]
        elif tag in ("author", _DC + "creator"):
            entry["author"] = _text(child)
        elif tag == "pubDate":
            entry["published"], entry["published_parsed"] = _date(_text(child))
        elif tag == _DC + "date":
            entry["updated"], entry["updated_parsed"] = _date(_text(child))
        elif tag in ("category", _DC + "subject"):
            attrs = _attrs(child)
            scheme = attrs.get("scheme", attrs.get("domain"))
            _add_tag(entry, attrs.get("term"), scheme, attrs.get("label"))
            if value := _text(child):
                tags = entry["tags"] if entry.get("tags") else []
                if tags and not tags[-1]["term"]:
                    tags[-1]["term"] = value
                else:
                    _add_tag(entry, value, None, None)
        elif tag == "enclosure":
            _enclosure(entry, child)
        elif tag == _MEDIA + "thumbnail":
            _thumbnail(entry, child)
        elif tag == _MEDIA + "content":
            _media_content(entry, child)
        elif tag not in _RSS_IGNORED or len(child):
            raise Unsupported(f"item element {tag}")
    if "content" in entry:
        entry.setdefault("summary", entry["content"][0]["value"])
    return entry


def _atom_entry(node: Any, base: str) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    for child in node:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        here = _rebase(base, child)
        if tag in (_ATOM + "title", _ATOM + "summary", _ATOM + "content", _ATOM + "id") or tag in (
            _ATOM + "published",
            _ATOM + "updated",
            _ATOM + "author",  # feedparser mixes several authors' names and emails
        ):
            if tag in seen:
                raise Unsupported(f"repeated {tag}")
            seen.add(tag)
        if tag == _ATOM + "title":
            _text_construct(child)
            entry["title"] = _text(child)
        elif tag == _ATOM + "id":
            if not _text(child):
                raise Unsupported("empty id")  # made absolute, it was the feed's URL
            if "ispermalink" in _attrs(child):
                raise Unsupported("id with isPermaLink")  # feedparser reads it as on a guid
            entry["id"] = join_feed_url(here, _text(child))
            entry.setdefault("link", entry["id"])
        elif tag == _ATOM + "link":
            _atom_link(entry, child, here)
        elif tag == _ATOM + "summary":
            entry["summary_detail"] = {"type": _text_construct(child)}
            entry["summary"] = _text(child)
        elif tag == _ATOM + "content":
            if "src" in _attrs(child):
                raise Unsupported("out-of-line content")
            entry["content"] = [{"value": _text(child), "type": _text_construct(child)}]
        elif tag == _ATOM + "author":
            entry["author"] = _atom_author(child)
        elif tag == _ATOM + "published":
            entry["published"], entry["published_parsed"] = _date(_text(child))
        elif tag == _ATOM + "updated":
            entry["updated"], entry["updated_parsed"] = _date(_text(child))
        elif tag == _ATOM + "category":
            if len(child) or (child.text or "").strip():
                raise Unsupported("category with content")
            attrs = _attrs(child)
            _add_tag(entry, attrs.get("term"), attrs.get("scheme"), attrs.get("label"))
        elif tag == _MEDIA + "thumbnail":
            _thumbnail(entry, child)
        elif tag == _MEDIA + "content":
            _media_content(entry, child)
        elif tag not in _ATOM_IGNORED:
            raise Unsupported(f"entry element {tag}")
    if "content" in entry:
        entry.setdefault("summary", entry["content"][0]["value"])
    return entry


def _atom_title(root: Any, base: str) -> str | None:
    titles = [c for c in root if c.tag == _ATOM + "title"]
    if len(titles) > 1:
        raise Unsupported("repeated feed title")
    if not titles:
        return None
    _text_construct(titles[0])
    return _text(titles[0])


def _atom_link(entry: dict[str, Any], link: Any, base: str) -> None:
    _own_attributes(link)
    attrs = _attrs(link)
    rel = attrs.get("rel", "alternate")
    kind = attrs.get("type") or ("application/atom+xml" if rel == "self" else "text/html")
    href = attrs.get("href")
    if href is None or "url" in attrs or "uri" in attrs or len(link) or (link.text or "").strip():
        raise Unsupported("link without href")
    href = join_feed_url(base, href)
    found = {"rel": rel, "type": kind, "href": href}
    for key in ("length", "title"):
        if key in attrs:
            found[key] = attrs[key]
    entry.setdefault("links", []).append(found)
    if rel == "alternate" and _content_type(kind) in _HTML_TYPES:
        entry["link"] = href


def _atom_author(author: Any) -> str:
    name = email = None
    for child in author:
        if not isinstance(child.tag, str):
            continue
        if _attrs(child):
            raise Unsupported("author element with attributes")
        # As written: feedparser repairs no mojibake and maps no C1 controls here.
        if child.tag == _ATOM + "name":
            name = _raw_text(child)
        elif child.tag == _ATOM + "email":
            email = _raw_text(child)
        elif child.tag == _ATOM + "uri":
            _text(child)  # unused, but markup in it would be the entry's to feedparser
        else:
            raise Unsupported("author element")
    if (author.text or "").strip():
        raise Unsupported("author with text")
    if name and email:
        return f"{name} ({email})"
    return name or email or ""


def _text_construct(node: Any) -> str:
    """The construct's media type as feedparser names it (Atom's default: text)."""
    _own_attributes(node)
    attrs = _attrs(node)
    kind = _content_type(attrs.get("type") or "text")
    if kind not in ("text/plain", "text/html"):
        raise Unsupported(f"content type {kind}")
    if "mode" in attrs:
        raise Unsupported("content mode")
    return kind


def _content_type(kind: str) -> str:
    kind = kind.lower()
    return _CONTENT_TYPES.get(kind, kind)


def _enclosure(entry: dict[str, Any], node: Any) -> None:
    if len(node) or (node.text or "").strip():
        raise Unsupported("enclosure with content")  # feedparser reads it into the entry
    _own_attributes(node)
    attrs = _attrs(node)
    href = attrs.get("url", attrs.get("uri", attrs.get("href")))
    if not href:
        raise Unsupported("enclosure without url")
    link = {"rel": "enclosure", "href": href}
    for key in ("type", "length", "title"):
        if key in attrs:
            link[key] = attrs[key]
    entry.setdefault("links", []).append(link)


def _thumbnail(entry: dict[str, Any], node: Any) -> None:
    url = _attrs(node).get("url")
    if len(node) or (node.text or "").strip() or not url:
        raise Unsupported("thumbnail")
    entry.setdefault("media_thumbnail", []).append({"url": url})


def _media_content(entry: dict[str, Any], node: Any) -> None:
    if (node.text or "").strip():
        raise Unsupported("media:content with text")
    attrs = _attrs(node)
    found = {key: attrs[key] for key in ("url", "medium", "type", "filesize") if key in attrs}
    entry.setdefault("media_content", []).append(found)
    for child in node:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # a comment
        if tag == _MEDIA + "thumbnail":
            _thumbnail(entry, child)
        elif tag not in _MEDIA_CAPTIONS:
            # A nested title or category feedparser would read into the entry.
            raise Unsupported(f"media:content holding {tag}")


def _add_tag(
    entry: dict[str, Any], term: str | None, scheme: str | None, label: str | None
) -> None:
    if not term and not scheme and not label:
        return
    tag = {"term": term, "scheme": scheme, "label": label}
    tags = entry.setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


def _own_attributes(node: Any) -> None:
    """Decline an element with attributes of another namespace (``x:type``): feedparser
    reads them by their local name, over or beside the element's own."""
    if any(name[0] == "{" and not name.startswith(_XML) for name in node.attrib):
        raise Unsupported("attribute of another namespace")


def _attrs(node: Any) -> dict[str, str]:
    """Attributes as feedparser sees them: names lower-cased, ``rel`` and ``type`` too."""
    attrs = {}
    for name, value in node.attrib.items():
        if name[0] == "{":
            continue
        name = name.lower()
        if name in attrs:
            raise Unsupported(f"attributes named alike: {name}")  # which one feedparser keeps
        attrs[name] = value.lower() if name in ("rel", "type") else value
    return attrs


def _single_text(parent: Any, tag: str, base: str) -> str | None:
    found = [c for c in parent if c.tag == tag]
    if len(found) > 1:
        raise Unsupported(f"repeated {tag}")
    return _text(found[0]) if found else None


def _text(node: Any) -> str:
    """An element's text as feedparser's ``pop`` leaves it (UTF-8 documents only)."""
    if len(node):
        raise Unsupported("markup where text was expected")
    text = (node.text or "").strip()
    if not text.isascii():
        # feedparser repairs UTF-8 that was read as Latin-1, then maps C1 controls.
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            text = text.encode("iso-8859-1").decode("utf-8")
        text = c1_as_cp1252(text)
    return text


def _raw_text(node: Any) -> str:
    """An element's text as feedparser keeps a field it does not read as text (an Atom
    author's name and email): stripped, no mojibake repaired, no C1 control mapped."""
    if len(node):
        raise Unsupported("markup where text was expected")
    return (node.text or "").strip()


def _link_text(url: str) -> str:
    return _LINK_REF.sub(r"&\g<1>", url.replace("&amp;", "&"))


def _rebase(base: str, node: Any) -> str:
    extra = node.get(_XML_BASE) or node.get("base")
    if not extra:
        return base
    # A base of a scheme feedparser does not accept ("javascript:") is passed over, as
    # feedparser passes it over (and browsers a <base href> that is no web address).
    rebased = join_feed_url(base, extra)
    return rebased if rebased.strip().split(":", 1)[0] in _BASE_SCHEMES else base


#: The schemes of an xml:base feedparser keeps (its ACCEPTABLE_URI_SCHEMES).
_BASE_SCHEMES = frozenset(
    [
        "aim",
        "callto",
        "cvs",
        "facetime",
        "feed",
        "file",
        "ftp",
        "git",
        "gopher",
        "gtalk",
        "h323",
        "hdl",
        "http",
        "https",
        "imap",
        "irc",
        "irc6",
        "ircs",
        "itms",
        "magnet",
        "mailto",
        "mms",
        "msnim",
        "news",
        "nntp",
        "prospero",
        "rsync",
        "rtsp",
        "rtspu",
        "sftp",
        "shttp",
        "sip",
        "sips",
        "skype",
        "smb",
        "snews",
        "ssh",
        "svn",
        "svn+ssh",
        "telnet",
        "wais",
        "ymsg",
    ]
)


def join_feed_url(base: str, uri: str) -> str:
    """``uri`` of a feed made absolute against ``base``, as both readers do it (feedparser
    is given this too): :func:`join_url`, and "" for what is no URL."""
    # As feedparser's _URIFIXER.sub(r"\1\3", uri), without expanding the template for the
    # many links that have no extra slashes after "scheme://".
    fixed = _URIFIXER.match(uri)
    if fixed is not None and fixed.group(2):
        uri = fixed.group(1) + uri[fixed.end(2) :]
    try:
        # urljoin for the rest, without its cost for the absolute links most feeds have.
        return join_url(base, uri)
    except ValueError:
        return ""


def _date(text: str) -> tuple[str, time.struct_time | None]:
    """The date text and its UTC time, for the two formats feeds mostly use.

    Anything else is declined: feedparser's date reading has too many paths to copy.
    """
    if not text:
        return text, None
    if match := _RFC822.match(text):
        day, month, year, hour, minute, second, zone = match.groups()
        if month not in _MONTHS:
            raise Unsupported("month")
        offset = timedelta(0)
        if zone[0] in "+-":
            sign = -1 if zone[0] == "-" else 1
            offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:]))
        value = datetime(
            int(year),
            _MONTHS[month],
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            tzinfo=timezone(offset),
        )
    elif _W3C.match(text):
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    else:
        raise Unsupported(f"date {text!r}")
    utc = value.astimezone(UTC).replace(microsecond=0)
    return text, utc.utctimetuple()
