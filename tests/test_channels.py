"""Channels: all news, configured ones, one per topic and district; RSS, Atom, JSON Feed, OPML."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from revier_feed.app import App
from revier_feed.config import AppConfig, load_config
from revier_feed.exceptions import ConfigError

from .conftest import write_config

MakeApp = Callable[[AppConfig], App]


@pytest.fixture
def published(demo_config: AppConfig, make_app: MakeApp) -> Path:
    make_app(demo_config).run_cycle()
    return demo_config.output_dir / "feeds"


def titles(path: Path) -> set[str]:
    return {e.title for e in feedparser.parse(path.read_bytes()).entries}


def test_tag_and_district_channels_carry_only_their_stories(published: Path) -> None:
    prize = titles(published / "tag-innovationspreis.rss.xml")
    assert "Roboter als Bewegungstrainer: tediro gewinnt Clusterpreis Life Sciences" in prize
    assert all("Corona" not in t and "Radweg" not in t for t in prize)
    district = titles(published / "district-landkreis-leipzig.rss.xml")
    assert "Radwegebau zwischen Grimma und Naunhof beginnt" in district
    assert (
        "Meisterfeier in Borna: Landkreis gratuliert 48 neuen Handwerksmeisterinnen und -meistern"
        in district
    )
    assert not any("Wohnungsmärkte" in t for t in district)
    assert titles(published / "district-nordsachsen.rss.xml") == set()  # valid, just empty


@pytest.mark.parametrize(
    ("channel", "page"),
    [
        ("all", "http://localhost:8000/"),
        ("strukturwandel", "http://localhost:8000/channels/strukturwandel.html"),
        ("tag-robotik", "http://localhost:8000/channels/tag-robotik.html"),
        (
            "district-burgenlandkreis",
            "http://localhost:8000/channels/district-burgenlandkreis.html",
        ),
    ],
)
def test_each_channel_s_feeds_link_its_own_page(published: Path, channel: str, page: str) -> None:
    """A reader's "open the website" of the Robotik feed led to all news (found by reading
    the feeds in newsboat, session 39)."""
    assert feedparser.parse((published / f"{channel}.rss.xml").read_bytes()).feed.link == page
    assert feedparser.parse((published / f"{channel}.atom.xml").read_bytes()).feed.link == page
    document = json.loads((published / f"{channel}.json").read_text(encoding="utf-8"))
    assert document["home_page_url"] == page
    listed = etree.parse(str(published / "feeds.opml")).getroot()
    (outline,) = [
        o for o in listed.iter("outline") if o.get("xmlUrl", "").endswith(f"/{channel}.rss.xml")
    ]
    assert outline.get("htmlUrl") == page
    # The page is there to be opened.
    local = page.removeprefix("http://localhost:8000/") or "index.html"
    assert (published.parent / local).exists()


def test_configured_channel_filter(published: Path, demo_config: AppConfig) -> None:
    channel = next(c for c in demo_config.channels if c.id == "strukturwandel")
    wanted = set(channel.filter.tags)
    parsed = feedparser.parse((published / "strukturwandel.atom.xml").read_bytes())
    assert parsed.feed.title == channel.title
    assert parsed.entries
    for entry in parsed.entries:
        assert wanted & {t.term for t in entry.tags}, entry.title


def test_json_feed_matches_the_atom_feed(published: Path) -> None:
    document = json.loads((published / "all.json").read_text(encoding="utf-8"))
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["feed_url"] == "http://localhost:8000/feeds/all.json"
    atom = feedparser.parse((published / "all.atom.xml").read_bytes())
    assert [i["id"] for i in document["items"]] == [e.id for e in atom.entries]
    tediro = next(i for i in document["items"] if "tediro" in i["title"])
    assert "Auch berichtet von:" in tediro["content_html"]
    assert "Life Sciences" in tediro["tags"]


def test_opml_lists_every_channel(published: Path, demo_config: AppConfig) -> None:
    outlines = etree.parse(str(published / "feeds.opml")).getroot().findall("body/outline")
    urls = [o.get("xmlUrl") for o in outlines]
    expected = 1 + len(demo_config.channels) + len(demo_config.tags) + len(demo_config.districts)
    assert len(urls) == expected
    for url in urls:
        assert url is not None and url.startswith("http://localhost:8000/feeds/")
        assert (published / url.rsplit("/", 1)[-1]).is_file()


def test_built_in_channels_can_be_switched_off(tmp_path: Path, make_app: MakeApp) -> None:
    folder = write_config(
        tmp_path,
        "sources: []\n",
        tags="tags: [{id: handwerk, label: Handwerk, any: [Handwerk*]}]\n",
        channels="""
        tag_channels: false
        district_channels: false
        channels:
          - id: handwerk-kanal
            title: Handwerk
        """,
    )
    app = make_app(load_config(folder))
    assert [c.id for c in app.channels()] == ["all", "handwerk-kanal"]


def test_built_in_channel_ids_are_reserved(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path, "sources: []\n", channels="channels: [{id: tag-handwerk, title: H}]\n"
    )
    with pytest.raises(ConfigError, match="'tag-handwerk' is taken by a built-in channel"):
        load_config(folder)


def test_rss_names_each_entry_s_source_as_its_author_as_atom_does(published: Path) -> None:
    """RSS's <author> takes an email address, so RSS entries had no author where Atom's had
    the source's name (newsboat showed it for one and not the other, session 39)."""
    rss = feedparser.parse((published / "all.rss.xml").read_bytes())
    atom = feedparser.parse((published / "all.atom.xml").read_bytes())
    assert rss.entries and [e.author for e in rss.entries] == [e.author for e in atom.entries]
    assert "Bundesinstitut für Bau-, Stadt- und Raumforschung (BBSR)" in {
        e.author for e in rss.entries
    }
