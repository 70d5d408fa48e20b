"""Stored items -> RSS 2.0 and Atom 1.0 documents (feedgen), deterministic byte for byte.

Nothing in a document depends on the time of publishing, only on the items, so publishing
twice without news gives identical files (and unchanged ETags for subscribers' caches).
"""

from __future__ import annotations

import functools
import html
import json
import mimetypes
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .. import __version__, german
from .._utils import TAG_LIKE, as_uri
from ..models import Attachment, ChannelInfo, StoredItem, Story
from .paths import feed_paths

#: Stands in for "updated" of a channel with no items, so empty feeds are stable too.
_EMPTY_CHANNEL_UPDATED = datetime(2020, 1, 1, tzinfo=UTC)
_ATOM = "http://www.w3.org/2005/Atom"
_MEDIA = "http://search.yahoo.com/mrss/"
#: The JSON Feed encoder: C-speed (no indent), one for every document.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
#: The date in our tag: URIs (RFC 4151); fixed forever, or every id would change.
_TAG_DATE = "2026"


def render(channel: ChannelInfo, stories: Sequence[Story], tz: ZoneInfo) -> dict[str, bytes]:
    """RSS and Atom documents of ``channel``, one entry per story (newest first), by format."""
    paths = feed_paths(channel.id)
    # One generator for both formats, its entries built once: only the self link differs.
    generator = _generator(channel, stories, tz)
    _links(generator, channel, self_path=paths["rss"])
    rss = generator.rss_str(pretty=True)
    _links(generator, channel, self_path=paths["atom"])
    return {
        "rss": rss,
        "atom": generator.atom_str(pretty=True),
        "json": _json_feed(channel, stories, tz, self_path=paths["json"]),
    }


def _json_feed(
    channel: ChannelInfo, stories: Sequence[Story], tz: ZoneInfo, self_path: str
) -> bytes:
    """JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/), as deterministic as the XML."""
    entries = []
    for story in stories:
        lead = story.lead(channel.priorities)
        item = lead.item
        # The full text where there is one (a followed article's), as Atom's content.
        text = item.content_html or item.summary_html or html.escape(item.summary_text)
        files = story.attachments(lead)
        body = text + _also_reported(channel, story, lead) + _files_named(files)
        entry: dict[str, object] = {
            "id": story_id(channel.public_base_url, story.id),
            "title": item.title,
            "content_html": body or html.escape(item.title),
            "date_published": item.published_at.astimezone(tz).isoformat(),
            "date_modified": _story_updated(story).astimezone(tz).isoformat(),
            "authors": [{"name": channel.source_names.get(item.source_id, item.source_id)}],
        }
        if item.url:
            entry["url"] = _uri(item.url)
        if item.summary_text:
            entry["summary"] = item.summary_text
        picture = _picture(story, lead)
        if picture:
            entry["image"] = _uri(picture)
        if files:
            entry["attachments"] = [_json_attachment(file) for file in files]
        terms = sorted({t for m in story.members for t in m.item.tags | m.item.districts})
        if terms:
            entry["tags"] = [channel.labels.get(t, t) for t in terms]
        entries.append(entry)
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": channel.title,
        "home_page_url": channel.site_url,
        "feed_url": channel.public_base_url + self_path,
        "description": channel.description or channel.title,
        "language": channel.language,
        "items": entries,
    }
    if channel.hub:
        document["hubs"] = [{"type": "WebSub", "url": channel.hub}]
    if channel.icon_file:
        document["icon"] = document["favicon"] = channel.public_base_url + channel.icon_file
    # Compact: with an indent, json encodes in pure Python, ten times slower for a channel
    # of a hundred teasers; feed readers read either.
    return (_JSON.encode(document) + "\n").encode("utf-8")


def _json_attachment(file: Attachment) -> dict[str, object]:
    found: dict[str, object] = {"url": file.url, "mime_type": file.media_type}
    if file.title:
        found["title"] = file.title
    if file.size:
        found["size_in_bytes"] = file.size
    return found


def story_id(public_base_url: str, story: int) -> str:
    """The permanent tag: URI of a story: it stays when its primary item changes."""
    host = urlsplit(public_base_url).hostname or "localhost"
    return f"tag:{host},{_TAG_DATE}:story/{story}"


def _links(fg: FeedGenerator, channel: ChannelInfo, self_path: str) -> None:
    """The channel's links, replacing those set before, with the self link of one format."""
    links = [{"href": channel.hub, "rel": "hub"}] if channel.hub else []
    # feedgen takes the *last* link as the RSS <link>, so the page comes after the self link.
    links.append({"href": channel.public_base_url + self_path, "rel": "self"})
    links.append({"href": channel.site_url, "rel": "alternate"})
    fg.link(links, replace=True)


def _generator(channel: ChannelInfo, stories: Sequence[Story], tz: ZoneInfo) -> FeedGenerator:
    """The channel's feed with its entries, but for its links (:func:`_links`)."""
    fg = FeedGenerator()
    fg.id(f"tag:{_host(channel)},{_TAG_DATE}:channel/{channel.id}")
    fg.title(channel.title)
    fg.subtitle(channel.description or channel.title)
    if channel.hub:
        # feedgen writes rel="hub" into Atom only; RSS gets it from the extension.
        fg.register_extension(
            "websub_hub", functools.partial(_RssHub, channel.hub), atom=False, rss=True
        )
    fg.language(channel.language)
    fg.generator("revier-feed", version=__version__)
    if channel.icon_file:
        icon = channel.public_base_url + channel.icon_file
        fg.icon(icon)  # Atom
        if channel.icon_file.endswith((".png", ".gif", ".jpg")):
            # RSS takes these three only. Not feedgen's image(): it makes the icon Atom's
            # <logo> too, which is to be twice as wide as high.
            image = functools.partial(_RssImage, icon, channel.title, channel.site_url)
            fg.register_extension("rss_image", image, atom=False, rss=True)
    if any(m.item.image or m.item.attachments for story in stories for m in story.members):
        fg.load_extension("media", atom=True, rss=True)  # declares its namespace
    # RSS's <author> is an email address: the source's name goes into dc:creator, which
    # readers show as the author (newsboat showed none, and Atom's the source's name).
    fg.load_extension("dc", atom=False, rss=True)
    items = [member for story in stories for member in story.members]
    updated = max((_story_updated(s) for s in stories), default=_EMPTY_CHANNEL_UPDATED)
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
    for story in stories:
        _add_entry(fg, channel, story, tz, source_updated)
    return fg


def _add_entry(
    fg: FeedGenerator,
    channel: ChannelInfo,
    story: Story,
    tz: ZoneInfo,
    source_updated: Mapping[str, datetime],
) -> None:
    lead = story.lead(channel.priorities)
    item = lead.item
    entry = fg.add_entry(order="append")
    entry.id(story_id(channel.public_base_url, story.id))
    entry.title(item.title)
    if TAG_LIKE.search(item.title):
        entry.register_extension("tag_like_title", _TagLikeTitle, atom=True, rss=True)
    if item.url:
        entry.link(href=_uri(item.url), rel="alternate")
    # Everything published as type="html" is sanitized HTML; plain text is escaped first,
    # or "&lt;img onerror=…&gt;" in an item's text would become live markup in a reader.
    files = story.attachments(lead)
    # Under the text, where readers show it (many show the full text alone, when there is
    # one): the other sources, the files.
    under = _also_reported(channel, story, lead) + _files_named(files)
    summary = (item.summary_html or html.escape(item.summary_text)) + under
    if summary:
        entry.summary(summary, type="html")
    if item.content_html:
        entry.content(item.content_html + under, type="html")
    elif not item.url:
        # Atom needs an alternate link or content; an item without a link carries its text.
        entry.content(summary or html.escape(item.title), type="html")
    picture = _uri(_picture(story, lead))
    if picture:
        # Media RSS, which feed readers read a picture of an entry from (in RSS and Atom).
        image = {"url": picture, "medium": "image"}
        kind = mimetypes.guess_type(urlsplit(picture).path)[0]
        if kind and kind.startswith("image/"):
            image["type"] = kind
        entry.media.content(image, group=None)  # alone: a group needs several pictures
        entry.media.thumbnail({"url": picture}, group=None)  # what some readers list by
    if files:
        # Not feedgen's links: it writes an Atom entry's links with their href alone (an
        # enclosure would be a second alternate link) and gives RSS the last one.
        extension = functools.partial(_Attachments, files)
        entry.register_extension("attachments", extension, atom=True, rss=True)
    entry.published(item.published_at.astimezone(tz))
    entry.updated(_story_updated(story).astimezone(tz))
    source_name = channel.source_names.get(item.source_id, item.source_id)
    entry.author(name=source_name)
    entry.dc.dc_creator(source_name)
    source_url = channel.source_urls.get(item.source_id)
    if source_url:
        entry.source(url=_uri(source_url), title=source_name)
        details = functools.partial(
            _AtomSourceDetails,
            f"tag:{_host(channel)},{_TAG_DATE}:source/{item.source_id}",
            source_updated[item.source_id].astimezone(tz),
        )
        entry.register_extension("atom_source_details", details, atom=True, rss=False)
    tags = {t for m in story.members for t in m.item.tags}
    districts = {d for m in story.members for d in m.item.districts}
    for term in sorted(tags) + sorted(districts - tags):
        label = channel.labels.get(term)
        if label:
            entry.category(term=term, label=label)
        else:
            entry.category(term=term)


def _uri(url: str | None) -> str | None:
    """A link as feeds carry it: a URI, not an IRI (umlauts and "[" percent-encoded)."""
    return as_uri(url) or url


def _picture(story: Story, lead: StoredItem) -> str | None:
    """The story's picture (its ``image`` selector's, or its feed's enclosure or media): the
    lead item's, else the first member's that has one."""
    if lead.item.image:
        return lead.item.image
    return next((m.item.image for m in story.members if m.item.image), None)


def _also_reported(channel: ChannelInfo, story: Story, lead: StoredItem) -> str:
    """ "Auch berichtet von: <a>Landkreis Leipzig</a>, …" for the other members."""
    others = []
    seen = {lead.item.source_id}
    for member in story.members:
        if member.item.source_id in seen:
            continue
        seen.add(member.item.source_id)
        name = html.escape(channel.source_names.get(member.item.source_id, member.item.source_id))
        url = member.item.url
        others.append(f'<a href="{html.escape(url)}">{name}</a>' if url else name)
    return f"<p>Auch berichtet von: {', '.join(others)}</p>" if others else ""


def _files_named(files: Sequence[Attachment]) -> str:
    """ "Anhang: <a>Bericht (PDF, 1,8 MB)</a>" for the story's files, in the entry's text:
    many readers show an enclosure only if it is a podcast's (newsboat never a PDF)."""
    if not files:
        return ""
    links = ", ".join(
        f'<a href="{html.escape(_uri(f.url) or f.url)}">'
        f"{html.escape(german.file_label(f.url, f.media_type, f.size, f.title))}</a>"
        for f in files
    )
    return f"<p>{'Anhänge' if len(files) > 1 else 'Anhang'}: {links}</p>"


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


class _Attachments(BaseExtension):  # type: ignore[misc]  # feedgen is untyped
    """An entry's files. Atom: an enclosure link each. RSS: the first as the item's
    ``<enclosure>`` (RSS allows one, and podcast apps play that one), the others as Media
    RSS ``<media:content>``."""

    def __init__(self, files: tuple[Attachment, ...]) -> None:
        self._files = files

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        for file in self._files:
            link = etree.SubElement(entry, "link", rel="enclosure", href=file.url)
            link.set("type", file.media_type)
            if file.title:
                link.set("title", file.title)
            if file.size:
                link.set("length", str(file.size))
        return entry

    def extend_rss(self, entry: etree._Element) -> etree._Element:
        # A document or a sound is what the one enclosure is for; a press photo among the
        # files would be shown as the entry's picture instead.
        files = sorted(self._files, key=lambda file: file.media_type.startswith("image/"))
        first, *others = files
        etree.SubElement(
            entry,
            "enclosure",
            url=first.url,
            length=str(first.size or 0),  # RSS's word for a size not known
            type=first.media_type,
        )
        for file in others:
            content = etree.SubElement(entry, f"{{{_MEDIA}}}content", url=file.url)
            if file.size:
                content.set("fileSize", str(file.size))
            content.set("type", file.media_type)
        return entry


class _TagLikeTitle(BaseExtension):  # type: ignore[misc]  # feedgen is untyped
    """An entry title whose text looks like markup, escaped once more.

    RSS does not say whether a title is text or HTML, and many readers render it as HTML:
    a site's title "&lt;img src=x onerror=…&gt;" (text, once decoded) would run there.
    Escaped twice, such readers show the text; readers that take titles as text show
    entities, for the rare title that names a tag. Atom's title is text unless it says
    otherwise, but readers that put it into their page as HTML ran it all the same (found
    with a browser, session 40): it says type="html" and is escaped, which shows the same
    text in every reader. JSON Feed's title is text with no way to say otherwise, and the
    pages escape it.
    """

    def extend_rss(self, entry: etree._Element) -> etree._Element:
        title = entry.find("title")
        if title is not None and title.text:
            title.text = html.escape(title.text, quote=False)
        return entry

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        title = entry.find("title")  # feedgen names the namespace only on the feed
        if title is not None and title.text:
            title.text = html.escape(title.text, quote=False)
            title.set("type", "html")
        return entry


class _RssImage(BaseExtension):  # type: ignore[misc]  # feedgen is untyped
    """The channel's ``<image>``: the site's icon, linking to the site, titled as the feed
    (the W3C validator asks both to be the channel's own)."""

    def __init__(self, url: str, title: str, link: str) -> None:
        self._fields = (("url", url), ("title", title), ("link", link))

    def extend_rss(self, rss: etree._Element) -> etree._Element:
        channel = rss.find("channel")
        if channel is not None:
            image = etree.SubElement(channel, "image")
            for name, value in self._fields:
                etree.SubElement(image, name).text = value
        return rss


class _RssHub(BaseExtension):  # type: ignore[misc]  # feedgen is untyped
    """``<atom:link rel="hub">`` after the self link of an RSS channel (WebSub, 4)."""

    def __init__(self, hub: str) -> None:
        self._hub = hub

    def extend_rss(self, rss: etree._Element) -> etree._Element:
        channel = rss.find("channel")
        if channel is not None:
            link = etree.Element(f"{{{_ATOM}}}link", href=self._hub, rel="hub")
            self_link = channel.find(f"{{{_ATOM}}}link")
            if self_link is not None:
                self_link.addnext(link)
            else:
                channel.append(link)
        return rss


def _host(channel: ChannelInfo) -> str:
    return urlsplit(channel.public_base_url).hostname or "localhost"


def _story_updated(story: Story) -> datetime:
    """When a story's entry last changed: its members' own updates, and when each member
    that joined it later came (a republication adds an "Auch berichtet von" link, and may
    lead the story from then on, with its title and link)."""
    updated = max(_updated(m) for m in story.members)
    # Members of one cycle are first seen seconds apart: they came together.
    joined_after = min(m.first_seen_at for m in story.members) + _SAME_CYCLE
    joined = [m.first_seen_at for m in story.members if m.first_seen_at > joined_after]
    return max([updated, *joined])


#: Members first seen within this of a story's first came with it: one cycle stores its
#: sources within seconds (a cold cycle of 500 in about five); a source polled again ten
#: minutes later is another cycle.
_SAME_CYCLE = timedelta(minutes=2)


def _updated(stored: StoredItem) -> datetime:
    item = stored.item
    updated = max(item.published_at, item.updated_at or item.published_at)
    if stored.last_changed_at > stored.first_seen_at:
        # The text changed after we first stored it: readers should see it as updated.
        updated = max(updated, stored.last_changed_at)
    return updated
