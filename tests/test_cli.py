"""The command line as an admin uses it: run --once, sources, demo."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from revier_feed.cli import main
from revier_feed.config import AppConfig
from revier_feed.demo.server import Response, SampleRegion
from revier_feed.storage import VERSION

from .conftest import write_config


def test_run_once_prints_summary(
    demo_config: AppConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(demo_config.config_dir), "run", "--once"]) == 0
    out = capsys.readouterr().out
    assert "Collection summary" in out
    for source in demo_config.sources:
        assert source.id in out
    assert "6 sources: 36 new, 0 updated, 0 failed" in out
    assert f"published {demo_config.output_dir / 'feeds' / 'all.rss.xml'}" in out


def test_sources_shows_health_problems_first(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    region.add_route("/bbsr/presse/feed.atom", Response(404, b"weg"))
    assert main(["--config", str(demo_config.config_dir), "run", "--once"]) == 0
    capsys.readouterr()
    assert main(["--config", str(demo_config.config_dir), "sources"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert "bbsr" in rows[0] and "failing" in rows[0]
    assert "[http_4xx] HTTP 404" in out
    assert sum("│ ok " in row for row in rows) == 5


def test_run_once_fails_when_every_source_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_config(
        tmp_path,
        """
        sources:
          - {id: weg, name: Weg, url: "http://127.0.0.1:9/feed.xml"}
        """,
    )
    assert main(["--config", str(folder), "run", "--once"]) == 1
    assert "[connect] could not connect" in capsys.readouterr().out


def test_store_from_newer_version_is_a_clear_error(
    demo_config: AppConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(demo_config.config_dir), "sources"]) == 0
    store = demo_config.storage_url.removeprefix("sqlite:///")
    with sqlite3.connect(store) as db:
        db.execute("update schema_version set version = ?", (VERSION + 5,))
    assert main(["--config", str(demo_config.config_dir), "run", "--once"]) == 1
    assert "upgrade revier-feed or restore a backup" in capsys.readouterr().err


def test_demo_command_as_a_newcomer_runs_it(tmp_path: Path) -> None:
    # The real console script in a clean process, as the README tells a newcomer.
    exe = Path(sys.executable).parent / "revier-feed"
    done = subprocess.run(
        [str(exe), "demo", "--output", str(tmp_path / "demo-output")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert done.returncode == 0, done.stderr
    assert "6 sources: 36 new, 0 updated, 0 failed" in done.stdout
    assert "Demo output in" in done.stdout
    rss = (tmp_path / "demo-output" / "feeds" / "all.rss.xml").read_text(encoding="utf-8")
    atom = (tmp_path / "demo-output" / "feeds" / "all.atom.xml").read_text(encoding="utf-8")
    for text in (rss, atom):
        assert "Neue Studien sollen ländliche Räume im Mitteldeutschen Revier stärken" in text
        assert "tediro gewinnt Clusterpreis Life Sciences" in text
    # A second run starts fresh and gives the same result.
    again = subprocess.run(
        [str(exe), "demo", "--output", str(tmp_path / "demo-output")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0 and "36 new" in again.stdout
