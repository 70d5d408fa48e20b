"""The store: versioned schema, idempotent upserts, one transaction per source."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from revier_feed.exceptions import SchemaVersionError, StorageError
from revier_feed.models import (
    Attachment,
    Item,
    ItemDecision,
    SourceState,
    SourceStatus,
    StoryPlacement,
)
from revier_feed.storage import VERSION, Storage, database, schema
from revier_feed.storage import stories as stories_storage
from revier_feed.storage.database import Database

NOW = datetime(2021, 8, 2, 8, 0, tzinfo=UTC)


def item(key: str = "guid-1", title: str = "Studien gestartet", **changes: object) -> Item:
    base = Item(
        source_id="kreis",
        key=key,
        url=f"https://kreis.example/{key}",
        title=title,
        summary_html="<p>Zwei Studien für ländliche Räume.</p>",
        summary_text="Zwei Studien für ländliche Räume.",
        content_html="",
        author=None,
        published_at=datetime(2021, 6, 10, 8, 0, tzinfo=UTC),
        date_estimated=False,
        updated_at=None,
        categories=("Presse",),
        tags=frozenset({"studien"}),
        image=None,
        fingerprint=f"1:{key}:{title}",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def state(**changes: object) -> SourceState:
    return dataclasses.replace(
        SourceState(source_id="kreis", status=SourceStatus.OK, etag='"abc"'),
        **changes,  # type: ignore[arg-type]
    )


@pytest.fixture
def store(tmp_path: Path) -> Storage:
    with Storage(f"sqlite:///{tmp_path / 'store.sqlite3'}") as storage:
        yield storage  # type: ignore[misc]


def stored_rows(path: Path, *queries: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return [row for query in queries for row in db.execute(query)]


#: Every item and story row: what placing items writes.
PLACEMENTS = ("SELECT * FROM items ORDER BY id", "SELECT * FROM stories ORDER BY id")


def store_of_version(version: int, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new store as the migrations up to ``version`` made it."""
    path = folder / "store.sqlite3"
    with monkeypatch.context() as patched:
        patched.setattr(database, "VERSION", version)
        Storage(f"sqlite:///{path}").close()
    return path


def test_new_store_is_at_current_version_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "store.sqlite3"
    Storage(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as db:
        assert db.execute("select version from schema_version").fetchone() == (VERSION,)
        assert db.execute("pragma journal_mode").fetchone() == ("wal",)


def _schema(path: Path) -> str:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        )
        return "\n".join(f"-- {t} {n} on {table}\n{sql};\n" for t, n, table, sql in rows)


def test_a_new_store_has_the_schema_the_sqlalchemy_migrations_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tests/data/schema-v10.sql was read off a store created by the migrations as they were
    # written with SQLAlchemy Core; the plain-SQL ones must build the very same store.
    path = tmp_path / "store.sqlite3"
    monkeypatch.setattr(database, "VERSION", 10)
    Storage(f"sqlite:///{path}").close()
    expected = (Path(__file__).parent / "data" / "schema-v10.sql").read_text(encoding="utf-8")
    assert _schema(path) == expected


def test_a_store_keeps_the_ids_of_deleted_stories_from_schema_11_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store_of_version(10, tmp_path, monkeypatch)
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO stories (id, created_at) VALUES (7, '2021-06-01 00:00:00')")
    Storage(f"sqlite:///{path}").close()  # upgraded
    with sqlite3.connect(path) as db:
        assert db.execute("select version from schema_version").fetchone() == (VERSION,)
        db.execute("DELETE FROM stories WHERE id = 7")
        assert db.execute("SELECT last_story_id FROM story_state").fetchone() == (7,)
        db.execute("INSERT INTO stories (id, created_at) VALUES (3, '2021-06-01 00:00:00')")
        db.execute("DELETE FROM stories WHERE id = 3")  # an older one: the mark stays
        assert db.execute("SELECT last_story_id FROM story_state").fetchone() == (7,)


def test_a_store_from_before_schema_11_keeps_the_ids_partners_received(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Story 6, the newest, was merged away before the upgrade, after a partner had
    received it: the next story must not be 6 again (the partner would get it as an
    update of story 6, or not at all)."""
    path = store_of_version(10, tmp_path, monkeypatch)
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO stories (id, created_at) VALUES (?, '2021-06-01 00:00:00')",
            [(i,) for i in range(1, 6)],
        )
        db.execute(
            "INSERT INTO digest_stories (partner_id, story_id, period, text_hash, "
            "updated_sent) VALUES ('kammer', 6, '2021-W23', 'x', 0)"
        )
    Storage(f"sqlite:///{path}").close()  # upgraded
    with sqlite3.connect(path) as db:
        assert stories_storage.next_story_id(db) == 7


def test_store_from_newer_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    Storage(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as db:
        db.execute("update schema_version set version = ?", (VERSION + 1,))
    with pytest.raises(SchemaVersionError, match="upgrade revier-feed"):
        Storage(f"sqlite:///{path}")


def test_items_round_trip_and_reopen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    with Storage(url) as storage:
        storage.save_source_result(state(), [(item(), ItemDecision.NEW)], NOW)
    with Storage(url) as storage:
        (stored,) = storage.recent_items(["kreis"], 10)
        assert stored.item == item()
        assert stored.first_seen_at == NOW
        assert storage.source_states(["kreis", "other"]) == {"kreis": state()}


def test_upsert_is_idempotent_and_updates_in_place(store: Storage) -> None:
    store.save_source_result(state(), [(item(), ItemDecision.NEW)], NOW)
    later = NOW + timedelta(hours=1)
    store.save_source_result(state(), [(item(), ItemDecision.UNCHANGED)], later)
    edited = item(title="Studien gestartet – Ergebnisse im Januar")
    store.save_source_result(state(), [(edited, ItemDecision.UPDATED)], later + timedelta(hours=1))

    assert store.count_items() == 1
    (stored,) = store.recent_items(["kreis"], 10)
    assert stored.item.title == "Studien gestartet – Ergebnisse im Januar"
    assert stored.first_seen_at == NOW
    assert stored.last_changed_at == later + timedelta(hours=1)
    assert store.item_fingerprints("kreis", ["guid-1", "nope"]) == {"guid-1": edited.fingerprint}


def test_undated_item_keeps_its_first_estimate(store: Storage) -> None:
    undated = item(published_at=NOW, date_estimated=True)
    store.save_source_result(state(), [(undated, ItemDecision.NEW)], NOW)
    later = NOW + timedelta(days=1)
    moved = item(title="Neu formuliert", published_at=later, date_estimated=True)
    store.save_source_result(state(), [(moved, ItemDecision.UPDATED)], later)
    (stored,) = store.recent_items(["kreis"], 10)
    assert stored.item.title == "Neu formuliert"
    assert stored.item.published_at == NOW  # it must not jump to the top of the feed again


def test_failed_write_leaves_nothing_half_written(store: Storage) -> None:
    store.save_source_result(state(etag='"v1"'), [(item(), ItemDecision.NEW)], NOW)
    naive = item(key="guid-2", published_at=datetime(2021, 6, 11))  # a bug: naive datetime
    with pytest.raises(StorageError, match="naive datetime"):
        store.save_source_result(
            state(etag='"v2"'),
            [(item(title="geändert"), ItemDecision.UPDATED), (naive, ItemDecision.NEW)],
            NOW + timedelta(hours=1),
        )
    assert store.source_states(["kreis"])["kreis"].etag == '"v1"'
    (stored,) = store.recent_items(["kreis"], 10)
    assert stored.item.title == "Studien gestartet"


def test_unusable_store_is_a_storage_error(tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-db.sqlite3"
    bogus.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match="could not open the store"):
        Storage(f"sqlite:///{bogus}")


def test_a_store_of_version_12_keeps_its_robots_txt_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schema 13 adds the copies' validators and the hosts' turns: a copy stored before
    reads back without validators (asked for unconditionally, kept on a 304)."""
    path = store_of_version(12, tmp_path, monkeypatch)
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO robots (origin, fetched_at, status, body) VALUES "
            "('https://k.example', '2021-06-01 00:00:00.000000', 200, 'User-agent: *')"
        )
    with Storage(f"sqlite:///{path}") as storage:
        copy = storage.robots_txts()["https://k.example"]
        assert (copy.status, copy.body, copy.etag, copy.last_modified) == (
            200,
            "User-agent: *",
            None,
            None,
        )
        assert storage.host_turns() == {}


def test_store_of_version_1_is_upgraded_with_its_items(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = Database(f"sqlite:///{path}")
    with old.writing("write a store of an old version") as conn:
        schema._v1(conn)
        conn.execute(
            "CREATE TABLE schema_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)"
        )
        conn.execute("INSERT INTO schema_version VALUES (1, 1)")
        conn.execute(
            "INSERT INTO sources (id, status, error_count, created_at) "
            "VALUES ('kreis', 'ok', 0, '2021-06-01 00:00:00')"
        )
        conn.execute(
            "INSERT INTO items (source_id, key, url, title, summary_html, summary_text, "
            "content_html, categories, tags, published_at, date_estimated, fingerprint, "
            "first_seen_at, last_seen_at, last_changed_at) VALUES ('kreis', 'g1', NULL, "
            "'Alte Meldung', '', '', '', '[]', '[]', '2021-06-01 00:00:00', 0, '1:x', "
            "'2021-06-01 00:00:00', '2021-06-01 00:00:00', '2021-06-01 00:00:00')"
        )
    old.close()
    with Storage(f"sqlite:///{path}") as storage:
        (stored,) = storage.recent_items(["kreis"], 10)
        assert stored.item.title == "Alte Meldung" and stored.item.backlog is False
        assert storage.source_states(["kreis"])["kreis"].config_url is None
    with sqlite3.connect(path) as db:
        assert db.execute("select version from schema_version").fetchone() == (VERSION,)


def test_failed_migration_is_rolled_back_completely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    Storage(url).close()

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE items ADD COLUMN half_done TEXT")
        raise RuntimeError("power cut in the middle of an upgrade")

    monkeypatch.setitem(schema.MIGRATIONS, VERSION + 1, broken)
    monkeypatch.setattr(database, "VERSION", VERSION + 1)
    with pytest.raises(RuntimeError, match="power cut"):
        Storage(url)
    with sqlite3.connect(tmp_path / "store.sqlite3") as db:
        columns = [row[1] for row in db.execute("pragma table_info(items)")]
        assert "half_done" not in columns  # the DDL was undone with the transaction
        assert db.execute("select version from schema_version").fetchone() == (VERSION,)

    def fixed(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE items ADD COLUMN half_done TEXT")

    monkeypatch.setitem(schema.MIGRATIONS, VERSION + 1, fixed)
    Storage(url).close()  # the retry succeeds
    with sqlite3.connect(tmp_path / "store.sqlite3") as db:
        assert db.execute("select version from schema_version").fetchone() == (VERSION + 1,)


def test_bad_store_url_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match="cannot use the store"):
        Storage("nosuchdb+driver://x/y")


def test_recent_stories_rank_by_first_publication_across_months(tmp_path: Path) -> None:
    """Stories that came as backlog, spread over a year, some with members weeks apart: the
    newest ones by their first member, whatever window the store looks through."""
    import random

    rng = random.Random(3)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    now = start + timedelta(days=400)
    with Storage(f"sqlite:///{tmp_path / 's.sqlite3'}") as storage:
        for source in ("a", "b", "other"):
            decisions = [
                (
                    item(
                        key=f"{source}{n}",
                        source_id=source,
                        published_at=start + timedelta(hours=rng.randrange(365 * 24)),
                        fingerprint=f"1:{source}{n}",
                        backlog=True,
                    ),
                    ItemDecision.NEW,
                )
                for n in range(150)
            ]
            storage.save_source_result(SourceState(source), decisions, now)
        stored = [s for batch in storage.iter_items(["a", "b", "other"]) for s in batch]
        story_ids: list[int] = []
        with storage.story_index() as index:
            placements: list[StoryPlacement] = []
            next_story = index.next_story_id()
            for s in stored:
                join = rng.choice(story_ids) if story_ids and rng.random() < 0.3 else None
                story = join if join is not None else next_story
                next_story += join is None
                story_ids.append(story)
                placements.append(StoryPlacement(s.id, story, join is None, None, b"", "", b""))
            index.place(placements, now)
        # Only members of the asked-for sources count for a story's first publication.
        expected_first: dict[int, datetime] = {}
        for batch in storage.iter_items(["a", "b"]):
            for s in batch:
                if s.item.source_id in ("a", "b"):
                    assert s.story_id is not None
                    current = expected_first.get(s.story_id, s.item.published_at)
                    expected_first[s.story_id] = min(current, s.item.published_at)
        ranked = sorted(expected_first, key=lambda i: (expected_first[i], i), reverse=True)
        for limit in (5, 60, 1000):
            got = storage.recent_stories(["a", "b"], limit)
            assert [story.id for story in got] == ranked[:limit]
            assert all(m.item.source_id in ("a", "b") for story in got for m in story.members)


def test_news_collected_late_ranks_by_when_it_came(tmp_path: Path) -> None:
    """A full feed (its limit reached by newer stories) left out news collected with an older
    date (a listing that gives only the day, a site back after a weekend), and a story in
    it dropped out when a member of an earlier date joined (found by a subscribers' probe,
    session 37). Stories that came as backlog rank by their first publication."""
    archive_at = datetime(2021, 6, 1, tzinfo=UTC)
    with Storage(f"sqlite:///{tmp_path / 's.sqlite3'}") as storage:

        def collect(at: datetime, *items: Item) -> None:
            news = [(i, ItemDecision.NEW) for i in items]
            storage.save_source_result(SourceState(items[0].source_id), news, at)
            with storage.story_index() as index:
                story = index.next_story_id()
                placements = []
                keys = {i.key for i in items}
                batch = storage.recent_items([items[0].source_id], 100)
                for stored in (s for s in batch if s.item.key in keys):
                    joins = stored.item.key in joined_to
                    target = joined_to.get(stored.item.key, story)
                    placements.append(
                        StoryPlacement(stored.id, target, not joins, None, b"", "", b"")
                    )
                    story += not joins
                index.place(placements, at)

        joined_to: dict[str, int] = {}
        archive = [
            item(key=f"alt{n}", published_at=archive_at - timedelta(days=n), backlog=True)
            for n in range(5)
        ]
        collect(archive_at, *archive)
        fresh = item(key="neu", source_id="b", published_at=archive_at + timedelta(days=1))
        collect(archive_at + timedelta(days=1), fresh)
        # Collected a week later, dated before the news of the day after the archive.
        late = item(key="spaet", source_id="b", published_at=archive_at + timedelta(hours=12))
        collect(archive_at + timedelta(days=7), late)

        def titles(limit: int) -> list[str]:
            stories = storage.recent_stories(["kreis", "b"], limit)
            return [story.members[0].item.key for story in stories]

        assert titles(3) == ["spaet", "neu", "alt0"]
        # A republication dated before the story's first member joins it: it stays.
        (neu,) = [s for s in storage.recent_items(["b"], 5) if s.item.key == "neu"]
        assert neu.story_id is not None
        joined_to["frueh"] = neu.story_id
        early = item(key="frueh", source_id="c", published_at=archive_at - timedelta(hours=1))
        collect(archive_at + timedelta(days=2), early)
        got = storage.recent_stories(["kreis", "b", "c"], 2)
        assert [sorted(m.item.key for m in story.members) for story in got] == [
            ["spaet"],
            ["frueh", "neu"],
        ]
        # An old item found again (its link moved) counts by its date: it does not push the
        # news out of a full feed (found by a review, session 37); nor does an old copy that
        # joins a story move the story.
        moved = item(key="https-alt3", published_at=archive_at - timedelta(days=3))
        collect(archive_at + timedelta(days=9), moved)
        (spaet,) = [s for s in storage.recent_items(["b"], 5) if s.item.key == "spaet"]
        assert spaet.story_id is not None
        joined_to["kopie"] = spaet.story_id
        copy = item(key="kopie", source_id="d", published_at=archive_at - timedelta(days=30))
        collect(archive_at + timedelta(days=10), copy)
        got = storage.recent_stories(["kreis", "b", "c", "d"], 3)
        assert [sorted(m.item.key for m in story.members) for story in got] == [
            ["kopie", "spaet"],
            ["frueh", "neu"],
            ["alt0"],
        ]


def test_source_states_are_saved_together(tmp_path: Path) -> None:
    now = datetime(2021, 6, 10, 8, 0, tzinfo=UTC)
    with Storage(f"sqlite:///{tmp_path / 'store.sqlite3'}") as storage:
        first = SourceState(source_id="a", config_url="https://a.example/feed", etag='"1"')
        storage.save_source_result(first, (), now)
        # "a" is stored, "b" not yet: both end up written.
        storage.save_source_states(
            [
                dataclasses.replace(first, etag='"2"', http_status=304, next_fetch_at=now),
                SourceState(source_id="b", config_url="https://b.example/feed", etag='"3"'),
            ],
            now,
        )
        states = storage.source_states(["a", "b"])
    assert (states["a"].etag, states["a"].http_status, states["a"].next_fetch_at) == (
        '"2"',
        304,
        now,
    )
    assert states["b"].etag == '"3"'


def test_keyword_counts_are_stored_and_updated(store: Storage) -> None:
    """A first cycle stores tens of thousands of keyword counts at once (straight to the
    driver); later cycles update some of them and add others."""
    first = {f"wort{n}": n % 7 + 1 for n in range(1500)}  # more than one chunk of lookups
    later = {"wort3": 40, "wort1499": 2, "neu": 1}
    for counts, total in ((first, 1500), (later, 1501)):
        with store.story_index() as writes:
            writes.save_keyword_counts(counts, total)
    with store.story_index() as writes:
        assert writes.keyword_counts() == ({**first, **later}, 1501)


def test_placing_a_large_batch_changes_the_publish_version_and_keeps_the_trigger(
    store: Storage,
) -> None:
    # A first cycle's placements bump the version once at the end, not per row; afterwards
    # every write path must bump it again as before.
    many = [(item(key=f"guid-{n}"), ItemDecision.NEW) for n in range(1200)]
    store.save_source_result(state(), many, NOW)
    before = store.publish_version()
    placements = [StoryPlacement(n, n, True, None, b"", "studi", b"") for n in range(1, 1201)]
    with store.story_index() as writes:
        writes.place(placements, NOW)
    placed = store.publish_version()
    assert placed != before
    with store.story_index() as writes:  # a small batch: the trigger's own bumps
        writes.place([StoryPlacement(1, 2, False, 0.9, b"", "", b"")], NOW)
    assert store.publish_version() != placed
    with sqlite3.connect(store.url.removeprefix("sqlite:///")) as db:
        assert db.execute("SELECT deferred FROM publish_state").fetchone() == (0,)
        moved = store.publish_version()
        db.execute("UPDATE items SET title = 'Neuer Titel' WHERE id = 5")
    assert store.publish_version() != moved


def placements_for(count: int) -> list[StoryPlacement]:
    return [
        StoryPlacement(
            n,
            n if n % 3 else n - 1,
            n % 3 != 0,
            None if n % 3 else 0.8,
            bytes([n % 7]) * 8,
            f"studi wort{n}",
            bytes([n % 5]) * 4,
            (18790,) if n % 4 == 0 else (),
        )
        for n in range(1, count + 1)
    ]


def test_a_large_batch_written_behind_the_caller_stores_what_a_direct_write_stores(
    tmp_path: Path,
) -> None:
    # On SQLite a large batch is staged and written on a thread while placing goes on; the
    # rows must be the ones the plain executemany writes.
    news = [(item(key=f"guid-{n}"), ItemDecision.NEW) for n in range(1500)]
    batch = placements_for(1500)
    staged, direct = tmp_path / "staged.sqlite3", tmp_path / "direct.sqlite3"
    for path in (staged, direct):
        with Storage(f"sqlite:///{path}") as storage:
            storage.save_source_result(state(), news, NOW)
    with Storage(f"sqlite:///{staged}") as storage, storage.story_index() as writes:
        writes.place(batch, NOW)
        # Waits for the batch being written: every story it created counts.
        assert writes.next_story_id() == max(p.story_id for p in batch) + 1
    database = Database(f"sqlite:///{direct}")
    with database.writing("place") as conn:
        stories_storage.place(conn, batch, NOW)
    database.close()

    placed = "SELECT count(*) FROM items WHERE story_id IS NOT NULL"
    assert stored_rows(staged, placed) == [(1500,)]
    assert stored_rows(staged, *PLACEMENTS) == stored_rows(direct, *PLACEMENTS)


def test_a_batch_that_fails_on_its_thread_rolls_the_placements_back(store: Storage) -> None:
    news = [(item(key=f"guid-{n}"), ItemDecision.NEW) for n in range(1200)]
    store.save_source_result(state(), news, NOW)
    path = store.url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:  # SQLite itself refuses one row of the update
        db.execute(
            "CREATE TRIGGER refuse BEFORE UPDATE OF story_id ON items WHEN NEW.id = 700 "
            "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
        )
    with pytest.raises(StorageError, match="disk I/O error"), store.story_index() as writes:
        writes.place(placements_for(1200), NOW)
        writes.save_keyword_counts({"studi": 1200}, 1200)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM items WHERE story_id IS NOT NULL").fetchone() == (
            0,
        )
        assert db.execute("SELECT count(*) FROM stories").fetchone() == (0,)
        assert db.execute("SELECT deferred FROM publish_state").fetchone() == (0,)
        db.execute("DROP TRIGGER refuse")
    with store.story_index() as writes:  # the store is fine: the next run places them
        writes.place(placements_for(1200), NOW)
    assert store.pending_story_items(["kreis"]) == {}


def test_a_backup_to_a_full_disk_names_that_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's "disk is full" hint pointed the admin at the store's disk. The copy's
    disk is made to hold one page (a full disk cannot be made here without privileges)."""
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    real_connect = sqlite3.connect

    def small_disk(path: object, *args: object, **kwargs: object) -> sqlite3.Connection:
        conn = real_connect(path, *args, **kwargs)  # type: ignore[arg-type]
        if "backups" in str(path):
            conn.execute("PRAGMA max_page_count = 1")
        return conn

    (tmp_path / "backups").mkdir()
    with Storage(url) as storage:
        monkeypatch.setattr(sqlite3, "connect", small_disk)
        with pytest.raises(StorageError) as failed:
            storage.backup(tmp_path / "backups" / "copy.sqlite3")
    message = str(failed.value)
    assert "database or disk is full" in message
    assert f"the disk that holds {tmp_path / 'backups'} is full" in message
    assert "the disk that holds the store" not in message
    assert list((tmp_path / "backups").iterdir()) == []
    # A folder that cannot take the copy is named too, not the store's.
    with Storage(url) as storage, pytest.raises(StorageError) as failed:
        storage.backup(tmp_path / "nicht-da" / "copy.sqlite3")
    assert f"{tmp_path / 'nicht-da'} must be a folder this user can write" in str(failed.value)
    assert "the store's folder" not in str(failed.value)


def test_a_store_from_before_schema_19_has_items_without_files_and_publishes_new_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Items stored before attachments were kept have none; a file stored for one later
    changes the publish version (the next publish reads it), as its other published
    columns do."""
    path = store_of_version(18, tmp_path, monkeypatch)
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO items (source_id, key, url, title, summary_html, summary_text, "
            "content_html, categories, tags, published_at, date_estimated, fingerprint, "
            "first_seen_at, last_seen_at, last_changed_at) VALUES ('kreis', 'g1', NULL, "
            "'Alte Meldung', '', '', '', '[]', '[]', '2021-06-01 00:00:00', 0, '1:x', "
            "'2021-06-01 00:00:00', '2021-06-01 00:00:00', '2021-06-01 00:00:00')"
        )
    with Storage(f"sqlite:///{path}") as storage:
        (stored,) = storage.recent_items(["kreis"], 10)
        assert stored.item.title == "Alte Meldung" and stored.item.attachments == ()
        before = storage.publish_version()
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE items SET attachments = "
            """'[{"url": "https://k.example/pm.pdf", "type": "application/pdf", "size": 9}]'"""
        )
    with Storage(f"sqlite:///{path}") as storage:
        (stored,) = storage.recent_items(["kreis"], 10)
        assert stored.item.attachments == (
            Attachment("https://k.example/pm.pdf", "application/pdf", 9),
        )
        assert storage.publish_version() != before
