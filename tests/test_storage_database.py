"""The store on ``sqlite3`` (``storage/database.py`` and the modules on it): the SQLite
file, its transactions, and values kept exactly as stores written before (through
SQLAlchemy) keep them, on a real SQLite file."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from revier_feed.exceptions import StorageError
from revier_feed.models import ItemDecision, ItemIdentity, RobotsCopy, SourceState, SourceStatus
from revier_feed.storage import Storage
from revier_feed.storage.database import Database, from_db, store_path, to_db

from .conftest import make_item

NOW = datetime(2021, 6, 10, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "kept"),
    [
        # As SQLAlchemy's SQLite dialect wrote them (its DATETIME storage format, always
        # with microseconds): the text stores written before the move to sqlite3 hold.
        (
            datetime(2021, 6, 10, 14, 30, tzinfo=timezone(timedelta(hours=2))),
            "2021-06-10 12:30:00.000000",
        ),
        (datetime(2021, 6, 10, 12, 30, 0, 7, tzinfo=UTC), "2021-06-10 12:30:00.000007"),
        (datetime(999, 1, 2, 3, 4, 5, 600000, tzinfo=UTC), "0999-01-02 03:04:05.600000"),
    ],
)
def test_dates_are_kept_as_the_stores_written_before_keep_them(
    moment: datetime, kept: str
) -> None:
    # SQL compares dates as text (due sources, digests, retention), so the format must be
    # exactly that one, whichever version of revier-feed wrote a row.
    assert to_db(moment) == kept
    assert from_db(kept) == moment


def test_dates_of_the_first_stores_without_microseconds_are_read() -> None:
    assert from_db("2021-06-01 00:00:00") == datetime(2021, 6, 1, tzinfo=UTC)


def test_dates_round_trip_through_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    fetched = datetime(2021, 6, 10, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    item = make_item(key="g1", title="Studie", published_at=fetched)
    with Storage(url) as store:
        store.save_source_result(
            SourceState("kreis", next_fetch_at=fetched), [(item, ItemDecision.NEW)], NOW
        )
        (stored,) = store.recent_items(["kreis"], 1)
        assert stored.item.published_at == fetched
        assert store.source_states(["kreis"])["kreis"].next_fetch_at == fetched
    with sqlite3.connect(tmp_path / "s.sqlite3") as db:
        row = db.execute("SELECT published_at, first_seen_at FROM items").fetchone()
    assert row == ("2021-06-10 12:30:00.000000", "2021-06-10 12:30:00.000000")


def test_naive_dates_are_refused() -> None:
    with pytest.raises(StorageError, match="naive datetime passed to the store"):
        to_db(datetime(2021, 6, 10, 12, 30))


def test_a_bug_inside_a_transaction_propagates_as_itself(tmp_path: Path) -> None:
    # Only the driver's errors are the store's; anything else keeps its traceback.
    database = Database(f"sqlite:///{tmp_path / 's.sqlite3'}")
    with pytest.raises(KeyError), database.writing("place items") as conn:
        conn.execute("CREATE TABLE t (n INTEGER)")
        raise KeyError("a bug")
    with database.reading("look") as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    database.close()


def test_a_connection_in_use_when_the_store_closes_is_closed_when_given_back(
    tmp_path: Path,
) -> None:
    database = Database(f"sqlite:///{tmp_path / 's.sqlite3'}")
    with database.reading("read") as conn:
        database.close()
        assert conn.execute("SELECT 1").fetchone() == (1,)  # still usable meanwhile
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        conn.execute("SELECT 1")


def test_source_states_round_trip_with_every_field(tmp_path: Path) -> None:
    state = SourceState(
        "kreis",
        status=SourceStatus.DEGRADED,
        url="https://example.org/neu.xml",
        config_url="https://example.org/alt.xml",
        etag='"abc"',
        last_modified="Thu, 10 Jun 2021 12:30:00 GMT",
        error_count=3,
        last_error_kind="http_5xx",
        last_error="HTTP 503 „Wartung“",
        http_status=503,
        last_attempt_at=NOW,
        last_success_at=NOW - timedelta(days=1),
        next_fetch_at=NOW + timedelta(minutes=30, microseconds=7),
        items_last_fetch=12,
        last_new_item_at=NOW - timedelta(hours=5),
        fetch_seconds=0.25,
        new_item_rate=0.5,
        identity=ItemIdentity.LINK_TITLE,
    )
    with Storage(f"sqlite:///{tmp_path / 's.sqlite3'}") as store:
        store.save_source_states([state, SourceState("neu")], NOW)
        assert store.source_states(["kreis", "neu", "nie"]) == {
            "kreis": state,
            "neu": SourceState("neu"),
        }
        # Saved again: updated in place, created_at kept.
        store.save_source_states([SourceState("kreis", error_count=0)], NOW + timedelta(days=9))
        assert store.source_states(["kreis"])["kreis"] == SourceState("kreis")
    with sqlite3.connect(tmp_path / "s.sqlite3") as db:
        rows = db.execute("SELECT id, created_at FROM sources ORDER BY id").fetchall()
    assert rows == [("kreis", to_db(NOW)), ("neu", to_db(NOW))]


def test_more_sources_than_one_statement_binds(tmp_path: Path) -> None:
    states = [SourceState(f"quelle-{n:04d}", etag=f'"{n}"') for n in range(1200)]
    with Storage(f"sqlite:///{tmp_path / 's.sqlite3'}") as store:
        store.save_source_states(states, NOW)
        found = store.source_states(s.source_id for s in states)
        assert [found[s.source_id] for s in states] == states


def test_counters_add_up_and_gauges_are_replaced(tmp_path: Path) -> None:
    with Storage(f"sqlite:///{tmp_path / 's.sqlite3'}") as store:
        fetched = ("revier_fetches_total", (("outcome", "ok"), ("source", "kreis")))
        queue = ("revier_sources", (("state", "ok"),))
        store.record_metrics({fetched: 1}, {queue: 5})
        store.record_metrics({fetched: 2}, {queue: 4})
        assert {(s.name, s.labels): s.value for s in store.metrics()} == {
            fetched: 3.0,
            queue: 4.0,
        }


def test_robots_txt_cache_keeps_the_newest_per_origin(tmp_path: Path) -> None:
    with Storage(f"sqlite:///{tmp_path / 's.sqlite3'}") as store:
        rules = RobotsCopy(NOW, 200, "User-agent: *\nDisallow: /", '"v1"', "Mon, 02 Aug 2021")
        store.save_robots_txt("https://example.org", rules)
        assert store.robots_txts() == {"https://example.org": rules}
        later = RobotsCopy(NOW + timedelta(days=1), 404, "")
        store.save_robots_txt("https://example.org", later)
        assert store.robots_txts() == {"https://example.org": later}


def test_hosts_turns_keep_the_later_time_and_drop_what_is_over(tmp_path: Path) -> None:
    """Two commands store their views (the worker, a `sources test` beside it): one that
    did not see a pause must not take it back. A reload ends the pauses."""
    hour = timedelta(hours=1)
    with Storage(f"sqlite:///{tmp_path / 's.sqlite3'}") as store:
        assert store.host_turns() == {}
        store.keep_host_turns(
            {"a.example": (NOW, NOW + hour), "b.example": (NOW + hour, NOW)}, NOW
        )
        store.keep_host_turns({"a.example": (NOW + hour, NOW), "b.example": (NOW, NOW)}, NOW)
        assert store.host_turns() == {
            "a.example": (NOW + hour, NOW + hour),
            "b.example": (NOW + hour, NOW),
        }
        store.keep_host_turns({}, NOW + 2 * hour)
        assert store.host_turns() == {}
        store.keep_host_turns({"a.example": (NOW + hour, NOW + 6 * hour)}, NOW)
        store.end_host_pauses(NOW)
        assert store.host_turns() == {"a.example": (NOW + hour, NOW)}


def test_a_failed_write_is_rolled_back_and_its_connection_not_reused(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 's.sqlite3'}")
    with database.writing("make a table") as conn:
        conn.execute("CREATE TABLE t (n INTEGER NOT NULL)")
    refused = pytest.raises(StorageError, match="could not add rows: NOT NULL constraint")
    with refused, database.writing("add rows") as conn:
        conn.execute("INSERT INTO t VALUES (1)")
        conn.execute("INSERT INTO t VALUES (NULL)")
    with pytest.raises(RuntimeError, match="stop"), database.writing("add rows") as conn:
        conn.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("stop")
    with database.reading("count") as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
    # A connection handed out again inside a transaction could not begin a new one.
    with database.writing("add a row") as conn:
        conn.execute("INSERT INTO t VALUES (3)")
    database.close()


def test_two_threads_write_one_after_the_other(tmp_path: Path) -> None:
    # The writer lock is taken at BEGIN: a second writer waits on the busy timeout instead
    # of failing to upgrade its read lock.
    database = Database(f"sqlite:///{tmp_path / 's.sqlite3'}")
    with database.writing("make a table") as conn:
        conn.execute("CREATE TABLE t (n INTEGER NOT NULL)")
    inside, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with database.writing("add a row") as conn:
            conn.execute("INSERT INTO t VALUES (1)")
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=slow_writer)
    thread.start()
    inside.wait(5)
    threading.Timer(0.2, release.set).start()
    with database.writing("add another row") as conn:
        count = conn.execute("SELECT count(*) FROM t").fetchone()
        conn.execute("INSERT INTO t VALUES (2)")
    thread.join()
    assert count == (1,)  # it saw the first writer's row: it waited for its commit
    database.close()


@pytest.mark.parametrize(
    ("url", "path"),
    [("sqlite:///var/store.sqlite3", "var/store.sqlite3"), ("sqlite:////srv/s.db", "/srv/s.db")],
)
def test_store_urls_name_a_sqlite_file(url: str, path: str) -> None:
    assert store_path(url) == Path(path)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "postgresql://db/revier",
        "store.sqlite3",
        "sqlite:///store.sqlite3?mode=ro",  # an option it would not honour
    ],
)
def test_anything_but_a_sqlite_file_is_refused_with_a_hint(url: str) -> None:
    with pytest.raises(StorageError, match=r"stores in a SQLite file; set storage\.path"):
        Storage(url)


def test_the_queries_of_one_read_see_one_snapshot(tmp_path: Path) -> None:
    # Publishing reads the newest stories in several queries while the worker may write:
    # they must all see the store as it was when the read began.
    database = Database(f"sqlite:///{tmp_path / 's.sqlite3'}")
    with database.writing("make a table") as conn:
        conn.execute("CREATE TABLE t (n INTEGER NOT NULL)")
        conn.execute("INSERT INTO t VALUES (1)")
    with database.reading("count") as reader:
        before = reader.execute("SELECT count(*) FROM t").fetchone()
        with database.writing("add a row") as writer:  # another connection of the pool
            writer.execute("INSERT INTO t VALUES (2)")
        during = reader.execute("SELECT count(*) FROM t").fetchone()
    with database.reading("count") as reader:
        after = reader.execute("SELECT count(*) FROM t").fetchone()
    assert (before, during, after) == ((1,), (1,), (2,))
    database.close()


def test_a_large_write_is_copied_into_the_file_beside_the_caller(tmp_path: Path) -> None:
    # A first cycle's placement rewrites thousands of rows; copying the write-ahead log into
    # the file is left to a thread. Nothing written is lost, the log is copied whole by the
    # time the store closes, and the connection checkpoints as before when used again.
    path = tmp_path / "store.sqlite3"
    db = Database(f"sqlite:///{path}")
    with db.writing("create") as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    with db.writing("write a lot") as conn:
        conn.executemany("INSERT INTO t (body) VALUES (?)", [("x" * 3000,) for _ in range(3000)])
        db.checkpoint_later(conn)
    assert db._checkpointing is not None  # started after the commit
    with db.reading("count") as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 3000
    db.wait_for_checkpoint()
    assert path.stat().st_size > 3000 * 3000  # the rows are in the file, not only the log
    with db.writing("write again") as conn:
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        conn.execute("INSERT INTO t (body) VALUES ('y')")
    with pytest.raises(ValueError), db.writing("fail") as conn:
        db.checkpoint_later(conn)
        raise ValueError("a bug")
    with db.writing("after a failure") as conn:
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    db.close()
    assert Database(f"sqlite:///{path}").schema_version() == 0  # the file opens cleanly


def test_a_full_disk_names_the_cause_and_loses_nothing(tmp_path: Path) -> None:
    """SQLite's "database or disk is full" gets a hint, and the transaction is rolled back."""
    db = Database(f"sqlite:///{tmp_path / 's.sqlite3'}")
    try:
        with db.writing("prepare") as conn:
            conn.execute("CREATE TABLE notes (text TEXT)")
            conn.execute("INSERT INTO notes VALUES ('kept')")
        with pytest.raises(StorageError) as raised, db.writing("save source kreis") as conn:
            # A page limit is SQLite's own way to run out of room, as on a full disk.
            conn.execute("PRAGMA max_page_count = 1")
            conn.execute("INSERT INTO notes VALUES ('first')")
            conn.execute("INSERT INTO notes VALUES (?)", ("x" * 100_000,))
        message = str(raised.value)
        assert message.startswith("could not save source kreis: database or disk is full")
        assert "the disk that holds the store is full" in message
        with db.reading("read") as conn:
            assert conn.execute("SELECT text FROM notes").fetchall() == [("kept",)]
    finally:
        db.close()


def test_a_passing_fault_while_checking_the_store_file_is_no_reason_to_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Only a store that is gone or replaced stops the worker; a network file system's
    moment (EIO, ESTALE) cannot be made here, so stat() is made to fail."""
    from revier_feed.storage import database

    db = Database(f"sqlite:///{tmp_path / 's.sqlite3'}")
    try:
        with db.writing("prepare") as conn:
            conn.execute("CREATE TABLE notes (text TEXT)")
        db.check_file()

        def failing(path: Path) -> None:
            raise OSError(5, "Input/output error")

        with monkeypatch.context() as patched:
            patched.setattr(database, "_identity", failing)
            db.check_file()
        assert "could not check the store" in caplog.text
        (tmp_path / "s.sqlite3").unlink()
        with pytest.raises(StorageError, match="was deleted or replaced"):
            db.check_file()
    finally:
        db.close()


_READ_ONLY_ONCE = """
import contextlib, os, sys
from pathlib import Path
from revier_feed.exceptions import StoreReadOnlyError
from revier_feed.storage.database import Database
folder = Path(sys.argv[1])
path = folder / "store.sqlite3"
os.chmod(path, 0o444)
db = Database(f"sqlite:///{path}")
with db.reading("read") as conn:  # creates the -wal and -shm files, read-only like the store
    conn.execute("SELECT count(*) FROM t").fetchone()
with contextlib.ExitStack() as in_use:
    if sys.argv[2] == "held":  # a connection in use (another thread's) while a write fails
        in_use.enter_context(db.reading("read")).execute("SELECT count(*) FROM t").fetchone()
    try:
        with db.writing("write") as conn:
            conn.execute("INSERT INTO t VALUES (1)")
    except StoreReadOnlyError as e:
        print("refused:", e)
for file in folder.iterdir():
    os.chmod(file, 0o644)
with db.writing("write") as conn:  # the same process, once the files can be written
    conn.execute("INSERT INTO t VALUES (2)")
print("written")
"""


@pytest.mark.parametrize("connections", ["idle", "held"])
def test_a_store_that_was_read_only_is_written_once_it_can_be(
    tmp_path: Path, connections: str
) -> None:
    """SQLite opens the -shm file once per process, read-only if it cannot be written then,
    and keeps it while any connection is open: a worker whose store had been read-only
    failed every write until it was restarted. A connection in use while a write failed
    is not kept when it is given back either. Root ignores file modes, so as root the
    check runs without the capability that lets it."""
    import os
    import shutil
    import subprocess
    import sys

    db = Database(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    with db.writing("make") as conn:
        conn.execute("CREATE TABLE t (x)")
    db.close()
    command = [sys.executable, "-c", _READ_ONLY_ONCE, str(tmp_path), connections]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "util-linux's setpriv runs the check without root's file access"
        caps = "-dac_override,-dac_read_search,-fowner"
        command = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "refused: could not write: attempt to write a readonly database" in done.stdout
    assert "-wal and -shm" in done.stdout
    assert done.stdout.rstrip().endswith("written")
    with sqlite3.connect(tmp_path / "store.sqlite3") as conn:
        assert conn.execute("SELECT x FROM t").fetchall() == [(2,)]
