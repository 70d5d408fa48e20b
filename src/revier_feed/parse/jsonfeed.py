"""JSON Feed 1.0 and 1.1 documents -> RawItem (https://www.jsonfeed.org/version/1.1/)."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .._utils import join_url
from ..exceptions import ParseError
from ..models import Attachment, ErrorKind, FetchResult, ParsedDocument, RawItem
from .dates import moves_with_now, parse_date
from .encoding import c1_as_cp1252, decode_html, http_charset
from .feed import stated_size

#: What a JSON Feed's version names, also written with "http://" or "www." by some
#: generators, whose feeds readers take all the same.
_VERSION = re.compile(r"(?:https?://)?(?:www\.)?jsonfeed\.org/version/", re.IGNORECASE)
# JSON can escape half of a UTF-16 pair alone (\ud800), which no UTF-8 text holds: the
# store and the output refused such an item. Replaced as HTML replaces "&#xD800;".
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def looks_like_json_feed(fetched: FetchResult) -> bool:
    """Whether the document is JSON rather than XML (decided without parsing it)."""
    content_type = fetched.headers.get("content-type", "")
    head = fetched.content[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return "json" in content_type or head.startswith(b"{")


def parse_json_feed(
    source_id: str, fetched: FetchResult, now: datetime, tz: ZoneInfo
) -> ParsedDocument:
    """Parse a JSON Feed; bad items are skipped with a warning.

    Raises:
        ParseError: not JSON, not a JSON Feed, or no item could be read.
    """
    warnings: list[str] = []
    try:
        text = fetched.content.decode("utf-8-sig")
    except UnicodeDecodeError:
        # JSON is UTF-8 (RFC 8259); a feed written in another encoding still has items,
        # read as a page is (its HTTP charset, else detection).
        declared = http_charset(fetched.headers.get("content-type", ""))
        text = decode_html(fetched.content, declared, fetched.url)
        warnings.append(
            "the JSON Feed is not UTF-8 (as JSON must be); read by its HTTP charset, or "
            "an encoding guessed from its bytes"
        )
    try:
        data = json.loads(text, parse_int=_number)
    except ValueError as e:
        raise ParseError(source_id, kind=ErrorKind.PARSE, message=f"not valid JSON: {e}") from None
    except RecursionError:
        raise ParseError(
            source_id, kind=ErrorKind.PARSE, message="not a JSON Feed: nested far too deeply"
        ) from None
    if not isinstance(data, dict) or not _VERSION.match(str(data.get("version", "")).strip()):
        raise ParseError(
            source_id,
            kind=ErrorKind.NOT_A_FEED,
            message="JSON, but not a JSON Feed (no jsonfeed.org version)",
        )
    raw_items = data.get("items")
    if not isinstance(raw_items, list):
        raise ParseError(
            source_id, kind=ErrorKind.PARSE, message="JSON Feed without an 'items' list"
        )
    items: list[RawItem] = []
    for index, entry in enumerate(raw_items):
        try:
            items.append(_item(entry, now, tz, fetched.url))
        except (TypeError, ValueError, AttributeError) as e:
            warnings.append(f"item {index + 1} skipped: {e}")
    if raw_items and not items:
        raise ParseError(
            source_id,
            kind=ErrorKind.PARSE,
            message="no item of the JSON Feed could be read: " + "; ".join(warnings[-3:]),
        )
    title = data.get("title")
    return ParsedDocument(
        items=tuple(items),
        warnings=tuple(warnings),
        title=_text(title) if isinstance(title, str) else None,
    )


def _item(entry: Any, now: datetime, tz: ZoneInfo, base: str) -> RawItem:
    if not isinstance(entry, dict):
        raise TypeError("an item must be an object")
    content = _text(entry.get("content_html"))
    if not content and entry.get("content_text"):
        content = html.escape(_text(entry.get("content_text")))
    summary = _plain(entry.get("summary"))
    title = _plain(entry.get("title"))
    if not title and not summary and not content:
        raise ValueError("item has no title, summary or content")
    authors = entry.get("authors") or entry.get("author") or []
    # An object or a list of them, as the spec says, or a name alone (as some write).
    authors = authors if isinstance(authors, list) else [authors]
    author = next(filter(None, map(_name, authors)), None)
    updated_text = _text(entry.get("date_modified")) or None
    # Only a modification date: the item's date, as an Atom entry's lone <updated> is.
    published_text = _text(entry.get("date_published")) or updated_text
    guid = entry.get("id")
    files = _attachments(base, entry.get("attachments"))
    return RawItem(
        title=title,
        link=_absolute(base, entry.get("url") or entry.get("external_url")),
        guid=_text(str(guid)) if guid not in (None, "") else None,
        summary_html=summary,
        content_html=content,
        author=author,
        published=parse_date(published_text, now, tz),
        published_text=published_text,
        # A modification time standing in for the date, as in feed._entry.
        date_moves=(not _text(entry.get("date_published")) and bool(updated_text))
        or moves_with_now(published_text),
        updated=parse_date(updated_text, now, tz),
        categories=_tags(entry.get("tags")),
        image=_absolute(base, entry.get("image") or entry.get("banner_image"))
        or _first_picture(files),
        attachments=files,
    )


def _first_picture(files: tuple[Attachment, ...]) -> str | None:
    """An item without an ``image`` has its first picture attachment as its picture (as an
    RSS item has its image enclosure)."""
    return next((f.url for f in files if f.media_type.startswith("image/")), None)


def _attachments(base: str, value: object) -> tuple[Attachment, ...]:
    """The item's attachments (objects with ``url``, ``mime_type``, ``size_in_bytes``,
    ``title``), pictures too; anything else in the list is passed over, not the item."""
    found = []
    for attachment in value if isinstance(value, list) else []:
        if not isinstance(attachment, dict):
            continue
        url = _absolute(base, attachment.get("url"))
        kind = _text(attachment.get("mime_type")).lower()
        if url and url.split("#")[0] == base.split("#")[0]:
            continue  # "#": the feed's own address, no file
        if url:
            size = stated_size(attachment.get("size_in_bytes"))
            title = html.escape(_text(attachment.get("title")), quote=False) or None
            found.append(Attachment(url, kind, size, title))
    return tuple(found)


def _name(author: object) -> str:
    return _text(author.get("name") if isinstance(author, dict) else author).strip()


def _tags(value: object) -> tuple[str, ...]:
    """The item's tags: a list of strings, or one string (read as one tag, not as its
    letters)."""
    tags = value if isinstance(value, list) else [value]
    return tuple(tag for tag in map(_text, tags) if tag.strip())


def _absolute(base: str, value: object) -> str | None:
    """A URL of the feed made absolute against the feed's own (relative ones were dropped
    when normalized)."""
    url = _text(value).strip()
    if not url:
        return None
    try:
        return join_url(base, url)
    except ValueError:
        return url  # normalizing drops what is no web URL


def _number(digits: str) -> int | float:
    """A JSON integer; beyond what int() reads from text (4,300 digits), a float, so that
    one such number in a field we do not read costs the document nothing."""
    return int(digits) if len(digits) <= 4000 else float(digits)


def _text(value: object) -> str:
    """A string of the document as text (lone surrogates replaced, C1 controls read as
    windows-1252, as PHP's ``utf8_encode`` and ``json_encode`` leave "„Zukunft“ – 5 €"); ""
    for anything else."""
    if not isinstance(value, str):
        return ""
    return value if value.isascii() else c1_as_cp1252(_LONE_SURROGATE.sub("\ufffd", value))


def _plain(value: object) -> str:
    """A plain-text field (title, summary) as HTML. Character references in it are read:
    JSON Feed's text has none, but WordPress's JSON Feed plugin writes its typography so
    ("Sommerfest &#8211; &#8222;Kultur&#8220;"), and NetNewsWire and FreshRSS read them."""
    text = _text(value)
    if "&" in text:
        # Only references that end in ";": html.unescape also reads "&para" or "&copy"
        # without one, and a link's query written in the text ("?a=1&para=2") lost them.
        text = _REFERENCE.sub(lambda found: html.unescape(found[0]), text)
    return html.escape(text, quote=False)


_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
