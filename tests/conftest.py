"""Shared fixtures: the sample region on a real local HTTP server, config folders, a clock."""

from __future__ import annotations

import json
import random
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from revier_feed.app import App
from revier_feed.config import AppConfig, load_config
from revier_feed.demo import SampleRegion, prepare_demo
from revier_feed.models import Item

DATA = Path(__file__).parent / "data"


@pytest.fixture
def region() -> Iterator[SampleRegion]:
    """The bundled sample websites, served on an ephemeral port of 127.0.0.1."""
    with SampleRegion() as server:
        yield server


@pytest.fixture
def expected_items() -> list[dict[str, Any]]:
    """The labelled truth about every item of the sample region."""
    data = json.loads((DATA / "sample_region" / "expected.json").read_text(encoding="utf-8"))
    items: list[dict[str, Any]] = data["items"]
    return items


class Clock:
    """A controllable clock for the app (tests never sleep to move time)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2021, 8, 2, 8, 0, tzinfo=UTC))


@pytest.fixture
def demo_config(tmp_path: Path, region: SampleRegion) -> AppConfig:
    """The demo configuration, pointing at the running sample region.

    Retries within a cycle wait 50 ms instead of seconds, so failure tests stay fast.
    """
    config_dir = prepare_demo(tmp_path / "demo", region.base_url)
    settings = config_dir / "settings.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("fetch:\n", "fetch:\n  retry_backoff: 0.05s\n"), "utf-8")
    return load_config(config_dir)


@pytest.fixture
def make_app(clock: Clock) -> Iterator[Callable[[AppConfig], App]]:
    """Open an App with the test clock and a seeded random source; closed after the test."""
    apps: list[App] = []

    def make(config: AppConfig) -> App:
        app = App(config, now=clock, rng=random.Random(7))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


def write_config(folder: Path, sources: str, settings: str = "", **others: str) -> Path:
    """Write a configuration folder; the YAML texts are dedented.

    The store and output go inside ``folder`` unless ``settings`` says otherwise.
    """
    folder.mkdir(parents=True, exist_ok=True)
    default_settings = """
        storage:
          path: state/store.sqlite3
        output:
          dir: out
        fetch:
          timeout: 5s
          retry_backoff: 0.05s
    """
    (folder / "settings.yaml").write_text(
        textwrap.dedent(settings or default_settings), encoding="utf-8"
    )
    (folder / "sources.yaml").write_text(textwrap.dedent(sources), encoding="utf-8")
    for name, text in others.items():
        (folder / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def make_item(**fields: Any) -> Item:
    """A normalized item for pure unit tests; every field can be overridden."""
    defaults: dict[str, Any] = {
        "source_id": "kreis",
        "key": "k",
        "url": None,
        "title": "Titel",
        "summary_html": "",
        "summary_text": "",
        "content_html": "",
        "author": None,
        "published_at": datetime(2021, 6, 10, tzinfo=UTC),
        "date_estimated": False,
        "updated_at": None,
        "categories": (),
        "tags": frozenset(),
        "image": None,
        "fingerprint": "1:x",
    }
    return Item(**{**defaults, **fields})
