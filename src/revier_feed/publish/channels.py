"""Which stories go into which channel, and the OPML list of all channels."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from xml.sax.saxutils import quoteattr

from ..models import ChannelInfo, Story

#: A story's tags, districts and sources, over all its members.
Facets = tuple[frozenset[str], frozenset[str], frozenset[str]]


def facets(stories: Sequence[Story]) -> list[Facets]:
    """Each story's facets, gathered once for all channels that select from the stories."""
    return [
        (
            frozenset(t for m in story.members for t in m.item.tags),
            frozenset(d for m in story.members for d in m.item.districts),
            frozenset(m.item.source_id for m in story.members),
        )
        for story in stories
    ]


def select(
    stories: Sequence[Story], channel: ChannelInfo, gathered: Sequence[Facets] | None = None
) -> list[Story]:
    """The channel's stories: the first ``channel.limit`` that pass its filter, in the given
    order (the newest arrivals first), shown newest first by their first publication.

    Args:
        gathered: :func:`facets` of ``stories``, if already at hand.
    """
    if gathered is None:
        gathered = facets(stories)
    matches = channel.filter.matches_facets
    chosen = []
    for story, (tags, districts, sources) in zip(stories, gathered, strict=True):
        if matches(tags, districts, sources):
            chosen.append(story)
            if len(chosen) == channel.limit:
                break
    # Stable: stories first published at once stay in the order they came.
    chosen.sort(key=_first_published, reverse=True)
    return chosen


def _first_published(story: Story) -> datetime:
    return story.members[0].item.published_at  # members are oldest first


def opml(title: str, channels: Sequence[ChannelInfo], paths: dict[str, dict[str, str]]) -> bytes:
    """An OPML 2.0 list of every channel's RSS feed, for importing into a feed reader."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_text(title)}</title></head>",
        "  <body>",
    ]
    for channel in channels:
        url = channel.public_base_url + paths[channel.id]["rss"]
        lines.append(
            f'    <outline type="rss" text={quoteattr(channel.title)} '
            f"title={quoteattr(channel.title)} xmlUrl={quoteattr(url)} "
            f"htmlUrl={quoteattr(channel.site_url)}/>"
        )
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
