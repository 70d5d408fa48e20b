"""The digest commands: preview, send (also --dry-run), log, and the digest lines of status."""

from __future__ import annotations

import email
import email.policy
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from revier_feed.cli import main
from tests.conftest import SmtpRecorder

BERLIN = ZoneInfo("Europe/Berlin")


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
    assert "inactive" not in out
    # An inactive partner's preview says that nothing goes to it.
    partners = collected_before_slot / "partners.yaml"
    text = partners.read_text("utf-8")
    marker = "  - id: iq-netzwerk\n"
    assert marker in text
    partners.write_text(text.replace(marker, marker + "    active: false\n"), "utf-8")
    assert main(["--config", config, "digest", "preview", "iq-netzwerk"]) == 0
    assert "the partner is inactive in partners.yaml: nothing is sent to it" in " ".join(
        capsys.readouterr().out.split()
    )
    assert main(["--config", config, "digest", "preview", "nobody"]) == 1
    assert "unknown partner 'nobody'" in capsys.readouterr().err


def test_a_preview_that_cannot_be_written_is_a_clear_error_and_leaves_no_empty_file(
    collected_before_slot: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    smtp_server: tuple[SmtpRecorder, int],
) -> None:
    """A full disk left an empty preview and a traceback; so did a folder's name. A file
    size limit makes the write fail for real."""
    import resource
    import signal

    config = str(collected_before_slot)
    out = tmp_path / "preview"
    out.mkdir()
    html = out / "p.html"
    args = ["--config", config, "digest", "preview", "iq-netzwerk"]
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, limit[1]))
    try:
        code = main([*args, "--html", str(html)])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
        signal.signal(signal.SIGXFSZ, handler)
    err = capsys.readouterr().err
    assert code == 1 and f"could not write {html}: File too large" in err
    assert "Traceback" not in err and list(out.iterdir()) == []
    assert main([*args, "--eml", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"could not write {out}: Is a directory" in err and "Traceback" not in err
    # Through a link (or into a pipe or /dev/stdout) as it is: not replaced by a file.
    (out / "ziel.html").write_text("alt", encoding="utf-8")
    (out / "link.html").symlink_to(out / "ziel.html")
    assert main([*args, "--html", str(out / "link.html")]) == 0
    assert (out / "link.html").is_symlink()
    assert (out / "ziel.html").read_text("utf-8").startswith("<!DOCTYPE html>")


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
    assert main(["--config", config, "status"]) == 0
    # Due: the last slot's digest (a dry run records nothing), then the next slot's.
    assert re.search(r"region: due now, then \d{4}-\d\d-\d\d 07:00;", capsys.readouterr().out)
    smtp_server[0].rcpt_replies["info@metropolregion.example"] = "550 5.1.1 unknown user"
    assert main(["--config", config, "digest", "send"]) == 1  # one failed for good
    out = capsys.readouterr().out
    assert "iq-netzwerk" in out and "sent" in out and "region" in out and "failed" in out
    assert main(["--config", config, "digest", "send"]) == 0
    assert "no digest is due" in capsys.readouterr().out
    assert main(["--config", config, "digest", "log"]) == 0
    log = capsys.readouterr().out
    assert log.count("sent") == 2 and "failed" in log and "550 5.1.1" in log
    # A mistyped partner printed an empty log, as if nothing had been sent to it.
    assert main(["--config", config, "digest", "log", "--partner", "regoin"]) == 1
    assert "unknown partner 'regoin' (partners.yaml has: " in capsys.readouterr().err
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


def test_preview_admin_shows_the_source_report_and_sends_nothing(
    collected_before_slot: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    smtp_server: tuple[SmtpRecorder, int],
) -> None:
    config = str(collected_before_slot)
    assert main(["--config", config, "digest", "preview", "--admin"]) == 1
    assert "digest.admins lists no address" in capsys.readouterr().err
    settings = collected_before_slot / "settings.yaml"
    settings.write_text(
        settings.read_text("utf-8").replace(
            "digest:\n", "digest:\n  admins: [technik@news.example]\n"
        ),
        "utf-8",
    )
    eml = tmp_path / "admin.eml"
    assert main(["--config", config, "digest", "preview", "--admin", "--eml", str(eml)]) == 0
    out = capsys.readouterr().out
    assert "Quellenbericht KW" in out and "To: technik@news.example" in out
    parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert parsed["List-Id"] == "Revier-News – Administration <admin.news.example>"
    assert smtp_server[0].messages == []
    # Exactly one of PARTNER and --admin.
    assert main(["--config", config, "digest", "preview"]) == 1
    assert main(["--config", config, "digest", "preview", "region", "--admin"]) == 1
    assert "PARTNER or give --admin" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "broken_line"),
    [("digest.html.j2", 3), ("_layout.html.j2", 2)],
)
def test_check_reports_a_broken_template_with_file_and_line(
    digest_config_dir: Path, capsys: pytest.CaptureFixture[str], name: str, broken_line: int
) -> None:
    config = str(digest_config_dir)
    assert main(["--config", config, "check"]) == 0
    capsys.readouterr()
    templates = digest_config_dir / "templates"
    templates.mkdir(exist_ok=True)
    lines = ["<p>{{ site_title }}</p>"] * 4
    lines[broken_line - 1] = "{% for e in groups %}<p>{{ e.title }</p>"
    (templates / name).write_text("\n".join(lines) + "\n", "utf-8")
    assert main(["--config", config, "check"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{templates / name}, line {broken_line}" in err
    assert "built-in template" in err
    (templates / name).unlink()
    assert main(["--config", config, "check"]) == 0


def test_check_reports_a_name_no_template_is_given_with_its_line(
    digest_config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt name passed check and failed every preview and send."""
    config = str(digest_config_dir)
    templates = digest_config_dir / "templates"
    templates.mkdir(exist_ok=True)
    (templates / "digest.txt.j2").write_text(
        "Hallo {{ partner_name }},\n{{ archive_url }}\n\n{{ url }}: {{ count_text }}\n", "utf-8"
    )
    assert main(["--config", config, "check"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    # The file, as a syntax error names it.
    assert f"template {templates / 'digest.txt.j2'}, line 4: 'url' is no name" in err
    # A name the admin digest is not given, though a partner's digest is.
    (templates / "digest.txt.j2").unlink()
    (templates / "admin.txt.j2").write_text("{{ partner_name }}: {{ sources }}\n", "utf-8")
    assert main(["--config", config, "check"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{templates / 'admin.txt.j2'}, line 1: 'partner_name' is no name this" in err
    # A name asked about first may be missing.
    (templates / "admin.txt.j2").write_text(
        "{% if extra is defined %}{{ extra }}{% endif %}{{ sources }}\n", "utf-8"
    )
    assert main(["--config", config, "check"]) == 0


def test_the_templates_are_given_only_the_names_check_knows(
    digest_config_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What check takes for the names given (GIVEN_NAMES) is what the digests, the archive,
    its index and the admin digest really give their templates."""
    import jinja2

    from revier_feed.digest.render import GIVEN_NAMES, TEMPLATES

    given: dict[str, set[str]] = {}
    render = jinja2.Template.render

    def spy(self: jinja2.Template, *args: Any, **kwargs: Any) -> str:
        given.setdefault(str(self.name), set()).update(dict(*args, **kwargs))
        return render(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Template, "render", spy)
    settings = digest_config_dir / "settings.yaml"
    settings.write_text(
        settings.read_text("utf-8").replace("digest:\n", "digest:\n  admins: [t@news.example]\n"),
        "utf-8",
    )
    config = str(digest_config_dir)
    assert main(["--config", config, "run", "--once"]) == 0
    assert main(["--config", config, "digest", "preview", "region"]) == 0
    assert main(["--config", config, "digest", "preview", "--admin"]) == 0
    capsys.readouterr()
    assert {"digest.txt.j2", "digest.html.j2", "admin.txt.j2", "admin.html.j2"} <= set(given)
    for name in TEMPLATES:  # the pages' templates (another environment) are given others
        assert given.get(name, set()) <= GIVEN_NAMES[name], (name, given[name] - GIVEN_NAMES[name])
