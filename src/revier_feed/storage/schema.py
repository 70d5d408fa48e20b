"""The store's numbered, append-only migrations, in plain SQL.

The schema version lives in the one-row ``schema_version`` table (read by
:meth:`.database.Database.schema_version` when a store is opened). Each migration runs in
its own transaction together with the version bump. Never edit a released migration;
append a new one.

The migrations were written with SQLAlchemy Core until the store moved to ``sqlite3``;
their statements are the ones SQLAlchemy sent to SQLite, word for word (the tables' SQL
as SQLite keeps it is compared with a store built back then: ``tests/data/schema-v10.sql``).
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Callable

from . import database


def _create(name: str, *parts: str, without_rowid: bool = False) -> str:
    """A CREATE TABLE statement laid out as SQLAlchemy laid it out (SQLite keeps the text)."""
    # SQLite keeps the newlines SQLAlchemy sent after WITHOUT ROWID (not after a ")").
    rowid = "\n WITHOUT ROWID\n\n" if without_rowid else ""
    return f"CREATE TABLE {name} (\n\t" + ", \n\t".join(parts) + f"\n){rowid}"


def _v1(conn: sqlite3.Connection) -> None:
    conn.execute(
        _create(
            "sources",
            "id VARCHAR(100) NOT NULL",
            "status VARCHAR(20) NOT NULL",
            "etag TEXT",
            "last_modified TEXT",
            "http_status INTEGER",
            "error_count INTEGER NOT NULL",
            "last_error_kind VARCHAR(20)",
            "last_error TEXT",
            "last_attempt_at DATETIME",
            "last_success_at DATETIME",
            "next_fetch_at DATETIME",
            "items_last_fetch INTEGER",
            "created_at DATETIME NOT NULL",
            "PRIMARY KEY (id)",
        )
    )
    conn.execute(
        _create(
            "items",
            "id INTEGER NOT NULL",
            "source_id VARCHAR(100) NOT NULL",
            '"key" TEXT NOT NULL',
            "url TEXT",
            "title TEXT NOT NULL",
            "summary_html TEXT NOT NULL",
            "summary_text TEXT NOT NULL",
            "content_html TEXT NOT NULL",
            "author TEXT",
            "categories TEXT NOT NULL",
            "tags TEXT NOT NULL",
            "image TEXT",
            "published_at DATETIME NOT NULL",
            "date_estimated BOOLEAN NOT NULL",
            "updated_at DATETIME",
            "fingerprint VARCHAR(80) NOT NULL",
            "first_seen_at DATETIME NOT NULL",
            "last_seen_at DATETIME NOT NULL",
            "last_changed_at DATETIME NOT NULL",
            "PRIMARY KEY (id)",
            'CONSTRAINT uq_items_source_key UNIQUE (source_id, "key")',
            "FOREIGN KEY(source_id) REFERENCES sources (id)",
        )
    )
    conn.execute("CREATE INDEX ix_items_first_seen_at ON items (first_seen_at)")
    conn.execute("CREATE INDEX ix_items_published_at ON items (published_at)")


def _v2(conn: sqlite3.Connection) -> None:
    """Source redirects and health figures, item backlog flag, robots.txt cache (#3)."""
    conn.execute("ALTER TABLE sources ADD COLUMN url TEXT")
    conn.execute("ALTER TABLE sources ADD COLUMN config_url TEXT")
    conn.execute("ALTER TABLE sources ADD COLUMN last_new_item_at DATETIME")
    conn.execute("ALTER TABLE sources ADD COLUMN fetch_seconds FLOAT")
    conn.execute("ALTER TABLE items ADD COLUMN backlog BOOLEAN DEFAULT 0 NOT NULL")
    conn.execute(
        _create(
            "robots",
            "origin TEXT NOT NULL",
            "fetched_at DATETIME NOT NULL",
            "status INTEGER NOT NULL",
            "body TEXT NOT NULL",
            "PRIMARY KEY (origin)",
        )
    )


def _v3(conn: sqlite3.Connection) -> None:
    """Districts of an item, found by the gazetteer (#4)."""
    conn.execute("ALTER TABLE items ADD COLUMN districts TEXT DEFAULT '[]' NOT NULL")


def _v4(conn: sqlite3.Connection) -> None:
    """Stories: items grouped across sources, the candidate index, keyword counts (#4).

    Every existing item becomes a story of its own; `revier-feed stories rebuild` groups
    them.
    """
    conn.execute(
        _create(
            "stories", "id INTEGER NOT NULL", "created_at DATETIME NOT NULL", "PRIMARY KEY (id)"
        )
    )
    conn.execute(
        _create(
            "story_marks",
            "mark INTEGER NOT NULL",
            "item_id INTEGER NOT NULL",
            "PRIMARY KEY (mark, item_id)",
            without_rowid=True,
        )
    )
    conn.execute(
        _create(
            "keyword_counts",
            "keyword TEXT NOT NULL",
            "documents INTEGER NOT NULL",
            "PRIMARY KEY (keyword)",
        )
    )
    # Re-placing an item deletes its marks by item id.
    conn.execute("CREATE INDEX ix_story_marks_item_id ON story_marks (item_id)")
    conn.execute("ALTER TABLE items ADD COLUMN story_id INTEGER")
    conn.execute("ALTER TABLE items ADD COLUMN story_pinned BOOLEAN DEFAULT 0 NOT NULL")
    conn.execute("ALTER TABLE items ADD COLUMN story_similarity FLOAT")
    conn.execute("ALTER TABLE items ADD COLUMN shingles BLOB")
    conn.execute("ALTER TABLE items ADD COLUMN keywords TEXT")
    conn.execute("ALTER TABLE sources ADD COLUMN boilerplate BLOB")
    conn.execute("CREATE INDEX ix_items_story_id ON items (story_id)")
    conn.execute("INSERT INTO stories (id, created_at) SELECT id, first_seen_at FROM items")
    conn.execute("UPDATE items SET story_id = id")


def _v5(conn: sqlite3.Connection) -> None:
    """Adaptive intervals: each source's new-item rate; tombstones of retired items (#7)."""
    conn.execute("ALTER TABLE sources ADD COLUMN new_item_rate FLOAT")
    conn.execute(
        _create(
            "item_tombstones",
            "source_id VARCHAR(100) NOT NULL",
            '"key" TEXT NOT NULL',
            "deleted_at DATETIME NOT NULL",
            'PRIMARY KEY (source_id, "key")',
        )
    )
    conn.execute("CREATE INDEX ix_item_tombstones_deleted_at ON item_tombstones (deleted_at)")


def _v6(conn: sqlite3.Connection) -> None:
    """The digest's send log and the stories each partner has received (#6)."""
    conn.execute(
        _create(
            "digest_log",
            "partner_id VARCHAR(100) NOT NULL",
            "period VARCHAR(40) NOT NULL",
            "slot_at DATETIME NOT NULL",
            "since_at DATETIME NOT NULL",
            "until_at DATETIME NOT NULL",
            "state VARCHAR(20) NOT NULL",
            "attempts INTEGER NOT NULL",
            "next_attempt_at DATETIME",
            "message_id TEXT",
            "stories INTEGER NOT NULL",
            "error TEXT",
            "created_at DATETIME NOT NULL",
            "updated_at DATETIME NOT NULL",
            "PRIMARY KEY (partner_id, period)",
        )
    )
    conn.execute("CREATE INDEX ix_digest_log_slot_at ON digest_log (slot_at)")
    conn.execute(
        _create(
            "digest_stories",
            "partner_id VARCHAR(100) NOT NULL",
            "story_id INTEGER NOT NULL",
            "period VARCHAR(40) NOT NULL",
            "text_hash VARCHAR(40) NOT NULL",
            "updated_sent BOOLEAN NOT NULL",
            "PRIMARY KEY (partner_id, story_id)",
            without_rowid=True,
        )
    )


def _v7(conn: sqlite3.Connection) -> None:
    """Counters of the worker (fetches by outcome, durations, items stored) for /metrics (#7)."""
    conn.execute(
        _create(
            "counters",
            "name VARCHAR(100) NOT NULL",
            "labels TEXT NOT NULL",
            "value FLOAT NOT NULL",
            "PRIMARY KEY (name, labels)",
        )
    )


def _v8(conn: sqlite3.Connection) -> None:
    """The story index moves into memory; sources remember broken guids (#4).

    An item's marks become one packed column (the index is loaded from it once per
    placement run, or kept by the worker while ``story_state.generation`` stays) instead
    of a row per mark. ``sources.identity`` is how a source's items are identified when
    its guids cannot be trusted (NULL: by guid).
    """
    conn.execute("ALTER TABLE items ADD COLUMN story_marks BLOB")
    conn.execute("ALTER TABLE items ADD COLUMN story_events TEXT")
    marks: dict[int, list[int]] = {}
    for mark, item_id in conn.execute("SELECT mark, item_id FROM story_marks"):
        marks.setdefault(item_id, []).append(mark)
    conn.executemany(
        "UPDATE items SET story_marks = ? WHERE id = ?",
        [(struct.pack(f"<{len(m)}I", *sorted(m)), i) for i, m in marks.items()],
    )
    conn.execute("DROP TABLE story_marks")
    conn.execute("ALTER TABLE sources ADD COLUMN identity TEXT")
    conn.execute(
        _create(
            "story_state", "id INTEGER NOT NULL", "generation INTEGER NOT NULL", "PRIMARY KEY (id)"
        )
    )
    conn.execute("INSERT INTO story_state (id, generation) VALUES (1, 0)")


#: Item columns a published file can show. The others (id; last_seen_at, written for every
#: item seen again; the story index's packed data) must not make the next publish read.
_V9_PUBLISHED = (
    "source_id",
    "key",
    "url",
    "title",
    "summary_html",
    "summary_text",
    "content_html",
    "author",
    "categories",
    "tags",
    "image",
    "published_at",
    "date_estimated",
    "updated_at",
    "fingerprint",
    "first_seen_at",
    "last_changed_at",
    "backlog",
    "districts",
    "story_id",
    "story_pinned",
    "story_similarity",
)


def _v9(conn: sqlite3.Connection) -> None:
    """A change marker for publishing (#5): every insert, delete and published-column
    update of items sets ``publish_state.version`` to a new random number.

    Triggers, not Python: every write path (ingest, retag, split, merge, retention, an
    operator's own SQL) is covered, including ones added later. Random, not counting up: a
    restored backup or another store in the same place never repeats a value the output
    folder was made from.
    """
    conn.execute(
        _create(
            "publish_state", "id INTEGER NOT NULL", "version INTEGER NOT NULL", "PRIMARY KEY (id)"
        )
    )
    conn.execute("INSERT INTO publish_state (id, version) VALUES (1, random())")
    bump = "BEGIN UPDATE publish_state SET version = random() WHERE id = 1; END"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _V9_PUBLISHED)
    conn.execute(f"CREATE TRIGGER publish_items_insert AFTER INSERT ON items {bump}")
    conn.execute(f"CREATE TRIGGER publish_items_delete AFTER DELETE ON items {bump}")
    conn.execute(
        f"CREATE TRIGGER publish_items_update AFTER UPDATE ON items WHEN {changed} {bump}"
    )


def _v10(conn: sqlite3.Connection) -> None:
    """Placing a first cycle's items bumps the publish version once, not once per item (#4).

    The update trigger's bump (an UPDATE of ``publish_state`` for every row) was half of
    SQLite's time for writing 100,000 placements. While ``publish_state.deferred`` is 1 the
    trigger does nothing; only the placement writer sets it, inside its own transaction,
    and it sets a new version itself when it clears it again.
    """
    conn.execute("ALTER TABLE publish_state ADD COLUMN \"deferred\" INTEGER DEFAULT '0' NOT NULL")
    bump = "BEGIN UPDATE publish_state SET version = random() WHERE id = 1; END"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _V9_PUBLISHED)
    deferred = "(SELECT deferred FROM publish_state WHERE id = 1) = 0"
    conn.execute("DROP TRIGGER publish_items_update")
    conn.execute(
        "CREATE TRIGGER publish_items_update AFTER UPDATE ON items "
        f"WHEN {deferred} AND ({changed}) {bump}"
    )


def _v11(conn: sqlite3.Connection) -> None:
    """A story id is never given again, once its story is gone (merged away, or emptied by
    retention).

    New ids were the highest id + 1, so the story after a deleted newest one took its id:
    partners' digests counted it as sent already (never delivered, or shown as an update),
    and feed readers saw another story's entry id. ``story_state.last_story_id`` keeps the
    highest id a deleted story had (a trigger, so every way of deleting keeps it); ids
    reused before this migration cannot be told apart any more.
    """
    conn.execute("ALTER TABLE story_state ADD COLUMN last_story_id INTEGER DEFAULT '0' NOT NULL")
    conn.execute(
        "CREATE TRIGGER stories_keep_ids AFTER DELETE ON stories "
        "WHEN OLD.id > (SELECT last_story_id FROM story_state) "
        "BEGIN UPDATE story_state SET last_story_id = OLD.id; END"
    )


def _v12(conn: sqlite3.Connection) -> None:
    """Digests to send again to the addresses that refused them for now (a 4xx at RCPT TO)
    while the partner's other addresses took them: such an address once never got that
    week's digest. The message is kept as sent, so the resend is the same mail."""
    conn.execute(
        _create(
            "digest_resends",
            "partner_id VARCHAR(100) NOT NULL",
            "period VARCHAR(40) NOT NULL",
            "addresses TEXT NOT NULL",
            "sender TEXT NOT NULL",
            "message BLOB NOT NULL",
            "utf8 BOOLEAN NOT NULL",
            "attempts INTEGER NOT NULL",
            "next_attempt_at DATETIME NOT NULL",
            "history TEXT NOT NULL",
            "PRIMARY KEY (partner_id, period)",
        )
    )


def _v13(conn: sqlite3.Connection) -> None:
    """A robots.txt is asked again with its validators, and answers 304 (#3). Each host's
    next turn (its Crawl-delay) and the pause it asked for (429, Retry-After) outlast the
    process: `run --once --due` from cron asked such a host again a minute later."""
    conn.execute("ALTER TABLE robots ADD COLUMN etag TEXT")
    conn.execute("ALTER TABLE robots ADD COLUMN last_modified TEXT")
    conn.execute(
        _create(
            "host_turns",
            "host TEXT NOT NULL",
            "next_start_at DATETIME NOT NULL",
            "paused_until DATETIME NOT NULL",
            "PRIMARY KEY (host)",
        )
    )


def _v14(conn: sqlite3.Connection) -> None:
    """How a source's documents were read at its last success (#3): an admin widening a
    listing's selectors had its archive announced as news, and a fixed selector waited for
    the page to change (the fetch answered 304)."""
    conn.execute("ALTER TABLE sources ADD COLUMN reading TEXT")


def _v15(conn: sqlite3.Connection) -> None:
    """Migration 11 started ``last_story_id`` at 0: in a store upgraded from before it,
    the id of the newest story, deleted by a merge before the upgrade, was given again,
    and partners who had received that story got the new one as an update of it (or not
    at all). The ids partners received are still in the store; the feeds' entry ids are
    not, so a reader may still have seen one of the other freed ids (see docs/dev.md)."""
    conn.execute(
        "UPDATE story_state SET last_story_id = max(last_story_id, "
        "coalesce((SELECT max(story_id) FROM digest_stories), 0))"
    )


def _v16(conn: sqlite3.Connection) -> None:
    """A digest's message as first handed to the mail server, until its period is done:
    a rebuild under the same Message-ID (after a run died while sending) was dropped by
    mail services that had the first copy, with the stories placed since counted as sent."""
    conn.execute(
        _create(
            "digest_copies",
            "partner_id VARCHAR(100) NOT NULL",
            "period VARCHAR(40) NOT NULL",
            "sender TEXT NOT NULL",
            "message BLOB NOT NULL",
            "utf8 BOOLEAN NOT NULL",
            "stories TEXT NOT NULL",
            "PRIMARY KEY (partner_id, period)",
        )
    )


def _v17(conn: sqlite3.Connection) -> None:
    """Tombstones that can end (#3): since when the documents of a retired item's source,
    read whole, have no longer listed its key (NULL while they list it, and before any
    such read), and when each source's documents were last read whole. A tombstone whose
    source has gone without the key for as long as the retention period is dropped;
    before, they were kept for good (about 2,000 a month in a soak probe). Tombstones of
    before start as listed: only reads from now on can start their absence. Also the
    retired item's link and title, to key its tombstone anew when its source's guids break
    (before, the item came back as new)."""
    conn.execute("ALTER TABLE item_tombstones ADD COLUMN missed_at DATETIME")
    conn.execute("ALTER TABLE item_tombstones ADD COLUMN url TEXT")
    conn.execute("ALTER TABLE item_tombstones ADD COLUMN title TEXT")
    conn.execute("ALTER TABLE sources ADD COLUMN last_read_at DATETIME")


def _v18(conn: sqlite3.Connection) -> None:
    """How many digest runs in a row could not reach the mail server (#6). A run that cannot
    reach it tries one digest and leaves the others due without using up their attempts;
    their retries came after their own few attempts, so through an outage the server was
    tried every 5 minutes (a soak probe, session 33). The wait now doubles with this count."""
    conn.execute(
        _create(
            "mail_server", "id INTEGER NOT NULL", "failures INTEGER NOT NULL", "PRIMARY KEY (id)"
        )
    )


def _v19(conn: sqlite3.Connection) -> None:
    """The files an item links to, its enclosures and attachments (#3): a press release's
    PDF, a podcast's episode, as a JSON list (``[{"url", "type", "size", "title"}]``). Items stored
    before have none until their source lists them again. Published, so changing them
    makes the next publish read (the update trigger of migration 10, with the column)."""
    conn.execute("ALTER TABLE items ADD COLUMN attachments TEXT DEFAULT '[]' NOT NULL")
    bump = "BEGIN UPDATE publish_state SET version = random() WHERE id = 1; END"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in (*_V9_PUBLISHED, "attachments"))
    deferred = "(SELECT deferred FROM publish_state WHERE id = 1) = 0"
    conn.execute("DROP TRIGGER publish_items_update")
    conn.execute(
        "CREATE TRIGGER publish_items_update AFTER UPDATE ON items "
        f"WHEN {deferred} AND ({changed}) {bump}"
    )


def _v20(conn: sqlite3.Connection) -> None:
    """Servers whose "not modified" cannot be trusted (#3): when a source's document last
    came whole, to ask it without validators once a day, and whether its server answered
    304 while the document had news (it is then always asked whole). Sources of before
    have no time: their next fetch asks them whole."""
    conn.execute("ALTER TABLE sources ADD COLUMN fetched_whole_at DATETIME")
    conn.execute("ALTER TABLE sources ADD COLUMN validators_ignored BOOLEAN DEFAULT '0' NOT NULL")


#: version -> function that brings a store from version-1 to version. Append only.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _v1,
    2: _v2,
    3: _v3,
    4: _v4,
    5: _v5,
    6: _v6,
    7: _v7,
    8: _v8,
    9: _v9,
    10: _v10,
    11: _v11,
    12: _v12,
    13: _v13,
    14: _v14,
    15: _v15,
    16: _v16,
    17: _v17,
    18: _v18,
    19: _v19,
    20: _v20,
}
assert max(MIGRATIONS) == database.VERSION, "a migration was added: raise database.VERSION"


def migrate(db: database.Database) -> int:
    """Bring the store to :data:`.database.VERSION`, one transaction per migration.

    Returns:
        The version the store had before.

    Raises:
        SchemaVersionError: the store is newer than this code.
        StorageError: a migration failed in the database (it is rolled back whole).
    """
    with db.writing("open the store") as conn:
        conn.execute(
            _create(
                "IF NOT EXISTS schema_version",
                "id INTEGER NOT NULL",
                "version INTEGER NOT NULL",
                "PRIMARY KEY (id)",
            )
        )
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        if row is None:
            conn.execute("INSERT INTO schema_version (id, version) VALUES (1, 0)")
        start = int(row[0]) if row else 0
    database.check_version(start)
    for version in range(start + 1, database.VERSION + 1):
        with db.writing(f"upgrade the store to schema version {version}") as conn:
            # Read again inside the (write-locked) transaction: another process may have
            # run this migration since we looked.
            (current,) = conn.execute("SELECT version FROM schema_version").fetchone()
            if current >= version:
                continue
            MIGRATIONS[version](conn)
            conn.execute("UPDATE schema_version SET version = ?", (version,))
    return start
