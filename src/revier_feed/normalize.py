"""RawItem -> Item: clean URLs, UTC dates, plain-text titles, sanitized HTML, a fingerprint.

Pure: no network, no store, no clock (``now`` is a parameter). Sanitizing is the last step,
after every rewrite, so nothing added later can bypass it (as in miniflux's processor).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from contextvars import ContextVar
from datetime import datetime
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import nh3

from ._utils import URL_TRIM, XML_FORBIDDEN, as_uri, join_url, without_bidi
from .models import (
    DATE_ONLY_TITLE,
    FUTURE_TOLERANCE,
    NO_TITLE,
    TEXT_KEY,
    Attachment,
    Item,
    RawItem,
    SourceSpec,
)

try:
    from . import _markup
except ImportError:  # pragma: no cover - installed without a C compiler
    _markup = None  # type: ignore[assignment]

#: Bump when the fingerprint's inputs change; old fingerprints then read as "changed" once.
FINGERPRINT_VERSION = 1

#: Names of tracking parameters by their beginning: Google's, Matomo's (and Piwik's) and
#: HubSpot's ads. Matomo's "pk_" names are listed below: "pk_id=42" may name a page.
_TRACKING_PREFIXES = ("utm_", "mtm_", "piwik_", "hsa_")
_TRACKING_NAMES = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "gad_source",
        "srsltid",
        "_gl",
        "_ga",
        "msclkid",
        "yclid",
        "igshid",
        "ttclid",
        "twclid",
        "li_fat_id",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "wt_mc",
        "wt.mc_id",
        "wt_zmc",
        "at_medium",
        "at_campaign",
        "xtor",
        "ref_src",
        "s_cid",
        "s_kwcid",
        "sc_cid",
        "sc_campaign",
        "oly_enc_id",
        "oly_anon_id",
        "vero_id",
        "pk_campaign",
        "pk_cpn",
        "pk_kwd",
        "pk_keyword",
        "pk_source",
        "pk_medium",
        "pk_content",
        "pk_cid",
        "pk_group",
        "pk_placement",
        "pk_vid",
        "_hsenc",
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        # Session ids: each visit's links differ, so every fetch found "new" items.
        "jsessionid",
        "phpsessid",
    }
)
#: Names that are a session id only with a token's value ("?sessionid=42" may be a
#: programme's session of a conference).
_SESSION_NAMES = frozenset({"sessionid", "session_id", "sid"})
_SESSION_TOKEN = re.compile(r"[0-9A-Za-z]{16,}")
#: A Java server's session id as a path parameter ("/pm1.html;jsessionid=4F2A.live21").
_PATH_SESSION = re.compile(r";jsessionid=[^/;?#]*", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "dd",
        "del",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "small",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "u",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
    "abbr": {"title"},
    "blockquote": {"cite"},
    "q": {"cite"},
}
_URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
_PIXEL = re.compile(r"<img\b[^>]*\b(?:width|height)=\"[01](?:px)?\"[^>]*>", re.IGNORECASE)
_BLOCK_BOUNDARY = re.compile(r"<(?=/?(?:p|div|br|li|h[1-6]|tr|td|th|blockquote|dd|dt)\b)", re.I)
# A tag as nh3 writes it: attribute values in double quotes (older versions left ">" in
# them unescaped).
_MARKUP = re.compile(r'<(?:[^>"]|"[^"]*")*>')
# Characters XML 1.0 forbids; one of them in a title would make every published feed invalid.
_CONTROL = re.compile(f"[{XML_FORBIDDEN}]")
# "Ã¤", "Ã¶", "ÃŸ", "â€“": the first byte of a two- or three-byte UTF-8 sequence read as
# windows-1252, followed by a continuation byte read the same way. A cheap gate for ftfy.
_MOJIBAKE = re.compile(
    "[ÂÃâ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
    "\u02c6\u02dc\u2013-\u203a\u20ac\u2122]"
)
#: Longer titles, author names and categories are a site's error (a whole article in the
#: headline): they are cut at a word, as teasers are, and not carried into every feed,
#: page and digest.
MAX_TITLE_CHARS = 300
MAX_AUTHOR_CHARS = 200
MAX_CATEGORY_CHARS = 100
MAX_CATEGORIES = 50
MAX_FILE_TITLE_CHARS = 200
#: A file's address longer than this is no download link (browsers and servers refuse
#: longer ones); it would go into every feed, page and digest listing the item.
MAX_FILE_URL_CHARS = 2000
#: More files than this under one item are a site's error (a whole archive as enclosures).
MAX_ATTACHMENTS = 20


def normalize(raw: RawItem, spec: SourceSpec, now: datetime) -> Item:
    """The cleaned, sanitized form of ``raw`` from source ``spec``.

    Args:
        raw: the item as parsed.
        spec: the source it came from (default tags, district).
        now: first-seen time; stands in for a missing or implausible date.
    """
    url = _web_url(raw.link)
    # Links in the text are relative to the item's page; without one, to the source's, as
    # a feed reader would take them (never left relative: a reader would resolve them
    # against our feed's address, making them look like links of ours).
    base = url or spec.url
    summary_html = _repaired_html(raw.summary_html, base)
    content_html = _repaired_html(raw.content_html, base)
    summary_text = sanitized_text(summary_html)
    content_text = sanitized_text(content_html)
    if not summary_text and content_text:
        summary_text = shorten(content_text, 400)
    title = _repaired_text(raw.title)
    if not title or DATE_ONLY_TITLE.match(title):
        # Some listings put only the date where the headline belongs; the teaser says more.
        title = shorten(summary_text, 80) or title or NO_TITLE
    title = shorten(without_bidi(title), MAX_TITLE_CHARS)  # a teaser's too, when used

    published, estimated = _plausible(raw.published, now)
    updated = raw.updated if raw.updated and raw.updated <= now + FUTURE_TOLERANCE else None
    item_key = _key(raw, url, title, summary_text)
    return Item(
        source_id=spec.id,
        key=item_key,
        url=url,
        title=title,
        summary_html=summary_html,
        summary_text=summary_text,
        content_html=content_html,
        author=shorten(_repaired_text(raw.author), MAX_AUTHOR_CHARS) if raw.author else None,
        published_at=published,
        date_estimated=estimated,
        updated_at=updated,
        categories=_categories(raw.categories),
        tags=frozenset(),  # the tag stage decides
        image=(image := _web_url(raw.image)),
        attachments=_attachments(raw.attachments, image, url),
        fingerprint=fingerprint(
            title=title,
            url=url,
            summary=summary_text,
            content=content_text,
            # A date that moves with every fetch ("vor 2 Stunden") changes nothing a reader
            # sees: the item keeps the date its first fetch read.
            published=None if estimated or raw.date_moves else published.isoformat(),
        ),
    )


def _attachments(
    found: tuple[Attachment, ...], image: str | None, link: str | None
) -> tuple[Attachment, ...]:
    """The item's files as published: web links only (a ``javascript:`` enclosure is
    dropped) in ASCII, each once, neither the item's picture nor its own page, a media type
    of the form ``type/subtype`` (read from the file's name where the feed gave none, or
    one it cannot mean), a size only where one is stated. A picture among them is a file
    (a press photo to download); a feed's picture enclosures are its ``image`` already."""
    attachments: list[Attachment] = []
    seen = {as_uri(image), as_uri(link)}  # in one spelling: "Brücke.jpg" is "Br%C3%BCcke.jpg"
    for attachment in found:
        url = as_uri(_web_url(attachment.url))
        if url in seen or url is None or len(url) > MAX_FILE_URL_CHARS:
            continue
        seen.add(url)
        media_type = _media_type(attachment.media_type, url)
        size = attachment.size if attachment.size else None  # "0": not stated
        title = shorten(_repaired_text(attachment.title or ""), MAX_FILE_TITLE_CHARS) or None
        attachments.append(Attachment(url, media_type, size, title))
        if len(attachments) == MAX_ATTACHMENTS:
            break
    return tuple(attachments)


_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


def _media_type(stated: str, url: str) -> str:
    """``stated`` without its parameters, if it is a media type that says what the file
    is, else the type its name says. Atom's links without a type read as "text/html"
    (feedparser's default, the spec's for links), and many servers call any download
    "application/octet-stream": for a file whose name says more, the name wins."""
    media_type = stated.split(";", 1)[0].strip().lower()
    if not _MEDIA_TYPE.fullmatch(media_type):
        media_type = _UNKNOWN
    if media_type in _UNSPECIFIC:
        return media_type_of_name(urlsplit(url).path) or media_type
    return media_type


def media_type_of_name(path: str) -> str | None:
    """The media type a file's name says (``bericht.PDF``: ``application/pdf``), from our
    own table: Python's differs between its versions, the system's between machines, and
    the published feeds must not."""
    name = path.rpartition("/")[2].lower()
    return _TYPES_BY_EXTENSION.get(name.rpartition(".")[2]) if "." in name else None


_UNKNOWN = "application/octet-stream"
_UNSPECIFIC = frozenset({_UNKNOWN, "text/html"})
#: What press offices, institutes and podcasts link; a name ending otherwise (".php",
#: ".aspx": a download script) says nothing of the file.
_TYPES_BY_EXTENSION = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "rtf": "application/rtf",
    "txt": "text/plain",
    "csv": "text/csv",
    "ics": "text/calendar",
    "epub": "application/epub+zip",
    "zip": "application/zip",
    "7z": "application/x-7z-compressed",
    "gz": "application/gzip",
    "tgz": "application/gzip",
    "kml": "application/vnd.google-earth.kml+xml",
    "kmz": "application/vnd.google-earth.kmz",
    "gpx": "application/gpx+xml",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/ogg",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "mp4": "video/mp4",
    "m4v": "video/mp4",
    "webm": "video/webm",
    "ogv": "video/ogg",
    "mov": "video/quicktime",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "svg": "image/svg+xml",
    "avif": "image/avif",
}


def _repaired_text(fragment: str) -> str:
    """The text of a title, author or category, its mojibake undone: before decoding (a
    no-break space's "Â\xa0" would be split as a blank) and after it (PHP's htmlentities()
    writes mojibake as references, "F&Atilde;&para;rderung"); without the controls that
    reorder text, which a repair may bring back ("â€®" is U+202E)."""
    text = repair_mojibake(html_to_text(repair_mojibake(fragment)))
    return without_bidi(text)


def _repaired_html(fragment: str, base_url: str) -> str:
    """``fragment`` with mojibake undone and sanitized. Mojibake written as references
    ("F&Atilde;&para;rderung", PHP's htmlentities()) shows once the sanitizer has decoded
    them: repaired then, and the repair sanitized again (sanitizing stays the last step).
    Without the controls that reorder text: a teaser is shown beside other items' too (in
    a digest's plain text, "Antrag: \u202efdp.exe" reads "Antrag: exe.pdf")."""
    cleaned = sanitize_html(repair_mojibake(fragment), base_url=base_url)
    repaired = repair_mojibake(cleaned)
    if repaired != cleaned:
        cleaned = sanitize_html(repaired, base_url=base_url)
    return without_bidi(cleaned)


def clean_url(url: str) -> str:
    """``url`` with lower-case scheme and host, no default port, no tracking parameters.

    Everything else is kept byte for byte (``?12345``, ``;`` separators, ``%20``): old CMS
    links break on any re-encoding of their query.
    """
    return url if _CLEAN_ALREADY.match(url) else clean_url_python(url)


def clean_url_python(url: str) -> str:
    """:func:`clean_url`, always taking the URL apart (the reference of its shortcut)."""
    url = strip_control(url.strip())
    if _NOT_IN_URL.search(url):
        url = _NOT_IN_URL.sub(_percent_encoded, _REMOVED_FROM_URL.sub("", url))
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    host, port = hostport, ""
    if not hostport.endswith("]") and ":" in hostport:  # not an IPv6 literal without port
        host, _, port = hostport.rpartition(":")
    if port == str(_DEFAULT_PORTS[scheme]):
        port = ""
    netloc = (f"{userinfo}@" if userinfo else "") + host.lower() + (f":{port}" if port else "")
    kept = [pair for pair in parts.query.split("&") if pair and not _is_tracking_pair(pair)]
    path = _PATH_SESSION.sub("", parts.path) if ";" in parts.path else parts.path
    return urlunsplit((scheme, netloc, path or "/", "&".join(kept), parts.fragment))


# Blanks, quotes and angle brackets, which no URL holds, are percent-encoded as a browser
# does when it follows the link; published raw, they made the feeds invalid, and a reader
# that pastes links into HTML unquoted open to injection. Tabs and line breaks a browser
# removes. Other characters RFC 3986 leaves out ("|", "{", "^") browsers send as they are,
# and so are they kept. Controls and invisible format characters (C1, bidi overrides,
# zero-width) are percent-encoded too: shown raw, a link could colour a terminal or read
# backwards.
_NOT_IN_URL = re.compile(r'[\s"<>`\x80-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]')
_REMOVED_FROM_URL = re.compile("[\t\n\r]")


def _percent_encoded(character: re.Match[str]) -> str:
    return quote(character[0], safe="")


# A link clean_url() gives back as it is, without taking it apart: http(s), a lower-case
# ASCII host without user or port, a path without ";" (parameters: a session id), no
# query, a non-empty fragment if any; no blanks
# (Unicode's too: strip() removes them at the ends), controls, XML-forbidden characters or
# characters a URL may not hold.
# Most item links are such; taking one apart and putting it together again (twice, for an
# item's link) cost about 2 us.
_CLEAN_ALREADY = re.compile(
    r"https?://[a-z0-9.-]+/[^\s\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    r'\ufeff\ufffe\uffff?#;"<>\\^`{|}]*'
    r'(?:#[^\s\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufffe\uffff"<>\\^`{|}]+)?\Z'
)


def _web_url(url: str | None) -> str | None:
    """A cleaned http(s) URL, or None: an item link like ``javascript:`` must never be
    published."""
    if not url:
        return None
    if _CLEAN_ALREADY.match(url):
        return url
    try:
        cleaned = clean_url_python(url)
        return cleaned if urlsplit(cleaned).scheme in _DEFAULT_PORTS else None
    except ValueError:  # no URL ("http://[::1"): the item is kept without it
        return None


def _is_tracking_pair(pair: str) -> bool:
    name, _, value = pair.partition("=")
    lowered = unquote(name).lower()
    if lowered in _SESSION_NAMES:
        return _SESSION_TOKEN.fullmatch(value) is not None
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


def sanitize_html(fragment: str, base_url: str | None = None) -> str:
    """Allow-listed HTML: no scripts, styles, event handlers, ``javascript:`` URLs or pixels.

    Relative links and images are made absolute against ``base_url``.
    """
    if not fragment or not fragment.strip():
        return ""
    token = _base_url.set(base_url)
    try:
        cleaned = _CLEANER.clean(strip_control(bounded_html(fragment)))
        # nh3 decodes character references such as &#1; into the characters themselves,
        # which XML forbids, so they are removed. Removed from a link, they could join what
        # nh3 judged a harmless relative link ("java\x01script:") into one it would have
        # removed: then what is left is sanitized once more, judged without them.
        stripped = strip_control(cleaned)
        if stripped != cleaned:
            cleaned = strip_control(_CLEANER.clean(bounded_html(stripped)))
    finally:
        _base_url.reset(token)
    # nh3 output has normalized, double-quoted attributes and lower-case tag names, so this
    # match is reliable (and needs no scan of a fragment without images, or without a size
    # of 0 or 1); removing a whole element cannot make sanitized HTML unsafe.
    if "<img" in cleaned and ('="0' in cleaned or '="1' in cleaned):
        cleaned = _PIXEL.sub("", cleaned)
    return cleaned.strip()


#: The base URL of the fragment :data:`_CLEANER` is working on in this thread.
_base_url: ContextVar[str | None] = ContextVar("base_url", default=None)


def _absolute(element: str, attribute: str, value: str) -> str | None:
    if attribute in _URL_ATTRIBUTES:
        base_url = _base_url.get()
        try:
            url = join_url(base_url, value) if base_url else value
            # Links in the text are cleaned as item links are: without tracking parameters
            # or the session the site gave revier-feed (";jsessionid=…"), blanks encoded.
            url = clean_url(url) if attribute == "href" else url
        except ValueError:  # no URL ("http://[::1"): the attribute goes, the text stays
            return None
        # nh3 checks the scheme of href and src, not of cite: checked here for all three.
        return url if _safe_scheme(url) else None
    return value


_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")
_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})


def _safe_scheme(url: str) -> bool:
    """Whether a link is relative or of a scheme allowed in published HTML."""
    scheme = _SCHEME.match(_REMOVED_FROM_URL.sub("", url.strip(URL_TRIM)))
    return scheme is None or scheme[0][:-1].lower() in _SAFE_SCHEMES


_WITHOUT_CONTENT = {"script", "style", "noscript", "iframe", "noembed", "noframes", "textarea"}
# One sanitizer for every fragment: nh3.clean() would build its allow-lists anew for each
# call, about as much work as sanitizing a teaser. The base URL varies per item, so the
# attribute filter reads it from a context variable, which each thread has its own of.
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer nofollow",
    attribute_filter=_absolute,
    strip_comments=True,
    # Removed with what they hold. A browser reads the markup in these as text (a lazy
    # picture's <noscript> copy, an <iframe>'s fallback): it was published as visible
    # "<img src=…>" (nh3 keeps only script's and style's out by default).
    clean_content_tags=_WITHOUT_CONTENT,
)
#: Removes every tag (for text), otherwise nh3's defaults.
_NO_TAGS = nh3.Cleaner(tags=set())

#: Markup nested deeper than this is flattened before it is sanitized: html5ever looks
#: through the open elements at every block's start, so N nested <div>s cost N² (200,000 of
#: them, 2 MB, held a cycle for 171 s, and again every cycle). Articles nest a few dozen
#: deep; browsers stop nesting at 512.
MAX_NESTING = 200
#: Tags beyond this many in one fragment are removed, their text kept. The nesting count
#: follows the HTML parser only so far (formatting elements it rebuilds in every paragraph,
#: foreign content); a bound on the tags bounds the parser's work whatever the markup does
#: (about 0.5 s for the worst kind found). An article has a few hundred.
MAX_TAGS = 10_000
#: Formatting elements (b, i, a, …) left open beyond this many are removed: the parser
#: opens a copy of each open one again in every new paragraph or list item, so N of them
#: unclosed make N² elements ("<li><b id=1><li>…" × 3,000 took 12 s).
MAX_OPEN_FORMATTING = 100
#: ... and beyond this many characters of their tags: each copy carries its attributes
#: (100 bold tags with a 5 KB title each made a 1 GB string of 510 KB).
MAX_OPEN_FORMATTING_CHARS = 2_000
#: The longest HTML fragment (a teaser, an article's text) sanitized; beyond it, it is cut
#: at a tag (one item's text may be 10 MB, the size of a whole answer).
MAX_HTML_CHARS = 1_000_000


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


# The start of a comment, of a "<!…>" or "<?…>" (read up to the first ">"), or of a tag.
_TAG_START = re.compile(r"<(?:(!--)|[!?]|(/?)([A-Za-z][^\s/>]*))")
#: Elements whose text the parser reads without looking for tags in it.
_RAW_TEXT = _names("script style textarea title xmp iframe noembed noframes noscript")
_VOID = _names("area base br col embed hr img input link meta param source track wbr")
#: Elements of text, which the tags below close through ("<li><b>a<li>b": two items).
_PHRASING = _names(
    "a abbr b big cite code em font i kbd mark nobr q s samp small span strike strong sub "
    "sup tt u var"
)
#: Elements whose end tag the HTML parser's adoption agency handles.
_FORMATTING = _names("a b big code em font i nobr s small strike strong tt u")
_HEADINGS = _names("h1 h2 h3 h4 h5 h6")
#: Elements that begin a new list of formatting elements (a marker in the parser's list).
_MARKERS = _names("applet caption marquee object td template th")
#: What a start tag closes: the open elements of its first set, through those of the
#: second (None: through any element but a table).
_START_CLOSES: dict[str, tuple[frozenset[str], frozenset[str] | None]] = {
    "li": (_names("li"), _PHRASING | _names("address div p")),
    "dt": (_names("dt dd"), _PHRASING | _names("address div p")),
    "dd": (_names("dt dd"), _PHRASING | _names("address div p")),
    "tr": (_names("tr"), None),
    "td": (_names("td th"), None),
    "th": (_names("td th"), None),
    "option": (_names("option"), frozenset()),
    **dict.fromkeys(
        _names(
            "address article aside blockquote center details dialog dir div dl fieldset "
            "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr main menu nav "
            "ol p pre section summary table ul"
        ),
        (_names("p"), _PHRASING),
    ),
}
#: Elements an end tag does not close through: "<div><table></div>" leaves the div open,
#: and so do a select and the places in SVG and MathML where HTML is read again.
_SCOPE = _names(
    "applet caption html marquee object table td template th select foreignobject desc "
    "mi mo mn ms mtext annotation-xml"
)
#: What the end tags of a table and of its parts do not close through (others: _SCOPE).
_END_STOPS = {
    "table": _names("html template"),
    **dict.fromkeys(_names("caption tbody td tfoot th thead tr"), _names("table")),
}


def bounded_html(fragment: str) -> str:
    """``fragment`` within :data:`MAX_HTML_CHARS` and :data:`MAX_TAGS`, and with the tags
    that would nest deeper than :data:`MAX_NESTING` removed (their text kept): what the
    sanitizer gets."""
    if len(fragment) > MAX_HTML_CHARS:
        cut = fragment.rfind("<", 0, MAX_HTML_CHARS)
        fragment = fragment[: cut if cut > 0 else MAX_HTML_CHARS]
    tags = fragment.count("<")
    if tags <= MAX_NESTING:  # cannot nest deeper: nothing to look at
        return fragment
    if tags > MAX_TAGS:
        at = -1
        for _ in range(MAX_TAGS):
            at = fragment.find("<", at + 1)
        head, rest = fragment[:at], fragment[at:]
        fragment = head + _ANY_TAG.sub(" ", rest).replace("<", "&lt;")
    return _Flattener().flatten(fragment)


_ANY_TAG = re.compile(r"<[^<>]*>")


class _Flattener:
    """Follows the open elements tag by tag, as far as a regular expression can: close
    enough to the HTML parser's rules that articles keep all their tags, and closing no
    element the parser would keep open, so nothing reaches the sanitizer nested deeper
    than the limit."""

    def __init__(self) -> None:
        self.open: list[str] = []
        self.dropped: dict[str, int] = {}  #: start tags removed, whose end tags go too
        #: The parser's list of formatting elements: (name, tag) of those not yet ended,
        #: None where a cell, caption, object or template began (end tags inside one do
        #: not reach the entries before it).
        self.active: list[tuple[str, str] | None] = []
        self.active_chars = 0  #: of the tags in it

    def flatten(self, fragment: str) -> str:
        """``fragment`` with the tags nested too deep removed. One pass: each search
        starts where the last one ended (a comment or a script that never ends runs to
        the end of the fragment, as in a browser)."""
        parts: list[str] = []
        done = 0  # fragment[:done] is in parts
        at = 0
        while (start := _TAG_START.search(fragment, at)) is not None:
            if start[1]:  # a comment ("<!-->" and "<!--->" end at once)
                after = start.end()
                abrupt = fragment.startswith(">", after) or fragment.startswith("->", after)
                if abrupt:
                    at = fragment.find(">", after) + 1
                else:  # "-->", or "--!>" (a parse error that ends it all the same)
                    ends = [
                        e + len(mark)
                        for mark in ("-->", "--!>")
                        if (e := fragment.find(mark, after)) >= 0
                    ]
                    at = min(ends, default=len(fragment))
                continue
            end = fragment.find(">", start.end())
            if end < 0:
                break
            at = end + 1
            if start[3] is None:  # "<!…>", "<?…>"
                continue
            name = start[3].lower()
            tag = fragment[start.start() : at]
            kept = self.tag(name, bool(start[2]), tag)
            if kept is not tag:
                parts.append(fragment[done : start.start()])
                done = at
            if name in _RAW_TEXT and not start[2]:
                closing = re.compile(rf"</{name}\s*>", re.IGNORECASE).search(fragment, at)
                at = len(fragment) if closing is None else closing.end()
        parts.append(fragment[done:])
        return "".join(parts)

    def tag(self, name: str, closing: bool, tag: str) -> str:
        """What stays of ``tag`` (``name``, lower case; ``closing``: an end tag): itself,
        or nothing."""
        # "<div/>" opens a div as "<div>" does: HTML ignores the slash but on void elements
        # (and in SVG, which the sanitizer removes, where counting it costs only depth).
        if name in _VOID:
            return tag
        if closing:
            if self.dropped.get(name):
                self.dropped[name] -= 1
                return ""
            if name in _FORMATTING:
                self._forget(name)
            self._end(name)
            return tag
        if name == "a" and self._forget("a"):
            self._end("a")  # a link ends the one still open ('<a name="x"/>' in XHTML)
        if name in _FORMATTING and not self._remember(name, tag):
            self.dropped[name] = self.dropped.get(name, 0) + 1
            return ""
        if name in _MARKERS:
            self.active.append(None)
        closes = _START_CLOSES.get(name)
        if closes is not None:
            self._close(*closes)
        if name in _HEADINGS and self.open and self.open[-1] in _HEADINGS:
            self.open.pop()  # "<h2>Titel<h3>": a heading ends the one still open
        if len(self.open) >= MAX_NESTING:
            self.dropped[name] = self.dropped.get(name, 0) + 1
            return ""
        self.open.append(name)
        return tag

    def _remember(self, name: str, tag: str) -> bool:
        """Enter a formatting element into the list, as the parser does (of three alike
        since the last marker, the first goes); False if the list is full."""
        since = len(self.active) - 1 - self.active[::-1].index(None) if None in self.active else -1
        alike = [i for i in range(since + 1, len(self.active)) if self.active[i] == (name, tag)]
        if len(alike) >= 3:
            del self.active[alike[0]]
            self.active_chars -= len(tag)
        elif (
            len(self.active) - self.active.count(None) >= MAX_OPEN_FORMATTING
            or self.active_chars + len(tag) > MAX_OPEN_FORMATTING_CHARS
        ):
            return False
        self.active.append((name, tag))
        self.active_chars += len(tag)
        return True

    def _forget(self, name: str) -> bool:
        """Take the last ``name`` since the last marker out of the list; False if none."""
        for i in range(len(self.active) - 1, -1, -1):
            entry = self.active[i]
            if entry is None:
                return False
            if entry[0] == name:
                del self.active[i]
                self.active_chars -= len(entry[1])
                return True
        return False

    def _end(self, name: str) -> None:
        """Close the innermost open ``name``, unless a table (or the like) inside it is
        still open."""
        if name not in self.open:
            return
        stops = _END_STOPS.get(name, _SCOPE)
        for depth in range(len(self.open) - 1, -1, -1):
            element = self.open[depth]
            if element == name:
                if name in _FORMATTING and not _PHRASING.issuperset(self.open[depth + 1 :]):
                    # "<a><div></a>": the parser's adoption agency ends the link, but the
                    # block in it stays open (with a copy of the link inside).
                    del self.open[depth]
                else:
                    self._pop(depth)
                return
            if element in stops:
                return

    def _pop(self, depth: int) -> None:
        """Close the open elements from ``depth`` on; a cell, caption or object among them
        takes the formatting elements begun inside it out of the list."""
        for element in self.open[depth:]:
            if element in _MARKERS and None in self.active:
                while (entry := self.active.pop()) is not None:
                    self.active_chars -= len(entry[1])
        del self.open[depth:]

    def _close(self, names: frozenset[str], through: frozenset[str] | None) -> None:
        """Close the innermost open element of ``names`` if only elements of ``through``
        (None: any but a table) are open inside it."""
        for depth in range(len(self.open) - 1, -1, -1):
            element = self.open[depth]
            if element in names:
                self._pop(depth)
                return
            if element == "table" if through is None else element not in through:
                return


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 text that was decoded as windows-1252 ("LÃ¤ndliche" -> "Ländliche"),
    but only where the repair is unambiguous (ftfy decides); other text is returned as is."""
    # Three substring scans are much cheaper than the pattern's scan of a clean teaser.
    if not text or ("Ã" not in text and "Â" not in text and "â" not in text):
        return text
    if not _MOJIBAKE.search(text):
        return text
    import ftfy  # rarely needed, and slow to import

    return ftfy.fix_encoding(text)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, whitespace collapsed, entities decoded, without the
    controls that reorder text (titles, names and categories are shown beside others').

    What looks like a tag of no HTML element is text ("Festspiele <Open Air> 2027", a title
    of type text): an HTML parser would drop it as an unknown element, and with it words
    the publisher wrote.
    """
    if not fragment:
        return ""
    fragment = strip_control(bounded_html(fragment))
    if "<" in fragment:
        fragment = _escape_unknown_tags(fragment)
    if "<" in fragment or "&" in fragment:
        spaced = _BLOCK_BOUNDARY.sub(" <", fragment)
        fragment = strip_control(html.unescape(_NO_TAGS.clean(spaced)))
    return " ".join(without_bidi(fragment).split())


#: A tag as text may show it: "<", an optional "/", a name, what follows up to its ">".
_TAG_LIKE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)")
#: The elements of HTML, obsolete ones included, and the roots of SVG and MathML.
_ELEMENT_NAMES = """
    a abbr acronym address applet area article aside audio b base basefont bdi bdo bgsound
    big blink blockquote body br button canvas caption center cite code col colgroup data
    datalist dd del details dfn dialog dir div dl dt em embed fieldset figcaption figure font
    footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe image img
    input ins isindex kbd keygen label legend li link listing main map mark marquee math menu
    menuitem meta meter multicol nav nextid nobr noembed noframes noscript object ol optgroup
    option output p param picture plaintext pre progress q rb rp rt rtc ruby s samp script
    search section select slot small source spacer span strike strong style sub summary sup
    svg table tbody td template textarea tfoot th thead time title tr track tt u ul var video
    wbr xmp"""
_HTML_ELEMENTS = frozenset(_ELEMENT_NAMES.split())


def _escape_unknown_tags(fragment: str) -> str:
    """``fragment`` with each "<" that begins no markup written as "&lt;": a tag of no HTML
    element is words ("<Open Air>") unless something marks it as markup: a name with "-"
    (a custom element, "<ion-icon>") or with a prefix ("<o:p>", Word's), an attribute with
    a value, "/>", a closing tag of its name, or an address after the name
    ("<max@kreis.example>", an author's, markup as it always was taken)."""
    lowered = fragment.lower()

    def escape(match: re.Match[str]) -> str:
        closing, name, rest = match[1], match[2].lower(), match[3]
        markup = (
            name in _HTML_ELEMENTS
            or "-" in name
            or rest[:1] in (":", "@")
            or "=" in rest
            or rest.rstrip().endswith("/")
            or (f"<{name}" if closing else f"</{name}") in lowered
        )
        return match[0] if markup else "&lt;" + match[0][1:]

    return _TAG_LIKE.sub(escape, fragment)


def strip_control_python(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (the reference of the C extension's
    :func:`strip_control`)."""
    return _CONTROL.sub("", text)


def sanitized_text_python(fragment: str) -> str:
    """:func:`sanitized_text` in Python (the reference of the C extension's)."""
    text = html.unescape(_MARKUP.sub("", _BLOCK_BOUNDARY.sub(" <", fragment)))
    return " ".join(text.split())


def sanitized_text(fragment: str) -> str:
    """:func:`html_to_text` for the output of :func:`sanitize_html`, without parsing it again.

    nh3 writes well-formed markup with double-quoted attributes and no comments, scripts,
    control characters or character references beyond ``&amp; &lt; &gt; &quot; &nbsp;``,
    so removing the tags and decoding the rest gives the same text as nh3 would. The C
    extension does it in one pass where it is built; a fragment with other references
    takes the Python path.
    """
    if not fragment:
        return ""
    if _markup is not None:
        text = _markup.markup_text(fragment)
        if text is not None:
            return text
    return sanitized_text_python(fragment)


#: Whether :func:`strip_control` and :func:`sanitized_text` run in C (``_markup.c``, built
#: by ``pip install``): every item's teaser and body pass through them.
NATIVE_MARKUP = _markup is not None
#: :func:`strip_control_python`, in C where the extension is built.
strip_control = _markup.strip_control if _markup is not None else strip_control_python


def _categories(raw: tuple[str, ...]) -> tuple[str, ...]:
    texts = (shorten(_repaired_text(c), MAX_CATEGORY_CHARS) for c in raw[: MAX_CATEGORIES * 2])
    return tuple(dict.fromkeys(c for c in texts if c))[:MAX_CATEGORIES]


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:.-– ")
    return cut + "…"


#: json.dumps() with options builds an encoder per call; one is enough (same output).
_JSON = json.JSONEncoder(ensure_ascii=False)


def fingerprint(**fields: str | None) -> str:
    """Versioned hash of what a reader sees; empty fields are left out so adding one later
    does not change the fingerprints of items that don't have it."""
    present = {k: v for k, v in sorted(fields.items()) if v}
    digest = hashlib.sha256(_JSON.encode(present).encode()).hexdigest()
    return f"{FINGERPRINT_VERSION}:{digest[:40]}"


def undated_fingerprint(item: Item) -> str:
    """``item``'s fingerprint as :func:`normalize` makes it for an item without a date of
    its own (what the reader sees but the date)."""
    return fingerprint(
        title=item.title,
        url=item.url,
        summary=item.summary_text,
        content=sanitized_text(item.content_html),
        published=None,
    )


def _plausible(value: datetime | None, now: datetime) -> tuple[datetime, bool]:
    if value is None or value > now + FUTURE_TOLERANCE:
        return now, True
    return value, False


def _key(raw: RawItem, url: str | None, title: str, summary: str) -> str:
    if raw.guid and raw.guid.strip():
        return raw.guid.strip()
    if url:
        return url
    digest = hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()[:24]
    return f"{TEXT_KEY}{digest}"
