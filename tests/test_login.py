"""Sources behind a login: HTTP Basic or a bearer token from environment variables, sent to
the source's own origin only, against a real server on 127.0.0.1 that asks for it."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from revier_feed.app import App
from revier_feed.cli import main
from revier_feed.config import AppConfig, load_config
from revier_feed.demo.server import Response, SampleRegion
from revier_feed.exceptions import ConfigError
from revier_feed.models import ReportStatus, SourceReport, SourceStatus
from revier_feed.scheduler import Worker

from .conftest import Clock, write_config

MakeApp = Callable[[AppConfig], App]
FEED = "/landkreis-leipzig/presse/rss.xml"
USER, PASSWORD, TOKEN = "presse", "Geheim-Wort:42 ä", "tok-3f9a7c1e"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


class Guard:
    """Routes of ``region`` that answer only with the right ``Authorization`` (else 401 with
    ``challenge``), and the header each request came with, by path."""

    def __init__(self, region: SampleRegion, expected: str, challenge: str = 'Basic realm="P"'):
        self.region = region
        self.expected = expected
        self.challenge = challenge
        self.seen: list[tuple[str, str | None]] = []

    def protect(self, path: str, body: bytes | None = None, content_type: str = "") -> None:
        def route(handler: BaseHTTPRequestHandler) -> Response:
            sent = handler.headers.get("Authorization")
            self.seen.append((path, sent))
            if sent != self.expected:
                return Response(401, b"<h1>Anmeldung</h1>", {"WWW-Authenticate": self.challenge})
            data = body if body is not None else self.region.read_site_file(path)
            assert data is not None
            return Response(200, data, {"Content-Type": content_type or "application/rss+xml"})

        self.region.add_route(path, route)

    def record(self, path: str, response: Response) -> None:
        """Answer ``path`` with ``response`` to anyone, noting what was sent."""

        def route(handler: BaseHTTPRequestHandler) -> Response:
            self.seen.append((path, handler.headers.get("Authorization")))
            return response

        self.region.add_route(path, route)


def config(tmp_path: Path, sources: str, settings: str = "") -> AppConfig:
    return load_config(write_config(tmp_path / "config", "sources:\n" + sources, settings))


def source(url: str, auth: str, source_id: str = "intern") -> str:
    return f"""
  - id: {source_id}
    name: Pressebereich
    url: "{url}"
{auth}"""


BASIC_AUTH = """    auth:
      username_env: KAMMER_USER
      password_env: KAMMER_PASSWORD"""


@pytest.fixture
def login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAMMER_USER", USER)
    monkeypatch.setenv("KAMMER_PASSWORD", PASSWORD)
    monkeypatch.setenv("KAMMER_TOKEN", TOKEN)


def report_of(app: App, source_id: str) -> SourceReport:
    return next(r for r in app.run_cycle().summary.reports if r.source_id == source_id)


def test_a_feed_behind_a_basic_login_is_read_with_the_login_from_the_environment(
    tmp_path: Path, region: SampleRegion, make_app: MakeApp, login: None, clock: Clock
) -> None:
    """And only the source that has the login gets in: the same feed without one fails
    alone, saying the site asks for a login; robots.txt is asked without it."""
    guard = Guard(region, BASIC)
    guard.protect(FEED)
    guard.record("/robots.txt", Response(200, b"User-agent: *\nAllow: /\n"))
    # (Another address of the same feed: `check` refuses one address read twice.)
    sources = source(region.url(FEED), BASIC_AUTH) + source(region.url(FEED + "?o"), "", "offen")
    app = make_app(config(tmp_path, sources))
    reports = {r.source_id: r for r in app.run_cycle().summary.reports}
    assert reports["intern"].status is ReportStatus.OK and reports["intern"].new == 6
    error = reports["offen"].error
    assert error is not None and error.kind == "http_4xx"
    assert "HTTP 401 Unauthorized: the site asks for a login" in error.message
    assert "auth block" in error.message
    assert ("/robots.txt", None) in guard.seen
    assert {sent for path, sent in guard.seen if path == FEED} == {BASIC, None}
    # Every later cycle sends it again.
    clock.advance(timedelta(hours=3))
    assert report_of(app, "intern").status is ReportStatus.OK
    assert [sent for path, sent in guard.seen if path == FEED].count(BASIC) == 2
    assert app.storage.source_states(["intern"])["intern"].error_count == 0


def test_a_bearer_token_is_sent_as_such(
    tmp_path: Path, region: SampleRegion, make_app: MakeApp, login: None
) -> None:
    guard = Guard(region, f"Bearer {TOKEN}", challenge='Bearer realm="api"')
    guard.protect(FEED)
    auth = "    auth:\n      token_env: KAMMER_TOKEN"
    app = make_app(config(tmp_path, source(region.url(FEED), auth)))
    report = report_of(app, "intern")
    assert report.status is ReportStatus.OK and report.new == 6


def test_a_refused_login_and_a_login_of_another_kind_are_told_apart(
    tmp_path: Path, region: SampleRegion, make_app: MakeApp, login: None
) -> None:
    guard = Guard(region, "Basic " + base64.b64encode(b"presse:anders").decode())
    guard.protect(FEED)
    app = make_app(config(tmp_path, source(region.url(FEED), BASIC_AUTH)))
    error = report_of(app, "intern").error
    assert error is not None and error.kind == "http_4xx"
    assert "the site refused the source's login (check the values of its auth" in error.message
    # IIS offers several kinds in one header: Basic among them, the login was refused.
    guard.challenge = 'Negotiate, NTLM, Basic realm="P"'
    app = make_app(config(tmp_path / "2", source(region.url(FEED), BASIC_AUTH)))
    error = report_of(app, "intern").error
    assert error is not None and "refused the source's login" in error.message
    # A 403 to a login sent says so, not that the site blocks crawlers.
    guard.challenge = ""
    region.add_route(FEED, Response(403, b"verboten"))
    app = make_app(config(tmp_path / "4", source(region.url(FEED), BASIC_AUTH)))
    error = report_of(app, "intern").error
    assert error is not None and "access denied to the source's login" in error.message
    guard.protect(FEED)
    guard.challenge = 'Digest realm="P", nonce="abc", qop="auth"'
    app = make_app(config(tmp_path / "3", source(region.url(FEED), BASIC_AUTH)))
    error = report_of(app, "intern").error
    assert error is not None
    assert "a login of a kind revier-feed does not send (digest; only Basic" in error.message


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("KAMMER_PASSWORD", None, "is not set"),
        ("KAMMER_PASSWORD", "", "is empty"),
        ("KAMMER_PASSWORD", "geheim\r\nX-Evil: 1", "holds a line break"),
        ("KAMMER_USER", "pres:se", "holds a ':'"),
    ],
)
def test_a_login_that_cannot_be_sent_fails_its_source_alone_and_shows_no_secret(
    tmp_path: Path,
    region: SampleRegion,
    make_app: MakeApp,
    login: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    variable: str,
    value: str | None,
    problem: str,
) -> None:
    """Nothing is asked without it (the site would count a failed login), the other sources
    are collected, and the message names the variable, never its value."""
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)
    guard = Guard(region, BASIC)
    guard.protect(FEED)
    other = "/burgenlandkreis/aktuelles/atom.xml"
    sources = source(region.url(FEED), BASIC_AUTH) + source(region.url(other), "", "kreis")
    app = make_app(config(tmp_path, sources))
    with caplog.at_level(logging.INFO, logger="revier_feed"):
        reports = {r.source_id: r for r in app.run_cycle().summary.reports}
    error = reports["intern"].error
    assert error is not None and error.kind == "login"
    assert f"the environment variable {variable} {problem}" in error.message
    assert "set it to the secret alone in the worker's environment" in error.message
    assert reports["kreis"].status is ReportStatus.OK and reports["kreis"].new > 0
    assert guard.seen == []
    stored = app.storage.source_states(["intern"])["intern"]
    assert stored.last_error_kind == "login"
    if value:
        assert value not in (stored.last_error or "") and value not in caplog.text


def test_the_login_goes_to_the_source_s_own_origin_only(
    tmp_path: Path, region: SampleRegion, make_app: MakeApp, login: None
) -> None:
    """Not where a redirect leads (another host), nor to an article page on another host
    that the source may follow; its own article pages and listing pages get it."""
    guard = Guard(region, BASIC)
    guard.protect(FEED)
    guard.record("/umzug.xml", Response(302, headers={"Location": FEED}))
    elsewhere = region.url(FEED).replace("127.0.0.1", "localhost")
    guard.record("/weg.xml", Response(302, headers={"Location": elsewhere}))
    page = (
        "<html><body><ul>"
        '<li class="n"><a href="/intern/eins.html">Kreistag beschließt den Haushalt 2021</a>'
        "<span>10.06.2021</span></li>"
        f'<li class="n"><a href="{region.base_url.replace("127.0.0.1", "localhost")}'
        '/intern/zwei.html">Neue Radwege zwischen Grimma und Naunhof</a>'
        "<span>11.06.2021</span></li>"
        "</ul></body></html>"
    ).encode()
    guard.protect("/intern/liste.html", page, "text/html; charset=utf-8")
    article = (
        "<html><body><article><h1>Kreistag beschließt den Haushalt 2021</h1>"
        + "<p>Der Kreistag hat in seiner Sitzung den Haushalt beschlossen. </p>" * 8
        + "</article></body></html>"
    ).encode()
    guard.protect("/intern/eins.html", article, "text/html; charset=utf-8")
    guard.protect("/intern/zwei.html", article, "text/html; charset=utf-8")
    port = region.base_url.rpartition(":")[2]
    html = f"""    kind: html
    html:
      item: li.n
      title: a
      link: a@href
      date: span
      follow: true
      allow_hosts: ["localhost:{port}"]
"""
    sources = (
        source(region.url("/umzug.xml"), BASIC_AUTH, "umzug")
        + source(region.url("/weg.xml"), BASIC_AUTH, "weg")
        + source(region.url("/intern/liste.html"), html + BASIC_AUTH, "liste")
    )
    settings = """
        storage: {path: state/store.sqlite3}
        output: {dir: out}
        fetch: {timeout: 5s, retry_backoff: 0.05s, private_hosts: [localhost]}
    """
    app = make_app(config(tmp_path, sources, settings))
    reports = {r.source_id: r for r in app.run_cycle().summary.reports}
    assert reports["umzug"].status is ReportStatus.OK
    error = reports["weg"].error
    assert error is not None
    assert "login was not sent to http://localhost:" in error.message
    assert "which is not the origin of its URL" in error.message
    assert "answered by http://localhost" in error.message
    assert reports["liste"].status is ReportStatus.OK and reports["liste"].new == 2
    assert ("/intern/eins.html", BASIC) in guard.seen
    assert ("/intern/zwei.html", None) in guard.seen
    assert ("/intern/zwei.html", BASIC) not in guard.seen
    # Both redirects' first requests were to the source's own origin, with the login; of the
    # requests for FEED they led to, only the one on that origin had it.
    assert {sent for path, sent in guard.seen if path in ("/umzug.xml", "/weg.xml")} == {BASIC}
    assert sorted(sent or "" for path, sent in guard.seen if path == FEED) == ["", BASIC]


def test_sources_test_uses_the_login(
    tmp_path: Path,
    region: SampleRegion,
    login: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    Guard(region, BASIC).protect(FEED)
    folder = write_config(tmp_path / "c", "sources:\n" + source(region.url(FEED), BASIC_AUTH))
    assert main(["--config", str(folder), "sources", "test", "intern"]) == 0
    assert PASSWORD not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("url", "auth", "message"),
    [
        (
            "http://presse.kammer.example/rss.xml",
            "{username_env: KAMMER_USER, password_env: KAMMER_PASSWORD}",
            "sources[0].auth: the login would go to presse.kammer.example unencrypted",
        ),
        (
            "https://presse.kammer.example/rss.xml",
            "{username_env: KAMMER_USER, password_env: KAMMER_GEHEIM}",
            "sources[0].auth.password_env: the variable's name must say that it holds a secret",
        ),
        # A secret written where the name belongs, also one that looks like a name, is not
        # repeated (found by an admin's walkthrough, session 37).
        (
            "https://presse.kammer.example/rss.xml",
            "{username_env: KAMMER_USER, password_env: KammerPasswort2024}",
            "sources[0].auth.password_env: this is not the name of an environment variable",
        ),
        (
            "https://presse.kammer.example/rss.xml",
            "{token_env: 20241129}",
            "sources[0].auth.token_env: Input should be a valid string",
        ),
        (
            "https://presse.kammer.example/rss.xml",
            "{password_env: KAMMER_PASSWORD}",
            "sources[0].auth: a login needs username_env and password_env",
        ),
        (
            "https://presse.kammer.example/rss.xml",
            "{token_env: KAMMER_TOKEN, password_env: KAMMER_PASSWORD}",
            "sources[0].auth: give either token_env or username_env and password_env, not",
        ),
        (
            "https://presse.kammer.example/rss.xml",
            "{token_env: 'geheim 123'}",
            "sources[0].auth.token_env: this is not the name of an environment variable",
        ),
        (
            "https://presse.kammer.example/rss.xml",
            "{user: presse, password_env: KAMMER_PASSWORD}",
            "sources[0].auth.user",
        ),
        ("https://presse.kammer.example/rss.xml", "", "sources[0].auth: auth is empty"),
    ],
)
def test_a_login_check_refuses_names_its_line(
    tmp_path: Path, url: str, auth: str, message: str
) -> None:
    folder = write_config(
        tmp_path, f'sources:\n  - id: intern\n    name: P\n    url: "{url}"\n    auth: {auth}\n'
    )
    with pytest.raises(ConfigError) as raised:
        load_config(folder)
    text = str(raised.value)
    assert f"sources.yaml:5: {message}" in text or f"sources.yaml:6: {message}" in text, text
    for secret in ("KammerPasswort2024", "20241129", "geheim 123"):
        assert secret not in text


def test_sources_export_says_which_listed_sources_need_a_login(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = source("https://presse.kammer.example/rss.xml", BASIC_AUTH)
    sources += source("https://kreis.example/rss.xml", "", "kreis")
    folder = write_config(tmp_path / "c", "sources:\n" + sources)
    assert main(["--config", str(folder), "sources", "export"]) == 0
    out, err = capsys.readouterr()
    assert "https://presse.kammer.example/rss.xml" in out
    assert "# 1 source(s) listed that need a login (auth), which a list cannot carry: " in err
    assert err.rstrip().endswith("carry: intern")


def test_a_reload_that_gives_a_source_its_login_asks_it_at_once(
    tmp_path: Path, region: SampleRegion, make_app: MakeApp, login: None, clock: Clock
) -> None:
    """As the 401's advice says: the auth block added and the worker reloaded, the source is
    asked in the next cycle, not when its backoff ends."""
    Guard(region, BASIC).protect(FEED)
    folder = write_config(tmp_path / "c", "sources:\n" + source(region.url(FEED), ""))
    app = make_app(load_config(folder))
    worker = Worker(app)
    worker.collect()
    (state,) = app.storage.source_states(["intern"]).values()
    assert state.last_error is not None and "asks for a login" in state.last_error
    assert state.next_fetch_at is not None and state.next_fetch_at > clock.now
    write_config(tmp_path / "c", "sources:\n" + source(region.url(FEED), BASIC_AUTH))
    assert worker.request_reload() is not None
    clock.advance(timedelta(minutes=1))
    worker.collect()
    (state,) = app.storage.source_states(["intern"]).values()
    assert state.status is SourceStatus.OK, state.last_error


def test_a_token_written_with_its_scheme_says_so(
    tmp_path: Path, region: SampleRegion, make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAMMER_TOKEN", f"Bearer {TOKEN}")
    auth = "    auth:\n      token_env: KAMMER_TOKEN"
    app = make_app(config(tmp_path, source(region.url(FEED), auth)))
    error = report_of(app, "intern").error
    assert error is not None and 'KAMMER_TOKEN begins with "Bearer "' in error.message


def test_a_token_with_a_blank_is_refused_without_showing_it(
    tmp_path: Path,
    region: SampleRegion,
    make_app: MakeApp,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Copied with a space at its end, the token reached the HTTP library, whose refusal
    quoted the header into the source's stored error, `sources` and the admin digest (found
    by a review, session 37)."""
    monkeypatch.setenv("KAMMER_TOKEN", "tok-SECRET-9f8e7d ")
    guard = Guard(region, "Bearer tok-SECRET-9f8e7d")
    guard.protect(FEED)
    auth = "    auth:\n      token_env: KAMMER_TOKEN"
    app = make_app(config(tmp_path, source(region.url(FEED), auth)))
    with caplog.at_level(logging.INFO, logger="revier_feed"):
        error = report_of(app, "intern").error
    assert error is not None and error.kind == "login"
    assert "KAMMER_TOKEN holds a blank" in error.message
    stored = app.storage.source_states(["intern"])["intern"].last_error or ""
    assert "SECRET" not in stored + error.message + caplog.text
    assert guard.seen == []


def test_sources_test_at_another_address_sends_no_login(
    tmp_path: Path,
    region: SampleRegion,
    login: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`sources test ID --url` (a site that moved) sent the saved login to whatever address
    was typed, also another host over plain http (found by a review, session 37)."""
    guard = Guard(region, BASIC)
    guard.protect(FEED)
    elsewhere = region.url(FEED).replace("127.0.0.1", "localhost")
    settings = """
        storage: {path: state/store.sqlite3}
        output: {dir: out}
        fetch: {timeout: 5s, retry_backoff: 0.05s, private_hosts: [localhost]}
    """
    folder = write_config(
        tmp_path / "c", "sources:\n" + source(region.url(FEED), BASIC_AUTH), settings
    )
    args = ["--config", str(folder), "sources", "test", "intern"]
    assert main([*args, "--url", elsewhere]) == 1
    assert "asks for a login" in capsys.readouterr().out
    assert guard.seen == [(FEED, None)]
    # The same origin written another way keeps it.
    assert main([*args, "--url", region.url(FEED + "?neu")]) == 0
    assert guard.seen[-1] == (FEED, BASIC)


def test_sources_test_with_selector_options_keeps_the_login(
    tmp_path: Path,
    region: SampleRegion,
    login: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Options tried over a saved html source's selectors dropped its login (and its
    `remove`): the page answered 401 (found by a review, session 37)."""
    listing = (
        b'<html><body><ul><li class="n"><h3><a href="/intern/a.html">Kreistag tagt</a></h3>'
        b'<span class="teilen">Teilen</span><span class="d">10.06.2021</span></li></ul>'
        b"</body></html>"
    )
    Guard(region, BASIC).protect("/intern/liste.html", listing, "text/html; charset=utf-8")
    html = """    kind: html
    html: {item: li.n, title: h2, date: span.d}
    remove: [".teilen"]
"""
    folder = write_config(
        tmp_path / "c",
        "sources:\n" + source(region.url("/intern/liste.html"), html + BASIC_AUTH),
    )
    args = ["--config", str(folder), "sources", "test", "intern", "--title", "h3 a"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Kreistag tagt" in out and "Teilen" not in out


def test_a_secret_in_an_address_a_site_sends_is_masked_where_errors_are_kept(
    tmp_path: Path,
    region: SampleRegion,
    make_app: MakeApp,
    login: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A site that redirects to an address with the password in it: the logs masked it,
    the stored error (`sources`, `status`, the admin's digest) and `sources test` did not
    (found by an admin's walkthrough, session 37)."""
    guard = Guard(region, BASIC)
    guard.record("/intern/alt.xml", Response(302, headers={"Location": f"/nf?pw={PASSWORD}"}))
    guard.record("/nf", Response(404, b"weg"))
    url = region.url("/intern/alt.xml")
    app = make_app(config(tmp_path, source(url, BASIC_AUTH)))
    error = report_of(app, "intern").error
    assert error is not None and "answered by" in error.message
    stored = app.storage.source_states(["intern"])["intern"].last_error or ""
    assert "pw=***" in stored and PASSWORD not in stored
    folder = write_config(tmp_path / "c", "sources:\n" + source(url, BASIC_AUTH))
    assert main(["--config", str(folder), "sources", "test", "intern"]) == 1
    out = capsys.readouterr().out
    assert "pw=***" in out and PASSWORD not in out
