"""Cron expressions in a time zone: when is the next (or the last) scheduled moment.

Five fields, as in crontab(5): ``minute hour day-of-month month day-of-week``, each ``*``, a
number, a range ``a-b``, a step ``*/n`` or ``a-b/n``, or a comma-separated list of these;
months and weekdays also by English name (``jan``, ``mon``; 0 and 7 are Sunday). As in cron,
when both day fields are restricted a day matches either of them.

Times are wall-clock times in the given zone, so "0 7 * * mon" is 07:00 in Berlin in summer
and in winter (05:00 and 06:00 UTC). Across daylight-saving changes it behaves like cronie:
a time that does not exist that day (02:30 on the last Sunday of March) fires at the first
minute after the gap (03:00), and a time that occurs twice (02:30 on the last Sunday of
October) fires once, at its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
#: How far to look for a matching day; "30 feb" never matches and must not loop forever.
_SEARCH_DAYS = 366 * 8


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed cron expression; build it with :func:`parse`."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]  #: of the month, 1-31
    months: frozenset[int]  #: 1-12
    weekdays: frozenset[int]  #: 0 = Sunday … 6 = Saturday
    days_restricted: bool
    weekdays_restricted: bool

    def next_after(self, moment: datetime, tz: ZoneInfo) -> datetime:
        """The first scheduled moment strictly after ``moment`` (aware), in UTC.

        Raises:
            ValueError: the expression never matches (such as 30 February).
        """
        start = moment.astimezone(tz).date()
        for offset in range(_SEARCH_DAYS):
            day = start + timedelta(days=offset)
            if self._day_matches(day):
                for when in self._times(day, tz):
                    if when > moment:
                        return when
        raise ValueError(f"the schedule {self.expression!r} never fires")

    def last_at_or_before(self, moment: datetime, tz: ZoneInfo) -> datetime:
        """The latest scheduled moment at or before ``moment`` (aware), in UTC.

        Raises:
            ValueError: the expression never matches.
        """
        start = moment.astimezone(tz).date()
        for offset in range(_SEARCH_DAYS):
            day = start - timedelta(days=offset)
            if self._day_matches(day):
                for when in reversed(self._times(day, tz)):
                    if when <= moment:
                        return when
        raise ValueError(f"the schedule {self.expression!r} never fires")

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = day.isoweekday() % 7 in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_month or in_week
        return in_month and in_week

    def _times(self, day: date, tz: ZoneInfo) -> list[datetime]:
        """The day's scheduled moments in UTC, ascending, each once."""
        found = {
            _resolve(datetime.combine(day, time(hour, minute)), tz)
            for hour in self.hours
            for minute in self.minutes
        }
        return sorted(found)


def _resolve(naive: datetime, tz: ZoneInfo) -> datetime:
    """A wall-clock time in ``tz`` as a UTC moment: the first occurrence of a repeated time,
    the end of the gap for a time skipped by a daylight-saving change."""
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # In a gap fold=0 lands after the gap and fold=1 before it; the change lies between.
    low = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = first
    offset = low.astimezone(tz).utcoffset()
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) // 2
        middle = middle.replace(second=0, microsecond=0)
        if middle <= low:
            break
        if middle.astimezone(tz).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return high


def parse(expression: str) -> Cron:
    """Read a five-field cron expression.

    Raises:
        ValueError: with the field and what is wrong with it.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(
            f"{expression!r} is not a cron expression: it needs 5 fields "
            "(minute hour day-of-month month day-of-week), e.g. '0 7 * * mon'"
        )
    minute, hour, day, month, weekday = fields
    weekdays = _field(weekday, "day-of-week", 0, 7, _DAYS, 0)
    cron = Cron(
        expression=" ".join(fields),
        minutes=_field(minute, "minute", 0, 59),
        hours=_field(hour, "hour", 0, 23),
        days=_field(day, "day-of-month", 1, 31),
        months=_field(month, "month", 1, 12, _MONTHS, 1),
        weekdays=frozenset(d % 7 for d in weekdays),
        days_restricted=not day.startswith("*"),
        weekdays_restricted=not weekday.startswith("*"),
    )
    # Reject expressions that can never fire (such as 31 in February only) right away.
    cron.next_after(datetime(2000, 1, 1, tzinfo=UTC), ZoneInfo("UTC"))
    return cron


def _field(
    text: str, name: str, low: int, high: int, names: list[str] | None = None, base: int = 0
) -> frozenset[int]:
    values: set[int] = set()
    for part in text.lower().split(","):
        body, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdecimal() or int(step_text) == 0:
                raise ValueError(f"{name}: {part!r} needs a positive step after '/'")
            step = int(step_text)
        if body == "*":
            first, last = low, high
        else:
            start, dash, end = body.partition("-")
            first = _value(start, name, low, high, names, base)
            last = _value(end, name, low, high, names, base) if dash else first
            if step_text and not dash:
                last = high
            if last < first:
                raise ValueError(f"{name}: the range {body!r} runs backwards")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _value(text: str, name: str, low: int, high: int, names: list[str] | None, base: int) -> int:
    if names and text in names:
        return names.index(text) + base
    if text.isdecimal() and low <= int(text) <= high:
        return int(text)
    known = f" or a name ({', '.join(names)})" if names else ""
    raise ValueError(f"{name}: {text!r} is not a number from {low} to {high}{known}")
