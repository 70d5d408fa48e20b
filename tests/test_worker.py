"""The scheduled worker as a real process: collects on its own, stops cleanly on signals."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from revier_feed._utils import LOCK_RECORD_SIZE, LockHolder, ProcessLock
from revier_feed.app import App
from revier_feed.config import load_config
from revier_feed.demo.server import Response, SampleRegion
from revier_feed.exceptions import AlreadyRunning

from .conftest import prepare_test_demo, write_config


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
    config_dir = prepare_test_demo(tmp_path / "demo", region.base_url)
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


def signal_while_fetching(
    process: subprocess.Popen[str], region: SampleRegion, path: str, signum: int
) -> str:
    """Send ``signum`` to ``process`` once it has asked for ``path``; its standard error."""
    try:
        wait_for(lambda: path in region.requests)
        process.send_signal(signum)
        _, err = process.communicate(timeout=15)
    finally:
        process.kill()
    return err


def slow_feed(region: SampleRegion, delay: float) -> str:
    """The sample region's BBSR feed, answered ``delay`` seconds late; its path."""
    path = "/bbsr/presse/feed.atom"
    body = region.read_site_file(path)
    assert body is not None
    region.add_route(path, Response(200, body, {"Content-Type": "application/atom+xml"}, delay))
    return path


def test_ctrl_c_in_run_once_ends_it_without_a_traceback_and_loses_nothing(
    tmp_path: Path, region: SampleRegion
) -> None:
    """Ctrl-C in `run --once` ended it with a KeyboardInterrupt traceback, as if it had
    broken something (found by a probe, session 24)."""
    config_dir = worker_config(tmp_path, region)
    slow_path = slow_feed(region, delay=3)
    exe = Path(sys.executable).parent / "revier-feed"
    command = [str(exe), "--config", str(config_dir), "run", "--once"]
    once = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = signal_while_fetching(once, region, slow_path, signal.SIGINT)
    assert once.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "interrupted: what was stored is kept" in err
    slow_feed(region, delay=0)
    again = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    store = config_dir.parent / "state" / "revier-feed.sqlite3"
    with sqlite3.connect(store) as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        assert db.execute("select count(*) from items").fetchone() == (36,)


def descendants(pid: int) -> set[int]:
    """The processes ``pid`` started, and theirs (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The name (field 2) is in parentheses and may hold blanks.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    new = {pid}
    while new:
        new = {child for child, parent in parents.items() if parent in new} - found
        found |= new
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_run_once_killed_leaves_no_worker_process_behind(
    tmp_path: Path, region: SampleRegion, signum: int
) -> None:
    """Killed alone (the OOM killer, `kill PID`), `run --once` left its worker processes,
    the fork server and the resource tracker running for good, holding its output pipe:
    a cron mail or `| logger` never ended (found by a probe, session 27). SIGTERM also
    ended it without a word."""
    config_dir = worker_config(tmp_path, region)
    settings = config_dir / "settings.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + "  processes: 2\n", "utf-8")
    slow_path = slow_feed(region, delay=10)
    exe = Path(sys.executable).parent / "revier-feed"
    once = subprocess.Popen(
        [str(exe), "--config", str(config_dir), "run", "--once"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    helpers: set[int] = set()
    try:
        wait_for(lambda: slow_path in region.requests)
        # The two workers (normalizing the other sources' items), their fork server and
        # the resource tracker.
        wait_for(lambda: len(descendants(once.pid)) >= 4)
        helpers = descendants(once.pid)
        once.send_signal(signum)
        _, err = once.communicate(timeout=15)
        wait_for(lambda: not any(map(alive, helpers)), timeout=10)
    finally:
        once.kill()
        for pid in filter(alive, helpers):  # what the fix failed to end, not to pile up
            os.kill(pid, signal.SIGKILL)
    if signum == signal.SIGTERM:
        assert once.returncode == 143, err
        assert "interrupted: what was stored is kept" in err and "Traceback" not in err


def test_signal_during_a_fetch_lets_that_source_finish(
    tmp_path: Path, region: SampleRegion
) -> None:
    config_dir = worker_config(tmp_path, region)
    slow_path = slow_feed(region, delay=1.5)
    worker = start_worker(config_dir)
    err = signal_while_fetching(worker, region, slow_path, signal.SIGTERM)
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
    store = config_dir.parent / "state" / "revier-feed.sqlite3"
    assert status.stdout.startswith(f"store: {store}\nworker: not running\n"), status.stdout


def start_logged_worker(config_dir: Path, log: Path) -> subprocess.Popen[str]:
    """A worker whose stderr goes to a file, so a test can read it while it runs."""
    exe = Path(sys.executable).parent / "revier-feed"
    with log.open("w") as stderr:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [str(exe), "--config", str(config_dir), "run"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )


def cli(config_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "revier-feed"
    return subprocess.run(
        [str(exe), "--config", str(config_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def set_enabled(config_dir: Path, source_id: str, enabled: bool) -> None:
    sources = config_dir / "sources.yaml"
    text = sources.read_text(encoding="utf-8")
    line = f"  - id: {source_id}\n"
    text = text.replace(f"{line}    enabled: false\n", line)
    if not enabled:
        text = text.replace(line, f"{line}    enabled: false\n")
    sources.write_text(text, encoding="utf-8")


def test_reload_with_a_valid_config_schedules_new_sources_and_drops_removed_ones(
    tmp_path: Path, region: SampleRegion
) -> None:
    config_dir = worker_config(tmp_path, region)
    set_enabled(config_dir, "leipziger-messe", False)
    feed = config_dir.parent / "feeds" / "all.atom.xml"
    log = tmp_path / "worker.log"
    worker = start_logged_worker(config_dir, log)
    try:
        wait_for(lambda: "bbsr" in feed.read_text("utf-8") if feed.exists() else False)
        assert "/leipziger-messe/presse/rss.xml" not in region.requests
        set_enabled(config_dir, "leipziger-messe", True)
        set_enabled(config_dir, "bbsr", False)
        reload = cli(config_dir, "reload")
        assert reload.returncode == 0, reload.stderr
        assert f"reload requested from the worker (pid {worker.pid} on" in reload.stdout
        # The new source is collected and the removed one leaves the feeds.
        wait_for(lambda: "/leipziger-messe/presse/rss.xml" in region.requests)
        wait_for(lambda: "/bbsr/" not in feed.read_text("utf-8"))
        assert "Leipziger Messe" in feed.read_text("utf-8")
        assert "reloaded: 5 sources (added: leipziger-messe; removed: bbsr)" in log.read_text()
        assert worker.poll() is None
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=15)
    assert worker.returncode == 0


def test_invalid_config_on_reload_is_logged_and_the_worker_keeps_the_old_one(
    tmp_path: Path, region: SampleRegion
) -> None:
    config_dir = worker_config(tmp_path, region)
    feed = config_dir.parent / "feeds" / "all.atom.xml"
    log = tmp_path / "worker.log"
    worker = start_logged_worker(config_dir, log)
    try:
        wait_for(feed.exists)
        sources = config_dir / "sources.yaml"
        good = sources.read_text(encoding="utf-8")
        broken = good.replace(
            "  - id: bbsr\n", "  - id: bbsr\n    interval: sometimes\n    colour: blue\n"
        )
        sources.write_text(broken, encoding="utf-8")
        line = broken.splitlines().index("    interval: sometimes") + 1
        # `revier-feed reload` validates first and does not disturb the worker.
        refused = cli(config_dir, "reload")
        assert refused.returncode == 2
        assert f"sources.yaml:{line}: sources[4].interval: 'sometimes'" in refused.stderr
        assert "keeps its current configuration" in refused.stderr
        # A bare SIGHUP (systemctl reload): the worker validates and logs the problems.
        worker.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in log.read_text())
        text = log.read_text()
        assert f"sources.yaml:{line}: sources[4].interval: 'sometimes' is not a duration" in text
        assert f"sources.yaml:{line + 1}: sources[4].colour: unknown key" in text
        # Still running, on the old configuration: the next reload of a fixed file works.
        assert worker.poll() is None
        sources.write_text(good, encoding="utf-8")
        assert cli(config_dir, "reload").returncode == 0
        wait_for(lambda: "reloaded: 6 sources" in log.read_text())
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=15)
    assert worker.returncode == 0


def test_reload_without_a_running_worker_says_so(tmp_path: Path, region: SampleRegion) -> None:
    config_dir = worker_config(tmp_path, region)
    result = cli(config_dir, "reload")
    assert result.returncode == 1
    assert "no worker is running for this store" in result.stdout
    # A changed storage.path finds no worker either: starting one would make two.
    assert "storage.path was changed while a worker runs" in " ".join(result.stdout.split())


def test_backup_while_the_worker_runs_is_a_consistent_openable_store(
    tmp_path: Path, region: SampleRegion
) -> None:
    config_dir = worker_config(tmp_path, region)
    # A slow site keeps a cycle (and its writes) going while the copy is taken.
    slow_path = "/bbsr/presse/feed.atom"
    body = region.read_site_file(slow_path)
    assert body is not None
    region.add_route(
        slow_path, Response(200, body, {"Content-Type": "application/atom+xml"}, delay=2.0)
    )
    store = config_dir.parent / "state" / "revier-feed.sqlite3"
    worker = start_worker(config_dir)
    target = tmp_path / "backups" / "store-copy.sqlite3"
    target.parent.mkdir()
    try:
        wait_for(lambda: _count_items(store) >= 20)
        assert worker.poll() is None
        result = cli(config_dir, "backup", str(target))
        assert result.returncode == 0, result.stderr
        assert f"written to {target}" in result.stdout
        again = cli(config_dir, "backup", str(target))
        assert again.returncode == 1 and "use --force" in again.stdout
        wait_for(lambda: _count_items(store) == 36)
        assert cli(config_dir, "backup", "--force", str(target)).returncode == 0
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=15)
    assert worker.returncode == 0
    # One self-contained file (no -wal beside it), intact, with everything stored.
    assert sorted(p.name for p in target.parent.iterdir()) == ["store-copy.sqlite3"]
    with sqlite3.connect(target) as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        assert db.execute("pragma journal_mode").fetchone() == ("delete",)
        assert db.execute("select count(*) from items").fetchone() == (36,)
        assert db.execute("select count(*) from sources").fetchone() == (6,)
    # revier-feed itself can use the copy as a store.
    restored = config_dir / "settings.yaml"
    restored.write_text(
        restored.read_text("utf-8").replace(
            "path: ../state/revier-feed.sqlite3", f"path: {target}"
        ),
        "utf-8",
    )
    status = json.loads(cli(config_dir, "status", "--json").stdout)
    assert status["stories"]["new_24h"] == 29


def _count_items(store: Path) -> int:
    if not store.exists():
        return 0
    with sqlite3.connect(store, timeout=10) as db:
        try:
            return int(db.execute("select count(*) from items").fetchone()[0])
        except sqlite3.OperationalError:  # not created yet
            return 0


def test_sigterm_abandons_slow_work_in_bounded_time_and_a_restart_loses_nothing(
    tmp_path: Path, region: SampleRegion
) -> None:
    config_dir = worker_config(tmp_path, region)
    settings = config_dir / "settings.yaml"
    text = settings.read_text("utf-8").replace("shutdown_timeout: 5s", "shutdown_timeout: 1s")
    # The slow site answers after 20 s, well within the fetch timeout.
    settings.write_text(text.replace("timeout: 10s", "timeout: 40s"), "utf-8")
    slow_path = "/bbsr/presse/feed.atom"
    body = region.read_site_file(slow_path)
    assert body is not None
    region.add_route(
        slow_path, Response(200, body, {"Content-Type": "application/atom+xml"}, delay=20.0)
    )
    store = config_dir.parent / "state" / "revier-feed.sqlite3"
    log = tmp_path / "worker.log"
    worker = start_logged_worker(config_dir, log)
    try:
        wait_for(lambda: slow_path in region.requests and _count_items(store) == 31)
        stopped_at = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=15)
        took = time.monotonic() - stopped_at
    finally:
        worker.kill()
    assert worker.returncode == 0, log.read_text()
    # 1 s to finish, then the slow source is abandoned: far less than its 20 s answer.
    assert took < 5, f"stopping took {took:.1f}s"
    text = log.read_text()
    assert "abandoning them (they stay due)" in text
    assert "cycle abandoned: 5 of 6 sources stored; the others stay due" in text
    feeds = config_dir.parent / "feeds"
    assert not list(feeds.glob(".*.tmp")), "no half-written files are left"
    with sqlite3.connect(store) as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        assert db.execute("select count(*) from items where source_id='bbsr'").fetchone() == (0,)

    # Restarted, the abandoned source is still due and nothing is missing.
    del region.routes[slow_path]
    worker = start_logged_worker(config_dir, tmp_path / "second.log")
    try:
        wait_for(lambda: _count_items(store) == 36)
        wait_for(lambda: (feeds / "all.atom.xml").read_text("utf-8").count("<entry>") == 29)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=15)
    assert worker.returncode == 0


def test_a_second_signal_abandons_at_once(tmp_path: Path, region: SampleRegion) -> None:
    config_dir = worker_config(tmp_path, region)  # shutdown_timeout: 5s
    slow_path = "/bbsr/presse/feed.atom"
    body = region.read_site_file(slow_path)
    assert body is not None
    region.add_route(
        slow_path, Response(200, body, {"Content-Type": "application/atom+xml"}, delay=9.0)
    )
    log = tmp_path / "worker.log"
    worker = start_logged_worker(config_dir, log)
    try:
        wait_for(lambda: slow_path in region.requests)
        worker.send_signal(signal.SIGTERM)
        wait_for(lambda: "stopping after the sources in progress" in log.read_text())
        stopped_at = time.monotonic()
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=15)
        took = time.monotonic() - stopped_at
    finally:
        worker.kill()
    assert worker.returncode == 0, log.read_text()
    assert took < 4, f"stopping took {took:.1f}s"
    assert "received SIGINT again: abandoning the sources in flight now" in log.read_text()


def test_a_worker_whose_store_is_deleted_stops_and_says_why(
    tmp_path: Path, region: SampleRegion
) -> None:
    """Open connections would go on writing into the deleted file: everything collected
    after the deletion would look stored, and be gone at exit."""
    config_dir = worker_config(tmp_path, region)
    feed = config_dir.parent / "feeds" / "all.atom.xml"
    store = config_dir.parent / "state" / "revier-feed.sqlite3"
    worker = start_worker(config_dir)
    try:
        wait_for(feed.exists)
        store.unlink()
        _, err = worker.communicate(timeout=15)
    finally:
        worker.kill()
    assert worker.returncode == 1, err
    assert f"the store {store} was deleted or replaced while this process had it open" in err
    assert "worker stopped" in err


def test_a_worker_whose_lock_file_is_deleted_keeps_the_store_to_itself(
    tmp_path: Path, region: SampleRegion
) -> None:
    """With the lock file deleted (a clean-up of the folder), the worker's lock was on a
    file nobody else could see, and a second worker started beside it (a probe of the
    real worker, session 33). The worker makes the file again and locks it at its next
    tick; one that finds another process holding a new file stops, so one is left."""
    config_dir = worker_config(tmp_path, region)  # tick: 1s
    feed = config_dir.parent / "feeds" / "all.atom.xml"
    lock = config_dir.parent / "state" / "revier-feed.sqlite3.lock"
    log = tmp_path / "worker.log"
    worker = start_logged_worker(config_dir, log)
    try:
        wait_for(feed.exists)
        lock.unlink()
        wait_for(lambda: "lock file" in log.read_text() and lock.exists())
        assert f"the store's lock file {lock} was deleted; made it again" in log.read_text()
        second = cli(config_dir, "run", "--once")
        assert second.returncode == 1, second.stderr
        assert f"pid {worker.pid}" in second.stderr

        lock.unlink()
        other = ProcessLock(lock, "pid 4711 on elsewhere, `run` since 08:00")
        other.acquire()
        try:
            worker.wait(timeout=15)
        finally:
            other.release()
    finally:
        worker.kill()
    assert worker.returncode == 1, log.read_text()
    assert (
        f"another revier-feed took the store's lock after its file {lock} was deleted: "
        "pid 4711 on elsewhere, `run` since 08:00; this one stops"
    ) in log.read_text()


def test_a_lock_file_made_again_keeps_the_workers_note(tmp_path: Path) -> None:
    """What the worker noted in its lock (failing cycles, for `status` and `/healthz` in
    other processes) was lost with a remade file, which said all was well (a review,
    session 33)."""
    path = tmp_path / "store.sqlite3.lock"
    lock = ProcessLock(path, "pid 1 on here, `run` since 08:00")
    lock.acquire()
    try:
        assert lock.note("3 in a row since 08:15, the next in 0:05:00")
        assert not lock.keep()  # the same file: nothing to do
        path.unlink()
        assert ProcessLock(path, "").holder() is None
        assert lock.keep()
        holder = ProcessLock(path, "").holder()
        assert holder is not None
        assert holder.who == "pid 1 on here, `run` since 08:00"
        assert holder.note == "3 in a row since 08:15, the next in 0:05:00"
    finally:
        lock.release()


def test_a_lock_file_that_cannot_be_made_again_is_tried_every_tick_and_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A lock file deleted and not to be made again (here a folder took its name; a full
    disk does the same) does not stop the worker: no other process could take the lock
    either. The warning comes once, not at every tick."""
    sources = 'sources:\n  - {id: a, name: A, url: "http://127.0.0.1:9/feed.xml"}\n'
    config = load_config(write_config(tmp_path / "a", sources))
    with App(config) as app, app.exclusive("revier-feed run"):
        config.lock_path.unlink()
        config.lock_path.mkdir()
        assert [app.keep_lock() for _ in range(3)] == [False] * 3
        warned = [r for r in caplog.records if "cannot be made again" in r.getMessage()]
        assert len(warned) == 1
        config.lock_path.rmdir()
        assert app.keep_lock()
        assert ProcessLock(config.lock_path, "").holder() is not None


def test_one_collector_per_store_whichever_way_a_configuration_names_it(
    tmp_path: Path,
) -> None:
    """By path, by URL with another output folder, through a symlink: one store, one lock."""
    sources = 'sources:\n  - {id: a, name: A, url: "http://127.0.0.1:9/feed.xml"}\n'
    by_path = load_config(write_config(tmp_path / "a", sources))
    store = by_path.resolve(by_path.settings.storage.path)
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "store.sqlite3").symlink_to(store)
    others = [
        write_config(
            tmp_path / "b", sources, f"storage:\n  url: sqlite:///{store}\noutput:\n  dir: b-out\n"
        ),
        write_config(tmp_path / "c", sources, "storage:\n  path: ../links/store.sqlite3\n"),
    ]
    with App(by_path) as first, first.exclusive("revier-feed run"):
        for folder in others:
            with App(load_config(folder)) as second:
                holder = second.worker_holder()
                assert holder is not None and "revier-feed run" in holder.who, folder
                with pytest.raises(AlreadyRunning), second.exclusive("revier-feed run --once"):
                    pass


def test_the_lock_notes_the_holders_state_over_its_own_bytes(tmp_path: Path) -> None:
    """The note is written over the lock file's bytes (it must work on a full disk), one
    line, cut to fit at a character's boundary; a reader sees the holder and the note."""
    path = tmp_path / "store.sqlite3.lock"
    lock = ProcessLock(path, "pid 7 on host, `revier-feed run` since 2021-08-02 12:00")
    reader = ProcessLock(path, "")
    assert not lock.note("before the lock is held")
    with lock:
        assert reader.holder() == LockHolder(
            "pid 7 on host, `revier-feed run` since 2021-08-02 12:00"
        )
        assert path.stat().st_size == LOCK_RECORD_SIZE
        assert lock.note("2 in a row\nsince today; the last: " + "Speicher voll ü" * 200)
        holder = reader.holder()
        assert holder is not None and holder.who.startswith("pid 7 on host")
        assert holder.note.startswith("2 in a row since today; the last: Speicher voll ü")
        assert "\ufffd" not in holder.note and len(holder.note) > 500
        assert path.stat().st_size == LOCK_RECORD_SIZE
        assert lock.note("")
        assert reader.holder() == LockHolder(holder.who)
    assert reader.holder() is None
    # A lock file as versions before the note wrote it: one line.
    path.write_text("pid 8 on host, `revier-feed run`\n")
    with open(path) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert reader.holder() == LockHolder("pid 8 on host, `revier-feed run`")


def test_a_lock_whose_file_cannot_be_emptied_is_still_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Emptying the file on release is tidying only: a disk gone read-only (mocked here:
    this machine cannot remount one under a test) must not keep the lock, which would
    refuse the next run of this very process's command."""
    path = tmp_path / "store.sqlite3.lock"
    lock = ProcessLock(path, "pid 7 on host, `revier-feed run`")
    lock.acquire()

    def read_only(fd: int, length: int) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "ftruncate", read_only)
    lock.release()
    monkeypatch.undo()
    assert ProcessLock(path, "").holder() is None
    with ProcessLock(path, "pid 8 on host, `revier-feed run --once`"):
        assert ProcessLock(path, "").holder() == LockHolder(
            "pid 8 on host, `revier-feed run --once`"
        )
