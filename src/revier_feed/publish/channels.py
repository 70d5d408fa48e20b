"""Which stories go into which channel, and the OPML list of all channels."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import quoteattr

from ..models import ChannelInfo, Story


def select(stories: Sequence[Story], channel: ChannelInfo) -> list[Story]:
    """The channel's stories, in the given order (newest first), at most ``channel.limit``."""
    chosen = []
    for story in stories:
        if channel.filter.matches(story):
            chosen.append(story)
            if len(chosen) == channel.limit:
                break
    return chosen


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
