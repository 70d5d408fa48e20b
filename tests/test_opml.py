"""OPML subscription lists: `sources import` turns a feed reader's export into sources.yaml
entries, `sources export` writes the feed sources as one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from revier_feed.cli import main
from revier_feed.config import AppConfig, load_config
from revier_feed.demo.server import Response, SampleRegion
from revier_feed.exceptions import ParseError
from revier_feed.models import SourceSpec
from revier_feed.parse import read_opml

from .conftest import write_config


def run(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def entries(out: str) -> str:
    """The sources.yaml entries of an import's output (its own comments left out)."""
    return "".join(line + "\n" for line in out.splitlines() if line.startswith("  "))


def imported(capsys: pytest.CaptureFixture[str], config: AppConfig, listing: str) -> str:
    """The output of `sources import` for ``listing``, which must succeed."""
    opml = config.config_dir / "liste.opml"
    opml.write_text(listing, encoding="utf-8")
    code, out, err = run(capsys, config.config_dir, "sources", "import", str(opml))
    assert code == 0, out + err
    return out


def pasted(
    capsys: pytest.CaptureFixture[str], config: AppConfig, out: str
) -> dict[str, SourceSpec]:
    """The sources an import's entries add to ``config``'s sources.yaml, which `check` must
    accept."""
    sources = config.config_dir / "sources.yaml"
    sources.write_text(sources.read_text("utf-8") + entries(out), "utf-8")
    assert run(capsys, config.config_dir, "check")[0] == 0
    before = {s.id for s in config.sources}
    return {s.id: s for s in load_config(config.config_dir).sources if s.id not in before}


def test_the_feeds_of_a_reader_s_list_are_read_as_readers_write_them() -> None:
    listing = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<opml version="1.0"><head><title>Export</title></head><body>
  <outline title="Kreise">
    <outline text="Saalekreis">
      <outline text="Pressemitteilungen Saalekreis" type="rss"
        xmlUrl="https://www.saalekreis.example/presse.rss" htmlUrl="https://www.saalekreis.example/"/>
    </outline>
    <outline TEXT="Gro\xdfe Kreisstadt" XMLURL="https://stadt.example/feed/"/>
  </outline>
  <outline text="Ohne Adresse" type="link" url="https://stadt.example/"/>
  <outline title="BBSR" xmlUrl="https://bbsr.example/feed.atom" category="/studien,/Raum/Land"/>
  <outline text="Doppelt" xmlUrl="https://stadt.example/feed/"/>
  <outline text="Radio" type="rss" url="https://radio.example/rss.xml"/>
  <outline text="Kreis &amp;#8211; Presse &amp;amp; Medien" xmlUrl="https://k.example/f"
    revierFeedId="kreis-presse"/>
</body></opml>"""
    feeds = read_opml("liste.opml", listing)
    assert [(f.url, f.title, f.folders, f.line) for f in feeds] == [
        ("https://www.saalekreis.example/presse.rss", "Pressemitteilungen Saalekreis",
         ("Kreise", "Saalekreis"), 6),
        ("https://stadt.example/feed/", "Große Kreisstadt", ("Kreise",), 8),
        ("https://bbsr.example/feed.atom", "BBSR", (), 11),
        # Named twice: both, so that the import can say so.
        ("https://stadt.example/feed/", "Doppelt", (), 12),
        # OPML 1.0 as Radio UserLand wrote it: the feed in `url`, with type="rss".
        ("https://radio.example/rss.xml", "Radio", (), 13),
        # Escaped twice, as Feedly, Inoreader and The Old Reader write titles.
        ("https://k.example/f", "Kreis \u2013 Presse & Medien", (), 15),
    ]  # fmt: skip
    assert feeds[0].site_url == "https://www.saalekreis.example/"
    assert feeds[2].categories == ("studien", "Raum", "Land")
    assert feeds[5].source_id == "kreis-presse" and feeds[0].source_id is None
    # A writer that puts OPML into a namespace, and outlines straight into <opml>.
    spaced = b'<opml xmlns="http://opml.org/spec2"><outline text="A" xmlUrl="https://a.example/f"/></opml>'
    assert [f.url for f in read_opml("n.opml", spaced)] == ["https://a.example/f"]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "is not well-formed XML at line 1"),
        (b"<opml><body><outline", "is not well-formed XML at line 1"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "its root is <rss>"),
        # An entity bomb and an external entity: refused, nothing expanded or read.
        (
            b'<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
            + b"".join(
                f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode()
                for i in range(8)
            )
            + b']><opml><body><outline text="&i;" xmlUrl="https://a.example/f"/></body></opml>',
            "entity amplification",
        ),
        (
            b'<!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]><opml><body>'
            b'<outline text="&x;" xmlUrl="https://a.example/f"/></body></opml>',
            "external entity",
        ),
    ],
)
def test_a_file_that_is_no_opml_is_refused_with_where_and_why(content: bytes, says: str) -> None:
    with pytest.raises(ParseError) as raised:
        read_opml("liste.opml", content)
    assert str(raised.value).startswith("liste.opml ") and says in str(raised.value)


def test_an_imported_list_gives_entries_that_check_accepts_and_that_collect(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """An admin given a partner's list of feeds had to write each entry by hand."""
    feed = region.read_site_file("/landkreis-leipzig/presse/rss.xml")
    assert feed is not None
    region.add_route(
        "/saalekreis/presse/rss.xml", Response(200, feed, {"Content-Type": "application/rss+xml"})
    )
    configured = region.url("/burgenlandkreis/aktuelles/atom.xml")
    new_feed, missing = region.url("/saalekreis/presse/rss.xml"), region.url("/blk/studien.xml")
    listing = f"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Partner</title></head><body>
  <outline text="Landkreise">
    <outline text="Saalekreis">
      <outline type="rss" text="Saalekreis\u009b \u2013 Presse\u202e" xmlUrl="{new_feed}"/>
    </outline>
    <outline type="rss" text="Burgenlandkreis" xmlUrl="{configured}/"/>
    <outline text="Ländlicher Raum">
      <outline type="rss" text="Burgenlandkreis" xmlUrl="{missing}" category="/Studien"/>
    </outline>
  </outline>
  <outline type="rss" text="Archiv" xmlUrl="ftp://archiv.example/feed.xml"/>
</body></opml>"""
    out = imported(capsys, demo_config, listing)
    assert "line 7: Burgenlandkreis: already in sources.yaml as burgenlandkreis" in out
    assert "line 12: Archiv: not imported" in out and "not an absolute http(s) URL" in out
    assert "\u202e" not in out and "\u009b" not in out
    new = pasted(capsys, demo_config, out)
    assert set(new) == {"saalekreis-presse", "burgenlandkreis-2"}
    # Bidi and C1 controls go (a list may put an escape sequence into a title).
    assert new["saalekreis-presse"].name == "Saalekreis \u2013 Presse"
    assert new["saalekreis-presse"].district == "saalekreis"
    # Folders and categories named like a tag, by its id or its label.
    assert new["burgenlandkreis-2"].tags == ("laendlicher-raum", "studien")
    assert run(capsys, demo_config.config_dir, "run", "--once")[0] == 0
    code, out, _ = run(capsys, demo_config.config_dir, "sources", "--json")
    assert code == 0
    health = {row["source"]: row for row in json.loads(out)}
    assert health["saalekreis-presse"]["status"] == "ok"
    assert health["saalekreis-presse"]["items_last_fetch"] > 0
    # The list's second address serves nothing: that source fails on its own.
    assert health["burgenlandkreis-2"]["status"] == "failing"


def test_what_lists_write_into_titles_and_addresses_gives_usable_entries(
    demo_config: AppConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a probe of 44 real exports (Feedly, Inoreader, NetNewsWire, FreshRSS, podcast
    apps, …) and a review found in them (session 36)."""
    long = "Nachrichten aus dem Landkreis und seinen Gemeinden, Städten und Ortsteilen"
    listing = f"""<opml version="2.0"><body>
  <outline text="Wehr :rocket: &lt;b&gt;News&lt;/b&gt;" xmlUrl="feed://wehr.example/rss"/>
  <outline text="Wehr, noch einmal" xmlUrl="https://WEHR.example/rss/"/>
  <outline text="." xmlUrl="https://www.punkt.example/feed"/>
  <outline text="comic by kris &lt;kris@comic.example&gt;" xmlUrl="https://comic.example/f"/>
  <outline text="{long}" xmlUrl="https://lang.example/f"/>
  <outline text="Suche" xmlUrl="https://news.example/rss?q=Land kreis"/>
  <outline text="Blog" xmlUrl="https://a.example/f" category="/Tech,/studien"/>
  <outline text="Blog" xmlUrl="https://b.example/f"/>
  <outline text="Blog" xmlUrl="https://c.example/f"/>
  <outline text="Lokales&amp;regionales" xmlUrl="https://l.example/f"
    category="/Feuer&#10;  - id: x"/>
  <outline text="Kinder &lt;Jugend" xmlUrl="https://kj.example/f"/>
  <outline text="Kinder &lt;3 Jugend" xmlUrl="https://kj.example./f"/>
  <outline text="Herz &lt;3 Region" xmlUrl="https://herz.example/f"/>
  <outline text="Kreis News" xmlUrl="https://hand.example/f"/>
  <outline text="Landkreis Pressestelle" xmlUrl="https://kreis.example/f"
    revierFeedId="kreis-news"/>
</body></opml>"""
    out = imported(capsys, demo_config, listing)
    assert "line 3: Wehr, noch einmal: listed before, as wehr-rocket-news" in out
    # The host written with its final dot is the same (found by a third review).
    assert "Kinder <3 Jugend: listed before, as kinder-jugend" in out
    assert "# categories that name no tag: Tech" in out
    new = pasted(capsys, demo_config, out)
    assert {i: (s.name, s.url) for i, s in new.items()} == {
        # The feed: scheme read as http; markup left out, an emoji code kept as written.
        "wehr-rocket-news": ("Wehr :rocket: News", "http://wehr.example/rss"),
        # A title without a letter: the site's name.
        "punkt-example": ("punkt.example", "https://www.punkt.example/feed"),
        "comic-by-kris": ("comic by kris", "https://comic.example/f"),
        # Cut at the end of a word.
        "nachrichten-aus-dem-landkreis-und-seinen": (long, "https://lang.example/f"),
        "suche": ("Suche", "https://news.example/rss?q=Land%20kreis"),
        "blog": ("Blog", "https://a.example/f"),
        "blog-2": ("Blog", "https://b.example/f"),
        "blog-3": ("Blog", "https://c.example/f"),
        # Only whole references are read: "&regionales" is no "®ionales".
        "lokales-regionales": ("Lokales&regionales", "https://l.example/f"),
        "kinder-jugend": ("Kinder Jugend", "https://kj.example/f"),
        "herz-3-region": ("Herz <3 Region", "https://herz.example/f"),
        # The id another revier-feed exported stays with its feed, also when a title
        # earlier in the list would make the same.
        "kreis-news-2": ("Kreis News", "https://hand.example/f"),
        "kreis-news": ("Landkreis Pressestelle", "https://kreis.example/f"),
    }
    # A category with a line break stays in its comment's line.
    assert "  # categories that name no tag: Feuer - id: x\n" in out
    assert new["blog"].tags == ("studien",)


def test_one_feed_in_another_spelling_of_its_address_is_listed_before(
    demo_config: AppConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    """An umlaut host and its IDNA form, an umlaut path and its escapes (in either case) are
    one feed to a server: printed twice, both were fetched and stored (session 36's known
    limitation). Another escaped character ("%2F") is another path."""
    listing = """<opml version="2.0"><body>
  <outline text="Zörbig" xmlUrl="https://www.zörbig.example/über-uns/rss.xml"/>
  <outline text="Zörbig IDNA" xmlUrl="https://www.xn--zrbig-jua.example/%C3%BCber-uns/rss.xml"/>
  <outline text="Zörbig klein" xmlUrl="https://WWW.ZÖRBIG.example/%c3%bcber-uns/rss.xml/"/>
  <outline text="Tilde" xmlUrl="https://t.example/~presse/rss?q=Bürger"/>
  <outline text="Tilde escaped" xmlUrl="https://t.example/%7Epresse/rss?q=B%C3%BCrger"/>
  <outline text="Schrägstrich" xmlUrl="https://t.example/a%2Fb/rss"/>
  <outline text="Zwei Ebenen" xmlUrl="https://t.example/a/b/rss"/>
</body></opml>"""
    out = imported(capsys, demo_config, listing)
    assert "line 3: Zörbig IDNA: listed before, as zoerbig" in out
    assert "line 4: Zörbig klein: listed before, as zoerbig" in out
    assert "line 6: Tilde escaped: listed before, as tilde" in out
    new = pasted(capsys, demo_config, out)
    assert sorted(new) == ["schraegstrich", "tilde", "zoerbig", "zwei-ebenen"]
    # Configured now: the same list again adds nothing, in whichever spelling.
    out = imported(capsys, demo_config, listing)
    assert entries(out) == ""
    assert "line 3: Zörbig IDNA: already in sources.yaml as zoerbig" in out


def test_exported_sources_import_back_as_they_are(
    demo_config: AppConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sources export` for a feed reader, or for another revier-feed; and the same list
    imported into a configuration that has those sources changes nothing."""
    sources = demo_config.config_dir / "sources.yaml"
    text = sources.read_text("utf-8")
    sources.write_text(text.replace("  - id: bbsr\n", "  - id: bbsr\n    enabled: false\n"))
    code, out, err = run(capsys, demo_config.config_dir, "sources", "export")
    assert code == 0
    exported = tmp_path / "quellen.opml"
    exported.write_text(out, "utf-8")
    feeds = {f.url: f for f in read_opml("quellen.opml", out.encode())}
    kinds = {s.url: s.kind.value for s in demo_config.sources if s.id != "bbsr"}
    assert set(feeds) == {url for url, kind in kinds.items() if kind == "feed"}
    assert "1 html and json source(s) left out, which have no feed: metropolregion" in err
    # A disabled source would come back enabled from a list that cannot say so.
    assert "1 disabled source(s) left out: bbsr" in err
    by_id = {s.id: s for s in demo_config.sources}
    assert feeds[by_id["landkreis-leipzig"].url].folders == ("Landkreis Leipzig",)
    assert feeds[by_id["iq-innovationspreis"].url].categories == ("innovationspreis",)
    code, out, _ = run(capsys, demo_config.config_dir, "sources", "import", str(exported))
    assert code == 0 and entries(out) == ""
    assert out.count("already in sources.yaml") == len(feeds)
    # Into a configuration without them: the same sources, with their ids (which channels
    # and partners name), districts and tags.
    other = write_config(tmp_path / "other", "sources: []\n")
    shutil.copy(demo_config.config_dir / "tags.yaml", other / "tags.yaml")
    code, out, _ = run(capsys, other, "sources", "import", str(exported))
    assert code == 0
    (other / "sources.yaml").write_text("sources:\n" + entries(out), "utf-8")
    imported = {s.url: s for s in load_config(other).sources}
    assert set(imported) == set(feeds)
    for url, spec in imported.items():
        original = next(s for s in demo_config.sources if s.url == url)
        assert (spec.id, spec.name, spec.district, spec.tags) == (
            original.id,
            original.name,
            original.district,
            original.tags,
        )


def test_an_unreadable_or_empty_list_is_an_error(
    demo_config: AppConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = demo_config.config_dir
    code, out, err = run(capsys, config, "sources", "import", str(tmp_path / "fehlt.opml"))
    assert code == 1 and "cannot read" in out and "No such file" in out
    (tmp_path / "leer.opml").write_text("<opml><body><outline text='Ordner'/></body></opml>")
    code, out, err = run(capsys, config, "sources", "import", str(tmp_path / "leer.opml"))
    assert code == 1 and "names no feeds" in out
    (tmp_path / "kaputt.opml").write_text("<opml><body>\n<outline")
    code, out, err = run(capsys, config, "sources", "import", str(tmp_path / "kaputt.opml"))
    assert code == 1 and "kaputt.opml is not well-formed XML at line 2" in err


# Found by running the reader on listparser's test corpus beside listparser (session 39).
def test_what_templates_write_into_lists_is_read() -> None:
    listing = b"""
  <?xml version="1.0" encoding="utf-8"?>
<opml version="2.0"><body>
  <outline text="Arch&aelig;ologie &amp; Denkmalpflege &auml;" type="rss"
    xmlUrl="https://kreis.example/rss?typ=presse&seite=1"/>
</body></opml>"""
    (feed,) = read_opml("liste.opml", listing)
    assert feed.title == "Archæologie & Denkmalpflege ä"
    assert feed.url == "https://kreis.example/rss?typ=presse&seite=1"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        # A name HTML does not know either: a mistake to show, not to guess.
        (
            b'<opml><body><outline text="&egregious;" xmlUrl="https://a.example/f"/></body></opml>',
            "Entity 'egregious' not defined",
        ),
        # Latin-1 without a declaration: which encoding it is, and what to do.
        (
            b'<opml><body><outline text="B\xfccher" xmlUrl="https://a.example/f"/></body></opml>',
            "save it as UTF-8",
        ),
    ],
)
def test_what_cannot_be_mended_is_refused_with_what_to_do(content: bytes, says: str) -> None:
    with pytest.raises(ParseError, match=says):
        read_opml("liste.opml", content)


def test_a_feed_that_holds_outlines_is_no_folder_and_a_list_is_no_feed() -> None:
    listing = b"""<opml version="2.0"><body>
  <outline text="Kreise">
    <outline text="Saalekreis" xmlUrl="https://saalekreis.example/rss">
      <outline text="Saalekreis Kultur" xmlUrl="https://saalekreis.example/kultur.rss"/>
    </outline>
  </outline>
  <outline text="Liste der Kammer" type="source" xmlUrl="https://kammer.example/feeds.opml"/>
</body></opml>"""
    feeds = read_opml("liste.opml", listing)
    assert [(f.title, f.folders, f.is_list) for f in feeds] == [
        ("Saalekreis", ("Kreise",), False),
        ("Saalekreis Kultur", ("Kreise",), False),
        ("Liste der Kammer", (), True),
    ]


def test_a_feed_in_several_folders_gets_the_tags_of_all(
    demo_config: AppConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    """Feedly exports a feed once for each folder it is in: the entry had the tags of the
    first folder only."""
    listing = """<opml version="2.0"><body>
  <outline text="Studien"><outline text="Institut" xmlUrl="https://inst.example/feed"/></outline>
  <outline text="Robotik"><outline text="Institut" xmlUrl="https://inst.example/feed"/></outline>
  <outline text="Liste der Kammer" type="source" xmlUrl="https://kammer.example/feeds.opml"/>
</body></opml>"""
    out = imported(capsys, demo_config, listing)
    assert "line 3: Institut: listed before, as institut (its folders count there)" in out
    assert "  # also in folder: Robotik\n" in out
    assert (
        'line 4: Liste der Kammer: a list of feeds (type="source"), not a feed: import '
        "https://kammer.example/feeds.opml itself" in out
    )
    new = pasted(capsys, demo_config, out)
    assert list(new) == ["institut"]
    assert new["institut"].tags == ("studien", "robotik")
