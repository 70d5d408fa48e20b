"""German words: calendar words for what readers see (pages, digests), independent of the
locale, and the folding that makes spellings of one word equal (tags, stories).

The machine's locale is not trusted: a server set to ``C`` or ``en_US`` would print "June".
"""

from __future__ import annotations

from datetime import date

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


def fold(text: str) -> str:
    """Case and umlaut spelling folded away: "Ländliche RÄUME, Straße" -> "laendliche
    raeume, strasse"."""
    # casefold() already turns "ß" into "ss". replace() scans in C; translate() with
    # two-letter replacements looks every character up in a dict (it was a quarter of the
    # story features' time for 1-3 KB teasers).
    return text.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
