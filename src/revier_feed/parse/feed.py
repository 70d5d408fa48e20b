"""RSS and Atom documents -> RawItem: the fast reader for the common case, feedparser for
the rest (on bytes; it never does HTTP here)."""

from __future__ import annotations

import codecs
import dataclasses
import functools
import html
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from .._utils import join_url
from ..exceptions import ParseError
from ..models import Attachment, ErrorKind, FetchResult, ParsedDocument, RawItem
from . import fastfeed
from .dates import EARLIEST, ZONE_NAMES, moves_with_now, parse_date
from .encoding import (
    declared_encoding,
    decode_utf8_with_strays,
    decode_windows_1252,
    http_charset,
    names_windows_1252,
    plausible_charset,
    undefined_only_in_utf8,
    utf8_with_strays,
)
from .xmlfix import escape_bare_ampersands

try:
    from .. import _markup
except ImportError:  # pragma: no cover - installed without a C compiler
    _markup = None  # type: ignore[assignment]

_ZONE_AT_END = re.compile(r"([+-]\d{2}:?\d{2}|Z|\b(?:GMT|UTC|UT|[A-Z]{3,4}))\s*$")


def parse_feed(
    source_id: str, fetched: FetchResult, now: datetime, tz: ZoneInfo
) -> ParsedDocument:
    """Parse a feed document; bad entries are skipped with a warning.

    Raises:
        ParseError: the document is not a feed, or no entry could be read.
    """
    stripped = fetched.content.lstrip(b" \t\r\n")
    if len(stripped) != len(fetched.content) and stripped.startswith(b"<?xml"):
        # Blank lines before the declaration, which XML forbids: a PHP file that ends in
        # one, included before the feed's template (WordPress plugins). feedparser read
        # such feeds with a warning, and the source looked damaged.
        fetched = dataclasses.replace(fetched, content=stripped)
    headers = dict(fetched.headers)
    # Relative item links resolve against Content-Location, itself relative to the final
    # URL (Apache's content negotiation sends "rss.xml.de"); without one, the final URL.
    location = headers.get("content-location", "")
    try:
        headers["content-location"] = join_url(fetched.url, location)
    except ValueError:
        headers["content-location"] = fetched.url
    fast = fastfeed.read_entries(fetched.content, headers)
    if fast is None:
        return _parse_with_feedparser(source_id, fetched, headers, now, tz)
    title, entries = fast
    return _document(source_id, entries, [], title, now, tz, headers["content-location"])


def _parse_with_feedparser(
    source_id: str, fetched: FetchResult, headers: dict[str, str], now: datetime, tz: ZoneInfo
) -> ParsedDocument:
    # Imported here: most feeds never need it, and it costs start-up time.
    import feedparser
    import feedparser.mixin
    import feedparser.urls

    # Links joined as the fast reader joins them (as browsers do: a "\\" in a web link's
    # path is a "/"): one entry the fast reader declines sends the whole feed here, and
    # its other items' links, their keys, must not change with that.
    feedparser.urls._urljoin = feedparser.mixin._urljoin = fastfeed.join_feed_url
    try:
        content, headers = _readable(fetched.content, headers)
        result = feedparser.parse(
            _without_captions(
                _doctype_on_its_line(
                    _valid_character_references(
                        escape_bare_ampersands(_without_empty_types(content))
                    )
                )
            ),
            response_headers=headers,
            # Both are ours: normalize sanitizes last and makes links absolute against the
            # item's link; feedparser's versions cost half of its time.
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as e:
        raise ParseError(
            source_id,
            kind=ErrorKind.PARSE,
            message=f"the feed parser failed: {type(e).__name__}: {e}",
        ) from e
    entries = result.get("entries", [])
    title = result.get("feed", {}).get("title")
    warnings: list[str] = []
    if not entries:
        if result.get("bozo") or not result.get("version"):
            kind, message = _failure(source_id, fetched, result)
            raise ParseError(source_id, kind=kind, message=message)
        return ParsedDocument(items=(), title=title)
    base = headers["content-location"]
    bozo = result.get("bozo_exception")
    # A wrong Content-Type or an overridden encoding declaration is everyday web reality,
    # not damage; anything else means feedparser had to guess around broken XML.
    harmless = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
    if result.get("bozo") and not isinstance(bozo, harmless):
        warnings.append(f"malformed feed, kept what could be read: {bozo}")
    return _document(source_id, entries, warnings, title, now, tz, base)


def _document(
    source_id: str,
    entries: Sequence[Any],
    warnings: list[str],
    title: str | None,
    now: datetime,
    tz: ZoneInfo,
    base: str,
) -> ParsedDocument:
    """The items of feedparser-shaped entries (from either parser); ``base``: the URL
    relative image URLs resolve against."""
    if not entries:
        return ParsedDocument(items=(), title=title)
    items = []
    for index, entry in enumerate(entries):
        try:
            items.append(_entry(entry, now, tz, base))
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as e:
            warnings.append(f"entry {index + 1} skipped: {type(e).__name__}: {e}")
    if not items:
        raise ParseError(
            source_id,
            kind=ErrorKind.PARSE,
            message=f"none of the {len(entries)} entries could be read: "
            + "; ".join(warnings[-3:]),
        )
    return ParsedDocument(items=tuple(items), warnings=tuple(warnings), title=title)


def _entry(entry: Any, now: datetime, tz: ZoneInfo, base: str) -> RawItem:
    contents = entry.get("content") or []
    chosen = max(contents, key=lambda c: len(c.get("value", "")), default=None)
    content = _as_html(chosen.get("value", ""), chosen.get("type")) if chosen else ""
    summary = entry.get("summary", "")
    # dict.get: feedparser's own lookup falls back to the content's; so does its summary.
    detail = dict.get(entry, "summary_detail")
    if detail is not None:
        summary = _as_html(summary, detail.get("type"))
    elif contents and summary == contents[0].get("value"):
        summary = _as_html(summary, contents[0].get("type"))
    # dict.get, not entry.get: feedparser maps a missing "updated" to "published" with a
    # DeprecationWarning, and we want to know whether the feed really has an update time.
    updated_text = dict.get(entry, "updated")
    updated = _date(updated_text, dict.get(entry, "updated_parsed"), now, tz)
    # Each text with its own reading: where feedparser could not read the publication date
    # ("Thu,10 Jun 2021"), its update time stood in and won over our reading of the text.
    own_published = dict.get(entry, "published")
    published = (
        _date(own_published, dict.get(entry, "published_parsed"), now, tz)
        if own_published
        else None
    ) or updated
    published_text = own_published or updated_text
    return RawItem(
        # Titles are always treated as HTML, even when the feed says text/plain: many feed
        # readers render RSS titles as HTML, so a literal "<script>" must never pass.
        title=_unrepaired(entry.get("title", "")),
        link=_own_link(entry.get("link"), base),
        guid=entry.get("id") or None,
        summary_html=_unrepaired(summary),
        content_html=_unrepaired(content),
        author=_unrepaired(entry.get("author") or "") or None,
        published=published,
        published_text=published_text,
        # An update time standing in for a missing publication date: many feeds write the
        # time they were rendered there, which would make every item change at every fetch.
        date_moves=(not own_published and bool(updated_text)) or moves_with_now(published_text),
        updated=updated,
        categories=tuple(t["term"] for t in entry.get("tags", []) if t.get("term")),
        image=_image(entry, base),
        attachments=_attachments(entry, base),
    )


def _own_link(link: str | None, feed_url: str) -> str | None:
    """An entry's link, unless it is the feed's own address: ``<link>#</link>`` and Atom's
    ``href=""`` resolve to it, and every such entry without a guid got the feed's URL as
    its key, so that the store kept one of them."""
    if not link or link.split("#")[0] == feed_url.split("#")[0]:
        return None
    return link


# A letter of Armenian, Hebrew, Arabic, Syriac, Thaana or NKo next to a Latin one: what
# UTF-8 makes of "Ö", "Ü" or "ß" and a sign after it ("ß" and a no-break space is "ߠ").
_MIXED_SCRIPTS = re.compile(
    "[A-Za-z\u00c0-\u024f][\u0500-\u07ff]|[\u0500-\u07ff][A-Za-z\u00c0-\u024f]"
)


_SCRIPT_WORD = re.compile("[\u0500-\u07ff]{2}")


def mixed_scripts_python(text: str) -> bool:
    """Whether ``text`` has a letter of those scripts beside a Latin one, and no word of
    two such letters (the reference of the C extension's ``mixed_scripts``: the regex
    engine tries the pattern at every position, 15 µs for a teaser, half of reading a feed)."""
    return _MIXED_SCRIPTS.search(text) is not None and _SCRIPT_WORD.search(text) is None


#: :func:`mixed_scripts_python`, in C where the extension is built.
mixed_scripts = _markup.mixed_scripts if _markup is not None else mixed_scripts_python


def _unrepaired(text: str) -> str:
    """``text`` without the parser's repair where it was none.

    Both parsers read a UTF-8 feed's text that has no character beyond Latin-1 again as
    UTF-8, to undo a common mojibake; but "Spaß" and a no-break space are valid UTF-8 too,
    and came out as "Spaߠ". Such a text is given back as the feed had it (real mojibake is
    repaired later, where :func:`normalize.repair_mojibake` finds it unambiguous).
    """
    if text.isascii() or not mixed_scripts(text):
        # A word of two such letters is real text ("الـiPhone", "עבריתB1"): a false repair
        # makes one letter of two bytes, between Latin ones.
        return text
    try:
        return text.encode("utf-8").decode("latin-1")
    except UnicodeError:
        return text


#: Elements a text that is HTML is made of (feedparser's acceptable elements, in short).
_HTML_ELEMENT_NAMES = (
    "a abbr acronym address area article aside audio b bdi bdo big blockquote br button "
    "caption center cite code col colgroup dd del details dfn dir div dl dt em fieldset "
    "figcaption figure font footer h1 h2 h3 h4 h5 h6 header hr i iframe img ins kbd label "
    "legend li main map mark menu nav ol optgroup option p picture pre q s samp section "
    "select small source span strike strong sub summary sup table tbody td textarea tfoot "
    "th thead time tr tt u ul var video wbr"
)
_HTML_ELEMENTS = frozenset(_HTML_ELEMENT_NAMES.split())
#: Elements without an end: "<br>" or "<img …>" alone make a text HTML.
_VOID_ELEMENTS = frozenset({"br", "hr", "img", "wbr", "source"})
_TAG_NAME = re.compile(r"</?([A-Za-z][\w-]*)")
_MARKUP = re.compile(r"</[A-Za-z][\w-]*\s*>|/>|&#?\w+;")
_BARE_AMPERSAND = re.compile(r"&(?!#?\w+;)")


def _as_html(value: str, kind: str | None) -> str:
    """``value`` as HTML: plain text (Atom's ``type="text"``, the default) is escaped,
    unless it looks like HTML (known elements only, and a closing tag, an element without
    an end, or an entity): sloppy feeds send HTML as text. Escaping keeps the words after
    a "<" ("Temperaturen <0 Grad: A<B" lost "B" as a tag); entities stay as written."""
    if kind != "text/plain" or "<" not in value:
        return value
    names = [name.lower() for name in _TAG_NAME.findall(value)]
    known = bool(names) and all(name in _HTML_ELEMENTS for name in names)
    if known and (_MARKUP.search(value) or not _VOID_ELEMENTS.isdisjoint(names)):
        return value
    return _BARE_AMPERSAND.sub("&amp;", value).replace("<", "&lt;").replace(">", "&gt;")


def _date(
    text: str | None, parsed: time.struct_time | None, now: datetime, tz: ZoneInfo
) -> datetime | None:
    """feedparser reads more exotic formats; we read German ones and take a date written
    without a zone as the region's local time (feedparser takes it as UTC)."""
    theirs = _struct(parsed)
    zone = _ZONE_AT_END.search(text) if text else None
    if theirs is not None and zone and zone[1] not in ZONE_NAMES:
        # What it would be whatever ours is: most feeds' dates. Not for "MESZ" and the
        # like, which feedparser takes for UTC: 23:30 MESZ became 01:30 the next day.
        return theirs
    ours = parse_date(text, now, tz)
    return ours or theirs


def _struct(value: time.struct_time | None) -> datetime | None:
    # feedparser turns placeholder dates ("0001-01-01T00:00:00+01:00") into year 0.
    if value is None:
        return None
    try:
        found = datetime(*value[:6], tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
    return found if found >= EARLIEST else None


_PICTURE_NAME = re.compile(r"\.(?:jpe?g|png|gif|webp|avif)(?:$|[?#])", re.IGNORECASE)


def _image(entry: Any, base: str) -> str | None:
    """The item's picture: a thumbnail, a media:content image, an image enclosure; made
    absolute (neither reader resolves them; a relative one was dropped later)."""
    found = [str(thumb["url"]) for thumb in entry.get("media_thumbnail", []) if thumb.get("url")]
    found += [
        str(link["href"])
        for link in entry.get("links", [])
        if link.get("rel") == "enclosure"
        and link.get("href")
        and (
            str(link.get("type", "")).startswith("image/")
            # untyped, named as a picture ("foto.jpg")
            or (not link.get("type") and _PICTURE_NAME.search(str(link["href"])))
        )
    ]
    found += [
        str(media["url"])
        for media in entry.get("media_content", [])
        if media.get("url")
        and (media.get("medium") == "image" or str(media.get("type", "")).startswith("image/"))
        # WordPress.com lists its author's avatar as media:content on every post.
        and "/avatar/" not in str(media["url"])
    ]
    for url in found:
        try:
            joined = join_url(base, url)
        except ValueError:
            continue
        # The first picture on the web: a "javascript:" or "data:" thumbnail before a real
        # media:content was dropped later, and took the real one with it.
        if joined.lower().startswith(("http://", "https://")):
            return joined
    return None


def _attachments(entry: Any, base: str) -> tuple[Attachment, ...]:
    """The files the entry links to: its enclosures (RSS ``<enclosure>``, Atom's
    ``rel="enclosure"`` links), then its first audio or video media:content (the entry's
    picture is :func:`_image`'s); made absolute (feedparser leaves RSS's relative)."""
    found = [
        (link.get("href"), link.get("type"), link.get("length"), link.get("title"))
        for link in entry.get("links", [])
        if link.get("rel") == "enclosure"
    ]
    # Only a sound or a film: YouTube lists a Flash player's address for every video, news
    # sites their pictures; and one of a group's renditions (360p, 720p, 1080p of a film).
    found += [
        (media.get("url"), media.get("type"), media.get("filesize"), None)
        for media in entry.get("media_content", [])
        if str(media.get("type") or media.get("medium") or "").startswith(("audio", "video"))
    ][:1]
    attachments = []
    for url, kind, size, title in found:
        if not url or str(kind or "").startswith("image/"):
            continue
        try:
            joined = join_url(base, str(url))
        except ValueError:
            continue
        if _own_link(joined, base) is None:
            continue  # "", "#", " ": the feed's own address, no file
        # The title is an attribute's text, not markup ("A<B Vergleich"): escaped, as
        # normalizing reads it as HTML.
        name = html.escape(str(title), quote=False) if title else None
        attachments.append(Attachment(joined, str(kind or ""), stated_size(size), name))
    return tuple(attachments)


def stated_size(text: object) -> int | None:
    """A file size as a feed states it ("12345"), or None for none or nonsense ("",
    "-1", "12 KB")."""
    value = str(text or "").strip()
    return int(value) if value.isascii() and value.isdecimal() and len(value) <= 15 else None


def _failure(source_id: str, fetched: FetchResult, result: Any) -> tuple[ErrorKind, str]:
    """The kind and message of a document that gave no feed: what the page is, when it is
    a bot check, a maintenance notice or another page standing in for the site's."""
    if not _looks_like_html(fetched):
        reason = result.get("bozo_exception")
        message = f"not a readable feed ({reason})" if reason else "not a readable feed"
        return ErrorKind.PARSE, message
    # Only here: reading feeds needs no HTML parser.
    from .html import make_soup
    from .walls import stand_in

    wall = stand_in(make_soup(source_id, fetched), fetched.content)
    if wall is not None:
        message = f"where a feed was expected, got {wall.what}; {wall.hint}"
        return wall.kind or ErrorKind.NOT_A_FEED, message
    return ErrorKind.NOT_A_FEED, (
        "got an HTML page where a feed was expected (an error or login page, or the "
        "site's news page: use `kind: html` with selectors, or find the feed URL)"
    )


def _readable(content: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """The body and headers feedparser can decode right.

    A document that is UTF-8 but for a few stray bytes (a windows-1252 sentence pasted into
    it) is given as UTF-8 with the stray bytes read as windows-1252: feedparser decoded all
    of it as windows-1252, and every non-ASCII link came out as mojibake ("straÃŸenfest"),
    which no repair of the text reaches, and an item came back as new once the site fixed
    the byte.
    """
    labels = [
        label
        for label in (http_charset(headers.get("content-type", "")), declared_encoding(content))
        if label
    ]
    if (
        content.isascii()
        or content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        or b"\0" in content[:4096]  # UTF-16 or UTF-32 without a byte-order mark
    ):
        return content, _plausible_charset(headers, content)
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        # Labels all UTF-8, or none (XML's default is UTF-8).
        if all(_names_utf8(label) for label in labels) and utf8_with_strays(content, True):
            content = decode_utf8_with_strays(content).encode()
        elif (not labels or names_windows_1252(labels[0])) and undefined_only_in_utf8(content):
            # feedparser's windows-1252 refuses the five bytes it leaves undefined (a name
            # pasted in UTF-8: "č" is C4 8D) and fell back to ISO-8859-2 for the whole feed
            # ("ŕ la carte"); browsers read them as C1 controls, and so it is given here.
            content = decode_windows_1252(content).encode()
            media = headers.get("content-type", "").partition(";")[0].strip()
            headers = {**headers, "content-type": f"{media or 'application/xml'}; charset=utf-8"}
    return content, _plausible_charset(headers, content)


def _plausible_charset(headers: dict[str, str], content: bytes) -> dict[str, str]:
    """The headers, with a charset the body can be in.

    feedparser decodes by the HTTP charset, else the XML declaration. When either names an
    encoding the body cannot be in (UTF-16 or EBCDIC on a body that starts with "<"), the
    header names UTF-8 if the body is valid UTF-8, else windows-1252, so the items come out
    readable instead of not at all.
    """
    content_type = headers.get("content-type", "")
    if not content_type.strip():
        # Without a media type, feedparser reads a response as Latin-1: UTF-8 attribute
        # values (links, categories) came out as mojibake. XML's own rules decide instead.
        content_type = "application/xml"
        headers = {**headers, "content-type": content_type}
    in_header = http_charset(content_type)
    declared = declared_encoding(content)
    labels = [label for label in (in_header, declared) if label]
    media = content_type.partition(";")[0].strip() or "application/xml"
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # The byte-order mark outranks every label (RFC 7303 3.3): by a Latin-1 header,
        # a UTF-16 feed was "not well-formed" and all of it lost.
        return {**headers, "content-type": f"{media}; charset=utf-16"}
    if any(not _names_utf8(label) for label in labels) and _utf8_for_sure(content):
        # A byte-order mark decides; so does a body that is valid UTF-8 with non-ASCII
        # bytes (text in a legacy encoding never is): "UTF-8 labelled ISO-8859-1" is a
        # common CMS mistake, and feedparser then gave links, authors and categories as
        # mojibake ("grÃ¼ne"), which no repair of the text reaches.
        return {**headers, "content-type": f"{media}; charset=utf-8"}
    if all(plausible_charset(label, content) for label in labels):
        return headers
    if in_header and plausible_charset(in_header, content):
        return headers  # feedparser takes the header's over the declaration's
    if declared and plausible_charset(declared, content):
        charset = declared  # the header's was the mistake: the declaration's stands
    else:
        try:
            content.decode("utf-8")
            charset = "utf-8"
        except UnicodeDecodeError:
            charset = "windows-1252"
    return {**headers, "content-type": f"{media}; charset={charset}"}


def _names_utf8(label: str) -> bool:
    return label.strip().lower().replace("_", "-") in ("utf-8", "utf8")


def _utf8_for_sure(content: bytes) -> bool:
    """Whether ``content`` is UTF-8 whatever its labels say: it starts with UTF-8's
    byte-order mark, or has non-ASCII bytes and decodes as UTF-8."""
    if content.startswith(codecs.BOM_UTF8):
        return True
    if content.isascii():
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_FIRST_ELEMENT = re.compile(rb"<\w")
_DOCTYPE_AFTER_SOMETHING = re.compile(rb"(?<=[^\n])<!DOCTYPE")


def _doctype_on_its_line(content: bytes) -> bytes:
    """``content`` with a DOCTYPE that follows something on its line moved to a line of
    its own.

    feedparser removes a DOCTYPE (and so reads HTML entities such as "&auml;" itself) only
    when it starts a line; after ``<?xml …?>`` on the same line, the XML parser kept it and
    silently dropped every entity it did not know: "Stra&szlig;e" became "Strae".
    """
    element = _FIRST_ELEMENT.search(content)
    end = element.start() if element else len(content)
    if b"<!DOCTYPE" not in content[:end]:
        return content
    return _DOCTYPE_AFTER_SOMETHING.sub(b"\n<!DOCTYPE", content[:end]) + content[end:]


# The prefixes a feed binds to Media RSS (nearly always "media").
_MEDIA_PREFIX = re.compile(
    rb"""xmlns:([A-Za-z_][\w.-]*)\s*=\s*["']http://search\.yahoo\.com/mrss/?["']"""
)


def _without_captions(content: bytes) -> bytes:
    """``content`` without the captions (``media:description``) inside its pictures'
    ``media:content`` elements.

    feedparser reads such a caption as the entry's text: as its full text, or as its
    teaser when it comes before the entry's own description, which then became the full
    text. The caption of a ``media:group`` (a video's description, often an entry's only
    text) stays.
    """
    if b"description" not in content:
        return content
    for prefix in set(_MEDIA_PREFIX.findall(content[:65536])):
        name = re.escape(prefix)
        # Bounded: a picture's attributes and a caption are short, and every scan stops at
        # the next opening tag. Unbounded, a feed of unclosed elements made each one scan
        # to the end of the document (quadratic: a minute for 460 KB).
        opening = rb"<" + name + rb":content\b"
        picture = re.compile(
            opening
            + rb"[^<>]{0,2000}(?<!/)>(?:(?!"
            + opening
            + rb").){0,50000}?</"
            + name
            + rb":content\s*>",
            re.S,
        )
        caption = re.compile(
            rb"<"
            + name
            + rb":description\b(?:[^<>]{0,2000}/>|.{0,20000}?</"
            + name
            + rb":description\s*>)",
            re.S,
        )
        content = picture.sub(functools.partial(_remove, caption), content)
    return content


def _remove(pattern: re.Pattern[bytes], found: re.Match[bytes]) -> bytes:
    return pattern.sub(b"", found.group())


#: An empty ``type`` attribute (``<title type="">``, ``<link Type="" …>``: feedparser reads
#: attribute names case-blind).
_EMPTY_TYPE = re.compile(rb"""\s[tT][yY][pP][eE]\s*=\s*(?:""|'')""")


def _without_empty_types(content: bytes) -> bytes:
    """``content`` without empty ``type`` attributes, which say nothing (the fast reader
    reads them so): feedparser took an Atom text whose type was "" for base64 and decoded
    a title such as "Kita" into "*+Z", and a link with it for no link (session 25)."""
    return _EMPTY_TYPE.sub(b"", content) if b'=""' in content or b"=''" in content else content


_CHARACTER_REFERENCE = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")
# References that may name no character: zero, surrogates (55296-57343, D800-DFFF), and
# numbers from 1,000,000 or 0x110000 up (a superset; the exact test follows). One scan in C
# for the feeds that have none, which is nearly all.
_SUSPECT_REFERENCE = re.compile(
    rb"&#(?:[xX]0*(?:[dD][89a-fA-F][0-9a-fA-F]{2}|1[1-9a-fA-F][0-9a-fA-F]{4}"
    rb"|[2-9a-fA-F][0-9a-fA-F]{5}|[1-9a-fA-F][0-9a-fA-F]{6,})|0*(?:5[5-7][0-9]{3}|[1-9][0-9]{6,}))"
    rb";|&#[xX]?0+;"
)


def _valid_character_references(content: bytes) -> bytes:
    """``content`` with character references that name no character replaced.

    Some systems write characters beyond the BMP as two references to UTF-16 surrogates
    ("&#55357;&#56832;" for an emoji); feedparser's loose parser then fails on the whole
    feed, and every item of the source was lost. A pair becomes its character; a lone
    surrogate, or a number beyond Unicode, becomes U+FFFD.
    """
    if b"&#" not in content or not _SUSPECT_REFERENCE.search(content):
        return content
    found = [(m, _reference_value(m)) for m in _CHARACTER_REFERENCE.finditer(content)]
    out = []
    position = 0
    index = 0
    while index < len(found):
        match, value = found[index]
        if 0xD800 <= value <= 0xDBFF and index + 1 < len(found):
            after, low = found[index + 1]
            if after.start() == match.end() and 0xDC00 <= low <= 0xDFFF:
                value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                out += [content[position : match.start()], b"&#%d;" % value]
                position = after.end()
                index += 2
                continue
        if not 0 < value <= 0x10FFFF or 0xD800 <= value <= 0xDFFF:
            out += [content[position : match.start()], b"&#65533;"]
            position = match.end()
        index += 1
    return b"".join([*out, content[position:]])


def _reference_value(match: re.Match[bytes]) -> int:
    digits = (match[1] or match[2]).lstrip(b"0") or b"0"
    # More digits than any character has: no character (and no huge int to build).
    if len(digits) > 8:
        return -1
    return int(digits, 16) if match[1] else int(digits)


def _looks_like_html(fetched: FetchResult) -> bool:
    content_type = fetched.headers.get("content-type", "")
    head = fetched.content[:1024].lstrip().lower()
    return "html" in content_type or head.startswith((b"<!doctype html", b"<html"))
