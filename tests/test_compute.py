"""Worker processes normalize and tag exactly as the ingest thread does, and never cost a
source when one of them dies."""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import random
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from revier_feed.app import App
from revier_feed.compute import AUTO_MAX_PROCESSES, ItemWorkers, auto_processes, normalize_items
from revier_feed.config import AppConfig
from revier_feed.models import RawItem, SourceKind, SourceSpec
from revier_feed.tag import Tagger

from .conftest import Clock

NOW = datetime(2021, 8, 2, 8, 0, tzinfo=UTC)
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
        storage = demo_config.settings.storage.model_copy(
            update={"url": f"sqlite:///{tmp_path / f'store-{processes}.sqlite3'}"}
        )
        settings = demo_config.settings.model_copy(update={"storage": storage})
        config = dataclasses.replace(demo_config, settings=settings)
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

    storage = demo_config.settings.storage.model_copy(
        update={"url": f"sqlite:///{tmp_path / 'store.sqlite3'}"}
    )
    settings = demo_config.settings.model_copy(update={"storage": storage})
    config = dataclasses.replace(demo_config, settings=settings)
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


def test_a_dead_worker_costs_no_source(caplog: pytest.LogCaptureFixture) -> None:
    tagger = Tagger([], [])
    expected = normalize_items(RAWS, SPEC, NOW, tagger)

    async def run() -> list[object]:
        with ThreadPoolExecutor(1) as local:
            workers = ItemWorkers(tagger, local, processes=1)
            try:
                first = await workers.normalize(RAWS, SPEC, NOW)
                pool = workers._start()
                assert pool is not None
                for pid in list(pool._processes):  # a worker killed from outside (OOM killer)
                    os.kill(pid, signal.SIGKILL)
                second = await workers.normalize(RAWS, SPEC, NOW)
                third = await workers.normalize(RAWS, SPEC, NOW)
            finally:
                workers.close()
        return [first, second, third]

    assert asyncio.run(run()) == [expected] * 3
    assert "a worker process died" in caplog.text
    assert expected[0][0][1].url == "https://kreis.example/presse/0.html"  # cleaned


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


def test_auto_means_one_worker_per_core_and_none_on_one_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0})
    assert auto_processes() == 0
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1})
    assert auto_processes() == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(64)))
    assert auto_processes() == AUTO_MAX_PROCESSES
