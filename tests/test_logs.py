"""Logs of a real run: one line per fetch and per cycle, as text or JSON, without secrets."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from revier_feed._logging import JsonFormatter, Redactor, TextFormatter
from revier_feed.demo.server import Response, SampleRegion

from .conftest import prepare_test_demo

EXE = Path(sys.executable).parent / "revier-feed"
SMTP_SECRET = "smtp-secret-99"
URL_PASSWORD = "urlpass-77"


def run_once(config_dir: Path, *options: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REVIER_FEED_SMTP_PASSWORD": SMTP_SECRET}
    return subprocess.run(
        [str(EXE), *options, "--config", str(config_dir), "run", "--once"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_json_logs_have_one_event_per_fetch_and_per_cycle_and_no_secrets(
    tmp_path: Path, region: SampleRegion
) -> None:
    config_dir = prepare_test_demo(tmp_path / "demo", region.base_url)
    # The agency's feed moved to an address with a password and a token in it: the
    # worker logs the new address, but never the secrets in it.
    body = region.read_site_file("/bbsr/presse/feed.atom")
    assert body is not None
    region.add_route("/bbsr/neu/feed.atom", Response(200, body, {"Content-Type": "text/xml"}))
    moved = region.url("/bbsr/neu/feed.atom").replace("://", f"://bot:{URL_PASSWORD}@")
    moved += f"?token={SMTP_SECRET}"
    region.add_route("/bbsr/presse/feed.atom", Response(301, b"", {"Location": moved}))
    region.add_route("/leipziger-messe/presse/rss.xml", Response(500, b"down"))
    result = run_once(config_dir, "--log-format", "json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]  # every line is JSON

    fetches = {e["source_id"]: e for e in lines if e.get("event") == "fetch"}
    assert set(fetches) == {
        "metropolregion",
        "landkreis-leipzig",
        "burgenlandkreis",
        "iq-innovationspreis",
        "bbsr",
        "leipziger-messe",
    }
    assert fetches["landkreis-leipzig"]["status"] == fetches["bbsr"]["status"] == "ok"
    assert fetches["landkreis-leipzig"]["new"] == 6
    assert fetches["landkreis-leipzig"]["updated"] == 0
    assert isinstance(fetches["landkreis-leipzig"]["duration"], float)
    failed = fetches["leipziger-messe"]
    assert (failed["level"], failed["status"], failed["error_kind"]) == (
        "warning",
        "error",
        "http_5xx",
    )
    (cycle,) = [e for e in lines if e.get("event") == "cycle"]
    assert (cycle["sources"], cycle["failed"]) == (6, 1)
    assert cycle["new"] == sum(f["new"] for f in fetches.values())
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in lines)

    assert SMTP_SECRET not in result.stderr and URL_PASSWORD not in result.stderr
    assert any("moved permanently to" in e["message"] and "***" in e["message"] for e in lines)


def test_text_logs_are_readable_lines_and_the_level_filters(
    tmp_path: Path, region: SampleRegion
) -> None:
    config_dir = prepare_test_demo(tmp_path / "demo", region.base_url)
    region.add_route("/leipziger-messe/presse/rss.xml", Response(500, b"down"))
    text = run_once(config_dir).stderr
    assert "INFO    source landkreis-leipzig: ok, 6 new, 0 updated, 0 unchanged in" in text
    # The time before the message: after its hint it read "…check the URL in 0.00s".
    assert re.search(
        r"WARNING source leipziger-messe: error \(http_5xx\) after \d+\.\d\ds: \S", text
    )
    # Retries name the address (robots.txt's named no site).
    messe = region.url("/leipziger-messe/presse/rss.xml")
    assert f"INFO    source leipziger-messe: http_5xx at {messe}, retrying in " in text
    assert "INFO    cycle: 6 sources, " in text and ", 1 failed in " in text
    quiet = run_once(config_dir, "--log-level", "warning").stderr
    assert "WARNING source leipziger-messe: error (http_5xx)" in quiet
    assert "INFO" not in quiet


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_into_the_journal_each_line_carries_its_priority(
    tmp_path: Path, region: SampleRegion, fmt: str
) -> None:
    """journald files a service's stderr as "info", line by line, unless a line starts with
    its syslog priority: `journalctl -p warning` showed none of the worker's warnings. The
    journal is stood in for by a file whose device and inode JOURNAL_STREAM names, as
    systemd sets it."""
    config_dir = prepare_test_demo(tmp_path / "demo", region.base_url)
    settings = config_dir / "settings.yaml"
    fast = settings.read_text("utf-8").replace("fetch:\n", "fetch:\n  retry_backoff: 0.05s\n")
    settings.write_text(fast, "utf-8")  # the failing source's retries need not wait
    region.add_route("/leipziger-messe/presse/rss.xml", Response(500, b"down"))
    journal = tmp_path / "journal"
    with journal.open("w") as stream:
        stat = os.fstat(stream.fileno())
        env = {**os.environ, "JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}"}
        command = [str(EXE), "--log-format", fmt, "--config", str(config_dir), "run", "--once"]
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=stream, env=env, timeout=120)
    lines = journal.read_text("utf-8").splitlines()
    assert lines and all(re.match(r"<[2-7]>", line) for line in lines), lines
    warning = next(line for line in lines if "leipziger-messe: error (http_5xx)" in line)
    assert warning.startswith("<4>")
    assert any(line.startswith("<6>") and "landkreis-leipzig" in line for line in lines)
    if fmt == "json":
        assert json.loads(warning[3:])["level"] == "warning"
    # Redirected elsewhere (a file of its own, a pipe), the lines are as before.
    assert not run_once(config_dir, "--log-format", fmt).stderr.startswith("<")


def test_redaction_covers_tracebacks_and_both_formats() -> None:
    redact = Redactor(["s3cret-value", "short"[:3]])
    try:
        raise RuntimeError("login with s3cret-value to https://u:pw-1234@example.org/x failed")
    except RuntimeError:
        record = logging.LogRecord("revier_feed", logging.ERROR, "x", 1, "boom", None, None)
        record.exc_info = sys.exc_info()
    for formatter in (TextFormatter(redact), JsonFormatter(redact)):
        out = formatter.format(record)
        assert "s3cret-value" not in out and "pw-1234" not in out
        assert "https://u:***@example.org/x" in out
    # Too short to be a secret worth mangling every line for.
    assert redact("sho") == "sho"


def test_a_secret_beyond_ascii_is_masked_in_the_ascii_json_log() -> None:
    """The JSON log is ASCII (a site's U+2028 must split no line), so "ü" is written
    "\\u00fc": masked after that, a password with umlauts went into the log whole."""
    redact = Redactor(["Grüße-2026!"])
    record = logging.LogRecord(
        "revier_feed",
        logging.ERROR,
        "x",
        1,
        "login %s failed\u2028%s",
        ("Grüße-2026!", "Straße"),
        None,
    )
    out = JsonFormatter(redact).format(record)
    assert out.isascii() and "Gr\\u00fc\\u00dfe" not in out and "***" in out
    assert json.loads(out)["message"] == "login *** failed\u2028Straße"
    text = TextFormatter(redact).format(record)
    assert "Straße" in text and "\u2028" not in text and "***" in text
    # A soft hyphen is no control: German headlines are full of them.
    soft = logging.LogRecord("revier_feed", logging.INFO, "x", 1, "Kinder\u00adtages", None, None)
    assert "Kinder\u00adtages" in TextFormatter(redact).format(soft)


def test_a_secret_that_json_escapes_is_masked_in_the_json_log() -> None:
    """Masked after json.dumps, a password with a '"' or a backslash was found no more
    (found by an admin's walkthrough, session 37); so were secrets in an event's extras."""
    redact = Redactor(['Ab"cd\\ef12'])
    record = logging.LogRecord(
        "revier_feed", logging.WARNING, "x", 1, "redirected to /nf?pw=%s", ('Ab"cd\\ef12',), None
    )
    record.issues = ['pw=Ab"cd\\ef12 refused']
    out = JsonFormatter(redact).format(record)
    assert "Ab" not in out.replace("Aborted", "")
    entry = json.loads(out)
    assert entry["message"] == "redirected to /nf?pw=***"
    assert entry["issues"] == ["pw=*** refused"]


def test_secrets_are_found_by_the_names_the_docs_give(monkeypatch: pytest.MonkeyPatch) -> None:
    """`MAILPW` and `DB_PWD` look like the documented names and were logged in clear."""
    for name in ("SMTP_PW", "MAILPW", "DB_PWD", "DB_PW_FILE", "REVIER_FEED_SMTP_PASSWORD"):
        monkeypatch.setenv(name, f"geheim-{name}")
    # The shell's current folder is no secret: every path under it would be masked.
    monkeypatch.setenv("PWD", "/srv/revier-feed")
    monkeypatch.setenv("OLDPWD", "/srv/revier-feed/alt")
    redact = Redactor.from_environment()
    for name in ("SMTP_PW", "MAILPW", "DB_PWD", "DB_PW_FILE", "REVIER_FEED_SMTP_PASSWORD"):
        assert redact(f"login geheim-{name} failed") == "login *** failed"
    assert redact("store /srv/revier-feed/alt/x") == "store /srv/revier-feed/alt/x"
