"""German words: calendar words for what readers see (pages, digests), independent of the
locale, and the folding that makes spellings of one word equal (tags, stories).

The machine's locale is not trusted: a server set to ``C`` or ``en_US`` would print "June".
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from urllib.parse import unquote, urlsplit

try:
    from . import _words
except ImportError:  # pragma: no cover - installed without a C compiler
    _words = None  # type: ignore[assignment]

MONTHS = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)
WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")


def day_text(day: date) -> str:
    """``10. Juni 2021``."""
    return f"{day.day}. {MONTHS[day.month - 1]} {day.year}"


def weekday_text(day: date) -> str:
    """``Donnerstag, 10. Juni 2021``."""
    return f"{WEEKDAYS[day.weekday()]}, {day_text(day)}"


def file_label(url: str, media_type: str, size: int | None, title: str | None = None) -> str:
    """What readers see of an item's file: its title, else its name, with its kind and
    size: ``bericht-2021.pdf (PDF, 1,8 MB)``."""
    parts = urlsplit(url)
    name = unquote(parts.path.rstrip("/").rpartition("/")[2], errors="replace")
    # The name is the site's text: no line breaks or controls (a mail's plain text), no
    # marks that reorder it ("\u202efdp.exe" reads "exe.pdf").
    name = _NOT_SHOWN.sub("", name).strip()[:80] or parts.hostname or "Datei"
    kind = _FILE_KINDS.get(media_type) or _FILE_KINDS.get(media_type.partition("/")[0])
    if kind is None:
        extension = name.rpartition(".")[2].lower() if "." in name else ""
        known = extension.isalnum() and len(extension) <= 5 and extension not in _SCRIPTS
        kind = extension.upper() if known else "Datei"
    shown = _NOT_SHOWN.sub("", title).strip() if title else ""
    if shown.strip("()[] .").lower() in (kind.lower(), "download", "herunterladen"):
        shown = ""  # a link's text "PDF" or "Download": the file's name says more
    if shown and re.search(rf"\b{re.escape(kind)}\b", shown, re.IGNORECASE):
        # A title that names the kind ("Richtlinie (PDF)") is not told it again.
        return f"{shown} ({size_text(size)})" if size else shown
    shown = shown or name
    return f"{shown} ({kind}, {size_text(size)})" if size else f"{shown} ({kind})"


def size_text(size: int) -> str:
    """``1,8 MB``, ``320 KB``, ``512 Bytes``, as German texts write sizes."""
    if size < 1000:
        return f"{size} Bytes"
    for unit, scale in (("KB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        value = size / scale
        if value < 999.5 or unit == "GB":
            # One decimal below ten ("9,9 MB"), as rounded ("9,96" is "10 MB", not "10,0").
            shown = f"{value:.1f}" if value < 9.95 else f"{value:.0f}"
            return f"{shown.replace('.', ',')} {unit}"
    raise AssertionError("unreachable")


# Controls, marks that reorder text, and invisible characters (a name of only zero-width
# spaces showed as a bare "(PDF)").
_NOT_SHOWN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
#: A name ending so is a script that hands the file out ("download.php"), not its kind.
_SCRIPTS = frozenset({"php", "asp", "aspx", "jsp", "cgi", "pl", "py", "do", "html", "htm"})
_FILE_KINDS = {
    "application/pdf": "PDF",
    "audio/mpeg": "MP3",
    "audio": "Audio",
    "video": "Video",
    "application/msword": "Word",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.ms-excel": "Excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
    "application/vnd.ms-powerpoint": "PowerPoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint",
    "application/vnd.oasis.opendocument.text": "ODT",
    "application/zip": "ZIP",
    "text/csv": "CSV",
    "text/calendar": "Termin",
}


def plain(text: str) -> str:
    """``text`` composed (NFC), without soft hyphens, zero-width spaces, word joiners and
    byte-order marks: for matching words, not for showing them.

    "Mücheln" decomposed (an "u" and a combining diaeresis, as macOS writes it) or with a
    soft hyphen ("Mü&shy;cheln", a CMS's hyphenation) was another word, and the item lost
    its district. What is stored and published stays as written (its fingerprint too).
    """
    if text.isascii():
        return text
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if "\u00ad" in text or "\u200b" in text or "\u2060" in text or "\ufeff" in text:
        text = _INVISIBLE.sub("", text)
    return text


_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")


def fold_python(text: str) -> str:
    """Case and umlaut spelling folded away: "Ländliche RÄUME, Straße" -> "laendliche
    raeume, strasse" (the reference of the C extension's :func:`fold`)."""
    # casefold() already turns "ß" into "ss". replace() scans in C; translate() with
    # two-letter replacements looks every character up in a dict (it was a quarter of the
    # story features' time for 1-3 KB teasers).
    return text.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")


_WORD = re.compile(r"\w+")


def folded_words_python(text: str) -> str:
    """The words of ``text`` folded, each between single spaces: ``" laendliche raeume "``
    (the reference of the C extension's :func:`folded_words`)."""
    return " " + " ".join(_WORD.findall(fold_python(text))) + " "


#: Whether :func:`fold` and :func:`folded_words` run in C (``_words.c``, built by
#: ``pip install``); tagging and the story features fold every item's texts.
NATIVE_WORDS = _words is not None

#: :func:`fold_python`, in C where the extension is built.
fold = _words.fold if _words is not None else fold_python
#: :func:`folded_words_python`, in C where the extension is built.
folded_words = _words.folded_words if _words is not None else folded_words_python
