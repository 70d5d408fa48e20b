"""The digest commands: preview, send (also --dry-run), log, and the digest lines of status."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from revier_feed import cron
from revier_feed.app import App
from revier_feed.cli import main
from revier_feed.config import load_config
from tests.conftest import Clock, SmtpRecorder

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def collected_before_slot(
    digest_config_dir: Path, clock: Clock, make_app: Callable[..., App]
) -> Path:
    """Stories collected an hour before the last real Monday 07:00 (the CLI uses real time)."""
    slot = cron.parse("0 7 * * mon").last_at_or_before(datetime.now(UTC), BERLIN)
    clock.now = slot - timedelta(hours=1)
    make_app(load_config(digest_config_dir)).run_cycle()
    return digest_config_dir


def test_preview_writes_html_and_eml_and_sends_nothing(
    collected_before_slot: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    smtp_server: tuple[SmtpRecorder, int],
) -> None:
    config = str(collected_before_slot)
    html, eml = tmp_path / "p.html", tmp_path / "p.eml"
    code = main(
        [
            "--config",
            config,
            "digest",
            "preview",
            "iq-netzwerk",
            "--html",
            str(html),
            "--eml",
            str(eml),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Subject: Revier-News KW" in out and "== Innovationspreis ==" in out
    assert html.read_text("utf-8").startswith("<!DOCTYPE html>")
    parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert parsed["To"].addresses[0].addr_spec == "netzwerk@iq.example"
    assert smtp_server[0].messages == []
    assert main(["--config", config, "digest", "preview", "nobody"]) == 1
    assert "unknown partner 'nobody'" in capsys.readouterr().err


def test_send_log_and_status(
    collected_before_slot: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    smtp_server: tuple[SmtpRecorder, int],
) -> None:
    config = str(collected_before_slot)
    outbox = tmp_path / "outbox"
    assert main(["--config", config, "digest", "send", "--dry-run", "--outbox", str(outbox)]) == 0
    assert len(list(outbox.glob("*.eml"))) == 3
    assert smtp_server[0].messages == []
    capsys.readouterr()
    smtp_server[0].rcpt_replies["info@metropolregion.example"] = "550 5.1.1 unknown user"
    assert main(["--config", config, "digest", "send"]) == 1  # one failed for good
    out = capsys.readouterr().out
    assert "iq-netzwerk" in out and "sent" in out and "region" in out and "failed" in out
    assert main(["--config", config, "digest", "send"]) == 0
    assert "no digest is due" in capsys.readouterr().out
    assert main(["--config", config, "digest", "log"]) == 0
    log = capsys.readouterr().out
    assert log.count("sent") == 2 and "failed" in log and "550 5.1.1" in log
    assert main(["--config", config, "status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    digests = {d["partner"]: d for d in report["digests"]}
    assert digests["region"]["last"]["state"] == "failed"
    assert digests["iq-netzwerk"]["last"]["state"] == "sent"
    assert digests["iq-netzwerk"]["due_now"] is False
    next_at = datetime.fromisoformat(digests["iq-netzwerk"]["next"])
    assert (next_at.weekday(), next_at.hour) == (0, 7)
    assert main(["--config", config, "status"]) == 0
    assert "region: next " in capsys.readouterr().out
