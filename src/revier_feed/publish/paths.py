"""Where a channel's files go in the output folder.

Apart from the renderers, so that a publish with nothing changed (which only checks that
these files exist) loads neither feedgen nor Jinja2.
"""

from __future__ import annotations

#: The page of the channel that carries everything.
INDEX_PAGE = "index.html"


def feed_paths(channel_id: str) -> dict[str, str]:
    """Output paths (relative to the output folder) of a channel's feeds, by format."""
    return {
        "rss": f"feeds/{channel_id}.rss.xml",
        "atom": f"feeds/{channel_id}.atom.xml",
        "json": f"feeds/{channel_id}.json",
    }


def page_path(channel_id: str, all_channel: str) -> str:
    """Output path (relative to the output folder) of a channel's page."""
    return INDEX_PAGE if channel_id == all_channel else f"channels/{channel_id}.html"
