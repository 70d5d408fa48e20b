"""German calendar words for what readers see (pages, digests), independent of the locale.

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
