"""Publishing with nothing changed reads nothing; every kind of change still republishes."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from revier_feed.app import App
from revier_feed.config import AppConfig, load_config
from revier_feed.demo.server import Response, SampleRegion
from revier_feed.exceptions import PublishError
from revier_feed.models import ItemDecision, SourceState, SourceStatus, StoredItem, Story

from .conftest import Clock

MakeApp = Callable[[AppConfig], App]


def snapshot(out: Path) -> dict[Path, tuple[bytes, int]]:
    """Every published file (the demo keeps its store in the output folder too)."""
    files = [*(out / "feeds").iterdir(), *(out / "channels").iterdir(), out / "index.html"]
    files.append(out / ".revier-feed-published.json")
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}


def no_reading(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(source_ids: object, limit: int) -> list[Story]:
        raise AssertionError("the stories were read")

    monkeypatch.setattr(app.storage, "recent_stories", refuse)


def newest(app: App) -> list[StoredItem]:
    return app.storage.recent_items([s.id for s in app.config.sources], 1000)


def test_a_cycle_without_news_reads_and_writes_nothing(
    demo_config: AppConfig, make_app: MakeApp, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(demo_config)
    app.run_cycle()
    before = snapshot(demo_config.output_dir)
    assert len(before) > 10
    clock.advance(timedelta(days=3))
    no_reading(app, monkeypatch)
    # Every source is fetched again and every item seen again: nothing published changes.
    result = app.run_cycle()
    assert result.summary.new == 0
    assert result.published.written == ()
    assert snapshot(demo_config.output_dir) == before


def test_news_from_a_source_republishes(
    demo_config: AppConfig, make_app: MakeApp, region: SampleRegion
) -> None:
    app = make_app(demo_config)
    app.run_cycle()
    assert app.publish().written == ()
    news = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Messe</title><link>http://x/</link><description>d</description>
<item><title>Neue Messe im Revier</title><link>http://x/neue-messe</link>
<description>Text</description><pubDate>Mon, 02 Aug 2021 09:00:00 +0200</pubDate></item>
</channel></rss>"""
    region.add_route("/leipziger-messe/presse/rss.xml", Response(200, news))
    assert app.run_cycle().summary.new == 1
    feed = (demo_config.output_dir / "feeds" / "all.rss.xml").read_text(encoding="utf-8")
    assert "Neue Messe im Revier" in feed


def _updated_item(app: App, clock: Clock) -> None:
    stored = newest(app)[0]
    item = replace(stored.item, title="Geänderte Überschrift", fingerprint="geändert")
    state = SourceState(item.source_id, status=SourceStatus.OK, last_success_at=clock())
    app.storage.save_source_result(state, [(item, ItemDecision.UPDATED)], clock())


def _retag(app: App, clock: Clock) -> None:
    stored = newest(app)[0]
    app.storage.set_tags([(stored.id, replace(stored.item, tags=frozenset({"radverkehr"})))])


def _split(app: App, clock: Clock) -> None:
    joined = next(s for s in newest(app) if _shared(app, s))
    app.storage.split_story(joined.id, clock())


def _shared(app: App, stored: StoredItem) -> bool:
    story = app.storage.story(stored.story_id) if stored.story_id else None
    return story is not None and len(story.members) > 1


def _merge(app: App, clock: Clock) -> None:
    first, second = (s.story_id for s in newest(app)[:2])
    assert first and second and first != second
    app.storage.merge_stories(first, second)


def _retention(app: App, clock: Clock) -> None:
    oldest = min(s.item.published_at for s in newest(app))
    assert app.storage.retire_items(oldest + timedelta(seconds=1), clock()).items


@pytest.mark.parametrize(
    "change",
    [_updated_item, _retag, _split, _merge, _retention],
    ids=["updated item", "retag", "split", "merge", "retention"],
)
def test_every_change_to_the_store_republishes(
    demo_config: AppConfig,
    make_app: MakeApp,
    clock: Clock,
    change: Callable[[App, Clock], None],
) -> None:
    app = make_app(demo_config)
    app.run_cycle()
    assert app.publish().written == ()
    before = snapshot(demo_config.output_dir)
    clock.advance(timedelta(hours=1))
    change(app, clock)  # straight into the store, which does not publish by itself
    result = app.publish()
    all_rss = demo_config.output_dir / "feeds" / "all.rss.xml"
    assert all_rss in result.written
    assert all_rss.read_bytes() != before[all_rss][0]


@pytest.mark.parametrize(
    ("file", "old", "new", "feed"),
    [
        (
            "settings.yaml",
            "title: Revier-News Mitteldeutschland (Demo)",
            "title: Revier-Nachrichten",
            "all",
        ),
        (
            "settings.yaml",
            "public_base_url: http://localhost:8000/",
            "public_base_url: https://news.example/",
            "all",
        ),
        (
            "channels.yaml",
            "title: Revier-News – Innovation",
            "title: Revier-News – Erfindungen",
            "innovation",
        ),
    ],
    ids=["site title", "public URL", "channel title"],
)
def test_a_configuration_change_republishes(
    demo_config: AppConfig, make_app: MakeApp, file: str, old: str, new: str, feed: str
) -> None:
    app = make_app(demo_config)
    app.run_cycle()
    path = demo_config.config_dir / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    app.reconfigure(load_config(demo_config.config_dir))
    result = app.publish()
    rss = demo_config.output_dir / "feeds" / f"{feed}.rss.xml"
    assert rss in result.written
    assert new.split(": ", 1)[1] in rss.read_text(encoding="utf-8")


def test_a_restored_backup_republishes(
    demo_config: AppConfig, make_app: MakeApp, clock: Clock, tmp_path: Path
) -> None:
    app = make_app(demo_config)
    app.run_cycle()
    all_rss = demo_config.output_dir / "feeds" / "all.rss.xml"
    backed_up = all_rss.read_bytes()
    app.backup(tmp_path / "backup.sqlite3")
    clock.advance(timedelta(hours=1))
    _retag(app, clock)
    app.publish()
    assert all_rss.read_bytes() != backed_up
    app.close()

    store = Path(demo_config.storage_url.removeprefix("sqlite:///"))
    for leftover in (Path(f"{store}-wal"), Path(f"{store}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(tmp_path / "backup.sqlite3", store)
    restored = make_app(demo_config)
    result = restored.publish()
    assert all_rss in result.written
    assert all_rss.read_bytes() == backed_up


def test_a_removed_tag_s_files_go_with_it(demo_config: AppConfig, make_app: MakeApp) -> None:
    """Its feeds and page stayed, frozen, and were served as if the channel went on (found
    by a probe, session 27); only feeds.opml dropped it."""
    app = make_app(demo_config)
    app.run_cycle()
    out = demo_config.output_dir
    studien = [out / "feeds" / f"tag-studien.{e}" for e in ("rss.xml", "atom.xml", "json")]
    studien.append(out / "channels" / "tag-studien.html")
    assert all(p.is_file() for p in studien)
    tags = demo_config.config_dir / "tags.yaml"
    text = tags.read_text(encoding="utf-8")
    rule = "  - id: studien\n    label: Studien\n    any: [Studie*, Analyse*, Untersuchung*]\n"
    assert rule in text
    tags.write_text(text.replace(rule, ""), encoding="utf-8")
    app.reconfigure(load_config(demo_config.config_dir))
    result = app.publish()
    assert sorted(result.removed) == sorted(studien)
    assert not any(p.exists() for p in studien)
    assert (out / "feeds" / "tag-handwerk.rss.xml").is_file()


def test_a_file_that_cannot_be_replaced_holds_back_only_its_channel(
    demo_config: AppConfig, make_app: MakeApp, region: SampleRegion, clock: Clock
) -> None:
    """One unreplaceable file (a folder a root run made where a feed belongs, a file made
    immutable) stopped every channel from being published; a killed publish's temporary
    files stayed for good (a copy to a web host published them half-written)."""
    app = make_app(demo_config)
    app.run_cycle()
    out = demo_config.output_dir
    blocked = out / "feeds" / "tag-handwerk.rss.xml"
    blocked.unlink()
    blocked.mkdir()
    left = out / "feeds" / ".all.rss.xml.k1ll3d.tmp"
    left.write_bytes(b"<?xml version='1.0'?><rss><chan")
    old = time.time() - 3600
    os.utime(left, (old, old))
    region.add_route(
        "/bbsr/presse/feed.atom",
        Response(
            200,
            (region.read_site_file("/bbsr/presse/feed.atom") or b"").replace(
                b"<title>", b"<title>Neu: ", 2
            ),
            {"Content-Type": "application/atom+xml"},
        ),
    )
    clock.advance(timedelta(hours=2))
    with pytest.raises(PublishError) as failed:
        app.run_cycle()
    assert "tag-handwerk.rss.xml" in str(failed.value)
    assert "the other channels were published" in str(failed.value)
    assert "Neu: " in (out / "feeds" / "all.rss.xml").read_text(encoding="utf-8")
    assert not left.exists()
    blocked.rmdir()
    result = app.publish()  # the held-back channel follows once it can
    assert blocked in result.written
