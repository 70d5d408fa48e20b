"""German and international date formats, read the way the region's websites write them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from revier_feed.parse.dates import followed_date, moves_with_now, parse_date

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday; Berlin is UTC+1


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


# Found by comparing with dateparser on 7,000 dates as German sites print them (session 39).
# Each was read as a wrong moment (a time dropped, 12 hours early, a zone ignored) or not at
# all.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # English "pm" with text after it was read 12 hours early; "am" before a byline.
        ("Posted on December 16, 2020 at 2:45 pm by admin", berlin(2020, 12, 16, 14, 45)),
        ("February 23, 2021 1:30 p.m. · 3 min read", berlin(2021, 2, 23, 13, 30)),
        ("June 10, 2021 at 12:15 am by admin", berlin(2021, 6, 10, 0, 15)),
        # A day word's time with more after it was dropped, or the date not read.
        ("Heute, 08:19 Uhr von Redaktion", berlin(2026, 11, 25, 8, 19)),
        ("heute, 09:15 Uhr · 2 Kommentare", berlin(2026, 11, 25, 9, 15)),
        ("Heute, 05:21 h", berlin(2026, 11, 25, 5, 21)),
        ("Heute 01:49 Uhr (aktualisiert)", berlin(2026, 11, 25, 1, 49)),
        ("Gestern 10:05 Uhr in Lokales", berlin(2026, 11, 24, 10, 5)),
        # A zone in parentheses was read as the region's time.
        ("05.02.2020 23:27 (UTC)", datetime(2020, 2, 5, 23, 27, tzinfo=UTC)),
        ("26.05.2021 06:15 (GMT)", datetime(2021, 5, 26, 6, 15, tzinfo=UTC)),
        # Drupal's date and time with more after them.
        ("Fr, 07.08.2020 - 08:00, Pressestelle", berlin(2020, 8, 7, 8, 0)),
        ("Sa, 18.04.2020 - 12:30 von Redaktion", berlin(2020, 4, 18, 12, 30)),
        ("Do, 18.07.2019 - 08:00 (aktualisiert)", berlin(2019, 7, 18, 8, 0)),
        # An event's time by its start.
        ("27.04.2020 von 11:30 bis 13:30 Uhr", berlin(2020, 4, 27, 11, 30)),
        ("10.06.2021 ab 18 Uhr", berlin(2021, 6, 10, 18, 0)),
        # Forms that were no date at all.
        ("24.Jun.2020", berlin(2020, 6, 24)),
        ("26.Juni.2020", berlin(2020, 6, 26)),
        ("24-Jun-2020", berlin(2020, 6, 24)),
        ("16. Apr. 20", berlin(2020, 4, 16)),
        ("23. Dez. 20 | Meldung", berlin(2020, 12, 23)),
        # Java's Date.toString(), as Java-based CMSs print it.
        ("Thu Jun 10 14:30:00 CEST 2021", datetime(2021, 6, 10, 12, 30, tzinfo=UTC)),
        ("Wed Nov 25 09:15:00 CET 2026", datetime(2026, 11, 25, 8, 15, tzinfo=UTC)),
        ("Thu Jun 10 14:30:00 EDT 2021", datetime(2021, 6, 10, 18, 30, tzinfo=UTC)),
        ("vor 2 Std. 49 Min.", datetime(2026, 11, 25, 9, 11, tzinfo=UTC)),
        ("vor 3 Stunden und 5 Minuten", datetime(2026, 11, 25, 8, 55, tzinfo=UTC)),
        ("vor 1,5 Stunden", datetime(2026, 11, 25, 10, 30, tzinfo=UTC)),
        ("vor fünfzehn Minuten", datetime(2026, 11, 25, 11, 45, tzinfo=UTC)),
        ("vor 8 Minuten · 2 Kommentare", datetime(2026, 11, 25, 11, 52, tzinfo=UTC)),
        ("vor 4 Stunden by admin", datetime(2026, 11, 25, 8, 0, tzinfo=UTC)),
        ("vor 2 Minuten (aktualisiert)", datetime(2026, 11, 25, 11, 58, tzinfo=UTC)),
        ("vor 9 Minuten in Lokales", datetime(2026, 11, 25, 11, 51, tzinfo=UTC)),
        ("Zuletzt aktualisiert: vor 5 Stunden", datetime(2026, 11, 25, 7, 0, tzinfo=UTC)),
        ("Letzte Aktualisierung: gestern, 17:30 Uhr", berlin(2026, 11, 24, 17, 30)),
        # English relative dates.
        ("6 days ago", berlin(2026, 11, 19)),
        ("an hour ago", datetime(2026, 11, 25, 11, 0, tzinfo=UTC)),
        ("yesterday", berlin(2026, 11, 24)),
        ("Today, 09:15", berlin(2026, 11, 25, 9, 15)),
    ],
)
def test_dates_found_by_comparing_with_dateparser(text: str, expected: datetime) -> None:
    assert parse_date(text, NOW, BERLIN) == expected


@pytest.mark.parametrize(
    "text",
    [
        # A zone no one can be sure of: "JST" read as the region's time was 7 hours off.
        "Thu Jun 10 14:30:00 JST 2021",
        # Hours, not years of two digits; a headline, not a date.
        "Der Termin am 10. Juni 20 Uhr",
        "Am 3. März 10, 12 und 14 Uhr Führungen",
        "Heute in Leipzig: Konzert",
    ],
)
def test_what_the_new_forms_do_not_take_for_dates(text: str) -> None:
    assert parse_date(text, NOW, BERLIN) is None


# Found by a review of these forms (session 39): sentences that begin with a day word, a
# relative date or a month were read as dates, and a score or rating after a dash as a time.
@pytest.mark.parametrize(
    "text",
    [
        "Gestern von der Polizei festgenommen",
        "Vor 100 Tagen in Kraft getreten",
        "Vor einer Woche in Dortmund eröffnet",
        "Heute von 10 bis 12 Uhr geöffnet",
        "Heute (Montag) geschlossen",
        "Heute [Update]",
        "Seit Januar 2020 von der Stadt gefördert",
        "Ab März 2027 (voraussichtlich)",
    ],
)
def test_sentences_beginning_like_a_date_are_no_dates(text: str) -> None:
    assert parse_date(text, NOW, BERLIN) is None


@pytest.mark.parametrize(
    "text",
    [
        "10.06.2021 – 21:19 – Handball",
        "10.06.2021 - 03:45 - Video",
        "10.06.2021 – 2:30 von 5 Sternen",
    ],
)
def test_a_score_or_a_rating_after_a_dash_is_no_time(text: str) -> None:
    assert parse_date(text, NOW, BERLIN) == berlin(2021, 6, 10)


def test_a_video_s_length_after_a_dash_is_still_no_time() -> None:
    assert parse_date("10.06.2021 – 03:45 (Video)", NOW, BERLIN) == berlin(2021, 6, 10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10. Juni 2021", berlin(2021, 6, 10)),
        ("3. März 2021", berlin(2021, 3, 3)),
        ("3. Maerz 2021", berlin(2021, 3, 3)),
        # Decomposed (macOS), and UTF-8 read as windows-1252 on a page: no date was read.
        ("3. Ma\u0308rz 2021", berlin(2021, 3, 3)),
        ("3. MÃ¤rz 2021", berlin(2021, 3, 3)),
        ("MÃ„RZ 2021", berlin(2021, 3, 1)),
        # Escaped twice in a feed ("M&amp;auml;rz"), so still a reference once parsed.
        ("3. M&auml;rz 2021", berlin(2021, 3, 3)),
        ("3.&nbsp;M&#228;rz&nbsp;2021", berlin(2021, 3, 3)),
        ("10.06.2021", berlin(2021, 6, 10)),
        ("10.6.21", berlin(2021, 6, 10)),
        ("Do., 10. Juni 2021, 14:30 Uhr", berlin(2021, 6, 10, 14, 30)),
        ("Juni 2021", berlin(2021, 6, 1)),
        ("(vom 24.02.2021 12:00 Uhr)", berlin(2021, 2, 24, 12, 0)),
        ("[24.02.2021]", berlin(2021, 2, 24)),
        ("Datum 11.02.2022", berlin(2022, 2, 11)),
        ("10. Dez. 2021", berlin(2021, 12, 10)),
        # Without a blank after the day's dot, and English ordinals before the month.
        ("24.November 2026", berlin(2026, 11, 24)),
        ("24.Nov 2026", berlin(2026, 11, 24)),
        ("10th November 2026", berlin(2026, 11, 10)),
        # A time before the date (it was dropped).
        ("14:30 Uhr, 23.11.2026", berlin(2026, 11, 23, 14, 30)),
        ("12:30 10.06.2021", berlin(2021, 6, 10, 12, 30)),
        ("9.15 Uhr | 10.06.2021", berlin(2021, 6, 10, 9, 15)),
        ("14:30 Uhr, 23.11.2026 | Pressemitteilung", berlin(2026, 11, 23, 14, 30)),
        ("14:30 Uhr, 23. November 2026 – Landkreis", berlin(2026, 11, 23, 14, 30)),
        ("9.15 Uhr Do., 10. Juni 2021", berlin(2021, 6, 10, 9, 15)),
        ("03:45 Min. | 10.06.2021", berlin(2021, 6, 10)),  # a video's length
        ("03:45 Min. 10.06.2021", berlin(2021, 6, 10)),
        ("14:30 3 Kommentare 10.06.2021", berlin(2021, 6, 10)),
        ("10:00 Fr, 11.06.2021", berlin(2021, 6, 11, 10, 0)),
        # A range is dated by its first day (its last day put a running event ahead of now).
        ("10.–12. Juni 2021", berlin(2021, 6, 10)),
        ("10. bis 12. Juni 2021", berlin(2021, 6, 10)),
        ("10.-12.06.2021", berlin(2021, 6, 10)),
        ("26.–30. November 2026", berlin(2026, 11, 26)),
        ("30.11.–2.12.2026", berlin(2026, 11, 30)),
        ("30. Dezember – 2. Januar 2027", berlin(2026, 12, 30)),
        ("10.06.2021 - 12.06.2021", berlin(2021, 6, 10)),
        # A page count before a date is no range.
        ("Seite 2 - 3. Juni 2021", berlin(2021, 6, 3)),
        ("heute", berlin(2026, 11, 25)),
        ("gestern, 09:15 Uhr", berlin(2026, 11, 24, 9, 15)),
        ("vorgestern", berlin(2026, 11, 23)),
        # Days back are a day, as "gestern" is: now's clock time moved with every fetch.
        ("vor 3 Tagen", berlin(2026, 11, 22)),
        ("vor 2 Wochen", berlin(2026, 11, 11)),
        ("vor einer Stunde", datetime(2026, 11, 25, 11, 0, tzinfo=UTC)),
        ("2021-06-10", berlin(2021, 6, 10)),
        ("2021-06-10T14:30:00+02:00", datetime(2021, 6, 10, 12, 30, tzinfo=UTC)),
        ("2021-06-10T12:30:00Z", datetime(2021, 6, 10, 12, 30, tzinfo=UTC)),
        # A leap second (RFC 3339), which Python cannot hold: the second before, not the
        # day before (found beside the reader library, session 40).
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("2016-12-31t23:59:60z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("Thu, 10 Jun 2021 14:30:00 +0200", datetime(2021, 6, 10, 12, 30, tzinfo=UTC)),
        ("Thu, 10 Jun 2021 14:30:00 GMT", datetime(2021, 6, 10, 14, 30, tzinfo=UTC)),
        # RFC 822 without a zone: local time of the region.
        ("Thu, 10 Jun 2021 14:30:00", berlin(2021, 6, 10, 14, 30)),
        ("June 10, 2021", berlin(2021, 6, 10)),
        ("10 June 2021", berlin(2021, 6, 10)),
        ("Jun 10th, 2021", berlin(2021, 6, 10)),
        # English times with AM/PM (a PM time was read 12 hours early).
        ("Jun 10th, 2021 2:30 PM", berlin(2021, 6, 10, 14, 30)),
        ("June 10, 2021 12:15 am", berlin(2021, 6, 10, 0, 15)),
        ("June 10, 2021, 12:15 p.m.", berlin(2021, 6, 10, 12, 15)),
        # German "am" (at) after a time is no AM.
        ("10. Juni 2021, 12:00 am Rathaus", berlin(2021, 6, 10, 12, 0)),
        # ISO dates with more after them (they were no dates at all).
        ("2021-06-10, 14:30 Uhr", berlin(2021, 6, 10, 14, 30)),
        ("2021-06-10 | Pressemitteilung", berlin(2021, 6, 10)),
        ("2021-06-10T14:30:00 CEST", datetime(2021, 6, 10, 12, 30, tzinfo=UTC)),
        ("2021-06-10T14:30:00+02:00[Europe/Berlin]", datetime(2021, 6, 10, 12, 30, tzinfo=UTC)),
        # Fractions of a second, and the first of several dates.
        (
            "2021-06-10T14:30:00.123+02:00[Europe/Berlin]",
            datetime(2021, 6, 10, 12, 30, tzinfo=UTC),
        ),
        ("2021-06-10, geändert 3. Mai 2021", berlin(2021, 6, 10)),
        ("10.06.2021 11:00 p.m. (Ortszeit)", berlin(2021, 6, 10, 23, 0)),
        # A day word followed by a date names no time ("10.06" is no 10:06).
        ("Heute im Landtag: 10.06.2021", berlin(2021, 6, 10)),
        # Beside a day word, a full date is the page's own: "gestern" on a page cached for
        # days was the day before the reading, and the time was lost.
        ("Gestern, 10.06.2021", berlin(2021, 6, 10)),
        ("Gestern, 10.06.2021 14:30 Uhr", berlin(2021, 6, 10, 14, 30)),
        # Day words with a time, with or without a comma.
        ("gestern 14:30", berlin(2026, 11, 24, 14, 30)),
        ("heute um 9.15 Uhr", berlin(2026, 11, 25, 9, 15)),
        ("Gestern um 9 Uhr", berlin(2026, 11, 24, 9, 0)),
        ("Heute, 10:99", berlin(2026, 11, 25)),
        # With more after them, as chambers' listings write them ("date | kind"): no
        # date at all, or the time dropped.
        ("vor 3 Tagen | Meldung", berlin(2026, 11, 22)),
        ("vor 2 Tagen, 10:00 Uhr", berlin(2026, 11, 23, 10, 0)),
        ("gestern | Meldung", berlin(2026, 11, 24)),
        ("heute | Pressemitteilung", berlin(2026, 11, 25)),
        ("gestern, 9:15 | Meldung", berlin(2026, 11, 24, 9, 15)),
        ("November 2026 | Magazin", berlin(2026, 11, 1)),
        ("Ausgabe Juni 2021", berlin(2021, 6, 1)),
        ("heute - 14:30", berlin(2026, 11, 25, 14, 30)),
        ("Gestern | 9:15 Uhr", berlin(2026, 11, 24, 9, 15)),
    ],
)
def test_formats(text: str, expected: datetime) -> None:
    assert parse_date(text, NOW, BERLIN) == expected


def test_winter_dates_use_winter_time() -> None:
    assert parse_date("10. Januar 2021, 9:00 Uhr", NOW, BERLIN) == datetime(
        2021, 1, 10, 8, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "  ",
        "Pressemitteilung",
        "31.02.2021",
        "32. Mai 2021",
        "10. Juni 20215",
        "heutig",
        # Words, not dates: a compound, a sentence naming a month.
        "heute-Journal",
        "Die Ausstellung läuft bis Ende Januar 2022",
        # A file number, a day 2026 does not have, a number after a year-less date.
        "Az. 12.3.4",
        "29.02.",
        "10.06.20215",
        # Headlines: an anniversary, a look back.
        "Vor 30 Jahren – Mauerfall in Leipzig",
        "vor einem Jahr, Rückblick",
    ],
)
def test_no_date(text: str | None) -> None:
    assert parse_date(text, NOW, BERLIN) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # An explicit zone in a form outside RFC 822 / ISO is honoured, not replaced.
        ("10 Jun 2021 14:30:00 +0000", datetime(2021, 6, 10, 14, 30, tzinfo=UTC)),
        ("Thu, 10 June 2021 14:30:00 GMT", datetime(2021, 6, 10, 14, 30, tzinfo=UTC)),
        ("10. Juni 2021, 14:30 MESZ", datetime(2021, 6, 10, 12, 30, tzinfo=UTC)),
        ("24.02.2021 um 9.15 Uhr", berlin(2021, 2, 24, 9, 15)),
        # A date range is its first date, not a date with a time of "12:06".
        ("10.06.2021 - 12.06.2021", berlin(2021, 6, 10)),
        ("10.06.2021–12.06.2021", berlin(2021, 6, 10)),
        # Found by a probe of calendar edges (session 16): each time was dropped, and the
        # item filed at midnight (24:00 a day early).
        ("10.06.2021, 9 Uhr", berlin(2021, 6, 10, 9, 0)),
        ("10. Juni 2021 um 12 Uhr", berlin(2021, 6, 10, 12, 0)),
        ("10. Juni 2021 – 14:30 Uhr", berlin(2021, 6, 10, 14, 30)),
        ("10.06.2021 | 14:30 Uhr", berlin(2021, 6, 10, 14, 30)),
        ("10.06.2021, 24:00 Uhr", berlin(2021, 6, 11)),
        ("2021-06-10T24:00:00", berlin(2021, 6, 11)),
        # The zone after "Uhr" counts as it does without "Uhr".
        ("10. Juni 2021, 14:30 Uhr MESZ", datetime(2021, 6, 10, 12, 30, tzinfo=UTC)),
        # Hours without "Uhr" are no time: "10-12" is a range, "12" may be anything.
        ("10.06.2021, 10-12 Uhr", berlin(2021, 6, 10)),
        ("10.06.2021 12", berlin(2021, 6, 10)),
        # After a dash or "|", only a time that says so: a video's length, a score.
        ("10.06.2021 | 03:45 Min.", berlin(2021, 6, 10)),
        ("10.06.2021 – 21:19 Sieg gegen Leipzig", berlin(2021, 6, 10)),
        ("10.06.2021 - 14:30", berlin(2021, 6, 10, 14, 30)),
        # RFC 822 with a zone name email.utils does not know, whatever the season.
        ("Fri, 10 Dec 2021 14:30:00 MESZ", datetime(2021, 12, 10, 12, 30, tzinfo=UTC)),
        ("Thu, 10 Jun 2021 14:30:00 MEZ", datetime(2021, 6, 10, 13, 30, tzinfo=UTC)),
    ],
)
def test_zones_times_and_ranges(text: str, expected: datetime) -> None:
    assert parse_date(text, NOW, BERLIN) == expected


# Found by a probe of dates as German listings write them (session 25).
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "GMT+2", "UTC+02:00": read as UTC, two hours late.
        ("10.06.2021 14:30 GMT+2", datetime(2021, 6, 10, 12, 30, tzinfo=UTC)),
        ("10.06.2021 14:30 UTC+02:00", datetime(2021, 6, 10, 12, 30, tzinfo=UTC)),
        ("2021-06-10 14:30:00 GMT+0200", datetime(2021, 6, 10, 12, 30, tzinfo=UTC)),
        (
            "Thu Jun 10 2021 14:30:00 GMT+0200 (Mitteleuropäische Sommerzeit)",
            datetime(2021, 6, 10, 12, 30, tzinfo=UTC),
        ),
        # RFC 5322: "-0000" is UTC, the sender's zone unknown (was taken as Berlin time).
        ("Thu, 10 Jun 2021 14:30:00 -0000", datetime(2021, 6, 10, 14, 30, tzinfo=UTC)),
        # The time after separators other than a blank, a comma or a dash was dropped:
        # " , " is what the text of "<span>10.06.2021</span>, <span>14:30 Uhr</span>" reads.
        ("10.06.2021 , 14:30 Uhr", berlin(2021, 6, 10, 14, 30)),
        ("10. Juni 2021 , 14:30 Uhr", berlin(2021, 6, 10, 14, 30)),
        ("10.06.2021 · 14:30 Uhr", berlin(2021, 6, 10, 14, 30)),
        ("10.06.2021 (14:30 Uhr)", berlin(2021, 6, 10, 14, 30)),
        ("10.06.2021 / 14:30 Uhr", berlin(2021, 6, 10, 14, 30)),
        ("10.06.2021 - 14:30 | Pressemitteilung", berlin(2021, 6, 10, 14, 30)),
        ("14:30 · 10.06.2021", berlin(2021, 6, 10, 14, 30)),
        ("June 10, 2021 at 14:30", berlin(2021, 6, 10, 14, 30)),
        # Ranges were dated to their last day, ahead of now.
        ("Mi, 10.06. – Fr, 12.06.2021", berlin(2021, 6, 10)),
        ("10./11. Juni 2021", berlin(2021, 6, 10)),
        ("10. und 11. Juni 2021", berlin(2021, 6, 10)),
        ("vom 10. bis zum 12. Juni 2021", berlin(2021, 6, 10)),
        ("10.—12. Juni 2021", berlin(2021, 6, 10)),
        ("10.06.−12.06.2021", berlin(2021, 6, 10)),
        # Labels, numbers as words, other units.
        ("Veröffentlicht vor 3 Tagen", berlin(2026, 11, 22)),
        ("Stand: heute, 14:30 Uhr", berlin(2026, 11, 25, 14, 30)),
        ("Veröffentlicht: gestern", berlin(2026, 11, 24)),
        ("vor 25 Minuten aktualisiert", datetime(2026, 11, 25, 11, 35, tzinfo=UTC)),
        ("vor zwei Stunden", datetime(2026, 11, 25, 10, 0, tzinfo=UTC)),
        ("vor einer halben Stunde", datetime(2026, 11, 25, 11, 30, tzinfo=UTC)),
        # Found by a review of these fixes: numbers, a magazine's issue, a video's length
        # and a headline stay what they were.
        ("Version 3.5 – 10.06.2021", berlin(2021, 6, 10)),
        ("Juni 2021 | Ausgabe 6.1.", berlin(2021, 6, 1)),
        ("10.06.2021 (03:45)", berlin(2021, 6, 10)),
        ("10.06.21 – 12.06.2021", berlin(2021, 6, 10)),
        ("10.06.2021 14:30 UTC+25", berlin(2021, 6, 10, 14, 30)),
        ("Thu, 10 Jun 2021 14:30:00 -0000 (UTC)", datetime(2021, 6, 10, 14, 30, tzinfo=UTC)),
        # Other spellings.
        ("2021/06/10", berlin(2021, 6, 10)),
        ("Stand: Juni 2021", berlin(2021, 6, 1)),
        ("10.\u200bJuni 2021", berlin(2021, 6, 10)),
        ("Sep\u00adtember 2021", berlin(2021, 9, 1)),
    ],
)
def test_dates_as_listings_write_them_besides(text: str, expected: datetime) -> None:
    assert parse_date(text, NOW, BERLIN) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The hour after a date without a year was its year: 2009, 2019, 2014, 2012.
        ("27.11. 09:30 Uhr", berlin(2026, 11, 27, 9, 30)),
        ("Fr., 27.11. 19:30 Uhr", berlin(2026, 11, 27, 19, 30)),
        ("10.06.14:30", berlin(2026, 6, 10, 14, 30)),
        ("Mo 10.06. 18 Uhr", berlin(2026, 6, 10, 18, 0)),
        ("24.11. 12 Kommentare", berlin(2026, 11, 24)),
        ("14:30 Uhr, 24.11.", berlin(2026, 11, 24, 14, 30)),
        ("am 10. Juni", berlin(2026, 6, 10)),
        # A range by its first day.
        ("10.–12. Dezember", berlin(2026, 12, 10)),
        ("Mi, 10.06. – Fr, 12.06.", berlin(2026, 6, 10)),
        ("10./11. Juni", berlin(2026, 6, 10)),
        # A two-digit year stays one where nothing else can be meant.
        ("10.06.21", berlin(2021, 6, 10)),
        ("10.06. 21", berlin(2021, 6, 10)),
    ],
)
def test_a_date_without_a_year_is_of_the_nearest_year(text: str, expected: datetime) -> None:
    """News tickers write this year's dates without the year: such items fell back to the
    time they were first seen, or were dated years back by the hour after the date."""
    assert parse_date(text, NOW, BERLIN, without_year=True) == expected
    assert parse_date(text, NOW, BERLIN) is None or "21" in text


def test_the_nearest_year_of_a_date_without_one_may_be_the_year_before_or_after() -> None:
    """An event ahead is ahead (and so taken for the first-seen time), not a year back."""

    def read(text: str, now: datetime) -> datetime | None:
        return parse_date(text, now, BERLIN, without_year=True)

    assert read("28.12.", berlin(2027, 1, 5, 12)) == berlin(2026, 12, 28)
    assert read("02.01.", berlin(2026, 12, 30, 12)) == berlin(2027, 1, 2)
    assert read("Sa, 15.08.", berlin(2026, 6, 10, 12)) == berlin(2026, 8, 15)


@pytest.mark.parametrize("text", ["TOP 1.1.", "Tag der Arbeit am 1. Mai", "27.11. 09:30 Uhr"])
def test_a_date_without_a_year_is_read_only_where_asked(text: str) -> None:
    """Feeds, attributes and `sources discover`'s guesses take no headline or number for a
    date (a guess took "TOP 1.1." for the date field)."""
    assert parse_date(text, NOW, BERLIN) is None


def test_a_time_later_today_is_yesterdays_on_a_page_cached_over_midnight() -> None:
    """A listing rendered at 23:45 and read at 00:05 (a cache) says "heute, 23:30 Uhr": it
    was filed nearly a day ahead, under the tolerance for dates in the future."""
    after_midnight = berlin(2021, 6, 12, 0, 5)
    assert parse_date("heute, 23:30 Uhr", after_midnight, BERLIN) == berlin(2021, 6, 11, 23, 30)
    assert parse_date("heute, 00:01 Uhr", after_midnight, BERLIN) == berlin(2021, 6, 12, 0, 1)
    assert parse_date("heute, 00:50 Uhr", after_midnight, BERLIN) == berlin(2021, 6, 12, 0, 50)
    # At noon a later time today is tonight (an event, a clock running ahead), not last night.
    noon = berlin(2021, 6, 12, 12, 0)
    assert parse_date("heute 13:30", noon, BERLIN) == berlin(2021, 6, 12, 13, 30)
    assert parse_date("heute 19 Uhr", noon, BERLIN) == berlin(2021, 6, 12, 19, 0)


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+01:00",
        "01.01.0001",
        "vor 999999 Tagen",
        "1. Januar 1066",
        # A null Unix timestamp, as CMSs print it, in any zone.
        "Thu, 01 Jan 1970 00:00:00 +0000",
        "Thu, 01 Jan 1970 01:00:00 +0100",
        "1969-12-31T19:00:00-05:00",
        "1970-01-01T00:00:00Z",
        "01.01.1970",
        # .NET's empty date in RFC 822: email.utils read the year 1 as 2001.
        "Mon, 01 Jan 0001 00:00:00 GMT",
        "Thu, 01 Jan 0099 00:00:00 GMT",
    ],
)
def test_placeholder_and_absurd_dates_are_no_dates(text: str) -> None:
    assert parse_date(text, NOW, BERLIN) is None


@pytest.mark.parametrize(
    ("text", "listed", "found", "expected"),
    [
        (None, None, berlin(2021, 6, 10, 14, 30), berlin(2021, 6, 10, 14, 30)),
        ("10.06.2021", berlin(2021, 6, 10), None, berlin(2021, 6, 10)),
        # The page's time refines the listing's day.
        (
            "10.06.2021",
            berlin(2021, 6, 10),
            berlin(2021, 6, 10, 14, 30),
            berlin(2021, 6, 10, 14, 30),
        ),
        # A listing that names only the month takes the page's day in it; one that names
        # the first of a month does not take another day of it.
        ("Juni 2021", berlin(2021, 6, 1), berlin(2021, 6, 17, 9), berlin(2021, 6, 17, 9)),
        ("1. Juni 2021", berlin(2021, 6, 1), berlin(2021, 6, 24), berlin(2021, 6, 1)),
        ("Juni 2021", berlin(2021, 6, 1), berlin(2021, 7, 2), berlin(2021, 6, 1)),
        # "vor 2 Wochen" is as exact as a week: the page's date within it is the better one.
        ("vor 2 Wochen", berlin(2026, 11, 11, 13), berlin(2026, 11, 6, 9), berlin(2026, 11, 6, 9)),
        ("vor 2 Wochen", berlin(2026, 11, 11, 13), berlin(2026, 10, 1), berlin(2026, 11, 11, 13)),
        # Another date on the page (a header's "last updated", a placeholder ahead) does not
        # overrule the date the site lists the item under, nor does the day before (found
        # beside htmldate, session 40).
        ("10.06.2021", berlin(2021, 6, 10), berlin(2026, 11, 24, 18), berlin(2021, 6, 10)),
        ("10.06.2021", berlin(2021, 6, 10), berlin(2021, 6, 9, 8), berlin(2021, 6, 10)),
        (
            "10.06.2021",
            berlin(2021, 6, 10),
            berlin(2021, 6, 10, 23, 59),
            berlin(2021, 6, 10, 23, 59),
        ),
        # A listing's time: the page's moment close to it.
        (
            "10.06.2021, 23:30 Uhr",
            berlin(2021, 6, 10, 23, 30),
            berlin(2021, 6, 11, 0, 5),
            berlin(2021, 6, 11, 0, 5),
        ),
        # A page naming the day only keeps the listing's time of that day.
        (
            "10.11.2026, 14:30 Uhr",
            berlin(2026, 11, 10, 14, 30),
            berlin(2026, 11, 10),
            berlin(2026, 11, 10, 14, 30),
        ),
        (
            "10.11.2026, 14:30 Uhr",
            berlin(2026, 11, 10, 14, 30),
            datetime(2026, 11, 10, tzinfo=UTC),
            berlin(2026, 11, 10, 14, 30),
        ),
    ],
)
def test_a_followed_article_refines_the_listing_date(
    text: str | None, listed: datetime | None, found: datetime | None, expected: datetime
) -> None:
    assert followed_date(listed, found, BERLIN, text) == expected


@pytest.mark.parametrize(
    ("text", "moves"),
    [
        ("vor 2 Stunden", True),
        ("vor einer Stunde | Meldung", True),
        ("vor 30 Min.", True),
        # A day counted from the reading: what was "vor 3 Stunden" reads "gestern" later.
        ("vor 3 Tagen", True),
        ("gestern, 17:30 Uhr", True),
        ("heute", True),
        ("Stand: heute, 14:30 Uhr", True),
        ("Veröffentlicht vor drei Tagen", True),
        ("3 hours ago", True),
        ("Yesterday, 17:30", True),
        ("vor 2 Std. 49 Min.", True),
        ("10.06.2021", False),
        ("27.11.", False),
        ("Gestern, 10.06.2021 14:30 Uhr", False),  # the full date is read, and stays
        ("gestern, 14:30 Uhr 2021", True),
        ("2021-06-10T10:00:00+02:00", False),
        (None, False),
    ],
)
def test_dates_counted_from_the_reading_move_with_it(text: str | None, moves: bool) -> None:
    assert moves_with_now(text) is moves
