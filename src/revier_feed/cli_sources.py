"""The ``sources`` commands: health of every source, discovering feeds, testing selectors."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import textwrap
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

from ._logging import mask_secrets
from ._utils import ascii_host, one_spelling, site_of, span, visible, without_bidi
from .app import App
from .cli_output import EXIT_FAILED, EXIT_OK, by_severity, console, print_json, when
from .config import (
    DEFAULT_MAX_PAGES,
    SELECTOR_KEYS,
    AppConfig,
    certificates_problem,
    is_id,
    load_config,
    source_from_options,
    source_yaml,
    url_argument,
)
from .exceptions import COMMAND_LINE, ConfigError, ConfigIssue, SourceError
from .german import fold
from .models import (
    SOURCE_ID_ATTRIBUTE,
    FeedLink,
    IgnoredValidators,
    Item,
    ListedFeed,
    Preview,
    SourceKind,
    SourceSpec,
    SourceState,
    SourceStatus,
    SourceTls,
    fetch_due,
)

if TYPE_CHECKING:
    from rich.text import Text


def add_parser(commands: Any) -> None:
    """The ``sources`` command and its subcommands."""
    sources = commands.add_parser("sources", help="source health; discover and test sources")
    sources.set_defaults(command=cmd_sources)
    sources.add_argument("--json", action="store_true", help="machine-readable output")
    source_commands = sources.add_subparsers(metavar="SUBCOMMAND")
    listing = source_commands.add_parser("list", help="each source's health (the default)")
    # SUPPRESS: not given here, it leaves `sources --json list` as it was.
    listing.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    listing.set_defaults(command=cmd_sources)
    discover = source_commands.add_parser(
        "discover", help="find the feeds of a web page, or guess selectors for its listing"
    )
    discover.add_argument("url", metavar="URL")
    _add_tls_options(discover)
    discover.set_defaults(command=cmd_sources_discover)
    test = source_commands.add_parser(
        "test", help="fetch and parse a source without storing; show what would be collected"
    )
    test.add_argument("source_id", metavar="ID", nargs="?", help="a source from sources.yaml")
    test.add_argument(
        "--url",
        help="test a source that is not in sources.yaml yet (or the source ID at this address)",
    )
    test.add_argument(
        "--kind",
        choices=["feed", "html", "json"],
        help="default: html if --item is given, json if --json is",
    )
    test.add_argument(
        "--json",
        action="append",
        metavar="KEY=PATH",
        help="a json source's dot path (items=data.news, title=title.rendered, link=link; "
        "may repeat)",
    )
    for option in SELECTOR_KEYS:
        test.add_argument(f"--{option}", metavar="SELECTOR", help=f"CSS selector for {option}")
    test.add_argument("--max-pages", type=int, help="listing pages to read with --next")
    test.add_argument(
        "--item-until-next",
        action="store_true",
        help="an item also holds the elements after it, up to the next item",
    )
    test.add_argument("--follow", action="store_true", help="read each item's article page")
    test.add_argument(
        "--remove",
        action="append",
        metavar="SELECTOR",
        help="take out the elements this CSS selector matches (may repeat; replaces the "
        "source's remove)",
    )
    test.add_argument(
        "--user-agent",
        metavar="TEXT",
        help="the User-Agent to send to this site instead of fetch.user_agent (user_agent)",
    )
    _add_tls_options(test)
    test.add_argument(
        "--save-fixture",
        metavar="DIR",
        nargs="?",
        const="",
        help="save the fetched document and what was found, for a regression test "
        "(default DIR: fixtures/ in the configuration folder)",
    )
    test.set_defaults(command=cmd_sources_test)
    import_parser = source_commands.add_parser(
        "import",
        help="print sources.yaml entries for the feeds of an OPML file (a feed reader's export)",
    )
    import_parser.add_argument(
        "file", metavar="FILE", help="the OPML file; - reads standard input"
    )
    import_parser.set_defaults(command=cmd_sources_import)
    export = source_commands.add_parser(
        "export", help="print the feed sources as an OPML file, for a feed reader"
    )
    export.set_defaults(command=cmd_sources_export)
    retry = source_commands.add_parser(
        "retry",
        help="fetch sources at the next cycle whatever their backoff, also one gone (410)",
    )
    retry.add_argument("source_ids", metavar="ID", nargs="+", help="sources from sources.yaml")
    retry.set_defaults(command=cmd_sources_retry)


_STATUS_STYLE = {
    "gone": "red",
    "failing": "red",
    "empty": "yellow",
    "degraded": "yellow",
    "stale": "yellow",
    "new": "cyan",
    "ok": "green",
}


#: Columns of `sources`, each with whether it is a number (right-aligned).
_SOURCE_COLUMNS = (
    ("source", False),
    ("status", False),
    ("last success", False),
    ("last attempt", False),
    ("next fetch", False),
    ("every", False),
    ("HTTP", True),
    ("failures", True),
    ("items", True),
    ("avg s", True),
    ("last error", False),
)
#: Narrower terminals get one block per source: the table's eleven columns do not fit.
SOURCES_TABLE_WIDTH = 120


def cmd_sources(args: argparse.Namespace) -> int:
    from rich.markup import escape  # rich loads only for the commands that print with it
    from rich.table import Table

    config = load_config(args.config)
    with App(config, access="read") as app:
        overview = app.source_overview()
    if getattr(args, "json", False):
        ranked = sorted(overview, key=by_severity)
        print_json(console(), [_source_health(spec, state, app) for spec, state in ranked])
        return EXIT_OK
    rows = []
    for spec, state in sorted(overview, key=by_severity):
        status = state.status.value if state else "new"
        every = span(app.current_interval(spec, state), to_minutes=True)
        if state is None:
            rows.append([spec.id, status, "-", "-", "now", every, "", "0", "", "", ""])
            continue
        if status == "gone":
            next_fetch = "never"
        elif fetch_due(state.next_fetch_at, state.last_attempt_at, app.now()):
            next_fetch = "due"  # a time gone by read as planned (the worker is not running?)
        else:
            next_fetch = when(state.next_fetch_at, app)
        note = ""
        if state.last_error:
            note = visible(f"[{state.last_error_kind}] {state.last_error}")
        elif state.url:
            # The move is logged once only: the table keeps showing it until the admin
            # writes the new address into sources.yaml.
            note = visible(f"moved permanently to {state.url}; write it into sources.yaml")
        elif state.validators_ignored is IgnoredValidators.ALL:
            note = "its server answers 'not modified' to news: asked whole every time"
        elif state.validators_ignored is IgnoredValidators.LAST_MODIFIED:
            note = "its Last-Modified does not change with its news: asked by its ETag alone"
        rows.append(
            [
                spec.id,
                status,
                when(state.last_success_at, app),
                when(state.last_attempt_at, app),
                next_fetch,
                every,
                str(state.http_status or ""),
                str(state.error_count),
                # The count is the last success's: a failing source's last fetch had none.
                "0" if state.error_count else str(state.items_last_fetch or 0),
                "" if state.fetch_seconds is None else f"{state.fetch_seconds:.2f}",
                note,
            ]
        )
    out = console()
    title = f"Sources ({len(overview)}), times in {app.tz.key}"
    if out.width < SOURCES_TABLE_WIDTH:
        out.print(title, markup=False)
        for row in rows:
            style = _STATUS_STYLE[row[1]]
            facts = " · ".join(
                f"{name} {value}"
                for (name, _), value in zip(_SOURCE_COLUMNS[2:10], row[2:10], strict=True)
                if value
            )
            out.print(
                f"[bold]{escape(row[0])}[/] [{style}]{row[1]}[/] · {escape(facts)}",
                soft_wrap=False,
            )
            if row[10]:
                out.print(f"  {escape(row[10])}")
        return EXIT_OK
    table = Table(title=title, title_justify="left")
    for name, number in _SOURCE_COLUMNS:
        table.add_column(name, justify="right" if number else "left")
    for row in rows:
        style = _STATUS_STYLE[row[1]]
        table.add_row(*[escape(row[0]), f"[{style}]{row[1]}[/]", *map(escape, row[2:])])
    out.print(table)
    return EXIT_OK


def _source_health(spec: SourceSpec, state: SourceState | None, app: App) -> dict[str, Any]:
    """One source's row of `sources --json` (times in UTC, ISO 8601)."""

    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    health: dict[str, Any] = {
        "source": spec.id,
        "name": spec.name,
        "kind": spec.kind.value,
        "url": spec.url,
        "status": state.status.value if state else "new",
        "interval_minutes": app.current_interval(spec, state).total_seconds() / 60,
    }
    if state is not None:
        health |= {
            "fetching_url": state.url or spec.url,
            "last_attempt_at": moment(state.last_attempt_at),
            "last_success_at": moment(state.last_success_at),
            "next_fetch_at": moment(state.next_fetch_at),
            "http_status": state.http_status,
            "consecutive_failures": state.error_count,
            "items_last_fetch": state.items_last_fetch,
            "fetch_seconds": state.fetch_seconds,
            "last_new_item_at": moment(state.last_new_item_at),
            "error_kind": state.last_error_kind,
            "error": state.last_error,
            "fetched_whole_at": moment(state.fetched_whole_at),
            "validators_ignored": state.validators_ignored.name.lower()
            if state.validators_ignored
            else None,
        }
    return health


def cmd_sources_retry(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with App(config) as app:
        before = app.retry_sources(list(dict.fromkeys(args.source_ids)))
    for source_id, status in before.items():
        if status is None:
            print(f"{source_id}: never fetched; asked at the next cycle")
        elif status is SourceStatus.GONE:
            print(f"{source_id}: was gone (HTTP 410); asked again at the next cycle")
        else:
            print(f"{source_id}: was {status.value}; asked at the next cycle")
    print("`revier-feed run --once --due` asks them now; a running worker at its next tick")
    return EXIT_OK


def _add_tls_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tls-ca-file",
        metavar="FILE",
        help="certificates (PEM) to trust for this site besides the system's: its missing "
        "intermediate, or its own (tls.ca_file)",
    )
    parser.add_argument(
        "--tls-legacy",
        action="store_true",
        help="allow the TLS of before 1.2 and weak keys for an old server (tls.legacy)",
    )


def _tls_options(args: argparse.Namespace) -> SourceTls | None:
    """The TLS choices of the command line, the file checked now (relative to the current
    folder, as a shell gives it).

    Raises:
        ConfigError: the file cannot be read or holds no certificate.
    """
    if args.tls_ca_file is None and not args.tls_legacy:
        return None
    ca_file = None
    if args.tls_ca_file is not None:
        path = Path(args.tls_ca_file).resolve()
        problem = certificates_problem(path)
        if problem:
            raise ConfigError(
                [
                    ConfigIssue(
                        COMMAND_LINE,
                        None,
                        "--tls-ca-file",
                        f"{str(path)!r}: {problem}",
                        "a file of certificates in PEM format",
                    )
                ]
            )
        ca_file = str(path)
    return SourceTls(ca_file=ca_file, legacy=args.tls_legacy)


def _tls_yaml(tls: SourceTls | None) -> str:
    """The ``tls:`` lines of a printed source entry (empty without choices)."""
    if tls is None:
        return ""
    lines = ["\n    tls:"]
    if tls.ca_file:
        lines.append(f"      ca_file: {json.dumps(tls.ca_file)}")
    if tls.legacy:
        lines.append("      legacy: true")
    return "\n".join(lines)


def cmd_sources_discover(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    url = url_argument(args.url, "URL")
    tls = _tls_options(args)
    out = console()
    with App(config) as app:
        found = app.discover(url, tls)
    # What the page wrote goes into YAML quoted, and into comments with its controls and
    # line separators shown: a link with U+2028 in it added keys to the pasted entry.
    name = _yaml_name(found.title)
    source_id = _suggest_id(found.url)
    for url, why in found.unusable:
        out.print(
            f"# the page names {visible(url)} as its feed, but {visible(why)}: passed over",
            markup=False,
            soft_wrap=True,
        )
    if found.is_feed:
        out.print(
            f"# {visible(found.url)} is a feed. Add to sources.yaml:",
            markup=False,
            soft_wrap=True,
        )
        out.print(
            f"  - id: {source_id}\n    name: {name}\n    url: {json.dumps(found.url)}"
            + _tls_yaml(tls),
            markup=False,
            soft_wrap=True,
        )
        return EXIT_OK
    if found.feeds:
        if all(feed.advertised for feed in found.feeds):
            where = f"links to {len(found.feeds)} feed(s)"
        else:
            where = (
                f"names no feed in its head, but {len(found.feeds)} feed(s) were found by "
                "trying its links and the usual feed addresses"
            )
        out.print(
            f"# {visible(found.url)} {where}. Add one to sources.yaml:",
            markup=False,
            soft_wrap=True,
        )
        page = found.read_from or found.url  # after a temporary redirect, where it was
        for number, feed in enumerate(_ranked(found.feeds, page), 1):
            # Each its own id: the whole output pasted gave "duplicate id" three times.
            feed_id = source_id if number == 1 else f"{source_id}-{number}"
            notes = [visible(feed.type), *_feed_notes(feed, page)]
            out.print(
                f"  - id: {feed_id}\n    name: {_yaml_name(feed.title or found.title)}"
                f"  # {'; '.join(notes)}\n    url: {json.dumps(feed.url)}" + _tls_yaml(tls),
                markup=False,
                soft_wrap=True,
            )
        return EXIT_OK
    if found.selectors is None:
        said = (
            f"got {found.stand_in}"
            if found.stand_in
            else "no feed and no repeated news entries found; write the selectors by hand "
            "(see docs/config.md)"
        )
        out.print(f"# {visible(found.url)}: {visible(said)}", markup=False, soft_wrap=True)
        return EXIT_FAILED
    spec = SourceSpec(
        id=source_id,
        name=" ".join(without_bidi(found.title or "").split()) or "CHANGE ME",
        kind=SourceKind.HTML,
        url=found.url,
        interval=timedelta(hours=1),
        selectors=found.selectors,
        max_pages=DEFAULT_MAX_PAGES if found.selectors.next else 1,
        tls=tls,
    )
    out.print(
        f"# {visible(found.url)} has no feed. Guessed selectors for an html source; check them "
        f"with `revier-feed sources test --url ...` before adding:",
        markup=False,
        soft_wrap=True,
    )
    out.print(textwrap.indent(source_yaml(spec), "  "), markup=False, soft_wrap=True)
    return EXIT_OK


def cmd_sources_import(args: argparse.Namespace) -> int:
    # lxml loads only here: a cycle without news from cron reads no document.
    from .parse import read_opml

    config = load_config(args.config)
    out = console()
    name = "standard input" if args.file == "-" else visible(args.file)
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as e:
        out.print(f"cannot read {name}: {e.strerror or e}", markup=False)
        return EXIT_FAILED
    listed = read_opml(name, data)
    if not listed:
        out.print(f"# {name} names no feeds (no outline with an xmlUrl)", markup=False)
        return EXIT_FAILED
    plan = _Import(config, listed)
    for feed in listed:
        plan.add(feed)
    for note in plan.notes:
        out.print(visible(note), markup=False, soft_wrap=True)
    if plan.entries:
        out.print(
            f"# {len(plan.entries)} feed(s) of {name}. Add to sources.yaml "
            "(under `sources:`), then run `revier-feed check` and `revier-feed sources test "
            "ID`:",
            markup=False,
            soft_wrap=True,
        )
        out.print("\n".join(plan.entries), markup=False, soft_wrap=True)
    return EXIT_OK


class _Import:
    """The sources.yaml entries for an OPML list's feeds, and notes on those left out."""

    def __init__(self, config: AppConfig, listed: Sequence[ListedFeed]) -> None:
        self.config = config
        configured = (*config.sources, *config.disabled_sources)
        #: address -> where it is: the configuration's source, or this list's earlier line
        self.known = {_address(s.url): f"already in sources.yaml as {s.id}" for s in configured}
        #: The addresses of this list's entries (their places' folders are merged into them).
        self.entered: set[str] = set()
        self.taken = {s.id for s in configured}
        #: The ids another revier-feed exported: an id made from a title earlier in the list
        #: must not take one (channels and partners name sources by it).
        self.exported = {f.source_id for f in listed if f.source_id and is_id(f.source_id)}
        self.exported -= self.taken
        self.numbered: dict[str, int] = {}  #: an id -> the last number tried after it
        #: address -> each place the list names it: a feed in several folders (Feedly
        #: exports it once per folder) gets the tags of all of them.
        self.places: dict[str, list[ListedFeed]] = {}
        for feed in listed:
            self.places.setdefault(_address(_feed_address(feed.url)), []).append(feed)
        self.tags = {_slug(n): tag.id for tag in config.tags for n in (tag.id, tag.label)}
        self.districts = {_slug(n): d.id for d in config.districts for n in (d.id, d.name)}
        self.entries: list[str] = []
        self.notes: list[str] = []

    def add(self, feed: ListedFeed) -> None:
        """The entry of ``feed``, or a note on why it has none."""
        url = _feed_address(feed.url)
        where = f"line {feed.line}: {feed.title or url}"
        if feed.is_list:
            self.notes.append(
                f'# {where}: a list of feeds (type="source"), not a feed: import {url} itself'
            )
            return
        if (same := self.known.get(_address(url))) is not None:
            counted = _address(url) in self.entered and (feed.folders or feed.categories)
            self.notes.append(
                f"# {where}: {same}{' (its folders count there)' if counted else ''}"
            )
            return
        places = self.places.get(_address(url), [feed])
        # The innermost folder first, of each place in the list's order.
        folders = [_slug(f) for place in places for f in reversed(place.folders)]
        categories = [_slug(c) for place in places for c in place.categories]
        name = _shown_name(feed.title) or _host_name(feed.site_url or url)
        options: dict[str, Any] = {
            "id": self._id(feed, name, url),
            "name": name,
            "url": url,
            "tags": list(
                dict.fromkeys(self.tags[x] for x in folders + categories if x in self.tags)
            ),
        }
        district = next(
            (self.districts[x] for x in folders + categories if x in self.districts), None
        )
        if district is not None:
            options["district"] = district
        try:
            spec = source_from_options(options, self.config.settings.fetch)
        except ConfigError as e:
            self.notes.append(f"# {where}: not imported, {'; '.join(i.message for i in e.issues)}")
            return
        self.known[_address(spec.url)] = f"listed before, as {spec.id}"
        self.entered.add(_address(spec.url))
        self.taken.add(spec.id)
        comments = []
        if feed.source_id and spec.id != feed.source_id:
            comments.append(f"exported as {feed.source_id}, which is taken here or invalid")
        for place in places:
            if place.folders:
                also = "also in " if place is not places[0] else ""
                comments.append(f"{also}folder: {' / '.join(place.folders)}")
        others = list(
            dict.fromkeys(
                c
                for c, slug in zip(
                    [c for place in places for c in place.categories], categories, strict=True
                )
                if slug not in self.tags
            )
        )
        if others:
            comments.append(f"categories that name no tag: {', '.join(others)}")
        head = "".join(f"  # {visible(' '.join(c.split()))}\n" for c in comments)
        self.entries.append(head + textwrap.indent(source_yaml(spec), "  ").rstrip("\n"))

    def _id(self, feed: ListedFeed, name: str, url: str) -> str:
        """The id another revier-feed exported, if free; else one from the name."""
        if feed.source_id in self.exported and feed.source_id not in self.taken:
            return feed.source_id
        wanted = _cut(_slug(name)) or _cut(_suggest_id(url)) or "quelle"
        if wanted not in self.taken and wanted not in self.exported:
            return wanted
        # Counting on from the last number given: a list of 20,000 feeds titled "Blog".
        number = self.numbered.get(wanted, 1) + 1
        while f"{wanted}-{number}" in self.taken or f"{wanted}-{number}" in self.exported:
            number += 1
        self.numbered[wanted] = number
        return f"{wanted}-{number}"


#: Ids made from titles are cut to this many characters, at a word's end where one is near.
_ID_CHARS = 40


def _cut(slug: str) -> str:
    if len(slug) <= _ID_CHARS:
        return slug
    cut = slug[: _ID_CHARS + 1]
    end = cut.rfind("-")
    return (cut[:end] if end >= _ID_CHARS // 2 else cut[:_ID_CHARS]).strip("-")


def _feed_address(url: str) -> str:
    """An address as lists write it, as a request needs it: ``feed://`` and ``feed:https://``
    (the feed: scheme some readers export) as http(s), blanks percent-encoded."""
    url = url.strip().replace(" ", "%20")
    lowered = url.lower()
    if lowered.startswith("feed://"):
        return "http://" + url[len("feed://") :]
    if lowered.startswith(("feed:http://", "feed:https://")):
        return url[len("feed:") :]
    return url


#: Markup in a title ("<b>Blog</b>", "straub <kris@example.org>"): left out of the name.
_MARKUP_TAG = re.compile(r"<[^<>]*>")
_MARKUP_OPENING = re.compile(r"<(?=[A-Za-z/!?])")


def _shown_name(title: str) -> str:
    """A list's title as a source's name: without markup, control and invisible format
    characters (an escape sequence would reach the admin's terminal with every `sources`);
    empty if no letter or digit is left ("." as a title)."""
    # A "<" left that still reads as markup ("Kinder <Jugend"; not "Kinder <3"): a blank.
    text = _MARKUP_OPENING.sub(" ", _MARKUP_TAG.sub(" ", title))
    shown = " ".join(
        "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf")).split()
    )
    return shown if any(c.isalnum() for c in shown) else ""


def _host_name(url: str) -> str:
    """A site's name from its address, for a feed without a title: "www.kreis.example" ->
    "kreis.example"."""
    return (urlsplit(url).hostname or "").removeprefix("www.") or "Quelle"


def _slug(text: str) -> str:
    """``text`` as an id: case and umlauts folded ("ae"), other accents dropped, every
    other character a "-"."""
    ascii_text = unicodedata.normalize("NFKD", fold(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def _address(url: str) -> str:
    """A feed's address as two lists compare it: http and https, the host's case, a host in
    Unicode or IDNA ("xn--"), a default port, umlauts or their escapes in the path or query,
    a final "/" and a fragment do not tell feeds apart."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().rstrip(".")  # "kreis.example." is the same host
    try:
        port = f":{parts.port}" if parts.port not in (None, 80, 443) else ""
    except ValueError:  # a port that is no number: refused when the entry is checked
        port = ":?"
    host = ascii_host(host) or host  # a name no IDNA encodes: refused when checked
    return f"{host}{port}{one_spelling(parts.path).rstrip('/')}?{one_spelling(parts.query)}"


def cmd_sources_export(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    names = {d.id: d.name for d in config.districts}
    feeds = [s for s in config.sources if s.kind is SourceKind.FEED]
    folders: dict[str | None, list[SourceSpec]] = {}
    for spec in feeds:
        folders.setdefault(spec.district, []).append(spec)

    def outline(spec: SourceSpec, indent: str) -> str:
        parts = urlsplit(spec.url)
        category = ",".join(f"/{tag}" for tag in spec.tags)
        return (
            f'{indent}<outline type="rss" text={quoteattr(spec.name)} '
            f"title={quoteattr(spec.name)} xmlUrl={quoteattr(spec.url)} "
            f"htmlUrl={quoteattr(f'{parts.scheme}://{parts.netloc}/')}"
            + (f" category={quoteattr(category)}" if category else "")
            + f" {SOURCE_ID_ATTRIBUTE}={quoteattr(spec.id)}/>"
        )

    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{escape(config.settings.site.title)}</title></head>",
        "  <body>",
    ]
    for district, specs in folders.items():
        if district is None:
            lines.extend(outline(spec, "    ") for spec in specs)
            continue
        name = quoteattr(names.get(district, district))
        lines.append(f"    <outline text={name} title={name}>")
        lines.extend(outline(spec, "      ") for spec in specs)
        lines.append("    </outline>")
    lines += ["  </body>", "</opml>", ""]
    # The bytes its declaration names, whatever the terminal's encoding.
    sys.stdout.buffer.write("\n".join(lines).encode("utf-8"))
    sys.stdout.flush()
    html = [s.id for s in config.sources if s.kind is not SourceKind.FEED]
    login = [s.id for s in feeds if s.auth is not None]
    for what, ids in (
        ("html and json source(s) left out, which have no feed", html),
        ("disabled source(s) left out", [s.id for s in config.disabled_sources]),
        # Listed all the same: whoever subscribes elsewhere gives the login there.
        ("source(s) listed that need a login (auth), which a list cannot carry", login),
    ):
        if ids:
            print(f"# {len(ids)} {what}: {', '.join(ids)}", file=sys.stderr)
    return EXIT_OK


def _yaml_name(title: str | None) -> str:
    """A page's or feed's title as a source's ``name`` in YAML: on one line (a title over
    several lines went into the feeds so), quoted, controls shown."""
    text = " ".join(without_bidi(title or "").split()) or "CHANGE ME"
    return visible(json.dumps(text, ensure_ascii=False))


_COMMENTS = re.compile(r"comment|kommentar", re.IGNORECASE)


def _comments(feed: FeedLink) -> bool:
    url = urlsplit(feed.url)
    return bool(_COMMENTS.search(f"{url.path} {url.query} {feed.title or ''}"))


def _ranked(feeds: Sequence[FeedLink], page_url: str) -> list[FeedLink]:
    """The feeds a page names, the likeliest first (it gets the plain id): the page's own
    (a WordPress category page names the site's feed first, its own third), then the
    others, the comments last (WordPress names its comments feed on every article)."""
    page_path = urlsplit(page_url).path.rstrip("/")

    def own(feed: FeedLink) -> bool:
        path = urlsplit(feed.url).path
        return bool(page_path) and path.startswith(page_path + "/")

    return sorted(feeds, key=lambda feed: (_comments(feed), not own(feed)))


def _feed_notes(feed: FeedLink, page_url: str) -> list[str]:
    """What an admin should know before adding a feed a page names."""
    notes = []
    url = feed.url
    if _comments(feed):
        notes.append("the comments, probably no news")
    if urlsplit(url).hostname != urlsplit(page_url).hostname:
        notes.append(f"on another host ({visible(urlsplit(url).hostname or '')})")
    return notes


def cmd_sources_test(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.table import Table

    config = load_config(args.config)
    spec = _spec_under_test(args, config)
    out = console()
    with App(config) as app:
        try:
            preview = app.preview_source(spec)
        except SourceError as e:
            kind = escape(f"[{getattr(e, 'kind', 'error')}]")  # as `sources` shows it
            shown = escape(visible(mask_secrets(str(e))))
            out.print(f"{spec.id}: [red]{kind}[/] {shown}", soft_wrap=True)
            return EXIT_FAILED
    table = Table(
        title=f"{spec.id} ({spec.kind.value}) {escape(visible(spec.url))}: "
        f"{len(preview.items)} items",
        title_justify="left",
    )
    for column in ("#", "date", "title", "link", "tags"):
        table.add_column(column, overflow="fold")
    for number, item in enumerate(preview.items, 1):
        local = item.published_at.astimezone(app.tz)
        when = local.strftime(
            "%d.%m.%Y" if (local.hour, local.minute) == (0, 0) else "%d.%m.%Y %H:%M"
        )
        table.add_row(
            str(number),
            f"~{when} (no date)" if item.date_estimated else when,
            _title_cell(item),
            escape(visible(item.url or "")),
            ", ".join(sorted(item.tags)),
        )
    out.print(table)
    if preview.excluded:
        out.print(f"{len(preview.excluded)} items left out by the source's rules:", markup=False)
        for title, why in preview.excluded:
            out.print(f"  {visible(title)!r}: {visible(why)}", markup=False, soft_wrap=True)
    if spec.selectors is not None and spec.selectors.next:
        # Else a `next` that found nothing, or an element without a link, went unseen.
        read = len(preview.pages)
        out.print(
            f"{read} listing page(s) read of at most {spec.max_pages}"
            + (
                f": {', '.join(map(visible, preview.pages[1:]))} by `next`"
                if read > 1
                else f"; `next` ({visible(spec.selectors.next)}) led to no further page"
            ),
            markup=False,
            soft_wrap=True,
        )
    for warning in preview.warnings:
        out.print(f"[yellow]warning:[/] {escape(visible(warning))}")
    if args.save_fixture is not None:
        folder = _save_fixture(args.save_fixture, config, spec, preview, app.tz)
        out.print(
            f"fixture saved in {folder}; the selector test reads it from there with "
            f"REVIER_FEED_FIXTURES={folder.parent} scripts/test tests/test_source_fixtures.py "
            "(or copy the folder to config/fixtures/ in the repository)",
            markup=False,
            soft_wrap=True,
        )
    return EXIT_OK if preview.items else EXIT_FAILED


#: Characters of an item's teaser `sources test` shows under its title.
PREVIEW_TEASER_CHARS = 120


def _title_cell(item: Item) -> Text:
    """The title, and under it what else the selectors found (the teaser's start, the
    author, the categories, the picture, the files, the length of an article's text), for
    tuning them: navigation or cookie
    text in a teaser shows here. Built from text, not markup: site text is hostile, and
    rich's escaping does not hold for text ending in backslashes."""
    from rich.text import Text

    from .normalize import sanitized_text

    cell = Text(visible(item.title))
    if item.summary_text:
        teaser = item.summary_text
        if len(teaser) > PREVIEW_TEASER_CHARS:
            teaser = teaser[: PREVIEW_TEASER_CHARS - 1] + "…"
        cell.append(f"\nteaser: {visible(teaser)}", style="dim")
    if item.author:
        cell.append(f"\nauthor: {visible(item.author)}", style="dim")
    if item.categories:
        categories = ", ".join(visible(c) for c in item.categories[:10])
        cell.append(f"\ncategories: {categories}", style="dim")
    if item.image:
        cell.append(f"\npicture: {visible(item.image)}", style="dim")
    for file in item.attachments:
        size = f", {file.size:,} bytes" if file.size else ""
        title = f" {visible(file.title)!r}" if file.title else ""
        cell.append(
            f"\nfile:{title} {visible(file.url)} ({visible(file.media_type)}{size})", style="dim"
        )
    if item.content_html:
        length = len(sanitized_text(item.content_html))
        cell.append(f"\narticle text: {length:,} characters", style="dim")
    return cell


def _spec_under_test(args: argparse.Namespace, config: AppConfig) -> SourceSpec:
    """The source `sources test` reads: a saved one (also one with ``enabled: false``, the
    ones still being tuned), with the selector options given over its own, and at
    ``--url`` if given (a source whose site moved); or one made of ``--url`` and the
    options."""
    saved = {s.id: s for s in (*config.sources, *config.disabled_sources)}
    if args.url is not None and args.source_id in saved:
        source = saved[args.source_id]
        url = url_argument(args.url, "--url")
        # The login goes to the origin of the address in sources.yaml only: one typed here
        # may be another site's, or plain http (the address written into sources.yaml is
        # checked, and then takes the login).
        auth = source.auth if _origin(url) == _origin(source.url) else None
        moved = dataclasses.replace(source, url=url, auth=auth)
        return _with_options(moved, args, config)
    if args.url is None:
        if args.source_id is None:
            raise ConfigError(
                [ConfigIssue(COMMAND_LINE, None, "ID", "name a source or give --url")]
            )
        if args.source_id not in saved:
            raise ConfigError(
                [
                    ConfigIssue(
                        COMMAND_LINE,
                        None,
                        "ID",
                        f"no source {args.source_id!r} in sources.yaml",
                        "known: " + ", ".join(saved) + "; or give --url to test a new one",
                    )
                ]
            )
        return _with_options(saved[args.source_id], args, config)
    name = args.source_id or _suggest_id(args.url)
    return _from_options({"id": name, "name": name, "url": args.url}, {}, args, config)


def _with_options(spec: SourceSpec, args: argparse.Namespace, config: AppConfig) -> SourceSpec:
    """A saved source with the selector options of the command line over its own (they
    were ignored without a word: the admin saw the saved selectors' result)."""
    selectors = _selector_options(args)
    paths = _json_options(args)
    kind = args.kind or ("html" if selectors else "json" if paths else spec.kind.value)
    if kind == spec.kind.value and not (
        selectors
        or paths
        or args.follow
        or args.item_until_next
        or args.max_pages
        or args.remove
        or args.user_agent
        or args.tls_ca_file is not None
        or args.tls_legacy
    ):
        return spec
    saved: dict[str, object] = {}
    if spec.selectors is not None:
        saved = {
            k: getattr(spec.selectors, k)
            for k in (*SELECTOR_KEYS, "item_until_next")
            if getattr(spec.selectors, k)
        }
        saved |= {"follow": spec.follow, "allow_hosts": list(spec.allow_hosts)}
        if spec.selectors.next:
            # Else the default of `next`, as with --url (the saved 1 read one page only).
            saved["max_pages"] = spec.max_pages
    elif spec.json is not None:
        saved = {k: v for k, v in dataclasses.asdict(spec.json).items() if v}
        saved |= {"follow": spec.follow, "allow_hosts": list(spec.allow_hosts)}
    identity = {"id": spec.id, "name": spec.name, "url": spec.url}
    tested = _from_options(identity, saved, args, config)
    # What decides what is collected besides the selectors stays the saved source's.
    return dataclasses.replace(
        tested,
        tags=spec.tags,
        district=spec.district,
        include=spec.include,
        exclude=spec.exclude,
        backfill=spec.backfill,
        tls=_merged_tls(spec.tls, tested.tls),
        auth=spec.auth,
        remove=tested.remove if args.remove else spec.remove,
        user_agent=tested.user_agent or spec.user_agent,
    )


def _origin(url: str) -> tuple[str, str | None]:
    """Scheme, host and port of ``url``, as requests name them."""
    parts = urlsplit(url)
    return parts.scheme.lower(), site_of(url)


def _merged_tls(saved: SourceTls | None, given: SourceTls | None) -> SourceTls | None:
    """The saved source's TLS choices with those of the command line added."""
    if saved is None or given is None:
        return given or saved
    return SourceTls(ca_file=given.ca_file or saved.ca_file, legacy=given.legacy or saved.legacy)


def _selector_options(args: argparse.Namespace) -> dict[str, str]:
    """The selectors given on the command line (``--item``, ``--title``, …)."""
    return {k: getattr(args, k) for k in SELECTOR_KEYS if getattr(args, k)}


def _json_options(args: argparse.Namespace) -> dict[str, str]:
    """The dot paths given on the command line (``--json items=data.news``).

    Raises:
        ConfigError: one is not KEY=PATH.
    """
    paths: dict[str, str] = {}
    for given in args.json or ():
        key, equals, path = given.partition("=")
        if not equals or not key.strip() or not path.strip():
            raise ConfigError(
                [
                    ConfigIssue(
                        COMMAND_LINE,
                        None,
                        "--json",
                        f"{given!r} is not KEY=PATH",
                        "e.g. --json items=data.news --json title=title.rendered",
                    )
                ]
            )
        paths[key.strip()] = path.strip()
    return paths


def _from_options(
    identity: Mapping[str, object],
    saved: Mapping[str, object],
    args: argparse.Namespace,
    config: AppConfig,
) -> SourceSpec:
    """A source of ``identity`` (id, name, url) read with the ``saved`` html settings and
    the command line's options over them, validated as sources.yaml is."""
    selectors = _selector_options(args)
    paths = _json_options(args)
    saved_json = "items" in saved  # a saved json source's paths
    kind = args.kind or (
        "html" if selectors else "json" if paths or saved_json else "html" if saved else "feed"
    )
    # Options of another kind were dropped without a word: the admin saw a result that
    # did not use them.
    apart = [
        ConfigIssue(COMMAND_LINE, None, option, f"does not apply to kind {kind}", hint)
        for option, given, kinds, hint in (
            ("--json", paths, ("json",), "a json source's paths: --kind json"),
            ("--" + next(iter(selectors), "item"), selectors, ("html",), "--kind html"),
            ("--max-pages", args.max_pages, ("html",), "a listing's pages: --kind html"),
            ("--item-until-next", args.item_until_next, ("html",), "--kind html"),
            ("--follow", args.follow, ("html", "json"), "--kind html or json"),
        )
        if given and kind not in kinds
    ]
    if apart:
        raise ConfigError(apart)
    options: dict[str, object] = {**identity, "kind": kind}
    if kind == "json":
        json_paths = {**(saved if saved_json else {}), **paths}
        json_paths["follow"] = args.follow or json_paths.get("follow", False)
        options["json"] = json_paths
    if kind == "html":
        html = {**({} if saved_json else saved), **selectors}
        html["follow"] = args.follow or html.get("follow", False)
        html["item_until_next"] = args.item_until_next or html.get("item_until_next", False)
        if args.max_pages:
            html["max_pages"] = args.max_pages
        options["html"] = html
    if args.remove:
        options["remove"] = args.remove
    if args.user_agent:
        options["user_agent"] = args.user_agent
    tls = _tls_options(args)
    return dataclasses.replace(source_from_options(options, config.settings.fetch), tls=tls)


def _save_fixture(
    target: str, config: AppConfig, spec: SourceSpec, preview: Preview, tz: ZoneInfo
) -> Path:
    """Keep the document and what the selectors find in it, for a regression test.

    What is expected is what the test will do: one parse of the saved document at the time
    it was saved (so "vor 3 Tagen" reads the same later), without the further pages and
    article pages a source may follow, which the fixture does not hold.

    Raises:
        ConfigError: the folder cannot be written, or holds another page's fixture.
    """
    from .normalize import normalize
    from .parse import parse

    # Absolute: the test command printed with it runs in the repository's folder.
    folder = ((Path(target) if target else config.config_dir / "fixtures") / spec.id).absolute()
    fetched = preview.fetched
    now = datetime.now(UTC)
    items = [normalize(raw, spec, now) for raw in parse(spec, fetched, now, tz).items]
    content_type = fetched.headers.get("content-type", "")
    expected = {
        "url": fetched.url,
        # Its charset may be the only one the document has (a page in ISO-8859-15).
        "content_type": content_type,
        "now": now.isoformat(),
        "items": [
            {
                "title": i.title,
                "url": i.url,
                "published": i.published_at.isoformat(),
                "date_estimated": i.date_estimated,
            }
            for i in items
        ],
    }
    if spec.kind is SourceKind.HTML or (spec.json is not None and spec.json.script):
        suffix = ".html"  # a page: a listing, or one holding its JSON in a script
    elif spec.kind is SourceKind.JSON or "json" in content_type:
        suffix = ".json"
    else:
        suffix = ".xml"
    # Tags and district decide nothing about what is read, and may name a districts.yaml
    # or tags.yaml the fixture does not have (its test failed on "unknown district").
    entry = textwrap.indent(
        source_yaml(
            # Nor the User-Agent: it decides nothing about what is read either, and filled
            # in, it holds this version and the contact URL (and "{{" read anew as a field).
            dataclasses.replace(spec, tags=(), district=None, tls=None, user_agent=None)
        ),
        "  ",
    )
    try:
        _refuse_other_page(folder, fetched.url)
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("document.*"):
            old.unlink()
        (folder / f"document{suffix}").write_bytes(fetched.content)
        (folder / "sources.yaml").write_text(
            f"# Fetched from {fetched.url}\nsources:\n{entry}", encoding="utf-8"
        )
        (folder / "expected.json").write_text(
            json.dumps(expected, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    except OSError as e:
        raise ConfigError(
            [ConfigIssue(COMMAND_LINE, None, "--save-fixture", f"cannot write {folder}: {e}")]
        ) from None
    return folder


def _refuse_other_page(folder: Path, url: str) -> None:
    """A fixture folder is a source's: saving another page there would replace it."""
    try:
        saved = json.loads((folder / "expected.json").read_text(encoding="utf-8")).get("url")
    except (OSError, ValueError, AttributeError):
        return
    if saved != url:
        raise ConfigError(
            [
                ConfigIssue(
                    COMMAND_LINE,
                    None,
                    "--save-fixture",
                    f"{folder} holds the fixture of {saved}, not of {url}",
                    "name the source (sources test ID --url ...) or remove that folder",
                )
            ]
        )


def _suggest_id(url: str) -> str:
    """An id from the site's name: www.landkreisleipzig.de -> landkreisleipzig; for a bare
    address (127.0.0.1/kreis/...) the first path segment."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if host == "localhost" or re.fullmatch(r"[\d.:]+", host):
        name = next((p for p in parts.path.split("/") if p), "")
    else:
        name = host.rsplit(".", 1)[0]
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "quelle"
