"""The command line as an admin uses it: run --once, sources, demo."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import yaml

from revier_feed.app import App
from revier_feed.cli import main
from revier_feed.cli_output import console, print_json
from revier_feed.config import AppConfig, load_config
from revier_feed.demo.server import Response, SampleRegion
from revier_feed.models import SourceStatus
from revier_feed.storage import VERSION

from .conftest import free_port, write_config


def test_run_once_prints_summary(
    demo_config: AppConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(demo_config.config_dir), "run", "--once"]) == 0
    out = capsys.readouterr().out
    assert "Collection summary" in out
    for source in demo_config.sources:
        assert source.id in out
    assert "6 sources: 36 new, 0 updated, 0 failed" in out
    channels = 1 + len(demo_config.channels) + len(demo_config.tags) + len(demo_config.districts)
    # RSS, Atom, JSON Feed and a page per channel, the OPML list and the site's icon.
    files = 4 * channels + 2
    assert f"published to {demo_config.output_dir}: {files} file(s) written, 0 unchanged" in out


def test_run_once_lists_only_sources_with_news_or_problems(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--config", str(demo_config.config_dir), "run", "--once"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 0  # every source answers 304
    out = capsys.readouterr().out
    assert "Collection summary: 6 sources: 0 new, 0 updated, 0 failed, nothing new" in out
    assert "│" not in out
    region.add_route("/bbsr/presse/feed.atom", Response(500, b"kaputt"))
    assert main(args) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert any("bbsr" in row for row in rows)
    assert not any("landkreis-leipzig" in row for row in rows)
    assert "6 sources: 0 new, 0 updated, 1 failed; 5 without news not listed" in out


def test_run_once_lists_news_up_to_a_screenful_and_every_problem(
    demo_config: AppConfig,
    region: SampleRegion,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A first cycle of hundreds of sources would print a table of a thousand lines: the
    sources with news are listed up to a limit, the problems always and first."""
    from revier_feed import cli

    monkeypatch.setattr(cli, "SUMMARY_NEWS_ROWS", 3)
    region.add_route("/bbsr/presse/feed.atom", Response(500, b"kaputt"))
    args = ["--config", str(demo_config.config_dir), "run", "--once"]
    assert main(args) == 0
    out = capsys.readouterr().out
    ids = {source.id for source in demo_config.sources}
    cells = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    listed = [cell for cell in cells if cell in ids]
    assert listed[0] == "bbsr" and len(listed) == 3, listed
    assert listed[1:] == sorted(listed[1:])  # then the sources with news, by id
    assert "0 updated, 1 failed; 3 more with news not listed" in out
    assert "`revier-feed sources` lists every source" in out


def test_run_once_shows_what_it_collected_when_publishing_fails(
    demo_config: AppConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    """The items are stored either way; the admin sees them, then why nothing was published."""
    blocker = demo_config.output_dir / "feeds"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the feeds folder belongs", "utf-8")
    assert main(["--config", str(demo_config.config_dir), "run", "--once"]) == 1
    captured = capsys.readouterr()
    assert "6 sources: 36 new, 0 updated, 0 failed" in captured.out
    assert f"not published to {demo_config.output_dir} (the error follows)" in captured.out
    assert "error: could not write" in captured.err and "feeds" in captured.err

    blocker.unlink()
    assert main(["--config", str(demo_config.config_dir), "run", "--once"]) == 0
    out = capsys.readouterr().out
    assert "0 new, 0 updated, 0 failed, nothing new" in out
    assert (demo_config.output_dir / "feeds" / "all.atom.xml").read_text("utf-8").count(
        "<entry>"
    ) == 29


def test_sources_shows_health_problems_first(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    region.add_route("/bbsr/presse/feed.atom", Response(404, b"weg"))
    assert main(["--config", str(demo_config.config_dir), "run", "--once"]) == 0
    capsys.readouterr()
    assert main(["--config", str(demo_config.config_dir), "sources"]) == 0
    out = capsys.readouterr().out
    # A source's first line (a long error wraps onto more).
    rows = [line for line in out.splitlines() if line.startswith("│") and line[2] != " "]
    assert "bbsr" in rows[0] and "failing" in rows[0]
    assert "[http_4xx] HTTP 404" in out
    assert sum("│ ok " in row for row in rows) == 5
    # The current (adaptive) interval: after one fetch, still the configured 30 minutes.
    assert len(rows) == 6 and all(" 30m " in row for row in rows), out
    # The last attempt: a failing source's differs from its last success.
    moment = r"\d\d\.\d\d\. \d\d:\d\d"
    assert re.search(rf"│ bbsr +│ failing │ - +│ {moment} │ {moment} │ 30m ", rows[0]), out


def test_sources_shows_a_move_until_it_is_written_in_and_a_due_source_as_due(
    tmp_path: Path,
    region: SampleRegion,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A move by a 301 is logged once, and the table showed nothing of it; a next fetch
    gone by (the worker stopped) read as a time still planned."""
    import io

    from rich.console import Console

    from revier_feed import cli_sources

    feed = region.url("/landkreis-leipzig/presse/rss.xml")
    region.add_route("/alt/rss.xml", Response(301, headers={"Location": feed}))
    folder = write_config(
        tmp_path / "config",
        f"""
        sources:
          - {{id: kreis, name: Kreis, url: "{region.url("/alt/rss.xml")}"}}
        """,
    )
    assert main(["--config", str(folder), "run", "--once"]) == 0
    assert main(["--config", str(folder), "sources", "retry", "kreis"]) == 0
    capsys.readouterr()
    assert main(["--config", str(folder), "sources", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["fetching_url"] == feed
    screen = io.StringIO()
    monkeypatch.setattr(cli_sources, "console", lambda: Console(file=screen, width=240))
    assert main(["--config", str(folder), "sources"]) == 0
    text = " ".join(screen.getvalue().split())
    assert re.search(r"│ kreis │ ok │ [\d.: ]+ │ [\d.: ]+ │ due │", text), text
    assert f"│ moved permanently to {feed}; write it into sources.yaml │" in text


def test_run_once_fails_when_every_source_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_config(
        tmp_path,
        """
        sources:
          - {id: weg, name: Weg, url: "http://127.0.0.1:9/feed.xml"}
        """,
    )
    assert main(["--config", str(folder), "run", "--once"]) == 1
    assert "[connect] could not connect" in capsys.readouterr().out


def test_status_says_when_it_made_the_store_just_now(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped storage.path made an empty store that looked like one with no news."""
    folder = write_config(
        tmp_path,
        'sources:\n  - {id: a, name: A, url: "http://127.0.0.1:9/feed.xml"}\n',
        "storage:\n  path: vertippt/store.sqlite3\noutput:\n  dir: out\n",
    )
    store = tmp_path / "vertippt" / "store.sqlite3"
    assert main(["--config", str(folder), "status"]) == 0
    out = capsys.readouterr().out
    assert f"store: {store} (created now: no cycle has run on it" in out
    assert main(["--config", str(folder), "status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["store"] == {"path": str(store), "created_now": False}


def test_store_from_newer_version_is_a_clear_error(
    demo_config: AppConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(demo_config.config_dir), "sources"]) == 0
    store = demo_config.storage_url.removeprefix("sqlite:///")
    with sqlite3.connect(store) as db:
        db.execute("update schema_version set version = ?", (VERSION + 5,))
    assert main(["--config", str(demo_config.config_dir), "run", "--once"]) == 1
    assert "upgrade revier-feed or restore a backup" in capsys.readouterr().err


def test_the_console_script_leaves_the_garbage_collector_on() -> None:
    """The console script imports the application with the collector paused (it makes no
    garbage then) and freezes what it imported; a worker running for months must have its
    collector back on, or every reference cycle it makes would stay in memory."""
    exe = Path(sys.executable).parent / "revier-feed"
    assert "revier_feed._console" in exe.read_text(encoding="utf-8")  # the installed entry
    probe = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print(gc.isenabled(), gc.get_freeze_count()))\n"
        "sys.argv = ['revier-feed', '--version']\n"
        "from revier_feed._console import run\n"
        "run()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    enabled, frozen = done.stdout.split()[-2:]
    assert enabled == "True"
    assert int(frozen) > 20_000  # the imports' objects, frozen by cli.run


def test_a_finished_command_ends_without_tearing_the_interpreter_down() -> None:
    """Freeing every object at exit took a third of a second after a first cycle: a command
    that left nothing running ends at once, its output flushed and its exit code kept; with
    a thread still running, the normal exit (atexit joins it) is kept."""
    probe = (
        "import atexit, sys, threading, time\n"
        "from revier_feed.cli import leave\n"
        "atexit.register(lambda: print(' and atexit ran'))\n"
        "print('written before', end='')\n"  # still in the buffer of a pipe
        "if sys.argv[1] == 'thread':\n"
        "    threading.Thread(target=time.sleep, args=(0.2,)).start()\n"
        "leave(3)\n"
    )
    for running, expected in (
        ("nothing", "written before"),
        ("thread", "written before and atexit ran\n"),
    ):
        done = subprocess.run(
            [sys.executable, "-c", probe, running], capture_output=True, text=True, timeout=60
        )
        assert (done.returncode, done.stdout) == (3, expected), done.stderr


def test_demo_command_as_a_newcomer_runs_it(tmp_path: Path) -> None:
    # The real console script in a clean process, as the README tells a newcomer.
    exe = Path(sys.executable).parent / "revier-feed"
    done = subprocess.run(
        [str(exe), "demo", "--output", str(tmp_path / "demo-output")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert done.returncode == 0, done.stderr
    assert "6 sources: 36 new, 0 updated, 0 failed" in done.stdout
    assert "Demo output in" in done.stdout
    # The way to serve what it made names the folder it made, wherever that is.
    assert f"`revier-feed --config {tmp_path / 'demo-output' / 'config'} serve`" in done.stdout
    rss = (tmp_path / "demo-output" / "feeds" / "all.rss.xml").read_text(encoding="utf-8")
    atom = (tmp_path / "demo-output" / "feeds" / "all.atom.xml").read_text(encoding="utf-8")
    for text in (rss, atom):
        assert "Neue Studien sollen ländliche Räume im Mitteldeutschen Revier stärken" in text
        assert "tediro gewinnt Clusterpreis Life Sciences" in text
    # A second run starts fresh and gives the same result.
    again = subprocess.run(
        [str(exe), "demo", "--output", str(tmp_path / "demo-output")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0 and "36 new" in again.stdout
    # The sample news is from 2021: retention on the demo (a worker left running overnight)
    # removed all of it under the default of 365 days.
    config = str(tmp_path / "demo-output" / "config")
    kept = subprocess.run(
        [str(exe), "--config", config, "retention"], capture_output=True, text=True, timeout=60
    )
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.startswith("removed 0 items")
    # Its sites stop with it: fetching on its configuration afterwards fails, and it says so.
    assert "`revier-feed demo --serve` keeps them up" in " ".join(again.stdout.split())


def test_demo_serve_keeps_the_sample_sites_up_for_the_other_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    exe = Path(sys.executable).parent / "revier-feed"
    demo = subprocess.Popen(
        [str(exe), "demo", "--output", str(tmp_path / "out"), "--serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        assert demo.stdout is not None
        lines = []
        for line in demo.stdout:
            lines.append(line)
            if line.startswith("Serving "):
                break
        assert f"at http://127.0.0.1:{port}/" in lines[-1], lines
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/feeds/all.rss.xml") as answer:
            assert b"tediro gewinnt Clusterpreis Life Sciences" in answer.read()
        config = str(tmp_path / "out" / "config")
        capsys.readouterr()
        assert main(["--config", config, "sources", "test", "bbsr"]) == 0
        assert "5 items" in capsys.readouterr().out
        assert main(["--config", config, "run", "--once"]) == 0
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=30) == 0, demo.stderr.read() if demo.stderr else ""
    finally:
        demo.kill()
        demo.communicate()


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def in_demo(capsys: pytest.CaptureFixture[str], config: AppConfig, *args: str) -> tuple[int, str]:
    """A command on the demo configuration: exit code and output."""
    return run_cli(capsys, "--config", str(config.config_dir), *args)


def try_url(
    capsys: pytest.CaptureFixture[str], config: AppConfig, url: str, *options: str
) -> tuple[int, str]:
    """`sources test --url URL OPTIONS…` on the demo configuration: exit code and output."""
    return in_demo(capsys, config, "sources", "test", "--url", url, *options)


def test_discover_finds_linked_feed(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = in_demo(
        capsys, demo_config, "sources", "discover", region.url("/burgenlandkreis/")
    )
    assert code == 0
    assert "links to 1 feed(s)" in out
    (entry,) = yaml.safe_load(out)
    assert entry["url"] == region.url("/burgenlandkreis/aktuelles/atom.xml")
    assert entry["id"] == "burgenlandkreis"


def test_discover_keeps_the_address_asked_behind_a_temporary_redirect(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 302's target went into the snippet: a session ("…;jsessionid=…") or this year's
    archive ("?jahr=2026"), which a cycle would never have kept (only 301/308 move a
    source). A 301's target is where the source lives now."""
    feed = region.url("/burgenlandkreis/aktuelles/atom.xml")
    region.add_route("/k/aktuell", Response(302, b"", {"Location": feed}))
    region.add_route("/k/umgezogen", Response(301, b"", {"Location": feed}))
    for path, expected in (("/k/aktuell", region.url("/k/aktuell")), ("/k/umgezogen", feed)):
        code, out = in_demo(capsys, demo_config, "sources", "discover", region.url(path))
        assert code == 0 and "is a feed" in out, out
        (entry,) = yaml.safe_load(out)
        assert entry["url"] == expected


@pytest.mark.parametrize(
    ("asked", "answered", "kept"),
    [
        ("http://example.org", "https://example.org/", "https://example.org/"),
        (
            "http://Example.org:80/presse",
            "https://example.org/presse/",
            "https://example.org/presse/",
        ),
        ("http://example.org/presse", "https://example.org/presse?jahr=2026", "asked"),
        ("http://example.org/presse", "https://www.example.org/presse", "asked"),
        ("https://example.org/presse", "http://example.org/presse", "asked"),
    ],
)
def test_discover_takes_a_temporary_move_to_https_of_the_same_address(
    asked: str, answered: str, kept: str
) -> None:
    from revier_feed.app import _subscribed_url
    from revier_feed.models import FetchResult

    fetched = FetchResult(url=answered, status_code=200, headers={}, content=b"")
    assert _subscribed_url(asked, fetched) == (asked if kept == "asked" else kept)


def test_discover_compares_feeds_with_the_page_a_temporary_redirect_led_to(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """Behind a 302 to www.… (here: localhost) every feed was "on another host", and the
    page's own feed was not found first (a review found it)."""
    here = region.url("/stadt/presse/").replace("127.0.0.1", "localhost")
    page = """<html><head><title>Presse</title>
    <link rel="alternate" type="application/rss+xml" title="Alles" href="/feed/">
    <link rel="alternate" type="application/rss+xml" title="Presse" href="/stadt/presse/feed/">
    </head><body></body></html>"""
    _serve_page(region, "/stadt/presse/", page)
    rss = region.read_site_file("/landkreis-leipzig/presse/rss.xml") or b""
    for path in ("/feed/", "/stadt/presse/feed/"):
        region.add_route(path, Response(200, rss, {"Content-Type": "application/rss+xml"}))
    region.add_route("/presse", Response(302, b"", {"Location": here}))
    settings = demo_config.config_dir / "settings.yaml"
    text = settings.read_text(encoding="utf-8")  # localhost: a private address elsewhere
    settings.write_text(text.replace("fetch:\n", "fetch:\n  private_hosts: [localhost]\n"))
    code, out = in_demo(capsys, demo_config, "sources", "discover", region.url("/presse"))
    assert code == 0, out
    assert "on another host" not in out
    entries = yaml.safe_load(out)
    assert entries[0]["url"].endswith("/stadt/presse/feed/"), entries


def test_discover_refuses_an_address_without_its_scheme_at_once(
    demo_config: AppConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was asked for as ":///robots.txt", retried for seconds, and reported as a
    connection that failed."""
    code, out = in_demo(capsys, demo_config, "sources", "discover", "127.0.0.1:8765/presse/")
    assert code == 2
    assert "URL: '127.0.0.1:8765/presse/' is not an absolute http(s) URL" in out, out


def test_discover_s_entries_paste_as_they_are_on_a_narrow_terminal(
    demo_config: AppConfig,
    region: SampleRegion,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On an 80-column terminal a long URL and the comment above were wrapped into the
    pasted YAML; three feeds got one id ("duplicate id" three times); WordPress's REST link
    was offered as a JSON feed; a page with <base href> got its feeds' addresses wrong."""
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("COLUMNS", "60")
    long = (
        "/gemeinde/index.php?id=42&tx_news_pi1%5Baction%5D=list"
        "&tx_news_pi1%5Bcontroller%5D=News&type=9818"
    )
    page = f"""<html><head><title>Gemeinde
      Schkopau: Aktuelles</title><base href="/gemeinde/">
    <link rel="alternate" type="application/rss+xml" title="Gemeinde Schkopau" href="{long}">
    <link rel="alternate" type="application/rss+xml" title="Kommentare" href="comments/feed/">
    <link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/42">
    <link rel="alternate" type="application/atom+xml" href="{{elsewhere}}">
    </head><body></body></html>"""
    elsewhere = region.url("/atom.xml").replace("127.0.0.1", "localhost")
    url = _serve_page(region, "/gemeinde/unter/seite.html", page.format(elsewhere=elsewhere))
    settings = demo_config.config_dir / "settings.yaml"
    text = settings.read_text(encoding="utf-8")  # localhost: a private address elsewhere
    settings.write_text(text.replace("fetch:\n", "fetch:\n  private_hosts: [localhost]\n"))
    rss = region.read_site_file("/landkreis-leipzig/presse/rss.xml") or b""
    atom = region.read_site_file("/bbsr/presse/feed.atom") or b""
    for path, body in (("/gemeinde/index.php", rss), ("/gemeinde/comments/feed/", rss)):
        region.add_route(path, Response(200, body, {"Content-Type": "application/rss+xml"}))
    region.add_route("/atom.xml", Response(200, atom, {"Content-Type": "application/atom+xml"}))
    code, out = in_demo(capsys, demo_config, "sources", "discover", url)
    assert code == 0, out
    entries = yaml.safe_load(out)
    assert [e["id"] for e in entries] == ["gemeinde", "gemeinde-2", "gemeinde-3"]
    # The comments last (they were second here, and first where a page names them first).
    assert [e["url"] for e in entries] == [
        region.url(long),
        elsewhere,
        region.url("/gemeinde/comments/feed/"),
    ]
    # Each named by its own title, not the link's (often "RSS").
    assert [e["name"] for e in entries] == [
        "Landkreis Leipzig – Pressemitteilungen",
        "BBSR – Pressemitteilungen",
        "Landkreis Leipzig – Pressemitteilungen",
    ]
    assert "the comments, probably no news" in out and "on another host (localhost)" in out


def test_discover_proposes_the_page_s_own_feed_first_and_the_comments_last(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """A WordPress category page names the site's feed, the comments feed and its own, in
    that order: the category the admin was looking at came third, and a page naming the
    comments first gave them the plain id."""
    page = """<html><head><title>Wirtschaft – Stadt Borna</title>
    <link rel="alternate" type="application/rss+xml" title="Stadt Borna » Kommentar-Feed"
      href="/wp/comments/feed/">
    <link rel="alternate" type="application/rss+xml" title="Stadt Borna » Feed" href="/wp/feed/">
    <link rel="alternate" type="application/rss+xml"
      title="Stadt Borna » Wirtschaft
        Kategorie-Feed" href="/wp/category/wirtschaft/feed/">
    </head><body></body></html>"""
    url = _serve_page(region, "/wp/category/wirtschaft/", page)
    untitled = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>Gewerbegebiet'
        b"</title><link>https://borna.example/1</link></item></channel></rss>"
    )
    rss = region.read_site_file("/landkreis-leipzig/presse/rss.xml") or b""
    for path, body in (
        ("/wp/comments/feed/", rss),
        ("/wp/feed/", rss),
        ("/wp/category/wirtschaft/feed/", untitled),
    ):
        region.add_route(path, Response(200, body, {"Content-Type": "application/rss+xml"}))
    code, out = in_demo(capsys, demo_config, "sources", "discover", url)
    assert code == 0, out
    entries = yaml.safe_load(out)
    assert [(e["id"], e["url"]) for e in entries] == [
        ("wp", region.url("/wp/category/wirtschaft/feed/")),
        ("wp-2", region.url("/wp/feed/")),
        ("wp-3", region.url("/wp/comments/feed/")),
    ]
    # A feed without a title of its own is named by its link's, on one line.
    assert entries[0]["name"] == "Stadt Borna » Wirtschaft Kategorie-Feed"


def test_discover_passes_over_a_feed_the_page_names_that_is_none(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """A TYPO3 page naming `?type=9818` as its feed, which served the page itself: the
    snippet printed for it failed at once with not_a_feed, and no selectors were guessed
    (found by a probe, session 24)."""
    listing = region.read_site_file("/metropolregion/de/newsarchiv/") or b""
    head = b'<link rel="alternate" type="application/rss+xml" href="?type=9818"></head>'
    page = listing.replace(b"</head>", head, 1)
    html = {"Content-Type": "text/html; charset=utf-8"}
    region.add_route("/typo3/aktuelles.html", Response(200, page, html))
    code, out = in_demo(
        capsys, demo_config, "sources", "discover", region.url("/typo3/aktuelles.html")
    )
    assert code == 0, out
    assert "?type=9818 as its feed, but it answers with a web page, not a feed" in out
    assert "has no feed. Guessed selectors" in out and "item: article.news-teaser" in out


def test_discover_says_what_a_page_standing_in_for_the_site_is(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bot check or a maintenance notice gave "no repeated news entries found; write the
    selectors by hand" (found by a probe, session 41)."""
    html = {"Content-Type": "text/html; charset=utf-8"}
    maintenance = (
        "<html><head><title>Wir sind gleich zurück</title></head><body><h1>Wir sind gleich "
        "zurück</h1><p>Unsere Website wird gerade aktualisiert.</p></body></html>"
    )
    region.add_route("/wartung/", Response(200, maintenance.encode(), html))
    code, out = in_demo(capsys, demo_config, "sources", "discover", region.url("/wartung/"))
    assert code == 1
    assert "got a maintenance notice (“Wir sind gleich zurück”)" in out
    assert "write the selectors by hand" not in out
    # A feed the page names behind a bot check is passed over, not proposed.
    listing = region.read_site_file("/metropolregion/de/newsarchiv/") or b""
    head = b'<link rel="alternate" type="application/rss+xml" href="/geschuetzt.xml"></head>'
    region.add_route("/aktuell/", Response(200, listing.replace(b"</head>", head, 1), html))
    check = {"Content-Type": "text/html", "cf-mitigated": "challenge"}
    region.add_route("/geschuetzt.xml", Response(403, b"<html></html>", check))
    code, out = in_demo(capsys, demo_config, "sources", "discover", region.url("/aktuell/"))
    assert "/geschuetzt.xml as its feed, but HTTP 403: Cloudflare's bot check" in out
    assert "passed over" in out and f'url: "{region.url("/geschuetzt.xml")}"' not in out
    # A site's API: read as json, not guessed as a page.
    api = {"Content-Type": "application/json"}
    region.add_route("/api/news", Response(200, b'{"data": [{"title": "Kreistag"}]}', api))
    code, out = in_demo(capsys, demo_config, "sources", "discover", region.url("/api/news"))
    assert code == 1 and "JSON that is no JSON Feed; read it as a `kind: json` source" in out


def test_discover_names_a_feed_linked_as_xml_by_the_kind_it_reads(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """An older site's head names its Atom feed "text/xml; charset=utf-8": found, and
    called what it is once read (the link's type names no kind)."""
    listing = region.read_site_file("/metropolregion/de/newsarchiv/") or b""
    feed = region.url("/burgenlandkreis/aktuelles/atom.xml")
    head = f'<link rel="alternate" type="text/xml; charset=utf-8" title="RSS" href="{feed}">'
    page = listing.replace(b"</head>", head.encode() + b"</head>", 1)
    html = {"Content-Type": "text/html; charset=utf-8"}
    region.add_route("/alt/presse.html", Response(200, page, html))
    code, out = in_demo(capsys, demo_config, "sources", "discover", region.url("/alt/presse.html"))
    assert code == 0, out
    assert "links to 1 feed(s)" in out
    (entry,) = yaml.safe_load(out)
    assert entry["url"] == feed
    assert "  # atom" in out


def test_discover_keeps_the_feeds_it_does_not_check(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """Of a page naming more feeds than are checked, those beyond were dropped unmentioned
    (found by a review, session 24)."""
    rss = region.read_site_file("/landkreis-leipzig/presse/rss.xml") or b""
    links = "".join(
        f'<link rel="alternate" type="application/rss+xml" href="/viele/{n}.xml">'
        for n in range(14)
    )
    for n in range(14):
        region.add_route(
            f"/viele/{n}.xml", Response(200, rss, {"Content-Type": "application/rss+xml"})
        )
    url = _serve_page(region, "/viele/", f"<html><head>{links}</head><body></body></html>")
    code, out = in_demo(capsys, demo_config, "sources", "discover", url)
    assert code == 0, out
    assert len(yaml.safe_load(out)) == 14


def _serve_page(region: SampleRegion, path: str, body: str) -> str:
    region.add_route(
        path, Response(200, body.encode(), {"Content-Type": "text/html; charset=utf-8"})
    )
    return region.url(path)


def _serve_feed(region: SampleRegion, path: str, site_file: str) -> str:
    body = region.read_site_file(site_file)
    assert body is not None
    region.add_route(path, Response(200, body, {"Content-Type": "application/xml"}))
    return region.url(path)


def test_discover_finds_a_feed_linked_only_in_the_page_s_body(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """Many district sites have an "RSS" link in the footer and no feed in the head: such a
    page got guessed selectors although it has a feed. Links that only look alike are not
    asked for, nor, once a link is a feed, the usual feed addresses."""
    feed = _serve_feed(region, "/kreis/presse/rss.xml", "/landkreis-leipzig/presse/rss.xml")
    page = _serve_page(
        region,
        "/kreis/presse/",
        "<html><head><title>Presse</title></head><body><main>Meldungen</main>"
        '<a href="/kreis/feedback/">Feedback</a><a href="/kreis/sitemap.xml">Sitemap</a>'
        '<a href="https://elsewhere.invalid/rss.xml">RSS der Nachbarn</a>'
        '<footer><a href="rss.xml#top">RSS</a></footer></body></html>',
    )
    code, out = in_demo(capsys, demo_config, "sources", "discover", page)
    assert code == 0, out
    assert "names no feed in its head, but 1 feed(s) were found" in out
    (entry,) = yaml.safe_load(out)
    assert entry["url"] == feed
    assert entry["name"] == "Landkreis Leipzig – Pressemitteilungen"
    assert "# rss" in out
    asked = [path for path in region.requests if path != "/robots.txt"]
    assert asked == ["/kreis/presse/", "/kreis/presse/rss.xml"]


def test_discover_follows_a_link_to_the_site_s_page_of_feeds(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """A link "RSS-Feeds" leads to a page listing the site's feeds: each is offered."""
    press = _serve_feed(region, "/kreis/rss/presse.xml", "/landkreis-leipzig/presse/rss.xml")
    events = _serve_feed(region, "/kreis/rss/termine", "/burgenlandkreis/aktuelles/atom.xml")
    _serve_page(
        region,
        "/kreis/service/abonnieren.html",
        '<html><body><ul><li><a href="../rss/presse.xml">Pressemitteilungen</a></li>'
        '<li><a href="/kreis/rss/termine">Termine</a></li></ul></body></html>',
    )
    page = _serve_page(
        region,
        "/kreis/",
        '<html><body><a href="/kreis/service/abonnieren.html">RSS-Feeds</a></body></html>',
    )
    code, out = in_demo(capsys, demo_config, "sources", "discover", page)
    assert code == 0, out
    entries = yaml.safe_load(out)
    assert [e["url"] for e in entries] == [press, events]
    assert "# rss" in out and "# atom" in out


def test_discover_tries_a_page_of_feeds_beyond_the_links_it_tried_already(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """The links of a page of feeds were cut to twelve before those tried already were
    dropped: one repeating the site's RSS links first had its feed never asked."""
    links = "".join(f'<a href="/kreis/rss/{i}.html">RSS {i}</a>' for i in range(12))
    overview = f'<html><body>{links}<a href="/kreis/export/presse">Presse (RSS)</a></body></html>'
    for i in range(12):
        _serve_page(region, f"/kreis/rss/{i}.html", overview)
    feed = _serve_feed(region, "/kreis/export/presse", "/landkreis-leipzig/presse/rss.xml")
    page = _serve_page(region, "/kreis/start.html", f"<html><body>{links}</body></html>")
    code, out = in_demo(capsys, demo_config, "sources", "discover", page)
    assert code == 0, out
    (entry,) = yaml.safe_load(out)
    assert entry["url"] == feed


def test_discover_asks_typo3_for_its_news_feed_page_type(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """TYPO3's news extension serves a listing's RSS as the same page with ?type=9818,
    often without linking it."""
    feed = region.read_site_file("/landkreis-leipzig/presse/rss.xml")
    listing = (
        b'<html><head><meta name="generator" content="TYPO3 CMS"><title>Aktuelles</title>'
        b"</head><body><p>Keine Meldungen</p></body></html>"
    )

    def typo3(handler: BaseHTTPRequestHandler) -> Response:
        if "type=9818" in handler.path:
            return Response(200, feed or b"", {"Content-Type": "application/rss+xml"})
        return Response(200, listing, {"Content-Type": "text/html; charset=utf-8"})

    region.add_route("/typo3/aktuelles/", typo3)
    page = region.url("/typo3/aktuelles/?tx_news_pi1%5Bpage%5D=1")
    code, out = in_demo(capsys, demo_config, "sources", "discover", page)
    assert code == 0, out
    (entry,) = yaml.safe_load(out)
    assert entry["url"] == page + "&type=9818"


def test_discover_guesses_selectors_when_no_feed_is_found_at_the_usual_addresses(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = region.url("/metropolregion/de/newsarchiv/")
    code, out = in_demo(capsys, demo_config, "sources", "discover", listing)
    assert code == 0 and "has no feed" in out, out
    asked = {
        path
        for path in region.requests
        if path not in ("/robots.txt", "/metropolregion/de/newsarchiv/")
    }
    assert asked == {"/feed/", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml"}


def test_discover_prints_a_hostile_page_s_links_as_data_not_as_yaml_or_terminal_codes(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """A link with U+2028 in it (a line break to YAML) added keys to the pasted entry, and
    ESC in it coloured the admin's terminal (found by a probe, session 16)."""
    href = "feed.xml?a=1\u2028    kind: html\u2028    backfill: 3650d"
    page = (
        '<html><head><title>Titel\u202e</title><link rel="alternate" '
        f'type="application/rss+xml" title="Nachrichten\x1b[31m" href="{href}"></head></html>'
    )
    region.add_route(
        "/feindlich/", Response(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
    )
    rss = region.read_site_file("/landkreis-leipzig/presse/rss.xml") or b""
    region.add_route(
        "/feindlich/feed.xml", Response(200, rss, {"Content-Type": "application/rss+xml"})
    )
    code, out = in_demo(capsys, demo_config, "sources", "discover", region.url("/feindlich/"))
    assert code == 0
    assert "\x1b" not in out and "\u2028" not in out and "\u202e" not in out
    (entry,) = yaml.safe_load(out)
    assert set(entry) == {"id", "name", "url"}
    assert entry["url"].startswith(region.url("/feindlich/feed.xml?a=1"))


def test_discover_s_guessed_source_is_named_without_the_page_title_s_bidi_controls(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """The html entry took the page's title as it was: a U+202E in it reached the
    terminal and, pasted, every feed that names the source."""
    listing = region.read_site_file("/metropolregion/de/newsarchiv/index.html") or b""
    page = re.sub(
        rb"<title>.*?</title>", "<title>Metropolregion \u202eNews</title>".encode(), listing
    )
    url = _serve_page(region, "/metro/newsarchiv/", page.decode())
    code, out = in_demo(capsys, demo_config, "sources", "discover", url)
    assert code == 0 and "has no feed" in out, out
    entry = yaml.safe_load("\n".join(line[2:] for line in out.splitlines()[1:]))[0]
    assert entry["name"] == "Metropolregion News"


def test_json_output_escapes_what_a_terminal_would_act_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--json` goes to terminals too: bidi, zero-width and C1 controls (which JSON itself
    does not escape) are written as escapes, and emoji codes and markup stay as they are.
    Collection already cleans such characters out of titles and errors; this is the last
    line."""
    data = {"title": "Pandemie \u202eTitel\x9b2J\u200b :sparkles: [red]x[/]"}
    print_json(console(), data)
    out = capsys.readouterr().out
    assert not any(c in out for c in "\u202e\x9b\u200b"), out
    assert "\\u202eTitel\\u009b2J\\u200b :sparkles: [red]x[/]" in out
    assert json.loads(out) == data


def test_site_text_on_the_terminal_keeps_emoji_codes_as_written(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """rich replaced ":fire:" in a site's title with an emoji in every table and in the
    YAML that `discover` and `sources import` print, where it changed names and addresses
    (found by a review, session 36)."""
    title = "Feuerwehr :fire: übt im Gewerbegebiet"
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wehr '
        ":rocket: News</title><link>http://x.example/</link><description>d</description>"
        f"<item><title>{title}</title><link>http://x.example/a</link></item></channel></rss>"
    )
    url = _serve_page(region, "/wehr/feed.xml", feed)
    code, out = try_url(capsys, demo_config, url)
    assert code == 0 and title in out and "\U0001f525" not in out, out
    code, out = in_demo(capsys, demo_config, "sources", "discover", url)
    assert code == 0 and "Wehr :rocket: News" in out, out


def test_discover_guesses_selectors_that_work(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = region.url("/metropolregion/de/newsarchiv/")
    code, out = run_cli(
        capsys, "--config", str(demo_config.config_dir), "sources", "discover", listing
    )
    assert code == 0 and "has no feed" in out
    selectors = dict(
        line.strip().split(": ", 1)
        for line in out.splitlines()
        if line.strip().startswith(("item:", "title:", "date:", "teaser:"))
    )
    assert selectors["item"] == "article.news-teaser"
    code, out = try_url(
        capsys, demo_config, listing, *(f"--{k}={v}" for k, v in selectors.items())
    )
    assert code == 0
    assert "10 items" in out
    row = next(line for line in out.splitlines() if "Neue Studien sollen" in line)
    assert "10.06.2021" in row


def test_discover_escapes_class_names_that_are_no_css(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """Utility classes ("md:w-1/2") made every guess an invalid selector: "no entries"."""
    entries = "".join(
        f'<div class="md:w-1/2 card"><h2 class="text-lg:bold">Meldung {i} aus Zeitz und Umgebung'
        f'</h2><a href="/m/{i}.html">Weiterlesen zur Meldung {i}</a>'
        f'<span class="d">{10 + i}.06.2021</span></div>'
        for i in range(4)
    )
    page = f"<html><head><title>Kreis</title></head><body>{entries}</body></html>".encode()
    region.add_route("/tw.html", Response(200, page, {"Content-Type": "text/html"}))
    code, out = in_demo(capsys, demo_config, "sources", "discover", region.url("/tw.html"))
    assert code == 0 and "has no feed" in out, out
    snippet = yaml.safe_load("\n".join(line[2:] for line in out.splitlines()[1:]))
    html = snippet[0]["html"]
    assert html["item"] == r"div.md\:w-1\/2" and html["title"] == r"h2.text-lg\:bold"
    selectors = (f"--{key}={html[key]}" for key in ("item", "title", "date"))
    code, out = try_url(capsys, demo_config, region.url("/tw.html"), *selectors)
    assert code == 0 and "4 items" in out and "13.06.2021" in out


def test_discover_s_next_page_reads_the_listing_s_further_pages(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """No `next` was guessed: an admin had to find the pager in the markup, or the source
    read the first page only."""

    def listing(page: int) -> bytes:
        entries = "".join(
            f'<div class="news-item"><h3><a href="/kreis/n/{page}{i}.html">Meldung {page}.{i} '
            f'aus dem Landkreis</a></h3><span class="date">{10 + i}.0{page}.2021</span></div>'
            for i in range(4)
        )
        forward = (
            f'<li class="next"><a href="/kreis/presse/seite-{page + 1}">nächste</a></li>'
            if page < 2
            else ""
        )
        pager = f'<ul class="f3-widget-paginator"><li class="current">{page}</li>{forward}</ul>'
        body = f"<html><head><title>Presse</title></head><body>{entries}{pager}</body></html>"
        return body.encode()

    region.add_route("/kreis/presse/", Response(200, listing(1), {"Content-Type": "text/html"}))
    region.add_route(
        "/kreis/presse/seite-2", Response(200, listing(2), {"Content-Type": "text/html"})
    )
    url = region.url("/kreis/presse/")
    code, out = in_demo(capsys, demo_config, "sources", "discover", url)
    assert code == 0 and "has no feed" in out, out
    html = yaml.safe_load("\n".join(line[2:] for line in out.splitlines()[1:]))[0]["html"]
    assert html["next"] == "li.next a" and html["max_pages"] == 3, html
    options = [f"--{key}={value}" for key, value in html.items() if key != "max_pages"]
    code, out = try_url(capsys, demo_config, url, *options, f"--max-pages={html['max_pages']}")
    assert code == 0 and "8 items" in out, out
    assert "Meldung 2.3" in out


def test_sources_test_stores_nothing_and_saves_a_fixture(
    demo_config: AppConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixtures = tmp_path / "fixtures"
    code, out = run_cli(
        capsys,
        "--config",
        str(demo_config.config_dir),
        "sources",
        "test",
        "burgenlandkreis",
        "--save-fixture",
        str(fixtures),
    )
    assert code == 0
    assert "burgenlandkreis (feed)" in out and "5 items" in out
    saved = fixtures / "burgenlandkreis"
    assert (saved / "document.xml").read_bytes().startswith(b"<?xml")
    assert "- id: burgenlandkreis" in (saved / "sources.yaml").read_text(encoding="utf-8")
    expected = json.loads((saved / "expected.json").read_text(encoding="utf-8"))
    assert len(expected["items"]) == 5
    # Nothing was stored: the source is still new.
    code, out = run_cli(capsys, "--config", str(demo_config.config_dir), "sources")
    assert re.search(r"burgenlandkreis\s+│ new", out)


def test_a_fixture_of_a_source_in_a_district_of_its_own_passes_its_test(
    region: SampleRegion, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fixture kept the source's district, which its test (with no districts.yaml)
    did not know: it failed on "unknown district 'vogtland'"."""
    from .test_source_fixtures import test_fixture_still_parses_the_same

    folder = write_config(
        tmp_path / "config",
        f"""
        sources:
          - id: plauen
            name: Plauen
            url: "{region.url("/landkreis-leipzig/presse/rss.xml")}"
            district: vogtland
            tags: [vogtland-news]
        """,
        districts="districts:\n  - {id: vogtland, name: Vogtlandkreis, terms: [Plauen]}\n",
        tags="tags:\n  - {id: vogtland-news, label: Vogtland, any: [Plauen]}\n",
    )
    fixtures = tmp_path / "fixtures"
    code, out = run_cli(
        capsys,
        "--config",
        str(folder),
        "sources",
        "test",
        "plauen",
        "--save-fixture",
        str(fixtures),
    )
    assert code == 0, out
    assert f"REVIER_FEED_FIXTURES={fixtures} scripts/test" in out
    (tmp_path / "check").mkdir()
    test_fixture_still_parses_the_same(fixtures / "plauen", tmp_path / "check")


def test_a_saved_fixture_passes_its_regression_test_whatever_the_source_follows(
    demo_config: AppConfig,
    region: SampleRegion,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The fixture holds one page: it must expect what one parse of that page gives, not
    the items of further pages or the dates of article pages, and relative dates must
    read as they did when it was saved."""
    from .test_source_fixtures import test_fixture_still_parses_the_same

    def page(items: str, more: str = "") -> Response:
        body = f"<html><body>{items}{more}</body></html>".encode()
        return Response(200, body, {"Content-Type": "text/html; charset=utf-8"})

    def item(title: str, link: str, date: str) -> str:
        return f'<div class="n"><h3><a href="{link}">{title}</a></h3><span>{date}</span></div>'

    region.add_route(
        "/k/liste.html",
        page(
            item("Vor drei Tagen", "/k/a.html", "vor 3 Tagen")
            + item("Gestern früh", "/k/b.html", "gestern, 7:30 Uhr"),
            '<a class="weiter" href="/k/liste2.html">weiter</a>',
        ),
    )
    region.add_route("/k/liste2.html", page(item("Seite zwei", "/k/c.html", "01.06.2021")))
    for name in ("a", "b", "c"):
        region.add_route(
            f"/k/{name}.html",
            page(
                '<article><time datetime="2021-06-01T09:00:00+02:00"></time><p>Text</p></article>'
            ),
        )
    fixtures = tmp_path / "fixtures"

    def sources_test(*args: str) -> tuple[int, str]:
        return in_demo(capsys, demo_config, "sources", "test", *args)

    selectors = ["--item", "div.n", "--title", "h3", "--date", "span", "--next", "a.weiter"]
    code, out = sources_test(
        "kreis",
        "--url",
        region.url("/k/liste.html"),
        *selectors,
        "--max-pages",
        "2",
        "--follow",
        "--save-fixture",
        str(fixtures),
    )
    assert code == 0 and "3 items" in out, out
    # The pages `next` led to: one selector that found nothing went unseen.
    pages = " ".join(out.split())
    assert (
        f"2 listing page(s) read of at most 2: {region.url('/k/liste2.html')} by `next`" in pages
    )
    code, out = sources_test(
        "--url", region.url("/k/liste.html"), *selectors[:6], "--next", "li.nope a"
    )
    assert "1 listing page(s) read of at most 3; `next` (li.nope a) led to no further page" in (
        " ".join(out.split())
    )
    expected = json.loads((fixtures / "kreis" / "expected.json").read_text(encoding="utf-8"))
    assert [i["title"] for i in expected["items"]] == ["Vor drei Tagen", "Gestern früh"]
    (tmp_path / "check").mkdir()
    test_fixture_still_parses_the_same(fixtures / "kreis", tmp_path / "check")

    # Another page under the same name would replace the fixture: refused.
    code, out = sources_test(
        "kreis", "--url", region.url("/k/liste2.html"), *selectors, "--save-fixture", str(fixtures)
    )
    assert code == 2 and "holds the fixture of" in out and "liste.html" in out
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    code, out = sources_test("burgenlandkreis", "--save-fixture", str(tmp_path / "a-file"))
    assert code == 2 and "cannot write" in out and "a-file" in out


def test_a_fixture_saved_to_a_relative_folder_keeps_its_http_charset(
    demo_config: AppConfig,
    region: SampleRegion,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The command printed named the relative folder, which the test (run from the
    repository's folder) did not find; and a page whose charset only its HTTP head names
    read "500 ¤" in its test, where `sources test` had read "500 €"."""
    from .test_source_fixtures import test_fixture_still_parses_the_same

    body = (
        "<html><body><div class='n'><h3><a href='/k/preis.html'>Preisgeld 500 € für "
        "Gründerinnen</a></h3><span>10.06.2021</span></div></body></html>"
    ).encode("iso-8859-15")
    region.add_route(
        "/k/l9.html", Response(200, body, {"Content-Type": "text/html; charset=iso-8859-15"})
    )
    monkeypatch.chdir(tmp_path)
    code, out = try_url(
        capsys,
        demo_config,
        region.url("/k/l9.html"),
        "--item=div.n",
        "--title=h3",
        "--date=span",
        "--save-fixture=myfix",
    )
    assert code == 0 and "Preisgeld 500 € für Gründerinnen" in out, out
    assert f"REVIER_FEED_FIXTURES={tmp_path / 'myfix'} scripts/test" in out
    (tmp_path / "check").mkdir()
    test_fixture_still_parses_the_same(tmp_path / "myfix" / "k", tmp_path / "check")


def test_sources_test_of_a_saved_source_at_another_address_keeps_its_selectors(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sources test ID --url URL` (a source whose site moved, as the fixture refusal
    suggests) read the saved source as a feed: "not_a_feed"."""
    listing = region.read_site_file("/metropolregion/de/newsarchiv/index.html") or b""
    moved = _serve_page(region, "/neu/newsarchiv/", listing.decode())
    code, out = in_demo(capsys, demo_config, "sources", "test", "metropolregion", "--url", moved)
    assert code == 0, out
    assert f"metropolregion (html) {moved}" in out and "not_a_feed" not in out
    code, out = in_demo(capsys, demo_config, "sources", "test", "metropolregion", "--url", "x/y")
    assert code == 2 and "--url: 'x/y' is not an absolute http(s) URL" in out, out


def test_sources_test_says_why_an_item_dated_ahead_has_no_date(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """It showed "(no date)" without a word, where missing and unreadable dates have one;
    a cycle says nothing (an events listing would warn in every one)."""
    body = (
        b"<html><body><div class='n'><h3><a href='/k/fest.html'>Sommerfest im Park</a></h3>"
        b"<span>31.12.2099</span></div><div class='n'><h3><a href='/k/rat.html'>Gemeinderat "
        b"tagt</a></h3><span>10.06.2021</span></div></body></html>"
    )
    region.add_route("/k/ahead.html", Response(200, body, {"Content-Type": "text/html"}))
    code, out = try_url(
        capsys,
        demo_config,
        region.url("/k/ahead.html"),
        "--item=div.n",
        "--title=h3",
        "--date=span",
    )
    assert code == 0 and "2 items" in out, out
    assert (
        "'Sommerfest im Park': dated '31.12.2099', more than a day ahead (an event's date?): "
        "dated when first seen"
    ) in " ".join(out.split())


def test_sources_test_reads_a_definition_list_and_its_fixture_keeps_the_grouping(
    demo_config: AppConfig,
    region: SampleRegion,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from .test_source_fixtures import test_fixture_still_parses_the_same

    body = (
        "<html><body><dl class='presse'>"
        "<dt>10.06.2021</dt><dd><a href='/k/studien.html'>Studien zu ländlichen Räumen</a></dd>"
        "<dt>03.06.2021</dt><dd><a href='/k/vortrag.html'>Vortrag über Corona</a></dd>"
        "</dl></body></html>"
    ).encode()
    region.add_route("/k/dl.html", Response(200, body, {"Content-Type": "text/html"}))
    fixtures = tmp_path / "fixtures"
    selectors = ["--item", "dl.presse dt", "--title", "dd a", "--date", "dt"]
    code, out = try_url(
        capsys,
        demo_config,
        region.url("/k/dl.html"),
        *selectors,
        "--item-until-next",
        "--save-fixture",
        str(fixtures),
    )
    assert code == 0 and "2 items" in out, out
    assert "Studien zu ländlichen Räumen" in out and "10.06.2021" in out
    saved = (fixtures / "k" / "sources.yaml").read_text(encoding="utf-8")
    assert "item_until_next: true" in saved
    (tmp_path / "check").mkdir()
    test_fixture_still_parses_the_same(fixtures / "k", tmp_path / "check")

    code, out = try_url(capsys, demo_config, region.url("/k/dl.html"), *selectors)
    assert code == 1 and "none has a title" in out


def test_sources_test_reports_errors_and_unknown_ids(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    region.add_route("/kaputt", Response(500))
    code, out = run_cli(
        capsys,
        "--config",
        str(demo_config.config_dir),
        "sources",
        "test",
        "--url",
        region.url("/kaputt"),
    )
    assert code == 1 and "http_5xx" in out
    code, out = run_cli(capsys, "--config", str(demo_config.config_dir), "sources", "test", "bsr")
    assert code == 2 and "no source 'bsr' in sources.yaml" in out and "bbsr" in out


def test_demo_never_clears_a_folder_it_did_not_make(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config").mkdir()
    precious = tmp_path / "config" / "sources.yaml"
    precious.write_text("sources: []\n", encoding="utf-8")
    code, out = run_cli(capsys, "demo", "--output", str(tmp_path))
    assert code == 1
    assert "not empty and was not made by the demo" in out
    assert precious.read_text(encoding="utf-8") == "sources: []\n"


def test_a_backup_onto_a_folder_asks_for_a_file_name(
    demo_config: AppConfig, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--force onto a folder ended in "[Errno 21] Is a directory" from the rename."""
    folder = tmp_path / "sicherung"
    folder.mkdir()
    code, out = in_demo(capsys, demo_config, "backup", str(folder), "--force")
    assert code == 1
    assert f"{folder} is a folder; name the backup's file, e.g. {folder}/revier-feed-" in out
    assert list(folder.iterdir()) == []


def test_explain_and_retag(demo_config: AppConfig, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(demo_config.config_dir)
    assert main(["--config", config, "run", "--once"]) == 0
    capsys.readouterr()
    url = (
        next(
            line.split()[-1]
            for line in (demo_config.output_dir / "feeds" / "all.rss.xml")
            .read_text("utf-8")
            .splitlines()
            if "<link>" in line and "studien-laendliche-raeume-gestartet" in line
        )
        .removeprefix("<link>")
        .removesuffix("</link>")
    )
    code, out = run_cli(capsys, "--config", config, "explain", url)
    assert code == 0
    assert "Neue Studien sollen ländliche Räume" in out
    assert "topic    studien (Studien) <- any: 'Studie*' matched 'Studien' in the title" in out
    assert "source default of source metropolregion" in out

    # The admin adds a rule: explain shows it at once, retag stores it and republishes.
    tags_file = demo_config.config_dir / "tags.yaml"
    tags_file.write_text(
        tags_file.read_text("utf-8")
        + "  - id: kooperation\n    label: Kooperationsorte\n    any: [Kooperationsort*]\n",
        "utf-8",
    )
    code, out = run_cli(capsys, "--config", config, "explain", url)
    assert "kooperation (Kooperationsorte)" in out and "run `revier-feed retag`" in out
    code, out = run_cli(capsys, "--config", config, "retag")
    # The agency's release and both districts' versions mention the Kooperationsorte.
    assert code == 0 and "retagged 36 items: 3 changed" in out
    assert "<category>Kooperationsorte</category>" in (
        demo_config.output_dir / "feeds" / "all.rss.xml"
    ).read_text("utf-8")
    code, out = run_cli(capsys, "--config", config, "explain", "no-such-item")
    assert code == 1 and "no stored item" in out

    # The source is removed from the configuration: its items keep their tags, and explain
    # does not send the admin to retag (which skips them) nor claim that no rule matches.
    sources_file = demo_config.config_dir / "sources.yaml"
    text = sources_file.read_text("utf-8")
    head, _, rest = text.partition("  - id: metropolregion\n")
    sources_file.write_text(head + rest[rest.index("  - id: ") :], "utf-8")
    code, out = run_cli(capsys, "--config", config, "explain", url)
    assert code == 0 and "source metropolregion is no longer configured" in out
    assert "metropolregion, strukturwandel, studien)" in out
    assert "retag" not in out and "no rule matches" not in out
    # "²" is a digit to str.isdigit() but no number: an unknown reference, not a traceback.
    code, out = run_cli(capsys, "--config", config, "explain", "²")
    assert code == 1 and "no stored item" in out
    code, out = run_cli(capsys, "--config", config, "stories", "show", "s²")
    assert code == 1 and "s²" in out


def test_a_store_written_by_newer_code_is_refused_with_a_clear_message(
    demo_config: AppConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(demo_config.config_dir)
    assert main(["--config", config, "run", "--once"]) == 0
    store = demo_config.resolve(demo_config.settings.storage.path)
    with sqlite3.connect(store) as db:
        db.execute("update schema_version set version = ?", (VERSION + 1,))
    capsys.readouterr()
    for command in (["run", "--once"], ["run"], ["backup", str(store) + ".bak"]):
        assert main(["--config", config, *command]) == 1
        err = " ".join(capsys.readouterr().err.split())
        assert (
            f"the store has schema version {VERSION + 1}, but this revier-feed knows only up "
            f"to {VERSION}; upgrade revier-feed or restore a backup" in err
        )
    with sqlite3.connect(store) as db:  # untouched
        assert db.execute("select version from schema_version").fetchone() == (VERSION + 1,)
        assert db.execute("select count(*) from items").fetchone() == (36,)


def test_a_damaged_store_or_lock_is_a_clear_error_not_a_traceback(
    demo_config: AppConfig, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Found by a probe (session 13): each of these ended in a traceback, and a broken
    # store was backed up as if it were whole.
    config = str(demo_config.config_dir)
    assert main(["--config", config, "run", "--once"]) == 0
    store = demo_config.resolve(demo_config.settings.storage.path)
    capsys.readouterr()

    demo_config.lock_path.unlink(missing_ok=True)
    demo_config.lock_path.mkdir()
    code, out = run_cli(capsys, "--config", config, "run", "--once")
    assert code == 1 and "cannot take the store's lock" in out and "Traceback" not in out
    demo_config.lock_path.rmdir()

    with sqlite3.connect(store) as db:
        db.execute("update items set published_at = 'kaputt' where id = 1")
    code, out = run_cli(capsys, "--config", config, "retag")
    assert code == 1 and "the store holds 'kaputt' where a date belongs" in out
    assert "Traceback" not in out

    with sqlite3.connect(store) as db:
        page_size = db.execute("pragma page_size").fetchone()[0]
        (root,) = db.execute("select rootpage from sqlite_master where name = 'items'").fetchone()
    with open(store, "r+b") as file:  # the items table's first page: garbage
        file.seek((root - 1) * page_size)
        file.write(b"\xff" * page_size)
    target = tmp_path / "copy.sqlite3"
    code, out = run_cli(capsys, "--config", config, "backup", str(target))
    assert code == 1 and "the store is damaged" in out and "no backup written" in out
    assert not target.exists()


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"FORCE_COLOR": "1"},
        {"FORCE_COLOR": ""},
        {"TTY_COMPATIBLE": "1"},
        {"TTY_COMPATIBLE": "0"},
    ],
)
def test_the_progress_bar_check_without_rich_never_overrules_rich(
    environ: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `run --once` decides "no progress bar" without importing rich when the output is a
    # file or pipe (cron); whenever it says so, rich, asked the same, must agree.
    from rich.console import Console

    from revier_feed.cli_output import may_be_terminal

    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    leader, follower = os.openpty()
    with (
        (tmp_path / "log").open("w") as file,
        os.fdopen(follower, "w") as tty,
        os.fdopen(leader, "rb"),
    ):
        for stream in (file, tty):
            if not may_be_terminal(stream):
                assert not Console(file=stream).is_terminal
        if not environ:  # a terminal still gets its progress bar
            assert may_be_terminal(tty) and Console(file=tty).is_terminal


# Threads parse ~80 MB of teasers and drop all but a few; then the main thread builds
# ~80 MB of its own, as a collection cycle does before placing stories. Printed: the heap
# that glibc took from the system in all arenas (mallinfo2), not the peak RSS, which moved
# by tens of MB after other tests had run, while this figure did not.
_ARENA_SCRIPT = """
import ctypes, sys, threading
from revier_feed._utils import share_malloc_arena
applied = share_malloc_arena() if sys.argv[1] == "shared" else None
kept = []
def parse():
    texts = [("ä" * 1000) + str(i) for i in range(40_000)]
    kept.extend(texts[::40])
thread = threading.Thread(target=parse)
thread.start()
thread.join()
index = [b"y" * 2000 + str(i).encode() for i in range(40_000)]
class Mallinfo2(ctypes.Structure):
    _fields_ = [(f, ctypes.c_size_t) for f in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = Mallinfo2
info = mallinfo2()
print(applied, (info.arena + info.hblkhd) // 2**20)
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="malloc arenas are glibc's",
)
def test_memory_a_thread_freed_is_reused_by_the_main_thread() -> None:
    """The console script makes threads share one malloc arena: what the parsing threads
    freed serves the story index, instead of the heap holding both."""

    def heap_mb(mode: str) -> tuple[str, int]:
        out = subprocess.run(
            [sys.executable, "-c", _ARENA_SCRIPT, mode], capture_output=True, text=True, check=True
        ).stdout.split()
        return out[0], int(out[1])

    (_, own), (applied, shared) = heap_mb("own"), heap_mb("shared")
    assert applied == "True"
    assert shared < own - 25, (shared, own)  # about 82 MB against 122 MB


_TRIM_SCRIPT = """
from revier_feed._utils import release_free_memory
def resident_mb():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS"))
    return int(line.split()[1]) // 1024
teasers = [b"x" * 2000 + str(i).encode() for i in range(40_000)]
kept = teasers[::40]  # a few stay, between the freed ones, as after a cycle
del teasers
before = resident_mb()
release_free_memory()
print(before, resident_mb())
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="malloc_trim is glibc's",
)
def test_memory_freed_between_live_objects_is_handed_back_to_the_system() -> None:
    """Freed teasers between live objects stayed in the heap: after a first cycle of
    15,000 items the worker kept 159 MB resident for good instead of 95 MB. Every worker
    job ends with this call (scheduler.Worker._end_turn)."""
    out = subprocess.run(
        [sys.executable, "-c", _TRIM_SCRIPT], capture_output=True, text=True, check=True
    ).stdout.split()
    before, after = int(out[0]), int(out[1])
    assert after < before - 40, (before, after)  # about 80 MB freed, 2 MB kept


@pytest.mark.parametrize("value", ["", None])
def test_an_empty_or_unset_config_variable_means_the_config_folder_here(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    value: str | None,
) -> None:
    """An empty REVIER_FEED_CONFIG took the current folder itself for the configuration."""
    write_config(tmp_path / "config", "sources: []\n")
    (tmp_path / "sources.yaml").write_text("sources: [this is not the one]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    if value is None:
        monkeypatch.delenv("REVIER_FEED_CONFIG", raising=False)
    else:
        monkeypatch.setenv("REVIER_FEED_CONFIG", value)
    assert main(["check"]) == 0
    assert str(tmp_path / "config") in capsys.readouterr().out


def test_sources_test_names_the_options_a_source_on_the_command_line_lacks(
    demo_config: AppConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said "html.title: Field required" where the option is --title."""
    url = "https://h.example/news"
    code, out = try_url(capsys, demo_config, url, "--item", "li")
    assert code == 2 and "<command line>: --title: required" in out
    code, out = try_url(capsys, demo_config, url, "--item=li", "--title=h2", "--max-pages=99")
    assert code == 2 and "<command line>: --max-pages: " in out


def test_a_site_s_control_characters_reach_no_terminal_and_no_log_line(
    demo_config: AppConfig,
    region: SampleRegion,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An HTTP reason phrase is the site's text: with ESC in it, the stored error cleared
    the admin's screen in `sources` and `status`, and forged a line of the text log."""
    import logging

    from revier_feed._logging import JsonFormatter, Redactor, TextFormatter

    hostile = "Nope\x1b[2J\x1b]8;;http://evil.example/\x1b\\KLICK\x07"

    def answer(handler: BaseHTTPRequestHandler) -> Response:
        # A status without a standard name, whose phrase the error quotes.
        handler.responses = {499: (hostile, "")}
        return Response(499, b"weg")

    region.add_route("/bbsr/presse/feed.atom", answer)
    with caplog.at_level("WARNING", logger="revier_feed"):
        _, summary = in_demo(capsys, demo_config, "run", "--once")
    assert "\x1b[2J" not in summary and "bbsr" in summary
    for command in (("sources",), ("status",)):
        _, shown = in_demo(capsys, demo_config, *command)
        assert "\\x1b[2J" in shown and "\x1b[2J" not in shown and "\x07" not in shown, command
    (record,) = [r for r in caplog.records if "bbsr" in r.getMessage()]
    text = TextFormatter(Redactor(()))
    assert "\x1b" not in text.format(record) and "\\x1b" in text.format(record)
    raw = logging.makeLogRecord({"msg": "Titel \u202e\x9b31m", "levelname": "INFO"})
    assert "\u202e" not in text.format(raw) and "\x9b" not in text.format(raw)
    assert JsonFormatter(Redactor(())).format(raw).isascii()


def test_run_once_due_fetches_only_what_its_schedule_says(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """From cron, `run --once` asked every source every time, a failing one or one that
    said Retry-After included; `--due` keeps to the schedule, as the worker does."""
    region.add_route("/bbsr/presse/feed.atom", Response(429, headers={"Retry-After": "7200"}))
    assert in_demo(capsys, demo_config, "run", "--once")[0] == 0
    region.requests.clear()
    code, _ = in_demo(capsys, demo_config, "run", "--once", "--due")
    assert code == 0 and region.requests == [], region.requests
    code, out = in_demo(capsys, demo_config, "run", "--due")
    assert code == 2 and "--due is for `run --once`" in out


def test_retention_removes_old_items_and_republishes_for_cron(
    demo_config: AppConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the worker (cron), nothing removed old items: the store grew for ever.
    The demo's items are from 2021, older than the default worker.retention of 365 days
    (which the tests' demo configuration keeps)."""
    assert in_demo(capsys, demo_config, "run", "--once")[0] == 0
    feed = demo_config.output_dir / "feeds" / "all.rss.xml"
    assert "<item>" in feed.read_text(encoding="utf-8")
    code, out = in_demo(capsys, demo_config, "retention")
    assert code == 0
    cutoff = r"\d{4}-\d\d-\d\d \d\d:\d\d CES?T \(worker.retention\)"
    assert re.search(f"removed 36 items published before {cutoff}", out), out
    assert "stories left without items" in out and "file(s) written" in out
    assert "<item>" not in feed.read_text(encoding="utf-8")
    code, out = in_demo(capsys, demo_config, "retention")
    assert code == 0 and "removed 0 items" in out and "written" not in out
    with App(demo_config) as worker, worker.exclusive("revier-feed run"):
        code, out = in_demo(capsys, demo_config, "retention")
        assert code == 1 and "revier-feed run" in out


def test_run_due_fails_only_when_nothing_works_and_status_says_why_a_source_is_stale(
    tmp_path: Path, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """From cron, a run in which only a source already failing was due exited 1 (a false
    alarm for whatever watches the exit code); `status` showed a stale source as
    "stale [None] None"."""
    folder = write_config(
        tmp_path / "config",
        f"""
        sources:
          - id: kreis
            name: Kreis
            url: "{region.url("/landkreis-leipzig/presse/rss.xml")}"
          - id: tot
            name: Tot
            url: "{region.url("/fehlt.xml")}"
        """,
        settings="""
        storage:
          path: state/store.sqlite3
        output:
          dir: out
        fetch:
          retries: 0
        worker:
          stale_after: 1d
        """,
    )
    assert main(["--config", str(folder), "run", "--once", "--due"]) == 0
    with App(load_config(folder)) as app:
        states = app.storage.source_states(["kreis", "tot"])
        past = datetime.now(UTC) - timedelta(days=3)
        app.storage.save_source_states(
            [
                dataclasses.replace(states["tot"], next_fetch_at=past),
                dataclasses.replace(
                    states["kreis"], last_new_item_at=past, status=SourceStatus.STALE
                ),
            ],
            past,
        )
    region.requests.clear()
    assert main(["--config", str(folder), "run", "--once", "--due"]) == 0
    assert (
        "/fehlt.xml" in region.requests
        and "/landkreis-leipzig/presse/rss.xml" not in region.requests
    )
    capsys.readouterr()
    assert main(["--config", str(folder), "status"]) == 0
    out = capsys.readouterr().out
    assert "kreis: stale no new item for a long time (the last on" in out
    capsys.readouterr()
    # A source that worked and fails now (the network is down) fails the run, also when
    # it is the only one due.
    region.add_route("/landkreis-leipzig/presse/rss.xml", Response(500, b"kaputt"))
    with App(load_config(folder)) as app:
        kreis = app.storage.source_states(["kreis"])["kreis"]
        app.storage.save_source_states([dataclasses.replace(kreis, next_fetch_at=past)], past)
    assert main(["--config", str(folder), "run", "--once", "--due"]) == 1
    assert out.index("tot: failing") < out.index("kreis: stale")
    assert "None" not in out


def test_sources_as_json_for_monitoring_problems_first(
    tmp_path: Path, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_config(
        tmp_path / "config",
        f"""
        sources:
          - id: kreis
            name: Kreis
            url: "{region.url("/landkreis-leipzig/presse/rss.xml")}"
          - id: tot
            name: Tot
            url: "{region.url("/fehlt.xml")}"
          - id: neu
            name: Neu
            url: "{region.url("/landkreis-leipzig/presse/rss.xml")}"
            enabled: false
        """,
    )
    assert main(["--config", str(folder), "run", "--once"]) == 0
    capsys.readouterr()
    for command in (
        ["sources", "--json"],
        ["sources", "list", "--json"],
        ["sources", "--json", "list"],
    ):
        code, out = run_cli(capsys, "--config", str(folder), *command)
        assert code == 0
        failing, ok = json.loads(out)
        assert (failing["source"], failing["status"]) == ("tot", "failing")
        assert failing["http_status"] == 404 and failing["error_kind"] == "http_4xx"
        assert failing["consecutive_failures"] == 1 and failing["next_fetch_at"]
        assert (ok["source"], ok["status"], ok["items_last_fetch"]) == ("kreis", "ok", 6)
        assert datetime.fromisoformat(ok["last_success_at"]).tzinfo is not None


def test_options_a_command_refuses_are_not_called_the_configuration_s(
    demo_config: AppConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = in_demo(capsys, demo_config, "sources", "test", "--url", "ftp://x.example/")
    assert code == 2 and "problem(s) with the command's options" in out, out


def test_sources_on_a_narrow_terminal_shows_each_source_whole(
    tmp_path: Path,
    region: SampleRegion,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On 80 columns the table cut times to "2026… 11:05" (the day lost) and statuses and
    ids to "st…"; times had no zone."""
    import io

    from rich.console import Console

    from revier_feed import cli_sources

    folder = write_config(
        tmp_path / "config",
        f"""
        sources:
          - id: landkreis-leipzig-presse
            name: Kreis
            url: "{region.url("/landkreis-leipzig/presse/rss.xml")}"
          - id: tot
            name: Tot
            url: "{region.url("/fehlt.xml")}"
        """,
    )
    assert main(["--config", str(folder), "run", "--once"]) == 0
    screen = io.StringIO()
    monkeypatch.setattr(cli_sources, "console", lambda: Console(file=screen, width=80))
    assert main(["--config", str(folder), "sources"]) == 0
    lines = screen.getvalue().splitlines()
    assert lines[0] == "Sources (2), times in Europe/Berlin"
    assert lines[1].startswith("tot failing · ")
    text = " ".join(line.strip() for line in lines[1:])
    failing, kreis = text.split(" landkreis-leipzig-presse ok · ")
    assert "HTTP 404 · failures 1 · items 0" in failing
    assert failing.split(" [http_4xx] ")[1].startswith("HTTP 404")  # its error, under it
    assert re.search(r"next fetch \d\d\.\d\d\. \d\d:\d\d · every 1h · HTTP 200", kreis)


def test_sources_test_shows_the_teaser_under_each_title(
    demo_config: AppConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only date, title, link and tags were shown: navigation or cookie text caught by a
    teaser selector went unseen until the feeds had it."""
    code, out = in_demo(capsys, demo_config, "sources", "test", "metropolregion")
    assert code == 0
    lines = out.splitlines()
    title = next(i for i, line in enumerate(lines) if "Neue Studien sollen" in line)
    below = " ".join(lines[title : title + 4])
    assert "Im Strukturwandel-Projekt" in below, "\n".join(lines[title : title + 4])


def test_sources_test_tries_options_on_a_saved_source_also_a_disabled_one(
    tmp_path: Path, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """Options given with an ID were ignored without a word (the saved selectors' result
    was shown), and a source with `enabled: false`, one still being tuned, was unknown."""
    folder = write_config(
        tmp_path / "config",
        f"""
        sources:
          - id: agentur
            name: Metropolregion
            kind: html
            url: "{region.url("/metropolregion/de/newsarchiv/")}"
            enabled: false
            html:
              item: article.news-teaser
              title: h9
              date: .news-teaser__date
        """,
    )
    code, out = run_cli(capsys, "--config", str(folder), "sources", "test", "agentur")
    assert code == 1 and "none has a title" in out
    fixed = ("sources", "test", "agentur", "--title", ".news-teaser__title")
    code, out = run_cli(capsys, "--config", str(folder), *fixed)
    assert code == 0, out
    assert "agentur (html)" in out and ": 10 items" in out and "Neue Studien sollen" in out
    # A next page given here is read as with --url: the saved source had one page only.
    region.requests.clear()
    paged = (*fixed, "--next", "a.weiter@href")
    page = region.read_site_file("/metropolregion/de/newsarchiv/") or b""
    region.add_route(
        "/metropolregion/de/newsarchiv/",
        Response(200, page.replace(b"</body>", b'<a class="weiter" href="?seite=2">2</a></body>')),
    )
    code, out = run_cli(capsys, "--config", str(folder), *paged)
    assert code == 0, out
    assert sum(p.startswith("/metropolregion/de/newsarchiv/") for p in region.requests) >= 2


def test_sources_test_names_the_items_a_source_s_rules_leave_out_and_why(
    tmp_path: Path, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_config(
        tmp_path / "config",
        f"""
        sources:
          - id: kreis
            name: Kreis
            url: "{region.url("/landkreis-leipzig/presse/rss.xml")}"
            exclude: {{any: ["Ausbildungs*"], fields: [title]}}
            include: {{any: [Landkreis*, Borna], fields: [title]}}
        """,
    )
    code, out = run_cli(capsys, "--config", str(folder), "sources", "test", "kreis")
    assert code == 0, out
    assert "kreis (feed)" in out and ": 3 items" in out
    assert "3 items left out by the source's rules:" in out
    assert (
        "'Ausbildungsbörse des Landkreises Leipzig startet online': excluded: "
        "'Ausbildungs*' in the title ('ausbildungsboerse')" in out
    )
    assert (
        "'Radwegebau zwischen Grimma und Naunhof beginnt': not included: none of "
        "'Landkreis*', 'Borna' in the title" in out
    )


def test_sources_test_shows_pictures_and_article_length_and_site_text_as_it_is(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """The site's text is shown as text: a teaser ending in backslashes broke rich's
    markup, and the article's length counted entities ("&amp;") as five characters."""
    entries = "".join(
        f'<div class="m"><h3><a href="/art/{i}.html">Meldung {i} aus dem Kreis</a></h3>'
        f'<img src="/bild/{i}.jpg"><p>[bold]Text {i} endet mit \\\\\\</p></div>'
        for i in range(3)
    )
    html = {"Content-Type": "text/html"}
    region.add_route(
        "/liste.html", Response(200, f"<html><body>{entries}</body></html>".encode(), html)
    )
    text = " ".join(["Fisch &amp; Chips &amp; mehr."] * 20)
    article = f"<html><body><article><h1>Meldung</h1><p>{text}</p></article></body></html>"
    for i in range(3):
        region.add_route(f"/art/{i}.html", Response(200, article.encode(), html))
    code, out = try_url(
        capsys,
        demo_config,
        region.url("/liste.html"),
        "--item=div.m",
        "--title=h3",
        "--teaser=p",
        "--image=img@src",
        "--follow",
    )
    assert code == 0, out
    assert "teaser: [bold]Text 0 endet mit \\\\\\" in out
    assert f"picture: {region.url('/bild/0.jpg')}" in out
    # The article's own headline is its title, not part of its text.
    shown = len(" ".join(["Fisch & Chips & mehr."] * 20))
    assert f"article text: {shown} characters" in out, out


def test_discover_does_not_ask_a_feed_the_page_names_at_a_private_address(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    """A page could name an internal service as its feed: discover asked it and printed
    its title as a source to add."""
    with SampleRegion(host="127.0.0.2") as intranet:
        intranet.add_route("/admin/feed.xml", Response(200, b"<rss version='2.0'/>"))
        page = f"""<html><head><title>Presse</title><link rel="alternate"
        type="application/rss+xml" title="Intern" href="{intranet.url("/admin/feed.xml")}">
        </head><body></body></html>"""
        url = _serve_page(region, "/presse/", page)
        code, out = in_demo(capsys, demo_config, "sources", "discover", url)
        assert intranet.requests == []
    assert code == 1, out  # nothing it could offer: the feed was passed over, and why
    assert "127.0.0.2 is not a public address" in " ".join(out.split())


def test_sources_test_shows_an_item_s_files(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>K</title>'
        "<item><title>Bericht erschienen</title><link>https://k.example/1</link>"
        '<enclosure url="/dokumente/bericht.pdf" length="1843200" type="application/pdf"/>'
        "</item></channel></rss>"
    )
    region.add_route(
        "/k/feed.xml", Response(200, feed.encode(), {"Content-Type": "application/rss+xml"})
    )
    code, out = try_url(capsys, demo_config, region.url("/k/feed.xml"))
    assert code == 0, out
    shown = f"file: {region.url('/dokumente/bericht.pdf')} (application/pdf, 1,843,200 bytes)"
    assert shown in out, out


def test_sources_test_tries_a_files_selector(
    demo_config: AppConfig, region: SampleRegion, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (
        "<html><body><div class='m'><h3><a href='/p/1.html'>Studie vorgestellt</a></h3>"
        "<a class='pdf' href='/dok/studie.pdf'>Die Studie</a></div></body></html>"
    )
    region.add_route("/liste.html", Response(200, page.encode(), {"Content-Type": "text/html"}))
    options = ("--item=div.m", "--title=h3")
    code, out = try_url(capsys, demo_config, region.url("/liste.html"), *options)
    assert code == 0, out
    assert "file:" not in out
    code, out = try_url(capsys, demo_config, region.url("/liste.html"), *options, "--files=a.pdf")
    assert code == 0, out
    assert f"file: 'Die Studie' {region.url('/dok/studie.pdf')} (application/pdf)" in out, out


def test_a_fixture_keeps_the_source_s_remove(
    region: SampleRegion, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fixture saved without the source's `remove` failed its own test: the ad its
    selector takes out was an item again."""
    from .test_source_fixtures import test_fixture_still_parses_the_same

    agents: list[str | None] = []
    page = (
        b"<html><body><div class='m'><h3><a href='/p/1.html'>Studie vorgestellt</a></h3></div>"
        b"<div class='m anzeige'><h3><a href='/werbung'>Jetzt kaufen</a></h3></div>"
        b"</body></html>"
    )

    def answer(handler: BaseHTTPRequestHandler) -> Response:
        agents.append(handler.headers.get("User-Agent"))
        return Response(200, page, {"Content-Type": "text/html"})

    region.add_route("/liste.html", answer)
    folder = write_config(
        tmp_path / "config",
        f"""
        sources:
          - id: kreis
            name: Kreis
            kind: html
            url: "{region.url("/liste.html")}"
            remove: .anzeige
            html: {{item: div.m, title: h3}}
        """,
    )
    fixtures = tmp_path / "fixtures"
    code, out = run_cli(
        capsys,
        "--config",
        str(folder),
        "sources",
        "test",
        "kreis",
        "--user-agent",
        "Mozilla/5.0 (compatible; Kreisbot; +mailto:presse@kreis.example)",
        "--save-fixture",
        str(fixtures),
    )
    assert code == 0, out
    assert agents == ["Mozilla/5.0 (compatible; Kreisbot; +mailto:presse@kreis.example)"]
    saved = yaml.safe_load((fixtures / "kreis" / "sources.yaml").read_text(encoding="utf-8"))
    (entry,) = saved["sources"]
    assert entry["remove"] == [".anzeige"]
    # Not the User-Agent: it decides nothing read, and holds this version once filled in.
    assert "user_agent" not in entry
    (tmp_path / "check").mkdir()
    test_fixture_still_parses_the_same(fixtures / "kreis", tmp_path / "check")
