"""The scheduled worker as a real process: collects on its own, stops cleanly on signals."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from revier_feed.demo import prepare_demo
from revier_feed.demo.server import Response, SampleRegion


def start_worker(config_dir: Path) -> subprocess.Popen[str]:
    exe = Path(sys.executable).parent / "revier-feed"
    return subprocess.Popen(
        [str(exe), "--config", str(config_dir), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


#: A fast worker for tests; retention off (the sample news is from 2021).
WORKER_SETTINGS = """
worker:
  tick: 1s
  publish_delay: 1s
  retention: 36500d
  shutdown_timeout: 5s
"""


def worker_config(tmp_path: Path, region: SampleRegion) -> Path:
    config_dir = prepare_demo(tmp_path / "demo", region.base_url)
    settings = config_dir / "settings.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + WORKER_SETTINGS, encoding="utf-8")
    return config_dir


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_worker_collects_publishes_and_stops_on_signal(
    tmp_path: Path, region: SampleRegion, signum: int
) -> None:
    config_dir = worker_config(tmp_path, region)
    feed = config_dir.parent / "feeds" / "all.atom.xml"
    worker = start_worker(config_dir)
    try:
        wait_for(feed.exists)
        worker.send_signal(signum)
        _, err = worker.communicate(timeout=15)
    finally:
        worker.kill()
    assert worker.returncode == 0, err
    assert "worker started: 6 sources" in err
    assert "worker stopped" in err
    # 36 items of 29 stories, one entry per story
    assert feed.read_text(encoding="utf-8").count("<entry>") == 29
    store = config_dir.parent / "state" / "revier-feed.sqlite3"
    with sqlite3.connect(store) as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        assert db.execute("select count(*) from items").fetchone() == (36,)
    assert not list(feed.parent.glob(".*.tmp")), "no half-written files are left"


def test_signal_during_a_fetch_lets_that_source_finish(
    tmp_path: Path, region: SampleRegion
) -> None:
    config_dir = worker_config(tmp_path, region)
    slow_path = "/bbsr/presse/feed.atom"
    body = region.read_site_file(slow_path)
    assert body is not None
    region.add_route(
        slow_path, Response(200, body, {"Content-Type": "application/atom+xml"}, delay=1.5)
    )
    worker = start_worker(config_dir)
    try:
        wait_for(lambda: slow_path in region.requests)
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=15)
    finally:
        worker.kill()
    assert worker.returncode == 0, err
    store = config_dir.parent / "state" / "revier-feed.sqlite3"
    with sqlite3.connect(store) as db:
        # The source in flight was finished and stored whole, not cut off half-way.
        assert db.execute("select count(*) from items where source_id='bbsr'").fetchone() == (5,)
        assert db.execute("select status from sources where id='bbsr'").fetchone() == ("ok",)


def test_one_collector_per_store_even_after_kill_9(tmp_path: Path, region: SampleRegion) -> None:
    config_dir = worker_config(tmp_path, region)
    feed = config_dir.parent / "feeds" / "all.atom.xml"
    exe = Path(sys.executable).parent / "revier-feed"
    worker = start_worker(config_dir)
    try:
        wait_for(feed.exists)
        second = subprocess.run(
            [str(exe), "--config", str(config_dir), "run"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 1
        assert f"already collecting for this store: pid {worker.pid} on" in second.stderr
        assert "`revier-feed run` since" in second.stderr
        once = subprocess.run(
            [str(exe), "--config", str(config_dir), "run", "--once"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert once.returncode == 1 and f"pid {worker.pid}" in once.stderr
        status = subprocess.run(
            [str(exe), "--config", str(config_dir), "status", "--json"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        report = json.loads(status.stdout)
        assert report["worker"]["running"] is True
        assert f"pid {worker.pid}" in report["worker"]["holder"]
        assert report["sources"]["by_status"] == {"ok": 6}
        assert report["stories"]["new_24h"] == 29
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=10)
    # The kernel dropped the lock with the killed process: a new worker starts at once.
    after = subprocess.run(
        [str(exe), "--config", str(config_dir), "run", "--once"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert after.returncode == 0, after.stderr
    status = subprocess.run(
        [str(exe), "--config", str(config_dir), "status"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert status.stdout.startswith("worker: not running")
