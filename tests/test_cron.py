"""Cron schedules in Europe/Berlin, across the daylight-saving changes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from revier_feed import cron
from revier_feed.digest import current_period

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_monday_seven_is_local_time_in_winter_and_summer() -> None:
    weekly = cron.parse("0 7 * * mon")
    # The March change is on Sunday 29 March 2026: 07:00 is 06:00 UTC before, 05:00 after.
    assert weekly.next_after(utc(2026, 3, 20), BERLIN) == utc(2026, 3, 23, 6)
    assert weekly.next_after(utc(2026, 3, 23, 6), BERLIN) == utc(2026, 3, 30, 5)
    # The October change is on Sunday 25 October 2026.
    assert weekly.next_after(utc(2026, 10, 20), BERLIN) == utc(2026, 10, 26, 6)
    assert weekly.last_at_or_before(utc(2026, 10, 26, 5, 59), BERLIN) == utc(2026, 10, 19, 5)
    assert weekly.last_at_or_before(utc(2026, 10, 26, 6), BERLIN) == utc(2026, 10, 26, 6)


def test_a_time_in_the_spring_gap_fires_once_right_after_it() -> None:
    nightly = cron.parse("30 2 * * *")
    # 02:30 does not exist on 29 March 2026; it fires at 03:00 CEST (01:00 UTC).
    assert nightly.next_after(utc(2026, 3, 28, 12), BERLIN) == utc(2026, 3, 29, 1)
    assert nightly.next_after(utc(2026, 3, 29, 1), BERLIN) == utc(2026, 3, 30, 0, 30)


def test_a_time_that_occurs_twice_in_autumn_fires_once() -> None:
    nightly = cron.parse("30 2 * * *")
    first = nightly.next_after(utc(2026, 10, 24, 12), BERLIN)
    assert first == utc(2026, 10, 25, 0, 30)  # 02:30 CEST, the first of the two
    assert nightly.next_after(first, BERLIN) == utc(2026, 10, 26, 1, 30)


def test_weekly_periods_across_the_change_are_contiguous() -> None:
    """Walking a controllable clock hour by hour across both changes: every Monday's period
    starts where the previous ended, and each fires exactly once."""
    weekly = "0 7 * * mon"
    now = utc(2026, 3, 1)
    covered = None
    slots = []
    while now < utc(2026, 11, 10):
        period = current_period(weekly, now, BERLIN, covered, timedelta(days=7))
        if period.slot_at not in slots:
            slots.append(period.slot_at)
            if covered is not None:
                assert period.since == covered
            covered = period.until
        now += timedelta(hours=1)
    local = [s.astimezone(BERLIN) for s in slots]
    assert all((t.weekday(), t.hour, t.minute) == (0, 7, 0) for t in local)
    assert all(
        b - a
        in (timedelta(days=7) - timedelta(hours=1), timedelta(days=7), timedelta(days=7, hours=1))
        for a, b in itertools.pairwise(slots)
    )
    assert len(slots) == len({s for s in slots})


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 7 * *", "5 fields"),
        ("61 7 * * mon", "minute"),
        ("0 7 * * funday", "day-of-week"),
        ("0 7 30 feb *", "never fires"),
        ("0 7-3 * * *", "backwards"),
        ("*/0 * * * *", "step"),
        # A digit int() does not read is a clear error too, not int()'s.
        ("*/² * * * *", "positive step"),
        ("0 ² * * *", "hour"),
    ],
)
def test_bad_expressions_say_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cron.parse(expression)


def test_lists_ranges_steps_and_either_day_field() -> None:
    twice = cron.parse("0 8,17 * * mon-fri")
    assert twice.next_after(utc(2026, 11, 27, 17), BERLIN) == utc(2026, 11, 30, 7)  # Fri->Mon
    monthly_or_sunday = cron.parse("0 6 1 * sun")
    # Either the 1st of the month or a Sunday, as in cron.
    assert monthly_or_sunday.next_after(utc(2026, 11, 27), BERLIN) == utc(2026, 11, 29, 5)
    assert monthly_or_sunday.next_after(utc(2026, 11, 29, 6), BERLIN) == utc(2026, 12, 1, 5)
    every_quarter = cron.parse("*/15 * * * *")
    assert every_quarter.next_after(utc(2026, 1, 1, 0, 7), BERLIN) == utc(2026, 1, 1, 0, 15)
