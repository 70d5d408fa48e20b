"""The news pages: ``index.html`` and one page per channel, static HTML rendered by Jinja2.

Every value reaches the markup through Jinja2's autoescaping, and only plain text of an
item is shown (never its HTML), so nothing a source publishes can become markup, script or
an external request on the page. Links are relative, so the output folder works under any
address, and the pages depend only on the stories: publishing twice gives the same bytes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2

from .. import german
from ..models import ChannelInfo, Story
from .paths import INDEX_PAGE, feed_paths, page_path

#: Characters of a teaser on the page; the feeds carry the whole text.
_TEASER_CHARS = 280


def german_date(day: date) -> str:
    """``Donnerstag, 10. Juni 2021``, independent of the machine's locale."""
    return german.weekday_text(day)


@dataclass(frozen=True, slots=True)
class _Link:
    label: str
    href: str | None  #: None: shown as text only


@dataclass(frozen=True, slots=True)
class _Entry:
    anchor: str
    title: str
    url: str | None
    source: str
    time: str  #: "10:30" in the site's time zone; empty when the source gave only a date
    datetime: str  #: ISO 8601, for <time datetime>
    teaser: str
    terms: tuple[_Link, ...]  #: tags, then districts
    also: tuple[_Link, ...]  #: "Auch berichtet von"
    files: tuple[_Link, ...]  #: the story's attachments ("bericht.pdf (PDF, 1,8 MB)")


@dataclass(frozen=True, slots=True)
class _Day:
    iso: str
    label: str
    entries: tuple[_Entry, ...]


def render_page(
    channel: ChannelInfo,
    stories: Sequence[Story],
    channels: Sequence[ChannelInfo],
    site_title: str,
    all_channel: str,
    tz: ZoneInfo,
) -> bytes:
    """The HTML page of ``channel`` with its ``stories`` (newest first), grouped by day.

    Args:
        channels: every published channel, for the navigation and the tag links.
        all_channel: the id of the channel whose page is ``index.html``.
    """
    here = page_path(channel.id, all_channel)
    root = "../" * here.count("/")
    pages = {c.id: root + page_path(c.id, all_channel) for c in channels}
    days: list[_Day] = []
    for story in stories:
        entry, day = _entry(channel, story, pages, tz)
        if not days or days[-1].iso != day.isoformat():
            days.append(_Day(day.isoformat(), german_date(day), ()))
        days[-1] = _Day(days[-1].iso, days[-1].label, (*days[-1].entries, entry))
    feeds = {fmt: root + path for fmt, path in feed_paths(channel.id).items()}
    topics = [c for c in channels if c.id.startswith("tag-")]
    districts = [c for c in channels if c.id.startswith("district-")]
    others = [c for c in channels if c not in topics and c not in districts]
    html = (
        _environment()
        .get_template("page.html")
        .render(
            channel=channel,
            site_title=site_title,
            home=pages.get(all_channel, root + INDEX_PAGE),
            is_home=channel.id == all_channel,
            feeds=feeds,
            icon=root + channel.icon_file if channel.icon_file else None,
            opml=root + "feeds/feeds.opml",
            days=days,
            navigation=[
                ("Kanäle", [_Link(c.title, pages[c.id]) for c in others if c.id != all_channel]),
                ("Themen", [_Link(_short(c, site_title), pages[c.id]) for c in topics]),
                (
                    "Landkreise und Städte",
                    [_Link(_short(c, site_title), pages[c.id]) for c in districts],
                ),
            ],
        )
    )
    return html.encode("utf-8")


def _entry(
    channel: ChannelInfo, story: Story, pages: Mapping[str, str], tz: ZoneInfo
) -> tuple[_Entry, date]:
    lead = story.lead(channel.priorities)
    item = lead.item
    local: datetime = item.published_at.astimezone(tz)
    tags = sorted({t for m in story.members for t in m.item.tags})
    districts = sorted({d for m in story.members for d in m.item.districts} - set(tags))
    terms = tuple(_Link(channel.labels.get(t, t), pages.get(f"tag-{t}")) for t in tags) + tuple(
        _Link(channel.labels.get(d, d), pages.get(f"district-{d}")) for d in districts
    )
    also: list[_Link] = []
    seen = {item.source_id}
    for member in story.members:
        if member.item.source_id in seen:
            continue
        seen.add(member.item.source_id)
        name = channel.source_names.get(member.item.source_id, member.item.source_id)
        also.append(_Link(name, _web_url(member.item.url)))
    entry = _Entry(
        anchor=f"s{story.id}",
        title=item.title,
        url=_web_url(item.url),
        source=channel.source_names.get(item.source_id, item.source_id),
        # Sources that publish only a date give midnight; a time of "00:00" would be invented.
        time=local.strftime("%H:%M") if (local.hour, local.minute) != (0, 0) else "",
        datetime=local.isoformat(),
        teaser=_shorten(item.summary_text),
        terms=terms,
        also=tuple(also),
        files=tuple(
            _Link(german.file_label(f.url, f.media_type, f.size, f.title), _web_url(f.url))
            for f in story.attachments(lead)
        ),
    )
    return entry, local.date()


def _web_url(url: str | None) -> str | None:
    """Only http(s) links become hrefs; escaping alone would let ``javascript:`` through."""
    if url and urlsplit(url).scheme.lower() in ("http", "https"):
        return url
    return None


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= _TEASER_CHARS:
        return text
    cut = text.rfind(" ", 0, _TEASER_CHARS)
    return text[: cut if cut > 0 else _TEASER_CHARS].rstrip(" ,;:.–-") + " …"


def _short(channel: ChannelInfo, site_title: str) -> str:
    """A tag or district channel's label without the site title in front."""
    prefix = f"{site_title} – "
    return channel.title[len(prefix) :] if channel.title.startswith(prefix) else channel.title


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("revier_feed.publish", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
