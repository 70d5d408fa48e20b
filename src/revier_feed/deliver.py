"""The orchestrator of the partners' digest: which digests are due, build, send, record.

Pipeline, one partner after the other (the rate limit and one SMTP connection make it serial)::

    partners -> current period (schedule, last delivered period) -> due? (send log)
      -> candidates (store, read once for all partners) -> build_issue -> render
      -> log "sending" (commit) -> SMTP -> log "sent" + its stories (commit)

Exactly once: the send log has one row per (partner, period). A period that is ``sent``,
``empty`` or ``failed`` is never sent again; a rerun sends only what is missing. The one
window SMTP leaves open is between the server's "250 accepted" and our commit of "sent": a
run killed there finds the row still ``sending`` and sends again, with the same Message-ID
(see docs/dev.md). Addresses that refused a delivered digest for now (a 4xx at RCPT TO) get
the same message again later (``digest_resends``), before the run's new digests.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from . import cron, digest
from ._utils import write_if_changed
from .config import DigestSettings
from .exceptions import DeliveryError, DigestError, PublishError, StorageError, StoreBusyError
from .models import (
    DigestCopy,
    DigestIssue,
    DigestLogEntry,
    DigestPeriod,
    DigestResend,
    DigestState,
    PartnerSpec,
    SourceStatus,
    Story,
    StoryFilter,
)
from .storage import Storage

log = logging.getLogger(__name__)

#: The archive page of a period, relative to the output folder.
ARCHIVE_DIR = "digests"
#: The admin digest's id in the send log (partner ids cannot start with "_").
ADMIN_ID = "_admin"
#: Source health that the admin digest reports.
PROBLEM_STATUSES = (
    SourceStatus.GONE,
    SourceStatus.FAILING,
    SourceStatus.EMPTY,
    SourceStatus.STALE,
    SourceStatus.DEGRADED,
)


class Sender(Protocol):
    def wait_turn(self) -> None: ...

    def send(
        self, message: digest.Outgoing, recipients: Sequence[str]
    ) -> dict[str, tuple[int, str]]: ...


@dataclass(frozen=True, slots=True)
class DigestContext:
    """Everything the digest needs from the app."""

    storage: Storage
    renderer: digest.Renderer
    settings: DigestSettings
    tz: ZoneInfo
    now: Callable[[], datetime]
    source_ids: tuple[str, ...]
    source_names: dict[str, str]
    priorities: dict[str, int]
    topics: tuple[tuple[str, str], ...]  #: (tag id, label) in tags.yaml order
    districts: tuple[tuple[str, str], ...]
    site_title: str
    public_base_url: str
    output_dir: Path


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    """What happened to one partner's digest in this run."""

    partner_id: str
    period: str
    state: DigestState | None  #: None: dry run (nothing recorded)
    stories: int
    error: str | None = None
    path: Path | None = None  #: the .eml of a dry run
    #: The addresses a delivered digest was sent again to (they had refused it for now).
    resent_to: tuple[str, ...] = ()


#: How long an item may take from being first seen to being in the store: a digest sent
#: within this time after its slot may not see what a source's transaction still holds.
IN_FLIGHT = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class _Due:
    partner: PartnerSpec
    period: DigestPeriod
    log: DigestLogEntry | None
    #: Where the next period will start: the slot, or earlier when stories first seen
    #: before it could not be in this digest yet (see :func:`covered_until`).
    covers_until: datetime


def covered_until(slot_at: datetime, now: datetime, unplaced_since: datetime | None) -> datetime:
    """Where a digest of the period ending at ``slot_at``, sent at ``now``, ends what it
    covers, so that the next period starts there: at the slot, but not after the first
    stored item still waiting for its story (a cycle places its items after collecting
    them all; a digest sent in between has no story to list them in), nor within
    :data:`IN_FLIGHT` of now (an item first seen then may not be committed yet). Stories
    of the overlap that were sent are not sent again (``digest_stories``)."""
    end = min(slot_at, now - IN_FLIGHT)
    if unplaced_since is not None:
        end = min(end, unplaced_since - timedelta(microseconds=1))
    return end


def _current_period(
    ctx: DigestContext, partner: PartnerSpec, now: datetime
) -> tuple[DigestPeriod, datetime | None]:
    """The partner's current period, and the slot of its last digest."""
    covered = ctx.storage.digest_covered_until(partner.id)
    until, slot = covered if covered is not None else (None, None)
    period = digest.current_period(
        partner.schedule, now, ctx.tz, until, ctx.settings.first_window, slot
    )
    return period, slot


def _unsent_issue(
    ctx: DigestContext, partner: PartnerSpec, period: DigestPeriod
) -> tuple[DigestPeriod, DigestLogEntry | None]:
    """The period, and its send log row. A period whose digest was first tried before its
    slot (``App.redate_future_digests``) went out under a clock that ran ahead: what was
    first seen after it is sent in a second issue of the period (key ``….2``, a Message-ID of
    its own; mail services drop a message whose Message-ID they already have)."""
    key, number = period.key, 1
    entry = ctx.storage.digest_entry(partner.id, key)
    while (
        entry is not None
        and entry.state.done
        and entry.created_at is not None
        and entry.created_at < entry.slot_at
    ):
        number += 1
        period = replace(period, key=f"{key}.{number}")
        entry = ctx.storage.digest_entry(partner.id, period.key)
    return period, entry


def due(ctx: DigestContext, partners: Sequence[PartnerSpec]) -> list[_Due]:
    """The partners whose digest of the current period is still to be sent (or retried)."""
    now = ctx.now()
    # Read before the candidates are: an item placed in between is then in both, not in
    # neither.
    unplaced = ctx.storage.first_unplaced_seen(ctx.source_ids)
    found = []
    for partner in partners:
        period, last_slot = _current_period(ctx, partner, now)
        if last_slot is not None and period.slot_at <= last_slot:
            # The schedule was changed to a moment the last digest already covered: a
            # back-dated second digest went out at once. The next moment is due.
            continue
        period, entry = _unsent_issue(ctx, partner, period)
        if entry is not None and entry.state.done:
            continue
        if (
            entry is not None
            and entry.state is DigestState.RETRY
            and entry.next_attempt_at is not None
            and entry.next_attempt_at > now
        ):
            continue
        found.append(_Due(partner, period, entry, covered_until(period.until, now, unplaced)))
    return found


def send_due(
    ctx: DigestContext,
    partners: Sequence[PartnerSpec],
    mailer: Callable[[], AbstractContextManager[Sender]],
    *,
    outbox: Path | None = None,
    on_outcome: Callable[[DigestOutcome], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    everyone: bool = False,
) -> list[DigestOutcome]:
    """Send every due digest of ``partners`` once; with ``outbox``, write .eml files there
    instead and record nothing (a dry run). ``everyone``: ``partners`` are all the active
    partners (pending resends of others are dropped).

    One partner's failure never stops the others; a server that cannot be reached at all is
    not tried again in this run (the remaining digests stay due and are retried later).
    ``should_stop`` is asked before each partner: a worker shutting down finishes the
    digest in hand and leaves the rest due, instead of being cut off in the middle of one.

    Raises:
        DigestError: a template is broken (before anything is sent).
        StorageError: the store failed.
    """
    plan = due(ctx, partners)
    resends = []
    if outbox is None:
        # With every partner (no --partner), also those of partners gone or made inactive
        # since, which are dropped: sent when the partner came back, they were weeks old.
        ids = None if everyone else [p.id for p in partners]
        resends = ctx.storage.digest_resends(ids, ctx.now())
    if not plan and not resends:
        return []
    if plan:
        ctx.renderer.check()
        candidates = prepare(
            ctx,
            ctx.storage.digest_candidates(
                ctx.source_ids,
                min(d.period.since for d in plan),
                max(d.period.until for d in plan),
            ),
        )
    outcomes: list[DigestOutcome] = []
    unreachable: _Unreachable | None = None
    # The server's failures in a row set every digest's wait through an outage: a run
    # tries one digest, and the others' own attempts are not used up (nor were they tried).
    failures = ctx.storage.mail_server_failures()
    archived: set[str] = set()
    by_id = {p.id: p for p in partners}
    with mailer() as opened:
        sender = _Watched(opened)

        def record(outcome: DigestOutcome, error: DeliveryError | None) -> None:
            nonlocal unreachable, failures
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
            if error is not None and error.server_wide:
                # No connection or no login: trying again for every partner in this run
                # would only hammer the server (and get a login locked).
                failures += 1
                unreachable = _Unreachable(error, _retry_at(ctx, failures))
                _save_mail_server_failures(ctx, failures)
            elif failures and sender.answered and unreachable is None:
                failures = 0
                _save_mail_server_failures(ctx, 0)

        for number, resend in enumerate(resends):
            if should_stop():
                log.info("stopping: %d resend(s) stay due", len(resends) - number)
                return outcomes
            partner = by_id.get(resend.partner_id)
            record(*_resend(ctx, resend, partner, sender, unreachable, failures))
        for number, item in enumerate(plan):
            if should_stop():
                log.info("stopping: %d digest(s) stay due", len(plan) - number)
                break
            outcome, error = _one(ctx, item, candidates, sender, outbox, unreachable, failures)
            if (
                ctx.settings.archive
                and outcome.state is DigestState.SENT
                and item.partner.id != ADMIN_ID
                and outcome.period not in archived
            ):
                archived.add(outcome.period)
                try:
                    write_archive(ctx, item.period, candidates, item.partner.schedule)
                except PublishError as e:
                    # The mail went out; a missing web copy must not stop the other partners.
                    log.error("digest archive %s: %s", outcome.period, e)
            record(outcome, error)
    return outcomes


def _save_mail_server_failures(ctx: DigestContext, failures: int) -> None:
    """Keep the server's failures in a row; a store that cannot take it now (a backup
    holding it) costs only the count, not the run's other digests."""
    try:
        ctx.storage.save_mail_server_failures(failures)
    except StorageError as e:
        log.warning("the mail server's failures in a row (%d) were not stored: %s", failures, e)


@dataclass(frozen=True, slots=True)
class _Unreachable:
    """A mail server this run could not reach: the digests after ``error`` are not tried,
    and each waits until ``retry_at``."""

    error: DeliveryError
    retry_at: datetime


class _Watched:
    """The run's sender, noting whether the server answered a message (a refusal too)."""

    def __init__(self, sender: Sender) -> None:
        self._sender = sender
        self.answered = False

    def wait_turn(self) -> None:
        self._sender.wait_turn()

    def send(
        self, message: digest.Outgoing, recipients: Sequence[str]
    ) -> dict[str, tuple[int, str]]:
        try:
            refused = self._sender.send(message, recipients)
        except DeliveryError as e:
            self.answered = self.answered or not e.server_wide
            raise
        self.answered = True
        return refused


def _one(
    ctx: DigestContext,
    item: _Due,
    candidates: Sequence[digest.Candidate],
    sender: Sender,
    outbox: Path | None,
    unreachable: _Unreachable | None,
    failures: int,
) -> tuple[DigestOutcome, DeliveryError | None]:
    """Send one due digest (or record why not); ``failures``: the mail server's failures
    in a row so far, for the wait if it cannot be reached now."""
    partner, period, previous = item.partner, item.period, item.log
    kept = None
    if outbox is None and previous is not None and not previous.state.done:
        # Handed to the mail server before: it may have arrived, so the same mail goes.
        kept = ctx.storage.digest_copy(partner.id, period.key)
    until = item.covers_until
    if kept is not None:
        assert previous is not None
        count, sent, until = previous.stories, list(kept.stories), previous.until
        make_message = None
    elif partner.id == ADMIN_ID:
        problems = source_problems(ctx)
        count = len(problems)
        sent = []

        def make_message() -> EmailMessage:
            return render_admin_message(ctx, partner, period, problems)
    else:
        issue = build(ctx, partner, period, candidates)
        count = len(issue.entries)
        sent = [(e.story_id, e.text_hash, e.updated) for e in issue.entries]

        def make_message() -> EmailMessage:
            return render_message(ctx, issue)

    attempts = previous.attempts if previous else 0
    entry = DigestLogEntry(
        partner_id=partner.id,
        period=period.key,
        slot_at=period.slot_at,
        since=period.since,
        until=until,
        state=DigestState.SENDING,
        attempts=attempts,
        stories=count,
    )
    if make_message is None:
        assert kept is not None and previous is not None
        wire = digest.Outgoing(kept.sender, kept.message, kept.utf8)
        message_id = previous.message_id
    elif count == 0 and not ctx.settings.send_empty:
        if outbox is None:
            ctx.storage.save_digest_state(
                replace(entry, state=DigestState.EMPTY), ctx.now(), supersede=True
            )
        log.info("digest %s %s: nothing new, not sent", partner.id, period.key)
        return DigestOutcome(partner.id, period.key, DigestState.EMPTY, 0), None
    else:
        message = make_message()
        if outbox is not None:
            path = outbox / f"{partner.id}-{period.key}.eml"
            try:
                outbox.mkdir(parents=True, exist_ok=True)
                path.write_bytes(digest.as_bytes(message))
            except OSError as e:
                raise DigestError(f"could not write {path}") from e
            return DigestOutcome(partner.id, period.key, None, count, path=path), None
        wire = digest.outgoing(message, partner.addresses)
        message_id = str(message["Message-ID"])
    if unreachable is not None:
        # Not tried: no attempt of its own is used up.
        return _failed(ctx, entry, unreachable.error, attempts, unreachable.retry_at), None
    if previous is not None and previous.state is DigestState.SENDING:
        log.warning(
            "digest %s %s: an earlier run died while sending it; it may have been delivered, "
            "sending again with the same Message-ID %s%s",
            partner.id,
            period.key,
            message_id,
            "" if kept else " (rebuilt: no copy of it was kept, as before schema 16)",
        )
    # Waited for before "sending" is recorded: a run killed in the rate limit's wait sent
    # nothing, and the next run must not warn that it may have.
    sender.wait_turn()
    entry = replace(entry, attempts=attempts + 1, message_id=message_id)
    copy = DigestCopy(partner.id, period.key, wire.sender, wire.data, wire.utf8, tuple(sent))
    ctx.storage.save_digest_state(entry, ctx.now(), supersede=True, copy=copy)
    try:
        refused = sender.send(wire, partner.addresses)
        error = None
    except DeliveryError as e:
        if not e.unconfirmed:
            if e.server_wide:
                # The server's doing, not this digest's: the attempt does not count (the
                # digest waits for the server, as the run's untried ones do, and is never
                # given up for it: the next period's digest takes its stories).
                return _failed(ctx, entry, e, attempts, _retry_at(ctx, failures + 1)), e
            return _failed(ctx, entry, e, attempts + 1), e
        # Taken as sent: sending again might mail the partner twice.
        refused, error = {}, str(e)
        log.warning("digest %s %s: %s", partner.id, period.key, error)
    resend = None
    if refused:
        # The others have it: it is sent; the addresses refused for now get it again later.
        later = {a: r for a, r in refused.items() if r[0] < 500}
        if not later or ctx.settings.max_attempts < 2:
            error = "refused: " + _replies(refused)
        else:
            for_good = {a: r for a, r in refused.items() if a not in later}
            resend = DigestResend(
                partner.id,
                period.key,
                tuple(later),
                wire.sender,
                wire.data,
                wire.utf8,
                attempts=1,
                next_attempt_at=_retry_at(ctx, 1),
                history=f"refused: {_replies(for_good)}" if for_good else "",
            )
            error = _note(resend.history, _pending(resend, later))
        log.warning("digest %s %s: %s", partner.id, period.key, error)
    delivered = replace(
        entry,
        state=DigestState.SENT,
        error=error,
        next_attempt_at=resend.next_attempt_at if resend else None,
    )
    for tries_left in reversed(range(DELIVERED_WRITE_TRIES)):
        # The server has the message: if this row is not written, the next run sends it
        # again. A store another process holds locked (a backup) is waited for longer.
        try:
            ctx.storage.save_digest_state(delivered, ctx.now(), stories=sent, resend=resend)
            break
        except StoreBusyError as e:
            if not tries_left:
                raise DigestError(
                    f"digest {partner.id} {period.key} was delivered, but recording that "
                    f"failed ({e}); the next run will send it again"
                ) from None
            log.warning(
                "digest %s %s: delivered; the store is locked, trying again to record it",
                partner.id,
                period.key,
            )
    log.info("digest %s %s: sent, %d stories", partner.id, period.key, count)
    return DigestOutcome(partner.id, period.key, DigestState.SENT, count, error=error), None


#: Writes of a delivered digest's row before giving up, each waiting for the store's lock
#: (``storage.database.BUSY_TIMEOUT_MS``): about a minute in all.
DELIVERED_WRITE_TRIES = 6


def _failed(
    ctx: DigestContext,
    entry: DigestLogEntry,
    error: DeliveryError,
    attempts: int,
    not_before: datetime | None = None,
) -> DigestOutcome:
    """Record a failure: permanent ones (and too many temporary ones) for good, temporary
    ones with the next attempt after an exponential backoff (and not before
    ``not_before``: the mail server's own, when it could not be reached)."""
    message = str(error)
    if error.permanent or attempts >= ctx.settings.max_attempts:
        state = DigestState.FAILED
        next_attempt = None
        if not error.permanent:
            message = f"gave up after {attempts} attempts: {message}"
    else:
        state = DigestState.RETRY
        next_attempt = _retry_at(ctx, attempts)
        if not_before is not None:
            next_attempt = max(next_attempt, not_before)
    # This period's digest covers the older pending ones (its period starts where the last
    # delivered one ended): during an outage they stayed "retry" and looked due.
    ctx.storage.save_digest_state(
        replace(
            entry, state=state, error=message, next_attempt_at=next_attempt, attempts=attempts
        ),
        ctx.now(),
        supersede=True,
    )
    log.warning("digest %s %s: %s (%s)", entry.partner_id, entry.period, state.value, message)
    return DigestOutcome(entry.partner_id, entry.period, state, entry.stories, error=message)


def _retry_at(ctx: DigestContext, attempts: int) -> datetime:
    """When to try again after ``attempts`` tries: ``retry_wait`` doubling, up to a cap."""
    # In float seconds: a timedelta doubled some 40 times overflows (a server's failures
    # in a row have no bound).
    doubled = ctx.settings.retry_wait.total_seconds() * 2.0 ** min(max(attempts - 1, 0), 64)
    return ctx.now() + timedelta(seconds=min(doubled, ctx.settings.max_retry_wait.total_seconds()))


def _replies(refused: dict[str, tuple[int, str]]) -> str:
    return "; ".join(f"{a} ({code} {reply})" for a, (code, reply) in refused.items())


def _pending(resend: DigestResend, replies: dict[str, tuple[int, str]] | str) -> str:
    """The send log's note on addresses still to get a delivered digest."""
    why = replies if isinstance(replies, str) else _replies(replies)
    return (
        f"refused for now: {why}; sent again to {', '.join(resend.addresses)} from "
        f"{resend.next_attempt_at:%Y-%m-%d %H:%M} UTC (try {resend.attempts + 1})"
    )


def _note(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


def _resend(
    ctx: DigestContext,
    resend: DigestResend,
    partner: PartnerSpec | None,
    sender: Sender,
    unreachable: _Unreachable | None,
    failures: int,
) -> tuple[DigestOutcome, DeliveryError | None]:
    """Send a delivered digest again to the addresses that refused it for now; ``partner``
    is None if it is no longer an active partner; ``failures`` as for :func:`_one`."""
    entry = ctx.storage.digest_entry(resend.partner_id, resend.period)
    assert entry is not None, "a resend is written with its send log row"
    # Addresses taken out of partners.yaml since (or the whole partner) get nothing.
    wanted = {a.casefold() for a in partner.addresses} if partner else set()
    addresses = tuple(a for a in resend.addresses if a.casefold() in wanted)
    dropped = tuple(a for a in resend.addresses if a not in addresses)
    history = resend.history
    if dropped:
        gone = "no longer the partner's" if partner else "the partner is inactive or gone"
        history = _note(history, f"not sent again to {', '.join(dropped)}: {gone}")
    if not addresses:
        return _resent(ctx, entry, DigestState.SENT, (), None, history), None
    resend = replace(resend, addresses=addresses, history=history)
    if unreachable is not None:
        # Not tried: no attempt of its own is used up.
        resend = replace(resend, next_attempt_at=max(resend.next_attempt_at, unreachable.retry_at))
        note = _note(history, _pending(resend, f"not tried: {unreachable.error}"))
        return _resent(ctx, entry, DigestState.RETRY, (), resend, note), None
    sender.wait_turn()
    attempts = resend.attempts + 1
    # Counted before sending, as a first send is: a run that dies now used the attempt.
    ctx.storage.save_digest_resend(entry, ctx.now(), replace(resend, attempts=attempts))
    wire = digest.Outgoing(resend.sender, resend.message, resend.utf8)
    who = ", ".join(addresses)
    try:
        refused = sender.send(wire, addresses)
    except DeliveryError as e:
        if e.unconfirmed:
            log.warning("digest %s %s: %s", entry.partner_id, entry.period, e)
            note = _note(history, f"sent again to {who}: {e}")
            return _resent(ctx, entry, DigestState.SENT, addresses, None, note), None
        if e.server_wide:  # not this digest's doing: the attempt does not count
            server_wait = _retry_at(ctx, failures + 1)
            left = replace(resend, next_attempt_at=max(_retry_at(ctx, attempts), server_wait))
        elif not e.permanent and attempts < ctx.settings.max_attempts:
            left = replace(resend, attempts=attempts, next_attempt_at=_retry_at(ctx, attempts))
        else:
            left = None
        if left is not None:
            note = _note(history, _pending(left, str(e)))
            state = DigestState.RETRY
        else:
            gave_up = "" if e.permanent else f"gave up after {attempts} attempts: "
            note = _note(history, f"not sent to {who}: {gave_up}{e}")
            state = DigestState.FAILED
        log.warning("digest %s %s: %s", entry.partner_id, entry.period, note)
        return _resent(ctx, entry, state, (), left, note), e
    later = {a: r for a, r in refused.items() if r[0] < 500}
    for_good = {a: r for a, r in refused.items() if a not in later}
    if for_good:
        history = _note(history, f"refused: {_replies(for_good)}")
    left = None
    if later and attempts < ctx.settings.max_attempts:
        left = replace(
            resend,
            addresses=tuple(later),
            attempts=attempts,
            next_attempt_at=_retry_at(ctx, attempts),
            history=history,
        )
        note = _note(history, _pending(left, later))
    elif later:
        note = history = _note(
            history, f"gave up after {attempts} attempts: refused: {_replies(later)}"
        )
    else:
        note = history
    if refused:
        log.warning("digest %s %s: %s", entry.partner_id, entry.period, note)
    reached = tuple(a for a in addresses if a not in refused)
    state = DigestState.SENT if reached else DigestState.RETRY if left else DigestState.FAILED
    return _resent(ctx, entry, state, reached, left, note), None


def _resent(
    ctx: DigestContext,
    entry: DigestLogEntry,
    state: DigestState,
    reached: tuple[str, ...],
    left: DigestResend | None,
    note: str,
) -> DigestOutcome:
    """Record where a resend stands: ``left`` to send again later (None: done), ``note``
    for the send log. The send log row stays ``sent`` (the partner's other addresses have
    the digest); ``state`` is this run's outcome of the resend."""
    done = replace(
        entry, error=note or None, next_attempt_at=left.next_attempt_at if left else None
    )
    ctx.storage.save_digest_resend(done, ctx.now(), left)
    if reached:
        log.info(
            "digest %s %s: sent again to %s", entry.partner_id, entry.period, ", ".join(reached)
        )
    return DigestOutcome(
        entry.partner_id, entry.period, state, entry.stories, error=note or None, resent_to=reached
    )


def prepare(ctx: DigestContext, stories: Sequence[Story]) -> list[digest.Candidate]:
    """The candidate stories prepared once for every partner of a run."""
    return digest.prepare(
        stories,
        source_names=ctx.source_names,
        priorities=ctx.priorities,
        teaser_length=ctx.settings.teaser_length,
    )


def build(
    ctx: DigestContext,
    partner: PartnerSpec | None,
    period: DigestPeriod,
    candidates: Sequence[digest.Candidate],
) -> DigestIssue:
    """The issue of ``partner`` (the archive's for None) from the prepared candidates."""
    sent = ctx.storage.digest_sent_stories(partner.id) if partner else {}
    group_by = partner.group_by if partner else ctx.settings.group_by
    return digest.build_issue(
        partner,
        period,
        candidates,
        sent,
        groups=ctx.districts if group_by == "district" else ctx.topics,
        group_by=group_by,
    )


def render_message(ctx: DigestContext, issue: DigestIssue) -> EmailMessage:
    """The partner's digest as a MIME message with every header."""
    partner = issue.partner
    assert partner is not None
    settings = ctx.settings
    page = digest.period_key(issue.period.slot_at, ctx.tz)  # a second issue's too
    archive = f"{ARCHIVE_DIR}/{page}.html" if settings.archive else None
    rendered = ctx.renderer.render(issue, archive)
    domain = digest.mail_domain(ctx.public_base_url)
    unsubscribe_url = (
        settings.unsubscribe_url.replace("{partner}", partner.id)
        if settings.unsubscribe_url
        else None
    )
    return digest.build_message(
        rendered,
        sender=settings.sender,
        recipients=partner.addresses,
        date=ctx.now(),
        msgid=digest.message_id(partner.id, issue.period.key, domain),
        list_id=f"digest.{domain}",
        list_name=ctx.site_title,
        reply_to=settings.reply_to,
        unsubscribe_mailto=settings.unsubscribe_mailto,
        unsubscribe_url=unsubscribe_url,
        unsubscribe_subject=f"Abbestellen {partner.id}",
    )


def admin_partner(settings: DigestSettings) -> PartnerSpec | None:
    """The admin digest as a pseudo-partner, when ``digest.admins`` lists addresses."""
    if not settings.admins:
        return None
    return PartnerSpec(
        id=ADMIN_ID,
        name="Administration",
        addresses=tuple(settings.admins),
        filter=StoryFilter(),
        schedule=settings.schedule,
        group_by=settings.group_by,
    )


def source_problems(ctx: DigestContext) -> list[digest.SourceProblem]:
    """Sources that are failing, gone, empty, stale or degraded, worst first."""
    states = ctx.storage.source_states(ctx.source_ids)
    order = {status: i for i, status in enumerate(PROBLEM_STATUSES)}
    problems = [
        digest.SourceProblem(
            source_id=state.source_id,
            name=ctx.source_names.get(state.source_id, state.source_id),
            status=state.status.value,
            error_kind=state.last_error_kind,
            error=state.last_error,
            failures=state.error_count,
            last_success_at=state.last_success_at,
            last_new_item_at=state.last_new_item_at,
        )
        for state in states.values()
        if state.status in order
    ]
    problems.sort(key=lambda p: (order[SourceStatus(p.status)], p.source_id))
    return problems


def render_admin_message(
    ctx: DigestContext,
    partner: PartnerSpec,
    period: DigestPeriod,
    problems: Sequence[digest.SourceProblem],
) -> EmailMessage:
    """The admin digest: every source with a problem and its last error."""
    rendered = ctx.renderer.render_admin(problems, period, len(ctx.source_ids))
    domain = digest.mail_domain(ctx.public_base_url)
    return digest.build_message(
        rendered,
        sender=ctx.settings.sender,
        recipients=partner.addresses,
        date=ctx.now(),
        msgid=digest.message_id(partner.id, period.key, domain),
        list_id=f"admin.{domain}",
        list_name=f"{ctx.site_title} – Administration",
        reply_to=ctx.settings.reply_to,
    )


def preview(ctx: DigestContext, partner: PartnerSpec) -> tuple[DigestIssue, EmailMessage]:
    """The next digest the partner gets, as of now (nothing sent, nothing recorded): the
    digest of a period whose slot has passed, where it is still to be sent and has stories
    for the partner (or empty ones are sent), as ``digest send`` sends it next (a retry:
    the very message first handed to the mail server); otherwise the next slot's, with the
    stories first seen from where the last one ends up to now."""
    now = ctx.now()
    period, entry = _due_issue(ctx, partner, now)
    if period is None:
        issue = _issue_of(ctx, partner, _next_period(ctx, partner, now))
        return issue, render_message(ctx, issue)
    issue = _issue_of(ctx, partner, period)
    kept = ctx.storage.digest_copy(partner.id, period.key) if entry is not None else None
    if kept is not None:
        sent = {story for story, _, _ in kept.stories}
        groups = tuple(
            (label, chosen)
            for label, entries in issue.groups
            if (chosen := tuple(e for e in entries if e.story_id in sent))
        )
        message = email.message_from_bytes(kept.message, policy=email.policy.default)
        return replace(issue, groups=groups), message
    if issue.entries or ctx.settings.send_empty:
        return issue, render_message(ctx, issue)
    # Sent now, it would be recorded empty and end at its slot.
    upcoming = _next_period(ctx, partner, now, (period.until, period.slot_at))
    issue = _issue_of(ctx, partner, upcoming)
    return issue, render_message(ctx, issue)


def _next_period(
    ctx: DigestContext,
    partner: PartnerSpec,
    now: datetime,
    covered: tuple[datetime, datetime] | None = None,
) -> DigestPeriod:
    """The period of the partner's next slot as of ``now``: from where the last digest
    ended (``covered``: where it will end, with its slot; else the send log's) up to now;
    the slot's digest will also have what comes until then."""
    if covered is None:
        covered = ctx.storage.digest_covered_until(partner.id)
    until, covered_slot = covered if covered is not None else (None, None)
    slot = digest.next_slot(partner.schedule, now, ctx.tz)
    upcoming = digest.current_period(
        partner.schedule, slot, ctx.tz, until, ctx.settings.first_window, covered_slot
    )
    return replace(upcoming, until=max(now, upcoming.since))


def _due_issue(
    ctx: DigestContext, partner: PartnerSpec, now: datetime
) -> tuple[DigestPeriod | None, DigestLogEntry | None]:
    """The period whose digest is due now and not done yet, with its send log row (as
    :func:`due` finds it, a retry's wait aside); None if the last slot's is done."""
    period, last_slot = _current_period(ctx, partner, now)
    if last_slot is not None and period.slot_at <= last_slot:
        return None, None  # the schedule moved back: the next moment is due
    period, entry = _unsent_issue(ctx, partner, period)
    if entry is not None and entry.state.done:
        return None, None
    return period, entry


def _issue_of(ctx: DigestContext, partner: PartnerSpec, period: DigestPeriod) -> DigestIssue:
    stories = ctx.storage.digest_candidates(ctx.source_ids, period.since, period.until)
    return build(ctx, partner, period, prepare(ctx, stories))


def preview_admin(ctx: DigestContext, partner: PartnerSpec) -> EmailMessage:
    """The admin digest as of now (nothing sent, nothing recorded): under the period of
    the one due now, or of the next slot once that is done."""
    now = ctx.now()
    period, _ = _due_issue(ctx, partner, now)
    if period is None:
        period = _next_period(ctx, partner, now)
    return render_admin_message(ctx, partner, period, source_problems(ctx))


def write_archive(
    ctx: DigestContext,
    period: DigestPeriod,
    candidates: Sequence[digest.Candidate],
    schedule: str,
) -> Path:
    """The period's web page: every story first seen in it (by the schedule's previous
    moment to this one, or from the last archived period on where periods were sent to no
    one: the catch-up mail after a failed week links here), with no partner data; and
    ``index.html`` beside it, listing every archived period.

    Raises:
        PublishError: the page could not be written.
    """
    previous = cron.parse(schedule).last_at_or_before(
        period.slot_at - timedelta(seconds=1), ctx.tz
    )
    archived = ctx.storage.digest_archived_until(period.slot_at, ADMIN_ID)
    # The page's period is the schedule's, not the partner's: shown from its own start.
    whole = replace(
        period, since=min(previous, archived) if archived else previous, shown_since=None
    )
    if whole.since < period.since:
        stories = ctx.storage.digest_candidates(ctx.source_ids, whole.since, whole.until)
        candidates = prepare(ctx, stories)
    issue = build(ctx, None, whole, candidates)
    folder = ctx.output_dir / ARCHIVE_DIR
    path = folder / f"{digest.period_key(period.slot_at, ctx.tz)}.html"
    index = folder / "index.html"
    try:
        write_if_changed(path, ctx.renderer.render_archive(issue).encode("utf-8"))
        periods = [p.stem for p in folder.glob("*.html") if _PERIOD_FILE.fullmatch(p.name)]
        write_if_changed(index, ctx.renderer.render_archive_index(periods).encode("utf-8"))
    except OSError as e:
        raise PublishError(f"could not write {path} or {index}") from e
    return path


#: The archive pages' names (``period_key``); anything else in the folder is not listed.
_PERIOD_FILE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{4}\.html")


@dataclass(frozen=True, slots=True)
class PartnerStatus:
    """One partner's digest at a glance (``status``, ``digest log``)."""

    partner: PartnerSpec
    next_at: datetime
    due_now: bool
    last: DigestLogEntry | None


def overview(ctx: DigestContext, partners: Sequence[PartnerSpec]) -> list[PartnerStatus]:
    """Each partner's next digest, whether one is due now, and the latest send log row."""
    now = ctx.now()
    pending = {d.partner.id for d in due(ctx, [p for p in partners if p.active])}
    resend_at: dict[str, datetime] = {}
    for resend in ctx.storage.digest_resends(p.id for p in partners if p.active):
        at = resend_at.get(resend.partner_id)
        resend_at[resend.partner_id] = min(at or resend.next_attempt_at, resend.next_attempt_at)
    pending |= {p for p, at in resend_at.items() if at <= now}
    latest: dict[str, DigestLogEntry] = {}
    for entry in ctx.storage.digest_log([p.id for p in partners]):
        latest.setdefault(entry.partner_id, entry)
    result = []
    for partner in partners:
        last = latest.get(partner.id)
        next_at = digest.next_slot(partner.schedule, now, ctx.tz)
        # A retry or resend whose time has come is due now: the next is another one.
        retry_at = last.next_attempt_at if last and last.state is DigestState.RETRY else None
        for at in (retry_at, resend_at.get(partner.id)):
            if at is not None and at > now:
                next_at = min(next_at, at)
        result.append(PartnerStatus(partner, next_at, partner.id in pending, last))
    return result
