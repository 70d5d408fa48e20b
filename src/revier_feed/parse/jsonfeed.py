"""JSON Feed 1.0 and 1.1 documents -> RawItem (https://www.jsonfeed.org/version/1.1/)."""

from __future__ import annotations

import contextlib
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
    """Whether the document is JSON rather than XML (decided without parsing it): also in
    UTF-16, an array (which is then reported as no JSON Feed) or after a comment."""
    content_type = fetched.headers.get("content-type", "")
    if "json" in content_type:
        return True
    head = fetched.content[:64].replace(b"\x00", b"").lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n")
    if head.startswith((b"{", b"[", b"//", b"/*")):
        return True
    # PHP's warnings before the JSON: printed before its header(), the feed is "text/html".
    if b"</b>:" in head or head.startswith((b"PHP ", b"Warning:", b"Notice:", b"Deprecated:")):
        return _after_php_messages(fetched.content[:8192].decode("latin-1")) is not None
    return False


def parse_json_feed(
    source_id: str, fetched: FetchResult, now: datetime, tz: ZoneInfo
) -> ParsedDocument:
    """Parse a JSON Feed; bad items are skipped with a warning.

    Raises:
        ParseError: not JSON, not a JSON Feed, or no item could be read.
    """
    warnings: list[str] = []
    data = read_json(source_id, fetched, warnings, "JSON Feed")
    if isinstance(data, list):
        raise ParseError(
            source_id,
            kind=ErrorKind.NOT_A_FEED,
            message="JSON, but not a JSON Feed (a list, where a feed is an object); a site's "
            "other JSON is read as a `kind: json` source with its paths (docs/config.md)",
        )
    if not isinstance(data, dict) or not _VERSION.match(str(data.get("version", "")).strip()):
        raise ParseError(
            source_id,
            kind=ErrorKind.NOT_A_FEED,
            message="JSON, but not a JSON Feed (no jsonfeed.org version); a site's other "
            "JSON is read as a `kind: json` source with its paths (docs/config.md)",
        )
    raw_items = data.get("items")
    if (
        isinstance(raw_items, dict)
        and raw_items
        and all(isinstance(v, dict) for v in raw_items.values())
    ):
        # PHP's json_encode() writes an array whose keys have gaps ({"0": …, "2": …}) so.
        raw_items = list(raw_items.values())
        warnings.append("the JSON Feed's 'items' is an object, not a list; its members read")
    if not isinstance(raw_items, list):
        raise ParseError(
            source_id, kind=ErrorKind.PARSE, message="JSON Feed without an 'items' list"
        )
    # The feed's authors are those of each item that names none (JSON Feed 1.1, as
    # Micro.blog's and Hugo's feeds have them).
    feed_author = _author(data)
    items: list[RawItem] = []
    for index, entry in enumerate(raw_items):
        try:
            items.append(_item(entry, now, tz, fetched.url, feed_author))
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
        title=_references_read(text_of(title)) if isinstance(title, str) else None,
    )


def read_json(source_id: str, fetched: FetchResult, warnings: list[str], what: str) -> Any:
    """The JSON value of ``fetched``'s body (``what`` it is, as warnings name it), read as
    :func:`_document` reads it, in its own encoding.

    Raises:
        ParseError: not JSON.
    """
    try:
        # JSON's own encodings, told by its first bytes (RFC 4627): UTF-8, or UTF-16 or
        # UTF-32 with or without a byte order mark.
        encoding = json.detect_encoding(fetched.content)
        text = fetched.content.decode("utf-8-sig" if encoding == "utf-8" else encoding)
        text = text.removeprefix("\ufeff")
    except UnicodeDecodeError:
        # JSON is UTF-8 (RFC 8259); a document written in another encoding still has
        # items, read as a page is (its HTTP charset, else detection).
        declared = http_charset(fetched.headers.get("content-type", ""))
        text = decode_html(fetched.content, declared, fetched.url)
        warnings.append(
            f"the {what} is not UTF-8 (as JSON must be); read by its HTTP charset, or "
            "an encoding guessed from its bytes"
        )
    return _document(source_id, text, warnings)


def _document(source_id: str, text: str, warnings: list[str]) -> Any:
    """The JSON value of ``text``. What templates get wrong is mended with a warning (a
    comma before "]" or "}", comments), and of a feed cut off, the whole items before the
    cut are kept (as of an XML feed).

    Raises:
        ParseError: not JSON, nor a feed's beginning with a whole item.
    """
    try:
        return json.loads(text, parse_int=_number)
    except ValueError as e:
        if isinstance(e, json.JSONDecodeError) and e.msg == "Extra data":
            # A whole feed, then something else (a footer a PHP script printed).
            with contextlib.suppress(ValueError, RecursionError):
                data = json.JSONDecoder(parse_int=_number).raw_decode(text.lstrip())[0]
                warnings.append(f"what follows the JSON Feed's end passed over ({e})")
                return data
        error = e
    except RecursionError:
        raise ParseError(
            source_id, kind=ErrorKind.PARSE, message="not readable JSON: nested far too deeply"
        ) from None
    if (start := _after_php_messages(text)) is not None:
        # Their first words, without their tags: as many lines as a hostile server sends.
        said = " ".join(re.sub(r"<[^<>]*>", "", text[: min(start, 1000)]).split())
        said = said if len(said) <= 120 else said[:119] + "…"
        warnings.append(f"PHP's messages before the JSON passed over: {said}")
        return _document(source_id, text[start:], warnings)
    mended = _TEMPLATE_SLIPS.sub(lambda found: found["string"] or "", text)
    if mended != text:
        with contextlib.suppress(ValueError, RecursionError):
            data = json.loads(mended, parse_int=_number)
            warnings.append(
                "not valid JSON: a comma before ']' or '}', or a comment (as templates "
                "write them); read without them"
            )
            return data
    salvaged = _salvaged(mended)
    if salvaged is None:
        raise ParseError(source_id, kind=ErrorKind.PARSE, message=f"not valid JSON: {error}")
    warnings.append(
        f"the JSON Feed is cut off or broken ({error}); the {len(salvaged['items'])} whole "
        "items before that are read"
    )
    return salvaged


# A string (kept), or what JSON does not allow and templates write: a comment, or a comma
# before the end of a list or object (a loop that writes one after every item). A string
# or comment left open runs to the end, so that no part of it is scanned again.
_TEMPLATE_SLIPS = re.compile(
    r'(?P<string>"(?:[^"\\]|\\.)*(?:"|\\?\Z))|//[^\n]*|/\*.*?(?:\*/|\Z)|,(?=\s*[\]}])',
    re.DOTALL,
)
_BLANKS = re.compile(r"[ \t\r\n]*")
# What PHP prints when display_errors is on, before the script's output: lines such as
# "<br />\n<b>Warning</b>:  Undefined variable $x in <b>/var/www/feed.php</b> on line
# <b>12</b><br />" (HTML) or "PHP Notice:  … on line 12" (the command line's).
_PHP_MESSAGES = re.compile(
    r"(?:\s*(?:<br\s*/?>\s*)?(?:<b>)?(?:PHP )?"
    r"(?:Warning|Notice|Deprecated|Strict Standards)(?:</b>)?:[^\n]{0,2000}\n)+\s*(?=[{\[])"
)


def _after_php_messages(text: str) -> int | None:
    """Where the JSON starts after PHP's messages at the start of ``text``, if any."""
    found = _PHP_MESSAGES.match(text)
    return found.end() if found else None


def _salvaged(text: str) -> dict[Any, Any] | None:
    """The members of a feed's object up to where it breaks off, with the whole items of
    its list before the break; None unless that holds a version and an item."""
    data: dict[Any, Any] = {}
    at = _after_blanks(text, 0)
    if not text.startswith("{", at):
        return None
    decoder = json.JSONDecoder(parse_int=_number)
    with contextlib.suppress(ValueError, RecursionError):
        while True:
            key, at = decoder.raw_decode(text, _after_blanks(text, at + 1))
            at = _after_blanks(text, at)
            if not isinstance(key, str) or not text.startswith(":", at):
                break
            at = _after_blanks(text, at + 1)
            if key == "items" and text.startswith("[", at):
                data[key] = items = []
                while True:
                    item, at = decoder.raw_decode(text, _after_blanks(text, at + 1))
                    items.append(item)
                    at = _after_blanks(text, at)
                    if not text.startswith(",", at):
                        break
                if not text.startswith("]", at):
                    break
                at = _after_blanks(text, at + 1)
            else:
                data[key], at = decoder.raw_decode(text, at)
                at = _after_blanks(text, at)
            if not text.startswith(",", at):
                break
    if data.get("items") and "version" in data:
        return data
    return None


def _after_blanks(text: str, at: int) -> int:
    found = _BLANKS.match(text, at)
    return found.end() if found else at


def _author(entry: dict[Any, Any]) -> str | None:
    """The first name among an item's (or the feed's) ``authors`` (1.1), else ``author``
    (1.0): objects, as the spec says, or names alone, as some write."""
    for field in ("authors", "author"):
        authors = entry.get(field)
        for author in authors if isinstance(authors, list) else [authors]:
            if name := _name(author):
                return name
    return None


def _item(entry: Any, now: datetime, tz: ZoneInfo, base: str, feed_author: str | None) -> RawItem:
    if not isinstance(entry, dict):
        raise TypeError("an item must be an object")
    content = text_of(entry.get("content_html"))
    if not content and entry.get("content_text"):
        content = html.escape(text_of(entry.get("content_text")))
    summary = plain_text(entry.get("summary"))
    title = plain_text(entry.get("title"))
    if not title and not summary and not content:
        raise ValueError("item has no title, summary or content")
    updated_text = text_of(entry.get("date_modified")) or None
    # Only a modification date: the item's date, as an Atom entry's lone <updated> is.
    published_text = text_of(entry.get("date_published")) or updated_text
    guid = entry.get("id")
    # A string, or a number as many write it; anything else "can't be coerced" (the spec):
    # the item is then known by its link, as one without an id.
    if isinstance(guid, bool) or not isinstance(guid, (str, int, float)):
        guid = None
    files = _attachments(base, entry.get("attachments"))
    return RawItem(
        title=title,
        link=absolute_url(base, entry.get("url")) or absolute_url(base, entry.get("external_url")),
        guid=text_of(str(guid)) if guid not in (None, "") else None,
        summary_html=summary,
        content_html=content,
        author=_author(entry) or feed_author,
        published=parse_date(published_text, now, tz),
        published_text=published_text,
        # A modification time standing in for the date, as in feed._entry.
        date_moves=(not text_of(entry.get("date_published")) and bool(updated_text))
        or moves_with_now(published_text),
        updated=parse_date(updated_text, now, tz),
        categories=_tags(entry.get("tags")),
        image=absolute_url(base, entry.get("image"))
        or absolute_url(base, entry.get("banner_image"))
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
        url = absolute_url(base, attachment.get("url"))
        kind = text_of(attachment.get("mime_type")).lower()
        if url and url.split("#")[0] == base.split("#")[0]:
            continue  # "#": the feed's own address, no file
        if url:
            size = _size(attachment.get("size_in_bytes"))
            title = html.escape(text_of(attachment.get("title")), quote=False) or None
            found.append(Attachment(url, kind, size, title))
    return tuple(found)


def _size(value: object) -> int | None:
    """``size_in_bytes``: a JSON number, also written with a fraction (3000.0), or as
    text."""
    if isinstance(value, float) and value.is_integer() and 0 <= value < 1e15:
        return int(value)
    return stated_size(value)


def _name(author: object) -> str:
    return text_of(author.get("name") if isinstance(author, dict) else author).strip()


def _tags(value: object) -> tuple[str, ...]:
    """The item's tags: a list of strings, or one string (read as one tag, not as its
    letters)."""
    tags = value if isinstance(value, list) else [value]
    return tuple(tag for tag in map(text_of, tags) if tag.strip())


def absolute_url(base: str, value: object) -> str | None:
    """A URL of the feed made absolute against the feed's own (relative ones were dropped
    when normalized)."""
    url = text_of(value).strip()
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


def text_of(value: object) -> str:
    """A string of the document as text (lone surrogates replaced, C1 controls read as
    windows-1252, as PHP's ``utf8_encode`` and ``json_encode`` leave "„Zukunft“ – 5 €"); ""
    for anything else."""
    if not isinstance(value, str):
        return ""
    return value if value.isascii() else c1_as_cp1252(_LONE_SURROGATE.sub("\ufffd", value))


def plain_text(value: object) -> str:
    """A plain-text field (title, summary) as HTML. Character references in it are read:
    JSON Feed's text has none, but WordPress's JSON Feed plugin writes its typography so
    ("Sommerfest &#8211; &#8222;Kultur&#8220;"), and NetNewsWire and FreshRSS read them."""
    return html.escape(_references_read(text_of(value)), quote=False)


def _references_read(text: str) -> str:
    """``text`` with its character references read. Only references that end in ";":
    html.unescape also reads "&para" or "&copy" without one, and a link's query written in
    the text ("?a=1&para=2") lost them."""
    if "&" not in text:
        return text
    return _REFERENCE.sub(lambda found: html.unescape(found[0]), text)


_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
