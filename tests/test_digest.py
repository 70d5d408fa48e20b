"""The digest's selection and content: which stories, grouped how, rendered how."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from revier_feed.app import App
from revier_feed.config import load_config
from revier_feed.digest import german_date, mail_domain, render, shorten
from revier_feed.digest.select import clean, is_backlog
from revier_feed.models import (
    Attachment,
    DigestState,
    ItemDecision,
    SourceState,
    StoredItem,
    Story,
    StoryPlacement,
)
from tests.conftest import Clock, make_item

BERLIN = __import__("zoneinfo").ZoneInfo("Europe/Berlin")
#: Friday before the Monday 2 August 2021 digest (07:00 Berlin = 05:00 UTC).
COLLECTED = datetime(2021, 7, 30, 9, 0, tzinfo=UTC)
MONDAY = datetime(2021, 8, 2, 5, 0, tzinfo=UTC)


@pytest.fixture
def collected(digest_config_dir: Path, clock: Clock, make_app: Callable[..., App]) -> App:
    """The sample region collected on Friday; the clock then stands on Monday 08:00."""
    clock.now = COLLECTED
    app = make_app(load_config(digest_config_dir))
    app.run_cycle()
    clock.now = MONDAY + timedelta(hours=1)
    return app


def test_german_dates_and_word_boundary_teasers() -> None:
    assert german_date(datetime(2021, 6, 10, 8, tzinfo=UTC), BERLIN) == "10. Juni 2021"
    # 23:30 UTC on 31 December is already New Year in Berlin.
    assert german_date(datetime(2021, 12, 31, 23, 30, tzinfo=UTC), BERLIN) == "1. Januar 2022"
    text = "Zwei Studien untersuchen Kooperations- und Innovationsorte im ländlichen Raum"
    short = shorten(text, 40)
    assert short == "Zwei Studien untersuchen Kooperations…"
    assert len(short) <= 40
    assert shorten("kurz", 40) == "kurz"
    assert clean("Titel\r\nBcc: x@evil.example\x00") == "Titel Bcc: x@evil.example"


def test_each_partner_gets_the_stories_of_its_filter_once(collected: App) -> None:
    app = collected
    issues = {p.id: app.preview_digest(p.id)[0] for p in app.partners()}
    everything = issues["region"].entries
    # The sample region: 36 items in 29 stories, all first seen on Friday.
    assert len(everything) == 29
    assert len({e.story_id for e in everything}) == 29
    iq = issues["iq-netzwerk"]
    assert iq.entries and all(
        "nnovationspreis" in e.title + e.teaser + e.source for e in iq.entries
    )
    assert next(label for label, _ in iq.groups) == "Innovationspreis"
    leipzig = issues["landkreis-leipzig"].entries
    assert 0 < len(leipzig) < len(everything)
    # Grouped by topic, newest first within each group, and a story appears once overall.
    for _, entries in issues["region"].groups:
        dates = [e.published_at for e in entries]
        assert dates == sorted(dates, reverse=True)


def test_republished_story_names_the_other_sources(collected: App) -> None:
    issue, message = collected.preview_digest("region")
    merged = [e for e in issue.entries if e.also]
    assert len(merged) == 4  # the four agency stories republished by partners
    text = message.get_body(("plain",)).get_content()
    assert "Auch berichtet von: " in text
    html = message.get_body(("html",)).get_content()
    assert "Auch berichtet von: " in html


def test_message_structure_headers_and_umlauts(collected: App) -> None:
    _, message = collected.preview_digest("iq-netzwerk")
    raw = message.as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in parsed.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parsed.iter_parts())
    subject = parsed["Subject"]
    assert subject.startswith("Revier-News KW 31/2021: ") and subject.endswith("Meldungen")
    assert parsed["Message-ID"] == "<digest.2021-08-02T0700.iq-netzwerk@news.example>"
    assert parsed["List-Id"] == "Revier-News <digest.news.example>"
    assert (
        "<mailto:abmelden@news.example?subject=Abbestellen%20iq-netzwerk>"
        in parsed["List-Unsubscribe"]
    )
    assert "<https://news.example/abmelden?partner=iq-netzwerk>" in parsed["List-Unsubscribe"]
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Date"].datetime == MONDAY + timedelta(hours=1)
    assert parsed["To"].addresses[1].addr_spec == "presse@iq.example"
    text = parsed.get_body(("plain",)).get_content()
    assert "für IQ Innovationspreis – Netzwerk" in text
    assert "Neu vom 26. Juli 2021 bis 2. August 2021" in text
    html = parsed.get_body(("html",)).get_content()
    # Inline CSS and table layout, no script and nothing loaded from elsewhere.
    assert 'role="presentation"' in html and 'style="' in html
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "<link" not in html.lower()


def test_list_and_address_headers_stay_readable_for_mail_services(
    digest_config_dir: Path, make_app: Callable[..., App], clock: Clock
) -> None:
    """Found by a probe of the sent mails:
    - a List-Unsubscribe target longer than a line was folded into RFC 2047 words, which
      Gmail, Yahoo and Outlook do not decode there (no one-click unsubscribe);
    - a site address with umlauts stopped every digest (Message-ID and List-Id are ASCII);
    - a sender named "Stadt Zwenkau, Wirtschaftsförderung" stopped every digest, and a
      colon made the name a group;
    - a Reply-To domain with umlauts went out as an RFC 2047 word (replies bounced)."""
    settings = digest_config_dir / "settings.yaml"
    text = settings.read_text("utf-8")
    text = text.replace("https://news.example/\n", "https://revier-news.müller.example/\n", 1)
    text = text.replace(
        '"https://news.example/abmelden?partner={partner}"',
        '"https://www.metropolregion-mitteldeutschland.example/revier-news/abmelden?partner='
        '{partner}"',
    )
    text = text.replace(
        'sender: "Revier-News <digest@news.example>"',
        'sender: "Stadt Zwenkau, Wirtschaftsförderung: Revier-News <digest@news.example>"\n'
        '  reply_to: "Redaktion <redaktion@müller.example>"',
    )
    settings.write_text(text, "utf-8")
    clock.now = MONDAY
    app = make_app(load_config(digest_config_dir))
    _, message = app.preview_digest("landkreis-leipzig")
    raw = message.as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    unsubscribe = head[head.index("List-Unsubscribe:") :].split("\r\nList-Unsub")[0]
    assert unsubscribe.split("\r\n")[:2] == [
        "List-Unsubscribe: <mailto:abmelden@news.example?subject=Abbestellen%20"
        "landkreis-leipzig>,",
        " <https://www.metropolregion-mitteldeutschland.example/revier-news/abmelden?partner="
        "landkreis-leipzig>",
    ]
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    domain = "revier-news.xn--mller-kva.example"
    # Folded (it is longer than a line), it is read back with the fold's blank. Nothing was
    # collected, so Monday's digest would go out empty (not at all): the preview is the next.
    assert parsed["Message-ID"].strip() == f"<digest.2021-08-09T0700.landkreis-leipzig@{domain}>"
    assert parsed["List-Id"] == f"Revier-News <digest.{domain}>"
    (sender,) = parsed["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (
        "Stadt Zwenkau, Wirtschaftsförderung: Revier-News",
        "digest@news.example",
    )
    (reply,) = parsed["Reply-To"].addresses
    assert reply.addr_spec == "redaktion@xn--mller-kva.example"


def test_a_long_link_in_a_teaser_stays_whole_in_the_text_part() -> None:
    """Cut at the line's end, a mail client linked the first half only (a 404)."""
    url = (
        "https://www.landkreisleipzig.example/pressemeldungen/2021/"
        "foerderprogramm-strukturwandel-unternehmen-anmeldung.html"
    )
    wrapped = render._wrap(f"Anmeldung und Programm unter {url} bis zum 18. Mai.")
    assert f"\n  {url}\n" in wrapped or wrapped.endswith(url)
    assert all(len(line) <= 72 for line in wrapped.split("\n") if url not in line)


def test_a_subject_with_umlauts_is_rfc2047_encoded(
    digest_config_dir: Path, make_app: Callable[..., App], clock: Clock
) -> None:
    settings = digest_config_dir / "settings.yaml"
    settings.write_text(
        settings.read_text("utf-8").replace(
            "digest:\n", 'digest:\n  subject: "Wochenüberblick für {partner}: {meldungen}"\n'
        ),
        "utf-8",
    )
    clock.now = MONDAY
    app = make_app(load_config(digest_config_dir))
    _, message = app.preview_digest("landkreis-leipzig")
    raw = message.as_bytes()
    header = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    subject_line = next(line for line in header.split("\r\n") if line.startswith("Subject:"))
    assert "=?utf-8?" in subject_line.lower()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == (
        "Wochenüberblick für Landkreis Leipzig – Wirtschaftsförderung: keine neuen Meldungen"
    )


@pytest.mark.parametrize(
    "title",
    [
        "Harmlos\r\nBcc: victim@evil.example",
        "Harmlos\nSubject: gefälscht",
        "Harmlos\x0bX-Injected: 1\x00",
        "Harmlos\u2028Bcc: a@b.example",
    ],
)
def test_hostile_item_titles_never_become_headers(
    title: str, tmp_path: Path, make_app: Callable[..., App], clock: Clock, smtp_server: Any
) -> None:
    from tests.conftest import digest_settings, write_config

    feed = tmp_path / "feed.xml"
    feed.write_text("", "utf-8")
    folder = write_config(
        tmp_path / "config",
        sources="sources:\n  - id: kreis\n    name: Kreis\n    url: http://127.0.0.1:9/feed\n",
        settings="storage:\n  path: state/s.sqlite3\noutput:\n  dir: out\n"
        + digest_settings(smtp_server[1]),
        partners="partners:\n  - id: p\n    name: P\n    addresses: [p@example.org]\n",
    )
    app = make_app(load_config(folder))
    clock.now = MONDAY - timedelta(days=1)
    item = make_item(title=title, summary_text=title, url="https://kreis.example/1")
    app.storage.save_source_result(
        SourceState(source_id="kreis"), [(item, ItemDecision.NEW)], clock.now
    )
    place(app, "https://kreis.example/1", clock.now)
    clock.now = MONDAY
    issue, message = app.preview_digest("p")
    assert len(issue.entries) == 1
    raw = message.as_bytes()
    head, _, _ = raw.partition(b"\r\n\r\n")
    names = [line.split(b":")[0] for line in head.split(b"\r\n") if line[:1] not in (b" ", b"\t")]
    assert b"Bcc" not in names and b"X-Injected" not in names
    assert names.count(b"Subject") == 1
    text = message.get_body(("plain",)).get_content()
    assert "\nBcc:" not in text and "\nSubject:" not in text and "\x00" not in text


def test_empty_digest_is_skipped_unless_configured(
    digest_config_dir: Path, make_app: Callable[..., App], clock: Clock, smtp_server: Any
) -> None:
    recorder, _ = smtp_server
    clock.now = MONDAY
    app = make_app(load_config(digest_config_dir))
    outcomes = app.send_due_digests()
    assert {o.state for o in outcomes} == {DigestState.EMPTY}
    assert recorder.messages == []
    settings = digest_config_dir / "settings.yaml"
    settings.write_text(
        settings.read_text("utf-8").replace("digest:\n", "digest:\n  send_empty: true\n"), "utf-8"
    )
    clock.now = MONDAY + timedelta(days=7)
    app = make_app(load_config(digest_config_dir))
    app.send_due_digests()
    subjects = [m["Subject"] for m in recorder.parsed()]
    assert subjects == ["Revier-News KW 32/2021: keine neuen Meldungen"] * 3
    assert (
        "keine neuen Meldungen zu Ihren Themen"
        in recorder.parsed()[0].get_body(("plain",)).get_content()
    )


def place(app: App, url: str, now: datetime, story: int | None = None) -> None:
    """Put a stored item into a story of its own, or join it to ``story`` (what the stories
    step does)."""
    stored = app.storage.find_item(url)
    assert stored is not None
    with app.storage.story_index() as index:
        new = story is None
        story_id = index.next_story_id() if story is None else story
        placed = StoryPlacement(stored.id, story_id, new, None if new else 0.9, b"", "", b"")
        index.place([placed], now)


def add_news(
    app: App,
    key: str,
    title: str,
    now: datetime,
    *,
    teaser: str = "",
    district: str | None = None,
    story: int | None = None,
    placed: bool = True,
) -> str:
    """Store one new item of the agency (or of ``district``'s press office, set in that
    district) as a story of its own (or a member of ``story``), first seen at ``now``;
    ``placed=False``: in no story yet, as a cycle leaves its items until it has collected
    every source."""
    source = district or "metropolregion"
    url = f"https://www.{source}.example/news/{key}"
    item = make_item(
        source_id=source,
        key=key,
        url=url,
        title=title,
        summary_text=teaser or f"{title}: Bericht aus der Region.",
        published_at=now - timedelta(days=400),  # back-dated: still news when first seen
        fingerprint=f"1:{key}:{title}:{teaser}",
        districts=frozenset({district} if district else ()),
    )
    app.storage.save_source_result(SourceState(source_id=source), [(item, ItemDecision.NEW)], now)
    if placed:
        place(app, url, now, story)
    return url


def test_digest_settings_and_partner_schedules_are_checked_with_file_and_line(
    tmp_path: Path,
) -> None:
    from revier_feed.exceptions import ConfigError
    from tests.conftest import write_config

    folder = write_config(
        tmp_path / "config",
        sources="sources:\n  - id: kreis\n    name: Kreis\n    url: https://kreis.example/f\n",
        settings="""
            digest:
              subject: "KW {woche}"
            smtp:
              password_env: "geheim 123"
        """,
        partners="""
            partners:
              - id: kreis
                name: Kreis
                addresses: [a@kreis.example]
                schedule: "0 25 * * mon"
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_config(folder)
    problems = {(Path(i.file).name, i.line, i.key): i.message for i in caught.value.issues}
    assert problems[("settings.yaml", 3, "digest.subject")].startswith("only {title")
    assert "environment variable" in problems[("settings.yaml", 5, "smtp.password_env")]
    assert "hour: '25'" in problems[("partners.yaml", 6, "partners[0].schedule")]


def test_the_fast_flattening_sends_what_the_email_package_would(collected: App) -> None:
    from revier_feed.digest import as_bytes

    _, message = collected.preview_digest("iq-netzwerk")
    ours = as_bytes(message)  # sets the boundary, which the package then reuses
    assert ours == message.as_bytes()
    assert b"\r\n" in ours and b"\n" not in ours.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(ours, policy=email.policy.default)
    for kind in ("plain", "html"):
        # the parser keeps the wire's CRLF in the decoded text
        received = parsed.get_body((kind,)).get_content().replace("\r\n", "\n")
        assert received == message.get_body((kind,)).get_content()
    assert "für IQ Innovationspreis – Netzwerk" in parsed.get_body(("plain",)).get_content()
    # quoted-printable lines stay within RFC 2045's 76 characters
    body = ours.split(b"quoted-printable\r\n\r\n", 1)[1].split(b"\r\n--", 1)[0]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76


def test_the_archive_index_escapes_the_site_title() -> None:
    from revier_feed.digest import Renderer

    renderer = Renderer(
        template_dir=None,
        tz=BERLIN,
        site_title='Revier <script>alert("x")</script> & Co',
        public_base_url="https://news.example/",
        subject="{title}",
    )
    html = renderer.render_archive_index(["2021-08-02T0700"])
    assert "<script" not in html
    assert "Revier &lt;script&gt;" in html and "&amp; Co" in html
    assert 'href="2021-08-02T0700.html"' in html
    assert "Noch keine Ausgaben" in renderer.render_archive_index([])


def test_wrapped_teasers_are_kept_for_one_digest_run_only() -> None:
    """The wrapped teasers were cached for the whole process: a worker kept every teaser of
    months of digests, about 2,000 more a month (found by a soak probe, session 32). Each
    digest run has a renderer of its own, and the cache is the renderer's."""
    from revier_feed.digest import Renderer

    def renderer() -> Renderer:
        return Renderer(
            template_dir=None,
            tz=BERLIN,
            site_title="Revier",
            public_base_url="https://news.example/",
            subject="{title}",
        )

    this_week, next_week = renderer(), renderer()
    wrap = this_week._env.filters["wrap"]
    teaser = "Die Metropolregion stellt zwei Studien zu ländlichen Räumen vor. " * 3
    assert wrap(teaser) == wrap(teaser) == render._wrap(teaser)
    assert wrap.cache_info().hits == 1  # the second partner's digest of the run
    assert next_week._env.filters["wrap"].cache_info().currsize == 0


def test_a_copy_of_an_archived_item_is_archive_and_a_follow_up_is_news() -> None:
    """A copy of a new source's archived item under another key made its story news; a
    follow-up of that source joining the story is news."""
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    title = "Brücke an der B2 gesperrt"
    archived = StoredItem(1, make_item(key="a", title=title, backlog=True), t0, t0)
    copy = StoredItem(2, make_item(key="a?L=0", title=title), t0, t0)
    later = t0 + timedelta(days=9)
    follow_up = StoredItem(
        3, make_item(key="b", title="Brücke an der B2: Sperrung bis März"), later, later
    )
    other = StoredItem(4, make_item(source_id="partner", key="p", title=title), later, later)
    assert is_backlog(Story(1, (archived, copy)))
    assert not is_backlog(Story(1, (archived, copy, follow_up)))
    assert not is_backlog(Story(1, (archived, other)))
    # News seen before its archived twin stays news: a source whose URL changed stored
    # the new URL's copy of this week's news as archive, and the news was never sent
    # (found by a probe, session 21).
    news = StoredItem(5, make_item(key="x", title=title), t0, t0)
    twin = StoredItem(6, make_item(key="https-x", title=title, backlog=True), later, later)
    assert not is_backlog(Story(1, (news, twin)))


def test_a_sent_story_led_by_another_source_now_is_not_listed_as_updated() -> None:
    """A partner of higher priority reporting a story sent last week, or a new source's
    archive copy of it, made it lead with its own headline: the story came again under
    "Aktualisiert" although nothing the partner read had changed (found by a probe,
    session 21). What was sent and is no more is an update."""
    from revier_feed.digest.select import Candidate, build_issue, text_hash
    from revier_feed.models import DigestEntry, DigestPeriod

    sent_text = text_hash("Einigung zum Tagebau", "Die Agentur meldet die Einigung.")
    now_lead = text_hash("IHK begrüßt Einigung", "Die IHK begrüßt die Einigung.")
    entry = DigestEntry(
        story_id=7,
        title="IHK begrüßt Einigung",
        url="https://ihk.example/1",
        source="IHK",
        published_at=MONDAY,
        teaser="Die IHK begrüßt die Einigung.",
        also=(("Agentur", "https://agentur.example/1"),),
        text_hash=now_lead,
    )
    period = DigestPeriod(
        "2021-08-09T0700", MONDAY + timedelta(days=7), MONDAY, MONDAY + timedelta(days=7)
    )

    def issue(texts: frozenset[str]) -> list[str]:
        candidate = Candidate(
            story_id=7,
            first_seen=MONDAY - timedelta(days=3),
            changed_at=MONDAY + timedelta(days=2),
            backlog=False,
            tags=frozenset(),
            districts=frozenset(),
            sources=frozenset({"agentur", "ihk"}),
            entry=entry,
            texts=texts,
        )
        built = build_issue(
            None, period, [candidate], {7: (sent_text, False)}, groups=(), group_by="topic"
        )
        return [label for label, _ in built.groups]

    assert issue(frozenset({sent_text, now_lead})) == []  # the agency's text is still there
    assert issue(frozenset({now_lead})) == ["Aktualisiert"]  # it changed (or left)


def test_quotation_marks_and_dashes_are_no_change_of_text_but_a_question_mark_is() -> None:
    """Adding „…“ to a sent title listed the story again under "Aktualisiert" (found by a
    probe, session 21); stories sent before keep their recorded hashes valid."""
    from revier_feed.digest.select import _legacy_text_hash, _listed_hashes, text_hash

    teaser = "Die Stadt Naunhof hat ihr neues Rathaus eingeweiht."
    assert text_hash("Naunhof: „Neues Rathaus“ eingeweiht", teaser) == text_hash(
        "Naunhof: Neues Rathaus eingeweiht", teaser
    )
    assert text_hash("Rathaus – eingeweiht", teaser) == text_hash("Rathaus - eingeweiht", teaser)
    assert text_hash("Tagebau wird geschlossen.", "") != text_hash("Tagebau wird geschlossen?", "")
    item = make_item(title="Naunhof: Neues Rathaus eingeweiht", summary_text=teaser)
    recorded_before = _legacy_text_hash("Naunhof: Neues Rathaus eingeweiht", teaser)
    assert recorded_before in _listed_hashes(item, 300)


def test_a_new_sources_archive_never_makes_an_old_story_new_to_a_partner() -> None:
    """A story becomes a partner's news when a member that is news brings the partner's
    district; an archived copy of it from a source just added counts from the story's
    first news on, so the district's partner is not sent last month's story as new."""
    from revier_feed.digest.select import prepare
    from revier_feed.models import StoryFilter

    week_one, week_two = MONDAY - timedelta(days=5), MONDAY + timedelta(days=2)

    def member(
        n: int, source: str, seen: datetime, *, district: str = "", backlog: bool = False
    ) -> StoredItem:
        item = make_item(
            source_id=source,
            key=f"k{n}",
            title="Förderbescheid übergeben",
            districts=frozenset({district} if district else ()),
            backlog=backlog,
        )
        return StoredItem(n, item, seen, seen, story_id=1)

    agency = member(1, "metropolregion", week_one)
    rule = StoryFilter(districts=frozenset({"landkreis-leipzig"}))

    def news_to(*later: StoredItem) -> datetime:
        story = Story(1, (agency, *later))
        (candidate,) = prepare([story], source_names={}, priorities={}, teaser_length=300)
        return candidate.news_to(rule)

    office = member(2, "landkreis-leipzig", week_two, district="landkreis-leipzig")
    assert news_to(office) == week_two
    archive = member(2, "landkreis-leipzig", week_two, district="landkreis-leipzig", backlog=True)
    assert news_to(archive) == week_one


def test_a_site_host_with_an_sz_keeps_it_in_message_ids() -> None:
    """IDNA 2003 (Python's "idna" codec) made "straße" "strasse", another host; the
    fetcher, redirects and pages write IDNA 2008, as the digest now does."""
    assert mail_domain("https://www.straße.example/") == "www.xn--strae-oqa.example"
    assert mail_domain("http://[::1]:8000/") == "[::1]"


def test_a_story_s_files_are_listed_in_both_parts_of_the_digest(
    digest_config_dir: Path, make_app: Callable[..., App], clock: Clock
) -> None:
    """A partner reading the digest got a press release without its PDF. Its files are
    listed under it, with name, kind and size; only web links, each on a line of its own
    in the text part."""
    clock.now = COLLECTED
    app = make_app(load_config(digest_config_dir))
    url = "https://www.metropolregion.example/news/studien"
    files = (
        Attachment(
            "https://www.metropolregion.example/dokumente/Studie%20l%C3%A4ndliche%20R%C3%A4ume.pdf",
            "application/pdf",
            1_843_200,
        ),
        Attachment("https://www.metropolregion.example/audio/folge-3.mp3", "audio/mpeg", None),
    )
    item = make_item(
        source_id="metropolregion",
        key="studien",
        url=url,
        title="Zwei Studien zu ländlichen Räumen vorgestellt",
        summary_text="Die Studien untersuchen Kooperationsorte.",
        published_at=COLLECTED - timedelta(hours=2),
        attachments=files,
    )
    app.storage.save_source_result(
        SourceState(source_id="metropolregion"), [(item, ItemDecision.NEW)], COLLECTED
    )
    place(app, url, COLLECTED)
    clock.now = MONDAY + timedelta(hours=1)
    issue, message = app.preview_digest("region")
    (entry,) = [e for e in issue.entries if e.url == url]
    assert entry.files == (
        ("Studie ländliche Räume.pdf (PDF, 1,8 MB)", files[0].url),
        ("folge-3.mp3 (MP3)", files[1].url),
    )
    text = message.get_body(("plain",)).get_content()
    assert (
        "  Anhang: Studie ländliche Räume.pdf (PDF, 1,8 MB)\n"
        f"  {files[0].url}\n"
        "  Anhang: folge-3.mp3 (MP3)\n"
        f"  {files[1].url}\n"
    ) in text
    html = message.get_body(("html",)).get_content()
    assert f'<a href="{files[0].url}"' in html and "Anhänge: " in html
