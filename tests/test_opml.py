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
from revier_feed.parse import read_opml

from .conftest import write_config


def run(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def entries(out: str) -> str:
    """The sources.yaml entries of an import's output (its own comments left out)."""
    return "".join(line + "\n" for line in out.splitlines() if line.startswith("  "))


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
</body></opml>"""
    feeds = read_opml("liste.opml", listing)
    assert [(f.url, f.title, f.folders, f.line) for f in feeds] == [
        ("https://www.saalekreis.example/presse.rss", "Pressemitteilungen Saalekreis",
         ("Kreise", "Saalekreis"), 6),
        ("https://stadt.example/feed/", "Große Kreisstadt", ("Kreise",), 8),
        ("https://bbsr.example/feed.atom", "BBSR", (), 11),
    ]  # fmt: skip
    assert feeds[0].site_url == "https://www.saalekreis.example/"
    assert feeds[2].categories == ("studien", "Raum", "Land")
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
    opml = demo_config.config_dir / "partner.opml"
    opml.write_text(listing, encoding="utf-8")
    code, out, err = run(capsys, demo_config.config_dir, "sources", "import", str(opml))
    assert code == 0, out + err
    assert "line 7: Burgenlandkreis: already in sources.yaml as burgenlandkreis" in out
    assert "line 12: Archiv: not imported" in out and "not an absolute http(s) URL" in out
    assert "\u202e" not in out and "\u009b" not in out
    sources = demo_config.config_dir / "sources.yaml"
    sources.write_text(sources.read_text("utf-8") + entries(out), "utf-8")
    assert run(capsys, demo_config.config_dir, "check")[0] == 0
    before = {s.id for s in demo_config.sources}
    new = {s.id: s for s in load_config(demo_config.config_dir).sources if s.id not in before}
    assert set(new) == {"saalekreis-presse", "burgenlandkreis-2"}
    # Bidi and C1 controls go (a list may put an escape sequence into a title).
    assert new["saalekreis-presse"].name == "Saalekreis \u2013 Presse"
    assert new["saalekreis-presse"].district == "saalekreis"
    # Folders and categories named like a tag, by its id or its label.
    assert new["burgenlandkreis-2"].tags == ("laendlicher-raum", "studien")
    assert run(capsys, demo_config.config_dir, "run", "--once")[0] == 0
    code, out, _ = run(capsys, demo_config.config_dir, "sources", "--json")
    health = {row["source"]: row for row in json.loads(out)}
    assert health["saalekreis-presse"]["status"] == "ok"
    assert health["saalekreis-presse"]["items_last_fetch"] > 0
    # The list's second address serves nothing: that source fails on its own.
    assert health["burgenlandkreis-2"]["status"] == "failing"


def test_exported_sources_import_back_as_they_are(
    demo_config: AppConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sources export` for a feed reader, or for another revier-feed; and the same list
    imported into a configuration that has those sources changes nothing."""
    code, out, err = run(capsys, demo_config.config_dir, "sources", "export")
    assert code == 0
    exported = tmp_path / "quellen.opml"
    exported.write_text(out, "utf-8")
    feeds = {f.url: f for f in read_opml("quellen.opml", out.encode())}
    kinds = {s.url: s.kind.value for s in demo_config.sources}
    assert set(feeds) == {url for url, kind in kinds.items() if kind == "feed"}
    assert "1 html source(s) left out, which have no feed: metropolregion" in err
    by_id = {s.id: s for s in demo_config.sources}
    assert feeds[by_id["landkreis-leipzig"].url].folders == ("Landkreis Leipzig",)
    assert feeds[by_id["iq-innovationspreis"].url].categories == ("innovationspreis",)
    code, out, _ = run(capsys, demo_config.config_dir, "sources", "import", str(exported))
    assert code == 0 and entries(out) == ""
    assert out.count("already in sources.yaml") == len(feeds)
    # Into a configuration without them: the same sources, districts and tags.
    other = write_config(tmp_path / "other", "sources: []\n")
    shutil.copy(demo_config.config_dir / "tags.yaml", other / "tags.yaml")
    code, out, _ = run(capsys, other, "sources", "import", str(exported))
    assert code == 0
    (other / "sources.yaml").write_text("sources:\n" + entries(out), "utf-8")
    imported = {s.url: s for s in load_config(other).sources}
    assert set(imported) == set(feeds)
    for url, spec in imported.items():
        original = next(s for s in demo_config.sources if s.url == url)
        assert (spec.name, spec.district, spec.tags) == (
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
