"""Selector regression tests: every fixture saved with `sources test --save-fixture` must
still yield the same items with today's parser and selectors.

Fixtures live in ``config/fixtures/<source>/`` (the region's real sites),
``tests/data/source_fixtures/<source>/`` (the sample region) and the folders the environment
variable ``REVIER_FEED_FIXTURES`` names (an installation's own, separated by ":"); each
holds the document, a ``sources.yaml`` with the source, and ``expected.json`` with what was
found.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from revier_feed.config import load_config
from revier_feed.models import FetchResult
from revier_feed.normalize import normalize
from revier_feed.parse import parse

ROOT = Path(__file__).parent.parent
NAMED = [Path(p) for p in os.environ.get("REVIER_FEED_FIXTURES", "").split(os.pathsep) if p]
PARENTS = [ROOT / "config" / "fixtures", ROOT / "tests" / "data" / "source_fixtures", *NAMED]
FIXTURES = sorted(
    folder
    for parent in PARENTS
    if parent.is_dir()
    for folder in parent.iterdir()
    if (folder / "expected.json").is_file()
)
for named in NAMED:
    if not any(folder.parent == named for folder in FIXTURES):
        raise LookupError(
            f"REVIER_FEED_FIXTURES names {named}, which holds no fixture "
            "(<source>/expected.json): name the folder `sources test --save-fixture` printed"
        )
CONTENT_TYPES = {".html": "text/html", ".xml": "application/xml", ".json": "application/json"}


def test_there_are_fixtures() -> None:
    assert len(FIXTURES) >= 2


def test_a_folder_named_that_holds_no_fixtures_fails_the_run(tmp_path: Path) -> None:
    """A folder REVIER_FEED_FIXTURES names that is missing (a relative path, read from the
    repository's folder) or holds no fixture folders was passed over: the run was green
    without testing the admin's fixtures."""
    import subprocess
    import sys

    for named in (tmp_path / "missing", tmp_path):
        ran = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-k",
                "not fails_the_run",
                __file__,
            ],
            env={**os.environ, "REVIER_FEED_FIXTURES": str(named)},
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert ran.returncode != 0
        assert f"REVIER_FEED_FIXTURES names {named}, which holds no fixture" in ran.stdout


@pytest.mark.parametrize("folder", FIXTURES, ids=[f.name for f in FIXTURES])
def test_fixture_still_parses_the_same(folder: Path, tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    shutil.copy(folder / "sources.yaml", config_dir / "sources.yaml")
    (config_dir / "settings.yaml").write_text("timezone: Europe/Berlin\n", encoding="utf-8")
    (spec,) = load_config(config_dir).sources
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    (document,) = folder.glob("document.*")
    fetched = FetchResult(
        url=expected["url"],
        status_code=200,
        headers={"content-type": expected.get("content_type") or CONTENT_TYPES[document.suffix]},
        content=document.read_bytes(),
    )
    # The time the fixture was saved: relative dates ("vor 3 Tagen") read as they did then.
    now = datetime.fromisoformat(expected["now"]) if "now" in expected else datetime.now(UTC)
    items = [
        normalize(raw, spec, now)
        for raw in parse(spec, fetched, now, ZoneInfo("Europe/Berlin")).items
    ]
    assert [(i.title, i.url) for i in items] == [(e["title"], e["url"]) for e in expected["items"]]
    for item, truth in zip(items, expected["items"], strict=True):
        assert item.date_estimated == truth["date_estimated"]
        if not truth["date_estimated"]:
            assert item.published_at == datetime.fromisoformat(truth["published"])
