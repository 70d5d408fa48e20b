"""Event phases: an event's announcement and the report about it are two stories. Pure.

"X lädt zum Vortrag am 8. Juni ein" and "Rückblick: 80 Gäste beim Vortrag von X" share the
organiser, the place, the topic and often whole sentences, yet a reader who got the
invitation has not read the report. What tells them apart is time: the announcement names
the event's date as *upcoming* (after its own publication), and the report was written
when that date had *passed*. So for two items, the earlier one's upcoming dates are read;
if one of them lies before the later item's publication day, the event happened between
the two and they are different phases of it, different stories.

Dates are read from the folded words ("25", "august", optionally "2021"), in German
("25. August", "1. März") and English ("August 25"), and as German administrations write
them, in numbers: "24.11.2026" (the words "24 11 2026") always, "24.11." and "24.11.26"
after a word that introduces a date ("am", "bis", a weekday: "Di., 24.11."), since
"10–12 Uhr" gives the same words. A date that starts a period ("vom 20. November bis 15.
Januar", "ab 20.11.") is left out: the event goes on after it. Without a year, the date is
taken in the publication's year, or the next one when that would put it half a year in the
past ("am 12. Januar" in a December item).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date
from typing import cast

#: Dates this many days after publication at most are upcoming events (not far-off plans
#: such as "Ergebnisse bis 30. Juni 2022").
HORIZON = 60

_EPOCH = date(1970, 1, 1).toordinal()
#: Month names as folded words, with their numbers (German and English).
MONTHS = {
    name: n
    for n, names in enumerate(
        (
            ("januar", "jan", "january", "jaenner"),
            ("februar", "feb", "february"),
            ("maerz", "mrz", "march"),
            ("april", "apr"),
            ("mai", "may"),
            ("juni", "jun", "june"),
            ("juli", "jul", "july"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("oktober", "okt", "october", "oct"),
            ("november", "nov"),
            ("dezember", "dez", "december", "dec"),
        ),
        start=1,
    )
    for name in names
}


def day_number(when: date) -> int:
    """Days since 1970-01-01: how the index keeps days."""
    return when.toordinal() - _EPOCH


#: A month named in a text with the day beside it: (month, day, year or None).
Mention = tuple[int, int, int | None]

#: Folded words before a date that starts a period ("vom 20. November bis 15. Januar", "ab
#: 20.11.", also with a weekday or "dem" between: "ab Freitag, 20.11.", "ab dem 20.
#: November"): the event goes on after it, so that day passing ends nothing.
START_WORDS = frozenset({"vom", "von", "ab"})
WEEKDAYS = frozenset(
    {"montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonnabend"}
    | {"sonntag", "mo", "di", "mi", "do", "fr", "sa", "so"}
)
#: Folded words after which two numbers are a day and a month ("am 24.11.", "Di., 24.11.";
#: not "und" or "zum": "Version 2.1 und 3.12", "zum 2:1").
DATE_WORDS = frozenset({"am", "bis", "den", "seit"}) | WEEKDAYS


def upcoming(words: Sequence[str], published: date) -> tuple[int, ...]:
    """The dates the text names that lie after its publication, within :data:`HORIZON`
    days, as day numbers."""
    return upcoming_of(mentions(words), published)


def mentions(words: Sequence[str]) -> list[Mention]:
    """Each month's name among ``words`` that has a day beside it ("25. august",
    "august 25"), with the year that follows them, if any, and each date in numbers (see
    the module's docstring), in the order of the text.

    The reference of the C extension's ``Featurizer.dates``, which reads the same from an
    item's words as they are stored (UTF-8, joined by spaces).
    """
    # Only the positions of month names and of numbers are visited (looked up in C-level
    # maps: most of an opening's words are neither).
    months = list(map(MONTHS.get, words))
    found: list[tuple[int, Mention]] = []
    for i in itertools.compress(range(len(words)), months):
        month = cast("int", months[i])
        day = _day(words[i - 1]) if i else None  # "25. august"
        if day is not None and _starts_period(words, i - 1):
            continue
        year_at = i + 1
        if day is None and i + 1 < len(words):  # "august 25"
            day = _day(words[i + 1])
            year_at = i + 2
        if day is None:
            continue
        year = words[year_at] if year_at < len(words) else ""
        found.append((i, (month, day, int(year) if _is_year(year) else None)))
    for i in itertools.compress(range(len(words) - 1), map(str.isdecimal, words)):
        numeric = _numeric(words, i)
        if numeric is not None:
            found.append((i, numeric))
    found.sort(key=lambda at: at[0])
    return [mention for _, mention in found]


def _numeric(words: Sequence[str], i: int) -> Mention | None:
    """The date in numbers that starts at ``words[i]``, if any ("24 11 2026")."""
    day = _day(words[i])
    month = _day(words[i + 1])
    if day is None or month is None or month > 12 or _starts_period(words, i):
        return None
    following = words[i + 2] if i + 2 < len(words) else ""
    if _is_year(following):
        return (month, day, int(following))
    if not i or words[i - 1] not in DATE_WORDS or following == "uhr":  # "bis 10–12 Uhr"
        return None
    after = words[i + 3] if i + 3 < len(words) else ""
    if following == "und" and after.isdecimal() and words[i + 5 : i + 6] == ["uhr"]:
        return None  # opening hours: "Mo–Fr 8–12 und 13–16 Uhr"
    if following.isdecimal() and len(following) == 2 and after != "uhr" and not after.isdecimal():
        return (month, day, 2000 + int(following))  # "24.11.26", not "25.08., 18 Uhr"
    return (month, day, None)


def _starts_period(words: Sequence[str], at: int) -> bool:
    """Whether the day at ``words[at]`` starts a period (:data:`START_WORDS`)."""
    before = words[at - 1] if at else ""
    if before == "dem" or before in WEEKDAYS:
        before = words[at - 2] if at > 1 else ""
    return before in START_WORDS


def upcoming_of(found: Sequence[Mention], published: date) -> tuple[int, ...]:
    """:func:`upcoming` of the dates :func:`mentions` found."""
    if not found:
        return ()
    today = day_number(published)
    days: set[int] = set()
    for month, day, year in found:
        when = _date(year, month, day, published)
        if when is not None and today < when <= today + HORIZON:
            days.add(when)
    return tuple(sorted(days))


def differ(
    a_published: int, a_upcoming: Sequence[int], b_published: int, b_upcoming: Sequence[int]
) -> bool:
    """Whether an event the earlier item announces had taken place when the later one was
    published: then they are its announcement and its report (day numbers)."""
    if a_published <= b_published:
        return any(d < b_published for d in a_upcoming)
    return any(d < a_published for d in b_upcoming)


# isdecimal, not isdigit: "²" is a digit that int() does not read (a teaser with "m ² Juni"
# stopped every story placement, #4).
def _day(word: str) -> int | None:
    if word.isdecimal() and len(word) <= 2 and 1 <= int(word) <= 31:
        return int(word)
    return None


def _is_year(word: str) -> bool:
    return word.isdecimal() and len(word) == 4 and 1900 < int(word) < 2200


def _date(year: int | None, month: int, day: int, published: date) -> int | None:
    try:
        when = date(year or published.year, month, day)
    except ValueError:  # 31. Juni
        return None
    if year is None and (published - when).days > 182:
        try:
            when = when.replace(year=when.year + 1)
        except ValueError:  # 29. Februar
            return None
    return day_number(when)
