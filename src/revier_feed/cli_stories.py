"""The ``revier-feed stories`` commands: list, show, split, merge."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from ._utils import visible
from .app import App
from .cli_output import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, console, print_json
from .config import AppConfig, load_config
from .models import Story, StoryFilter


def add_parser(commands: Any) -> None:
    """Register ``stories`` and its subcommands on the main parser's subparsers."""
    stories = commands.add_parser(
        "stories", help="find stories; see and correct how items form them"
    )
    _add_list_options(stories)
    stories.set_defaults(command=cmd_stories_list)  # `stories` alone lists, as `sources` does
    story_commands = stories.add_subparsers(metavar="SUBCOMMAND")
    listing = story_commands.add_parser(
        "list", help="the newest stories, with their ids (the default)"
    )
    _add_list_options(listing, given_only=True)
    listing.set_defaults(command=cmd_stories_list)
    show = story_commands.add_parser("show", help="a story's members and their similarity")
    show.add_argument("story", metavar="ID", help="story id (s12), or an item's id, URL or guid")
    show.set_defaults(command=cmd_stories_show)
    split = story_commands.add_parser("split", help="take an item out of its story, for good")
    split.add_argument("item", metavar="ITEM", help="the item's id, URL or guid")
    split.set_defaults(command=cmd_stories_split)
    merge = story_commands.add_parser("merge", help="join two stories into one, for good")
    merge.add_argument("first", metavar="A", help="story or item: the story that is kept")
    merge.add_argument("second", metavar="B", help="story or item: its story joins A's")
    merge.set_defaults(command=cmd_stories_merge)


def _add_list_options(parser: argparse.ArgumentParser, *, given_only: bool = False) -> None:
    # given_only (on `list`): the options of `stories --tag x list` are not reset to the
    # defaults by the subcommand's own, and its lists add to them (`more_tag`, …).
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if given_only else value

    for option, metavar, text in (
        ("source", "ID", "with a member from source ID (repeat: any of them)"),
        ("tag", "TAG", "with topic TAG (repeat: any)"),
        ("district", "ID", "about district ID (repeat: any)"),
    ):
        parser.add_argument(
            f"--{option}",
            metavar=metavar,
            action="append",
            dest=f"more_{option}" if given_only else option,
            default=[],
            help=text,
        )
    parser.add_argument(
        "--search",
        metavar="TEXT",
        default=default(None),
        help="a member's title holds TEXT (case and umlauts ignored)",
    )
    parser.add_argument(
        "--limit", metavar="N", type=_positive, default=default(20), help="at most N (default 20)"
    )
    parser.add_argument(
        "--json", action="store_true", default=default(False), help="machine-readable output"
    )


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"not a whole number of at least 1: {text!r}")
    return number


def _given(args: argparse.Namespace, option: str) -> list[str]:
    """An option's values, given before `list` and after it."""
    values: list[str] = getattr(args, option) + getattr(args, f"more_{option}", [])
    return values


def _unknown(config: AppConfig, args: argparse.Namespace) -> list[str]:
    """The filter values that name nothing in the configuration, each with what does."""
    known = {
        "source": [s.id for s in config.sources],
        "tag": [t.id for t in config.tags],
        "district": [d.id for d in config.districts],
    }
    problems = []
    for option, ids in known.items():
        for value in _given(args, option):
            if value not in ids:
                problems.append(f"--{option}: no {option} {value!r} (known: {', '.join(ids)})")
    return problems


def cmd_stories_list(args: argparse.Namespace) -> int:
    from rich.markup import escape  # rich loads only for the commands that print with it
    from rich.table import Table

    config = load_config(args.config)
    out = console()
    problems = _unknown(config, args)
    if problems:
        for problem in problems:
            out.print(problem, markup=False, soft_wrap=True)
        return EXIT_CONFIG
    story_filter = StoryFilter(
        tags=frozenset(_given(args, "tag")),
        districts=frozenset(_given(args, "district")),
        sources=frozenset(_given(args, "source")),
    )
    with App(config, access="read") as app:
        found = app.find_stories(story_filter, args.search, args.limit)
    priorities = {s.id: s.priority for s in config.sources}
    rows = [_story_row(story, priorities, app) for story in found]
    if args.json:
        print_json(out, rows)
        return EXIT_OK
    table = Table(
        title=f"{len(rows)} stories, newest first; `stories show ID` lists one's items",
        title_justify="left",
    )
    for column in ("story", "published", "sources", "title", "tags"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["id"],
            row["published"][:10],
            escape(", ".join(row["sources"])),
            escape(visible(row["title"])),
            escape(", ".join(row["tags"] + row["districts"])),
        )
    out.print(table)
    return EXIT_OK


def _story_row(story: Story, priorities: Mapping[str, int], app: App) -> dict[str, Any]:
    lead = story.lead(priorities)
    sources = list(dict.fromkeys(m.item.source_id for m in story.members))
    return {
        "id": f"s{story.id}",
        "published": min(m.item.published_at for m in story.members)
        .astimezone(app.tz)
        .isoformat(),
        "title": lead.item.title,
        "url": lead.item.url,
        "sources": sources,
        "items": len(story.members),
        "tags": sorted({t for m in story.members for t in m.item.tags}),
        "districts": sorted({d for m in story.members for d in m.item.districts}),
    }


def cmd_stories_show(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.table import Table

    config = load_config(args.config)
    out = console()
    with App(config, access="read") as app:
        story = app.story(args.story)
    if story is None:
        out.print(f"no story or item {args.story!r}", markup=False)
        return EXIT_FAILED
    names = {s.id: s.name for s in config.sources}
    table = Table(title=f"story s{story.id}: {len(story.members)} item(s)", title_justify="left")
    for column in ("item", "source", "published", "similarity", "title", "link"):
        table.add_column(column, overflow="fold")
    for member in story.members:
        similarity = member.story_similarity
        table.add_row(
            str(member.id),
            escape(names.get(member.item.source_id, member.item.source_id)),
            member.item.published_at.astimezone(app.tz).strftime("%d.%m.%Y"),
            # None: the story's first item, or one placed by `stories split/merge`.
            "-" if similarity is None else f"{similarity:.2f}",
            escape(visible(member.item.title)),
            escape(visible(member.item.url or "")),
        )
    out.print(table)
    return EXIT_OK


def cmd_stories_split(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with App(config) as app:
        done = app.split_story(args.item)
    if done is None:
        console().print(f"no stored item {args.item!r}", markup=False)
        return EXIT_FAILED
    stored, story_id, moved = done
    if not moved:
        console().print(
            f"item {stored.id} is alone in story s{story_id} already; it stays there (kept "
            "on re-runs), and its feed entry is unchanged",
            markup=False,
        )
        return EXIT_OK
    console().print(
        f"item {stored.id} is now story s{story_id} on its own (kept on re-runs); "
        "feeds republished",
        markup=False,
    )
    return EXIT_OK


def cmd_stories_merge(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with App(config) as app:
        done = app.merge_stories(args.first, args.second)
    if done is None:
        console().print("no such story or item", markup=False)
        return EXIT_FAILED
    keep, gone, moved = done
    if keep == gone:
        console().print(
            f"{args.first} and {args.second} are one story already: s{keep}; nothing changed",
            markup=False,
        )
        return EXIT_OK
    console().print(
        f"story s{gone} joined s{keep} ({moved} item(s) moved, kept on re-runs); "
        "feeds republished",
        markup=False,
    )
    return EXIT_OK
