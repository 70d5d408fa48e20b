"""The store's numbered, append-only migrations, built with SQLAlchemy Core.

The schema version lives in the one-row ``schema_version`` table (read without this module
by :meth:`.database.Database.schema_version`: a store at the current version never loads
SQLAlchemy to open). Each migration runs in its own transaction together with the version
bump. Never edit a released migration; append a new one.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    select,
    text,
)
from sqlalchemy.schema import CreateColumn

from . import database

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)

# The store's tables are what the migrations below build, in order: the modules of this
# package read and write them in plain SQL (see :mod:`.database` for how values are kept),
# and ``sqlite3 STORE .schema`` shows them.

# A migration defines the tables *of its time* itself, never through the current Table
# objects above, so replaying it later always gives the same schema. Types and DDL are
# compiled by SQLAlchemy for the database in use.


def _v1(conn: Connection) -> None:
    v1 = MetaData()
    Table(
        "sources",
        v1,
        Column("id", String(100), primary_key=True),
        Column("status", String(20), nullable=False),
        Column("etag", Text),
        Column("last_modified", Text),
        Column("http_status", Integer),
        Column("error_count", Integer, nullable=False),
        Column("last_error_kind", String(20)),
        Column("last_error", Text),
        Column("last_attempt_at", DateTime),
        Column("last_success_at", DateTime),
        Column("next_fetch_at", DateTime),
        Column("items_last_fetch", Integer),
        Column("created_at", DateTime, nullable=False),
    )
    v1_items = Table(
        "items",
        v1,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("source_id", String(100), ForeignKey("sources.id"), nullable=False),
        Column("key", Text, nullable=False),
        Column("url", Text),
        Column("title", Text, nullable=False),
        Column("summary_html", Text, nullable=False),
        Column("summary_text", Text, nullable=False),
        Column("content_html", Text, nullable=False),
        Column("author", Text),
        Column("categories", Text, nullable=False),
        Column("tags", Text, nullable=False),
        Column("image", Text),
        Column("published_at", DateTime, nullable=False),
        Column("date_estimated", Boolean, nullable=False),
        Column("updated_at", DateTime),
        Column("fingerprint", String(80), nullable=False),
        Column("first_seen_at", DateTime, nullable=False),
        Column("last_seen_at", DateTime, nullable=False),
        Column("last_changed_at", DateTime, nullable=False),
        UniqueConstraint("source_id", "key", name="uq_items_source_key"),
    )
    Index("ix_items_published_at", v1_items.c.published_at)
    Index("ix_items_first_seen_at", v1_items.c.first_seen_at)
    v1.create_all(conn)


def _v2(conn: Connection) -> None:
    """Source redirects and health figures, item backlog flag, robots.txt cache (#3)."""
    _add_column(conn, "sources", Column("url", Text))
    _add_column(conn, "sources", Column("config_url", Text))
    _add_column(conn, "sources", Column("last_new_item_at", DateTime))
    _add_column(conn, "sources", Column("fetch_seconds", Float))
    _add_column(conn, "items", Column("backlog", Boolean, nullable=False, server_default=false()))
    v2 = MetaData()
    Table(
        "robots",
        v2,
        Column("origin", Text, primary_key=True),
        Column("fetched_at", DateTime, nullable=False),
        Column("status", Integer, nullable=False),
        Column("body", Text, nullable=False),
    )
    v2.create_all(conn)


def _v3(conn: Connection) -> None:
    """Districts of an item, found by the gazetteer (#4)."""
    _add_column(conn, "items", Column("districts", Text, nullable=False, server_default="[]"))


def _v4(conn: Connection) -> None:
    """Stories: items grouped across sources, the candidate index, keyword counts (#4).

    Every existing item becomes a story of its own; `revier-feed stories rebuild` groups
    them.
    """
    v4 = MetaData()
    Table(
        "stories",
        v4,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("created_at", DateTime, nullable=False),
    )
    Table(
        "story_marks",
        v4,
        Column("mark", Integer, primary_key=True),
        Column("item_id", Integer, primary_key=True),
        sqlite_with_rowid=False,
    )
    Table(
        "keyword_counts",
        v4,
        Column("keyword", Text, primary_key=True),
        Column("documents", Integer, nullable=False),
    )
    v4.create_all(conn)
    # Re-placing an item deletes its marks by item id.
    conn.execute(text("CREATE INDEX ix_story_marks_item_id ON story_marks (item_id)"))
    _add_column(conn, "items", Column("story_id", Integer))
    _add_column(
        conn, "items", Column("story_pinned", Boolean, nullable=False, server_default=false())
    )
    _add_column(conn, "items", Column("story_similarity", Float))
    _add_column(conn, "items", Column("shingles", LargeBinary))
    _add_column(conn, "items", Column("keywords", Text))
    _add_column(conn, "sources", Column("boilerplate", LargeBinary))
    conn.execute(text("CREATE INDEX ix_items_story_id ON items (story_id)"))
    conn.execute(text("INSERT INTO stories (id, created_at) SELECT id, first_seen_at FROM items"))
    conn.execute(text("UPDATE items SET story_id = id"))


def _v5(conn: Connection) -> None:
    """Adaptive intervals: each source's new-item rate; tombstones of retired items (#7)."""
    _add_column(conn, "sources", Column("new_item_rate", Float))
    v5 = MetaData()
    Table(
        "item_tombstones",
        v5,
        Column("source_id", String(100), primary_key=True),
        Column("key", Text, primary_key=True),
        Column("deleted_at", DateTime, nullable=False),
    )
    v5.create_all(conn)
    conn.execute(
        text("CREATE INDEX ix_item_tombstones_deleted_at ON item_tombstones (deleted_at)")
    )


def _v6(conn: Connection) -> None:
    """The digest's send log and the stories each partner has received (#6)."""
    v6 = MetaData()
    log = Table(
        "digest_log",
        v6,
        Column("partner_id", String(100), primary_key=True),
        Column("period", String(40), primary_key=True),
        Column("slot_at", DateTime, nullable=False),
        Column("since_at", DateTime, nullable=False),
        Column("until_at", DateTime, nullable=False),
        Column("state", String(20), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("next_attempt_at", DateTime),
        Column("message_id", Text),
        Column("stories", Integer, nullable=False),
        Column("error", Text),
        Column("created_at", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=False),
    )
    Index("ix_digest_log_slot_at", log.c.slot_at)
    Table(
        "digest_stories",
        v6,
        Column("partner_id", String(100), primary_key=True),
        Column("story_id", Integer, primary_key=True),
        Column("period", String(40), nullable=False),
        Column("text_hash", String(40), nullable=False),
        Column("updated_sent", Boolean, nullable=False),
        sqlite_with_rowid=False,
    )
    v6.create_all(conn)


def _v7(conn: Connection) -> None:
    """Counters of the worker (fetches by outcome, durations, items stored) for /metrics (#7)."""
    v7 = MetaData()
    Table(
        "counters",
        v7,
        Column("name", String(100), primary_key=True),
        Column("labels", Text, primary_key=True),
        Column("value", Float, nullable=False),
    )
    v7.create_all(conn)


def _v8(conn: Connection) -> None:
    """The story index moves into memory; sources remember broken guids (#4).

    An item's marks become one packed column (the index is loaded from it once per
    placement run, or kept by the worker while ``story_state.generation`` stays) instead
    of a row per mark. ``sources.identity`` is how a source's items are identified when
    its guids cannot be trusted (NULL: by guid).
    """
    _add_column(conn, "items", Column("story_marks", LargeBinary))
    _add_column(conn, "items", Column("story_events", Text))
    marks: dict[int, list[int]] = {}
    for mark, item_id in conn.execute(text("SELECT mark, item_id FROM story_marks")):
        marks.setdefault(item_id, []).append(mark)
    if marks:
        conn.execute(
            text("UPDATE items SET story_marks = :m WHERE id = :i"),
            [{"i": i, "m": struct.pack(f"<{len(m)}I", *sorted(m))} for i, m in marks.items()],
        )
    conn.execute(text("DROP TABLE story_marks"))
    _add_column(conn, "sources", Column("identity", Text))
    v8 = MetaData()
    Table(
        "story_state",
        v8,
        Column("id", Integer, primary_key=True),
        Column("generation", Integer, nullable=False),
    )
    v8.create_all(conn)
    conn.execute(text("INSERT INTO story_state (id, generation) VALUES (1, 0)"))


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


def _v9(conn: Connection) -> None:
    """A change marker for publishing (#5): every insert, delete and published-column
    update of items sets ``publish_state.version`` to a new random number.

    Triggers, not Python: every write path (ingest, retag, split, merge, retention, an
    operator's own SQL) is covered, including ones added later. Random, not counting up: a
    restored backup or another store in the same place never repeats a value the output
    folder was made from. SQLite only; elsewhere publishing reads the store every time.
    """
    v9 = MetaData()
    Table(
        "publish_state",
        v9,
        Column("id", Integer, primary_key=True),
        Column("version", Integer, nullable=False),
    )
    v9.create_all(conn)
    if conn.dialect.name != "sqlite":
        conn.execute(text("INSERT INTO publish_state (id, version) VALUES (1, 0)"))
        return
    conn.execute(text("INSERT INTO publish_state (id, version) VALUES (1, random())"))
    bump = "BEGIN UPDATE publish_state SET version = random() WHERE id = 1; END"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _V9_PUBLISHED)
    conn.execute(text(f"CREATE TRIGGER publish_items_insert AFTER INSERT ON items {bump}"))
    conn.execute(text(f"CREATE TRIGGER publish_items_delete AFTER DELETE ON items {bump}"))
    conn.execute(
        text(f"CREATE TRIGGER publish_items_update AFTER UPDATE ON items WHEN {changed} {bump}")
    )


def _v10(conn: Connection) -> None:
    """Placing a first cycle's items bumps the publish version once, not once per item (#4).

    The update trigger's bump (an UPDATE of ``publish_state`` for every row) was half of
    SQLite's time for writing 100,000 placements. While ``publish_state.deferred`` is 1 the
    trigger does nothing; only the placement writer sets it, inside its own transaction,
    and it sets a new version itself when it clears it again.
    """
    _add_column(
        conn, "publish_state", Column("deferred", Integer, nullable=False, server_default="0")
    )
    if conn.dialect.name != "sqlite":
        return
    bump = "BEGIN UPDATE publish_state SET version = random() WHERE id = 1; END"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _V9_PUBLISHED)
    deferred = "(SELECT deferred FROM publish_state WHERE id = 1) = 0"
    conn.execute(text("DROP TRIGGER publish_items_update"))
    conn.execute(
        text(
            "CREATE TRIGGER publish_items_update AFTER UPDATE ON items "
            f"WHEN {deferred} AND ({changed}) {bump}"
        )
    )


def _add_column(conn: Connection, table: str, column: Column[Any]) -> None:
    Table(table, MetaData(), column)  # a column compiles only inside a table
    spec = CreateColumn(column).compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {spec}"))


#: version -> function that brings a store from version-1 to version. Append only.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
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
}
assert max(MIGRATIONS) == database.VERSION, "a migration was added: raise database.VERSION"


def migrate(conn_factory: Callable[[], Connection]) -> int:
    """Bring the store to :data:`.database.VERSION`, one transaction per migration.

    Returns:
        The version the store had before.

    Raises:
        SchemaVersionError: the store is newer than this code.
    """
    with conn_factory() as conn, conn.begin():
        metadata.create_all(conn, tables=[schema_version])
        row = conn.execute(select(schema_version.c.version)).first()
        if row is None:
            conn.execute(schema_version.insert().values(id=1, version=0))
        start = int(row.version) if row else 0
    database.check_version(start)
    for version in range(start + 1, database.VERSION + 1):
        with conn_factory() as conn, conn.begin():
            # Read again inside the (write-locked) transaction: another process may have
            # run this migration since we looked.
            current = conn.execute(select(schema_version.c.version)).scalar_one()
            if current >= version:
                continue
            MIGRATIONS[version](conn)
            conn.execute(schema_version.update().values(version=version))
    return start
