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
