"""WebSub: feeds advertise the hub, and the hub hears about every channel that changed."""

from __future__ import annotations

import json
import logging
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import feedparser
import pytest
from lxml import etree

from revier_feed.app import App
from revier_feed.config import AppConfig, load_config
from revier_feed.exceptions import PublishError

from .conftest import Clock

MakeApp = Callable[[AppConfig], App]
ATOM = "{http://www.w3.org/2005/Atom}"


class Hub:
    """A local WebSub hub that records the publish pings it receives."""

    def __init__(self) -> None:
        self.pings: list[dict[str, list[str]]] = []
        self.status = 204
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                assert self.headers["Content-Type"] == "application/x-www-form-urlencoded"
                hub.pings.append(form)
                self.send_response(hub.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hub"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def topics(self) -> list[str]:
        assert all(p["hub.mode"] == ["publish"] for p in self.pings)
        return sorted(url for p in self.pings for url in p["hub.url"])


@pytest.fixture
def hub() -> Iterator[Hub]:
    running = Hub()
    running.thread.start()
    yield running
    running.server.shutdown()
    running.server.server_close()


def with_hub(config: AppConfig, url: str) -> AppConfig:
    settings = config.config_dir / "settings.yaml"
    text = re.sub(r"(?m)^websub_hub: .*\n", "", settings.read_text("utf-8"))
    settings.write_text(text + f"websub_hub: {url}\n", "utf-8")
    return load_config(config.config_dir)


def feed_urls(app: App, channels: list[str]) -> list[str]:
    base = app.config.settings.site.public_base_url
    suffixes = (".rss.xml", ".atom.xml", ".json")
    return sorted(f"{base}feeds/{c}{s}" for c in channels for s in suffixes)


def test_every_feed_advertises_the_hub(
    demo_config: AppConfig, make_app: MakeApp, hub: Hub
) -> None:
    app = make_app(with_hub(demo_config, hub.url))
    app.run_cycle()
    feeds = app.config.output_dir / "feeds"
    for channel in app.channels():
        rss = etree.parse(str(feeds / f"{channel.id}.rss.xml")).getroot().find("channel")
        assert rss is not None
        assert rss.find(f"{ATOM}link[@rel='hub']").get("href") == hub.url  # type: ignore[union-attr]
        assert rss.find(f"{ATOM}link[@rel='self']") is not None
        atom = etree.parse(str(feeds / f"{channel.id}.atom.xml")).getroot()
        assert atom.find(f"{ATOM}link[@rel='hub']").get("href") == hub.url  # type: ignore[union-attr]
        document = json.loads((feeds / f"{channel.id}.json").read_text("utf-8"))
        assert document["hubs"] == [{"type": "WebSub", "url": hub.url}]
    parsed = feedparser.parse((feeds / "all.rss.xml").read_bytes())
    assert not parsed.bozo
    assert {"rel": "hub", "href": hub.url} in [
        {"rel": link.get("rel"), "href": link.get("href")} for link in parsed.feed.links
    ]


def test_without_a_hub_nothing_is_advertised(demo_config: AppConfig, make_app: MakeApp) -> None:
    app = make_app(demo_config)
    app.run_cycle()
    feeds = app.config.output_dir / "feeds"
    assert "hub" not in (feeds / "all.atom.xml").read_text("utf-8").replace("github", "")
    assert 'rel="hub"' not in (feeds / "all.rss.xml").read_text("utf-8")
    assert "hubs" not in json.loads((feeds / "all.json").read_text("utf-8"))


def test_the_hub_hears_about_changed_channels_only(
    demo_config: AppConfig, make_app: MakeApp, hub: Hub, clock: Clock
) -> None:
    app = make_app(with_hub(demo_config, hub.url))
    app.run_cycle()
    assert hub.topics() == feed_urls(app, [c.id for c in app.channels()])

    hub.pings.clear()
    clock.advance(timedelta(hours=1))
    app.publish()
    assert hub.pings == [], "nothing changed, nothing to announce"

    # A story split in two changes "all news" and the channels carrying that story.
    feeds = app.config.output_dir / "feeds"
    before = {p.name: p.read_bytes() for p in feeds.iterdir()}
    stored = next(
        s
        for s in app.storage.recent_items([x.id for x in app.config.sources], 100)
        if s.item.title.startswith("Roboter als Bewegungstrainer")
    )
    story = app.storage.story(stored.story_id or 0)
    assert story is not None and len(story.members) > 1, "a story reported by several sites"
    app.split_story(str(stored.id))
    changed = sorted(
        {p.name.split(".")[0] for p in feeds.iterdir() if p.read_bytes() != before[p.name]}
    )
    assert "all" in changed and "tag-robotik" in changed
    assert "tag-corona" not in changed
    assert hub.topics() == feed_urls(app, changed)


def test_the_hub_hears_of_the_channels_published_beside_one_that_failed(
    demo_config: AppConfig, make_app: MakeApp, hub: Hub, clock: Clock
) -> None:
    """One channel whose file cannot be replaced fails the publish after the others were
    written; they were never announced, the next publish finding them unchanged (a review
    found it)."""
    app = make_app(with_hub(demo_config, hub.url))
    app.run_cycle()
    blocked = app.config.output_dir / "feeds" / "tag-corona.rss.xml"
    blocked.unlink()
    blocked.mkdir()
    hub.pings.clear()
    settings = app.config.config_dir / "settings.yaml"
    settings.write_text(
        settings.read_text("utf-8").replace("title: ", "title: Neu - ", 1), "utf-8"
    )
    app.reconfigure(load_config(app.config.config_dir))
    with pytest.raises(PublishError) as failed:
        app.publish()
    assert str(failed.value).count("IsADirectoryError") == 1  # the cause said once
    assert feed_urls(app, ["all"])[0] in hub.topics()
    assert not any("tag-corona" in topic for topic in hub.topics())


def test_a_failing_hub_never_fails_the_publish(
    demo_config: AppConfig,
    make_app: MakeApp,
    hub: Hub,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub.status = 500
    app = make_app(with_hub(demo_config, hub.url))
    with caplog.at_level(logging.WARNING):
        result = app.run_cycle()
    assert result.published.written
    assert hub.pings, "it was tried"
    assert f"WebSub hub {hub.url} refused" in caplog.text

    caplog.clear()
    down = make_app(with_hub(demo_config, "http://127.0.0.1:9/hub"))  # nothing listens
    (down.config.output_dir / "feeds" / "all.json").unlink()
    with caplog.at_level(logging.WARNING):
        down.publish()
    assert (down.config.output_dir / "feeds" / "all.json").exists()
    assert "unreachable" in caplog.text
    assert caplog.text.count("WebSub hub") == 1, "one warning, not one per feed"
