"""Read publication dates as German (and international) websites write them.

Handles ISO 8601, RFC 822 (with or without zone), Java's ``Date.toString()``,
``10.06.2021``, ``10.6.21``, ``10. Juni 2021``, ``24.Jun.2020``, ``Do., 10. Juni 2021, 14:30
Uhr``, ``Juni 2021``, ``heute``, ``gestern``, ``vor 3 Tagen``, ``vor 2 Std. 49 Min.`` and
English forms such as ``June 10, 2021, 2:45 pm`` and ``3 days ago``; a range by its first
day (``10.–12. Juni 2021``), an event's time by its start, a time also before the date
(``14:30 Uhr, 23.11.2026``), a date without a year (``27.11. 09:30 Uhr``) in the nearest
year. Times without a zone are local to the region's time zone. Pure: ``now`` is a
parameter. Not read, on purpose: dates with slashes ("03/04/2021" is April or March),
numbers of a month and year ("06/2020", an issue more often than a date), two months
("Juni/Juli 2021").
"""

from __future__ import annotations

import contextlib
import email.utils
import html
import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

_MONTHS = {
    # German, with the common abbreviations and umlaut-free spellings
    "januar": 1,
    "jan": 1,
    "jänner": 1,
    "jaenner": 1,
    "februar": 2,
    "feb": 2,
    "febr": 2,
    "märz": 3,
    "maerz": 3,
    "mär": 3,
    "mrz": 3,
    "marz": 3,
    "april": 4,
    "apr": 4,
    "mai": 5,
    "juni": 6,
    "jun": 6,
    "juli": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "oktober": 10,
    "okt": 10,
    "november": 11,
    "nov": 11,
    "dezember": 12,
    "dez": 12,
    # English names that differ from the German ones
    "january": 1,
    "february": 2,
    "march": 3,
    "mar": 3,
    "may": 5,
    "june": 6,
    "july": 7,
    "october": 10,
    "oct": 10,
    "december": 12,
    "dec": 12,
}
_MONTH_RE = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))

# A time after the date: "14:30", ", 14:30 Uhr", " um 9.15 Uhr", ", 9 Uhr", " – 14:30",
# "T14:30:00+02:00". A dotted time or one without minutes needs "Uhr" after it, so the second
# date of "10.06.2021 - 12.06.2021" is no time.
_TIME = (
    # In parentheses only with "Uhr": "(03:45)" is a video's length. An event's time "von
    # 11:30 bis 13:30 Uhr" by its start.
    r"(?:(?:\s*,?\s*(?:(?:um|at|von|ab)\s+)?|\s*(?P<dash>[-–—|·•/])\s*|\s*\((?=[^)]*Uhr\b)|T)"
    r"(?P<hour>\d{1,2})"
    r"(?::(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d{1,9})?)?|\.(?P<minute_dot>\d{2})(?=\s*Uhr)"
    r"|(?=\s*Uhr\b))"
    r"(?![.:]?\d)"
    # After a dash or "|" only a time that says so: "| 03:45 Min." is a video's length,
    # "– 21:19 Sieg" and "– 21:19 – Handball" a score, "- 2:30 von 5 Sternen" a rating;
    # Drupal's "07.08.2020 - 08:00, Pressestelle" and "- 12:30 von Redaktion" are times.
    r"(?(dash)(?=\s*(?:Uhr\b|$|[,|·•]|von\s+[^\W\d_]|\((?:aktualisiert|geändert)"
    r"|[+-]\d|Z\b|GMT|UTC|MESZ|MEZ|CEST|CET)))"
    # English "AM"/"PM"; "am" in lower case only where the text ends, a zone or a byline
    # follows, since "12:00 am Rathaus" is German for noon at the town hall ("pm" and
    # "p.m." are no German words).
    r"(?:\s*(?P<half>(?-i:[AP]\.?\s?M\b\.?)|[ap]\.\s?m\.?|pm\b|am"
    r"(?=\s*(?:$|[,;|()\[\]·•]|by\b|[-–—]\s|[+-]\d|Z\b|GMT|UTC|MESZ|MEZ|CEST|CET))))?"
    # A zone also in parentheses: "23:27 (UTC)" was read as the region's time.
    r"(?:\s*Uhr\b)?(?:\s*\(?(?P<zone>Z|[+-]\d{2}:?\d{2}"
    r"|(?:GMT|UTC)(?:[+-]\d{1,2}(?::?\d{2})?)?|MESZ|MEZ|CEST|CET)\b)?)?"
)
_ZONES = {"Z": 0, "GMT": 0, "UTC": 0, "MEZ": 60, "CET": 60, "MESZ": 120, "CEST": 120}
#: Zone names read here that feedparser takes for UTC.
ZONE_NAMES = frozenset(_ZONES) - {"Z", "GMT", "UTC"}
_ZONE_NAME_AT_END = re.compile(r"\b(MESZ|MEZ|CEST|CET)\s*$", re.IGNORECASE)
#: Dates before this are a publisher's placeholder, not a publication date: year 1
#: ("0001-01-01"), 1900, or the Unix epoch a null timestamp prints as ("Thu, 01 Jan 1970
#: 00:00:00 +0000", in any time zone). Taken as a date, such an item sank to the bottom of
#: the feeds and retention deleted it for good at its next run.
EARLIEST = datetime(1970, 1, 3, tzinfo=UTC)
#: A year after a month's dot: four digits, or two right after it and not the hour of a time
#: ("27.11. 09:30 Uhr", "10.06.14:30" and "24.11. 12 Kommentare" name no year: 2009, 2014 and
#: 2012 were read).
_YEAR = r"(?P<year>\d{4}|(?<=\.)\d{2}(?![:.]\d|\s*Uhr\b)|(?<=\.\s)\d{2}(?=\s*(?:$|[,|)])))(?!\d)"
_NUMERIC = re.compile(r"(?<!\d)(?P<day>\d{1,2})\.\s?(?P<month>\d{1,2})\.\s?" + _YEAR + _TIME)
# "10. Juni 2021", also "24.November 2026" and "10th November 2026".
# Also "24.Jun.2020" and "24-Jun-2020", and a year of two digits at the end ("16. Apr. 20";
# "am 10. Juni 20 Uhr" names an hour, "am 3. März 10, 12 und 14 Uhr" three).
_LONG_DE = re.compile(
    rf"(?<!\d)(?P<day>\d{{1,2}})(?:\.\s*|(?:st|nd|rd|th)?\s+|-)(?P<month>{_MONTH_RE})"
    r"(?:\.?,?\s+|\.|-)(?P<year>\d{4}|\d{2}(?=\s*(?:$|\|)))(?!\d)" + _TIME,
    re.IGNORECASE,
)
_WEEKDAY_RE = (
    r"(?:mo|di|mi|do|fr|sa|so|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag"
    r"|mon|tue|wed|thu|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
)
# A day and month without a year ("27.11. 09:30 Uhr", "Fr., 27.11.", "am 10. Juni"): news
# tickers of this year write them so. Read only where the text names no full date, and not
# before a number that may be a year ("10. Juni 20215").
_DAY_MONTH = re.compile(
    # After the month's dot, a digit only of a time ("10.06.14:30"; "Az. 12.3.4" is no date).
    r"(?<![\d.])(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?!\s?\d{3}|\d(?!\d?[:.]\d\d))" + _TIME,
    re.IGNORECASE,
)
_DAY_MONTH_NAME = re.compile(
    rf"(?<!\d)(?P<day>\d{{1,2}})\.\s*(?P<month>{_MONTH_RE})\b\.?(?!\s*\d{{3}})" + _TIME,
    re.IGNORECASE,
)
# A range names its first day ("10.–12. Juni 2021", "10. bis 12.06.2021", "30.11.–2.12.2026",
# "30. November – 2. Dezember 2026"); read by its end's date alone, a running event was
# dated to its last day, ahead of now.
#: Between a range's first day and its end's: "–", "bis", and perhaps the end's weekday.
_TO = rf"\s*(?:[-–—‒−/+]|bis(?:\s+zum)?|und)\s*(?:{_WEEKDAY_RE}\.?,?\s+)?"
#: A range's first day in numbers, up to its end's day: "10.–", "10./", "Mi, 10.06. – Fr, ".
_NUMERIC_RANGE_START = r"(?<!\d)(?P<day>\d{1,2})\.(?:(?P<month>\d{1,2})\.)?" + _TO
#: The first day of a range without a year, right before its end.
_YEARLESS_RANGE_START = re.compile(_NUMERIC_RANGE_START + r"\Z", re.IGNORECASE)
_RANGE_NUMERIC = re.compile(
    _NUMERIC_RANGE_START + r"\d{1,2}\.\s?(?P<end_month>\d{1,2})\.\s?" + _YEAR + _TIME,
    re.IGNORECASE,
)
_RANGE_LONG = re.compile(
    rf"(?<!\d)(?P<day>\d{{1,2}})\.\s*(?:(?P<month>{_MONTH_RE})\.?\s*)?"
    + _TO
    + rf"\d{{1,2}}\.?\s*(?P<end_month>{_MONTH_RE})\.?,?\s+(?P<year>\d{{4}})(?!\d)"
    + _TIME,
    re.IGNORECASE,
)
# A time before the date: "14:30 Uhr, 23.11.2026", "12:30 | 10.06.2021", "9.15 Uhr Do., 10.
# Juni 2021"; the date follows at once ("03:45 Min. | 10.06.2021" is a video's length).
_LEADING_TIME = re.compile(
    r"^(?P<hour>\d{1,2})(?::(?P<minute>\d{2})|\.(?P<minute_dot>\d{2})(?=\s*Uhr))(?![.:\d])"
    rf"\s*(?:Uhr\b)?\s*[,|–—·•/-]?\s*(?P<rest>(?P<weekday>{_WEEKDAY_RE}\.?,?\s+)?\d.*)$",
    re.IGNORECASE,
)
_LONG_EN = re.compile(
    rf"\b(?P<month>{_MONTH_RE})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})"
    r"(?!\d)" + _TIME,
    re.IGNORECASE,
)
# ISO dates with more after them than fromisoformat() takes: "2021-06-10, 14:30 Uhr",
# "2021-06-10 | Pressemitteilung", "2021-06-10T14:30:00 CEST", "...+02:00[Europe/Berlin]".
_ISO_LOOSE = re.compile(
    r"(?<!\d)(?P<year>\d{4})(?P<sep>[-/])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})(?!\d)" + _TIME,
    re.IGNORECASE,
)
#: What may follow a date of words: more after a comma, a bar, a middle dot or a dash with
#: a blank before it ("| Meldung", " – Pressemitteilung", " · 2 Kommentare"; "gestern-Abend"
#: is a word, "Heute (Montag) geschlossen" a sentence).
_REST = r"(?:(?:\s*[,|·•]|\s+[-–]).*)?\s*$"
# "Juni 2021", also after one word or with more after it: "Ausgabe Juni 2021", "November
# 2026 | Magazin"; not in a sentence ("bis Ende Januar 2022") or after a day ("32. Mai").
_MONTH_YEAR = re.compile(
    rf"^(?:[^\W\d]+:?\s+)?(?P<month>{_MONTH_RE})\.?\s+(?P<year>\d{{4}})" + _REST, re.IGNORECASE
)
#: What may follow "vor 9 Minuten" (or a day word's time) besides :data:`_REST`, and
#: nothing after it: a byline of a word or two ("von Redaktion", "by admin"), the listing's
#: category ("in Lokales") or a note ("aktualisiert", "(aktualisiert)"). "Gestern von der
#: Polizei festgenommen" and "Vor 100 Tagen in Kraft getreten" are sentences.
_WORD_REST = (
    r"(?:(?:\s+(?:von|by)\s+[^\s,|]+(?:\s+[^\s,|]+)?|\s+in\s+[^\s,|]+"
    r"|\s+(?:aktualisiert|geändert|bearbeitet)|\s*\((?:aktualisiert|geändert)\)?)\s*$"
    rf"|{_REST})"
)
#: A time after a day word or "vor N Tagen" in lower-cased text: "14:30", ", um 9.15 Uhr",
#: " 9 Uhr", " – 14:30". A dotted time needs "Uhr": "heute, 10.06.2021" names no time 10:06.
_WORD_TIME = (
    r"(?:(?:,?\s*(?:um\s+|at\s+)?|\s*[-–|]\s*)(?P<hour>\d{1,2})"
    r"(?::(?P<minute>\d{2})(?!\d)(?:\s*(?:uhr|h)\b)?|\.(?P<minute_dot>\d{2})\s*uhr|\s*uhr))?"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
#: A leap second, which RFC 3339 allows ("23:59:60Z") and Python's datetime cannot hold:
#: read as the second before it.
_LEAP_SECOND = re.compile(r"(?<=[Tt ]\d\d:\d\d):60(?=[.,]\d+|[Z+-]|\Z)")
#: Numbers as words in "vor zwei Stunden", "vor einer Woche".
_NUMBER_WORDS = (
    dict.fromkeys(("ein", "eins", "eine", "einer", "einem"), 1)
    | {w: n for n, w in enumerate(("zwei", "drei", "vier", "fünf", "sechs", "sieben"), 2)}
    | {"acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwölf": 12}
    | {w + "zehn": n for w, n in (("drei", 13), ("vier", 14), ("fünf", 15), ("sech", 16))}
    | {"siebzehn": 17, "achtzehn": 18, "neunzehn": 19, "zwanzig": 20, "dreißig": 30}
    | {"vierzig": 40, "fünfzig": 50, "sechzig": 60}
    | {"fuenf": 5, "zwoelf": 12, "fuenfzehn": 15, "dreissig": 30, "fuenfzig": 50}
)
_NUMBER_RE = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
#: A label before a relative date or a day word: "Veröffentlicht vor 3 Tagen", "Stand:
#: heute, 14:30 Uhr", "Aktualisiert am: gestern" (lower-cased text).
_LABEL = (
    r"(?:(?:(?:zuletzt\s+)?(?:veröffentlicht|aktualisiert|erstellt|geändert|bearbeitet)"
    r"|publiziert|gepostet|stand|datum|letzte\s+(?:aktualisierung|änderung|bearbeitung)"
    r"|aktualisierung)(?:\s+am)?\s*:?\s+)?"
)
_RELATIVE = re.compile(
    rf"^{_LABEL}vor\s+(?P<n>\d+(?:,\d+)?|{_NUMBER_RE})\s+(?P<half>halben\s+)?"
    r"(?P<unit>sekunden?|sek\.?|minuten?|min\.?|stunden?|std\.?|tag(?:en)?|wochen?"
    r"|monat(?:en)?)(?![a-z])"
    # "vor 2 Std. 49 Min.", "vor 3 Stunden und 5 Minuten"
    r"(?:\s*(?:und\s+)?(?P<more>\d+)\s+(?P<more_unit>minuten?|min\.?|sekunden?|sek\.?)"
    r"(?![a-z]))?"
    # "vor 25 Minuten aktualisiert"
    r"(?:\s+(?:aktualisiert|veröffentlicht|erstellt|geändert))?" + _WORD_TIME + _WORD_REST
)
#: "3 days ago", "an hour ago" (lower-cased text).
_AGO = re.compile(
    r"^(?P<n>\d+|an?|one)\s+(?P<unit>seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?"
    r"|months?)\s+ago\b" + _REST
)
#: One of each unit of "vor N …", by its first three letters.
_UNITS = {
    "sek": timedelta(seconds=1),
    "sec": timedelta(seconds=1),
    "min": timedelta(minutes=1),
    "std": timedelta(hours=1),
    "stu": timedelta(hours=1),
    "hou": timedelta(hours=1),
    "hrs": timedelta(hours=1),
    "hr": timedelta(hours=1),
    "tag": timedelta(days=1),
    "day": timedelta(days=1),
    "woc": timedelta(weeks=1),
    "wee": timedelta(weeks=1),
    "mon": timedelta(days=30),
}
_DAY_WORDS = {"heute": 0, "gestern": 1, "vorgestern": 2, "today": 0, "yesterday": 1}
#: How far ahead a time "heute" may lie before it is taken for the day before's (clocks
#: differ a little), if that is at most _CACHED_FOR ago (a page cached over midnight).
_LATER_TODAY = timedelta(hours=1)
_CACHED_FOR = timedelta(hours=6)
# A day word, alone or with a time ("gestern 14:30", "heute, um 9.15 Uhr", "gestern um 9
# Uhr"), and perhaps more ("gestern | Meldung"); lower-cased text.
_DAY_WORD = re.compile(
    rf"{_LABEL}(?P<word>heute|gestern|vorgestern|today|yesterday)\b"
    + _WORD_TIME
    # With a time, also a category or a note after it ("Heute 09:58 Uhr in Lokales").
    + rf"(?(hour){_WORD_REST}|{_REST})"
)
_RFC822_HINT = re.compile(r"^[A-Za-z]{3},?\s+\d{1,2}\s+[A-Za-z]{3}\s+(\d{2,4})")
#: Java's ``Date.toString()``, which Java-based CMSs print as it is: "Thu Jun 10 14:30:00
#: CEST 2021".
_JAVA_DATE = re.compile(
    r"^(?P<weekday>[A-Za-z]{3})\s+(?P<month>[A-Za-z]{3})\s+(?P<day>\d{1,2})\s+"
    r"(?P<time>\d{2}:\d{2}:\d{2})\s+(?P<zone>[A-Za-z]{1,4})\s+(?P<year>\d{4})$"
)
#: The zone names RFC 822 knows (email.utils reads them), and ours: another name is no zone
#: we may guess ("JST" read as the region's time was seven hours off).
_KNOWN_ZONES = frozenset(
    {"UT", "UTC", "GMT", "Z", "AST", "ADT", "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST"}
    | {"PDT", *_ZONES}
)


def parse_date(
    text: str | None, now: datetime, tz: ZoneInfo, *, without_year: bool = False
) -> datetime | None:
    """The moment ``text`` names, as an aware UTC datetime, or None if it names none.

    Args:
        text: the date as the site wrote it.
        now: the current time (aware); relative dates count back from it.
        tz: time zone of dates written without one.
        without_year: read a day and month without a year ("27.11. 09:30 Uhr") in the
            nearest year: for the text a listing shows in its date field, not for dates a
            program wrote (feeds, attributes) nor where a headline or a number may be one.
    """
    if not text:
        return None
    try:
        found = _parse(text, now, tz, without_year)
    except (OverflowError, ValueError):
        return None  # "0001-01-01", "vor 999999 Tagen": nothing a news item was published on
    return found if found is not None and found >= EARLIEST else None


def moves_with_now(text: str | None) -> bool:
    """Whether ``text`` counts from the reading ("vor 2 Stunden", "heute", "gestern, 17:30",
    "vor 3 Tagen"): read again later, it names another moment for the same item (a later
    one, or "gestern" for what was "vor 3 Stunden")."""
    if not text:
        return False
    cleaned = _cleaned(text).lower()
    if not any(p.match(cleaned) for p in (_RELATIVE, _AGO, _DAY_WORD)):
        return False
    # Beside a full date ("gestern, 10.06.2021"), the date is read, which stays.
    if not _DIGITS_AFTER_WORD.search(cleaned):
        return True
    return _full_date(cleaned, _UTC, datetime.now(UTC), None, 0) is None


#: Characters a page puts into a date that are no part of it: a non-breaking space (a
#: space), soft hyphens and zero-width spaces ("Sep&shy;tember", "10.&#8203;Juni").
_INVISIBLE = str.maketrans({"\xa0": " ", "\u00ad": None, "\u200b": None, "\u2060": None})


def _cleaned(text: str) -> str:
    if "&" in text:
        # Escaped twice by a CMS: the feed's "M&amp;auml;rz" is "M&auml;rz" once parsed.
        text = html.unescape(text)
    if not text.isascii():
        # "März" decomposed ("a" and a combining diaeresis, as macOS writes it), or as
        # UTF-8 read as windows-1252 ("MÃ¤rz", whose title was repaired): the only
        # non-ASCII letter of the date words.
        text = unicodedata.normalize("NFC", text).replace("Ã¤", "ä").replace("Ã„", "Ä")
    return " ".join(text.translate(_INVISIBLE).split()).strip(" ,;|()[]")


def _parse(text: str, now: datetime, tz: ZoneInfo, without_year: bool) -> datetime | None:
    cleaned = _cleaned(text)
    if not cleaned:
        return None
    lowered = cleaned.lower()
    for parser in (_iso, _rfc822, _java):
        found = parser(cleaned, tz)
        if found is not None:
            return found
    relative = _relative(lowered, now, tz)
    if relative is not None and not _DIGITS_AFTER_WORD.search(lowered):
        return relative  # "vor 3 Tagen", "gestern, 14:30": nothing more to look for
    before: tuple[int, int] | None = None
    date_at = 0  # where the date must begin to take a time written before it
    if leading := _LEADING_TIME.match(cleaned):
        before = int(leading["hour"]), int(leading["minute"] or leading["minute_dot"])
        cleaned = leading["rest"]
        date_at = len(leading["weekday"] or "")
    # The first date the text names, whichever way it is written; a full one beside a day
    # word is the page's own ("Gestern, 10.06.2021 14:30 Uhr" on a page cached for days).
    found = _full_date(cleaned, tz, now, before, date_at)
    if found is not None or relative is not None:
        return found or relative
    month = _MONTH_YEAR.match(lowered)
    if month:
        return _local(date(int(month["year"]), _MONTHS[month["month"].lower()], 1), None, tz)
    if not without_year:
        return None
    # No full date: a day and month of the nearest year.
    today = now.astimezone(tz).date()
    matches = [m for p in (_DAY_MONTH, _DAY_MONTH_NAME) if (m := p.search(cleaned))]
    for match in sorted(matches, key=lambda m: m.start()):
        # A range is dated by its first day ("10.–12. Juni", "10./11.06."), without a time.
        start = _YEARLESS_RANGE_START.search(cleaned, 0, match.start())
        day = int((start or match)["day"])
        month_number = _month((start and start["month"]) or match["month"])
        year = _nearest_year(day, month_number, today)
        if year is None:
            continue
        if start is not None:
            return _local(date(year, month_number, day), None, tz)
        found = _from_match(match, tz, now, before if match.start() == date_at else None, year)
        if found is not None:
            return found
    return None


def _full_date(
    cleaned: str, tz: ZoneInfo, now: datetime, before: tuple[int, int] | None, date_at: int
) -> datetime | None:
    """The first date with its year that ``cleaned`` names, whichever way it is written."""
    patterns = (_RANGE_NUMERIC, _RANGE_LONG, _NUMERIC, _LONG_DE, _LONG_EN, _ISO_LOOSE)
    matches = [m for p in patterns if (m := p.search(cleaned))]
    for match in sorted(matches, key=lambda m: m.start()):
        found = _from_match(match, tz, now, before if match.start() == date_at else None)
        if found is not None:
            return found
    return None


#: A day word or a relative date followed by more digits than its time: perhaps a full
#: date ("gestern, 10.06.2021").
_DIGITS_AFTER_WORD = re.compile(r"[0-9]{4}")
_UTC = ZoneInfo("UTC")


def _nearest_year(day: int, month: int, today: date) -> int | None:
    """The year that puts the day nearest to ``today``: last year's "28.12." in January,
    next year's "02.01." at the end of December (a date ahead, taken for the first-seen
    time as any date in the future); None if no such day exists near it ("31.02.")."""
    found = []
    for year in (today.year - 1, today.year, today.year + 1):
        with contextlib.suppress(ValueError):
            found.append((abs(date(year, month, day) - today), year))
    return min(found)[1] if found else None


def followed_date(
    listed: datetime | None, found: datetime | None, tz: ZoneInfo, listed_text: str | None = None
) -> datetime | None:
    """The date of an item whose article page was followed.

    The page's date is the more exact one (a time, a zone), but a page carries other dates
    too: a "last updated" in its header, a placeholder far ahead. The listing's date is the
    one the site files the item under, so the page's is taken when the listing has none,
    or where it agrees with the listing's within what the listing's says: a day for a
    date, the month for "Juni 2021", a week for "vor 2 Wochen". Otherwise the listing's
    stands.

    Args:
        listed_text: the listing's date as the site wrote it (its precision).
    """
    if found is None or listed is None:
        return found or listed
    found_local, listed_local = found.astimezone(tz), listed.astimezone(tz)
    # The page names the day only (TYPO3's <time datetime="2026-11-10">, or that day's
    # midnight in UTC): the listing's time of that day is the more exact.
    day_only = time(0) in (found_local.time(), found.astimezone(UTC).time())
    if day_only and listed_local.time() != time(0) and found_local.date() == listed_local.date():
        return listed
    text = " ".join((listed_text or "").lower().split()).strip(" ,;|()[]")
    if _MONTH_YEAR.match(text):
        same_month = (found_local.year, found_local.month) == (
            listed_local.year,
            listed_local.month,
        )
        return found if same_month else listed
    relative = _RELATIVE.match(text) or _AGO.match(text)
    if relative is None and listed_local.time() == time(0):
        # A day: the page's moment on that day, not a time of the day before (the ±1 day
        # of a listing with a time took "09.06., 08:00" for a listing's "10.06.2021").
        return found if found_local.date() == listed_local.date() else listed
    tolerance = _UNITS[relative["unit"][:3]] if relative else timedelta(0)
    return found if abs(found - listed) <= tolerance + timedelta(days=1) else listed


def _iso(text: str, tz: ZoneInfo) -> datetime | None:
    if not _ISO_DATE.match(text):
        return None
    try:
        value = datetime.fromisoformat(_LEAP_SECOND.sub(":59", text.replace("z", "Z"), 1))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _rfc822(text: str, tz: ZoneInfo) -> datetime | None:
    hint = _RFC822_HINT.match(text)
    if not hint:
        return None
    if len(hint[1]) > 2 and int(hint[1]) < 1000:
        # email.utils reads any year under 100 as two digits: .NET's empty date, "Mon, 01
        # Jan 0001", became 2001. A placeholder, as "0001-01-01" is.
        return None
    named = _ZONE_NAME_AT_END.search(text)
    if named:
        # email.utils knows US zone names only; "MESZ" would be read as no zone.
        minutes = _ZONES[named[1].upper()]
        text = f"{text[: named.start(1)]}{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}00"
    try:
        value = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if value.tzinfo is None:
        # "-0000" is UTC, the sender's own zone unknown (RFC 5322, 3.3); without a zone, a
        # date is local time.
        value = value.replace(tzinfo=UTC if re.search(r"\s-0000\b", text) else tz)
    return value.astimezone(UTC)


def _java(text: str, tz: ZoneInfo) -> datetime | None:
    java = _JAVA_DATE.match(text)
    if java is None or java["zone"].upper() not in _KNOWN_ZONES:
        return None
    weekday, month, day, at, zone, year = java.groups()
    return _rfc822(f"{weekday}, {day} {month} {year} {at} {zone.upper()}", tz)


def _relative(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    word = _DAY_WORD.match(text)
    if word:
        day = now.astimezone(tz).date() - timedelta(days=_DAY_WORDS[word["word"]])
        at = _word_time(word)
        found = _local(day, at, tz)
        before = _local(day - timedelta(days=1), at, tz)
        if found > now + _LATER_TODAY and before >= now - _CACHED_FOR:
            # "heute, 23:30 Uhr" on a page rendered before midnight and read after it (a
            # cache): that "today" was yesterday, not a time still to come. At noon,
            # "heute 19 Uhr" is tonight (an event), not yesterday.
            found = before
        return found
    match = _RELATIVE.match(text) or _AGO.match(text)
    if not match:
        return None
    parts = match.groupdict()
    unit = _UNITS[match["unit"][:3]] / (2 if parts.get("half") else 1)
    if unit < timedelta(days=1):
        back = _count(match["n"]) * unit
        if parts.get("more"):
            back += int(parts["more"]) * _UNITS[parts["more_unit"][:3]]
        return (now - back).astimezone(UTC)
    n = _count(match["n"])
    # Days, weeks, months: a day, as "gestern" is, not now's clock time so many days back,
    # which moved with every fetch of the page (an item changed each time).
    day = now.astimezone(tz).date() - n * unit
    return _local(day, _word_time(match), tz)


def _count(text: str) -> float:
    """The number of "vor N Stunden": digits ("1,5"), or a word ("zwei", "an")."""
    if text[0].isdigit():
        return float(text.replace(",", "."))
    return _NUMBER_WORDS.get(text, 1)  # "a", "an", "one"


def _word_time(match: re.Match[str]) -> time | None:
    """The time of a :data:`_WORD_TIME` part, if it named a possible one."""
    if match.groupdict().get("hour") is None:
        return None
    hour, minute = int(match["hour"]), int(match["minute"] or match["minute_dot"] or 0)
    return time(hour, minute) if hour < 24 and minute < 60 else None


def _from_match(
    match: re.Match[str],
    tz: ZoneInfo,
    now: datetime,
    before: tuple[int, int] | None = None,
    year: int | None = None,
) -> datetime | None:
    """The moment ``match`` names; ``before``: (hour, minute) written before the date, the
    time where the date names none; ``year``: of a date written without one."""
    end_month = match.groupdict().get("end_month")
    month_text = match["month"] or end_month
    assert month_text is not None, "every pattern names a month (a range at its end)"
    month = _month(month_text)
    if year is None:
        year = int(match["year"])
        if len(match["year"]) == 2:
            # "10.6.21": the nearest year not more than one year ahead.
            century = now.year // 100 * 100
            year += century if century + year <= now.year + 1 else century - 100
    if end_month is not None and month > _month(end_month):
        year -= 1  # "30.12.–2.1.2027" starts in 2026
    try:
        day = date(year, month, int(match["day"]))
    except ValueError:
        return None
    at = None
    if match["hour"] is None and before is not None:
        with contextlib.suppress(ValueError):
            at = time(*before)
    elif match["hour"] is not None:
        minute = int(match["minute"] or match["minute_dot"] or 0)
        hour = int(match["hour"])
        if match["half"] is not None and 1 <= hour <= 12:
            # "2:30 PM" is 14:30, "12:15 AM" is 00:15.
            hour = hour % 12 + (12 if match["half"][0] in "pP" else 0)
        second = int(match["second"] or 0)
        if (hour, minute, second) == (24, 0, 0):
            hour, day = 0, day + timedelta(days=1)  # "24:00 Uhr": the day's end
        try:
            at = time(hour, minute, second)
        except ValueError:
            at = None
    zone = match["zone"]
    if at is not None and zone:
        with contextlib.suppress(ValueError):  # "UTC+25": no zone; the date stands
            return datetime.combine(day, at, tzinfo=_zone(zone)).astimezone(UTC)
    return _local(day, at, tz)


def _month(text: str) -> int:
    return int(text) if text.isdigit() else _MONTHS[text.lower()]


def _zone(text: str) -> timezone:
    upper = text.upper()
    if upper in _ZONES:
        return timezone(timedelta(minutes=_ZONES[upper]))
    # "+0200", "-05:00", and after GMT or UTC also "+2" ("GMT+2", "UTC+02:00").
    offset = upper.removeprefix("GMT").removeprefix("UTC")
    sign = -1 if offset[0] == "-" else 1
    hours, _, minutes = offset[1:].partition(":")
    if not minutes and len(hours) > 2:
        hours, minutes = hours[:-2], hours[-2:]
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))


def _local(day: date, at: time | None, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at or time(0, 0), tzinfo=tz).astimezone(UTC)
