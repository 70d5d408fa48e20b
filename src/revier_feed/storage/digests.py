"""The digest's send log (one row per partner and period) and the stories each partner got."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from ..models import DigestCopy, DigestLogEntry, DigestResend, DigestState, Story
from .database import from_db, marks, to_db
from .stories import members


def changed_stories(
    conn: sqlite3.Connection, source_ids: Sequence[str], since: datetime, until: datetime
) -> list[Story]:
    """Stories of the given sources first seen by ``until`` with a member new or changed
    after ``since`` (the candidates of every digest of a period, new and updated ones)."""
    ids = list(source_ids)
    rows = conn.execute(
        "SELECT story_id FROM items "
        f"WHERE source_id IN ({marks(len(ids))}) AND story_id IS NOT NULL "
        "GROUP BY story_id HAVING max(last_changed_at) > ? AND min(first_seen_at) <= ? "
        "ORDER BY story_id",
        (*ids, to_db(since), to_db(until)),
    )
    return members(conn, [story_id for (story_id,) in rows], ids)


_ENTRY = (
    "partner_id, period, slot_at, since_at, until_at, state, attempts, next_attempt_at, "
    "message_id, stories, error, updated_at, created_at"
)


def _entry(row: Sequence[Any]) -> DigestLogEntry:
    (
        partner_id,
        period,
        slot_at,
        since_at,
        until_at,
        state,
        attempts,
        next_attempt_at,
        message_id,
        stories,
        error,
        updated_at,
        created_at,
    ) = row
    slot, since, until = from_db(slot_at), from_db(since_at), from_db(until_at)
    assert slot and since and until, "NOT NULL columns"
    return DigestLogEntry(
        partner_id=partner_id,
        period=period,
        slot_at=slot,
        since=since,
        until=until,
        state=DigestState(state),
        attempts=attempts,
        next_attempt_at=from_db(next_attempt_at),
        message_id=message_id,
        stories=stories,
        error=error,
        updated_at=from_db(updated_at),
        created_at=from_db(created_at),
    )


def entries(
    conn: sqlite3.Connection, partner_ids: Iterable[str] | None = None, limit: int | None = None
) -> list[DigestLogEntry]:
    """Send log rows, newest period first (optionally of some partners only)."""
    query = f"SELECT {_ENTRY} FROM digest_log"
    values: list[Any] = []
    if partner_ids is not None:
        ids = list(partner_ids)
        query += f" WHERE partner_id IN ({marks(len(ids))})"
        values.extend(ids)
    # A second issue of a period (key "….2") before the first.
    query += " ORDER BY slot_at DESC, partner_id, period DESC"
    if limit is not None:
        query += " LIMIT ?"
        values.append(limit)
    return [_entry(row) for row in conn.execute(query, values)]


def entry(conn: sqlite3.Connection, partner_id: str, period: str) -> DigestLogEntry | None:
    row = conn.execute(
        f"SELECT {_ENTRY} FROM digest_log WHERE partner_id = ? AND period = ?",
        (partner_id, period),
    ).fetchone()
    return _entry(row) if row else None


def covered_until(conn: sqlite3.Connection, partner_id: str) -> tuple[datetime, datetime] | None:
    """Where the last period the partner got a digest for (or had nothing new in) ended,
    and its slot. A digest first tried before its slot went out under a clock that ran
    ahead (see :func:`redate_future`) and covers nothing."""
    row = conn.execute(
        "SELECT until_at, slot_at FROM digest_log WHERE partner_id = ? AND state IN (?, ?) "
        "AND created_at >= slot_at ORDER BY until_at DESC LIMIT 1",
        (partner_id, DigestState.SENT.value, DigestState.EMPTY.value),
    ).fetchone()
    if row is None:
        return None
    until, slot = from_db(row[0]), from_db(row[1])
    assert until is not None and slot is not None  # NOT NULL columns
    return until, slot


def archived_until(conn: sqlite3.Connection, before: datetime, excluding: str) -> datetime | None:
    """Where the archive page of the last period before ``before`` whose digest some
    partner (other than ``excluding``) was sent ends what it shows: its slot, or where the
    first of that period's digests ended, before a story still waiting for its placement
    (:func:`.deliver.covered_until`), which the page did not show either."""
    row = conn.execute(
        "SELECT min(until_at) FROM digest_log WHERE partner_id != ?1 AND state IN (?2, ?3) "
        "AND slot_at = (SELECT max(slot_at) FROM digest_log WHERE state = ?2 "
        "AND partner_id != ?1 AND slot_at < ?4)",
        (excluding, DigestState.SENT.value, DigestState.EMPTY.value, to_db(before)),
    ).fetchone()
    return from_db(row[0])


def any_after(conn: sqlite3.Connection, moment: datetime) -> bool:
    """Whether a send log row was first tried or last written after ``moment``."""
    at = to_db(moment)
    query = "SELECT 1 FROM digest_log WHERE created_at > ? OR updated_at > ? LIMIT 1"
    return conn.execute(query, (at, at)).fetchone() is not None


def redate_future(conn: sqlite3.Connection, now: datetime, ahead_of: datetime) -> int:
    """Rows with a time after ``ahead_of`` were written under a clock that ran ahead and
    has been set back since: their times become at most ``now`` (the latest their real
    time can be; a retry waits no longer). Returns how many."""
    ahead = to_db(ahead_of)
    return conn.execute(
        "UPDATE digest_log SET created_at = min(created_at, ?1), "
        "updated_at = min(updated_at, ?1), next_attempt_at = min(next_attempt_at, ?1) "
        "WHERE created_at > ?2 OR updated_at > ?2",
        (to_db(now), ahead),
    ).rowcount


def first_unplaced_seen(conn: sqlite3.Connection, source_ids: Sequence[str]) -> datetime | None:
    """When the first stored item of these sources that is in no story yet was first seen."""
    ids = list(source_ids)
    row = conn.execute(
        "SELECT min(first_seen_at) FROM items "
        f"WHERE story_id IS NULL AND source_id IN ({marks(len(ids))})",
        ids,
    ).fetchone()
    return from_db(row[0])


def sent_stories(conn: sqlite3.Connection, partner_id: str) -> dict[int, tuple[str, bool]]:
    """Stories the partner has received: story id -> (text hash, listed as updated)."""
    rows = conn.execute(
        "SELECT story_id, text_hash, updated_sent FROM digest_stories WHERE partner_id = ?",
        (partner_id,),
    )
    return {story_id: (text_hash, bool(updated)) for story_id, text_hash, updated in rows}


def save(conn: sqlite3.Connection, log: DigestLogEntry, now: datetime) -> None:
    """Insert or replace the row of (partner, period)."""
    conn.execute(
        "INSERT INTO digest_log (partner_id, period, created_at, slot_at, since_at, until_at, "
        "state, attempts, next_attempt_at, message_id, stories, error, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (partner_id, period) "
        "DO UPDATE SET slot_at = excluded.slot_at, since_at = excluded.since_at, "
        "until_at = excluded.until_at, state = excluded.state, attempts = excluded.attempts, "
        "next_attempt_at = excluded.next_attempt_at, message_id = excluded.message_id, "
        "stories = excluded.stories, error = excluded.error, updated_at = excluded.updated_at",
        (
            log.partner_id,
            log.period,
            to_db(now),
            to_db(log.slot_at),
            to_db(log.since),
            to_db(log.until),
            log.state.value,
            log.attempts,
            to_db(log.next_attempt_at),
            log.message_id,
            log.stories,
            log.error,
            to_db(now),
        ),
    )


def record_stories(
    conn: sqlite3.Connection, partner_id: str, period: str, sent: Sequence[tuple[int, str, bool]]
) -> None:
    """Remember the stories of a delivered digest: (story id, text hash, was an update)."""
    # A story listed as updated once stays so; its period stays the one that first sent it.
    conn.executemany(
        "INSERT INTO digest_stories (partner_id, story_id, period, text_hash, updated_sent) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (partner_id, story_id) DO UPDATE SET "
        "text_hash = excluded.text_hash, "
        "updated_sent = digest_stories.updated_sent OR excluded.updated_sent",
        [
            (partner_id, story_id, period, text_hash, was_update)
            for story_id, text_hash, was_update in sent
        ],
    )


def supersede(conn: sqlite3.Connection, partner_id: str, current: str, now: datetime) -> int:
    """Older periods of the partner still pending become superseded; returns how many."""
    return conn.execute(
        "UPDATE digest_log SET state = ?, updated_at = ?, next_attempt_at = NULL "
        "WHERE partner_id = ? AND period != ? AND state IN (?, ?)",
        (
            DigestState.SUPERSEDED.value,
            to_db(now),
            partner_id,
            current,
            DigestState.RETRY.value,
            DigestState.SENDING.value,
        ),
    ).rowcount


def save_copy(conn: sqlite3.Connection, copy: DigestCopy) -> None:
    """Keep the message of (partner, period) as first sent (a copy kept already stays)."""
    conn.execute(
        "INSERT OR IGNORE INTO digest_copies (partner_id, period, sender, message, utf8, "
        "stories) VALUES (?, ?, ?, ?, ?, ?)",
        (
            copy.partner_id,
            copy.period,
            copy.sender,
            copy.message,
            copy.utf8,
            json.dumps(copy.stories),
        ),
    )


def drop_done_copies(conn: sqlite3.Connection, partner_id: str) -> None:
    """Forget the partner's copies whose period is done (sent, failed, superseded)."""
    conn.execute(
        "DELETE FROM digest_copies WHERE partner_id = ?1 AND NOT EXISTS (SELECT 1 FROM "
        "digest_log AS d WHERE d.partner_id = ?1 AND d.period = digest_copies.period AND "
        "d.state IN (?2, ?3))",
        (partner_id, DigestState.SENDING.value, DigestState.RETRY.value),
    )


def copy(conn: sqlite3.Connection, partner_id: str, period: str) -> DigestCopy | None:
    row = conn.execute(
        "SELECT sender, message, utf8, stories FROM digest_copies "
        "WHERE partner_id = ? AND period = ?",
        (partner_id, period),
    ).fetchone()
    if row is None:
        return None
    sender, message, utf8, stories = row
    return DigestCopy(
        partner_id,
        period,
        sender,
        bytes(message),
        bool(utf8),
        tuple((int(i), str(h), bool(u)) for i, h, u in json.loads(stories)),
    )


def save_resend(conn: sqlite3.Connection, resend: DigestResend) -> None:
    """Insert or replace the resend of (partner, period)."""
    conn.execute(
        "INSERT OR REPLACE INTO digest_resends (partner_id, period, addresses, sender, "
        "message, utf8, attempts, next_attempt_at, history) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            resend.partner_id,
            resend.period,
            "\n".join(resend.addresses),
            resend.sender,
            resend.message,
            resend.utf8,
            resend.attempts,
            to_db(resend.next_attempt_at),
            resend.history,
        ),
    )


def mail_server_failures(conn: sqlite3.Connection) -> int:
    """How many digest runs in a row could not reach the mail server."""
    row = conn.execute("SELECT failures FROM mail_server").fetchone()
    return int(row[0]) if row else 0


def set_mail_server_failures(conn: sqlite3.Connection, failures: int) -> None:
    conn.execute("DELETE FROM mail_server")
    if failures:
        conn.execute("INSERT INTO mail_server (id, failures) VALUES (1, ?)", (failures,))


def end_mail_server_wait(conn: sqlite3.Connection, now: datetime) -> int:
    """If the mail server has failures in a row: forget them, and make every digest and
    resend waiting for a retry due at ``now``; how many were waiting."""
    if not mail_server_failures(conn):
        return 0
    set_mail_server_failures(conn, 0)
    at = to_db(now)
    conn.execute(
        "UPDATE digest_resends SET next_attempt_at = ? WHERE next_attempt_at > ?", (at, at)
    )
    # A resend's row is "sent" and shows the resend's next try.
    waiting = conn.execute(
        "UPDATE digest_log SET next_attempt_at = ? WHERE next_attempt_at > ? AND (state = ? "
        "OR (partner_id, period) IN (SELECT partner_id, period FROM digest_resends))",
        (at, at, DigestState.RETRY.value),
    ).rowcount
    return int(waiting)


def delete_resend(conn: sqlite3.Connection, partner_id: str, period: str) -> None:
    conn.execute(
        "DELETE FROM digest_resends WHERE partner_id = ? AND period = ?", (partner_id, period)
    )


def resends(
    conn: sqlite3.Connection, partner_ids: Iterable[str] | None, due_by: datetime | None
) -> list[DigestResend]:
    """Pending resends (of some partners only, and due by ``due_by`` only, if given), oldest
    period first."""
    query = (
        "SELECT partner_id, period, addresses, sender, message, utf8, attempts, "
        "next_attempt_at, history FROM digest_resends WHERE 1"
    )
    values: list[Any] = []
    if partner_ids is not None:
        ids = list(partner_ids)
        query += f" AND partner_id IN ({marks(len(ids))})"
        values.extend(ids)
    if due_by is not None:
        query += " AND next_attempt_at <= ?"
        values.append(to_db(due_by))
    found = []
    for row in conn.execute(query + " ORDER BY period, partner_id", values):
        partner_id, period, addresses, sender, message, utf8, attempts, at, history = row
        next_at = from_db(at)
        assert next_at is not None, "NOT NULL column"
        found.append(
            DigestResend(
                partner_id,
                period,
                tuple(addresses.split("\n")),
                sender,
                bytes(message),
                bool(utf8),
                attempts,
                next_at,
                history,
            )
        )
    return found
