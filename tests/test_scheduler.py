"""The worker's jobs driven with a controllable clock: debounced publishing and retention."""

from __future__ import annotations

import gc
import logging
import os
import re
import shutil
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import apscheduler.executors.base
import apscheduler.schedulers.base
import pytest

from revier_feed import scheduler
from revier_feed._utils import LOCK_RECORD_SIZE
from revier_feed.app import App
from revier_feed.config import AppConfig, load_config
from revier_feed.demo.server import Response, SampleRegion
from revier_feed.exceptions import RevierError
from revier_feed.fetch import Fetcher
from revier_feed.models import HealthStatus, SourceStatus
from revier_feed.scheduler import Worker
from revier_feed.serve.metrics import render

from .conftest import Clock

MakeApp = Callable[[AppConfig], App]
ATOM = {"Content-Type": "application/atom+xml"}


def with_worker_settings(config: AppConfig, text: str) -> AppConfig:
    settings = config.config_dir / "settings.yaml"
    settings.write_text(settings.read_text("utf-8") + text, "utf-8")
    return load_config(config.config_dir)


def feed_text(config: AppConfig) -> str:
    return (config.output_dir / "feeds" / "all.atom.xml").read_text("utf-8")


def add_news(region: SampleRegion, path: str, title: str) -> None:
    """The Atom feed at ``path`` gains an entry, published just before the test clock."""
    body = region.read_site_file(path)
    assert body is not None
    entry = (
        f"<entry><id>urn:neu:{title}</id><title>{title}</title>"
        f"<link href='{region.base_url}/neu/{len(title)}.html'/>"
        f"<updated>2021-08-02T07:30:00Z</updated><summary>{title}: Einzelheiten</summary>"
        "</entry>"
    )
    region.add_route(
        path, Response(200, body.replace(b"</feed>", entry.encode() + b"</feed>"), ATOM)
    )


def test_a_burst_of_news_is_published_once_after_it_settles(
    demo_config: AppConfig, make_app: MakeApp, region: SampleRegion, clock: Clock
) -> None:
    app = make_app(demo_config)
    worker = Worker(app)
    worker.collect()  # the first cycle: everything is new
    feed = demo_config.output_dir / "feeds" / "all.atom.xml"
    assert not feed.exists(), "published only once the burst settled"
    clock.advance(timedelta(seconds=31))  # the default publish_delay is 30s
    worker.collect()
    assert feed_text(demo_config).count("<entry>") == 29
    published = feed.stat().st_mtime_ns

    # Quiet cycles (304 everywhere) publish nothing and leave the files alone.
    clock.advance(timedelta(hours=1))
    worker.collect()
    clock.advance(timedelta(minutes=1))
    assert worker.publish_if_due() is False
    assert feed.stat().st_mtime_ns == published

    # Two sites publish news; their next fetches fall due a little apart (jitter).
    paths = {
        "bbsr": "/bbsr/presse/feed.atom",
        "burgenlandkreis": "/burgenlandkreis/aktuelles/atom.xml",
    }
    states = app.storage.source_states(paths)
    first, second = sorted(paths, key=lambda s: states[s].next_fetch_at)  # type: ignore[arg-type, return-value]
    add_news(region, paths[first], "Erste Eilmeldung")
    add_news(region, paths[second], "Zweite Eilmeldung")
    clock.now = states[first].next_fetch_at  # type: ignore[assignment]
    worker.collect()
    assert "Erste Eilmeldung" not in feed_text(demo_config)
    clock.now = max(states[second].next_fetch_at, clock.now + timedelta(seconds=5))  # type: ignore[type-var]
    worker.collect()
    assert "Eilmeldung" not in feed_text(demo_config)
    assert feed.stat().st_mtime_ns == published
    clock.advance(timedelta(seconds=31))
    worker.collect()
    text = feed_text(demo_config)
    assert "Erste Eilmeldung" in text and "Zweite Eilmeldung" in text
    assert text.count("<entry>") == 31


def test_what_a_cycle_made_is_freed_when_a_job_ends(
    demo_config: AppConfig, make_app: MakeApp, clock: Clock
) -> None:
    """Each cycle's fetcher, with its connections and parsed pages, is in reference cycles
    that outlive the young collections; a worker kept them until a full collection, which
    a probe's worker did not get in half an hour, growing by about 0.3 MB a minute. A job now
    ends with one when the last is long enough ago (here: always)."""
    worker = Worker(make_app(demo_config))
    worker.full_collection_every = 0.0
    for _ in range(3):
        worker.collect()
        assert [o for o in gc.get_objects() if isinstance(o, Fetcher)] == []
        clock.advance(timedelta(hours=3))


def test_feeds_deleted_under_the_worker_are_published_again_without_news(
    demo_config: AppConfig,
    make_app: MakeApp,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The output folder removed (a clean-up, a redeploy) stayed gone, every feed a 404
    and /healthz "ok", until a source brought news (found by a probe, session 27)."""
    app = make_app(demo_config)
    worker = Worker(app)
    worker.collect()
    clock.advance(timedelta(seconds=31))
    worker.collect()
    feed = demo_config.output_dir / "feeds" / "all.atom.xml"
    before = feed.read_bytes()
    shutil.rmtree(demo_config.output_dir / "feeds")
    clock.advance(timedelta(hours=1))
    worker.collect()  # quiet: every source answers as before
    assert "published file(s) are missing" in caplog.text
    clock.advance(timedelta(seconds=31))
    worker.collect()
    assert feed.read_bytes() == before


def block_the_feeds_folder(config: AppConfig) -> Path:
    """A file where the feeds folder belongs: publishing fails as on a read-only disk."""
    blocker = config.output_dir / "feeds"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the feeds folder belongs", "utf-8")
    return blocker


def test_a_failing_publish_is_retried_with_backoff_and_shows_in_health(
    demo_config: AppConfig, make_app: MakeApp, clock: Clock, caplog: Any
) -> None:
    """An output folder that cannot be written is tried again after one tick, then two,
    four ... (not rendered and logged every tick), and /healthz says so until it works."""
    app = make_app(demo_config)
    worker = Worker(app)
    worker.collect()
    blocker = block_the_feeds_folder(demo_config)

    def failures() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.msg.startswith("publishing failed")]

    with caplog.at_level("INFO", logger="revier_feed"):
        clock.advance(timedelta(seconds=31))
        worker.collect()
        assert len(failures()) == 1 and "trying again in 0:01:00" in failures()[0]
        problems = app.health().problems
        assert any("publishing the feeds failed 0 minutes ago" in p for p in problems), problems

        clock.advance(timedelta(seconds=59))
        assert worker.publish_if_due() is False and len(failures()) == 1
        clock.advance(timedelta(seconds=1))
        worker.collect()
        assert len(failures()) == 2 and "trying again in 0:02:00" in failures()[1]
        clock.advance(timedelta(seconds=119))
        assert worker.publish_if_due() is False and len(failures()) == 2

        blocker.unlink()
        clock.advance(timedelta(seconds=1))
        worker.collect()
        assert len(failures()) == 2
        assert "published again after 2 failed attempts" in caplog.text
    assert feed_text(demo_config).count("<entry>") == 29
    assert not any("publishing" in p for p in app.health().problems)
    metrics = render(app.metric_samples()).decode()
    assert "revier_publish_failures_total 2\n" in metrics
    assert f"revier_publish_last_success_timestamp_seconds {int(clock().timestamp())}\n" in metrics


def test_a_reload_tries_a_failed_publish_again_from_the_start(
    demo_config: AppConfig, make_app: MakeApp, clock: Clock, caplog: Any
) -> None:
    app = make_app(demo_config)
    worker = Worker(app)
    worker.collect()
    block_the_feeds_folder(demo_config)
    with caplog.at_level("INFO", logger="revier_feed"):
        for _ in range(3):
            clock.advance(timedelta(minutes=5))
            worker.collect()
        assert "trying again in 0:04:00" in caplog.text
        caplog.clear()
        assert worker.request_reload() is not None
        clock.advance(timedelta(seconds=31))
        worker.collect()  # applies the reload; the change settles
        clock.advance(timedelta(seconds=31))
        worker.collect()
        assert "trying again in 0:01:00" in caplog.text, "the doubling starts anew"


def test_admin_commands_that_cannot_publish_leave_the_health_alone(
    demo_config: AppConfig, make_app: MakeApp, clock: Clock
) -> None:
    """retag, split and merge report a failed publish to the admin at once; recorded, it
    would keep /healthz unhealthy until the worker next had news to publish."""
    app = make_app(demo_config)
    app.run_cycle()
    shutil.rmtree(demo_config.output_dir / "feeds")
    block_the_feeds_folder(demo_config)
    clock.advance(timedelta(minutes=1))
    with pytest.raises(RevierError):
        app.retag()
    assert not any("publishing" in p for p in app.health().problems)


def test_a_steady_trickle_is_published_after_the_maximum_delay(
    demo_config: AppConfig, make_app: MakeApp, region: SampleRegion, clock: Clock
) -> None:
    config = with_worker_settings(demo_config, "worker:\n  publish_max_delay: 2m\n")
    app = make_app(config)
    worker = Worker(app)
    worker.collect()
    feed = config.output_dir / "feeds" / "all.atom.xml"
    for _ in range(4):  # something changes every 29 s: never quiet for 30 s
        clock.advance(timedelta(seconds=29))
        worker.note_change()  # as a source delivering news does
        worker.collect()
        assert not feed.exists()
    clock.advance(timedelta(seconds=29))  # 2m25s after the first change
    worker.note_change()
    worker.collect()
    assert (config.output_dir / "feeds" / "all.atom.xml").exists()


def test_retention_removes_old_items_and_keeps_stories_consistent(
    demo_config: AppConfig,
    make_app: MakeApp,
    region: SampleRegion,
    clock: Clock,
    expected_items: list[dict[str, Any]],
) -> None:
    # Cut between the agency's call for entries (3 March) and the prize's own (4 March):
    # the story loses its lead item and keeps the other.
    cutoff = datetime(2021, 3, 3, 12, 0, tzinfo=UTC)
    retention = clock.now - cutoff
    config = with_worker_settings(
        demo_config, f"worker:\n  retention: {int(retention.total_seconds())}s\n"
    )
    app = make_app(config)
    worker = Worker(app)
    worker.collect()
    clock.advance(timedelta(minutes=1))
    worker.collect()
    story = [i for i in expected_items if i["story"] == "iq-bewerbungsstart-2021"]
    lead = next(i for i in story if i["site"] == "metropolregion")
    other = next(i for i in story if i["site"] == "iq-innovationspreis")
    assert lead["title"] in feed_text(config) and other["title"] not in feed_text(config)

    worker.retention()
    text = feed_text(config)
    assert lead["title"] not in text and other["title"] in text, "the lead is chosen again"
    assert text.count("<entry>") == 29  # the story is still there, with one member
    assert app.storage.count_items() == 35

    # A year later nearly everything is old: emptied stories go, the index and the
    # keyword counts shrink with the items, and the feeds follow.
    clock.now = datetime(2022, 6, 15, tzinfo=UTC)  # 365d cutoff: 2021-06-15
    config = load_config(_with_retention(config.config_dir, "365d"))
    app.reconfigure(config)
    worker.retention()
    kept = [i for i in expected_items if i["published"] >= "2021-06-15"]
    assert app.storage.count_items() == len(kept)
    store = config.resolve(config.settings.storage.path)
    with sqlite3.connect(store) as db:
        orphans = "select count(*) from stories where id not in (select story_id from items)"
        assert db.execute(orphans).fetchone() == (0,)
        # The index's marks live in the item rows and went with them; every item left
        # belongs to a story that exists.
        lost = "select count(*) from items where story_id not in (select id from stories)"
        assert db.execute(lost).fetchone() == (0,)
        (total,) = db.execute("select documents from keyword_counts where keyword=''").fetchone()
        (placed,) = db.execute("select count(*) from items where keywords is not null").fetchone()
        assert total == placed == len(kept)
    assert feed_text(config).count("<entry>") == len({i["story"] for i in kept})

    # The sites still list the removed items; they do not come back as news.
    for path in ("/bbsr/presse/feed.atom", "/burgenlandkreis/aktuelles/atom.xml"):
        body = region.read_site_file(path)
        assert body is not None
        region.add_route(path, Response(200, body, ATOM))  # no validators: a full fetch
    clock.advance(timedelta(days=1))
    summary = app.run_ingest()
    assert summary.new == 0
    assert app.storage.count_items() == len(kept)


KREIS_FEED = "/burgenlandkreis/aktuelles/atom.xml"


def _removed_a_year_later(demo_config: AppConfig, make_app: MakeApp, clock: Clock) -> App:
    """The sample region collected on 2021-08-02 with `retention: 365d`, and on 2022-06-01
    what is older than 2021-06-01 removed (its sites still list it, with validators)."""
    app = make_app(with_worker_settings(demo_config, "worker:\n  retention: 365d\n"))
    app.run_ingest()
    clock.now = datetime(2022, 6, 1, tzinfo=UTC)
    app.retire_old_items()
    return app


def _kreis_feed(region: SampleRegion) -> tuple[bytes, bytes]:
    """The Burgenlandkreis feed, and the same without its entries older than June 2021."""
    kreis = region.read_site_file(KREIS_FEED)
    assert kreis is not None
    spring = rb"<entry>(?:(?!</entry>).)*<published>2021-0[1-5].*?</entry>"
    return kreis, re.sub(spring, b"", kreis, flags=re.S)


def test_a_removed_item_is_remembered_while_its_source_lists_it(
    demo_config: AppConfig, make_app: MakeApp, region: SampleRegion, clock: Clock
) -> None:
    """Each removed item left a tombstone for good: about 2,000 a month in a soak probe.
    Now one goes once every read of its source's documents (not a 304) has missed the item
    for as long as the retention period; one the source still lists stays, and so does one
    whose source answers only 304 (an unchanged document lists what it listed)."""
    app = _removed_a_year_later(demo_config, make_app, clock)
    store = app.config.resolve(app.config.settings.storage.path)

    def tombstones(source_id: str) -> set[str]:
        with sqlite3.connect(store) as db:
            rows = db.execute("select key from item_tombstones where source_id=?", (source_id,))
            return {key for (key,) in rows}

    listed, dropped, unchanged = (
        tombstones(s) for s in ("bbsr", "burgenlandkreis", "landkreis-leipzig")
    )
    assert listed and dropped and unchanged
    # BBSR still lists its removed items; the Burgenlandkreis no longer does; the Landkreis
    # Leipzig answers 304 to every cycle.
    bbsr = region.read_site_file("/bbsr/presse/feed.atom")
    assert bbsr is not None
    kreis, recent = _kreis_feed(region)
    assert recent.count(b"<entry>") == kreis.count(b"<entry>") - len(dropped)
    region.add_route("/bbsr/presse/feed.atom", Response(200, bbsr, ATOM))
    region.add_route(KREIS_FEED, Response(200, recent, ATOM))

    for _ in range(4):  # read every 100 days; retention each time
        clock.advance(timedelta(days=100))
        assert app.run_ingest().new == 0
        assert app.retire_old_items().tombstones == 0
    assert tombstones("burgenlandkreis") >= dropped  # first missed 300 days ago
    clock.advance(timedelta(days=100))
    assert app.run_ingest().new == 0
    assert app.retire_old_items().tombstones == len(dropped)
    assert tombstones("bbsr") >= listed
    assert not tombstones("burgenlandkreis") & dropped
    assert tombstones("landkreis-leipzig") >= unchanged
    # BBSR's removed items, still listed, still do not come back.
    clock.advance(timedelta(days=1))
    assert app.run_ingest().new == 0


def test_one_read_that_misses_a_removed_item_does_not_forget_it(
    demo_config: AppConfig, make_app: MakeApp, region: SampleRegion, clock: Clock
) -> None:
    """After a year of 304s, one read that missed a removed item (a feed cut short once,
    a page that failed) dropped its tombstone, and the next read brought the item back as
    new (found by a review, session 32): how long an item has been missing is counted
    from the first read without it, and a read that lists it again ends that."""
    app = _removed_a_year_later(demo_config, make_app, clock)
    for _ in range(4):  # a year of 304s
        clock.advance(timedelta(days=100))
        app.run_ingest()
        app.retire_old_items()
    kreis, cut = _kreis_feed(region)
    assert cut != kreis
    region.add_route(KREIS_FEED, Response(200, cut, ATOM))
    clock.advance(timedelta(days=1))
    app.run_ingest()  # the one read that misses it
    assert app.retire_old_items().tombstones == 0
    region.add_route(KREIS_FEED, Response(200, kreis, ATOM))
    clock.advance(timedelta(days=1))
    assert app.run_ingest().new == 0


def test_reads_with_warnings_do_not_count_a_removed_item_as_gone(
    demo_config: AppConfig, make_app: MakeApp, region: SampleRegion, clock: Clock
) -> None:
    """A document read with warnings (cut short here, salvaged; a listing page that
    failed, items past the limit) may have left the removed item out: a year of such
    reads does not forget it."""
    app = _removed_a_year_later(demo_config, make_app, clock)
    kreis, cut = _kreis_feed(region)
    broken = cut[: cut.rindex(b"<entry>") + 30]  # cut short: what is there is salvaged
    region.add_route(KREIS_FEED, Response(200, broken, ATOM))
    for _ in range(5):
        clock.advance(timedelta(days=100))
        app.run_ingest()
        state = app.storage.source_states(["burgenlandkreis"])["burgenlandkreis"]
        assert state.status is SourceStatus.DEGRADED
        assert app.retire_old_items().tombstones == 0
    region.add_route(KREIS_FEED, Response(200, kreis, ATOM))
    clock.advance(timedelta(days=1))
    assert app.run_ingest().new == 0


def _with_retention(config_dir: Path, value: str) -> Path:
    settings = config_dir / "settings.yaml"
    text = settings.read_text("utf-8")
    head, _, _ = text.partition("worker:\n  retention:")
    settings.write_text(head + f"worker:\n  retention: {value}\n", "utf-8")
    return config_dir


def test_a_reload_that_moves_the_store_is_refused(
    demo_config: AppConfig, make_app: MakeApp, caplog: Any
) -> None:
    app = make_app(demo_config)
    worker = Worker(app)
    settings = demo_config.config_dir / "settings.yaml"
    settings.write_text(
        settings.read_text("utf-8").replace("../state/revier-feed", "../elsewhere/revier-feed"),
        "utf-8",
    )
    with caplog.at_level("ERROR", logger="revier_feed"):
        assert worker.request_reload() is None
    assert "the store cannot change while the worker runs" in caplog.text
    worker.collect()
    assert app.config is demo_config


def test_a_reload_that_fails_unexpectedly_keeps_the_worker_on_its_configuration(
    demo_config: AppConfig, make_app: MakeApp, caplog: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the files failing with anything but a configuration error (a bug, as deep
    nesting's RecursionError was) is logged; the worker goes on as it was, not stopped."""
    app = make_app(demo_config)
    worker = Worker(app)

    def broken(_folder: Any) -> AppConfig:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("revier_feed.scheduler.load_config", broken)
    with caplog.at_level("ERROR", logger="revier_feed"):
        assert worker.request_reload() is None
    assert "reload refused, still running on the previous configuration" in caplog.text
    assert "RecursionError" in caplog.text
    worker.collect()
    assert app.config is demo_config


def test_a_cycle_the_store_cannot_take_is_retried_with_backoff(
    demo_config: AppConfig, make_app: MakeApp, region: SampleRegion, clock: Clock, caplog: Any
) -> None:
    """A store that cannot be written (here a file size limit, a full disk's cousin) fails
    the cycle; its sources stay due. Fetched again every tick they were polled far more
    often than configured. No source is blamed for the store's failure."""
    import resource
    import signal

    app = make_app(demo_config)
    worker = Worker(app)
    worker.collect()
    clock.advance(timedelta(hours=2))  # every source is due again
    add_news(region, "/bbsr/presse/feed.atom", "Eilmeldung eins")
    add_news(region, "/burgenlandkreis/aktuelles/atom.xml", "Eilmeldung zwei")
    region.requests.clear()

    def failures() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.msg.startswith("cycle failed")]

    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, limit[1]))
    try:
        with caplog.at_level("INFO", logger="revier_feed"):
            worker.collect()
            assert len(failures()) == 1 and "the next cycle in 0:01:00" in failures()[0]
            fetched = len(region.requests)
            assert fetched > 0
            clock.advance(timedelta(seconds=59))
            worker.collect()  # waits
            assert len(failures()) == 1 and len(region.requests) == fetched
            clock.advance(timedelta(seconds=1))
            worker.collect()
            assert len(failures()) == 2 and "the next cycle in 0:02:00" in failures()[1]
            resource.setrlimit(resource.RLIMIT_FSIZE, limit)
            clock.advance(timedelta(seconds=120))
            worker.collect()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
        signal.signal(signal.SIGXFSZ, handler)
    assert len(failures()) == 2 and "a cycle worked again after 2 failed ones" in caplog.text
    assert "unexpected" not in caplog.text and "bug" not in caplog.text, caplog.text
    assert all(
        s.status.value in ("ok", "degraded")
        for s in app.storage.source_states(x.id for x in demo_config.sources).values()
    )


def test_a_worker_whose_cycles_fail_is_unhealthy_at_once_and_says_why(
    demo_config: AppConfig,
    make_app: MakeApp,
    region: SampleRegion,
    clock: Clock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A worker that cannot write its store cannot record its cycles there either: /healthz
    said "ok" until the last stored cycle was 10 minutes old. The worker notes the failure
    in its lock file, over bytes the file has, so the note is written where the store could
    not be (here a file size limit, which a full disk's writes meet the same way)."""
    import resource
    import signal

    from revier_feed.cli import main

    app = make_app(demo_config)
    worker = Worker(app)
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        with app.exclusive("revier-feed run"):
            worker.collect()
            assert app.health().status is HealthStatus.OK
            clock.advance(timedelta(hours=2))
            add_news(region, "/bbsr/presse/feed.atom", "Eilmeldung eins")
            resource.setrlimit(resource.RLIMIT_FSIZE, (LOCK_RECORD_SIZE, limit[1]))
            worker.collect()
            worker.collect()  # waits out its backoff: the note stays
            resource.setrlimit(resource.RLIMIT_FSIZE, limit)
            # What a `serve` or `status` in another process reads.
            health = make_app(demo_config).health()
            assert health.status is HealthStatus.UNHEALTHY
            problem = health.problems[0]
            assert problem.startswith(
                "the worker's cycles fail: 1 in a row since 2021-08-02 10:00:00 UTC, "
                "the next in 0:01:00; the last: "
            ), problem
            assert "could not save source bbsr" in problem, problem
            assert b"\nrevier_worker_cycles_failing 1\n" in render(app.metric_samples())
            assert main(["--config", str(demo_config.config_dir), "status"]) == 0
            assert "its cycles fail: 1 in a row since" in capsys.readouterr().out

            clock.advance(timedelta(minutes=1))
            worker.collect()
            health = make_app(demo_config).health()
            assert health.status is HealthStatus.OK, health.problems
            assert b"\nrevier_worker_cycles_failing 0\n" in render(app.metric_samples())
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
        signal.signal(signal.SIGXFSZ, handler)


def test_news_is_published_while_failed_cycles_back_off(
    demo_config: AppConfig,
    make_app: MakeApp,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cycle failing for a reason of the machine (no file descriptors left to connect)
    must not hold back the news of the cycles before it."""
    import asyncio
    import errno

    app = make_app(demo_config)
    worker = Worker(app)
    worker.collect()  # news, to be published once it settles
    assert not (demo_config.output_dir / "feeds" / "all.atom.xml").exists()

    def out_of_files(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(asyncio.BaseEventLoop, "create_connection", out_of_files)
    clock.advance(timedelta(hours=2))  # sources due, and the news has settled
    worker.collect()  # the cycle fails
    assert feed_text(demo_config).count("<entry>") == 29


def test_a_reload_applies_a_changed_number_of_worker_processes(
    demo_config: AppConfig, make_app: MakeApp, region: SampleRegion, clock: Clock
) -> None:
    """`worker.processes` changed in settings.yaml was read on reload and then ignored
    until a restart."""
    import multiprocessing

    app = make_app(with_worker_settings(demo_config, "worker:\n  processes: 0\n"))
    seen: list[int] = []

    def count(_report: object) -> None:
        seen.append(len(multiprocessing.active_children()))

    app.run_ingest(on_report=count)
    assert max(seen) == 0
    settings = demo_config.config_dir / "settings.yaml"
    text = settings.read_text("utf-8")
    settings.write_text(text.replace("processes: 0", "processes: 1"), "utf-8")
    app.reconfigure(load_config(demo_config.config_dir))
    clock.advance(timedelta(hours=2))
    for path in ("/bbsr/presse/feed.atom", "/burgenlandkreis/aktuelles/atom.xml"):
        add_news(region, path, f"Neu in {path}")
    seen.clear()
    app.run_ingest(on_report=count)
    assert max(seen) >= 1


def test_a_clock_set_back_does_not_hold_the_worker_back(
    demo_config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scheduler keeps its next run times on the clock: set back an hour (an NTP
    correction, a restored VM), it collected and mailed nothing for an hour."""
    offset = [0.0]

    class SteppedClock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.fromtimestamp(time.time() + offset[0], tz)

    for module in (apscheduler.schedulers.base, apscheduler.executors.base):
        monkeypatch.setattr(module, "datetime", SteppedClock)
    monkeypatch.setattr(scheduler, "_wall", lambda: time.time() + offset[0])
    runs: list[float] = []
    collect = Worker.collect

    def counted(self: Worker) -> None:
        runs.append(time.monotonic())
        collect(self)

    monkeypatch.setattr(Worker, "collect", counted)
    stepped: list[float] = []

    def step_back_then_stop() -> None:
        try:
            deadline = time.monotonic() + 20
            while len(runs) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            offset[0] = -3600.0
            stepped.append(time.monotonic())
            while not any(t > stepped[0] for t in runs) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    app = App(demo_config, now=lambda: SteppedClock.now(UTC), processes=0)
    threading.Thread(target=step_back_then_stop, daemon=True).start()
    try:
        with app.exclusive("run"):
            scheduler.run_worker(app, timedelta(seconds=1))
    finally:
        app.close()
    assert stepped, "the worker never ran twice"
    after = [t - stepped[0] for t in runs if t > stepped[0]]
    assert after and after[0] < 3, f"no cycle within 3 s of the clock being set back: {after}"


def test_retention_runs_once_on_the_night_the_clocks_go_back(
    demo_config: AppConfig,
    make_app: MakeApp,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A `retention_at` of 02:30 comes twice on the last Sunday of October (CEST, then
    CET); the job ran twice."""
    worker = Worker(make_app(demo_config))
    clock.now = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    with caplog.at_level(logging.INFO, logger="revier_feed"):
        worker.retention()
        clock.advance(timedelta(hours=1))  # 02:30 CET
        worker.retention()
        assert sum("retention: removed" in r.getMessage() for r in caplog.records) == 1
        clock.advance(timedelta(days=1))
        worker.retention()
    assert sum("retention: removed" in r.getMessage() for r in caplog.records) == 2


def test_news_waiting_to_be_published_when_the_clock_is_set_back_is_not_held(
    demo_config: AppConfig, make_app: MakeApp, clock: Clock
) -> None:
    """The publish debounce kept its times on the clock: set back an hour just after news
    came (chrony's step soon after boot), the feeds appeared an hour late."""
    worker = Worker(make_app(demo_config))
    worker.collect()  # news, to be published once it settles (30 s)
    feed = demo_config.output_dir / "feeds" / "all.atom.xml"
    assert not feed.exists()
    clock.now -= timedelta(hours=1)
    worker.clock_set_back(timedelta(hours=1))  # what the worker's watch does
    waited = timedelta(0)
    while not feed.exists() and waited < timedelta(hours=2):
        clock.advance(timedelta(minutes=1))
        waited += timedelta(minutes=1)
        worker.collect()
    assert waited <= timedelta(minutes=1), f"published only after {waited}"
