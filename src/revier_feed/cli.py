"""The ``revier-feed`` command line: check, run, serve, status, sources, stories, digest, demo."""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from . import __version__, _logging, cli_digest, cli_sources, cli_stories
from ._utils import share_malloc_arena, visible
from .app import App, digest_renderer, running_worker
from .cli_output import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    SEVERITY,
    by_severity,
    console,
    error_console,
    may_be_terminal,
    print_json,
)
from .config import AppConfig, load_config
from .exceptions import (
    ConfigError,
    DigestError,
    RevierError,
    ServeError,
)
from .models import CycleSummary, ReportStatus, SourceReport

if TYPE_CHECKING:
    from rich.console import Console

    from .publish import PublishResult
    from .serve import FeedServer


DEFAULT_CONFIG = "config"


def run() -> NoReturn:
    """:func:`main` as the whole life of a process: the ``revier-feed`` console script
    (and ``python -m revier_feed``), through :func:`._console.run`."""
    # What importing made (tens of thousands of objects: pydantic's models, httpx, the
    # dataclasses) lives until the process exits. Frozen, the garbage collector no longer
    # scans it in full collections nor once more at exit: 5 % of the instructions of
    # start-up and exit. Not in main(), which tests call in-process: their garbage must
    # stay collectable.
    gc.freeze()
    share_malloc_arena()
    # `kill PID`, a container's or a systemd oneshot's stop: ended as Ctrl-C ends it (it
    # ended at once, without a word). The worker and `serve` set their own handlers.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = main()
    except KeyboardInterrupt as e:
        # Ctrl-C in a command (the worker handles it itself): every write is a transaction,
        # so the store holds what was done, nothing half; a traceback would say otherwise.
        print(
            "\ninterrupted: what was stored is kept; sources not stored yet are still due",
            file=sys.stderr,
        )
        code = EXIT_TERMINATED if isinstance(e, _Terminated) else EXIT_INTERRUPTED
    leave(code)


class _Terminated(KeyboardInterrupt):
    """SIGTERM in a command."""


def _terminate(_signum: int, _frame: object) -> None:
    raise _Terminated


def leave(code: int) -> NoReturn:
    """End the process with ``code``; without tearing the interpreter down if the command
    left nothing running (no other thread, no child process)."""
    # At exit CPython frees every object one by one: after a first cycle (a story index,
    # the items' features) that took about 0.34 s, after a cycle of 304s about 0.05 s, and
    # nothing needs it. With a thread or a child process still alive, atexit must join
    # them: then the normal way. (mypy ends the same way, for the same reason.)
    import multiprocessing
    import threading

    if threading.active_count() > 1 or multiprocessing.active_children():
        sys.exit(code)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        # A reader that went away, a closed stream: nothing left to tell it.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    level_name = args.log_level
    if level_name is None and not (args.verbose or args.quiet):
        level_name = os.environ.get("REVIER_FEED_LOG_LEVEL") or None
    if level_name is not None and level_name not in _logging.LEVELS:
        parser.error(f"REVIER_FEED_LOG_LEVEL: choose from {', '.join(_logging.LEVELS)}")
    if args.log_format not in _logging.FORMATS:
        parser.error(f"REVIER_FEED_LOG_FORMAT: choose from {', '.join(_logging.FORMATS)}")
    if level_name is not None:
        level = _logging.LEVELS[level_name]
    else:
        level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    _logging.configure(level, args.log_format)
    command: Callable[[argparse.Namespace], int] = args.command
    try:
        return command(args)
    except ConfigError as e:
        _print_config_error(e)
        return EXIT_CONFIG
    except RevierError as e:
        from rich.markup import escape

        error_console().print(f"[red]error:[/] {escape(visible(str(e)))}", soft_wrap=True)
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="revier-feed",
        description="Collect a region's news from feeds and web pages and publish them as feeds.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--config",
        metavar="DIR",
        default=os.environ.get("REVIER_FEED_CONFIG") or DEFAULT_CONFIG,  # set but empty too
        help="configuration folder (default: $REVIER_FEED_CONFIG or ./config)",
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    verbosity.add_argument(
        "--log-level",
        choices=list(_logging.LEVELS),
        help="debug, info, warning or error (default: $REVIER_FEED_LOG_LEVEL, else info)",
    )
    parser.add_argument(
        "--log-format",
        choices=_logging.FORMATS,
        default=os.environ.get("REVIER_FEED_LOG_FORMAT") or "text",
        help="text: one readable line per event; json: one JSON object per line "
        "(default: $REVIER_FEED_LOG_FORMAT, else text)",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="validate the configuration and summarize it")
    check.set_defaults(command=cmd_check)

    run = commands.add_parser("run", help="run the worker (or one cycle with --once)")
    run.add_argument("--once", action="store_true", help="fetch every source once, publish, exit")
    run.add_argument(
        "--due",
        action="store_true",
        help="with --once: only the sources that are due (their interval, backoff and "
        "Retry-After honoured), for running it from cron",
    )
    run.add_argument(
        "--serve", action="store_true", help="also serve the output folder (see `serve`)"
    )
    _address_options(run)
    run.set_defaults(command=cmd_run)

    serve = commands.add_parser(
        "serve", help="serve the output folder over HTTP, with /healthz and /metrics"
    )
    _address_options(serve)
    serve.set_defaults(command=cmd_serve)

    reload = commands.add_parser(
        "reload", help="make the running worker re-read its configuration (SIGHUP)"
    )
    reload.set_defaults(command=cmd_reload)

    backup = commands.add_parser(
        "backup", help="copy the store to FILE, safely while the worker runs"
    )
    backup.add_argument("file", metavar="FILE", help="where to write the copy")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    backup.set_defaults(command=cmd_backup)

    status = commands.add_parser("status", help="worker, sources and stories at a glance")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(command=cmd_status)

    cli_sources.add_parser(commands)

    explain = commands.add_parser("explain", help="show why an item has each of its tags")
    explain.add_argument("item", metavar="ITEM", help="the item's id, URL or guid")
    explain.set_defaults(command=cmd_explain)

    cli_stories.add_parser(commands)
    cli_digest.add_parser(commands)

    retag = commands.add_parser(
        "retag", help="apply changed tag rules and districts to every stored item, republish"
    )
    retag.set_defaults(command=cmd_retag)

    retention = commands.add_parser(
        "retention",
        help="remove items older than worker.retention, republish (the worker does so "
        "nightly; for cron)",
    )
    retention.set_defaults(command=cmd_retention)

    demo = commands.add_parser("demo", help="run one cycle on the bundled sample region")
    demo.add_argument(
        "--output",
        metavar="DIR",
        default="demo-output",
        help="where the demo leaves its feeds and store (default: ./demo-output)",
    )
    demo.add_argument(
        "--serve",
        action="store_true",
        help="then serve the output and keep the sample websites up until Ctrl-C, to try the "
        "other commands on the demo's configuration",
    )
    _address_options(demo)
    demo.set_defaults(command=cmd_demo)
    return parser


# --- commands ------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    out = console()
    try:
        digest_renderer(config).check()
    except DigestError as e:
        from rich.markup import escape

        error_console().print(
            f"[red]error:[/] digest {escape(str(e))}\n"
            f"  hint: fix the file in {config.resolve(config.settings.digest.templates)} "
            "or remove it to use the built-in template",
            soft_wrap=True,
        )
        return EXIT_CONFIG
    out.print(f"[green]ok[/]: {config.config_dir}")
    disabled = f" ({len(config.disabled_sources)} disabled)" if config.disabled_sources else ""
    out.print(
        f"  {len(config.sources)} sources{disabled}, {len(config.tags)} tags, "
        f"{len(config.districts)} districts, {len(config.channels)} channels, "
        f"{len(config.partners)} partners"
    )
    out.print(f"  store:  {config.storage_url}")
    out.print(f"  output: {config.output_dir}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    if args.once and args.serve:
        print("error: --serve needs the worker, but `run --once` exits", file=sys.stderr)
        return EXIT_CONFIG
    if args.due and not args.once:
        print(
            "error: --due is for `run --once`; the worker always fetches what is due",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    config = load_config(args.config)
    command = "revier-feed run" + (" --once" if args.once else " --serve" if args.serve else "")
    with App(config) as app, app.exclusive(command):
        if args.once:
            return _run_once(app, only_due=args.due)
        from .scheduler import run_worker  # APScheduler: only the worker needs it

        server = _server(app, args) if args.serve else None
        if server is not None:
            server.start()
        try:
            run_worker(app, config.settings.worker.tick)
        finally:
            if server is not None:
                server.stop()
        return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with App(config) as app:
        server = _server(app, args)
        print(f"serving {config.output_dir} at {server.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            # uvicorn stops on SIGINT and SIGTERM, then raises the signal again: it has
            # stopped cleanly (this ended in "interrupted", exit 130, after a clean stop).
            server.run()
    return EXIT_OK


def _address_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default: serve.host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: serve.port, 8000)")


def _server(app: App, args: argparse.Namespace) -> FeedServer:
    from .serve import FeedServer  # uvicorn is imported only by the commands that serve

    settings = app.config.settings.serve
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    try:
        return FeedServer(app, host, port)
    except OSError as e:
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None


def cmd_reload(args: argparse.Namespace) -> int:
    out = console()
    try:
        config = load_config(args.config)
    except ConfigError as e:
        _print_config_error(e)
        print(
            "nothing was sent: the running worker keeps its current configuration",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    pid, holder = running_worker(config)
    if holder is None:
        # Runs from cron have no worker to tell, but the pauses sites asked for are kept
        # in the store: an admin who knows a site is back ends them here, as a reload does.
        hosts, sources, digests = _end_stored_pauses(config)
        if hosts or sources or digests:
            ended = f"the pauses {', '.join(hosts)} had asked for" if hosts else ""
            if sources:
                waits = f"the waits beyond their own backoff of {', '.join(sources)}"
                ended = f"{ended} and {waits}" if ended else waits
            if digests:
                mail = f"the wait of {digests} digest(s) for the mail server"
                ended = f"{ended} and {mail}" if ended else mail
            out.print(
                f"no worker is running for this store; ended {ended}: the next run asks "
                "them again",
                markup=False,
                soft_wrap=True,
            )
            return EXIT_OK
        out.print(
            f"no worker is running for this store (lock {config.lock_path} is free); "
            "nothing to reload. Start one with `revier-feed run`, unless this "
            "configuration's storage.path was changed while a worker runs: that worker "
            "keeps its store until it is restarted (two would publish into one folder).",
            markup=False,
            soft_wrap=True,
        )
        return EXIT_FAILED
    if pid is None:
        out.print(
            f"the worker holding this store runs elsewhere ({holder}); reload it there",
            markup=False,
            soft_wrap=True,
        )
        return EXIT_FAILED
    os.kill(pid, signal.SIGHUP)
    out.print(
        f"reload requested from the worker ({holder}); the configuration is valid and is "
        "used from its next cycle (its log confirms)",
        markup=False,
        soft_wrap=True,
    )
    return EXIT_OK


def _end_stored_pauses(config: AppConfig) -> tuple[list[str], list[str], int]:
    """End the hosts' pauses kept in the store (none if there is no store yet), the waits
    they put on their sources, and the digests' wait for a mail server that could not be
    reached; the hosts, the sources and how many digests."""
    if not config.store_file.exists():
        return [], [], 0
    with App(config) as app:
        paused = [host for host, _ in app.paused_hosts()]
        return paused, app.end_host_pauses(), app.end_mail_server_wait()


def cmd_backup(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    target = Path(args.file).resolve()
    out = console()
    if target.is_dir():
        # --force would not help (a folder is not replaced by a file): say what to give.
        name = f"{config.store_file.stem}-{date.today().isoformat()}.sqlite3"
        out.print(
            f"{target} is a folder; name the backup's file, e.g. {target / name}",
            markup=False,
            soft_wrap=True,
        )
        return EXIT_FAILED
    if target.exists() and not args.force:
        out.print(f"{target} exists; use --force to replace it", markup=False)
        return EXIT_FAILED
    if not target.parent.is_dir():
        out.print(f"folder {target.parent} does not exist", markup=False)
        return EXIT_FAILED
    with App(config, access="copy") as app:
        app.backup(target)
        items = app.storage.count_items()
    size = target.stat().st_size
    out.print(
        f"backup of {config.storage_url} written to {target} ({size / 1e6:.1f} MB, {items} items)",
        markup=False,
        soft_wrap=True,
    )
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    # A store that is not there yet is made by opening it: say so, since a mistyped
    # storage.path would otherwise look like a store with nothing in it.
    store_existed = config.store_file.exists()
    with App(config, access="read") as app:
        holder = app.worker_holder()
        paused = app.paused_hosts()
        overview = app.source_overview()
        now = app.now()
        ids = [s.id for s in config.sources]
        last_day = app.storage.count_new_stories(ids, now - timedelta(days=1))
        last_week = app.storage.count_new_stories(ids, now - timedelta(days=7))
        digests = cli_digest.status_report(app)
    by_status: dict[str, int] = {}
    for _, state in overview:
        status = state.status.value if state else "new"
        by_status[status] = by_status.get(status, 0) + 1
    problems = [
        {
            "source": spec.id,
            "status": state.status.value,
            "error_kind": state.last_error_kind,
            "error": state.last_error,
            "failures": state.error_count,
            "last_new_item_at": state.last_new_item_at.isoformat()
            if state.last_new_item_at
            else None,
        }
        for spec, state in sorted(overview, key=by_severity)
        if state is not None and state.status.value not in ("ok", "new")
    ]
    report = {
        "store": {"path": str(config.store_file), "created_now": not store_existed},
        "worker": {
            "running": holder is not None,
            "holder": holder.who if holder else None,
            "cycles_failing": holder.note if holder and holder.note else None,
        },
        "sources": {"total": len(overview), "by_status": by_status, "problems": problems},
        "hosts_paused": [{"host": host, "until": until.isoformat()} for host, until in paused],
        "stories": {"new_24h": last_day, "new_7d": last_week},
        "digests": digests,
    }
    out = console()
    if args.json:
        print_json(out, report)
        return EXIT_OK
    created = " (created now: no cycle has run on it; is storage.path right?)"
    out.print(f"store: {config.store_file}{'' if store_existed else created}", markup=False)
    out.print(f"worker: {'running, ' + holder.who if holder else 'not running'}", markup=False)
    if holder and holder.note:
        out.print(f"  its cycles fail: {visible(holder.note)}", markup=False, soft_wrap=True)
    counts = ", ".join(
        f"{n} {s}" for s, n in sorted(by_status.items(), key=lambda p: SEVERITY[p[0]])
    )
    out.print(f"sources: {len(overview)} ({counts})", markup=False)
    for problem in problems:
        if problem["error"]:
            why = f"[{problem['error_kind']}] {visible(str(problem['error']))}"
        else:  # stale: no error, just no news
            why = "no new item for a long time"
            since = problem.get("last_new_item_at")
            if since:
                why += f" (the last on {str(since)[:10]})"
        out.print(
            f"  {problem['source']}: {problem['status']} {why}", markup=False, soft_wrap=True
        )
    for host, until in paused:
        local = until.astimezone(app.tz).strftime("%Y-%m-%d %H:%M")
        out.print(
            f"  host {host} asked for a pause (429 or Retry-After): its sources are not "
            f"asked before {local} (`revier-feed reload` ends it)",
            markup=False,
            soft_wrap=True,
        )
    out.print(
        f"stories: {last_day} new in the last 24 hours, {last_week} in the last 7 days",
        markup=False,
    )
    cli_digest.print_status(out, digests)
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    out = console()
    with App(config, access="read") as app:
        found = app.explain(args.item)
    if found is None:
        out.print(f"no stored item with id, URL or guid {args.item!r}", markup=False)
        return EXIT_FAILED
    stored, matches = found
    item = stored.item
    labels = {t.id: t.label for t in config.tags} | {d.id: d.name for d in config.districts}
    out.print(f"item {stored.id} from {item.source_id}: {visible(item.title)}", markup=False)
    if item.url:
        out.print(f"  {visible(item.url)}", markup=False)
    stored_tags = sorted(item.tags | item.districts)
    if matches is None:
        out.print(
            f"  source {item.source_id} is no longer configured: the rules do not apply to its "
            f"items, which keep their stored tags ({', '.join(stored_tags) or 'none'}), stay out "
            "of the feeds and digests, and are removed by retention like any other",
            markup=False,
            soft_wrap=True,
        )
        return EXIT_OK
    if not matches:
        out.print("  no tags: no rule matches and the source adds none", markup=False)
    for match in matches:
        label = labels.get(match.tag, match.tag)
        if match.term is None:
            why = f"{match.reason} of source {item.source_id}"
        else:
            why = f"{match.reason}: {match.term!r} matched {match.matched!r} in the {match.field}"
        out.print(f"  {match.kind:8} {match.tag} ({label}) <- {why}", markup=False, soft_wrap=True)
    current = sorted({m.tag for m in matches})
    if stored_tags != current:
        out.print(
            f"  stored tags differ ({', '.join(stored_tags) or 'none'}): run "
            "`revier-feed retag` to apply the current rules",
            markup=False,
        )
    return EXIT_OK


def cmd_retag(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with App(config) as app:
        total = app.storage.count_items()
        with _bar("retagging", total) as advance:
            seen, changed = app.retag(on_progress=advance)
    console().print(f"retagged {seen} items: {changed} changed; feeds republished", markup=False)
    return EXIT_OK


def cmd_retention(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    # Under the worker's lock: a cycle placing items must not see them removed midway (the
    # worker's own nightly run waits for its cycle the same way).
    with App(config) as app, app.exclusive("revier-feed retention"):
        cutoff = app.now() - config.settings.worker.retention
        result = app.retire_old_items()
        published = app.publish() if result.items else None
    out = console()
    out.print(
        f"removed {result.items} items published before "
        f"{cutoff.astimezone(app.tz).strftime('%Y-%m-%d %H:%M %Z')} (worker.retention) and "
        f"{result.stories} stories left without items; forgot {result.tombstones} removed "
        "items their sources have not listed for as long",
        markup=False,
        soft_wrap=True,
    )
    if published is not None:
        out.print(
            f"published to {config.output_dir}: {len(published.written)} file(s) written, "
            f"{len(published.unchanged)} unchanged",
            markup=False,
            soft_wrap=True,
        )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import SampleRegion, prepare_demo

    output = Path(args.output).resolve()
    out = console()
    if not args.verbose:
        # The summary table tells the demo's story; per-source log lines would only repeat it.
        logging.getLogger("revier_feed").setLevel(logging.WARNING)
    with SampleRegion() as region:
        config_dir = prepare_demo(output, region.base_url)
        config = load_config(config_dir)
        out.print(f"Sample region: {len(config.sources)} websites at {region.base_url}")
        with App(config) as app, app.exclusive("revier-feed demo"):
            code = _run_once(app)
            previews = cli_digest.write_previews(app, output / "digest-preview")
        _print_demo_output(out, output, config_dir, previews, args.serve)
        if args.serve:
            with App(config) as app:
                server = _server(app, args)
                out.print(
                    f"Serving {output} at {server.url} and the sample websites at "
                    f"{region.base_url} until Ctrl-C. Meanwhile, in another terminal, the "
                    f"other commands work on the demo: `revier-feed --config {config_dir} "
                    "sources test bbsr`, `… run --once`, `… stories`",
                    soft_wrap=True,
                    markup=False,
                )
                with contextlib.suppress(KeyboardInterrupt):
                    server.run()  # as in `serve`: stops cleanly on SIGINT and SIGTERM
    return code


def _print_demo_output(
    out: Console, output: Path, config_dir: Path, previews: list[str], serving: bool
) -> None:
    out.print()
    out.print(f"Demo output in [bold]{output}[/]:")
    where = (
        ""
        if serving
        else f"; `revier-feed --config {config_dir} serve` shows them at http://localhost:8000/"
    )
    out.print(
        f"  page:   {output / 'index.html'}  (one more per channel in channels/{where})",
        soft_wrap=True,
    )
    out.print(
        f"  feeds:  {output / 'feeds'}  (all news: all.rss.xml, all.atom.xml, all.json; "
        "one set per topic, district and channel; feeds.opml lists them all)",
        soft_wrap=True,
    )
    out.print(
        f"  digest: {output / 'digest-preview'}  (what each sample partner would receive: "
        f"{', '.join(previews)}, as .eml and .html)",
        soft_wrap=True,
    )
    out.print(f"  store:  {output / 'state' / 'revier-feed.sqlite3'}")
    out.print(f"  config: {config_dir}  (the configuration the demo generated)")
    if not serving:
        out.print(
            "The sample websites stopped with the demo: `revier-feed demo --serve` keeps them "
            "up (and serves the output) to try the commands that fetch on this configuration.",
            soft_wrap=True,
        )


# --- helpers -------------------------------------------------------------------------------


#: Sources with news (and no problem) listed at most in the summary of ``run --once``.
SUMMARY_NEWS_ROWS = 40


def _run_once(app: App, *, only_due: bool = False) -> int:
    with _progress() as (on_start, on_report, on_deferred):
        summary = app.run_ingest(
            only_due=only_due, on_start=on_start, on_report=on_report, on_deferred=on_deferred
        )
    try:
        published = app.publish()
    except RevierError:
        # What was collected is stored either way; the admin sees it before the error.
        _print_summary(app.config, summary, None)
        raise
    _print_summary(app.config, summary, published)
    reports = summary.reports
    # Sources left for later because their site asked for a pause did not fail; left for
    # later because their site let a request time out, they do not hide that failure.
    waiting = len(summary.deferred) > len(summary.unanswered)
    if not reports or waiting or any(r.status is not ReportStatus.ERROR for r in reports):
        return EXIT_OK
    # With --due (cron every few minutes) often only sources already failing are due: their
    # failing again is no failure of the run; a source that worked and fails now is.
    if only_due and all(r.source_id in summary.failing_before for r in reports):
        return EXIT_OK
    return EXIT_FAILED


def _terminal_stderr() -> Console | None:
    """rich's console on standard error if that is a terminal (for progress bars)."""
    if not may_be_terminal(sys.stderr):
        return None
    console = error_console()
    return console if console.is_terminal else None


@contextmanager
def _progress() -> Iterator[
    tuple[Callable[[int], None], Callable[[SourceReport], None], Callable[[str, str], None]]
]:
    """A progress bar on a terminal; silent callbacks otherwise (cron, CI, pipes)."""
    console = _terminal_stderr()
    if console is None:
        yield (lambda _n: None), (lambda _r: None), (lambda _s, _w: None)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("collecting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("collect", total=None, last="")

        def on_start(total: int) -> None:
            progress.update(task, total=total)

        def on_report(report: SourceReport) -> None:
            progress.update(task, advance=1, last=report.source_id)

        def on_deferred(source_id: str, _why: str) -> None:
            progress.update(task, advance=1, last=source_id)

        yield on_start, on_report, on_deferred


@contextmanager
def _bar(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal; a silent callback otherwise."""
    console = _terminal_stderr()
    if console is None:
        yield lambda _n: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.update(task, advance=n)


def _print_summary(
    config: AppConfig, summary: CycleSummary, published: PublishResult | None
) -> None:
    counts = (
        f"{len(summary.reports)} source{'' if len(summary.reports) == 1 else 's'}: "
        f"{summary.new} new, {summary.updated} updated, "
        f"{summary.failed} failed"
    )
    if published is None:
        written = f"not published to {config.output_dir} (the error follows)"
    else:
        written = (
            f"published to {config.output_dir}: {len(published.written)} file(s) written, "
            f"{len(published.unchanged)} unchanged"
        )
    # Sources with nothing to report (no news, no problem) are only counted: a cycle of
    # 500 sources answering 304 needs one line, not a 500-row table (nor rich to draw it).
    # Problems are all listed, first; news only up to a screenful: a first cycle of 500
    # sources with news would print a thousand lines (and drawing them took half a second).
    problems = sorted((r for r in summary.reports if _has_problem(r)), key=lambda r: r.source_id)
    news = sorted(
        (r for r in summary.reports if _noteworthy(r) and not _has_problem(r)),
        key=lambda r: r.source_id,
    )
    listed = problems + news[: max(0, SUMMARY_NEWS_ROWS - len(problems))]
    if not listed:
        print(f"Collection summary: {counts}, nothing new")
        _print_deferred(summary)
        print(written)
        return
    from rich.markup import escape
    from rich.table import Table

    names = {s.id: s.name for s in config.sources}
    table = Table(title="Collection summary", title_justify="left")
    table.add_column("source")
    table.add_column("status")
    table.add_column("new", justify="right")
    table.add_column("updated", justify="right")
    table.add_column("errors")
    styles = {
        ReportStatus.OK: "green",
        ReportStatus.NOT_MODIFIED: "cyan",
        ReportStatus.ERROR: "red",
    }
    for report in listed:
        error = ""
        if report.error is not None:
            error = escape(f"[{report.error.kind}] {report.error.message}")
        elif report.warnings:
            error = escape(visible(f"{len(report.warnings)} warning(s): {report.warnings[0]}"))
        table.add_row(
            f"{report.source_id}\n[dim]{escape(names.get(report.source_id, ''))}[/]",
            f"[{styles[report.status]}]{report.status.value}[/]",
            str(report.new),
            str(report.updated),
            error,
        )
    more = len(problems) + len(news) - len(listed)
    quiet = len(summary.reports) - len(problems) - len(news)
    table.caption = (
        counts
        + (f"; {more} more with news not listed" if more else "")
        + (f"; {quiet} without news not listed" if quiet else "")
        + ("; `revier-feed sources` lists every source" if more else "")
    )
    out = console()
    out.print(table)
    _print_deferred(summary)
    out.print(written, markup=False, soft_wrap=True)


#: Deferred sources listed with their reason after a summary; the rest are counted.
SUMMARY_DEFERRED_ROWS = 5


def _print_deferred(summary: CycleSummary) -> None:
    """The sources whose hosts gave them no turn: not asked, not failed, still due; and
    those that answered 410 Gone, not asked until the admin says so."""
    if summary.gone:
        shown = ", ".join(sorted(summary.gone)[:SUMMARY_DEFERRED_ROWS])
        more = len(summary.gone) - SUMMARY_DEFERRED_ROWS
        print(
            f"{len(summary.gone)} source(s) gone (HTTP 410), not asked: {shown}"
            + (f" and {more} more" if more > 0 else "")
            + "; `revier-feed sources retry ID` asks one again"
        )
    if not summary.deferred:
        return
    print(f"{len(summary.deferred)} source(s) not asked now, still due:")
    for source_id, why in sorted(summary.deferred)[:SUMMARY_DEFERRED_ROWS]:
        print(f"  {source_id}: {visible(why)}")
    if len(summary.deferred) > SUMMARY_DEFERRED_ROWS:
        print(f"  and {len(summary.deferred) - SUMMARY_DEFERRED_ROWS} more")


def _noteworthy(report: SourceReport) -> bool:
    return bool(report.new or report.updated or _has_problem(report))


def _has_problem(report: SourceReport) -> bool:
    return bool(report.error or report.warnings)


def _print_config_error(error: ConfigError) -> None:
    # Plain lines, never wrapped: admins grep them and editors jump to file:line.
    print(f"error: {error.message}", file=sys.stderr)
    for issue in error.issues:
        print(f"  {issue}", file=sys.stderr)
