"""The digest's send log (one row per partner and period) and the stories each partner got."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, RowMapping, bindparam, func, or_, select, update

from ..models import DigestLogEntry, DigestState, Story
from .schema import digest_log, digest_stories, items
from .stories import members


def changed_stories(
    conn: Connection, source_ids: Sequence[str], since: datetime, until: datetime
) -> list[Story]:
    """Stories of the given sources first seen by ``until`` with a member new or changed
    after ``since`` (the candidates of every digest of a period, new and updated ones)."""
    ids = list(source_ids)
    story_ids = [
        row.story_id
        for row in conn.execute(
            select(items.c.story_id)
            .where(items.c.source_id.in_(ids), items.c.story_id.is_not(None))
            .group_by(items.c.story_id)
            .having(
                func.max(items.c.last_changed_at) > since,
                func.min(items.c.first_seen_at) <= until,
            )
            .order_by(items.c.story_id)
        )
    ]
    return members(conn, story_ids, ids)


def _entry(row: RowMapping) -> DigestLogEntry:
    return DigestLogEntry(
        partner_id=row["partner_id"],
        period=row["period"],
        slot_at=row["slot_at"],
        since=row["since_at"],
        until=row["until_at"],
        state=DigestState(row["state"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        message_id=row["message_id"],
        stories=row["stories"],
        error=row["error"],
        updated_at=row["updated_at"],
    )


def entries(
    conn: Connection, partner_ids: Iterable[str] | None = None, limit: int | None = None
) -> list[DigestLogEntry]:
    """Send log rows, newest period first (optionally of some partners only)."""
    query = select(digest_log).order_by(digest_log.c.slot_at.desc(), digest_log.c.partner_id)
    if partner_ids is not None:
        query = query.where(digest_log.c.partner_id.in_(list(partner_ids)))
    if limit is not None:
        query = query.limit(limit)
    return [_entry(row) for row in conn.execute(query).mappings()]


def entry(conn: Connection, partner_id: str, period: str) -> DigestLogEntry | None:
    row = (
        conn.execute(
            select(digest_log).where(
                digest_log.c.partner_id == partner_id, digest_log.c.period == period
            )
        )
        .mappings()
        .first()
    )
    return _entry(row) if row else None


def covered_until(conn: Connection, partner_id: str) -> datetime | None:
    """The end of the last period the partner got a digest for (or had nothing new in)."""
    value: datetime | None = conn.execute(
        select(func.max(digest_log.c.until_at)).where(
            digest_log.c.partner_id == partner_id,
            digest_log.c.state.in_([DigestState.SENT.value, DigestState.EMPTY.value]),
        )
    ).scalar()
    return value


def sent_stories(conn: Connection, partner_id: str) -> dict[int, tuple[str, bool]]:
    """Stories the partner has received: story id -> (text hash, listed as updated)."""
    rows = conn.execute(
        select(
            digest_stories.c.story_id, digest_stories.c.text_hash, digest_stories.c.updated_sent
        ).where(digest_stories.c.partner_id == partner_id)
    )
    return {row.story_id: (row.text_hash, bool(row.updated_sent)) for row in rows}


def save(conn: Connection, log: DigestLogEntry, now: datetime) -> None:
    """Insert or replace the row of (partner, period)."""
    values = {
        "slot_at": log.slot_at,
        "since_at": log.since,
        "until_at": log.until,
        "state": log.state.value,
        "attempts": log.attempts,
        "next_attempt_at": log.next_attempt_at,
        "message_id": log.message_id,
        "stories": log.stories,
        "error": log.error,
        "updated_at": now,
    }
    result = conn.execute(
        update(digest_log)
        .where(digest_log.c.partner_id == log.partner_id, digest_log.c.period == log.period)
        .values(**values)
    )
    if not result.rowcount:
        conn.execute(
            digest_log.insert().values(
                partner_id=log.partner_id, period=log.period, created_at=now, **values
            )
        )


def record_stories(
    conn: Connection, partner_id: str, period: str, sent: Sequence[tuple[int, str, bool]]
) -> None:
    """Remember the stories of a delivered digest: (story id, text hash, was an update)."""
    known = sent_stories(conn, partner_id)
    updates = [
        {"p": partner_id, "s": story_id, "h": text_hash, "u": known[story_id][1] or was_update}
        for story_id, text_hash, was_update in sent
        if story_id in known
    ]
    if updates:
        conn.execute(
            update(digest_stories)
            .where(
                digest_stories.c.partner_id == bindparam("p"),
                digest_stories.c.story_id == bindparam("s"),
            )
            .values(text_hash=bindparam("h"), updated_sent=bindparam("u")),
            updates,
        )
    inserts = [
        {
            "partner_id": partner_id,
            "story_id": story_id,
            "period": period,
            "text_hash": text_hash,
            "updated_sent": was_update,
        }
        for story_id, text_hash, was_update in sent
        if story_id not in known
    ]
    if inserts:
        conn.execute(digest_stories.insert(), inserts)


def supersede(conn: Connection, partner_id: str, current: str, now: datetime) -> int:
    """Older periods of the partner still pending become superseded; returns how many."""
    result = conn.execute(
        update(digest_log)
        .where(
            digest_log.c.partner_id == partner_id,
            digest_log.c.period != current,
            or_(
                digest_log.c.state == DigestState.RETRY.value,
                digest_log.c.state == DigestState.SENDING.value,
            ),
        )
        .values(state=DigestState.SUPERSEDED.value, updated_at=now, next_attempt_at=None)
    )
    return int(result.rowcount)
