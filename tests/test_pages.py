"""The news pages: what a reader sees on index.html and the channel pages."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup

from revier_feed.app import App
from revier_feed.config import AppConfig
from revier_feed.publish.pages import german_date

from .conftest import Clock

MakeApp = Callable[[AppConfig], App]


def published(config: AppConfig, make_app: MakeApp) -> tuple[App, Path]:
    app = make_app(config)
    app.run_cycle()
    return app, config.output_dir


def page(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_bytes(), "html.parser")


def json_feed(out: Path, channel: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "feeds" / f"{channel}.json").read_text("utf-8"))
    return data


def test_german_dates_do_not_depend_on_the_locale() -> None:
    assert german_date(date(2021, 6, 10)) == "Donnerstag, 10. Juni 2021"
    assert german_date(date(2021, 3, 1)) == "Montag, 1. März 2021"
    assert german_date(date(2026, 11, 29)) == "Sonntag, 29. November 2026"


def test_index_lists_the_stories_of_all_news_grouped_by_day(
    demo_config: AppConfig, make_app: MakeApp, expected_items: list[dict[str, Any]]
) -> None:
    _, out = published(demo_config, make_app)
    doc = page(out / "index.html")
    titles = [a.get_text() for a in doc.select("article h3")]
    # The same stories, in the same order, as the "all news" feed: one entry per story.
    assert titles == [i["title"] for i in json_feed(out, "all")["items"]]
    assert len(titles) == len({i["story"] for i in expected_items})
    headings = [h.get_text() for h in doc.select("section.day > h2")]
    assert headings[0] == "Dienstag, 20. Juli 2021"
    assert len(headings) == len(set(headings)), "each day once"
    days = [h.get("datetime") for h in doc.select("section.day > h2 time")]
    assert days == sorted(days, reverse=True)
    for section in doc.select("section.day"):
        day = section.select("h2 time")[0].get("datetime")
        for stamp in section.select("article .meta time"):
            assert stamp.get("datetime").startswith(day)


def test_a_story_from_several_sites_names_the_others(
    demo_config: AppConfig, make_app: MakeApp
) -> None:
    _, out = published(demo_config, make_app)
    doc = page(out / "index.html")
    also = doc.select("p.also")
    assert also, "the sample region has stories reported by several sites"
    text = " ".join(p.get_text() for p in also)
    assert "Auch berichtet von: " in text
    assert "Landkreis Leipzig" in text
    hrefs = [a.get("href") for p in also for a in p.find_all("a")]
    assert hrefs and all(href.startswith("http://127.0.0.1:") for href in hrefs)


def test_tags_and_districts_link_to_channel_pages_with_their_stories(
    demo_config: AppConfig, make_app: MakeApp
) -> None:
    _, out = published(demo_config, make_app)
    doc = page(out / "index.html")
    links = {a.get_text(): a.get("href") for a in doc.select("ul.terms a")}
    assert links["Robotik"] == "channels/tag-robotik.html"
    assert links["Landkreis Leipzig"] == "channels/district-landkreis-leipzig.html"
    for channel in ("tag-robotik", "district-landkreis-leipzig"):
        channel_page = page(out / "channels" / f"{channel}.html")
        ids = [a.get("id") for a in channel_page.select("article")]
        feed_ids = [i["id"].rsplit("/", 1)[1] for i in json_feed(out, channel)["items"]]
        assert ids and ids == [f"s{n}" for n in feed_ids]
        # Links from a channel page lead back up to the other pages and the feeds.
        hrefs = {a.get("href") for a in channel_page.select("a")}
        assert "../index.html" in hrefs and f"../feeds/{channel}.rss.xml" in hrefs
        for href in hrefs:
            if not href.startswith("http"):
                assert (out / "channels" / href).resolve().is_file(), href


def test_every_page_advertises_its_feeds_for_autodiscovery(
    demo_config: AppConfig, make_app: MakeApp
) -> None:
    app, out = published(demo_config, make_app)
    pages = [out / "index.html", *sorted((out / "channels").glob("*.html"))]
    assert len(pages) == len(app.channels())
    for path in pages:
        doc = page(path)
        alternates = {
            link.get("type"): (path.parent / link.get("href")).resolve()
            for link in doc.select("head link[rel=alternate]")
        }
        assert set(alternates) == {
            "application/rss+xml",
            "application/atom+xml",
            "application/feed+json",
        }
        channel = "all" if path.name == "index.html" else path.stem
        assert alternates["application/rss+xml"] == out / "feeds" / f"{channel}.rss.xml"
        assert all(target.is_file() for target in alternates.values())


def test_pages_need_no_script_and_nothing_from_elsewhere(
    demo_config: AppConfig, make_app: MakeApp
) -> None:
    _, out = published(demo_config, make_app)
    for path in [out / "index.html", *(out / "channels").glob("*.html")]:
        doc = page(path)
        assert not doc.select("script, iframe, object, embed, img, link[rel=stylesheet]")
        assert not [e for e in doc.find_all(True) if any(a.startswith("on") for a in e.attrs)]
        assert doc.select("meta[name=viewport]"), "readable on a phone"
        assert doc.html is not None and doc.html.get("lang") == "de"
        policy = doc.select("meta[http-equiv=Content-Security-Policy]")[0].get("content")
        assert "default-src 'none'" in policy


def test_republishing_without_news_leaves_pages_untouched(
    demo_config: AppConfig, make_app: MakeApp, clock: Clock
) -> None:
    app, out = published(demo_config, make_app)
    pages = [out / "index.html", *(out / "channels").glob("*.html")]
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in pages}
    clock.advance(timedelta(days=3))
    result = app.publish()
    assert not [p for p in result.written if p.suffix == ".html"]
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in pages} == before


def test_a_change_renders_only_the_channels_it_touches(
    demo_config: AppConfig, make_app: MakeApp, clock: Clock
) -> None:
    app, out = published(demo_config, make_app)
    feeds = out / "feeds"
    before = {p: p.stat().st_mtime_ns for p in feeds.iterdir()}
    stored = next(
        s
        for s in app.storage.recent_items([x.id for x in app.config.sources], 100)
        if s.item.title.startswith("Roboter als Bewegungstrainer")
    )
    clock.advance(timedelta(hours=1))
    app.split_story(str(stored.id))
    touched = {p.name.split(".")[0] for p in feeds.iterdir() if p.stat().st_mtime_ns != before[p]}
    assert {"all", "tag-robotik"} <= touched
    assert "tag-corona" not in touched
    # The page follows the feed: the same stories, the moved item's story once.
    robotik = page(out / "channels" / "tag-robotik.html")
    titles = [a.get_text() for a in robotik.select("article h3")]
    assert (
        titles.count("Roboter als Bewegungstrainer: tediro gewinnt Clusterpreis Life Sciences")
        == 1
    )
    assert len(titles) == len(json_feed(out, "tag-robotik")["items"])
    # A publishing state that is lost or garbled only means everything is rendered again.
    (out / ".revier-feed-published.json").write_text("{kaputt", encoding="utf-8")
    result = app.publish()
    assert result.written == ()
