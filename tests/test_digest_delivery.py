"""Delivering digests to a real SMTP server on 127.0.0.1: exactly once, retries, failures."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from revier_feed import cron
from revier_feed.app import App
from revier_feed.cli import main
from revier_feed.config import load_config
from revier_feed.exceptions import DigestError, StorageError
from revier_feed.models import DigestLogEntry, DigestState, ItemDecision, SourceState
from revier_feed.storage import Storage
from tests.conftest import Clock, SmtpRecorder, free_port
from tests.test_digest import COLLECTED, MONDAY, add_news, place

BERLIN = __import__("zoneinfo").ZoneInfo("Europe/Berlin")
WEEK = timedelta(days=7)
#: The district of the partner filtered by district (and of its press office's source).
DISTRICT = "landkreis-leipzig"


@pytest.fixture
def app_at_monday(digest_config_dir: Path, clock: Clock, make_app: Callable[..., App]) -> App:
    clock.now = COLLECTED
    app = make_app(load_config(digest_config_dir))
    app.run_cycle()
    clock.now = MONDAY + timedelta(minutes=5)
    return app


def states(app: App) -> dict[str, DigestState]:
    return {e.partner_id: e.state for e in reversed(app.storage.digest_log())}


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) in a configuration file."""
    text = path.read_text("utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new), "utf-8")


def test_every_partner_gets_one_digest_and_a_rerun_sends_nothing(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int]
) -> None:
    recorder, _ = smtp_server
    outcomes = app_at_monday.send_due_digests()
    assert {o.partner_id: o.state for o in outcomes} == {
        "landkreis-leipzig": DigestState.SENT,
        "iq-netzwerk": DigestState.SENT,
        "region": DigestState.SENT,
    }
    assert sorted(recorder.recipients()) == [
        "info@metropolregion.example",
        "netzwerk@iq.example",
        "presse@iq.example",
        "wirtschaft@landkreis-leipzig.example",
    ]
    region = next(m for m in recorder.parsed() if "info@" in str(m["To"]))
    assert region["Subject"] == "Revier-News KW 31/2021: 29 Meldungen"
    assert app_at_monday.send_due_digests() == []
    assert len(recorder.messages) == 3
    # The archive page of the period, without partner data.
    page = app_at_monday.config.output_dir / "digests" / "2021-08-02T0700.html"
    html = page.read_text("utf-8")
    assert "Wochenüberblick KW 31/2021" in html
    assert "Wirtschaftsförderung" not in html and "info@metropolregion" not in html


def test_a_story_is_never_sent_twice_but_a_changed_text_is_listed_once_as_updated(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int], clock: Clock
) -> None:
    recorder, _ = smtp_server
    app = app_at_monday
    app.send_due_digests(partner_id="region")
    clock.now = MONDAY + timedelta(days=2)
    add_news(app, "neu-1", "Revierwerkstatt zieht Bilanz", clock.now)
    # A story sent last week changes its text materially at the source.
    old = next(iter(app.storage.iter_items(["landkreis-leipzig"])))[0]
    changed = replace(old.item, title=old.item.title + " – Korrektur", fingerprint="1:changed")
    app.storage.save_source_result(
        SourceState(source_id="landkreis-leipzig"), [(changed, ItemDecision.UPDATED)], clock.now
    )
    first = recorder.parsed()[0]
    clock.now = MONDAY + WEEK + timedelta(minutes=1)
    app.send_due_digests(partner_id="region")
    second = recorder.parsed()[1]
    text = second.get_body(("plain",)).get_content()
    assert "Revierwerkstatt zieht Bilanz" in text
    assert "== Aktualisiert ==" in text and "– Korrektur" in text
    assert second["Subject"] == "Revier-News KW 32/2021: 2 Meldungen"
    assert "Revierwerkstatt zieht Bilanz" not in first.get_body(("plain",)).get_content()
    # A third week: nothing new, and the update is not listed again.
    clock.now += WEEK
    outcomes = app.send_due_digests(partner_id="region")
    assert [o.state for o in outcomes] == [DigestState.EMPTY]
    assert len(recorder.messages) == 2


def test_missed_weeks_are_caught_up_in_one_digest_without_a_gap(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int], clock: Clock
) -> None:
    recorder, _ = smtp_server
    app = app_at_monday
    app.send_due_digests(partner_id="region")
    clock.now = MONDAY + timedelta(days=3)
    add_news(app, "w1", "Fachkräftetag in Halle", clock.now)
    clock.now = MONDAY + WEEK + timedelta(days=3)
    add_news(app, "w2", "Wasserstoff-Netzwerk gegründet", clock.now)
    # The worker was down for both following Mondays; it starts on the Tuesday after.
    clock.now = MONDAY + 2 * WEEK + timedelta(days=1)
    outcomes = app.send_due_digests(partner_id="region")
    assert [(o.period, o.state, o.stories) for o in outcomes] == [
        ("2021-08-16T0700", DigestState.SENT, 2)
    ]
    text = recorder.parsed()[-1].get_body(("plain",)).get_content()
    assert "Fachkräftetag in Halle" in text and "Wasserstoff-Netzwerk gegründet" in text
    assert "Neu vom 2. August 2021 bis 16. August 2021" in text
    # The mail links to its period's archive page: it lists what the mail lists (it held
    # the last week only, and the missed week was on no page at all).
    assert "digests/2021-08-16T0700.html" in text
    page = (app.config.output_dir / "digests" / "2021-08-16T0700.html").read_text("utf-8")
    assert "Fachkräftetag in Halle" in page and "Wasserstoff-Netzwerk gegründet" in page
    # A week sent to someone keeps its own page: the next one starts where it ended.
    clock.now = MONDAY + 3 * WEEK + timedelta(days=-4)
    add_news(app, "w4", "Revierwerkstatt in Zeitz", clock.now)
    clock.now = MONDAY + 3 * WEEK + timedelta(minutes=1)
    app.send_due_digests(partner_id="region")
    page = (app.config.output_dir / "digests" / "2021-08-23T0700.html").read_text("utf-8")
    assert "Revierwerkstatt in Zeitz" in page and "Fachkräftetag in Halle" not in page


def test_a_temporary_failure_is_retried_with_backoff_and_stays_due(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int], clock: Clock
) -> None:
    recorder, _ = smtp_server
    app = app_at_monday
    recorder.data_replies = ["451 4.3.0 mailbox busy, try later"]
    outcomes = app.send_due_digests()
    failed = [o for o in outcomes if o.state is DigestState.RETRY]
    assert len(failed) == 1 and "451" in (failed[0].error or "")
    assert sum(o.state is DigestState.SENT for o in outcomes) == 2
    log = app.storage.digest_entry(failed[0].partner_id, failed[0].period)
    assert log is not None and log.next_attempt_at == clock.now + timedelta(minutes=10)
    assert app.send_due_digests() == []  # not before the backoff has passed
    waiting = {s.partner.id: s for s in app.digest_overview()}[failed[0].partner_id]
    assert not waiting.due_now and waiting.next_at == clock.now + timedelta(minutes=10)
    clock.advance(timedelta(minutes=10))
    # Due now; what comes next is the next week's slot, not the retry's time gone by.
    due = {s.partner.id: s for s in app.digest_overview()}[failed[0].partner_id]
    assert due.due_now and due.next_at == MONDAY + WEEK
    retried = app.send_due_digests()
    assert [(o.partner_id, o.state) for o in retried] == [(failed[0].partner_id, DigestState.SENT)]
    assert len(recorder.messages) == 3
    assert sorted(states(app).values()) == [DigestState.SENT] * 3


def test_retention_forgets_what_partners_were_sent_of_the_stories_it_removes(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int], clock: Clock
) -> None:
    """Every story a partner was ever sent stayed in the store, and every digest run read
    them all."""
    app = app_at_monday
    app.send_due_digests()
    sent = {p: len(app.storage.digest_sent_stories(p)) for p in ("region", "iq-netzwerk")}
    assert all(sent.values()), sent
    clock.now += timedelta(days=800)  # every item is older than worker.retention now
    result = app.retire_old_items()
    assert result.items and result.stories
    assert [len(app.storage.digest_sent_stories(p)) for p in sent] == [0, 0]
    # And nothing comes back as news for them.
    assert [o.state for o in app.send_due_digests(partner_id="region")] == [DigestState.EMPTY]


def test_a_message_the_server_took_without_answering_is_not_sent_again(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int], caplog: pytest.LogCaptureFixture
) -> None:
    """The connection dropped after the whole message went out, before the server's "250":
    it was sent again at once, in the same run, and once more for every attempt left when
    the server never answered (24 copies with the defaults)."""
    recorder, _ = smtp_server
    app = app_at_monday
    recorder.unanswered = 1
    outcomes = app.send_due_digests()
    assert [o.state for o in outcomes] == [DigestState.SENT] * 3
    assert len(recorder.messages) == 3  # one each: the first partner's was not repeated
    first = outcomes[0]
    assert first.error is not None and "probably delivered, and not sent again" in first.error
    assert "gave no answer" in caplog.text
    assert app.send_due_digests() == []  # nor later
    assert len(recorder.messages) == 3


def test_a_delivered_digest_is_recorded_once_another_process_lets_go_of_the_store(
    digest_config_dir: Path,
    smtp_server: tuple[SmtpRecorder, int],
    clock: Clock,
    make_app: Callable[..., App],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A backup held the store's lock past the wait while the server took a digest: the
    run stopped with "database is locked", the row stayed "sending", and the next run
    mailed the partner again."""
    import sqlite3
    import threading

    from revier_feed.storage import database

    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 100)
    recorder, _ = smtp_server
    clock.now = COLLECTED
    app = make_app(load_config(digest_config_dir))
    app.run_cycle()
    clock.now = MONDAY + timedelta(minutes=5)
    store = app.config.store_file
    locked = threading.Event()

    def lock_for_a_moment() -> None:
        other = sqlite3.connect(store, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        locked.set()
        threading.Event().wait(0.5)  # several of the writer's waits of 0.1 s
        other.execute("ROLLBACK")
        other.close()

    accept = recorder.handle_DATA

    async def lock_after_taking(server: Any, session: Any, envelope: Any) -> str:
        reply: str = await accept(server, session, envelope)
        if not locked.is_set():  # the first partner's digest only
            threading.Thread(target=lock_for_a_moment, daemon=True).start()
            locked.wait(5)
        return reply

    monkeypatch.setattr(recorder, "handle_DATA", lock_after_taking)
    outcomes = app.send_due_digests()
    assert [o.state for o in outcomes] == [DigestState.SENT] * 3
    assert sorted(states(app).values()) == [DigestState.SENT] * 3
    assert app.send_due_digests() == []
    assert len(recorder.messages) == 3


def _server_down(
    config_dir: Path,
    port: int,
    make_app: Callable[..., App],
    digest: str = "",
    down_port: int | None = None,
) -> tuple[App, Callable[[], App]]:
    """An app whose SMTP server cannot be reached (with ``digest`` settings added; at
    ``down_port``, nothing listening if not given), and how to get one whose server is
    back."""
    settings = config_dir / "settings.yaml"
    text = settings.read_text("utf-8").replace("digest:\n", "digest:\n" + digest)
    settings.write_text(
        text.replace(f"port: {port}", f"port: {down_port or free_port()}"), "utf-8"
    )

    def back_up() -> App:
        settings.write_text(text, "utf-8")
        return make_app(load_config(config_dir))

    return make_app(load_config(config_dir)), back_up


def test_a_server_that_cannot_be_reached_leaves_every_digest_due(
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    clock: Clock,
    digest_config_dir: Path,
    make_app: Callable[..., App],
) -> None:
    recorder, port = smtp_server
    down, back_up = _server_down(digest_config_dir, port, make_app)
    outcomes = down.send_due_digests()
    assert [o.state for o in outcomes] == [DigestState.RETRY] * 3
    assert all("could not talk to 127.0.0.1" in (o.error or "") for o in outcomes)
    clock.advance(timedelta(minutes=10))
    up = back_up()
    assert len(up.send_due_digests()) == 3
    assert len(recorder.messages) == 3


def test_an_outage_over_a_new_week_leaves_one_pending_digest_per_partner(
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    clock: Clock,
    digest_config_dir: Path,
    make_app: Callable[..., App],
) -> None:
    """Partners not tried while the server was down kept last week's digest "retry" beside
    this week's, which covers its stories: the send log showed two pending digests for
    them (found by a probe, session 21)."""

    recorder, port = smtp_server
    app_at_monday.send_due_digests()

    clock.now = MONDAY + timedelta(days=2)
    add_news(app_at_monday, "w1", "Fachkräftetag in Grimma", clock.now, district=DISTRICT)
    down, back_up = _server_down(digest_config_dir, port, make_app)
    for week in (1, 2):
        clock.now = MONDAY + week * WEEK + timedelta(minutes=5)
        states = {o.partner_id: o.state for o in down.send_due_digests()}
        # The district's partner is tried first; the region's is not tried in that run.
        assert states == {
            "landkreis-leipzig": DigestState.RETRY,
            "iq-netzwerk": DigestState.EMPTY,
            "region": DigestState.RETRY,
        }
        clock.now += timedelta(days=3)
        title = f"Wasserstoff-Netzwerk in Borna, Woche {week + 1}"
        add_news(down, f"w{week + 1}", title, clock.now, district=DISTRICT)
    for partner in ("landkreis-leipzig", "region"):
        pending = [(e.period, e.state) for e in down.storage.digest_log([partner])][:2]
        assert pending == [
            ("2021-08-16T0700", DigestState.RETRY),
            ("2021-08-09T0700", DigestState.SUPERSEDED),
        ], partner
    clock.advance(timedelta(days=1))
    up = back_up()
    outcomes = {o.partner_id: (o.period, o.state) for o in up.send_due_digests()}
    assert outcomes["region"] == ("2021-08-16T0700", DigestState.SENT)
    text = recorder.parsed()[-1].get_body(("plain",)).get_content()
    assert "Fachkräftetag in Grimma" in text and "Borna, Woche 2" in text


def test_no_digest_is_given_up_while_the_server_cannot_be_reached(
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    clock: Clock,
    digest_config_dir: Path,
    make_app: Callable[..., App],
) -> None:
    """Only the first digest of a run is tried when the server cannot be reached. Skipped
    ones used up an attempt each all the same, and were given up without ever being
    tried; then the tried one alone used attempts, and the first partner in order was
    given up while the others waited (a review, session 33). The server's failures count
    for no digest: each waits for it, and all go out once it is back."""
    recorder, port = smtp_server
    down, back_up = _server_down(digest_config_dir, port, make_app, "  max_attempts: 2\n")
    for _ in range(4):
        outcomes = down.send_due_digests()
        assert outcomes and {o.state for o in outcomes} == {DigestState.RETRY}
        clock.advance(timedelta(days=1))
    for outcome in outcomes:
        entry = down.storage.digest_entry(outcome.partner_id, outcome.period)
        assert entry is not None and entry.attempts == 0
    up = back_up()
    assert {o.state for o in up.send_due_digests()} == {DigestState.SENT}
    assert len(recorder.messages) == len(outcomes)


def test_a_server_down_for_days_is_asked_at_most_every_max_retry_wait(
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    clock: Clock,
    digest_config_dir: Path,
    make_app: Callable[..., App],
) -> None:
    """The server's failures in a row have no bound; a wait doubled some 40 times
    overflowed, and every run then failed (a review, session 33)."""
    _, port = smtp_server
    down, _ = _server_down(digest_config_dir, port, make_app)
    down.storage.save_mail_server_failures(60)
    (tried, *_) = down.send_due_digests()
    assert tried.state is DigestState.RETRY
    entry = down.storage.digest_entry(tried.partner_id, tried.period)
    assert entry is not None and entry.next_attempt_at == clock.now + timedelta(hours=6)


class _TurningAway:
    """A mail server on 127.0.0.1 that greets every connection with 421 and hangs up,
    noting when (by the test's clock) each connection came."""

    def __init__(self, clock: Clock) -> None:
        import socket
        import threading

        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.connections: list[datetime] = []
        self._clock = clock
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.connections.append(self._clock())
            with connection:
                connection.sendall(b"421 4.3.2 busy.example: service not available\r\n")

    def close(self) -> None:
        self._listener.close()


def test_a_server_down_for_hours_is_tried_less_and_less_often_whoever_is_due(
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    clock: Clock,
    digest_config_dir: Path,
    make_app: Callable[..., App],
) -> None:
    """A run that cannot reach the server tries one digest and leaves the others due,
    without using up their attempts. Their retries waited their own first 5 minutes, and
    the next run tried another partner's, so through a 12-hour outage the server was
    contacted every 5 minutes (a soak probe, session 33). The wait doubles with the
    server's failures in a row (``retry_wait`` up to ``max_retry_wait``), for every
    partner."""
    recorder, port = smtp_server
    server = _TurningAway(clock)
    down, back_up = _server_down(digest_config_dir, port, make_app, down_port=server.port)
    start = clock.now
    waiting = {o.partner_id for o in down.send_due_digests() if o.state is DigestState.RETRY}
    assert len(waiting) >= 2, "one digest tried, at least one left for later"
    try:
        while clock.now < start + timedelta(hours=12):
            clock.advance(timedelta(minutes=5))
            down.send_due_digests()  # the worker asks every minute; every 5 is enough here
    finally:
        server.close()
    minutes = [int((at - start).total_seconds() // 60) for at in server.connections]
    # retry_wait is 10 minutes in the tests' settings
    assert minutes == [0, 10, 30, 70, 150, 310, 630]
    pending = {e.partner_id: e for e in down.storage.digest_log() if e.state is DigestState.RETRY}
    assert set(pending) == waiting
    # The next try is the server's, for each of them, whichever of them was tried.
    assert {e.next_attempt_at for e in pending.values()} == {start + timedelta(minutes=990)}
    assert all("421" in (e.error or "") for e in pending.values())

    clock.now = start + timedelta(minutes=990)
    up = back_up()
    sent = {o.partner_id for o in up.send_due_digests() if o.state is DigestState.SENT}
    assert sent == waiting
    assert len(recorder.messages) == len(waiting)
    # A new outage starts again at 5 minutes.
    server = _TurningAway(clock)
    again, _ = _server_down(digest_config_dir, port, make_app, down_port=server.port)
    clock.now = MONDAY + timedelta(days=3)
    add_news(again, "w2", "Fachkräftetag in Grimma", clock.now, district=DISTRICT)
    clock.now = MONDAY + WEEK + timedelta(minutes=5)
    try:
        again.send_due_digests()
    finally:
        server.close()
    retry = {e.next_attempt_at for e in again.storage.digest_log() if e.state is DigestState.RETRY}
    assert retry == {clock.now + timedelta(minutes=10)}


def test_a_server_that_takes_one_digest_and_then_fails_still_counts_the_failure(
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that took the first partner's digest and then turned the run away ("421"
    to MAIL FROM): the failures in a row are counted from there, and the next run that
    cannot reach it waits twice as long."""
    recorder, _ = smtp_server
    accept = recorder.handle_DATA

    async def take_one_then_close(server: Any, session: Any, envelope: Any) -> str:
        reply: str = await accept(server, session, envelope)
        recorder.mail_reply = "421 4.3.2 going down for maintenance"
        return reply

    monkeypatch.setattr(recorder, "handle_DATA", take_one_then_close)
    first = app_at_monday.send_due_digests()
    states = [o.state for o in first if o.state is not DigestState.EMPTY]
    assert states[0] is DigestState.SENT and set(states[1:]) == {DigestState.RETRY}
    waiting = {o.partner_id for o in first if o.state is DigestState.RETRY}
    assert waiting, "a digest left for the next run"

    def next_tries() -> set[datetime | None]:
        entries = app_at_monday.storage.digest_log()
        return {e.next_attempt_at for e in entries if e.partner_id in waiting}

    assert next_tries() == {clock.now + timedelta(minutes=10)}  # retry_wait
    clock.advance(timedelta(minutes=10))
    assert {o.state for o in app_at_monday.send_due_digests()} == {DigestState.RETRY}
    assert next_tries() == {clock.now + timedelta(minutes=20)}


def test_a_resend_waits_for_a_server_down_for_hours_ever_longer(
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    clock: Clock,
    digest_config_dir: Path,
    make_app: Callable[..., App],
) -> None:
    """A digest one address refused for now is sent to it again later; with the server
    down by then, the resend's wait stayed its own (a server's failure uses up no attempt
    of it), and the server was asked every 20 minutes for as long (a review, session 33).
    It waits for the server's doubling wait too."""
    recorder, port = smtp_server
    recorder.rcpt_replies["presse@iq.example"] = "452 4.2.2 mailbox full"
    app_at_monday.send_due_digests()
    start = clock.now
    server = _TurningAway(clock)
    down, back_up = _server_down(digest_config_dir, port, make_app, down_port=server.port)
    try:
        while clock.now < start + timedelta(hours=12):
            clock.advance(timedelta(minutes=5))
            down.send_due_digests()
    finally:
        server.close()
    minutes = [int((at - start).total_seconds() // 60) for at in server.connections]
    # Its own wait is 20 minutes (its second try); the server's 10 minutes, doubling.
    assert minutes == [10, 30, 50, 90, 170, 330, 650]
    # The server mended and the worker reloaded: the resend goes at once.
    del recorder.rcpt_replies["presse@iq.example"]
    back_up()
    down.reconfigure(load_config(digest_config_dir))
    (again,) = down.send_due_digests()
    assert again.resent_to == ("presse@iq.example",)


def test_a_reload_ends_the_wait_for_the_mail_server(
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    clock: Clock,
    digest_config_dir: Path,
    make_app: Callable[..., App],
) -> None:
    """An admin who mended the SMTP settings (a login, a port) waited out the server's
    backoff, up to 6 hours, for the digests to go; a reload ends it, as it ends the pauses
    sites asked for."""
    recorder, port = smtp_server
    down, back_up = _server_down(digest_config_dir, port, make_app)
    waiting = [o for o in down.send_due_digests() if o.state is DigestState.RETRY]
    assert waiting
    for _ in range(4):  # its failures in a row: the wait is 2 hours by now
        clock.advance(timedelta(minutes=45))
        down.send_due_digests()
    back_up()  # the settings mended, and the running worker told to reload them
    down.reconfigure(load_config(digest_config_dir))
    assert {o.state for o in down.send_due_digests()} == {DigestState.SENT}
    assert len(recorder.messages) == len(waiting)
    assert down.end_mail_server_wait() == 0  # the server's count was ended with the wait


def test_reload_without_a_worker_ends_the_wait_for_the_mail_server(
    digest_config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Digests sent by `digest send` from cron have no worker to tell: `reload` ends the
    wait in the store, and says so."""
    config = load_config(digest_config_dir)
    now = datetime.now(UTC)
    with Storage(config.storage_url) as storage:
        storage.save_digest_state(
            DigestLogEntry(
                "region",
                "2026-11-23T0700",
                now,
                now - WEEK,
                now,
                DigestState.RETRY,
                next_attempt_at=now + timedelta(hours=6),
                error="could not talk to 127.0.0.1:25: ConnectionRefusedError",
            ),
            now,
        )
        storage.save_mail_server_failures(8)
    assert main(["--config", str(digest_config_dir), "reload"]) == 0
    out = capsys.readouterr().out
    assert "ended the wait of 1 digest(s) for the mail server" in out
    with Storage(config.storage_url) as storage:
        entry = storage.digest_entry("region", "2026-11-23T0700")
        assert entry is not None and entry.next_attempt_at is not None
        assert entry.next_attempt_at <= datetime.now(UTC)
        assert storage.mail_server_failures() == 0


def test_a_refused_sender_concerns_every_partner_and_stays_due(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int], clock: Clock
) -> None:
    """A relay that refuses the sender ("530 authentication required") refuses every
    message: each partner's digest was failed for good, one after the other."""
    recorder, _ = smtp_server
    recorder.mail_reply = "530 5.7.0 authentication required"
    outcomes = app_at_monday.send_due_digests()
    assert [o.state for o in outcomes] == [DigestState.RETRY] * 3
    assert all("refused the sender" in (o.error or "") for o in outcomes)
    recorder.mail_reply = None
    clock.advance(timedelta(days=1))
    assert [o.state for o in app_at_monday.send_due_digests()] == [DigestState.SENT] * 3


def test_an_address_that_refuses_for_now_gets_the_same_digest_later(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int], clock: Clock
) -> None:
    """A 4xx at RCPT TO for one of a partner's addresses (a full mailbox, greylisting) while
    the others take the digest: that address gets the same message later, only it, and
    only once; an address that refuses for good (5xx) is not tried again."""
    recorder, _ = smtp_server
    recorder.rcpt_replies["presse@iq.example"] = "452 4.2.2 mailbox full"
    outcomes = {o.partner_id: o for o in app_at_monday.send_due_digests()}
    first = outcomes["iq-netzwerk"]
    assert first.state is DigestState.SENT
    assert "presse@iq.example (452 4.2.2 mailbox full)" in (first.error or "")
    assert "sent again to presse@iq.example" in (first.error or "")
    assert sorted(recorder.recipients()) == [
        "info@metropolregion.example",
        "netzwerk@iq.example",
        "wirtschaft@landkreis-leipzig.example",
    ]
    assert app_at_monday.send_due_digests() == []  # not before retry_wait
    (status,) = [s for s in app_at_monday.digest_overview() if s.partner.id == "iq-netzwerk"]
    assert status.next_at == clock.now + timedelta(minutes=10)

    clock.advance(timedelta(minutes=11))
    del recorder.rcpt_replies["presse@iq.example"]
    (again,) = app_at_monday.send_due_digests()
    assert (again.partner_id, again.resent_to, again.error) == (
        "iq-netzwerk",
        ("presse@iq.example",),
        None,
    )
    assert recorder.messages[-1][1] == ["presse@iq.example"]
    sent = [m for m in recorder.parsed() if "iq.example" in str(m["To"])]
    assert sent[0]["Message-ID"] == sent[1]["Message-ID"]
    assert sent[0].get_body(("plain",)).get_content() == sent[1].get_body(("plain",)).get_content()
    assert sent[0]["Subject"] == sent[1]["Subject"]
    (entry,) = [e for e in app_at_monday.storage.digest_log() if e.partner_id == "iq-netzwerk"]
    assert (entry.state, entry.error, entry.next_attempt_at) == (DigestState.SENT, None, None)
    clock.advance(timedelta(days=1))
    assert app_at_monday.send_due_digests() == []
    assert len(recorder.messages) == 4


@pytest.mark.parametrize(
    ("sender", "address"),
    [
        # Parsed back and written again, this From read as two mailboxes.
        ('"Stadt Zwenkau, Wirtschaftsförderung und Strukturwandel" <digest@news.example>', None),
        # The first send's headers were in UTF-8 (SMTPUTF8); a resend in RFC 2047 words
        # put an encoded word into an address.
        (None, "büro@iq.example"),
    ],
)
def test_a_resend_is_the_first_send_byte_for_byte(
    sender: str | None,
    address: str | None,
    smtp_server: tuple[SmtpRecorder, int],
    clock: Clock,
    digest_config_dir: Path,
    make_app: Callable[..., App],
) -> None:
    recorder, _ = smtp_server
    if sender:
        edit(
            digest_config_dir / "settings.yaml",
            'sender: "Revier-News <digest@news.example>"',
            f"sender: '{sender}'",
        )
    if address:
        edit(digest_config_dir / "partners.yaml", "netzwerk@iq.example", address)
    clock.now = COLLECTED
    app = make_app(load_config(digest_config_dir))
    app.run_cycle()
    clock.now = MONDAY + timedelta(minutes=5)
    recorder.rcpt_replies["presse@iq.example"] = "452 4.2.2 mailbox full"
    app.send_due_digests(partner_id="iq-netzwerk")
    del recorder.rcpt_replies["presse@iq.example"]
    clock.advance(timedelta(minutes=11))
    (again,) = app.send_due_digests(partner_id="iq-netzwerk")
    assert again.resent_to == ("presse@iq.example",)
    (first_from, first_to, first), (again_from, again_to, resent) = recorder.messages
    assert first_to == [address or "netzwerk@iq.example"] and again_to == ["presse@iq.example"]
    assert resent == first and again_from == first_from == "digest@news.example"
    if sender:
        assert recorder.parsed()[1]["From"].addresses[0].display_name == sender.split('"')[1]


@pytest.mark.parametrize("later", ["450 4.7.1 greylisted", "550 5.1.1 no such user"])
def test_an_address_that_keeps_refusing_is_given_up_or_dropped(
    later: str,
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    clock: Clock,
    digest_config_dir: Path,
    make_app: Callable[..., App],
) -> None:
    """Resends end: after ``max_attempts`` tries in all, or at once when the address
    refuses for good."""
    recorder, _ = smtp_server
    edit(
        digest_config_dir / "settings.yaml",
        "retry_wait: 10m",
        "retry_wait: 10m\n  max_attempts: 3",
    )
    app = make_app(load_config(digest_config_dir))
    recorder.rcpt_replies["presse@iq.example"] = "450 4.7.1 greylisted"
    app.send_due_digests(partner_id="iq-netzwerk")
    recorder.rcpt_replies["presse@iq.example"] = later
    results = []
    for _ in range(4):
        clock.advance(timedelta(hours=7))
        results.append(
            [(o.state, o.error) for o in app.send_due_digests(partner_id="iq-netzwerk")]
        )
    if later.startswith("4"):  # tries 2 and 3, then given up
        assert [[state for state, _ in r] for r in results] == [
            [DigestState.RETRY],
            [DigestState.FAILED],
            [],
            [],
        ]
        note = "gave up after 3 attempts"
        assert note in (results[1][0][1] or "")
    else:
        assert [[state for state, _ in r] for r in results] == [[DigestState.FAILED], [], [], []]
        note = "550 5.1.1 no such user"
        assert note in (results[0][0][1] or "")
    assert recorder.recipients() == ["netzwerk@iq.example"]
    (entry,) = app.storage.digest_log(["iq-netzwerk"])
    assert entry.state is DigestState.SENT and note in (entry.error or "")
    assert entry.next_attempt_at is None


def test_an_address_taken_out_of_partners_yaml_is_not_sent_again(
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    clock: Clock,
    digest_config_dir: Path,
    make_app: Callable[..., App],
) -> None:
    recorder, _ = smtp_server
    recorder.rcpt_replies["presse@iq.example"] = "452 4.2.2 mailbox full"
    app_at_monday.send_due_digests(partner_id="iq-netzwerk")
    edit(
        digest_config_dir / "partners.yaml",
        "netzwerk@iq.example, presse@iq.example",
        "netzwerk@iq.example",
    )
    del recorder.rcpt_replies["presse@iq.example"]
    clock.advance(timedelta(hours=1))
    app = make_app(load_config(digest_config_dir))
    (outcome,) = app.send_due_digests(partner_id="iq-netzwerk")
    assert outcome.resent_to == () and "no longer the partner's" in (outcome.error or "")
    assert recorder.recipients() == ["netzwerk@iq.example"]
    assert app.send_due_digests(partner_id="iq-netzwerk") == []


def test_a_resend_keeps_what_became_of_the_other_addresses(
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    clock: Clock,
    digest_config_dir: Path,
    make_app: Callable[..., App],
) -> None:
    """An address refused for good at the first send stays in the send log's note after
    the resend to another address went through."""
    recorder, _ = smtp_server
    edit(
        digest_config_dir / "partners.yaml",
        "presse@iq.example]",
        "presse@iq.example, alt@iq.example]",
    )
    app = make_app(load_config(digest_config_dir))
    recorder.rcpt_replies["presse@iq.example"] = "452 4.2.2 mailbox full"
    recorder.rcpt_replies["alt@iq.example"] = "550 5.1.1 no such user"
    app.send_due_digests(partner_id="iq-netzwerk")
    del recorder.rcpt_replies["presse@iq.example"]
    clock.advance(timedelta(minutes=11))
    (again,) = app.send_due_digests(partner_id="iq-netzwerk")
    assert again.resent_to == ("presse@iq.example",)
    (entry,) = app.storage.digest_log(["iq-netzwerk"])
    assert entry.error == "refused: alt@iq.example (550 5.1.1 no such user)"
    assert entry.next_attempt_at is None


def test_the_resend_of_a_partner_made_inactive_is_dropped(
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    clock: Clock,
    digest_config_dir: Path,
    make_app: Callable[..., App],
) -> None:
    """Kept, it went out weeks later, when the partner was made active again."""
    recorder, _ = smtp_server
    recorder.rcpt_replies["presse@iq.example"] = "452 4.2.2 mailbox full"
    app_at_monday.send_due_digests(partner_id="iq-netzwerk")
    del recorder.rcpt_replies["presse@iq.example"]
    marker = "  - id: iq-netzwerk\n"
    edit(digest_config_dir / "partners.yaml", marker, marker + "    active: false\n")
    clock.advance(timedelta(hours=1))
    outcomes = make_app(load_config(digest_config_dir)).send_due_digests()
    (dropped,) = [o for o in outcomes if o.partner_id == "iq-netzwerk"]
    assert dropped.resent_to == () and "inactive or gone" in (dropped.error or "")
    edit(digest_config_dir / "partners.yaml", marker + "    active: false\n", marker)
    clock.advance(timedelta(days=30))
    make_app(load_config(digest_config_dir)).send_due_digests()
    assert "presse@iq.example" not in [
        to for _, tos, data in recorder.messages if b"2021-08-02T0700" in data for to in tos
    ]


def test_a_permanent_failure_is_recorded_and_not_retried(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int], clock: Clock
) -> None:
    recorder, _ = smtp_server
    app = app_at_monday
    recorder.rcpt_replies["info@metropolregion.example"] = "550 5.1.1 no such user"
    recorder.rcpt_replies["presse@iq.example"] = "550 5.1.1 no such user"
    outcomes = {o.partner_id: o for o in app.send_due_digests()}
    assert outcomes["region"].state is DigestState.FAILED
    assert "550" in (outcomes["region"].error or "")
    # One of two addresses refused: delivered to the other, the refusal noted.
    assert outcomes["iq-netzwerk"].state is DigestState.SENT
    assert "presse@iq.example" in (outcomes["iq-netzwerk"].error or "")
    clock.advance(timedelta(days=1))
    assert app.send_due_digests() == []
    overview = {s.partner.id: s for s in app.digest_overview()}
    last = overview["region"].last
    assert last is not None and last.state is DigestState.FAILED and "550" in (last.error or "")
    assert len(recorder.messages) == 2


def test_dry_run_writes_eml_files_and_records_nothing(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int], tmp_path: Path
) -> None:
    recorder, _ = smtp_server
    outcomes = app_at_monday.send_due_digests(outbox=tmp_path / "outbox")
    files = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert files == [
        "iq-netzwerk-2021-08-02T0700.eml",
        "landkreis-leipzig-2021-08-02T0700.eml",
        "region-2021-08-02T0700.eml",
    ]
    assert all(o.state is None for o in outcomes)
    assert recorder.messages == [] and app_at_monday.storage.digest_log() == []


def test_with_send_empty_the_preview_is_the_empty_digest_due(
    digest_config_dir: Path,
    clock: Clock,
    make_app: Callable[..., App],
    smtp_server: tuple[SmtpRecorder, int],
) -> None:
    """With `send_empty`, an empty digest goes out: it is the one the preview shows."""
    recorder, _ = smtp_server
    edit(digest_config_dir / "settings.yaml", "digest:\n", "digest:\n  send_empty: true\n")
    clock.now = MONDAY + timedelta(days=1)  # collected after Monday's slot
    app = make_app(load_config(digest_config_dir))
    app.run_cycle()
    issue, message = app.preview_digest("region")
    assert issue.period.key == "2021-08-02T0700" and issue.entries == ()
    app.send_due_digests(partner_id="region")
    (sent,) = recorder.parsed()
    assert sent["Subject"] == message["Subject"]
    assert "KW 31/2021" in sent["Subject"]


def _sent_titles(message: EmailMessage) -> list[str]:
    text = message.get_body(("plain",)).get_content()
    return sorted(line[2:] for line in text.splitlines() if line.startswith("* "))


def test_the_preview_is_the_digest_sent_next(
    digest_config_dir: Path,
    clock: Clock,
    make_app: Callable[..., App],
    smtp_server: tuple[SmtpRecorder, int],
) -> None:
    """A preview showed the last slot's week with everything collected up to now: news that
    would go out a week later under the next week's number was shown under the last one's,
    and so was a week already sent."""
    recorder, _ = smtp_server
    # Collected on Tuesday, after Monday's slot: Monday's digest has nothing and goes out
    # empty (not at all); the news is in the next Monday's.
    clock.now = MONDAY + timedelta(days=1)
    app = make_app(load_config(digest_config_dir))
    app.run_cycle()
    issue, message = app.preview_digest("region")
    assert issue.period.key == "2021-08-09T0700" and len(issue.entries) == 29
    assert [o.state for o in app.send_due_digests(partner_id="region")] == [DigestState.EMPTY]
    clock.now = MONDAY + WEEK + timedelta(minutes=5)
    # Due now, with stories: the preview is that digest, without what came after its slot.
    assert app.preview_digest("region")[0].period.key == "2021-08-09T0700"
    add_news(app, "neu-1", "Revierwerkstatt zieht Bilanz", clock.now)
    due_issue, due_message = app.preview_digest("region")
    assert len(due_issue.entries) == 29
    app.send_due_digests(partner_id="region")
    (sent,) = recorder.parsed()
    assert sent["Subject"] == message["Subject"] == due_message["Subject"]
    assert sent["Subject"] == "Revier-News KW 32/2021: 29 Meldungen"
    assert _sent_titles(sent) == _sent_titles(due_message)
    assert "Revierwerkstatt zieht Bilanz" not in _sent_titles(sent)
    # Mid-week, after it went out: the next week's digest with what is new since.
    clock.now = MONDAY + WEEK + timedelta(days=2)
    add_news(app, "neu-2", "Fachkräftetag in Halle", clock.now)
    issue, message = app.preview_digest("region")
    assert issue.period.key == "2021-08-16T0700"
    assert message["Subject"] == "Revier-News KW 33/2021: 2 Meldungen"
    clock.now = MONDAY + 2 * WEEK + timedelta(minutes=5)
    app.send_due_digests(partner_id="region")
    sent = recorder.parsed()[1]
    assert sent["Subject"] == message["Subject"]
    assert _sent_titles(sent) == _sent_titles(message)
    assert _sent_titles(sent) == ["Fachkräftetag in Halle", "Revierwerkstatt zieht Bilanz"]


def test_failed_digests_are_given_up_after_max_attempts(
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    clock: Clock,
    digest_config_dir: Path,
    make_app: Callable[..., App],
) -> None:
    recorder, _ = smtp_server
    settings = digest_config_dir / "settings.yaml"
    settings.write_text(
        settings.read_text("utf-8").replace("digest:\n", "digest:\n  max_attempts: 2\n"), "utf-8"
    )
    app = make_app(load_config(digest_config_dir))
    recorder.rcpt_replies["info@metropolregion.example"] = "452 4.2.2 mailbox full"
    app.send_due_digests(partner_id="region")
    clock.advance(timedelta(hours=1))
    [outcome] = app.send_due_digests(partner_id="region")
    assert outcome.state is DigestState.FAILED
    assert outcome.error and outcome.error.startswith("gave up after 2 attempts")
    clock.advance(timedelta(hours=1))
    assert app.send_due_digests(partner_id="region") == []


# --- TLS and login -------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_starttls_or_implicit_tls_with_login_from_the_environment(
    security: str,
    certificate: tuple[Path, Path],
    app_at_monday: App,
    digest_config_dir: Path,
    make_app: Callable[..., App],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    recorder = SmtpRecorder()
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"geheim-123", handled=False)

    port = free_port()
    options: dict[str, Any] = {"authenticator": authenticator}
    if security == "starttls":
        options |= {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    else:
        # aiosmtpd does not see a TLS transport as TLS for auth_require_tls; it is TLS anyway.
        options |= {"ssl_context": context, "auth_require_tls": False}
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        settings = digest_config_dir / "settings.yaml"
        text = settings.read_text("utf-8")
        text = text.replace("security: none", f"security: {security}").replace(
            "  port: ",
            f"  ca_file: {cert}\n  username_env: RF_SMTP_USER\n"
            "  password_env: RF_SMTP_PASSWORD\n  port: ",
        )
        text = "\n".join(
            f"  port: {port}" if line.startswith("  port: ") else line
            for line in text.splitlines()
        )
        settings.write_text(text + "\n", "utf-8")
        app = make_app(load_config(digest_config_dir))
        with pytest.raises(DigestError, match="RF_SMTP_USER"):
            app.send_due_digests()
        monkeypatch.setenv("RF_SMTP_USER", "revier")
        monkeypatch.setenv("RF_SMTP_PASSWORD", "geheim-123")
        caplog.set_level("DEBUG")
        outcomes = app.send_due_digests()
        assert [o.state for o in outcomes] == [DigestState.SENT] * 3
        assert logins == [(b"revier", b"geheim-123")]  # one connection for all three
        assert len(recorder.messages) == 3
        assert "geheim-123" not in caplog.text
    finally:
        controller.stop()


# --- a crash in the middle of a run ---------------------------------------------------------


def _killed_in_data(config_dir: Path, recorder: SmtpRecorder) -> tuple[list[str], dict[str, str]]:
    """A `digest send` killed (SIGKILL) while the server holds the DATA of
    ``recorder.hold``'s digest; the command line and environment to run it again."""
    command = [sys.executable, "-m", "revier_feed", "--config", str(config_dir)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(
        [*command, "digest", "send"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert recorder.holding.wait(timeout=60), f"{recorder.hold}'s digest never reached DATA"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    first.communicate()
    return command, env


def test_a_run_killed_mid_way_and_rerun_sends_every_partner_exactly_one_digest(
    collected_before_slot: Path, smtp_server: tuple[SmtpRecorder, int]
) -> None:
    recorder, _ = smtp_server
    recorder.hold = "netzwerk@iq.example"  # the second partner in partners.yaml
    command, env = _killed_in_data(collected_before_slot, recorder)
    recorder.release.set()  # the held message is refused: it was never delivered
    deadline = time.monotonic() + 10
    while recorder.holding.is_set() and time.monotonic() < deadline:
        recorder.holding.clear()
    assert recorder.recipients() == ["wirtschaft@landkreis-leipzig.example"]
    recorder.hold = None
    rerun = subprocess.run(
        [*command, "digest", "send"], env=env, capture_output=True, text=True, timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "may have been delivered" in rerun.stderr
    assert sorted(recorder.recipients()) == [
        "info@metropolregion.example",
        "netzwerk@iq.example",
        "presse@iq.example",
        "wirtschaft@landkreis-leipzig.example",
    ]
    ids = [m["Message-ID"] for m in recorder.parsed()]
    assert len(set(ids)) == 3
    third = subprocess.run(
        [*command, "digest", "send"], env=env, capture_output=True, text=True, timeout=120
    )
    assert "no digest is due" in third.stdout
    assert len(recorder.messages) == 3


def test_a_digest_that_may_have_arrived_goes_again_byte_for_byte(
    collected_before_slot: Path,
    smtp_server: tuple[SmtpRecorder, int],
    clock: Clock,
    make_app: Callable[..., App],
) -> None:
    """The run died after the server took the digest, before its reply. Resent rebuilt,
    with a story placed in between, under the same Message-ID, it was dropped by a mail
    service that had the first copy, and the story counted as sent: never mailed."""
    recorder, _ = smtp_server
    config = load_config(collected_before_slot)
    slot = cron.parse("0 7 * * mon").last_at_or_before(datetime.now(UTC), BERLIN)
    clock.now = slot - timedelta(minutes=30)
    app = make_app(config)
    title = "Innovationspreis: Jury tagt in Borna"
    url = add_news(app, "spaet", title, clock.now, placed=False)
    recorder.hold, recorder.accept_held = "info@metropolregion.example", True
    command, env = _killed_in_data(collected_before_slot, recorder)
    recorder.release.set()
    delivered = recorder.messages[-1]  # the server has it: the partner got it
    assert delivered[1] == ["info@metropolregion.example"]
    assert title not in recorder.parsed()[-1].get_body(("plain",)).get_content()
    place(app, url, clock.now)  # the cycle's end, after the digest went out
    # The preview is what goes again: the very message, without the story placed since.
    clock.now = datetime.now(UTC)
    _, previewed = app.preview_digest("region")
    assert previewed["Message-ID"] == recorder.parsed()[-1]["Message-ID"]
    assert title not in previewed.get_body(("plain",)).get_content()
    recorder.hold = None
    rerun = subprocess.run(
        [*command, "digest", "send"], env=env, capture_output=True, text=True, timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "may have been delivered" in rerun.stderr
    assert recorder.messages[-1] == delivered  # the same mail, which the service drops
    with sqlite3.connect(config.store_file) as db:  # kept only while the period is pending
        assert db.execute("SELECT count(*) FROM digest_copies").fetchone() == (0,)
    # The story comes with the next week's digest.
    clock.now = slot + WEEK + timedelta(minutes=1)
    (outcome,) = make_app(config).send_due_digests(partner_id="region")
    assert outcome.state is DigestState.SENT
    assert title in recorder.parsed()[-1].get_body(("plain",)).get_content()


def test_a_digest_lock_that_could_not_be_written_is_not_kept(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int]
) -> None:
    """With the disk full while the lock file was written, the process kept the lock it
    had just taken and refused itself ever after ("another revier-feed is sending"). A
    file size limit makes the same write fail for real."""
    import resource

    recorder, _ = smtp_server
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, limit[1]))
    try:
        with pytest.raises(StorageError, match=r"cannot take the digest lock .*File too large"):
            app_at_monday.send_due_digests()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
        signal.signal(signal.SIGXFSZ, handler)
    assert len(app_at_monday.send_due_digests()) == 3
    assert len(recorder.messages) == 3


def test_a_run_killed_while_waiting_for_the_rate_limit_sent_nothing_more(
    collected_before_slot: Path, smtp_server: tuple[SmtpRecorder, int]
) -> None:
    """The rate limit's wait comes before "sending" is recorded: a run killed there did not
    send the next digest, and the rerun says nothing of one that "may have been delivered"."""
    recorder, _ = smtp_server
    settings = collected_before_slot / "settings.yaml"
    fast = settings.read_text(encoding="utf-8")
    assert "rate_limit: 60000" in fast
    settings.write_text(fast.replace("rate_limit: 60000", "rate_limit: 1"), encoding="utf-8")
    command = [sys.executable, "-m", "revier_feed", "--config", str(collected_before_slot)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(
        [*command, "digest", "send"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while not recorder.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        assert recorder.messages, "the first digest never arrived"
        time.sleep(1)  # well into the minute the second digest waits
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    first.communicate()
    assert len(recorder.messages) == 1
    store = App(load_config(collected_before_slot))
    try:
        assert DigestState.SENDING not in states(store).values()
    finally:
        store.close()
    settings.write_text(fast, encoding="utf-8")
    rerun = subprocess.run(
        [*command, "digest", "send"], env=env, capture_output=True, text=True, timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "may have been delivered" not in rerun.stderr
    assert sorted(recorder.recipients()) == [
        "info@metropolregion.example",
        "netzwerk@iq.example",
        "presse@iq.example",
        "wirtschaft@landkreis-leipzig.example",
    ]


def test_the_worker_sends_missed_digests_when_it_starts(
    collected_before_slot: Path, smtp_server: tuple[SmtpRecorder, int]
) -> None:
    recorder, _ = smtp_server
    digest_config_dir = collected_before_slot
    # The worker was not running at the slot; it starts now.
    worker = subprocess.Popen(
        [sys.executable, "-m", "revier_feed", "--config", str(digest_config_dir), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(recorder.messages) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
    finally:
        worker.kill()
    assert worker.returncode == 0, err
    assert len(recorder.messages) == 3, err
    assert len({m["Message-ID"] for m in recorder.parsed()}) == 3


def test_admin_digest_lists_failing_and_empty_sources_with_their_last_error(
    digest_config_dir: Path,
    region: Any,
    smtp_server: tuple[SmtpRecorder, int],
    clock: Clock,
    make_app: Callable[..., App],
) -> None:
    from revier_feed.demo.server import Response

    recorder, _ = smtp_server
    region.add_route("/broken/feed.xml", Response(status=404, body=b"not here"))
    sources = digest_config_dir / "sources.yaml"
    sources.write_text(
        sources.read_text("utf-8")
        + "\n  - id: kaputt\n    name: Kaputte Quelle\n"
        + f"    url: {region.base_url}/broken/feed.xml\n",
        "utf-8",
    )
    settings = digest_config_dir / "settings.yaml"
    settings.write_text(
        settings.read_text("utf-8").replace(
            "digest:\n", "digest:\n  admins: [technik@news.example]\n"
        ),
        "utf-8",
    )
    clock.now = COLLECTED
    app = make_app(load_config(digest_config_dir))
    app.run_cycle()
    clock.now = MONDAY + timedelta(minutes=1)
    outcomes = {o.partner_id: o for o in app.send_due_digests()}
    assert outcomes["_admin"].state is DigestState.SENT
    admin = next(m for m in recorder.parsed() if "technik@" in str(m["To"]))
    assert admin["Subject"].endswith("Quellenbericht KW 31/2021: 1 von 7 Quellen mit Problemen")
    text = admin.get_body(("plain",)).get_content()
    assert "Kaputte Quelle (kaputt): failing [http_4xx]" in text
    assert "404" in text
    assert admin["Message-ID"] == "<digest.2021-08-02T0700._admin@news.example>"
    # Once per period, like every digest.
    assert app.send_due_digests() == []
    # Sent, the week's report is not previewed as if to come: the next week's is.
    previewed = app.preview_admin_digest()
    assert "Quellenbericht KW 32/2021" in previewed["Subject"]
    assert previewed["Message-ID"] == "<digest.2021-08-09T0700._admin@news.example>"


def test_only_one_process_sends_digests_at_a_time(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int]
) -> None:
    from revier_feed._utils import ProcessLock
    from revier_feed.exceptions import AlreadyRunning

    other = ProcessLock(
        app_at_monday.config.lock_path.with_suffix(".digest-lock"), "pid 1, the other sender"
    )
    other.acquire()
    try:
        with pytest.raises(AlreadyRunning, match="the other sender"):
            app_at_monday.send_due_digests()
    finally:
        other.release()
    assert smtp_server[0].messages == []
    assert len(app_at_monday.send_due_digests()) == 3


def test_a_refused_login_is_tried_once_per_run_and_leaves_every_digest_due(
    app_at_monday: App,
    digest_config_dir: Path,
    make_app: Callable[..., App],
    monkeypatch: pytest.MonkeyPatch,
    clock: Clock,
) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    attempts: list[bytes] = []

    def refuse(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        attempts.append(data.login)
        return AuthResult(success=False, handled=False)

    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port, authenticator=refuse, auth_require_tls=False
    )
    controller.start()
    try:
        settings = digest_config_dir / "settings.yaml"
        text = "\n".join(
            f"  port: {port}" if line.startswith("  port: ") else line
            for line in settings.read_text("utf-8").splitlines()
        )
        text += "\n".join(["", "  username_env: RF_USER", "  password_env: RF_PASSWORD", ""])
        settings.write_text(text, "utf-8")
        monkeypatch.setenv("RF_USER", "revier")
        monkeypatch.setenv("RF_PASSWORD", "falsch")
        outcomes = make_app(load_config(digest_config_dir)).send_due_digests()
        clock.advance(timedelta(days=1))  # past the backoff
        monkeypatch.setenv("RF_PASSWORD", "")  # set, but empty: no login was tried at all
        with pytest.raises(DigestError, match="RF_PASSWORD, which is empty"):
            make_app(load_config(digest_config_dir)).send_due_digests()
        monkeypatch.setenv("RF_PASSWORD", "Geheimö")  # smtplib sends ASCII only: a traceback
        beyond = make_app(load_config(digest_config_dir)).send_due_digests()
    finally:
        controller.stop()
    assert [o.state for o in beyond] == [DigestState.RETRY] * 3
    assert all("beyond ASCII" in (o.error or "") for o in beyond)
    assert [o.state for o in outcomes] == [DigestState.RETRY] * 3
    assert all("refused the login (535" in (o.error or "") for o in outcomes)
    assert all("smtp.password_env" in (o.error or "") for o in outcomes)
    # One login for the whole run (smtplib tries both offered mechanisms, PLAIN and LOGIN),
    # not one per partner.
    assert attempts == [b"revier", b"revier"]
    assert recorder.messages == []


@pytest.mark.parametrize(
    ("mistake", "hint"),
    [
        ("host", "check smtp.host"),
        ("port", "check smtp.host and smtp.port"),
        ("tls on a plain port", "smtp.security: starttls"),
        ("plain on a TLS port", "needs smtp.security: tls"),
        ("untrusted", "set smtp.ca_file"),
        ("another name", "certificate is for another name; check smtp.host"),
        ("ca_file missing", "smtp.ca_file '/nicht/da.pem' cannot be used"),
        ("no starttls", "check smtp.port and smtp.security"),
    ],
)
def test_a_wrong_server_setting_is_named_in_the_error(
    mistake: str,
    hint: str,
    smtp_server: tuple[SmtpRecorder, int],
    certificate: tuple[Path, Path],
) -> None:
    """Each way of pointing the mailer at the wrong server fails every digest of the run
    (server-wide) with the setting to look at, not only the exception's text."""
    import ssl

    from aiosmtpd.controller import Controller

    from revier_feed.digest.smtp import Mailer
    from revier_feed.exceptions import DeliveryError

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    tls_port = free_port()
    tls = Controller(SmtpRecorder(), hostname="127.0.0.1", port=tls_port, ssl_context=context)
    tls.start()
    _, plain_port = smtp_server
    ca_file = {"another name": str(cert), "ca_file missing": "/nicht/da.pem"}.get(mistake)
    host, port, security = {
        "host": ("no-such-host.invalid", plain_port, "none"),
        "another name": ("localhost", tls_port, "tls"),
        "ca_file missing": ("127.0.0.1", tls_port, "tls"),
        "port": ("127.0.0.1", free_port(), "none"),
        "tls on a plain port": ("127.0.0.1", plain_port, "tls"),
        "plain on a TLS port": ("127.0.0.1", tls_port, "starttls"),
        "untrusted": ("127.0.0.1", tls_port, "tls"),
        "no starttls": ("127.0.0.1", plain_port, "starttls"),
    }[mistake]
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@revier.example", "b@x.example", "x"
    message.set_content("Text")
    try:
        with (
            pytest.raises(DeliveryError) as failed,
            Mailer(host, port, security=security, timeout=1, ca_file=ca_file) as mailer,
        ):
            mailer.send(message, ["b@x.example"])
    finally:
        tls.stop()
    assert failed.value.server_wide and not failed.value.permanent
    assert hint in str(failed.value)


def test_a_connection_a_firewall_refuses_is_not_blamed_on_the_ca_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A local firewall answers connect() with EPERM (no firewall can be set up here, so
    the socket call fails as it would)."""
    import socket

    from revier_feed.digest.smtp import Mailer
    from revier_feed.exceptions import DeliveryError

    def refused(*args: object, **kwargs: object) -> socket.socket:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(socket, "create_connection", refused)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@revier.example", "b@x.example", "x"
    message.set_content("Text")
    with (
        pytest.raises(DeliveryError) as failed,
        Mailer("127.0.0.1", 465, security="tls", timeout=1) as mailer,
    ):
        mailer.send(message, ["b@x.example"])
    assert "firewall" in str(failed.value) and "ca_file" not in str(failed.value)


def _without_smtputf8(
    digest_config_dir: Path, make_app: Callable[..., App], address: str
) -> tuple[dict[str, Any], SmtpRecorder]:
    """The due digests sent through a server that offers no SMTPUTF8, with the Landkreis
    Leipzig partner at ``address``: each partner's outcome, and what the server took."""
    from aiosmtpd.controller import Controller

    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    try:
        settings = digest_config_dir / "settings.yaml"
        settings.write_text(
            "\n".join(
                f"  port: {port}" if line.startswith("  port: ") else line
                for line in settings.read_text("utf-8").splitlines()
            )
            + "\n",
            "utf-8",
        )
        partners = digest_config_dir / "partners.yaml"
        partners.write_text(
            partners.read_text("utf-8").replace("wirtschaft@landkreis-leipzig.example", address),
            "utf-8",
        )
        outcomes = {
            o.partner_id: o for o in make_app(load_config(digest_config_dir)).send_due_digests()
        }
    finally:
        controller.stop()
    return outcomes, recorder


def test_an_umlaut_address_the_server_cannot_take_fails_only_that_partner(
    app_at_monday: App,
    digest_config_dir: Path,
    make_app: Callable[..., App],
) -> None:
    outcomes, recorder = _without_smtputf8(
        digest_config_dir, make_app, "müller@landkreis-leipzig.example"
    )
    assert outcomes["landkreis-leipzig"].state is DigestState.FAILED
    assert "SMTPUTF8" in (outcomes["landkreis-leipzig"].error or "")
    assert outcomes["iq-netzwerk"].state is DigestState.SENT
    assert outcomes["region"].state is DigestState.SENT
    assert len(recorder.messages) == 2


def test_an_umlaut_domain_goes_out_in_idna_to_a_server_without_smtputf8(
    app_at_monday: App,
    digest_config_dir: Path,
    make_app: Callable[..., App],
) -> None:
    """A partner at a domain with umlauts gets the digest from a server without SMTPUTF8,
    as mail programs send it: the domain in IDNA, in RCPT TO and in To."""
    outcomes, recorder = _without_smtputf8(
        digest_config_dir, make_app, "wirtschaft@landkreis-müller.example"
    )
    assert outcomes["landkreis-leipzig"].state is DigestState.SENT
    idna = "wirtschaft@xn--landkreis-mller-9vb.example"
    (sent,) = [data for _, rcpts, data in recorder.messages if idna in rcpts]
    assert f"To: {idna}".encode() in sent
    assert len(recorder.messages) == 3


def test_the_smtp_connection_turns_off_nagle(smtp_server: tuple[SmtpRecorder, int]) -> None:
    import socket
    from email.message import EmailMessage

    from revier_feed.digest import Mailer

    recorder, port = smtp_server
    message = EmailMessage()
    message["From"] = "digest@news.example"
    message["Subject"] = "Test"
    message.set_content("Hallo")
    with Mailer("127.0.0.1", port, security="none", rate_limit=60000) as mailer:
        assert mailer.send(message, ["a@partner.example"]) == {}
        connection = mailer._smtp
        assert connection is not None and connection.sock is not None
        # Without it every message waits for the server's delayed ACK (up to 40 ms).
        assert connection.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert mailer.send(message, ["b@partner.example"]) == {}
        assert mailer._smtp is connection  # one connection for the run
    assert recorder.recipients() == ["a@partner.example", "b@partner.example"]


@pytest.mark.parametrize(
    ("after_the_message", "unconfirmed"),
    [
        (b"garbage\r\n", True),  # no SMTP reply: smtplib makes it code -1
        (b"", True),  # closed
        (b"451 4.3.0 try again later\r\n", False),  # a real answer: a real retry
    ],
)
def test_what_the_server_does_after_the_whole_message_decides_a_retry(
    after_the_message: bytes, unconfirmed: bool
) -> None:
    """A server (here a raw one on 127.0.0.1) that answers the message with something that
    is no SMTP reply, or not at all, may have taken it: no retry. A real 4xx is retried."""
    import socket
    import threading
    from email.message import EmailMessage

    from revier_feed.digest import Mailer
    from revier_feed.exceptions import DeliveryError

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        connection, _ = listener.accept()
        with connection, connection.makefile("rb") as lines:
            connection.sendall(b"220 raw.example ESMTP\r\n")
            while line := lines.readline():
                if line.upper().startswith(b"EHLO"):
                    connection.sendall(b"250 raw.example\r\n")
                elif line.upper().startswith(b"DATA"):
                    connection.sendall(b"354 go ahead\r\n")
                    while lines.readline() != b".\r\n":
                        pass
                    connection.sendall(after_the_message)
                    return
                else:
                    connection.sendall(b"250 OK\r\n")

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    message = EmailMessage()
    message["From"] = "digest@news.example"
    message["Subject"] = "Test"
    message.set_content("Hallo")
    try:
        with (
            Mailer("127.0.0.1", port, security="none", timeout=5) as mailer,
            pytest.raises(DeliveryError) as failed,
        ):
            mailer.send(message, ["a@partner.example"])
    finally:
        server.join(5)
        listener.close()
    assert failed.value.unconfirmed is unconfirmed
    assert not failed.value.server_wide and not failed.value.permanent


@pytest.mark.parametrize(
    "greeting", ["lines without end", "a byte at a time", "a byte at a time after MAIL"]
)
def test_a_greeting_that_never_ends_fails_the_run_instead_of_holding_it(greeting: str) -> None:
    """smtplib read continuation lines for as long as they came (memory growing), and its
    timeout bounds each read, not a reply: the digest job, and the worker's collection
    beside it, waited for good. A reply cut off by the watchdog is not taken for an idle
    connection the server closed (which would be connected again, with no watchdog)."""
    import socket
    import threading
    import time
    from email.message import EmailMessage

    from revier_feed.digest import Mailer
    from revier_feed.exceptions import DeliveryError

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection, contextlib.suppress(OSError):
            if greeting.endswith("after MAIL"):
                connection.sendall(b"220 raw.example\r\n")
                connection.recv(1000)  # EHLO
                connection.sendall(b"250 raw.example\r\n")
                connection.recv(1000)  # MAIL FROM
            while not stop.is_set():
                if greeting == "lines without end":
                    connection.sendall(b"220-still greeting\r\n" * 100)
                else:
                    connection.sendall(b"2")
                    time.sleep(0.05)
        with contextlib.suppress(OSError):  # a second connection: the watchdog was undone
            second, _ = listener.accept()
            second.close()
            reconnected.set()

    reconnected = threading.Event()
    server = threading.Thread(target=serve, daemon=True)
    server.start()
    message = EmailMessage()
    message["From"] = "digest@news.example"
    message.set_content("Hallo")
    errors: list[DeliveryError] = []

    def send() -> None:
        with Mailer("127.0.0.1", port, security="none", timeout=0.5) as mailer:
            try:
                mailer.send(message, ["a@partner.example"])
            except DeliveryError as e:
                errors.append(e)

    sending = threading.Thread(target=send, daemon=True)
    sending.start()
    sending.join(30)
    stop.set()
    listener.close()
    assert not sending.is_alive(), "the send is still waiting for the greeting"
    (error,) = errors
    assert error.server_wide and not error.permanent
    assert not reconnected.is_set()


def test_the_archive_index_lists_every_sent_period_newest_first(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int], clock: Clock
) -> None:
    app = app_at_monday
    folder = app.config.output_dir / "digests"
    app.send_due_digests(partner_id="region")
    (folder / "notizen.html").write_text("<p>not a period</p>", "utf-8")
    clock.now = MONDAY + timedelta(days=3)
    add_news(app, "neu-1", "Revierwerkstatt zieht Bilanz", clock.now)
    clock.now = MONDAY + WEEK + timedelta(minutes=5)
    assert [o.state for o in app.send_due_digests(partner_id="region")] == [DigestState.SENT]
    html = (folder / "index.html").read_text("utf-8")
    links = [part.split('"', 1)[0] for part in html.split('href="')[1:]]
    assert links == ["2021-08-09T0700.html", "2021-08-02T0700.html", "https://news.example/"]
    assert all((folder / link).is_file() for link in links[:2])
    assert "Wochenüberblick KW 32/2021" in html and "2. August 2021" in html
    # A page of its own: no script, nothing loaded from elsewhere, CSS inlined.
    lower = html.lower()
    assert "<script" not in lower and "<link" not in lower and "src=" not in lower
    assert 'style="' in html


def test_a_stopping_worker_finishes_the_digest_in_hand_and_leaves_the_rest_due(
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    digest_config_dir: Path,
    make_app: Callable[..., App],
) -> None:
    recorder, _ = smtp_server
    app = app_at_monday
    # SIGTERM arrives while the first digest is being sent.
    outcomes = app.send_due_digests(on_outcome=lambda _outcome: app.request_stop())
    assert [o.state for o in outcomes] == [DigestState.SENT]
    assert len(recorder.messages) == 1
    assert list(states(app).values()) == [DigestState.SENT]
    # After the restart the other partners get theirs, and nobody gets a second one.
    restarted = make_app(load_config(digest_config_dir))
    later = restarted.send_due_digests()
    assert len(later) == 2 and all(o.state is DigestState.SENT for o in later)
    assert {o.partner_id for o in [*outcomes, *later]} == {
        "landkreis-leipzig",
        "iq-netzwerk",
        "region",
    }
    assert len(recorder.messages) == 3


def test_a_schedule_moved_to_an_earlier_moment_sends_no_back_dated_digest(
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    digest_config_dir: Path,
    make_app: Callable[..., App],
) -> None:
    """The last digest covered 07:00; moved to 06:00, the schedule made a digest of that
    earlier moment due at once: a second mail and a log row dated before the first
    (found by a probe, session 21). The next moment is the next digest."""
    recorder, _ = smtp_server
    assert [o.state for o in app_at_monday.send_due_digests(partner_id="region")] == [
        DigestState.SENT
    ]
    edit(
        digest_config_dir / "partners.yaml",
        "    addresses: [info@metropolregion.example]\n",
        '    addresses: [info@metropolregion.example]\n    schedule: "0 6 * * mon"\n',
    )
    moved = make_app(load_config(digest_config_dir))
    assert moved.send_due_digests(partner_id="region") == []
    assert len(recorder.messages) == 1


def test_a_story_that_reaches_a_district_through_a_later_member_is_news_to_it(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int], clock: Clock
) -> None:
    """The agency reported a story one week; the next week the district's office
    republished it. The district's partner never received it: the story was first seen
    before that week (found by a probe, session 21)."""

    recorder, _ = smtp_server
    app = app_at_monday
    app.send_due_digests()
    clock.now = MONDAY + timedelta(days=1)
    title = "Strukturwandel: Förderbescheid für das Gewerbegebiet übergeben"
    url = add_news(app, "foerderbescheid", title, clock.now)
    clock.now = MONDAY + WEEK + timedelta(minutes=1)
    app.send_due_digests()
    week_two = {str(m["To"]): m.get_body(("plain",)).get_content() for m in recorder.parsed()[3:]}
    assert title in week_two["info@metropolregion.example"]
    assert title not in week_two.get("wirtschaft@landkreis-leipzig.example", "")

    clock.now = MONDAY + WEEK + timedelta(days=1)
    story_id = app.storage.find_item(url).story_id  # type: ignore[union-attr]
    teaser = "Der Landkreis meldet den Förderbescheid."
    add_news(
        app,
        "foerderbescheid-lk",
        title + " (Landkreis)",
        clock.now,
        teaser=teaser,
        district=DISTRICT,
        story=story_id,
    )

    sent = len(recorder.messages)
    clock.now = MONDAY + 2 * WEEK + timedelta(minutes=1)
    app.send_due_digests()
    week_three = {
        str(m["To"]): m.get_body(("plain",)).get_content() for m in recorder.parsed()[sent:]
    }
    assert title in week_three["wirtschaft@landkreis-leipzig.example"]
    # The region's partner had it the week before: not new to it again.
    assert title not in week_three.get("info@metropolregion.example", "")


def test_a_story_placed_after_its_slot_s_digest_went_out_is_in_the_next_one(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int], clock: Clock
) -> None:
    """A cycle stores each source's items as it goes and places them in stories at its
    end. An item stored a minute before the slot and placed after the digest went out was
    in neither that digest (no story yet) nor the next (first seen before its period):
    never mailed."""
    recorder, _ = smtp_server
    app = app_at_monday
    app.send_due_digests(partner_id="region")
    slot = MONDAY + WEEK
    clock.now = slot - timedelta(hours=2)
    add_news(app, "frueh", "Regionalforum tagt in Borna", clock.now)
    seen = slot - timedelta(minutes=1)
    late = add_news(app, "spaet", "Innovationspreis: Jury tagt", seen, placed=False)
    clock.now = slot + timedelta(minutes=1)
    assert [o.stories for o in app.send_due_digests(partner_id="region")] == [1]
    place(app, late, slot + timedelta(minutes=2))
    clock.now = slot + WEEK + timedelta(minutes=1)
    assert [o.stories for o in app.send_due_digests(partner_id="region")] == [1]
    first, second = (m.get_body(("plain",)).get_content() for m in recorder.parsed()[1:])
    assert "Regionalforum tagt in Borna" in first and "Innovationspreis" not in first
    assert "Innovationspreis: Jury tagt" in second and "Regionalforum" not in second
    # The period is still shown from the last digest's slot on.
    assert "Neu vom 9. August 2021 bis 16. August 2021" in second
    # The archive, which the mail links to, has the story where the mail has it.
    archive = app.config.output_dir / "digests"
    pages = [(archive / f"2021-08-{d}T0700.html").read_text("utf-8") for d in ("09", "16")]
    assert "Regionalforum tagt in Borna" in pages[0] and "Innovationspreis" not in pages[0]
    assert "Innovationspreis: Jury tagt" in pages[1] and "Regionalforum" not in pages[1]


def test_an_item_stored_just_after_an_on_time_digest_but_seen_before_is_not_lost(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int], clock: Clock
) -> None:
    """The worker sends at the slot itself; a source whose transaction, begun a moment
    before, commits after the digest read the store had its items seen before the slot."""
    recorder, _ = smtp_server
    app = app_at_monday
    app.send_due_digests(partner_id="region")
    slot = MONDAY + WEEK
    clock.now = slot
    assert [o.state for o in app.send_due_digests(partner_id="region")] == [DigestState.EMPTY]
    seen = slot - timedelta(seconds=2)
    url = add_news(app, "knapp", "Studie zu ländlichen Räumen", seen, placed=False)
    place(app, url, slot + timedelta(seconds=1))
    clock.now = slot + WEEK
    assert [o.stories for o in app.send_due_digests(partner_id="region")] == [1]
    text = recorder.parsed()[-1].get_body(("plain",)).get_content()
    assert "Studie zu ländlichen Räumen" in text


def test_a_midnight_digest_sent_on_time_shows_its_period_from_the_last_slot(
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    digest_config_dir: Path,
    make_app: Callable[..., App],
    clock: Clock,
) -> None:
    """A digest sent at its slot ends what it covers a few minutes before it; the next
    one still reads "Neu vom" the day of that slot, not the day before."""
    recorder, _ = smtp_server
    edit(
        digest_config_dir / "partners.yaml",
        "    addresses: [info@metropolregion.example]\n",
        '    addresses: [info@metropolregion.example]\n    schedule: "0 0 * * mon"\n',
    )
    app = make_app(load_config(digest_config_dir))
    midnight = datetime(2021, 8, 1, 22, 0, tzinfo=UTC)  # Monday 00:00 in Berlin
    clock.now = midnight
    app.send_due_digests(partner_id="region")
    clock.now = midnight + timedelta(days=3)
    add_news(app, "mitte", "Wasserstoff-Netzwerk gegründet", clock.now)
    clock.now = midnight + WEEK
    app.send_due_digests(partner_id="region")
    text = recorder.parsed()[-1].get_body(("plain",)).get_content()
    assert "Wasserstoff-Netzwerk gegründet" in text
    assert "Neu vom 2. August 2021 bis 9. August 2021" in text


def test_a_digest_sent_under_a_clock_days_ahead_is_followed_by_the_rest_of_its_week(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int], clock: Clock
) -> None:
    """The machine's clock ran five days ahead on a Wednesday: the next Monday's digest
    went out then. Corrected, the Monday came and its digest counted as sent: what was
    first seen from Wednesday to Monday went to no one (found by a probe, session 28).
    It now goes out on the Monday as a second issue of the period, with a Message-ID of
    its own, and nothing is sent twice."""
    recorder, _ = smtp_server
    app = app_at_monday
    app.send_due_digests(partner_id="region")
    slot = MONDAY + WEEK
    clock.now = slot - timedelta(days=5)
    add_news(app, "vorher", "Regionalforum tagt in Borna", clock.now)
    clock.now += timedelta(days=5, hours=3)  # the clock runs ahead
    assert [o.stories for o in app.send_due_digests(partner_id="region")] == [1]
    clock.now = slot - timedelta(days=4)  # corrected
    assert app.send_due_digests(partner_id="region") == []
    add_news(app, "danach", "Innovationspreis: Jury tagt", clock.now)
    clock.now = slot + timedelta(minutes=1)
    outcomes = app.send_due_digests(partner_id="region")
    assert [(o.period, o.state, o.stories) for o in outcomes] == [
        ("2021-08-09T0700.2", DigestState.SENT, 1)
    ]
    early, second = recorder.parsed()[1:]
    assert "Innovationspreis: Jury tagt" in second.get_body(("plain",)).get_content()
    assert "Regionalforum" not in second.get_body(("plain",)).get_content()
    assert early["Message-ID"] != second["Message-ID"]
    assert "digests/2021-08-09T0700.html" in second.get_body(("plain",)).get_content()
    assert app.send_due_digests(partner_id="region") == []
    # Once the time the early digest was recorded at has passed, nothing changes.
    clock.now = slot + timedelta(days=5)
    assert app.send_due_digests(partner_id="region") == []
    clock.now = slot + WEEK + timedelta(minutes=1)
    assert [o.state for o in app.send_due_digests(partner_id="region")] == [DigestState.EMPTY]
    assert len(recorder.messages) == 3


def _sent_ahead(app: App, clock: Clock, sent_at: timedelta) -> datetime:
    """Week two's digest of "region" goes out under a clock five days ahead (at the
    clock's slot plus ``sent_at``); the clock is then corrected, a cycle runs, and a story
    comes in before the real slot. Returns the slot."""
    app.send_due_digests(partner_id="region")
    slot = MONDAY + WEEK
    clock.now = slot - timedelta(days=5, hours=1)
    add_news(app, "vorher", "Regionalforum tagt in Borna", clock.now)
    clock.now = slot + sent_at
    assert [o.stories for o in app.send_due_digests(partner_id="region")] == [1]
    clock.now = slot - timedelta(days=4)
    app.run_cycle()
    add_news(app, "danach", "Innovationspreis: Jury tagt", clock.now)
    return slot


def test_a_digest_sent_at_its_slot_under_a_clock_ahead_gets_its_second_issue(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int], clock: Clock
) -> None:
    """The worker sends at the slot of its clock, seconds after it: only the cycles run
    after the clock was corrected can tell that it was early."""
    recorder, _ = smtp_server
    app = app_at_monday
    slot = _sent_ahead(app, clock, timedelta(seconds=30))
    clock.now = slot + timedelta(seconds=30)
    assert [(o.period, o.stories) for o in app.send_due_digests(partner_id="region")] == [
        ("2021-08-09T0700.2", 1)
    ]
    assert "Innovationspreis" in recorder.parsed()[-1].get_body(("plain",)).get_content()


def test_a_second_issue_refused_for_now_is_retried_and_shown_in_status(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int], clock: Clock
) -> None:
    recorder, _ = smtp_server
    app = app_at_monday
    slot = _sent_ahead(app, clock, timedelta(hours=3))
    clock.now = slot + timedelta(minutes=1)
    recorder.data_replies = ["451 4.3.0 mailbox busy, try later"] * 20
    assert [o.state for o in app.send_due_digests(partner_id="region")] == [DigestState.RETRY]
    status = {s.partner.id: s for s in app.digest_overview()}["region"]
    assert status.last is not None
    assert (status.last.period, status.last.state) == ("2021-08-09T0700.2", DigestState.RETRY)
    recorder.data_replies = []
    clock.now = slot + timedelta(hours=4)  # after the time the early issue was recorded at
    assert [(o.period, o.state) for o in app.send_due_digests(partner_id="region")] == [
        ("2021-08-09T0700.2", DigestState.SENT)
    ]
    assert "Innovationspreis" in recorder.parsed()[-1].get_body(("plain",)).get_content()


def test_a_clock_stepped_back_minutes_after_a_digest_sends_no_second_issue(
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    digest_config_dir: Path,
    make_app: Callable[..., App],
    clock: Clock,
) -> None:
    """Sent 20 minutes after its slot, then NTP steps the clock back 12 minutes: still
    after the slot, so nothing was early (with `send_empty`, a second issue would be an
    empty mail)."""
    recorder, _ = smtp_server
    edit(digest_config_dir / "settings.yaml", "digest:\n", "digest:\n  send_empty: true\n")
    app = make_app(load_config(digest_config_dir))
    app.send_due_digests(partner_id="region")
    slot = MONDAY + WEEK
    clock.now = slot + timedelta(minutes=20)
    assert len(app.send_due_digests(partner_id="region")) == 1
    clock.now = slot + timedelta(minutes=8)
    assert app.send_due_digests(partner_id="region") == []
    assert len(recorder.messages) == 2


def test_a_schedule_moved_earlier_after_a_digest_held_back_by_a_cycle_sends_nothing_more(
    app_at_monday: App,
    smtp_server: tuple[SmtpRecorder, int],
    digest_config_dir: Path,
    make_app: Callable[..., App],
    clock: Clock,
) -> None:
    """A digest that ended its coverage before an item still waiting for its story still
    covers its slot: moving the schedule earlier that morning sends no second digest."""
    recorder, _ = smtp_server
    app = app_at_monday
    app.send_due_digests(partner_id="region")
    slot = MONDAY + WEEK
    seen = slot - timedelta(hours=2)
    late = add_news(app, "spaet", "Innovationspreis: Jury tagt", seen, placed=False)
    clock.now = slot + timedelta(minutes=1)
    app.send_due_digests(partner_id="region")
    place(app, late, slot + timedelta(minutes=2))
    edit(
        digest_config_dir / "partners.yaml",
        "    addresses: [info@metropolregion.example]\n",
        '    addresses: [info@metropolregion.example]\n    schedule: "0 6 * * mon"\n',
    )
    moved = make_app(load_config(digest_config_dir))
    clock.now = slot + timedelta(hours=2)
    assert moved.send_due_digests(partner_id="region") == []
    clock.now = slot + WEEK - timedelta(hours=1) + timedelta(minutes=1)
    assert [o.stories for o in moved.send_due_digests(partner_id="region")] == [1]
    assert "Innovationspreis" in recorder.parsed()[-1].get_body(("plain",)).get_content()


def test_the_archive_page_shows_its_own_period_whichever_partner_writes_it(
    app_at_monday: App, smtp_server: tuple[SmtpRecorder, int], clock: Clock
) -> None:
    """Written by a partner whose digest caught up two weeks, the page of the last week
    said "Neu vom" the start of the partner's period, not of the page's."""
    recorder, _ = smtp_server
    app = app_at_monday
    clock.now = MONDAY + timedelta(minutes=1)
    app.send_due_digests()
    clock.now = MONDAY + timedelta(days=3)
    add_news(app, "w1", "Fachkräftetag in Halle", clock.now, district=DISTRICT)
    clock.now = MONDAY + WEEK + timedelta(minutes=1)
    recorder.rcpt_replies = {"wirtschaft@landkreis-leipzig.example": "550 no such user"}
    app.send_due_digests()
    recorder.rcpt_replies = {}
    clock.now = MONDAY + WEEK + timedelta(days=3)
    add_news(app, "w2", "Gewerbegebiet Borna erweitert", clock.now, district=DISTRICT)
    clock.now = MONDAY + 2 * WEEK + timedelta(minutes=1)
    app.send_due_digests()
    page = (app.config.output_dir / "digests" / "2021-08-16T0700.html").read_text("utf-8")
    assert "Gewerbegebiet Borna" in page and "Fachkräftetag" not in page
    assert "Neu vom 9. August 2021 bis 16. August 2021" in page
