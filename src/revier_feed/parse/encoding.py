"""Bytes of an HTML page -> text, with the encoding found the way browsers find it.

Order: byte-order mark, then valid UTF-8 (a legacy page never happens to be valid UTF-8
with non-ASCII bytes, while "UTF-8 declared as ISO-8859-1" is a common CMS mistake), then
UTF-8 with a few stray windows-1252 bytes (a sentence pasted into a UTF-8 page; the stray
bytes are read as windows-1252), then the HTTP charset, then ``<meta charset>``, then
detection among the encodings German and Central European sites use, then windows-1252.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from urllib.parse import urlsplit

try:
    from .. import _markup
except ImportError:  # pragma: no cover - installed without a C compiler
    _markup = None  # type: ignore[assignment]

_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?([-\w.:]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([-\w.:]+)["']""")
# Bounded within a tag: 12,000 "<meta " without a ">" made every one scan to the end.
_META_CHARSET = re.compile(
    rb"""<meta[^>]{1,512}?charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE
)
#: A browser's search for the charset skips comments (``<!-- <meta charset=koi8-r> -->``).
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: The bytes windows-1252 leaves undefined (browsers read them as the C1 controls).
_CP1252_UNDEFINED_BYTES = b"\x81\x8d\x8f\x90\x9d"
_CP1252_UNDEFINED = re.compile(b"[" + _CP1252_UNDEFINED_BYTES + b"]")
#: Windows-1252's characters for the C1 controls it has one for (for ``str.translate``).
C1_AS_CP1252 = {
    i: bytes([i]).decode("cp1252") for i in range(0x80, 0xA0) if i not in _CP1252_UNDEFINED_BYTES
}
_C1 = re.compile("[\x80-\x9f]")


def has_c1_python(text: str) -> bool:
    """Whether ``text`` holds a C1 control character (the reference of the C extension's
    ``has_c1``, which scans a teaser ten times faster than the regex engine)."""
    return _C1.search(text) is not None


#: :func:`has_c1_python`, in C where the extension is built.
has_c1 = _markup.has_c1 if _markup is not None else has_c1_python


def c1_as_cp1252(text: str) -> str:
    """``text`` with its C1 controls read as windows-1252 (as feedparser maps them)."""
    # Scanned first: str.translate with a dict is slow on long text.
    return text.translate(C1_AS_CP1252) if has_c1(text) else text


_CANDIDATES = ["utf_8", "cp1252", "iso8859_15", "cp1250", "iso8859_2"]
#: The single-byte encodings detection may choose for Latin text.
_LATIN = {"cp1252", "iso8859_15", "cp1250", "iso8859_2"}
#: Countries whose legacy pages are in windows-1250 or ISO-8859-2.
_CENTRAL_EUROPEAN = {"pl", "cz", "sk", "hu", "si", "hr", "ro", "rs", "ba", "al"}
#: Countries whose legacy pages are in windows-1252, whatever language detection says.
_GERMAN_SPEAKING = {"de", "at", "ch", "li", "lu"}


#: Languages detection names for text in windows-1250 or ISO-8859-2.
_CENTRAL_EUROPEAN_LANGUAGES = {
    "Polish",
    "Czech",
    "Slovak",
    "Hungarian",
    "Slovene",
    "Croatian",
    "Romanian",
    "Serbian",
    "Bosnian",
}


def _central_european_letters() -> re.Pattern[bytes]:
    """A sign of windows-1250: a byte that is a letter there and no character in
    windows-1252 ("ť"), or one that is a letter there and a sign here ("ł" and "³")
    between two letters, in a word ("współpraca"): beside one letter only, the sign is as
    likely ("m³", "Gebühren¹", "¿Qué")."""

    def cased(encoding: str, byte: int) -> bool:
        return unicodedata.category(bytes([byte]).decode(encoding, "replace")) in ("Lu", "Ll")

    def group(found: bytes) -> bytes:
        return b"[" + b"".join(b"\\x%02x" % b for b in found) + b"]"

    undefined = bytes(b for b in _CP1252_UNDEFINED_BYTES if cased("cp1250", b))
    signs = bytes(
        b
        for b in range(0x80, 0x100)
        if cased("cp1250", b)
        and b not in undefined
        and not bytes([b]).decode("cp1252", "replace").isalpha()
    )
    letter = group(bytes(b for b in range(0x41, 0x100) if cased("cp1250", b)))
    return re.compile(group(undefined) + b"|" + letter + group(signs) + letter)


_CENTRAL_EUROPEAN_LETTER = _central_european_letters()


def _central_european_sign(content: bytes) -> bool:
    """Whether ``content`` shows a sign of windows-1250 (:func:`_central_european_letters`)
    that is not part of a UTF-8 character pasted into it ("č" is C4 8D: 8D is "Ť" there;
    "ü" is C3 BC, and "Ã¼r" is a letter, a sign and a letter: a windows-1252 page with one
    UTF-8 "Müller" was read as windows-1250, "9½" as "9˝")."""
    if _CENTRAL_EUROPEAN_LETTER.search(content) is None:
        return False
    # Latin letters only: windows-1250's "ÓŁ" (D3 A3) is UTF-8's Cyrillic "ӣ".
    rest = _LATIN_UTF8_SEQUENCE.sub(b"", content)
    found = _CENTRAL_EUROPEAN_LETTER.search(rest)
    if found is None or not _CP1252_UNDEFINED.fullmatch(found[0]):
        return found is not None
    return _CENTRAL_EUROPEAN_LETTER.search(_UTF8_SEQUENCE.sub(b"", rest)) is not None


def _undefined_outside_utf8(content: bytes) -> bool:
    """Whether ``content`` holds a byte windows-1252 leaves undefined that is not part of
    a UTF-8 character (one that is: a name pasted in UTF-8 into a windows-1252 text)."""
    return _CP1252_UNDEFINED.search(content) is not None and (
        _CP1252_UNDEFINED.search(_UTF8_SEQUENCE.sub(b"", content)) is not None
    )


def undefined_only_in_utf8(content: bytes) -> bool:
    """Whether ``content`` holds bytes windows-1252 leaves undefined, each of them part of
    a UTF-8 character pasted into it (which browsers' windows-1252 reads as a C1 control,
    and Python's cp1252 refuses)."""
    return _CP1252_UNDEFINED.search(content) is not None and (
        _CP1252_UNDEFINED.search(_UTF8_SEQUENCE.sub(b"", content)) is None
    )


#: A character UTF-8 writes in more than one byte.
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
#: A Latin letter or sign in UTF-8 (U+0080 to U+017F: "ü", "é", "č", "ł", "½").
_LATIN_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xc5][\x80-\xbf]")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def _stray_as_cp1252(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: the bytes that are no UTF-8, read as windows-1252."""
    assert isinstance(error, UnicodeDecodeError)
    stray = error.object[error.start : error.end]
    return bytes(stray).decode("cp1252", errors="replace"), error.end


#: The codec error handler that reads bytes that are no UTF-8 as windows-1252.
STRAY_AS_CP1252 = "revier-feed-cp1252"
codecs.register_error(STRAY_AS_CP1252, _stray_as_cp1252)


def _undefined_as_c1(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes windows-1252 leaves undefined, as the C1 controls of
    their value (WHATWG's windows-1252, which browsers decode)."""
    assert isinstance(error, UnicodeDecodeError)
    return "".join(map(chr, error.object[error.start : error.end])), error.end


_UNDEFINED_AS_C1 = "revier-feed-windows-1252"
codecs.register_error(_UNDEFINED_AS_C1, _undefined_as_c1)


def decode_windows_1252(content: bytes) -> str:
    """``content`` in windows-1252 as browsers decode it: the five bytes it leaves
    undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D; from a name pasted in UTF-8, "č" is C4 8D) are
    no error. Python's codec refused them, and the whole page or feed was then read as
    windows-1250 or ISO-8859-2 ("ŕ la carte", "Crčme brűlée")."""
    return content.decode("cp1252", errors=_UNDEFINED_AS_C1)


#: Characters German text writes in UTF-8 (ä ö ü ß and the other Latin-1 letters, „ “ ‚
#: ‘ ’ – — …, €), which text in windows-1252 hardly ever holds: it would read "Ã¤", "â€ž".
_GERMAN_UTF8 = re.compile(rb"\xc3[\x80-\xbf]|\xe2\x80[\x93\x94\x98-\x9e\xa6]|\xe2\x82\xac")


def decode_utf8_with_strays(content: bytes) -> str:
    """``content`` as UTF-8 with the bytes that are no UTF-8 read as windows-1252; of the
    windows-1252 text, "ß“" (DF 93) and a few other pairs happen to be UTF-8, of scripts no
    German site writes (NKo, Syriac, Hebrew points), and are read as windows-1252 too."""
    text = content.decode("utf-8", errors=STRAY_AS_CP1252)
    return _UNLIKELY_PAIRS.sub(_as_cp1252_pair, text) if _UNLIKELY_PAIRS.search(text) else text


#: What "Ö", "Ü" and "ß" before one of windows-1252's signs (D6, DC, DF and 80-BF) are as
#: UTF-8: Hebrew and Armenian marks, Syriac, NKo.
_UNLIKELY_PAIRS = re.compile("[\u0580-\u05bf\u0700-\u073f\u07c0-\u07ff]")


def _as_cp1252_pair(found: re.Match[str]) -> str:
    return decode_windows_1252(found[0].encode())


def utf8_with_strays(content: bytes, declared_utf8: bool) -> bool:
    """Whether ``content`` (not valid UTF-8) is UTF-8 with stray windows-1252 bytes: most of
    its non-ASCII bytes form UTF-8 characters, or it is declared UTF-8 and holds characters
    German text writes in UTF-8. The second is a page or feed with a long windows-1252 paste
    (an old text after a CMS migration): by the first alone it went to detection, which
    chose windows-1250 for the whole page ("Ă–ffnungszeiten"), or feedparser read it all as
    windows-1252 and every UTF-8 link, author and category came out as mojibake."""
    return mostly_utf8(content) or (declared_utf8 and _GERMAN_UTF8.search(content) is not None)


def decode_html(content: bytes, declared: str | None = None, url: str = "") -> str:
    """The text of an HTML document.

    Args:
        content: the body as received.
        declared: the charset from the HTTP Content-Type header, if any.
        url: where it came from (its country decides between Western and Central European
            encodings where nothing else does).
    """
    return decode_html_as(content, declared, url)[0]


def decode_html_as(content: bytes, declared: str | None = None, url: str = "") -> tuple[str, str]:
    """:func:`decode_html`, and the codec the document was read in: what its links' queries
    are sent in (the WHATWG URL Standard), "utf-8" for one in UTF-16."""
    text, codec = _decoded(content, declared, url)
    codec = codecs.lookup(codec).name
    if codec.startswith("utf"):
        codec = "utf-8"  # a page in UTF-16 or UTF-32 asks in UTF-8 too
    # C1 controls in text are windows-1252 read as Latin-1 by whoever wrote the page (PHP's
    # utf8_encode): "„Zukunft“ – 5 €" lost its quotes, dash and euro sign. Feeds map them
    # the same way (feedparser does, and fastfeed after it).
    return c1_as_cp1252(text), codec


def _decoded(content: bytes, declared: str | None, url: str) -> tuple[str, str]:
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return content.decode(encoding, errors="replace"), "utf-8"
    try:
        as_utf8 = content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if content.isascii():
            # Read alike in every encoding a page is written in; its links ask in the one
            # it names (an old CMS writes "&uuml;" on a page labelled ISO-8859-1, and
            # "?ort=M&uuml;nster" asks for "M%FCnster").
            named = next((_known(label) for label in _labels(content, declared)), None)
            return as_utf8, named if named and _ascii_based(named) else "utf-8"
        return as_utf8, "utf-8"
    labels = _labels(content, declared)
    if utf8_with_strays(content, bool(labels) and _known(labels[0]) == "utf-8"):
        # As a browser would show it, but for the stray bytes, which are most likely a
        # paste from windows-1252: one of them sent the whole page to detection, which
        # chose windows-1250, and every umlaut came out wrong.
        return decode_utf8_with_strays(content), "utf-8"
    for label in labels:
        text = _try(content, label)
        if text is not None:
            return text
    import charset_normalizer  # only for the few pages nothing else decides: 7 ms to load

    best = charset_normalizer.from_bytes(content, cp_isolation=_CANDIDATES).best()
    if best is None:
        return _western(content), "cp1252"
    if best.encoding in _LATIN:
        # Detection tells windows-1252 from windows-1250 by a few letters, and on a German
        # page (whose own letters are the same in both) by names: "Søren", "à la", "Peña",
        # "¾" came out as "Sřren", "ŕ la", "Peńa", "ľ". A sign of the Central European
        # encodings decides, or the site's country, as browsers do; else the page's
        # language, where there is text enough to tell it and the site is not German (on
        # a .de page, "Crème brûlée" and "à la carte" made detection say Czech); else
        # windows-1252.
        central = best.encoding in ("cp1250", "iso8859_2")
        country = _country(url)
        if _central_european_sign(content) or country in _CENTRAL_EUROPEAN:
            if central:
                return str(best), best.encoding
            return content.decode("cp1250", errors="replace"), "cp1250"
        if (
            central
            and best.language in _CENTRAL_EUROPEAN_LANGUAGES
            and _enough_text(content)
            and (country not in _GERMAN_SPEAKING or _CZECH_LETTERS.search(content))
        ):
            return str(best), best.encoding
        return _western(content), "cp1252"
    return str(best), best.encoding


def _labels(content: bytes, declared: str | None) -> list[str]:
    """The charset labels a page names that browsers know, first the HTTP header's."""
    meta = _META_CHARSET.search(_without_comments(_head(content)))
    return [
        label.strip()
        for label in (
            declared,
            meta.group(1).decode("ascii", "ignore") if meta else None,
            # XHTML served as text/html: browsers read its declaration too.
            declared_encoding(content),
        )
        if label and _known(label)
    ]


def _ascii_based(codec: str) -> bool:
    """Whether ``codec`` writes ASCII as ASCII (not UTF-16, UTF-32 or EBCDIC)."""
    try:
        return "<a?=&".encode(codec) == b"<a?=&"
    except (LookupError, UnicodeError):
        return False


#: The currency sign "¤" of a price (A4, "€" in ISO-8859-15): "Gebühr: 5 ¤", "¤ 5".
_PRICE_SIGN = re.compile(r"(?:(?<=\d)|(?<=\d\s))¤|¤(?=\s?\d)")
#: What windows-1252 writes and ISO-8859-15 does not („ “ – … €).
_CP1252_OWN_BYTE = re.compile(rb"[\x80-\x9f]")


#: What windows-1252 and ISO-8859-15 write differently between A0 and BF ("¦¨´¸¼½¾"
#: against "ŠšžŽŒœŸ"), but A4 ("¤" against "€").
_LATIN_9_DIFFERENT = re.compile(rb"[\xa6\xa8\xb4\xb8\xbc\xbd\xbe]")


def _windows_1252_labelled_iso_8859_15(content: bytes) -> bool:
    """Whether a page labelled ISO-8859-15 is windows-1252: it has windows-1252's own
    bytes (quotes, dashes; outside pasted UTF-8), bytes the two read differently ("½",
    "geht´s") and no "€" of ISO-8859-15. A dash pasted from Word into a real ISO-8859-15
    page with its prices is read as browsers read it (a C1 control, mapped later)."""
    return (
        b"\xa4" not in content
        and _LATIN_9_DIFFERENT.search(content) is not None
        and _CP1252_OWN_BYTE.search(_UTF8_SEQUENCE.sub(b"", content)) is not None
    )


def _western(content: bytes) -> str:
    """A Western European page labelled Latin-1 or not at all: windows-1252 (what Latin-1
    labels mean to browsers), but "€" for the currency sign of a price where nothing else
    is windows-1252's own: a page in ISO-8859-15, whose A4 is "€", showed "5 ¤" (browsers
    too), and no German page means the currency sign. Only the price's sign: its "½" and
    "geht´s" are windows-1252's."""
    text = decode_windows_1252(content)
    if b"\xa4" in content and not _CP1252_OWN_BYTE.search(content):
        return _PRICE_SIGN.sub("€", text)
    return text


#: Where a ``<meta charset>`` is looked for: the head, up to this much of it (browsers
#: look further than the 1,024 bytes HTML asks for; one after 10 KB of inline CSS counts).
_HEAD_BYTES = 64 * 1024


def _without_comments(head: bytes) -> bytes:
    """``head`` without its comments (a commented-out ``<meta charset>`` is none), by
    find(): a pattern scanned to the end once for every unclosed "<!--"."""
    parts = []
    position = 0
    while (start := head.find(b"<!--", position)) >= 0:
        parts.append(head[position:start])
        end = head.find(b"-->", start + 4)
        if end < 0:
            return b"".join(parts)
        position = end + 3
    parts.append(head[position:])
    return b"".join(parts)


def _head(content: bytes) -> bytes:
    head = content[:_HEAD_BYTES]
    body = head.find(b"<body")
    return head if body < 0 else head[:body]


#: How many bytes outside ASCII detection needs to tell a page's language: a page of 10 KB
#: of CSS and one headline was "Czech", and "9½" came out "9˝".
_TEXT_ENOUGH = 64


#: "ř" and "ě" (F8, EC) between letters three times: Czech, which has no other sign but
#: "ť" (a Euroregion's page on a .de site read "Pøedseda"); a German page's "Søren" once.
_CZECH_LETTERS = re.compile(rb"(?:[A-Za-z][\xf8\xec][a-z].*?){3}", re.DOTALL)


def _enough_text(content: bytes) -> bool:
    return len(content) - len(_HIGH_BYTE.sub(b"", content)) >= _TEXT_ENOUGH


def _country(url: str) -> str:
    """The top-level domain of ``url``'s host, lower case ("" without one)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".").rpartition(".")[2]


def mostly_utf8(content: bytes) -> bool:
    """Whether most non-ASCII bytes form UTF-8 characters (legacy text hardly ever does)."""
    # Counted by removing, not by listing matches: a 10 MB page made millions of objects.
    rest, sequences = _UTF8_SEQUENCE.subn(b"", content)
    stray = len(rest) - len(_HIGH_BYTE.sub(b"", rest))
    return sequences > stray


def http_charset(content_type: str) -> str | None:
    """The ``charset`` parameter of a Content-Type header, if any."""
    found = _HTTP_CHARSET.search(content_type)
    return found.group(1) if found else None


def declared_encoding(content: bytes) -> str | None:
    """The encoding an XML declaration at the start of ``content`` names, if any."""
    found = _XML_DECLARATION.match(content[:1024].removeprefix(codecs.BOM_UTF8).lstrip())
    return found.group(1).decode("ascii") if found else None


def plausible_charset(label: str, content: bytes) -> bool:
    """Whether ``label`` can be the encoding of a markup body.

    A body that starts with the byte "<" and no NUL after it (after a UTF-8 byte-order mark
    and blanks) is in an encoding that writes "<" as that byte: a label of UTF-16, UTF-32
    or EBCDIC on it is a server's or a template's mistake, and decoding by it gives CJK
    characters or nothing readable. Codecs of bytes ("base64") are no text encodings.
    Unknown labels count as plausible (whoever decodes reports them).
    """
    try:
        codec = codecs.lookup(label.strip())
    except (LookupError, ValueError):
        return True
    if not getattr(codec, "_is_text_encoding", True):
        return False  # "base64", "zlib": codecs of bytes, no text encodings
    head = content[:4096].removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n")[:2]
    if head[:1] != b"<" or head[1:] == b"\0":
        return True  # "<\0" is how UTF-16LE and UTF-32LE without a byte-order mark begin
    # An encoder's first call may add a byte-order mark: encode twice, compare the growth.
    encoder = codec.incrementalencoder()
    try:
        encoder.encode("<")
        return encoder.encode("<") == b"<"
    except (TypeError, ValueError, UnicodeError):
        return False


#: Labels browsers know (WHATWG) and Python does not.
_BROWSER_LABELS = {
    "iso885915": "iso8859_15",
    "csisolatin9": "iso8859_15",
    "x-cp1252": "cp1252",
    "x-cp1250": "cp1250",
    "unicode-1-1-utf-8": "utf-8",
    "unicode11utf8": "utf-8",
    "unicode20utf8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "iso88591": "cp1252",
    "iso88592": "iso8859_2",
    "iso885916": "iso8859_16",
}


def _known(label: str) -> str | None:
    """The codec a charset label names, as browsers take it; None if there is none."""
    label = label.strip()
    label = _BROWSER_LABELS.get(label.lower(), label)
    try:
        name = codecs.lookup(label).name
    except (LookupError, ValueError):
        return None
    # WHATWG: pages labelled Latin-1 or ASCII ("l1", "IBM819", "ISO_8859-1:1987", …) are
    # windows-1252 to every browser.
    return "cp1252" if name in ("iso8859-1", "ascii") else name


def names_windows_1252(label: str) -> bool:
    """Whether a charset label means windows-1252 to browsers (Latin-1 and ASCII too)."""
    return _known(label) == "cp1252"


def _try(content: bytes, label: str) -> tuple[str, str] | None:
    name = _known(label)
    if name is None or name == "utf-8" or not plausible_charset(name, content):
        return None  # UTF-8 was tried strictly above: it is mis-declared
    if name == "cp1252":
        # A byte windows-1252 leaves undefined is read as browsers read it where it belongs
        # to a UTF-8 character pasted in; alone, it is a sign of another encoding (windows-
        # 1250's "ť" is 9D): the next label or detection decides, as before.
        if _undefined_outside_utf8(content):
            return None
        # Labelled windows-1252 by name, it is so: the currency sign's rule is for Latin-1
        # labels, which browsers read as windows-1252 too.
        explicit = label.strip().lower() in ("windows-1252", "cp1252", "x-cp1252")
        return (decode_windows_1252(content) if explicit else _western(content)), name
    if name == "iso8859-15" and _windows_1252_labelled_iso_8859_15(content):
        return decode_windows_1252(content), "cp1252"
    try:
        return content.decode(name), name
    except UnicodeDecodeError:
        return None
