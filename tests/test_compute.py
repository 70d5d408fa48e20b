"""Worker processes normalize and tag exactly as the ingest thread does, compute the story
features of new items while the cycle collects, and never cost a source when one of them
dies."""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import pickle
import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from revier_feed import compute, ingest
from revier_feed.app import App
from revier_feed.compute import AUTO_MAX_PROCESSES, ItemWorkers, auto_processes, normalize_items
from revier_feed.config import AppConfig
from revier_feed.exceptions import ConfigError, ConfigIssue, FetchError, ParseError
from revier_feed.models import (
    FetchResult,
    ItemRule,
    RawItem,
    SourceKind,
    SourceSpec,
    SourceState,
    StoryText,
)
from revier_feed.placement import PreparedFeatures
from revier_feed.storage import Storage
from revier_feed.story_work import Pending, source_features, story_texts
from revier_feed.tag import Tagger

from .conftest import Clock

NOW = datetime(2021, 8, 2, 8, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
SPEC = SourceSpec(
    id="kreis",
    name="Landkreis",
    kind=SourceKind.FEED,
    url="https://kreis.example/feed.xml",
    interval=timedelta(hours=1),
)
RAWS = [
    RawItem(
        title=f"Radweg in Borna Nummer {n} eröffnet",
        link=f"https://kreis.example/presse/{n}.html?utm_source=rss",
        summary_html=f"<p>Der Landkreis Leipzig eröffnet Radweg {n}.</p><script>x</script>",
        published=datetime(2021, 6, 10, 8, n, tzinfo=UTC),
    )
    for n in range(5)
]


def with_store(config: AppConfig, path: Path) -> AppConfig:
    """``config`` with its store at ``path``."""
    storage = config.settings.storage.model_copy(update={"url": f"sqlite:///{path}"})
    settings = config.settings.model_copy(update={"storage": storage})
    return dataclasses.replace(config, settings=settings)


def stored_items(app: App, config: AppConfig) -> list[tuple[object, ...]]:
    items = app.storage.recent_items([s.id for s in config.sources], 1000)
    return sorted(
        (
            s.item.source_id,
            s.item.key,
            s.item.fingerprint,
            s.item.title,
            s.item.summary_html,
            s.item.tags,
            s.item.districts,
            s.item.backlog,
        )
        for s in items
    )


def test_worker_processes_store_what_the_ingest_thread_stores(
    tmp_path: Path, demo_config: AppConfig, clock: Clock
) -> None:
    results = []
    for processes in (0, 1):
        config = with_store(demo_config, tmp_path / f"store-{processes}.sqlite3")
        with App(config, now=clock, rng=random.Random(7), processes=processes) as app:
            app.run_ingest()
            results.append(stored_items(app, config))
    assert results[0] == results[1]
    assert len(results[0]) == 36


def test_the_workers_stop_before_the_items_are_placed_in_stories(
    tmp_path: Path, demo_config: AppConfig, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Story placement comes after every item is normalized: the normalizing workers'
    memory is free for the story index (and its own processes) by then."""
    from revier_feed import ingest

    config = with_store(demo_config, tmp_path / "store.sqlite3")
    place = ingest.placement.place_in_stories
    alive_while_placing: list[int] = []

    def placing(*args: object, **kwargs: object) -> None:
        alive_while_placing.append(len(multiprocessing.active_children()))
        place(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest.placement, "place_in_stories", placing)
    with App(config, now=clock, rng=random.Random(7), processes=1) as app:
        app.run_ingest()
        assert len(stored_items(app, config)) == 36
        assert app.storage.sources_with_unplaced_items() == []
    assert alive_while_placing == [0]


def test_a_worker_leaves_out_what_the_source_s_rules_leave_out() -> None:
    spec = dataclasses.replace(SPEC, exclude=ItemRule(any=("re:Nummer [13]\\b",)))
    expected = normalize_items(RAWS, spec, NOW, Tagger([], []))
    assert [i for i, _ in expected[0]] == [0, 2, 4]
    assert [title for title, _ in expected[2]] == [RAWS[1].title, RAWS[3].title]

    async def run() -> object:
        with ThreadPoolExecutor(1) as local:
            workers = ItemWorkers(Tagger([], []), local, processes=1)
            try:
                return await workers.normalize(RAWS, spec, NOW)
            finally:
                workers.close()

    assert asyncio.run(run()) == expected


def test_a_dead_worker_costs_no_source(caplog: pytest.LogCaptureFixture) -> None:
    tagger = Tagger([], [])
    expected = normalize_items(RAWS, SPEC, NOW, tagger)
    texts = story_texts([item for _, item in expected[0]])
    expected_features = source_features(texts, frozenset(), [])

    async def run() -> tuple[list[object], list[object]]:
        with ThreadPoolExecutor(1) as local:
            workers = ItemWorkers(tagger, local, processes=1)
            try:
                first = await workers.normalize(RAWS, SPEC, NOW)
                features = [await workers.story_features(texts, frozenset(), [])]
                pool = workers._start()
                assert pool is not None
                for pid in list(pool._processes):  # a worker killed from outside (OOM killer)
                    os.kill(pid, signal.SIGKILL)
                features.append(await workers.story_features(texts, frozenset(), []))
                second = await workers.normalize(RAWS, SPEC, NOW)
                third = await workers.normalize(RAWS, SPEC, NOW)
            finally:
                workers.close()
        return [first, second, third], features

    normalized, features = asyncio.run(run())
    assert normalized == [expected] * 3
    assert features == [expected_features] * 2
    assert "a worker process died" in caplog.text
    assert expected[0][0][1].url == "https://kreis.example/presse/0.html"  # cleaned
    assert len(expected_features[1]) == len(RAWS)


def test_a_dead_worker_is_reported_once_however_much_work_was_waiting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every piece of work queued for the workers when they died said so: a cycle's log got
    hundreds of lines of the same warning."""
    tagger = Tagger([], [])
    texts = story_texts([item for _, item in normalize_items(RAWS, SPEC, NOW, tagger)[0]])
    expected = source_features(texts, frozenset(), [])

    async def run() -> list[object]:
        with ThreadPoolExecutor(1) as local:
            workers = ItemWorkers(tagger, local, processes=1)
            try:
                await workers.story_features(texts, frozenset(), [])  # started
                pool = workers._start()
                assert pool is not None
                waiting = [
                    asyncio.create_task(workers.story_features(texts, frozenset(), []))
                    for _ in range(40)
                ]
                await asyncio.sleep(0)  # all of them handed to the pool
                for pid in list(pool._processes):
                    os.kill(pid, signal.SIGKILL)
                return list(await asyncio.gather(*waiting))
            finally:
                workers.close()

    assert asyncio.run(run()) == [expected] * 40
    assert caplog.text.count("a worker process died") == 1


FEED = FetchResult(
    url="https://kreis.example/feed.xml",
    status_code=200,
    headers={"content-type": "application/rss+xml; charset=utf-8"},
    content=(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Kreis</title>'
        + "".join(
            f"<item><title>Radweg {n} in Borna</title><link>https://kreis.example/{n}.html"
            f"?utm_source=rss</link><description>&lt;p&gt;Der Landkreis Leipzig eröffnet "
            f"Radweg {n}.&lt;/p&gt;&lt;script&gt;x&lt;/script&gt;</description>"
            f"<pubDate>Thu, 10 Jun 2021 08:0{n}:00 +0200</pubDate></item>"
            for n in range(5)
        )
        + "</channel></rss>"
    ).encode(),
)


def test_a_document_read_on_a_worker_is_read_as_here(caplog: pytest.LogCaptureFixture) -> None:
    # Parsing moves to the worker with the normalizing: the same items, warnings and
    # count; a document that cannot be parsed fails there with the same error; a worker
    # that dies sends the document back here.
    tagger = Tagger([], [])
    broken = dataclasses.replace(FEED, content=b"<html><body>Wartungsarbeiten</body></html>")

    async def read_all(processes: int, kill: bool = False) -> list[object]:
        with ThreadPoolExecutor(1) as local:
            workers = ItemWorkers(tagger, local, processes=processes)
            try:
                read = [await workers.read(SPEC, FEED, NOW, BERLIN)]
                with pytest.raises(ParseError) as failed:
                    await workers.read(SPEC, broken, NOW, BERLIN)
                read.append((failed.value.source_id, failed.value.kind, str(failed.value)))
                if kill:
                    pool = workers._start()
                    assert pool is not None
                    for pid in list(pool._processes):
                        os.kill(pid, signal.SIGKILL)
                    read.append(await workers.read(SPEC, FEED, NOW, BERLIN))
            finally:
                workers.close()
        return read

    here = asyncio.run(read_all(0))
    _, found, (done, skipped, excluded), features = here[0]  # type: ignore[misc]
    assert found == 5 and len(done) == 5 and not skipped and not excluded and features is None
    assert done[0][1].url == "https://kreis.example/0.html"  # normalized: tracking gone
    assert "script" not in done[0][1].summary_html
    assert here[1][0] == "kreis"  # type: ignore[index]
    assert asyncio.run(read_all(1, kill=True)) == [here[0], here[1], here[0]]
    assert "a worker process died" in caplog.text


def test_a_first_fetch_gets_its_story_features_with_its_items() -> None:
    # A source's first fetch: every item is new and nothing of the source is known, so the
    # worker that reads the document computes the items' story features in the same trip,
    # the same as they would be computed afterwards. Read here, it computes none.
    tagger = Tagger([], [])

    async def read(processes: int) -> object:
        with ThreadPoolExecutor(1) as local:
            workers = ItemWorkers(tagger, local, processes=processes)
            try:
                return await workers.read(SPEC, FEED, NOW, BERLIN, features=True)
            finally:
                workers.close()

    _, _, (done, _, _), features = asyncio.run(read(1))  # type: ignore[misc]
    expected = source_features(story_texts([item for _, item in done]), frozenset(), [])
    assert features == expected
    assert len(expected[1]) == 5
    assert asyncio.run(read(0))[3] is None  # type: ignore[index]


def test_a_first_fetch_whose_story_features_fail_still_gives_its_items(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The features are a head start: a bug in them (made here on purpose) must not cost
    # the source its items. Placement computes them again and reports the error.
    def broken(*_: object) -> object:
        raise RuntimeError("a bug in the story features")

    monkeypatch.setattr(compute, "source_features", broken)
    monkeypatch.setattr(compute, "_worker_tagger", Tagger([], []))  # as a worker has it
    _, count, (done, _, _), features = compute.read_document(SPEC, FEED, NOW, BERLIN, True)
    assert count == len(done) == 5 and features is None


def test_errors_cross_processes_whole() -> None:
    errors = [
        ParseError("kreis", message="not a feed"),
        FetchError("kreis", "https://kreis.example/feed.xml", kind="http_5xx", message="503"),
        ConfigError([ConfigIssue("sources.yaml", 3, "sources[0].url", "not a URL")]),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error)
        assert repr(vars(copy)) == repr(vars(error))  # ConfigIssue compares by identity
    try:
        try:
            raise ValueError("mismatched tag: line 1")
        except ValueError as e:
            raise ParseError("kreis", message="not well-formed") from e
    except ParseError as error:
        caused = error
    assert str(pickle.loads(pickle.dumps(caused))) == str(caused)
    assert str(caused) == "not well-formed: ValueError: mismatched tag: line 1"


def test_auto_starts_workers_only_once_a_cycle_brings_many_items() -> None:
    # A worker's usual cycle (a few new items) must not pay for starting processes; a first
    # cycle or a catch-up after an outage gets them once it has brought enough items.
    tagger = Tagger([], [])
    expected = normalize_items(RAWS, SPEC, NOW, tagger)

    async def run() -> tuple[list[object], list[int]]:
        with ThreadPoolExecutor(1) as local:
            workers = ItemWorkers(tagger, local, processes=1, start_after=2 * len(RAWS))
            results, children = [], []
            try:
                for _ in range(3):
                    results.append(await workers.normalize(RAWS, SPEC, NOW))
                    children.append(len(multiprocessing.active_children()))
            finally:
                workers.close()
        return results, children

    results, children = asyncio.run(run())
    assert results == [expected] * 3
    assert children[:2] == [0, 0] and children[2] >= 1


def test_a_cycle_of_many_new_sources_has_its_workers_from_the_first_document() -> None:
    # A first cycle of 500 feeds normalized its first 1,000 items on the main process while
    # the other core idled; sources read for the first time tell how many items will come.
    tagger = Tagger([], [])
    expected = normalize_items(RAWS, SPEC, NOW, tagger)
    start_after = 1000
    enough = start_after // compute.FIRST_FETCH_ITEMS

    async def first_document(new_sources: int) -> tuple[object, int]:
        with ThreadPoolExecutor(1) as local:
            workers = ItemWorkers(tagger, local, processes=1, start_after=start_after)
            try:
                workers.expect(new_sources)
                normalized = await workers.normalize(RAWS, SPEC, NOW)
                return normalized, len(multiprocessing.active_children())
            finally:
                workers.close()

    assert asyncio.run(first_document(enough - 1)) == (expected, 0)
    normalized, children = asyncio.run(first_document(enough))
    assert normalized == expected and children >= 1


def test_a_source_cancelled_while_the_workers_start_leaves_them_to_the_others() -> None:
    # A source stopped (a cycle told to stop) while it waited for the starting workers
    # cancelled the start itself, and every other source of the cycle with it.
    tagger = Tagger([], [])
    expected = normalize_items(RAWS, SPEC, NOW, tagger)

    async def run() -> list[object]:
        with ThreadPoolExecutor(1) as local:
            local.submit(time.sleep, 0.3)  # the ingest thread is busy: the start waits
            workers = ItemWorkers(tagger, local, processes=1, start_after=1000)
            try:
                workers.expect(1000 // compute.FIRST_FETCH_ITEMS)
                stopped = asyncio.ensure_future(workers.normalize(RAWS, SPEC, NOW))
                other = asyncio.ensure_future(workers.normalize(RAWS, SPEC, NOW))
                await asyncio.sleep(0.05)
                stopped.cancel()
                return await asyncio.gather(stopped, other, return_exceptions=True)
            finally:
                workers.close()

    stopped, other = asyncio.run(run())
    assert isinstance(stopped, asyncio.CancelledError)
    assert other == expected


def test_only_sources_never_asked_count_as_first_fetches() -> None:
    # Fifty sites that are down must not start the workers every cycle for nothing.
    assert ingest._never_read(None)
    assert ingest._never_read(SourceState("neu"))
    failing = SourceState("tot", error_count=4, last_attempt_at=NOW, last_error_kind="dns")
    assert not ingest._never_read(failing)
    assert not ingest._never_read(SourceState("alt", last_attempt_at=NOW, last_success_at=NOW))


def test_a_first_cycle_with_workers_from_the_start_stores_what_one_without_does(
    tmp_path: Path, demo_config: AppConfig, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The demo's few sources count as many: its first cycle starts the workers at once.
    monkeypatch.setattr(compute, "FIRST_FETCH_ITEMS", compute.AUTO_START_ITEMS)
    results = []
    for processes in (0, "auto"):
        config = with_store(demo_config, tmp_path / f"store-{processes}.sqlite3")
        with App(config, now=clock, rng=random.Random(7), processes=processes) as app:
            app.run_ingest()
            results.append((stored_items(app, config), _stories_of(app, config)))
    assert results[0] == results[1]
    assert len(results[0][0]) == 36


def test_auto_means_one_worker_per_core_and_none_on_one_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0})
    assert auto_processes() == 0
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1})
    assert auto_processes() == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(64)))
    assert auto_processes() == AUTO_MAX_PROCESSES


def _stories_of(app: App, config: AppConfig) -> set[tuple[tuple[str, float], ...]]:
    """Each story as its members' keys with their similarities (rounded: the order of a
    sum over a set of words depends on the process's string hashes)."""
    found = app.storage.recent_stories([s.id for s in config.sources], 1000)
    return {
        tuple(sorted((m.item.key, round(m.story_similarity or 0.0, 9)) for m in s.members))
        for s in found
    }


def _first_cycle(
    tmp_path: Path, name: str, demo_config: AppConfig, clock: Clock, processes: int
) -> tuple[set[tuple[tuple[str, float], ...]], dict[str, bytes]]:
    """The stories and the sources' learned boilerplate after a first cycle."""
    config = with_store(demo_config, tmp_path / f"{name}.sqlite3")
    with App(config, now=clock, rng=random.Random(7), processes=processes) as app:
        (report,) = {(r.error, r.status.value) for r in app.run_ingest().reports}
        assert report == (None, "ok")
        assert app.storage.sources_with_unplaced_items() == []
        with app.storage.story_index() as store:
            learned = {s.id: store.boilerplate(s.id) for s in config.sources}
        return _stories_of(app, config), learned


def test_story_features_prepared_while_collecting_give_the_same_stories(
    tmp_path: Path,
    demo_config: AppConfig,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A cycle computes its new items' story features as each source is collected (on the
    workers, if any); placing them then reads no item back from the store and gives the
    stories and boilerplate that computing the features after collecting gives."""
    with monkeypatch.context() as later:
        later.setattr(ingest, "_prepare_features", _not_prepared)
        expected = _first_cycle(tmp_path, "later", demo_config, clock, processes=0)
    stories, _ = expected
    assert any(len(story) > 1 for story in stories)  # the sample region has republications

    def read_back(*_args: object) -> None:
        raise AssertionError("the items were read back from the store")

    monkeypatch.setattr(Storage, "story_texts", read_back)
    for processes in (0, 1):
        assert _first_cycle(tmp_path, f"p{processes}", demo_config, clock, processes) == expected
    assert "not prepared" not in caplog.text


async def _not_prepared(*_args: object) -> None:
    return None


def test_features_that_cannot_be_prepared_are_computed_when_placing(
    tmp_path: Path,
    demo_config: AppConfig,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unexpected error while preparing a source's features (a bug) costs neither the
    source nor its stories: they are computed from the stored items when placing."""
    expected = _first_cycle(tmp_path, "prepared", demo_config, clock, processes=0)
    broken_for = demo_config.sources[0].id

    def failing(texts: list[StoryText], known: frozenset[int], recent: list[bytes]) -> object:
        if texts[0].source_id == broken_for:
            raise RuntimeError("boom")
        return source_features(texts, known, recent)

    monkeypatch.setattr(compute, "source_features", failing)
    assert _first_cycle(tmp_path, "broken", demo_config, clock, processes=0) == expected
    assert f"source {broken_for}: story features not prepared" in caplog.text


def test_prepared_features_are_used_only_for_exactly_the_unplaced_items() -> None:
    """Items left unplaced by an interrupted cycle were not part of the batch the features
    were prepared with (nor its boilerplate): then the source's features are computed from
    the store, all of its unplaced items together."""
    features = source_features(
        story_texts([item for _, item in normalize_items(RAWS, SPEC, NOW, Tagger([], []))[0]]),
        frozenset(),
        [],
    )
    keys = [f"k{n}" for n in range(len(RAWS))]

    def prepared(known: frozenset[int] = frozenset()) -> PreparedFeatures:
        ready = PreparedFeatures()
        ready.add("kreis", keys, known, features)
        return ready

    unplaced = [(100 + n, key) for n, key in enumerate(keys)]
    taken = prepared().take("kreis", unplaced[::-1])
    assert taken is not None
    learned, found = taken
    assert learned and learned == features[0]  # "Radweg in Borna Nummer": to be stored
    assert prepared(learned).take("kreis", unplaced[::-1]) == (None, found)  # known already
    by_id = {p.item_id: p for p in found}
    assert sorted(by_id) == [100, 101, 102, 103, 104]
    assert by_id[102] == Pending(features[1][2].published_at, 102, features[1][2].features)
    assert prepared().take("kreis", [*unplaced, (7, "left-over")]) is None
    assert prepared().take("kreis", unplaced[:-1]) is None
    assert prepared().take("kreis", [*unplaced[:-1], (7, "other")]) is None
    assert prepared().take("kammer", unplaced) is None
