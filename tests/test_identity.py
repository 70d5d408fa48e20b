"""Feeds with broken guids (empty, repeated, random on every fetch) don't flood subscribers."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from revier_feed.app import App
from revier_feed.config import AppConfig, load_config
from revier_feed.demo.server import Response
from revier_feed.models import ItemIdentity

from .conftest import Clock, SampleRegion, write_config

MakeApp = Callable[[AppConfig], App]
FEED = "/broken/rss.xml"

NEWS = [
    ("Kreistag beschließt Haushalt 2021", "/news/haushalt"),
    ("Radweg zwischen Grimma und Naunhof eröffnet", "/news/radweg"),
    ("Breitband: 1.200 Haushalte in Colditz angeschlossen", "/news/breitband"),
]


AUGUST = "Mon, 02 Aug 2021 07:00:00 +0200"


def rss(entries: list[tuple[str, str]], guids: list[str | None], date: str = AUGUST) -> bytes:
    """An RSS feed of (title, link path) entries with the given guids (None: no element)."""
    parts = []
    for (title, link), guid in zip(entries, guids, strict=True):
        guid_xml = "" if guid is None else f'<guid isPermaLink="false">{guid}</guid>'
        parts.append(
            f"<item><title>{title}</title><link>http://kreis.example{link}</link>{guid_xml}"
            f"<description>{title}: mehr dazu auf der Website.</description>"
            f"<pubDate>{date}</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Kreis</title>'
        + "".join(parts)
        + "</channel></rss>"
    ).encode()


class Feed:
    """The misbehaving feed on the local server, fetched by one app cycle at a time."""

    def __init__(self, tmp_path: Path, region: SampleRegion, make_app: MakeApp, clock: Clock):
        sources = f'sources:\n  - {{id: kreis, name: Kreis, url: "{region.url(FEED)}"}}\n'
        self.app = make_app(load_config(write_config(tmp_path / "config", sources)))
        self.region, self.clock = region, clock

    def fetch(
        self, entries: list[tuple[str, str]], guids: list[str | None], date: str = AUGUST
    ) -> tuple[int, int]:
        """Serve the document, run a cycle; returns (new, updated)."""
        self.region.add_route(FEED, Response(200, rss(entries, guids, date)))
        self.clock.advance(timedelta(hours=2))
        (report,) = self.app.run_cycle().summary.reports
        assert report.error is None
        return report.new, report.updated

    @property
    def identity(self) -> ItemIdentity:
        return self.app.storage.source_states(["kreis"])["kreis"].identity

    def stored(self) -> int:
        return len(self.app.storage.recent_items(["kreis"], 100))


@pytest.fixture
def feed(tmp_path: Path, region: SampleRegion, make_app: MakeApp, clock: Clock) -> Feed:
    return Feed(tmp_path, region, make_app, clock)


def test_random_guids_on_every_fetch_fall_back_to_links(feed: Feed) -> None:
    counter = itertools.count()

    def random_guids(n: int) -> list[str | None]:
        return [f"urn:uuid:{next(counter):08x}-session" for _ in range(n)]

    assert feed.fetch(NEWS, random_guids(3)) == (3, 0)
    # Same news, new guids: recognised by their links, nothing new for subscribers.
    assert feed.fetch(NEWS, random_guids(3)) == (0, 0)
    assert feed.identity is ItemIdentity.LINK
    # From now on one new item is one new item, and an edited title an update.
    more = [*NEWS, ("Meisterfeier in Borna: 48 neue Meister", "/news/meister")]
    edited = [("Kreistag beschließt Haushalt 2021 mit großer Mehrheit", "/news/haushalt")]
    assert feed.fetch(edited + more[1:], random_guids(4)) == (1, 1)
    assert feed.stored() == 4


def test_a_feed_that_stops_sending_guids_keeps_its_items(feed: Feed) -> None:
    """Keyed by their links then, every item was stored a second time, in a story of its
    own, and a later correction went to the copy while the feed entry kept the old title
    (found by a probe of what subscribers see, session 37)."""
    assert feed.fetch(NEWS, ["kreis-1", "kreis-2", "kreis-3"]) == (3, 0)
    assert feed.fetch(NEWS, [None, None, None]) == (0, 0)
    assert feed.identity is ItemIdentity.LINK
    edited = [("Kreistag beschließt Haushalt 2021 mit großer Mehrheit", "/news/haushalt")]
    assert feed.fetch(edited + NEWS[1:], [None, None, None]) == (0, 1)
    assert feed.stored() == 3
    titles = {s.item.title for s in feed.app.storage.recent_items(["kreis"], 10)}
    assert edited[0][0] in titles and NEWS[0][0] not in titles


@pytest.mark.parametrize("suffix", ["?utm_source=rss", "/", "-1", "#comments"])
def test_guids_that_begin_with_the_link_are_guids_when_they_go(feed: Feed, suffix: str) -> None:
    """Taken for keys made of the link, such lost guids stored every item again (found by
    a review, session 37)."""
    guids: list[str | None] = [f"http://kreis.example{link}{suffix}" for _, link in NEWS]
    assert feed.fetch(NEWS, guids) == (3, 0)
    assert feed.fetch(NEWS, [None, None, None]) == (0, 0)
    assert feed.stored() == 3


def test_a_feed_of_one_item_that_stops_sending_its_guid_keeps_it(feed: Feed) -> None:
    assert feed.fetch(NEWS[:1], ["kreis-1"]) == (1, 0)
    assert feed.fetch(NEWS[:1], [None]) == (0, 0)
    assert feed.stored() == 1


def test_a_new_item_without_a_guid_at_a_known_link_is_new(feed: Feed) -> None:
    """Another title at a link the store has under a guid is other news (a listing that
    links two entries to one page), not a guid lost."""
    assert feed.fetch(NEWS, ["kreis-1", "kreis-2", "kreis-3"]) == (3, 0)
    other = [("Kreistag tagt im September erneut", "/news/haushalt")]
    assert feed.fetch(NEWS + other, ["kreis-1", "kreis-2", "kreis-3", None]) == (1, 0)
    assert feed.identity is ItemIdentity.GUID


def test_recurring_notices_at_one_link_without_guids_are_no_lost_guids(feed: Feed) -> None:
    """Told apart by title, their keys begin with the link: taken for guids the feed no
    longer sent, they switched the source to link and title and were stored again (found
    by a review, session 37)."""
    notices = [
        ("Sprechzeiten des Landrats", "/sprechzeiten", "Mon, 02 Aug 2021 07:00:00 +0200"),
        ("Sprechzeiten des Landrats", "/sprechzeiten", "Mon, 26 Jul 2021 07:00:00 +0200"),
        ("Abfuhrtermine", "/abfuhr", "Tue, 27 Jul 2021 07:00:00 +0200"),
        ("Abfuhrtermine", "/abfuhr", "Tue, 20 Jul 2021 07:00:00 +0200"),
    ]
    items = "".join(
        f"<item><title>{title}</title><link>http://kreis.example{link}</link>"
        f"<description>{title} am {date}</description><pubDate>{date}</pubDate></item>"
        for title, link, date in notices
    )
    body = f'<rss version="2.0"><channel><title>K</title>{items}</channel></rss>'.encode()
    feed.region.add_route(FEED, Response(200, body))
    for expected in ((4, 0), (0, 0), (0, 0)):
        feed.clock.advance(timedelta(hours=2))
        (report,) = feed.app.run_cycle().summary.reports
        assert (report.new, report.updated) == expected
    assert feed.identity is ItemIdentity.GUID
    assert feed.stored() == 4


def test_a_feed_of_one_item_under_a_new_guid_on_every_fetch_falls_back_to_links(
    feed: Feed,
) -> None:
    """Two moved guids were needed, which a feed of one item never shows: its one item was
    stored again on every fetch."""
    assert feed.fetch(NEWS[:1], ["gen-1795813624173835425"]) == (1, 0)
    assert feed.fetch(NEWS[:1], ["gen-1795813624710007689"]) == (0, 0)
    assert feed.identity is ItemIdentity.LINK
    assert feed.fetch(NEWS[:1], ["gen-1795813625210020851"]) == (0, 0)
    assert feed.stored() == 1


def test_a_feed_of_one_item_always_linking_one_page_falls_back_to_link_and_title(
    feed: Feed,
) -> None:
    """Switched to links, each new item at the one page overwrote the one before (found by
    a review, session 21); kept on guids, its item was stored again on every fetch once
    the page held two."""
    page = "/aktuelles"
    assert feed.fetch([("Meldung A", page)], ["a"]) == (1, 0)
    assert feed.fetch([("Meldung B", page)], ["b"]) == (1, 0)
    assert feed.fetch([("Meldung B", page)], ["b-again"]) == (0, 0)
    assert feed.identity is ItemIdentity.LINK_TITLE
    assert feed.fetch([("Meldung B", page)], ["b-once-more"]) == (0, 0)
    assert feed.fetch([("Meldung C", page)], ["c"]) == (1, 0)
    titles = [s.item.title for s in feed.app.storage.recent_items(["kreis"], 10)]
    assert sorted(titles) == ["Meldung A", "Meldung B", "Meldung C"]


def test_a_feed_of_one_item_with_one_title_at_one_page_keeps_its_guids(feed: Feed) -> None:
    """Keyed by link and title, next week's item overwrote this week's as an update (found
    by a review, session 22): such a feed stores its item again once, and its news stays
    news."""
    title, page = "Aktuelles aus dem Landratsamt", "/aktuelles"

    def week(n: int, guid: str) -> tuple[int, int]:
        date = f"Mon, {n + 1:02d} Aug 2021 07:00:00 +0200"
        feed.region.add_route(
            FEED,
            Response(
                200,
                rss([(title, page)], [guid], date).replace(
                    b"mehr dazu", f"Woche {n}: mehr dazu".encode()
                ),
            ),
        )
        feed.clock.advance(timedelta(hours=2))
        (report,) = feed.app.run_cycle().summary.reports
        return report.new, report.updated

    assert week(1, "w1") == (1, 0)
    assert week(2, "w2") == (1, 0)
    week(2, "w2-again")  # this week's item under a new guid
    assert feed.identity is ItemIdentity.GUID
    assert week(3, "w3") == (1, 0)


def test_a_notice_of_one_title_and_link_with_a_new_date_and_guid_is_new(feed: Feed) -> None:
    notice = [("Sitzung des Kreistages", "/kreistag/sitzung")]
    assert feed.fetch(notice, ["sitzung-2021-08"]) == (1, 0)
    assert feed.fetch(notice, ["sitzung-2021-09"], date="Mon, 06 Sep 2021 07:00:00 +0200") == (
        1,
        0,
    )
    assert feed.identity is ItemIdentity.GUID
    assert feed.stored() == 2


def test_one_guid_repeated_for_every_item_falls_back_to_links(
    feed: Feed, caplog: pytest.LogCaptureFixture
) -> None:
    assert feed.fetch(NEWS, ["kreis-news"] * 3) == (3, 0)
    assert feed.identity is ItemIdentity.LINK
    # Already on the first fetch (nothing stored to look up), the admin is told why.
    assert "source kreis: its guids are not stable; its items are identified by link" in (
        caplog.text
    )
    # The next fetch, newest first and with one more item: no duplicates.
    more = [("Meisterfeier in Borna: 48 neue Meister", "/news/meister"), *NEWS[::-1]]
    assert feed.fetch(more, ["kreis-news"] * 4) == (1, 0)
    assert feed.stored() == 4
    # The source is healthy: the fallback is not a problem the admin must fix.
    assert feed.app.storage.source_states(["kreis"])["kreis"].last_error is None


def test_items_removed_before_the_guids_broke_stay_removed(feed: Feed) -> None:
    """Retention's tombstones kept the guids: once the source was keyed by link, the items
    it removed and still listed came back as new (found by a review, session 32)."""
    assert feed.fetch(NEWS, ["kreis-1", "kreis-2", "kreis-3"]) == (3, 0)
    removed = feed.app.storage.retire_items(datetime(2021, 9, 1, tzinfo=UTC), feed.clock())
    assert removed.items == 3 and feed.stored() == 0
    more = [("Meisterfeier in Borna: 48 neue Meister", "/news/meister"), *NEWS]
    assert feed.fetch(more, ["kreis-news"] * 4) == (1, 0)  # one guid for all: by link
    assert feed.identity is ItemIdentity.LINK
    assert feed.fetch(more, ["kreis-news"] * 4) == (0, 0)
    assert feed.stored() == 1


def test_empty_guids_identify_items_by_link(feed: Feed) -> None:
    assert feed.fetch(NEWS, ["", "", ""]) == (3, 0)
    edited = [("Radweg Grimma–Naunhof ist fertig", "/news/radweg")]
    assert feed.fetch([NEWS[0], *edited, NEWS[2]], ["", "", ""]) == (0, 1)
    assert feed.stored() == 3


def test_random_guids_and_one_link_for_all_fall_back_to_link_and_title(feed: Feed) -> None:
    same_page = [(title, "/aktuelles") for title, _ in NEWS]
    counter = itertools.count()
    assert feed.fetch(same_page, [f"r{next(counter)}" for _ in NEWS]) == (3, 0)
    assert feed.fetch(same_page, [f"r{next(counter)}" for _ in NEWS]) == (0, 0)
    assert feed.identity is ItemIdentity.LINK_TITLE
    assert feed.fetch(same_page[:2], [f"r{next(counter)}" for _ in range(2)]) == (0, 0)
    assert feed.stored() == 3


def test_stable_guids_stay_guids_when_links_change(feed: Feed) -> None:
    guids: list[str | None] = ["h-1", "h-2", "h-3"]
    assert feed.fetch(NEWS, guids) == (3, 0)
    # The site moved its articles: same guids, new links. Updates, not new items.
    moved = [(title, "/archiv" + link) for title, link in NEWS]
    assert feed.fetch(moved, guids) == (0, 3)
    assert feed.identity is ItemIdentity.GUID
    # One new item among known ones is simply new.
    assert feed.fetch([*moved, ("Neu", "/news/neu")], [*guids, "h-4"]) == (1, 0)


def test_keys_a_feed_chose_to_clash_with_ours_leave_the_cycle_alone(
    feed: Feed, region: SampleRegion
) -> None:
    # Two items at one link, and items whose guid is what the older of the two is renamed
    # to when guids turn out broken ("...#old-1"): the rename failed on the store's unique
    # key, and so did every later cycle, other sources' items never placed or published.
    page = "/news/doppelt"
    entries = [("Erste Fassung", page), ("Zweite Fassung", page)]
    guids: list[str | None] = ["g1", "g2"]
    for n in range(1, 15):
        entries.append((f"Meldung {n}", f"{page}#old-{n}"))
        guids.append(f"http://kreis.example{page}#old-{n}")
    assert feed.fetch(entries, guids) == (16, 0)
    # One guid for two items: the source falls back to links, and the stored items are
    # keyed anew.
    again = [("Neu 1", "/news/neu-1"), ("Neu 2", "/news/neu-2")]
    assert feed.fetch(again, ["dup", "dup"]) == (2, 0)
    assert feed.identity is ItemIdentity.LINK
    assert feed.stored() == 18
    assert feed.fetch(again, ["dup", "dup"]) == (0, 0)  # and the next cycle runs as usual


def test_ids_holding_any_character_are_keyed_anew_without_a_clash(
    feed: Feed, region: SampleRegion
) -> None:
    # A JSON Feed's ids may hold a NUL: ids like the store's passing keys while it renames.
    # Stored first, so that these items' ids are 1 and 2 ("\x001" and "\x002" were theirs
    # while renamed).
    items = [
        {"id": "g1", "url": "http://kreis.example/a", "title": "Alpha"},
        {"id": "g2", "url": "http://kreis.example/b", "title": "Beta"},
    ]
    items += [{"id": f"\u0000{n}", "title": f"Ohne Link {n}"} for n in range(1, 15)]

    def serve(entries: list[dict[str, str]]) -> None:
        document = {"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": entries}
        region.add_route(FEED, Response(200, json.dumps(document).encode()))

    serve(items)
    feed.clock.advance(timedelta(hours=2))
    (report,) = feed.app.run_cycle().summary.reports
    assert report.new == 16
    serve(
        [
            {"id": "dup", "url": "http://kreis.example/d", "title": "Delta"},
            {"id": "dup", "url": "http://kreis.example/e", "title": "Echo"},
        ]
    )
    feed.clock.advance(timedelta(hours=2))
    (report,) = feed.app.run_cycle().summary.reports
    assert report.error is None and report.new == 2
    assert feed.identity is ItemIdentity.LINK
    assert feed.stored() == 18


def test_a_listing_that_repeats_an_entry_keeps_its_links_as_keys(
    tmp_path: Path, region: SampleRegion, make_app: MakeApp, clock: Clock
) -> None:
    """A "top" box repeats the newest entry (same link and title, shorter, undated). Taken
    for broken guids, the source was keyed by link and title for good: the entry was
    stored twice, and a corrected headline became a new item beside the old one."""

    def entry(title: str, link: str, teaser: str, date: str = "") -> str:
        day = f'<span class="d">{date}</span>' if date else ""
        return f'<div class="n"><h3><a href="{link}">{title}</a></h3>{day}<p>{teaser}</p></div>'

    def listing(second_title: str) -> bytes:
        top = entry("Innovationspreis verliehen", "/p/1.html", "Kurz.")
        entries = [
            entry(
                "Innovationspreis verliehen",
                "/p/1.html",
                "Die Jury hat entschieden.",
                "10.06.2021",
            ),
            entry(second_title, "/p/2.html", "Zwei Studien beginnen.", "09.06.2021"),
        ]
        return f"<html><body>{top}{''.join(entries)}</body></html>".encode()

    sources = f"""
sources:
  - id: kreis
    name: Kreis
    kind: html
    url: "{region.url("/kreis/presse.html")}"
    html: {{item: div.n, title: h3, date: span.d, teaser: p}}
"""
    app = make_app(load_config(write_config(tmp_path / "config", sources)))

    def fetch(second_title: str) -> tuple[int, int]:
        region.add_route(
            "/kreis/presse.html",
            Response(200, listing(second_title), {"Content-Type": "text/html; charset=utf-8"}),
        )
        clock.advance(timedelta(hours=2))
        (report,) = app.run_cycle().summary.reports
        assert report.error is None and not report.warnings, report
        return report.new, report.updated

    assert fetch("Studien zu ländlichen Räumen") == (2, 0)
    state = app.storage.source_states(["kreis"])["kreis"]
    assert state.identity is ItemIdentity.GUID
    stored = {i.item.url: i.item for i in app.storage.recent_items(["kreis"], 10)}
    assert len(stored) == 2
    # The listed entry, with its date and teaser, not the top box's copy.
    first = stored[region.url("/p/1.html")]
    assert first.summary_text == "Die Jury hat entschieden." and not first.date_estimated
    assert fetch("Zwei Studien zu ländlichen Räumen gestartet") == (0, 1)
    titles = sorted(i.item.title for i in app.storage.recent_items(["kreis"], 10))
    assert titles == ["Innovationspreis verliehen", "Zwei Studien zu ländlichen Räumen gestartet"]
