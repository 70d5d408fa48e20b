"""Plain, frozen data types that cross stage boundaries; no I/O, no third-party imports.

The pipeline passes them in this order::

    SourceSpec (config) + SourceState (store)
      -> FetchResult | NotModified        fetch
      -> ParsedDocument[RawItem]          parse
      -> Item                             normalize
      -> ItemDecision                     dedup
      -> SourceReport                     ingest, one per source and cycle
    StoredItem (store) -> feed files      publish
    Story (store) + PartnerSpec -> DigestIssue -> email    digest
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple


class SourceKind(enum.StrEnum):
    """How a source is read."""

    FEED = "feed"  #: RSS, Atom (anything feedparser reads)
    HTML = "html"  #: a news listing page scraped with CSS selectors
    JSON = "json"  #: a site's JSON (an API, a page's data) read by dot paths


class ErrorKind(enum.StrEnum):
    """The fixed set of reasons a source can fail; stored, counted and shown to admins."""

    TIMEOUT = "timeout"
    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    REDIRECT = "redirect"  #: too many redirects or a redirect loop
    HTTP_4XX = "http_4xx"
    HTTP_429 = "http_429"
    HTTP_5XX = "http_5xx"
    GONE = "gone"  #: HTTP 410: the publisher removed the feed for good
    TOO_LARGE = "too_large"
    ROBOTS = "robots"  #: robots.txt forbids us this URL
    #: a redirect or link leads to a private, loopback or link-local address
    PRIVATE = "private"
    EMPTY = "empty"  #: an empty body, or a listing whose item selector matched nothing
    NOT_A_FEED = "not_a_feed"  #: e.g. an HTML error page where a feed was expected
    #: a firewall's bot check or block page (Cloudflare, Anubis, …) where the content was
    BLOCKED = "blocked"
    #: a maintenance notice, a parked domain or a web host's placeholder page instead
    UNAVAILABLE = "unavailable"
    PARSE = "parse"
    #: the source's login could not be sent: an environment variable it names is not set
    LOGIN = "login"


#: What an admin can do about a firewall that keeps revier-feed out (``blocked``).
FIREWALL_HINT = (
    "ask the site's operator to let revier-feed through (its User-Agent names your contact URL)"
)


class SourceStatus(enum.StrEnum):
    """Health of a source as the store knows it."""

    NEW = "new"  #: never fetched yet
    OK = "ok"
    DEGRADED = "degraded"  #: items came, but some were malformed or lacked title or date
    STALE = "stale"  #: fetches succeed, but no new item for a long time
    EMPTY = "empty"  #: a listing whose selectors match nothing: the layout probably changed
    FAILING = "failing"
    GONE = "gone"  #: HTTP 410; not fetched again until its URL is changed in the config


class IgnoredValidators(enum.IntEnum):
    """Which of a source's validators its server proved not to follow (stored as 0-2)."""

    NONE = 0
    ALL = 1  #: "not modified" to its ETag while the document had news: asked whole
    #: "not modified" to its Last-Modified, while its ETag changed: asked by the ETag alone
    #: (a server that reads only If-Modified-Since, or keeps a stale Last-Modified)
    LAST_MODIFIED = 2


@dataclass(frozen=True, slots=True)
class HtmlSelectors:
    """CSS selectors for an ``html`` source; ``sel@attr`` takes an attribute instead of text."""

    item: str  #: each match is one news item
    title: str
    link: str | None = None  #: default: the first ``a[href]`` in the title, then in the item
    date: str | None = None
    teaser: str | None = None
    image: str | None = None
    #: Links to the item's files (downloads), each match one; on followed pages too.
    files: str | None = None
    content: str | None = None  #: on article pages (with ``follow``); default: auto-detect
    next: str | None = None  #: link to the next listing page
    #: each item also holds the elements after it, up to the next item (a ``<dt>`` and
    #: its ``<dd>``; a heading and the paragraphs after it)
    item_until_next: bool = False


@dataclass(frozen=True, slots=True)
class JsonPaths:
    """Where a ``json`` source's items and their fields are, as dot paths
    (``data.news``, ``title.rendered``, ``media.0.url``; see :mod:`revier_feed.parse.json_api`)."""

    items: str  #: the list of items; ``.``: the document is the list
    title: str  #: within an item, as the others
    link: str | None = None
    date: str | None = None
    teaser: str | None = None
    content: str | None = None
    image: str | None = None
    id: str | None = None  #: the item's own id, which stays when its title or link change
    author: str | None = None
    categories: str | None = None
    #: On an HTML page, the ``<script>`` holding the JSON (a CSS selector:
    #: ``#__NEXT_DATA__``); without it the document is the JSON.
    script: str | None = None


@dataclass(frozen=True, slots=True)
class ItemRule:
    """A source's ``include`` or ``exclude`` rule: it matches an item when any ``any`` term
    (if there are any), every ``all`` term and no ``none`` term occur in ``fields`` (the
    terms of tag rules, see :mod:`revier_feed.tag`)."""

    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    fields: tuple[str, ...] = ("title", "teaser", "content")


@dataclass(frozen=True, slots=True)
class SourceTls:
    """TLS for a source whose site gets it wrong in a way the admin chose to accept: a
    certificate chain without its intermediate, a private or self-signed certificate, a
    server of before TLS 1.2."""

    #: Certificates (PEM, absolute path) trusted for this source besides the system's.
    ca_file: str | None = None
    #: TLS 1.0 and 1.1, weak keys and ciphers, and the renegotiation of before RFC 5746.
    legacy: bool = False


@dataclass(frozen=True, slots=True)
class SourceAuth:
    """The login of a source behind one: the names of the environment variables that hold
    it (the secrets themselves never go into the configuration). Sent only to the origin
    of the source's URL."""

    #: HTTP Basic: the user name's and the password's variables.
    username_env: str | None = None
    password_env: str | None = None
    #: Instead: a token sent as ``Authorization: Bearer …``.
    token_env: str | None = None


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One source as the admin configured it."""

    id: str
    name: str
    kind: SourceKind
    url: str
    interval: timedelta  #: how often to fetch when all is well; where adaptation starts
    priority: int = 0  #: higher wins when several sources report one story
    tags: tuple[str, ...] = ()  #: tags every item of this source gets
    district: str | None = None  #: district the source belongs to, if any
    selectors: HtmlSelectors | None = None  #: required for ``html`` sources
    json: JsonPaths | None = None  #: required for ``json`` sources
    follow: bool = False  #: fetch each new item's article page for full text and date
    max_pages: int = 1  #: listing pages to read when ``selectors.next`` is set
    allow_hosts: tuple[str, ...] = ()  #: hosts besides the source's own that may be followed
    #: Items of the first fetch published within this window count as new; older ones are
    #: stored as backlog (shown in feeds, never announced as news). None: all backlog.
    backfill: timedelta | None = None
    #: Bounds of the adaptive interval; None: the interval itself (no adaptation that way).
    min_interval: timedelta | None = None
    max_interval: timedelta | None = None
    #: Only items this rule matches are collected (None: every item).
    include: ItemRule | None = None
    #: Items this rule matches are not collected.
    exclude: ItemRule | None = None
    #: TLS as the site needs it; None: verified against the system's certificates only.
    tls: SourceTls | None = None
    #: The login the site asks for; None: none is sent.
    auth: SourceAuth | None = None
    #: CSS selectors of elements taken out of what the source delivers before it is read:
    #: its entries' HTML, its listing pages, its followed article pages.
    remove: tuple[str, ...] = ()
    #: Sent instead of the configured User-Agent (a site refusing programs it does not know).
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """How to talk HTTP; the same for every source."""

    user_agent: str
    timeout: float  #: seconds, per request in total
    connect_timeout: float
    max_concurrency: int
    max_per_host: int
    max_body_bytes: int  #: after decompression, so a gzip bomb is cut
    max_redirects: int
    retries: int = 2  #: extra attempts within a cycle on timeouts, connection errors, 429, 5xx
    retry_backoff: float = 2.0  #: seconds before the first retry; doubles each time
    max_retry_wait: float = 30.0  #: a longer Retry-After is left to the next cycle
    respect_robots: bool = True
    #: seconds one source's further pages and followed articles may take in a cycle
    follow_time_limit: float = 300.0
    #: hosts (names, addresses, networks) any source may reach at a private address
    private_hosts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TagSpec:
    """A topic tag and its matching rule (see :mod:`revier_feed.tag` for the term syntax)."""

    id: str
    label: str
    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    fields: tuple[str, ...] = ("title", "teaser", "content")


@dataclass(frozen=True, slots=True)
class DistrictSpec:
    """A district or city of the region and the place names that point to it."""

    id: str
    name: str
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A stored item's key and what another key could be built from."""

    id: int
    key: str
    url: str | None
    title: str
    fingerprint: str


class ItemIdentity(enum.StrEnum):
    """What identifies a source's items; sources whose guids are broken leave GUID."""

    GUID = "guid"  #: guid / Atom id, else link, else text (the normal case)
    LINK = "link"  #: the item's link
    LINK_TITLE = "link+title"  #: link and title, for sources whose links repeat too


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the store remembers about a source between cycles."""

    source_id: str
    status: SourceStatus = SourceStatus.NEW
    #: The URL in use when a permanent redirect (301/308) moved the source; None: config URL.
    url: str | None = None
    #: The configured URL this state belongs to; when the admin edits it, the state's
    #: redirect and "gone" verdict no longer apply.
    config_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    error_count: int = 0  #: consecutive failed cycles
    last_error_kind: str | None = None
    last_error: str | None = None  #: one human-readable line
    http_status: int | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    next_fetch_at: datetime | None = None
    items_last_fetch: int | None = None  #: of the last successful fetch
    last_new_item_at: datetime | None = None  #: for "stale"
    fetch_seconds: float | None = None  #: moving average of a whole fetch-to-store pass
    #: New items per hour, a moving average over successful fetches (adaptive interval).
    new_item_rate: float | None = None
    identity: ItemIdentity = ItemIdentity.GUID  #: changed when its guids prove broken
    #: A digest of how the source's documents were read at its last success (kind,
    #: selectors, pages, rules): when the admin changes it, what the new reading finds that
    #: was already there is backlog, not news.
    reading: str | None = None
    #: When its document last came whole (a 200): a source answering 304 for longer than
    #: ``fetch.revalidate_after`` is asked without validators, to find out whether its
    #: server's "not modified" can be trusted.
    fetched_whole_at: datetime | None = None
    #: Its server answered "not modified" while the document had news: the validators it
    #: is no longer asked with.
    validators_ignored: IgnoredValidators = IgnoredValidators.NONE


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A successful HTTP response with its body."""

    url: str  #: final URL after redirects; relative links resolve against it
    status_code: int
    headers: Mapping[str, str]  #: lower-case names
    content: bytes
    etag: str | None = None
    last_modified: str | None = None
    #: Where a chain of only permanent redirects (301/308) ended, if there was one.
    permanent_url: str | None = None
    #: Seconds the server says the document stays fresh (Cache-Control max-age, Expires).
    fresh_for: float | None = None


@dataclass(frozen=True, slots=True)
class NotModified:
    """The server answered 304: nothing to parse, nothing to write."""

    etag: str | None = None
    last_modified: str | None = None
    #: Where a chain of only permanent redirects (301/308) ended, if there was one.
    permanent_url: str | None = None
    #: Seconds the server says the document stays fresh (a 304 renews it).
    fresh_for: float | None = None


class RobotsCopy(NamedTuple):
    """An origin's robots.txt as last read: what the fetcher keeps between cycles."""

    fetched_at: datetime  #: when it was last read (or found unchanged)
    status: int  #: the HTTP status (4xx: no rules), or the fetcher's "unreadable" mark
    body: str
    #: The validators it came with, to ask again conditionally once it is due.
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file an item links to as its enclosure (RSS), ``rel="enclosure"`` link (Atom) or
    attachment (JSON Feed): a press release as PDF, a podcast's episode. Only linked, never
    fetched."""

    url: str
    media_type: str  #: ``application/pdf``; guessed from the name when the feed gave none
    size: int | None = None  #: bytes, as the feed states it (not checked)
    title: str | None = None  #: Atom's and JSON Feed's name of it ("Der Bericht als PDF")


@dataclass(frozen=True, slots=True)
class RawItem:
    """One item as the parser found it, before cleaning; text may still hold HTML."""

    title: str
    link: str | None  #: absolute, as published (may carry tracking parameters)
    guid: str | None = None  #: the publisher's id (RSS guid, Atom id), if any
    summary_html: str = ""
    content_html: str = ""
    author: str | None = None
    published: datetime | None = None  #: aware, if the parser could read a date
    published_text: str | None = None  #: the date as written, for error messages
    #: The date may change while the item does not: it counts back from the reading in
    #: hours or minutes ("vor 2 Stunden"), or it is a feed's update time standing in for a
    #: publication date (often the time the feed was rendered).
    date_moves: bool = False
    updated: datetime | None = None
    categories: tuple[str, ...] = ()
    image: str | None = None
    attachments: tuple[Attachment, ...] = ()  #: as the feed gave them (type and size too)


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """What one fetched document yielded: items plus per-item problems that were skipped."""

    items: tuple[RawItem, ...]
    warnings: tuple[str, ...] = ()
    title: str | None = None  #: the document's own title, if it has one
    next_url: str | None = None  #: the next listing page, when the source paginates
    #: The listing's link, teaser and date selectors that matched on none of its items (on some
    #: page), or its title selector that found one title on all: its layout changed, so what
    #: they found before is kept (not overwritten) ...
    drifted: tuple[str, ...] = ()
    #: ... for these items (by index), those of the pages where they drifted.
    drifted_items: tuple[int, ...] = ()
    #: Items (by index) of the pages whose title or link selector drifted, or their teaser
    #: and date selectors both: not collected as new. They would be stored without links
    #: under keys of their text, or under a title not theirs, or be a redesigned page's
    #: menu caught by the old selectors, dated now at the top of the feeds.
    held_items: tuple[int, ...] = ()
    #: A listing's items without a readable date, one line each: warnings, unless the
    #: source follows its items to their article pages, which may give the date.
    undated: tuple[str, ...] = ()
    #: A listing's items dated more than a day ahead, one line each (shown by ``sources
    #: test``; they take their first-seen time).
    ahead: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Article:
    """What a followed article page adds to a listing item."""

    content_html: str  #: the article's main text (unsanitized)
    published: datetime | None = None  #: from <time>, article:published_time or JSON-LD
    #: Why the page is not the article ("asks for a login", "says it was not found"), or
    #: None: the item then keeps its listing text.
    not_article: str | None = None
    files: tuple[Attachment, ...] = ()  #: what the source's ``files`` selector found


#: A date further ahead than this is a site's error, not a scheduled publication: the
#: item takes the time it was first seen.
FUTURE_TOLERANCE = timedelta(days=1)

#: A source last asked later than this after now was asked while the clock ran ahead (a
#: wrong clock at boot, corrected since): its next fetch time is as far off as the clock
#: was, and it is due at once instead of silent for that long.
CLOCK_SLACK = timedelta(minutes=5)


def fetch_due(
    next_fetch_at: datetime | None, last_attempt_at: datetime | None, now: datetime
) -> bool:
    """Whether a source with this schedule is due at ``now`` (never scheduled: at once)."""
    if next_fetch_at is None or next_fetch_at <= now:
        return True
    return last_attempt_at is not None and last_attempt_at > now + CLOCK_SLACK


#: How the key of an item with neither guid nor link starts (the rest is made of its text).
TEXT_KEY = "text:"

#: The title of an item whose source gave none (and no teaser to take one from).
NO_TITLE = "(ohne Titel)"
#: A title that is only a date ("12. März 2026", "12.03.26"): some listings put the date
#: where the headline belongs.
DATE_ONLY_TITLE = re.compile(
    r"^\W*(\d{1,2}\.\s?(\d{1,2}\.|[^\W\d]+\.?)\s?\d{2,4}|\d{4}-\d{2}-\d{2})\W*$"
)


@dataclass(frozen=True, slots=True)
class Item:
    """A normalized item: clean URL, UTC dates, sanitized HTML, plain text, fingerprint."""

    source_id: str
    key: str  #: identity within the source: guid, else clean link, else a text hash
    url: str | None  #: tracking parameters removed
    title: str  #: plain text
    summary_html: str  #: sanitized HTML
    summary_text: str  #: plain text of the summary
    content_html: str  #: sanitized HTML, may be empty
    author: str | None
    published_at: datetime  #: aware UTC; the first-seen time when the source gave none
    date_estimated: bool  #: True when published_at is not the source's own date
    updated_at: datetime | None
    categories: tuple[str, ...]
    tags: frozenset[str]
    image: str | None
    #: Versioned hash of the fields a reader sees; a change means "updated".
    fingerprint: str
    #: Part of a source's existing archive when it was added: published, never announced.
    backlog: bool = False
    #: Districts of the region the item is about (gazetteer ids).
    districts: frozenset[str] = frozenset()
    #: Files the item links to (not its picture), http(s) only, in the feed's order.
    attachments: tuple[Attachment, ...] = ()


class ItemDecision(enum.StrEnum):
    """What to do with a normalized item, decided purely from what the store knows."""

    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """A failure as stored and shown: kind from :class:`ErrorKind` plus one line of text."""

    kind: str
    message: str
    status_code: int | None = None
    retry_after: float | None = None


class ReportStatus(enum.StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class SourceReport:
    """The outcome of one source in one cycle."""

    source_id: str
    status: ReportStatus
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    excluded: int = 0  #: items the source's include or exclude rule left out
    error: ErrorInfo | None = None
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class CycleSummary:
    """All reports of one collection cycle."""

    reports: tuple[SourceReport, ...]
    started_at: datetime
    finished_at: datetime
    #: Sources not asked because their host gave them no turn (a pause it asked for, a
    #: Crawl-delay beyond the cycle's wait, a request it let time out), with why; they
    #: stay due.
    deferred: tuple[tuple[str, str], ...] = ()
    #: Of those, the sources whose host let a request time out.
    unanswered: tuple[str, ...] = ()
    #: Sources of the cycle that were failing or empty before it (for `run --once --due`:
    #: their failing again is no failure of the run).
    failing_before: frozenset[str] = frozenset()
    #: Sources not asked because they answered 410 Gone at their configured URL.
    gone: tuple[str, ...] = ()

    @property
    def new(self) -> int:
        return sum(r.new for r in self.reports)

    @property
    def updated(self) -> int:
        return sum(r.updated for r in self.reports)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.reports if r.status is ReportStatus.ERROR)


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """What one retention run removed."""

    items: int
    stories: int  #: stories left without members
    #: tombstones dropped: of keys their sources have long stopped listing
    tombstones: int = 0


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An item as read back from the store, for publishing."""

    id: int
    item: Item
    first_seen_at: datetime
    last_changed_at: datetime
    story_id: int | None = None  #: None until the stories step has placed it
    story_similarity: float | None = None  #: to the member it joined by


@dataclass(frozen=True, slots=True)
class StoryText:
    """What the stories step reads of an item not yet placed in a story."""

    id: int
    source_id: str
    url: str | None
    title: str
    summary_text: str
    content_html: str
    published_at: datetime
    districts: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class PlacedItem:
    """A stored item already in a story, with what the story index needs of it."""

    item_id: int
    story_id: int
    published_at: datetime
    shingles: bytes  #: packed
    keywords: str  #: space-separated
    districts: tuple[str, ...]
    marks: bytes  #: packed: where the index lists it
    events: tuple[int, ...] = ()  #: day numbers of the events it announces
    source_id: str = ""


@dataclass(frozen=True, slots=True)
class StoryPlacement:
    """Where the stories step put an item, to be written back."""

    item_id: int
    story_id: int
    new_story: bool  #: the story starts with this item
    similarity: float | None  #: to the member it joined by; None for a new story
    shingles: bytes  #: packed, boilerplate removed
    keywords: str  #: sorted, space-separated, as stored
    marks: bytes  #: packed
    events: tuple[int, ...] = ()  #: day numbers of the events it announces


@dataclass(frozen=True, slots=True)
class Story:
    """Items from one or more sources that report the same news."""

    id: int  #: permanent: the story's feed id is built from it
    members: tuple[StoredItem, ...]  #: oldest first

    def lead(self, priorities: Mapping[str, int]) -> StoredItem:
        """The member that represents the story: highest source priority, then the earliest."""
        return min(
            self.members,
            key=lambda m: (-priorities.get(m.item.source_id, 0), m.item.published_at, m.id),
        )

    def attachments(self, lead: StoredItem) -> tuple[Attachment, ...]:
        """The story's files (a press release's PDF, a podcast's episode): its lead
        member's, else those of the first member that has any (a partner's republication
        without the PDF leads, the agency's release has it)."""
        if lead.item.attachments:
            return lead.item.attachments
        return next((m.item.attachments for m in self.members if m.item.attachments), ())


@dataclass(frozen=True, slots=True)
class StoryFilter:
    """Which stories a channel (or a partner's digest) carries; empty lists do not filter.

    A story counts with the tags, districts and sources of all its members.
    """

    tags: frozenset[str] = frozenset()  #: any of these
    all_tags: frozenset[str] = frozenset()  #: every one of these
    districts: frozenset[str] = frozenset()  #: any of these
    sources: frozenset[str] = frozenset()  #: a member from any of these
    exclude_tags: frozenset[str] = frozenset()

    def matches(self, story: Story) -> bool:
        """Whether a story passes; it counts with all its members' tags and sources.

        Feeds (publish) and digests (digest) both select by it, so it lives here, below both.
        """
        return self.matches_facets(
            {t for m in story.members for t in m.item.tags},
            {d for m in story.members for d in m.item.districts},
            {m.item.source_id for m in story.members},
        )

    def matches_facets(
        self, tags: AbstractSet[str], districts: AbstractSet[str], sources: AbstractSet[str]
    ) -> bool:
        """:meth:`matches` on a story's tags, districts and sources computed beforehand."""
        return (
            (not self.tags or bool(self.tags & tags))
            and self.all_tags <= tags
            and (not self.districts or bool(self.districts & districts))
            and (not self.sources or bool(self.sources & sources))
            and not self.exclude_tags & tags
        )


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """Metadata of one published feed."""

    id: str
    title: str
    description: str
    language: str
    public_base_url: str  #: absolute, ends with "/"
    site_url: str  #: the human-readable page the feed belongs to
    filter: StoryFilter = StoryFilter()
    limit: int = 100  #: stories in the feed
    source_names: Mapping[str, str] = field(default_factory=dict)  #: source id -> name
    source_urls: Mapping[str, str] = field(default_factory=dict)  #: source id -> its URL
    labels: Mapping[str, str] = field(default_factory=dict)  #: tag or district id -> label
    priorities: Mapping[str, int] = field(default_factory=dict)  #: source id -> priority
    hub: str | None = None  #: WebSub hub advertised with rel="hub"
    #: The site's icon in the output folder ("icon.png"), if it has one.
    icon_file: str | None = None


@dataclass(frozen=True, slots=True)
class FeedLink:
    """A feed a web page advertises with ``<link rel="alternate">``, or one found by trying
    the page's links and the usual feed addresses (``advertised`` false)."""

    url: str
    type: str  #: "rss", "atom" or "json"
    title: str | None = None
    advertised: bool = True


#: The OPML attribute `sources export` writes a source's id into, so that an import into
#: another revier-feed keeps it (channels and partners name sources by id).
SOURCE_ID_ATTRIBUTE = "revierFeedId"


@dataclass(frozen=True, slots=True)
class ListedFeed:
    """A feed an OPML subscription list names (``sources import``)."""

    url: str
    title: str  #: the outline's text or title; empty if it has neither
    site_url: str | None  #: its ``htmlUrl``
    folders: tuple[str, ...]  #: the outlines it is nested in, outermost first
    #: Its OPML 2.0 ``category`` paths' parts ("/Wirtschaft,/Kreise/Saalekreis").
    categories: tuple[str, ...]
    line: int  #: where the list names it
    #: The id `sources export` gave it (another revier-feed's list), if any.
    source_id: str | None = None
    #: Liferea's ``type="source"``: the address of another subscription list, not a feed.
    is_list: bool = False


@dataclass(frozen=True, slots=True)
class Discovery:
    """What a URL offers as a source: it is a feed, it links to feeds, or it is a listing
    whose selectors were guessed."""

    #: The URL to read the source from: where permanent redirects led, else the one asked.
    url: str
    title: str | None  #: the page's or feed's title
    is_feed: bool
    feed_type: str | None = None  #: of a feed: "rss", "atom" or "json"
    feeds: tuple[FeedLink, ...] = ()
    #: Of a page whose head names no feed: its links that may lead to one, and the
    #: addresses where its site may serve one unlinked, to be tried in that order.
    feed_links: tuple[str, ...] = ()
    usual_feeds: tuple[str, ...] = ()
    selectors: HtmlSelectors | None = None  #: a guess for an html source, to be checked
    #: Feeds the page names that are none (each with why): passed over.
    unusable: tuple[tuple[str, str], ...] = ()
    #: Where the page was read from after redirects, if not ``url`` (a temporary
    #: redirect): its feeds' hosts and paths are compared with this one.
    read_from: str | None = None
    #: What the page is where it stands in for the site's (a firewall's bot check, a
    #: maintenance notice, a page a script writes), and what to do.
    stand_in: str | None = None


@dataclass(frozen=True, slots=True)
class Preview:
    """What collecting a source would store right now (nothing is stored)."""

    fetched: FetchResult
    items: tuple[Item, ...]
    warnings: tuple[str, ...]
    #: Items the source's include or exclude rule leaves out: title, and why.
    excluded: tuple[tuple[str, str], ...] = ()
    #: The listing pages read (its ``next`` links followed), the first one's URL first.
    pages: tuple[str, ...] = ()


#: A metric series: its name and its (label, value) pairs, sorted by label.
MetricKey = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True, slots=True)
class MetricSample:
    """One value of a metric series, as stored or as derived from the store."""

    name: str
    labels: tuple[tuple[str, str], ...]  #: sorted by label name
    value: float


class HealthStatus(enum.StrEnum):
    """The verdict of ``/healthz`` (see docs/dev.md, "Health")."""

    OK = "ok"  #: the worker collects and every source is healthy
    DEGRADED = "degraded"  #: the worker collects, but some sources have problems
    UNHEALTHY = "unhealthy"  #: feeds are not being updated: HTTP 503


@dataclass(frozen=True, slots=True)
class Health:
    """The worker's and the sources' health, as the store and the worker's lock tell it."""

    status: HealthStatus
    problems: tuple[str, ...]  #: why it is not ``ok``, one readable line each
    worker: str | None  #: the process holding the store's lock, if any
    last_cycle_at: datetime | None  #: when the worker last finished a collection cycle
    sources_by_status: Mapping[str, int]
    failing_sources: tuple[str, ...]  #: failing or gone


@dataclass(frozen=True, slots=True)
class PartnerSpec:
    """A partner who receives the digest, as configured."""

    id: str
    name: str
    addresses: tuple[str, ...]
    filter: StoryFilter
    schedule: str  #: cron expression (the partner's own or the default)
    group_by: str  #: "topic" or "district"
    active: bool = True


class DigestState(enum.StrEnum):
    """Where one partner's digest of one period stands in the send log."""

    #: Handed to the mail server, outcome not recorded yet. Found on a later run, it means the
    #: run died in between: it is sent again, with the same Message-ID.
    SENDING = "sending"
    RETRY = "retry"  #: a temporary failure; due again at ``next_attempt_at``
    SENT = "sent"
    EMPTY = "empty"  #: nothing new for this partner, so nothing was sent
    FAILED = "failed"  #: refused for good (5xx, bad address) or too many temporary failures
    SUPERSEDED = "superseded"  #: never delivered; the next period's digest covers its stories

    @property
    def done(self) -> bool:
        """Nothing more will be done for this period."""
        return self in (
            DigestState.SENT,
            DigestState.EMPTY,
            DigestState.FAILED,
            DigestState.SUPERSEDED,
        )


@dataclass(frozen=True, slots=True)
class DigestPeriod:
    """The stretch of time one digest covers: stories first seen in (since, until]."""

    key: str  #: e.g. "2026-11-23T0700" (local slot time); part of the Message-ID
    slot_at: datetime  #: the scheduled moment (UTC); the digest is due from then
    since: datetime
    until: datetime  #: = slot_at: later stories go into the next digest
    #: The start shown to readers where ``since`` is a few minutes before the last
    #: digest's slot (``deliver.covered_until``): that slot.
    shown_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One story in a digest, ready to render (plain text only; the renderer escapes)."""

    story_id: int
    title: str
    url: str | None  #: http(s) only
    source: str  #: the lead member's source name
    published_at: datetime
    teaser: str  #: plain text, shortened at a word boundary
    #: Other sources that reported it: (name, url or None).
    also: tuple[tuple[str, str | None], ...]
    text_hash: str  #: of the lead's title and teaser, to notice material changes
    updated: bool = False  #: sent before; listed again once because its text changed
    #: The story's files: (label as "bericht.pdf (PDF, 1,8 MB)", http(s) url).
    files: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class DigestIssue:
    """One partner's digest for one period (or the archive's, with ``partner`` None)."""

    partner: PartnerSpec | None
    period: DigestPeriod
    groups: tuple[tuple[str, tuple[DigestEntry, ...]], ...]  #: (group label, entries)

    @property
    def entries(self) -> tuple[DigestEntry, ...]:
        return tuple(e for _, entries in self.groups for e in entries)


@dataclass(frozen=True, slots=True)
class DigestLogEntry:
    """A row of the send log: one partner, one period."""

    partner_id: str
    period: str
    slot_at: datetime
    since: datetime
    #: Where the next period starts: the slot, or a little earlier when stories of the
    #: period's last minutes could not be in it yet (``deliver.covered_until``).
    until: datetime
    state: DigestState
    attempts: int = 0
    next_attempt_at: datetime | None = None
    message_id: str | None = None
    stories: int = 0
    error: str | None = None
    updated_at: datetime | None = None
    #: When the digest was first tried: at or after its slot, unless the clock ran ahead.
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DigestResend:
    """A delivered digest that some of the partner's addresses refused for now (a 4xx at
    RCPT TO): the same message goes to them again at ``next_attempt_at``."""

    partner_id: str
    period: str
    addresses: tuple[str, ...]
    sender: str  #: the envelope sender of the first send
    message: bytes  #: the message's bytes as first sent, Message-ID included
    utf8: bool  #: its headers are in UTF-8: sent with SMTPUTF8
    attempts: int  #: tries so far, the first send included
    next_attempt_at: datetime
    #: What became of the partner's other refused addresses (refused for good, given up),
    #: kept for the send log's note.
    history: str = ""


@dataclass(frozen=True, slots=True)
class DigestCopy:
    """A digest as it was first handed to the mail server, kept until its period is done:
    every later attempt sends these very bytes. A mail service drops a Message-ID it has
    delivered before, so a rebuilt digest (after a run died while sending it) went nowhere
    when the first copy had arrived, and the stories placed in between counted as sent."""

    partner_id: str
    period: str
    sender: str  #: the envelope sender
    message: bytes
    utf8: bool  #: its headers are in UTF-8: sent with SMTPUTF8
    stories: tuple[tuple[int, str, bool], ...]  #: (story id, text hash, listed as update)


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """A source the admin digest reports, with its last error."""

    source_id: str
    name: str
    status: str  #: a :class:`SourceStatus` value
    error_kind: str | None
    error: str | None
    failures: int
    last_success_at: datetime | None
    last_new_item_at: datetime | None
