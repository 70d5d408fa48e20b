"""Upgrading in place: which command upgrades a store of an older schema, and when not.

A store is upgraded only by a command that writes, holding the store's locks: never under
a worker of the older version still running (it would go on writing as if nothing had
changed, and refuse the store when restarted), and never by a command that only reads.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from revier_feed._utils import ProcessLock
from revier_feed.app import App
from revier_feed.cli import EXIT_FAILED, EXIT_OK, main
from revier_feed.config import AppConfig, load_config
from revier_feed.exceptions import AlreadyRunning
from revier_feed.storage import VERSION, Storage, database

from .conftest import write_config

SOURCES = 'sources:\n  - {id: kreis, name: Kreis, url: "http://127.0.0.1:9/feed.xml"}\n'
OLD = VERSION - 1
#: What an older worker writes into its lock.
OLD_WORKER = "pid 4242 on elsewhere, `revier-feed run` since 2026-11-20 07:00"


def old_store(config: AppConfig, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The configuration's store as the previous schema version made it, with an item."""
    with monkeypatch.context() as patched:
        patched.setattr(database, "VERSION", OLD)
        Storage(config.storage_url).close()
    with sqlite3.connect(config.store_file) as db:
        db.execute(
            "INSERT INTO sources (id, status, error_count, created_at) "
            "VALUES ('kreis', 'ok', 0, '2021-06-01 00:00:00')"
        )
        db.execute(
            "INSERT INTO items (source_id, key, url, title, summary_html, summary_text, "
            "content_html, categories, tags, published_at, date_estimated, fingerprint, "
            "first_seen_at, last_seen_at, last_changed_at) VALUES ('kreis', 'g1', NULL, "
            "'Zwei Studien zu ländlichen Räumen', '', '', '', '[]', '[]', "
            "'2021-06-10 08:00:00', 0, '1:x', '2021-06-10 08:00:00', '2021-06-10 08:00:00', "
            "'2021-06-10 08:00:00')"
        )
    return config.store_file


def schema(store: Path) -> tuple[int, list[tuple[str, str]]]:
    with sqlite3.connect(store) as db:
        (version,) = db.execute("SELECT version FROM schema_version").fetchone()
        tables = db.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
    return version, tables


@pytest.fixture
def config(tmp_path: Path) -> AppConfig:
    return load_config(write_config(tmp_path / "conf", SOURCES))


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["sources"],
        ["sources", "--json"],
        ["explain", "1"],
        ["stories"],
        ["stories", "show", "1"],
        ["digest", "log"],
    ],
)
def test_a_command_that_only_reads_leaves_an_older_store_as_it_is(
    config: AppConfig,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    store = old_store(config, monkeypatch)
    before = schema(store)
    assert main(["--config", str(config.config_dir), *command]) == EXIT_FAILED
    err = " ".join(capsys.readouterr().err.split())
    assert f"has schema version {OLD}, older than this revier-feed's {VERSION}" in err
    assert "the first command that writes to it upgrades it" in err
    assert "the worker as it starts (`revier-feed run`)" in err
    assert schema(store) == before


def test_a_reading_command_names_the_older_worker_that_holds_the_store(
    config: AppConfig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = old_store(config, monkeypatch)
    with ProcessLock(config.lock_path, OLD_WORKER):
        assert main(["--config", str(config.config_dir), "status"]) == EXIT_FAILED
    err = " ".join(capsys.readouterr().err.split())
    assert f"{OLD_WORKER} runs for it now: stop it, and start it with this version" in err
    assert schema(store)[0] == OLD


def test_backup_copies_an_older_store_as_it_is(
    config: AppConfig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The copy to go back to, taken with the new version before the upgrade."""
    store = old_store(config, monkeypatch)
    copy = config.config_dir / "before-upgrade.sqlite3"
    assert main(["--config", str(config.config_dir), "backup", str(copy)]) == EXIT_OK
    assert "1 items" in capsys.readouterr().out
    assert schema(copy) == schema(store)
    assert schema(store)[0] == OLD


@pytest.mark.parametrize("command", [["run", "--once"], ["retag"]])
def test_a_command_that_writes_does_not_upgrade_under_an_older_worker(
    config: AppConfig,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    store = old_store(config, monkeypatch)
    before = schema(store)
    with ProcessLock(config.lock_path, OLD_WORKER):
        assert main(["--config", str(config.config_dir), *command]) == EXIT_FAILED
    err = " ".join(capsys.readouterr().err.split())
    assert f"upgrades it to {VERSION} only while no other revier-feed uses it" in err
    assert OLD_WORKER in err and "Nothing was changed" in err
    assert schema(store) == before
    # Once that worker has stopped, the command upgrades the store and keeps its items.
    assert main(["--config", str(config.config_dir), "retag"]) == EXIT_OK
    assert schema(store)[0] == VERSION
    with App(config, access="read") as app:
        assert app.storage.count_items() == 1


def test_no_upgrade_while_an_older_digest_run_holds_its_lock(
    config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = old_store(config, monkeypatch)
    with (
        ProcessLock(config.lock_path.with_suffix(".digest-lock"), "pid 7 on elsewhere, sending"),
        pytest.raises(AlreadyRunning, match="pid 7 on elsewhere, sending"),
    ):
        App(config)
    assert schema(store)[0] == OLD


def test_an_older_worker_with_its_lock_in_the_output_folder_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before schema 14 a configuration with ``storage.url`` kept the lock in the output
    folder: such a worker, still running after the package was upgraded, must be seen by
    `status` and refused a second worker beside it."""
    store = tmp_path / "data" / "store.sqlite3"
    store.parent.mkdir()
    settings = f"storage:\n  url: sqlite:///{store}\noutput:\n  dir: out\n"
    config = load_config(write_config(tmp_path / "conf", SOURCES, settings))
    old_lock = config.output_dir / ".revier-feed.lock"
    old_store(config, monkeypatch)
    with ProcessLock(old_lock, OLD_WORKER):
        with pytest.raises(AlreadyRunning, match=f"{OLD_WORKER} \\(an older revier-feed\\)"):
            App(config)
        assert schema(store)[0] == OLD
        with App(config, access="copy") as app:
            holder = app.worker_holder()
            assert holder is not None and holder.who == OLD_WORKER
    with App(config) as app:  # stopped: upgraded
        assert app.storage.schema_version == VERSION
        with (
            ProcessLock(old_lock, OLD_WORKER),
            pytest.raises(AlreadyRunning, match="4242"),
            app.exclusive("revier-feed run"),
        ):
            pass
        with (
            ProcessLock(old_lock.with_suffix(".digest-lock"), "pid 9 on elsewhere, sending"),
            pytest.raises(AlreadyRunning, match="pid 9 on elsewhere"),
        ):
            app.send_due_digests()


def test_an_unreadable_old_lock_place_holds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A leftover at the old place that cannot be opened (here a link to itself) stopped
    every command that writes with a traceback."""
    store = tmp_path / "data" / "store.sqlite3"
    store.parent.mkdir()
    settings = f"storage:\n  url: sqlite:///{store}\noutput:\n  dir: out\n"
    config = load_config(write_config(tmp_path / "conf", SOURCES, settings))
    old_store(config, monkeypatch)
    config.output_dir.mkdir(parents=True, exist_ok=True)
    (config.output_dir / ".revier-feed.lock").symlink_to(".revier-feed.lock")
    with App(config) as app:  # upgraded, under the store's locks
        assert app.storage.schema_version == VERSION
        with app.exclusive("revier-feed run"):
            assert app.worker_holder() is not None


def test_an_older_worker_locking_beside_a_linked_store_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Versions of schema 11 and older locked beside the store's path as written; where
    that path is a link, today's lock is beside the file it leads to."""
    real = tmp_path / "data" / "store.sqlite3"
    real.parent.mkdir()
    folder = write_config(tmp_path / "conf", SOURCES, "storage:\n  path: state/store.sqlite3\n")
    (folder / "state").mkdir()
    (folder / "state" / "store.sqlite3").symlink_to(real)
    config = load_config(folder)
    assert config.lock_path == real.with_name("store.sqlite3.lock")
    old_store(config, monkeypatch)
    old_lock = folder / "state" / "store.sqlite3.lock"
    with ProcessLock(old_lock, OLD_WORKER):
        with pytest.raises(AlreadyRunning, match="an older revier-feed"):
            App(config)
        assert schema(real)[0] == OLD
    with (
        App(config) as app,
        ProcessLock(old_lock, OLD_WORKER),
        pytest.raises(AlreadyRunning, match="4242"),
        app.exclusive("revier-feed run"),
    ):
        pass


def test_a_store_url_in_the_output_folder_does_not_lock_itself_out(tmp_path: Path) -> None:
    """There today's lock and the old place are one file: taken, then found held."""
    out = tmp_path / "out"
    settings = f"storage:\n  url: sqlite:///{out}/.revier-feed\noutput:\n  dir: {out}\n"
    config = load_config(write_config(tmp_path / "conf", SOURCES, settings))
    out.mkdir()
    assert config.lock_path == out / ".revier-feed.lock" and config.old_lock_paths == ()
    with App(config) as app, app.exclusive("revier-feed run"):
        assert app.storage.schema_version == VERSION


def test_two_processes_starting_at_once_upgrade_the_store_once(
    config: AppConfig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The one that came second failed, telling the admin to stop the first and start
    it "with this version": it was this version. It waits for the upgrade now."""
    store = old_store(config, monkeypatch)
    first = f"pid 77 on here, upgrading the store to schema version {VERSION}"
    taken, upgraded = threading.Event(), threading.Event()

    def other_process() -> None:
        with ProcessLock(config.lock_path, first):
            taken.set()
            time.sleep(0.3)
            upgrading = Storage(config.storage_url, upgrade=False)
            upgrading.upgrade()
            upgrading.close()
            upgraded.set()

    thread = threading.Thread(target=other_process)
    thread.start()
    taken.wait()
    with caplog.at_level("INFO", logger="revier_feed"), App(config) as app:
        assert upgraded.is_set()
        assert app.storage.schema_version == VERSION
    thread.join()
    assert schema(store)[0] == VERSION
    assert not [r for r in caplog.records if "upgraded the store" in r.getMessage()]
