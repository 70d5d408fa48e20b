"""German words: calendar words for what readers see (pages, digests), independent of the
locale, and the folding that makes spellings of one word equal (tags, stories).

The machine's locale is not trusted: a server set to ``C`` or ``en_US`` would print "June".
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

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
