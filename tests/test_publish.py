"""Published feeds: complete, valid-shaped, stable, safe, and rewritten only on change."""

from __future__ import annotations

import email.utils
import zlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
from lxml import etree

from revier_feed.app import App
from revier_feed.config import AppConfig
from revier_feed.demo.server import Response, SampleRegion

from .conftest import Clock

MakeApp = Callable[[AppConfig], App]
ATOM = "{http://www.w3.org/2005/Atom}"


def published_app(config: AppConfig, make_app: MakeApp) -> tuple[App, Path, Path]:
    app = make_app(config)
    app.run_cycle()
    feeds = config.output_dir / "feeds"
    return app, feeds / "all.rss.xml", feeds / "all.atom.xml"


def test_feeds_round_trip_through_a_feed_reader(
    demo_config: AppConfig, make_app: MakeApp, expected_items: list[dict[str, Any]]
) -> None:
    _, rss_path, atom_path = published_app(demo_config, make_app)
    for path, version in ((rss_path, "rss20"), (atom_path, "atom10")):
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert parsed.version == version
        assert parsed.feed.title == "Revier-News Mitteldeutschland (Demo)"
        assert parsed.feed.language == "de"
        # One entry per story, titled by one of its members.
        stories = {i["story"] for i in expected_items}
        assert len(parsed.entries) == len(stories)
        story_of = {i["title"]: i["story"] for i in expected_items}
        assert {story_of[e.title] for e in parsed.entries} == stories
        dates = [e.published_parsed for e in parsed.entries]
        assert dates == sorted(dates, reverse=True), "newest first"
        ids = [e.id for e in parsed.entries]
        assert len(set(ids)) == len(ids)
        assert all(i.startswith("tag:localhost,2026:story/") for i in ids)
    text = rss_path.read_text(encoding="utf-8")
    assert "Ländliche Räume" in text or "ländliche" in text  # UTF-8 umlauts, not entities
    assert "&#" not in text


def test_an_item_s_picture_reaches_feed_readers(
    tmp_path: Path, region: SampleRegion, make_app: MakeApp
) -> None:
    """The `image` selector's picture, and a feed's enclosure, were stored but published in
    no feed."""
    import json

    from revier_feed.config import load_config

    from .conftest import write_config

    page = (
        "<html><body><div class='n'><h3><a href='/p/1.html'>Innovationspreis verliehen</a>"
        "</h3><span>10.06.2021</span><img src='/bilder/preis.jpg'></div>"
        "<div class='n'><h3><a href='/p/2.html'>Studien zu ländlichen Räumen</a></h3>"
        "<span>09.06.2021</span></div></body></html>"
    )
    region.add_route(
        "/kreis/liste.html", Response(200, page.encode(), {"Content-Type": "text/html"})
    )
    sources = f"""
        sources:
          - id: kreis
            name: Kreis
            kind: html
            url: "{region.url("/kreis/liste.html")}"
            html: {{item: div.n, title: h3, date: span, image: img@src}}
    """
    config = load_config(write_config(tmp_path, sources))
    _, rss_path, atom_path = published_app(config, make_app)
    picture = region.url("/bilder/preis.jpg")
    for path in (rss_path, atom_path):
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, parsed.get("bozo_exception")
        by_title = {e.title: e for e in parsed.entries}
        with_picture = by_title["Innovationspreis verliehen"]
        assert with_picture.media_content == [
            {"url": picture, "type": "image/jpeg", "medium": "image"}
        ]
        assert with_picture.media_thumbnail == [{"url": picture}]
        assert "media_content" not in by_title["Studien zu ländlichen Räumen"]
    document = json.loads((rss_path.parent / "all.json").read_text(encoding="utf-8"))
    assert [item.get("image") for item in document["items"]] == [picture, None]


def test_rss_has_what_the_validator_requires(demo_config: AppConfig, make_app: MakeApp) -> None:
    _, rss_path, _ = published_app(demo_config, make_app)
    channel = etree.parse(str(rss_path)).getroot().find("channel")
    assert channel is not None
    self_link = channel.find(f"{ATOM}link")
    assert self_link is not None and self_link.get("rel") == "self"
    assert self_link.get("href") == "http://localhost:8000/feeds/all.rss.xml"
    assert channel.findtext("link") == "http://localhost:8000/"
    assert channel.findtext("language") == "de"
    for item in channel.iter("item"):
        for required in ("title", "link", "guid", "pubDate", "description", "source"):
            assert item.find(required) is not None, required
        guid = item.find("guid")
        assert guid is not None and guid.get("isPermaLink") == "false"
        # RFC 822 with a numeric zone (the validator rejects ISO dates in RSS).
        assert email.utils.parsedate_to_datetime(item.findtext("pubDate") or "").tzinfo
        source = item.find("source")
        assert source is not None and source.get("url", "").startswith("http://127.0.0.1:")


def test_atom_entries_are_complete(demo_config: AppConfig, make_app: MakeApp) -> None:
    _, _, atom_path = published_app(demo_config, make_app)
    root = etree.parse(str(atom_path)).getroot()
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "de"
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == (  # type: ignore[union-attr]
        "http://localhost:8000/feeds/all.atom.xml"
    )
    for entry in root.iter(f"{ATOM}entry"):
        for required in ("id", "title", "updated", "published", "author", "link", "summary"):
            assert entry.find(f"{ATOM}{required}") is not None, required
        # RFC 4287 4.2.11: a copied entry names its source feed with id, title and updated.
        for required in ("id", "title", "updated"):
            assert entry.find(f"{ATOM}source/{ATOM}{required}") is not None, required


def test_republishing_without_news_leaves_files_untouched(
    demo_config: AppConfig, make_app: MakeApp, clock: Clock
) -> None:
    app, rss_path, atom_path = published_app(demo_config, make_app)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (rss_path, atom_path)}
    clock.advance(timedelta(days=3))
    result = app.publish()
    assert result.written == ()
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (rss_path, atom_path)} == before
    assert not [p.name for p in rss_path.parent.iterdir() if p.name.endswith(".tmp")]

    # Deleted output is rebuilt byte for byte: ids and dates depend on items, not on the clock.
    rss_path.unlink()
    app.publish()
    assert rss_path.read_bytes() == before[rss_path][0]


def test_hostile_item_text_never_reaches_the_feeds(
    demo_config: AppConfig, make_app: MakeApp, region: SampleRegion
) -> None:
    hostile = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Messe</title><link>http://x/</link><description>d</description>
<item><title>Messe &lt;script&gt;alert(1)&lt;/script&gt; startet</title>
<link>javascript:alert(2)</link>
<description><![CDATA[<p onclick="alert(3)">Text<script>alert(4)</script>
<a href="javascript:alert(5)">x</a><img src=x onerror="alert(6)">
<iframe src="//evil"></iframe></p>]]></description>
<pubDate>Thu, 10 Jun 2021 10:00:00 +0200</pubDate></item>
</channel></rss>"""
    region.add_route("/leipziger-messe/presse/rss.xml", Response(200, hostile))
    _, rss_path, _ = published_app(demo_config, make_app)
    out = demo_config.output_dir
    pages = [out / "index.html", *(out / "channels").glob("*.html")]
    outputs = [*(out / "feeds").iterdir(), *pages]
    for path in outputs:
        text = path.read_text(encoding="utf-8")
        for n in range(1, 7):
            assert f"alert({n})" not in text, (path.name, n)
        assert "iframe" not in text and "onclick" not in text and "onerror" not in text
        assert "<script" not in text.lower(), path.name
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "<h3>Messe startet</h3>" in index, "shown as text, without a javascript: link"
    parsed = feedparser.parse(rss_path.read_bytes())
    assert any(e.title == "Messe startet" for e in parsed.entries)


def test_a_title_whose_text_looks_like_markup_stays_text_in_every_reader(
    demo_config: AppConfig, make_app: MakeApp, region: SampleRegion
) -> None:
    """Escaped twice at the source, "<img onerror>" is the title's *text*; RSS readers that
    render titles as HTML (many do) would run it, so RSS escapes it once more. So did
    readers that put Atom's text titles into their page as HTML (found with a browser,
    session 40): Atom says it is HTML, escaped, which every reader shows as the text."""
    feed = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Messe</title><link>http://x/</link><description>d</description>
<item><title>&amp;lt;img src=x onerror=alert(1)&amp;gt; Messe</title>
<link>https://messe.example/a</link><pubDate>Thu, 10 Jun 2021 10:00:00 +0200</pubDate></item>
<item><title>Herz &amp;lt;3 f\xc3\xbcr Zeitz</title>
<link>https://messe.example/b</link><pubDate>Thu, 10 Jun 2021 11:00:00 +0200</pubDate></item>
</channel></rss>"""
    region.add_route("/leipziger-messe/presse/rss.xml", Response(200, feed))
    _, rss_path, atom_path = published_app(demo_config, make_app)
    titles = {e.title for e in feedparser.parse(rss_path.read_bytes()).entries}
    # A reader that takes the RSS title as HTML sees text, no element.
    assert "&lt;img src=x onerror=alert(1)&gt; Messe" in titles
    assert "Herz <3 für Zeitz" in titles, "text without a tag-like '<' is left alone"
    rss = etree.fromstring(rss_path.read_bytes())
    assert "&lt;img src=x onerror=alert(1)&gt; Messe" in rss.xpath("//item/title/text()")
    atom = etree.fromstring(atom_path.read_bytes())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titled = {t.text: t.get("type") for t in atom.xpath("//a:entry/a:title", namespaces=ns)}
    assert titled["&lt;img src=x onerror=alert(1)&gt; Messe"] == "html"
    assert titled["Herz <3 für Zeitz"] is None  # text, as Atom's default is
    read = {e.title for e in feedparser.parse(atom_path.read_bytes()).entries}
    assert {"&lt;img src=x onerror=alert(1)&gt; Messe", "Herz <3 für Zeitz"} <= read


def test_news_collected_with_an_older_date_reaches_a_full_feed(
    tmp_path: Path, region: SampleRegion, make_app: MakeApp, clock: Clock
) -> None:
    """The feed's newest `max_items` stories by date left out news that came late with an
    earlier date (a listing that names only the day, a site back after a weekend): readers
    polling the feed never saw it (found by a subscribers' probe, session 37). It is in,
    shown by its date."""
    from revier_feed.config import load_config

    from .conftest import write_config

    def rss(*entries: tuple[str, str]) -> bytes:
        items = "".join(
            f"<item><title>{title}</title><link>http://kreis.example/{title.split()[0]}</link>"
            f"<description>{title}: mehr dazu auf der Website des Kreises.</description>"
            f"<pubDate>{date}</pubDate></item>"
            for title, date in entries
        )
        return f'<rss version="2.0"><channel><title>K</title>{items}</channel></rss>'.encode()

    first = [
        ("Kreistag beschließt den Haushalt 2021", "Mon, 02 Aug 2021 07:00:00 +0200"),
        ("Radweg zwischen Grimma und Naunhof eröffnet", "Sun, 01 Aug 2021 07:00:00 +0200"),
    ]
    region.add_route("/k.xml", Response(200, rss(*first)))
    settings = """
        storage: {path: state/store.sqlite3}
        output: {dir: out, max_items: 2}
    """
    sources = f'sources:\n  - {{id: kreis, name: Kreis, url: "{region.url("/k.xml")}"}}\n'
    app, rss_path, _ = published_app(
        load_config(write_config(tmp_path, sources, settings)), make_app
    )
    late = ("Meisterfeier in Borna: 48 neue Meister", "Sat, 31 Jul 2021 18:00:00 +0200")
    region.add_route("/k.xml", Response(200, rss(*first, late)))
    clock.advance(timedelta(hours=3))
    (report,) = app.run_cycle().summary.reports
    assert report.new == 1
    titles = [e.title for e in feedparser.parse(rss_path.read_bytes()).entries]
    assert titles == [first[0][0], late[0]]


def test_an_entry_is_updated_when_a_republication_joins_its_story(
    demo_config: AppConfig, make_app: MakeApp
) -> None:
    """A member that joins later adds a link and may lead the story (its title, its link):
    the entry's `updated` stayed at the first member's, and readers that go by it missed the
    change (found by the subscribers' probe, session 37). Members that came together do not
    move it."""
    from datetime import UTC, datetime

    from revier_feed.models import StoredItem, Story
    from revier_feed.publish.feeds import render

    from .conftest import make_item

    app = make_app(demo_config)
    channel = next(c for c in app.channels() if c.id == "all")
    published = datetime(2021, 6, 10, 8, 0, tzinfo=UTC)
    came = datetime(2021, 6, 10, 9, 0, tzinfo=UTC)
    first = StoredItem(1, make_item(key="a", published_at=published), came, came)
    # Seen seconds later, in the same cycle.
    seconds_later = came + timedelta(seconds=20)
    together = StoredItem(
        2, make_item(source_id="b", key="b", published_at=published), seconds_later, seconds_later
    )
    joined_at = datetime(2021, 6, 12, 15, 30, tzinfo=UTC)
    # Dated before the first: it leads the story from now on.
    late = StoredItem(
        3,
        make_item(
            source_id="c",
            key="c",
            title="Neu betitelt",
            published_at=published - timedelta(hours=3),
        ),
        joined_at,
        joined_at,
    )

    def updated(*members: StoredItem) -> str:
        atom = render(channel, [Story(7, tuple(members))], app.tz)["atom"]
        entry = etree.fromstring(atom).find(f"{ATOM}entry")
        assert entry is not None
        return entry.findtext(f"{ATOM}updated") or ""

    assert updated(first, together) == published.astimezone(app.tz).isoformat()
    assert updated(late, first, together) == joined_at.astimezone(app.tz).isoformat()


def _press_feed(files_of_second: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>BBSR</title><link>https://bbsr.example/</link>
<item><title>Bericht zu ländlichen Räumen erschienen</title>
<link>https://bbsr.example/presse/bericht.html</link><guid>pm-11</guid>
<pubDate>Thu, 10 Jun 2021 09:00:00 +0200</pubDate>
<description>Der Bericht zeigt, wie sich ländliche Räume entwickeln.</description>
<enclosure url="/dokumente/bericht-2021.pdf" length="1843200" type="application/pdf"/>
</item>
<item><title>Podcast: Corona und die Metropolregionen</title>
<link>https://bbsr.example/presse/podcast.html</link><guid>pm-12</guid>
<pubDate>Wed, 09 Jun 2021 11:00:00 +0200</pubDate>
<description>Ein Gespräch über die Folgen der Pandemie.</description>{files_of_second}
</item></channel></rss>""".encode()


def test_a_feed_s_files_reach_feed_readers_also_when_added_later(
    tmp_path: Path, region: SampleRegion, make_app: MakeApp, clock: Clock
) -> None:
    """Enclosures (a press release's PDF, a podcast's episode) were dropped: subscribers
    had the news without its file. RSS carries the first as its one <enclosure>, the
    others as Media RSS; Atom and JSON Feed all. A file added to an item later is
    published with the next fetch, without marking the entry updated."""
    import json

    from revier_feed.config import load_config

    from .conftest import write_config

    def serve(files_of_second: str) -> None:
        region.add_route(
            "/bbsr/feed.xml",
            Response(200, _press_feed(files_of_second), {"Content-Type": "application/xml"}),
        )

    serve("")
    sources = f"""
        sources:
          - id: bbsr
            name: BBSR
            url: "{region.url("/bbsr/feed.xml")}"
    """
    config = load_config(write_config(tmp_path, sources))
    app, rss_path, atom_path = published_app(config, make_app)
    report = region.url("/dokumente/bericht-2021.pdf")  # relative to the feed
    for path in (rss_path, atom_path):
        entries = {e.title: e for e in feedparser.parse(path.read_bytes()).entries}
        (file,) = entries["Bericht zu ländlichen Räumen erschienen"].enclosures
        assert (file.href, file.type, file.length) == (report, "application/pdf", "1843200")
        assert not entries["Podcast: Corona und die Metropolregionen"].enclosures
    atom_before = atom_path.read_bytes()

    serve(
        '\n<enclosure url="https://bbsr.example/audio/folge-3.mp3" length="0" type="audio/mpeg"/>'
        '\n<enclosure url="https://bbsr.example/dokumente/transkript.pdf" length="5120"'
        ' type="application/pdf"/>'
    )
    clock.advance(timedelta(hours=2))
    app.run_cycle()
    episode = "https://bbsr.example/audio/folge-3.mp3"
    transcript = "https://bbsr.example/dokumente/transkript.pdf"
    rss = etree.parse(str(rss_path)).getroot()
    podcast = next(i for i in rss.iter("item") if i.findtext("title", "").startswith("Podcast"))
    enclosures = podcast.findall("enclosure")
    assert [dict(e.attrib) for e in enclosures] == [
        {"url": episode, "length": "0", "type": "audio/mpeg"}
    ]
    media = podcast.findall("{http://search.yahoo.com/mrss/}content")
    assert [dict(m.attrib) for m in media] == [
        {"url": transcript, "fileSize": "5120", "type": "application/pdf"}
    ]
    atom = feedparser.parse(atom_path.read_bytes())
    entry = next(e for e in atom.entries if e.title.startswith("Podcast"))
    assert [(f.href, f.type) for f in entry.enclosures] == [
        (episode, "audio/mpeg"),
        (transcript, "application/pdf"),
    ]
    # The file is published; the entry's text did not change, so it is not "updated".
    before = next(
        e for e in feedparser.parse(atom_before).entries if e.title.startswith("Podcast")
    )
    assert entry.updated == before.updated
    document = json.loads((rss_path.parent / "all.json").read_text(encoding="utf-8"))
    by_title = {item["title"]: item for item in document["items"]}
    assert by_title["Podcast: Corona und die Metropolregionen"]["attachments"] == [
        {"url": episode, "mime_type": "audio/mpeg"},
        {"url": transcript, "mime_type": "application/pdf", "size_in_bytes": 5120},
    ]
    assert by_title["Bericht zu ländlichen Räumen erschienen"]["attachments"] == [
        {"url": report, "mime_type": "application/pdf", "size_in_bytes": 1843200}
    ]
    from bs4 import BeautifulSoup

    index = BeautifulSoup((config.output_dir / "index.html").read_bytes(), "html.parser")
    assert [(a.get_text(), a["href"]) for a in index.select("article ul.files a")] == [
        ("bericht-2021.pdf (PDF, 1,8 MB)", report),
        ("folge-3.mp3 (MP3)", episode),
        ("transkript.pdf (PDF, 5,1 KB)", transcript),
    ]
    # Named in the entry's text too: newsboat, for one, shows no enclosure but a podcast's
    # (found by reading the feeds in newsboat, session 39).
    named = f'<p>Anhang: <a href="{report}">bericht-2021.pdf (PDF, 1,8 MB)</a></p>'
    rss_entries = {e.title: e for e in feedparser.parse(rss_path.read_bytes()).entries}
    assert named in rss_entries["Bericht zu ländlichen Räumen erschienen"].summary
    atom_entries = {e.title: e for e in feedparser.parse(atom_path.read_bytes()).entries}
    assert named in atom_entries["Bericht zu ländlichen Räumen erschienen"].summary
    assert named in by_title["Bericht zu ländlichen Räumen erschienen"]["content_html"]
    assert "<p>Anhänge: <a" in rss_entries["Podcast: Corona und die Metropolregionen"].summary


def test_the_site_s_icon_is_the_feeds_and_pages_icon(
    demo_config: AppConfig, make_app: MakeApp
) -> None:
    """Feed readers showed a blank square for every channel: the feeds named no icon, and
    the pages, whose address readers look for one at, had none."""
    import json

    from bs4 import BeautifulSoup

    _, rss_path, atom_path = published_app(demo_config, make_app)
    out = demo_config.output_dir
    icon = "http://localhost:8000/icon.png"
    assert (out / "icon.png").read_bytes() == (demo_config.config_dir / "icon.png").read_bytes()
    channel = etree.parse(str(rss_path)).getroot().find("channel")
    assert channel is not None
    image = channel.find("image")
    assert image is not None
    assert (image.findtext("url"), image.findtext("title"), image.findtext("link")) == (
        icon,
        channel.findtext("title"),
        channel.findtext("link"),
    )
    atom = etree.parse(str(atom_path)).getroot()
    assert atom.findtext(f"{ATOM}icon") == icon
    assert atom.find(f"{ATOM}logo") is None  # a logo is to be twice as wide as high
    document = json.loads((out / "feeds" / "all.json").read_text(encoding="utf-8"))
    assert document["icon"] == document["favicon"] == icon
    for page, href in (
        (out / "index.html", "icon.png"),
        (out / "channels" / "strukturwandel.html", "../icon.png"),
    ):
        head = BeautifulSoup(page.read_bytes(), "html.parser").head
        assert head is not None
        link = head.find("link", rel="icon")
        assert link is not None and link["href"] == href
        assert "img-src 'self'" in str(
            head.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
        )

    # A new picture of the same kind goes out with the next publish (the configuration
    # loaded anew, as `reload` does), news or not.
    from revier_feed.config import load_config

    picture = demo_config.config_dir / "icon.png"
    png = picture.read_bytes()
    comment = b"tEXtComment\x00neu"
    text_chunk = (
        len(comment[4:]).to_bytes(4, "big") + comment + zlib.crc32(comment).to_bytes(4, "big")
    )
    picture.write_bytes(png[:-12] + text_chunk + png[-12:])
    assert make_app(load_config(demo_config.config_dir)).publish().written == (out / "icon.png",)
    assert (out / "icon.png").read_bytes() == picture.read_bytes() != png
    # Another kind replaces it; none removes it.
    gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
    (demo_config.config_dir / "kreis.gif").write_bytes(gif)
    settings = demo_config.config_dir / "settings.yaml"
    settings.write_text(settings.read_text("utf-8").replace("icon.png", "kreis.gif"), "utf-8")
    make_app(load_config(demo_config.config_dir)).publish()
    assert (out / "icon.gif").read_bytes() == gif and not (out / "icon.png").exists()
    settings.write_text(settings.read_text("utf-8").replace("  icon: kreis.gif\n", ""), "utf-8")
    make_app(load_config(demo_config.config_dir)).publish()
    assert not (out / "icon.gif").exists()
    assert "<image>" not in rss_path.read_text("utf-8")


def test_links_go_into_the_feeds_as_uris_and_a_document_is_the_enclosure(
    demo_config: AppConfig, make_app: MakeApp
) -> None:
    """An item link with umlauts or TYPO3's brackets ("?tx_news_pi1[news]=12") failed the
    W3C validator in RSS and Atom; a press photo listed before the PDF became RSS's one
    enclosure (found by a review)."""
    import json
    from datetime import UTC, datetime

    from revier_feed.models import Attachment, StoredItem, Story
    from revier_feed.publish.feeds import render

    from .conftest import make_item

    app = make_app(demo_config)
    channel = next(c for c in app.channels() if c.id == "all")
    link = "https://www.zörbig.example/index.php?id=5&tx_news_pi1[news]=12"
    uri = "https://www.xn--zrbig-jua.example/index.php?id=5&tx_news_pi1%5Bnews%5D=12"
    files = (
        Attachment("https://k.example/pressefoto.jpg", "image/jpeg", 9),
        Attachment("https://k.example/pm.pdf", "application/pdf", 5),
    )
    at = datetime(2021, 6, 10, 8, 0, tzinfo=UTC)
    item = make_item(url=link, image="https://k.example/Brücke.jpg", attachments=files)
    documents = render(channel, [Story(3, (StoredItem(1, item, at, at),))], app.tz)
    rss = etree.fromstring(documents["rss"]).find("channel/item")
    assert rss is not None
    assert rss.findtext("link") == uri
    enclosure = rss.find("enclosure")
    assert enclosure is not None and enclosure.get("url") == "https://k.example/pm.pdf"
    media = "{http://search.yahoo.com/mrss/}"
    assert [c.get("url") for c in rss.findall(f"{media}content")] == [
        "https://k.example/Br%C3%BCcke.jpg",
        "https://k.example/pressefoto.jpg",
    ]
    atom = etree.fromstring(documents["atom"]).find(f"{ATOM}entry")
    assert atom is not None
    assert atom.find(f"{ATOM}link").get("href") == uri  # type: ignore[union-attr]
    (entry,) = json.loads(documents["json"])["items"]
    assert (entry["url"], entry["image"]) == (uri, "https://k.example/Br%C3%BCcke.jpg")


def test_a_full_text_carries_the_other_sources_and_the_files_too() -> None:
    """Readers that show an entry's full text, where it has one, showed neither "Auch
    berichtet von" nor the files' names (found by a review, session 39); both are escaped
    as any text."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from revier_feed.models import Attachment, ChannelInfo, Item, StoredItem, Story
    from revier_feed.publish.feeds import render

    at = datetime(2026, 11, 20, 10, tzinfo=UTC)

    from .conftest import make_item

    def item(source: str, key: str) -> Item:
        return make_item(
            source_id=source,
            key=key,
            url=f"https://{source}.example/a/1.html",
            title="Radweg Borna–Groitzsch",
            summary_html="<p>Kurz.</p>",
            summary_text="Kurz.",
            content_html="<p>Der ganze Text des Artikels.</p>",
            published_at=at,
            fingerprint=key,
            attachments=(
                Attachment(
                    "https://kreis.example/d/plan.pdf",
                    "application/pdf",
                    1800000,
                    'Plan "A" & <B>',
                ),
            ),
        )

    story = Story(
        id=1,
        members=(
            StoredItem(id=1, item=item("kreis", "k1"), first_seen_at=at, last_changed_at=at),
            StoredItem(id=2, item=item("stadt", "s1"), first_seen_at=at, last_changed_at=at),
        ),
    )
    channel = ChannelInfo(
        id="all",
        title="Region",
        description="Nachrichten",
        language="de",
        public_base_url="https://news.example/",
        site_url="https://news.example/",
        source_names={"kreis": 'Landkreis "Leipzig" & <Co>', "stadt": "Stadt Borna"},
    )
    out = render(channel, [story], ZoneInfo("Europe/Berlin"))
    for kind in ("rss", "atom"):
        (entry,) = feedparser.parse(out[kind]).entries
        text = entry.content[0].value
        assert text.startswith("<p>Der ganze Text des Artikels.</p>"), kind
        assert (
            'Auch berichtet von: <a href="https://stadt.example/a/1.html">Stadt Borna</a>' in text
        )
        assert (
            '<p>Anhang: <a href="https://kreis.example/d/plan.pdf">Plan &quot;A&quot; &amp; '
            "&lt;B&gt; (PDF, 1,8 MB)</a></p>" in text
        ), text
        assert entry.author == 'Landkreis "Leipzig" & <Co>'
