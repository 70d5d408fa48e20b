"""Stored items -> RSS 2.0 and Atom 1.0 documents (feedgen), deterministic byte for byte.

Nothing in a document depends on the time of publishing, only on the items, so publishing
twice without news gives identical files (and unchanged ETags for subscribers' caches).
"""

from __future__ import annotations

import functools
import hashlib
import html
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .. import __version__
from ..models import ChannelInfo, StoredItem

#: Stands in for "updated" of a channel with no items, so empty feeds are stable too.
_EMPTY_CHANNEL_UPDATED = datetime(2020, 1, 1, tzinfo=UTC)
#: The date in our tag: URIs (RFC 4151); fixed forever, or every id would change.
_TAG_DATE = "2026"


def feed_paths(channel_id: str) -> dict[str, str]:
    """Output paths (relative to the output folder) of a channel's feeds, by format."""
    return {"rss": f"feeds/{channel_id}.rss.xml", "atom": f"feeds/{channel_id}.atom.xml"}


def render(channel: ChannelInfo, items: Sequence[StoredItem], tz: ZoneInfo) -> dict[str, bytes]:
    """RSS and Atom documents of ``channel`` with ``items`` (newest first), by format."""
    paths = feed_paths(channel.id)
    return {
        "rss": _generator(channel, items, tz, self_path=paths["rss"]).rss_str(pretty=True),
        "atom": _generator(channel, items, tz, self_path=paths["atom"]).atom_str(pretty=True),
    }


def item_id(public_base_url: str, source_id: str, key: str) -> str:
    """A permanent tag: URI for an item; the same for the same item on every run."""
    host = urlsplit(public_base_url).hostname or "localhost"
    digest = hashlib.sha256(f"{source_id}\n{key}".encode()).hexdigest()[:20]
    return f"tag:{host},{_TAG_DATE}:item/{source_id}/{digest}"


def _generator(
    channel: ChannelInfo, items: Sequence[StoredItem], tz: ZoneInfo, self_path: str
) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(f"tag:{_host(channel)},{_TAG_DATE}:channel/{channel.id}")
    fg.title(channel.title)
    fg.subtitle(channel.description or channel.title)
    # feedgen takes the *last* link as the RSS <link>, so the page comes after the self link.
    fg.link(href=channel.public_base_url + self_path, rel="self")
    fg.link(href=channel.site_url, rel="alternate")
    fg.language(channel.language)
    fg.generator("revier-feed", version=__version__)
    updated = max((_updated(s) for s in items), default=_EMPTY_CHANNEL_UPDATED)
    fg.updated(updated.astimezone(tz))
    fg.lastBuildDate(updated.astimezone(tz))
    # atom:source/updated is the source feed's time: its newest item here, the same for
    # every entry of that source (and independent of when we publish).
    source_updated: dict[str, datetime] = {}
    for stored in items:
        source_id = stored.item.source_id
        source_updated[source_id] = max(
            source_updated.get(source_id, _updated(stored)), _updated(stored)
        )
    for stored in items:
        _add_entry(fg, channel, stored, tz, source_updated[stored.item.source_id])
    return fg


def _add_entry(
    fg: FeedGenerator,
    channel: ChannelInfo,
    stored: StoredItem,
    tz: ZoneInfo,
    source_updated: datetime,
) -> None:
    item = stored.item
    entry = fg.add_entry(order="append")
    entry.id(item_id(channel.public_base_url, item.source_id, item.key))
    entry.title(item.title)
    if item.url:
        entry.link(href=item.url, rel="alternate")
    # Everything published as type="html" is sanitized HTML; plain text is escaped first,
    # or "&lt;img onerror=…&gt;" in an item's text would become live markup in a reader.
    summary = item.summary_html or html.escape(item.summary_text)
    if summary:
        entry.summary(summary, type="html")
    if item.content_html:
        entry.content(item.content_html, type="html")
    elif not item.url:
        # Atom needs an alternate link or content; an item without a link carries its text.
        entry.content(summary or html.escape(item.title), type="html")
    entry.published(item.published_at.astimezone(tz))
    entry.updated(_updated(stored).astimezone(tz))
    source_name = channel.source_names.get(item.source_id, item.source_id)
    entry.author(name=source_name)
    source_url = channel.source_urls.get(item.source_id)
    if source_url:
        entry.source(url=source_url, title=source_name)
        details = functools.partial(
            _AtomSourceDetails,
            f"tag:{_host(channel)},{_TAG_DATE}:source/{item.source_id}",
            source_updated.astimezone(tz),
        )
        entry.register_extension("atom_source_details", details, atom=True, rss=False)
    for term in sorted(item.tags) + sorted(item.districts):
        label = channel.labels.get(term)
        if label:
            entry.category(term=term, label=label)
        else:
            entry.category(term=term)


class _AtomSourceDetails(BaseExtension):  # type: ignore[misc]  # feedgen is untyped
    """Adds id and updated to atom:source, which RFC 4287 (4.2.11) asks for and feedgen
    does not write; the W3C validator warns without them."""

    def __init__(self, source_id: str, updated: datetime) -> None:
        self._source_id = source_id
        self._updated = updated

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        source = entry.find("source")
        if source is not None:
            etree.SubElement(source, "id").text = self._source_id
            etree.SubElement(source, "updated").text = self._updated.isoformat()
        return entry


def _host(channel: ChannelInfo) -> str:
    return urlsplit(channel.public_base_url).hostname or "localhost"


def _updated(stored: StoredItem) -> datetime:
    item = stored.item
    updated = max(item.published_at, item.updated_at or item.published_at)
    if stored.last_changed_at > stored.first_seen_at:
        # The text changed after we first stored it: readers should see it as updated.
        updated = max(updated, stored.last_changed_at)
    return updated
