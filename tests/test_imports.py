"""Importing the package stays cheap: heavy dependencies load only when used."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_load_heavy_dependencies() -> None:
    code = (
        "import sys, revier_feed; "
        "print(sorted(m for m in ('httpx', 'feedparser', 'apscheduler', 'sqlalchemy', 'bs4', "
        "'feedgen', 'pydantic') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_command_line_loads_only_what_a_feed_cycle_needs() -> None:
    # `revier-feed run --once` starts often (cron); the worker's scheduler, HTML scraping,
    # feedparser (the fallback parser), mojibake repair and charset detection load only
    # when a command or a source needs them.
    lazy = ("apscheduler", "bs4", "soupsieve", "feedparser", "ftfy", "charset_normalizer")
    code = f"import sys, revier_feed.cli; print(sorted(m for m in {lazy!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
