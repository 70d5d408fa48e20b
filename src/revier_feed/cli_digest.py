"""The ``revier-feed digest`` commands (send, preview, log) and the digest lines of status."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._utils import visible, write_if_changed
from .app import App
from .cli_output import EXIT_FAILED, EXIT_OK, console
from .config import load_config
from .exceptions import DigestError
from .models import DigestState

if TYPE_CHECKING:
    from rich.console import Console

    from .deliver import DigestOutcome, PartnerStatus

_STATE_STYLE = {
    "sent": "green",
    "empty": "cyan",
    "sending": "yellow",
    "retry": "yellow",
    "failed": "red",
    "superseded": "yellow",
}


def add_parser(commands: Any) -> None:
    """Register ``digest`` and its subcommands on the main parser's subparsers."""
    digest = commands.add_parser("digest", help="the partners' email digest: send, preview, log")
    sub = digest.add_subparsers(metavar="SUBCOMMAND", required=True)
    send = sub.add_parser("send", help="send every digest that is due now (and only those)")
    send.add_argument("--partner", metavar="ID", help="only this partner's digest")
    send.add_argument(
        "--dry-run",
        action="store_true",
        help="write .eml files to the outbox folder instead of sending; nothing is recorded",
    )
    send.add_argument("--outbox", metavar="DIR", help="for --dry-run (default: digest.outbox)")
    send.set_defaults(command=cmd_digest_send)
    preview = sub.add_parser(
        "preview", help="render a partner's digest as of now; nothing is sent or recorded"
    )
    preview.add_argument("partner", metavar="PARTNER", nargs="?")
    preview.add_argument(
        "--admin", action="store_true", help="the admin digest (source problems) instead"
    )
    preview.add_argument("--html", metavar="FILE", help="write the HTML part to FILE")
    preview.add_argument("--eml", metavar="FILE", help="write the whole message to FILE")
    preview.set_defaults(command=cmd_digest_preview)
    log = sub.add_parser("log", help="what was sent when, to whom, with which result")
    log.add_argument("--partner", metavar="ID", help="only this partner")
    log.add_argument("--limit", type=int, default=50, help="rows to show (default 50)")
    log.set_defaults(command=cmd_digest_log)


def cmd_digest_send(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    out = console()
    outbox = None
    if args.dry_run:
        outbox = (
            Path(args.outbox) if args.outbox else config.resolve(config.settings.digest.outbox)
        )

    def show(outcome: DigestOutcome) -> None:
        state = outcome.state.value if outcome.state else "written"
        if outcome.resent_to:
            state = "sent again to " + ", ".join(outcome.resent_to)
        where = f" -> {outcome.path}" if outcome.path else ""
        error = f": {visible(outcome.error)}" if outcome.error else ""
        out.print(
            f"{outcome.partner_id} {outcome.period}: {state}, {outcome.stories} stories"
            f"{where}{error}",
            markup=False,
            soft_wrap=True,
        )

    with App(config) as app:
        outcomes = app.send_due_digests(partner_id=args.partner, outbox=outbox, on_outcome=show)
    if not outcomes:
        out.print("no digest is due")
    bad = (DigestState.FAILED, DigestState.RETRY)
    return EXIT_FAILED if any(o.state in bad for o in outcomes) else EXIT_OK


def cmd_digest_preview(args: argparse.Namespace) -> int:
    if bool(args.partner) == bool(args.admin):
        raise DigestError("digest preview: name a PARTNER or give --admin (one of the two)")
    config = load_config(args.config)
    with App(config, access="read") as app:
        message = app.preview_admin_digest() if args.admin else app.preview_digest(args.partner)[1]
        inactive = not args.admin and not app.partner(args.partner).active
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    if args.html:
        _write(Path(args.html), html.get_content().encode("utf-8"))
    if args.eml:
        _write(Path(args.eml), message.as_bytes())
    out = console()
    out.print(f"Subject: {message['Subject']}", markup=False)
    out.print(f"To: {message['To']}", markup=False)
    if inactive:
        out.print("(the partner is inactive in partners.yaml: nothing is sent to it)")
    out.print()
    out.print(visible(text.get_content()), markup=False)
    return EXIT_OK


def _write(path: Path, data: bytes) -> None:
    """``data`` into ``path``: a file whole or not at all (a full disk left an empty one);
    through a link, into a pipe or a device (/dev/stdout) as it is."""
    try:
        if path.is_symlink() or (path.exists() and not path.is_file() and not path.is_dir()):
            path.write_bytes(data)
        else:
            write_if_changed(path, data)
    except OSError as e:
        raise DigestError(f"could not write {path}: {e.strerror or e}") from None


def cmd_digest_log(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with App(config, access="read") as app:
        partners = [args.partner] if args.partner else None
        entries = app.storage.digest_log(partners, args.limit)
        tz = app.tz
        if args.partner and not entries:
            # A partner taken out of partners.yaml keeps its log; a mistyped one has none.
            app.partner(args.partner)  # DigestError naming the known partners
    from rich.markup import escape  # rich loads only when something is printed with it
    from rich.table import Table

    table = Table(title=f"Digest log ({len(entries)})", title_justify="left")
    for column in ("period", "partner", "state", "stories", "attempts", "updated", "error"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        style = _STATE_STYLE.get(entry.state.value, "")
        updated = (
            entry.updated_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if entry.updated_at else "-"
        )
        table.add_row(
            entry.period,
            entry.partner_id,
            f"[{style}]{entry.state.value}[/]",
            str(entry.stories),
            str(entry.attempts),
            updated,
            escape(visible(entry.error or "")),
        )
    console().print(table)
    return EXIT_OK


def write_previews(app: App, folder: Path) -> list[str]:
    """Each active partner's digest as of now into ``folder`` (``<id>.eml``, ``<id>.html``);
    nothing is sent or recorded. Returns the partner ids."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for partner in app.partners():
        _, message = app.preview_digest(partner.id)
        html = message.get_body(("html",))
        assert html is not None
        (folder / f"{partner.id}.eml").write_bytes(message.as_bytes())
        (folder / f"{partner.id}.html").write_text(html.get_content(), encoding="utf-8")
        written.append(partner.id)
    return written


def status_report(app: App) -> list[dict[str, Any]]:
    """Each partner's digest for ``status``: next one, due now, last result."""
    rows = []
    for status in app.digest_overview():
        rows.append(_status_row(status, app))
    return rows


def _status_row(status: PartnerStatus, app: App) -> dict[str, Any]:
    last = status.last
    return {
        "partner": status.partner.id,
        "active": status.partner.active,
        "next": status.next_at.astimezone(app.tz).isoformat() if status.partner.active else None,
        "due_now": status.due_now,
        "last": None
        if last is None
        else {
            "period": last.period,
            "state": last.state.value,
            "stories": last.stories,
            "attempts": last.attempts,
            "error": last.error,
            "at": last.updated_at.astimezone(app.tz).isoformat() if last.updated_at else None,
        },
    }


def print_status(out: Console, rows: list[dict[str, Any]]) -> None:
    """The digest lines of ``status``."""
    out.print(f"digests: {len(rows)} partners", markup=False)
    for row in rows:
        if not row["active"]:
            out.print(f"  {row['partner']}: inactive", markup=False)
            continue
        nxt = row["next"][:16].replace("T", " ")
        # A digest due now is of the last slot (missed, or waiting for a retry).
        when = f"due now, then {nxt}" if row["due_now"] else f"next {nxt}"
        last = row["last"]
        if last is None:
            result = "never sent"
        else:
            result = f"last {last['period']}: {last['state']}, {last['stories']} stories"
            if last["error"]:
                result += f" ({visible(str(last['error']))})"
        out.print(f"  {row['partner']}: {when}; {result}", markup=False, soft_wrap=True)
