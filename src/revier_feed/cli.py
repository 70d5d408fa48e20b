"""The ``revier-feed`` command line: check, run, sources, demo."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__, _logging
from .app import App, CycleResult
from .config import AppConfig, load_config
from .demo import SampleRegion, prepare_demo
from .exceptions import ConfigError, RevierError
from .models import ReportStatus, SourceReport
from .scheduler import run_worker

EXIT_OK = 0
EXIT_FAILED = 1  #: the command ran but failed (store unusable, every source failed)
EXIT_CONFIG = 2  #: invalid configuration or usage

DEFAULT_CONFIG = "config"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    _logging.configure(
        logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    )
    command: Callable[[argparse.Namespace], int] = args.command
    try:
        return command(args)
    except ConfigError as e:
        _print_config_error(e)
        return EXIT_CONFIG
    except RevierError as e:
        Console(stderr=True).print(f"[red]error:[/] {e}", highlight=False, markup=True)
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
        default=os.environ.get("REVIER_FEED_CONFIG", DEFAULT_CONFIG),
        help="configuration folder (default: $REVIER_FEED_CONFIG or ./config)",
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="validate the configuration and summarize it")
    check.set_defaults(command=cmd_check)

    run = commands.add_parser("run", help="run the worker (or one cycle with --once)")
    run.add_argument("--once", action="store_true", help="fetch every source once, publish, exit")
    run.set_defaults(command=cmd_run)

    sources = commands.add_parser("sources", help="show each source's health")
    sources.set_defaults(command=cmd_sources)

    demo = commands.add_parser("demo", help="run one cycle on the bundled sample region")
    demo.add_argument(
        "--output",
        metavar="DIR",
        default="demo-output",
        help="where the demo leaves its feeds and store (default: ./demo-output)",
    )
    demo.set_defaults(command=cmd_demo)
    return parser


# --- commands ------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    out = _console()
    out.print(f"[green]ok[/]: {config.config_dir}")
    disabled = f" ({len(config.disabled_sources)} disabled)" if config.disabled_sources else ""
    out.print(
        f"  {len(config.sources)} sources{disabled}, {len(config.tags)} tags, "
        f"{len(config.channels)} channels, {len(config.partners)} partners"
    )
    out.print(f"  store:  {config.storage_url}")
    out.print(f"  output: {config.output_dir}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with App(config) as app:
        if not args.once:
            run_worker(app, config.settings.worker.tick)
            return EXIT_OK
        return _run_once(app)


def cmd_sources(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with App(config) as app:
        overview = app.source_overview()
    table = Table(title=f"Sources ({len(overview)})", title_justify="left")
    for column in ("source", "status", "last success", "next fetch", "failures", "last error"):
        table.add_column(column)
    problems_first = sorted(
        overview, key=lambda pair: (pair[1] is None or pair[1].status.value == "ok", pair[0].id)
    )
    for spec, state in problems_first:
        if state is None:
            table.add_row(spec.id, "new", "-", "now", "0", "")
            continue
        table.add_row(
            spec.id,
            state.status.value,
            _when(state.last_success_at, app),
            _when(state.next_fetch_at, app),
            str(state.error_count),
            escape(f"[{state.last_error_kind}] {state.last_error}") if state.last_error else "",
        )
    _console().print(table)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    output = Path(args.output).resolve()
    out = _console()
    if not args.verbose:
        # The summary table tells the demo's story; per-source log lines would only repeat it.
        logging.getLogger("revier_feed").setLevel(logging.WARNING)
    with SampleRegion() as region:
        config_dir = prepare_demo(output, region.base_url)
        config = load_config(config_dir)
        out.print(f"Sample region: {len(config.sources)} websites at {region.base_url}")
        with App(config) as app:
            code = _run_once(app)
    out.print()
    out.print(f"Demo output in [bold]{output}[/]:")
    out.print(f"  feeds:  {output / 'feeds'}  (all.rss.xml, all.atom.xml)")
    out.print(f"  store:  {output / 'state' / 'revier-feed.sqlite3'}")
    out.print(f"  config: {config_dir}  (the configuration the demo generated)")
    return code


# --- helpers -------------------------------------------------------------------------------


def _run_once(app: App) -> int:
    with _progress() as (on_start, on_report):
        result = app.run_cycle(on_start=on_start, on_report=on_report)
    _print_summary(app.config, result)
    reports = result.summary.reports
    if reports and all(r.status is ReportStatus.ERROR for r in reports):
        return EXIT_FAILED
    return EXIT_OK


@contextmanager
def _progress() -> Iterator[tuple[Callable[[int], None], Callable[[SourceReport], None]]]:
    """A progress bar on a terminal; silent callbacks otherwise (cron, CI, pipes)."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield (lambda _n: None), (lambda _r: None)
        return
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

        yield on_start, on_report


def _print_summary(config: AppConfig, result: CycleResult) -> None:
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
    for report in sorted(result.summary.reports, key=lambda r: r.source_id):
        error = ""
        if report.error is not None:
            error = escape(f"[{report.error.kind}] {report.error.message}")
        elif report.warnings:
            error = escape(f"{len(report.warnings)} warning(s): {report.warnings[0]}")
        table.add_row(
            f"{report.source_id}\n[dim]{escape(names.get(report.source_id, ''))}[/]",
            f"[{styles[report.status]}]{report.status.value}[/]",
            str(report.new),
            str(report.updated),
            error,
        )
    summary = result.summary
    table.caption = (
        f"{len(summary.reports)} sources: {summary.new} new, {summary.updated} updated, "
        f"{summary.failed} failed"
    )
    out = _console()
    out.print(table)
    if result.published is not None:
        for path in result.published.written:
            out.print(f"published {path}")
        for path in result.published.unchanged:
            out.print(f"unchanged {path}")


def _print_config_error(error: ConfigError) -> None:
    # Plain lines, never wrapped: admins grep them and editors jump to file:line.
    print(f"error: {error.message}", file=sys.stderr)
    for issue in error.issues:
        print(f"  {issue}", file=sys.stderr)


def _console() -> Console:
    """Standard output; wide when it is a file or pipe, so table rows stay whole for grep."""
    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console.width = max(console.width, 160)
    return console


def _when(value: datetime | None, app: App) -> str:
    if value is None:
        return "-"
    return value.astimezone(app.tz).strftime("%Y-%m-%d %H:%M")
