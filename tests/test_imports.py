"""Importing the package stays cheap: heavy dependencies load only when used."""

from __future__ import annotations

import subprocess
import sys

from revier_feed.config import AppConfig


def test_import_does_not_load_heavy_dependencies() -> None:
    code = (
        "import sys, revier_feed; "
        "print(sorted(m for m in ('httpx', 'feedparser', 'apscheduler', 'bs4', "
        "'feedgen', 'pydantic') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_command_line_loads_only_what_a_feed_cycle_needs() -> None:
    # `revier-feed run --once` starts often (cron); the worker's scheduler, HTML scraping,
    # feedparser (the fallback parser), mojibake repair and charset detection load only
    # when a command or a source needs them.
    # Nor do the feed parsers and the sanitizer (lxml, nh3), rich (only what prints with
    # it), or httpx's own command line (click, pygments).
    lazy = (
        "apscheduler",
        "bs4",
        "soupsieve",
        "feedparser",
        "ftfy",
        "charset_normalizer",
        "regex",  # only for re: tag terms
        "lxml",
        "nh3",
        "rich",
        "click",
        "pygments",
        "revier_feed.parse",
        "revier_feed.normalize",
    )
    code = f"import sys, revier_feed.cli; print(sorted(m for m in {lazy!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_reading_a_feed_loads_no_charset_detection() -> None:
    # Every cold cycle reads feeds in every worker; charset detection is for the few pages
    # whose encoding nothing else names (7 ms to import, per process).
    code = (
        "import sys; from revier_feed.parse.feed import parse_feed; "
        "from revier_feed.models import FetchResult; from datetime import datetime, UTC; "
        "from zoneinfo import ZoneInfo; "
        'body = b\'<rss version="2.0"><channel><title>K</title><item><title>A</title>'
        "<link>https://x.example/a</link></item></channel></rss>'; "
        "doc = FetchResult(url='https://x.example/f', status_code=200, headers={}, content=body); "
        "assert parse_feed('s', doc, datetime.now(UTC), ZoneInfo('Europe/Berlin')).items; "
        "print('charset_normalizer' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_cycle_without_news_loads_no_renderer_and_no_mail_code(demo_config: AppConfig) -> None:
    # The common cycle of `run --once` from cron: every source answers 304 and the output is
    # current. It needs neither the feed and page renderers nor the digest's modules, nor
    # the parsers, the sanitizer or rich (its two summary lines are plain text), nor httpx's
    # own transport (httpcore, anyio): the fetcher has its own connections.
    run = [sys.executable, "-c", _RUN_ONCE, str(demo_config.config_dir)]
    first = subprocess.run(run, capture_output=True, text=True, check=True)
    assert "jinja2" in first.stdout.splitlines()[-1]  # the first cycle renders
    again = subprocess.run(run, capture_output=True, text=True, check=True)
    assert "nothing new" in again.stdout
    assert again.stdout.splitlines()[-1] == "[]"


# (Not lxml: the demo's html sources have their selectors checked with soupsieve, whose
# bs4 brings lxml's tree builder.)
_LAZY_IN_A_QUIET_CYCLE = (
    "httpcore",
    "anyio",
    "nh3",
    "rich",
    "click",
    "revier_feed.parse",
    "revier_feed.normalize",
    "jinja2",
    "feedgen",
    "css_inline",
    "smtplib",
    "revier_feed.deliver",
    "revier_feed.digest",
    "revier_feed.publish.feeds",
    "revier_feed.publish.pages",
)
_RUN_ONCE = (
    "import sys; from revier_feed.cli import main; "
    "code = main(['--config', sys.argv[1], '-q', 'run', '--once']); "
    f"print(sorted(m for m in {_LAZY_IN_A_QUIET_CYCLE!r} if m in sys.modules)); "
    "sys.exit(code)"
)
