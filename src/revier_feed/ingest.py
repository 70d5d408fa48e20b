"""The collection pipeline: the one module that puts the stages together.

For each due source, in this order::

    fetch (conditional) | parse | [fetch + parse further listing pages]
      | normalize | tag | disambiguate keys | dedup against the store
      | [fetch + parse the article page of each new or changed item]   (follow: true)
      | drop items retention removed | mark backlog (first fetch; read anew)
      | store (one transaction)
    then, for all sources of the cycle together, oldest item first:
      place new items into stories (one transaction)

Fetches run concurrently on the event loop, bounded per host and overall by the fetcher,
and at most a few sources per connection wait between fetching and storing (so fetched
bodies do not pile up in memory). Parsing and storing run on one worker thread, one step at
a time, so a large page never stalls the event loop (and with it other sources' timeouts),
and writes to the store are serialized; normalizing and tagging run there too, or in
worker processes if ``worker.processes`` asks for them (``compute.py``), which then also
parse the documents of sources that need nothing else of them (no further pages, no
articles followed) and compute the story features of a source's first fetch. Sources that
answer 304 have their new states written together at the end of the cycle.

Each source ends in exactly one :class:`SourceReport`: a problem with one source, even an
unexpected exception from a parser, becomes a value in its report and never stops the
others. Storage errors and cancellation propagate.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import hashlib
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, Self, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from . import dedup, placement, schedule, stories
from ._logging import mask_secrets
from ._utils import site_of, visible
from .compute import ItemWorkers, Normalized
from .exceptions import (
    Cancelled,
    Deferred,
    EmptyListing,
    FetchError,
    ParseError,
    ResourceError,
    RevierError,
    SourceError,
    StoredDataError,
)
from .fetch import TURN_WAITS, Fetcher, host_name
from .models import (
    CLOCK_SLACK,
    FUTURE_TOLERANCE,
    Article,
    ErrorInfo,
    ErrorKind,
    FetchResult,
    HtmlSelectors,
    IgnoredValidators,
    Item,
    ItemDecision,
    ItemIdentity,
    ItemRule,
    JsonPaths,
    NotModified,
    ParsedDocument,
    Preview,
    RawItem,
    ReportStatus,
    SourceReport,
    SourceSpec,
    SourceState,
    SourceStatus,
)
from .placement import PreparedFeatures, StoryCache
from .storage import Storage
from .story_work import SourceFeatures, story_texts
from .tag import Tagger

log = logging.getLogger(__name__)

#: Weight of the newest duration in the moving average of fetch times.
_AVERAGE_WEIGHT = 0.3
#: Sources being fetched or waiting to be parsed and stored, per allowed connection.
_IN_FLIGHT_PER_CONNECTION = 2

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class IngestContext:
    """Everything a cycle needs besides the sources; built by the app."""

    fetcher: Fetcher
    storage: Storage
    #: Runs parsing and storing off the event loop; one worker, so writes are serialized.
    executor: Executor
    tagger: Tagger
    #: Normalizes and tags a document's items, on other cores where there are some.
    items: ItemWorkers
    #: How far apart in publication time two items of one story may be.
    story_window: timedelta
    tz: ZoneInfo
    max_backoff: timedelta
    stale_after: timedelta
    now: Callable[[], datetime]
    rng: random.Random
    should_stop: Callable[[], bool] = lambda: False
    #: The story index kept between cycles (a worker's), or None: loaded every cycle.
    story_cache: StoryCache | None = None
    #: A source whose document last came whole this long ago is asked without validators.
    revalidate_after: timedelta = timedelta(days=1)

    async def offload(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``fn`` on the ingest thread and wait for it."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))


@dataclass(frozen=True, slots=True)
class _Collected:
    """A source's parsed and decided items, before they are stored."""

    decisions: list[tuple[Item, ItemDecision]]
    found: int  #: items in the documents, before duplicates were dropped
    warnings: list[str]
    #: The items the source's include or exclude rule left out: title, and why.
    excluded: list[tuple[str, str]] = field(default_factory=list)
    identity: ItemIdentity = ItemIdentity.GUID  #: how the source's items are keyed now
    #: New keys of stored items (by id) when the identity changed with this fetch.
    rekeyed: dict[int, str] = field(default_factory=dict)
    #: The story features of all the document's normalized items (their keys, and the
    #: features) if a worker computed them with the items: a source's first fetch.
    features: tuple[list[str], SourceFeatures] | None = None
    #: The listing pages read, the first one's URL first.
    pages: tuple[str, ...] = ()
    #: The keys of retired items the documents list (they stay out).
    retired: frozenset[str] = frozenset()
    #: New keys of retired items (old key -> new key) when the identity changed.
    retired_rekeyed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Decided:
    """Normalized items with their decisions, and how the source's items are keyed."""

    #: Each item with its position in the document's items, and its decision.
    triples: list[tuple[int, Item, ItemDecision]]
    warnings: list[str]
    identity: ItemIdentity
    rekeyed: dict[int, str]
    #: The keys of retired items the documents list (left out of ``triples``).
    retired: frozenset[str] = frozenset()
    #: New keys of retired items (old key -> new key) when the identity changed.
    retired_rekeyed: dict[str, str] = field(default_factory=dict)


async def collect(
    specs: Sequence[SourceSpec],
    ctx: IngestContext,
    on_report: Callable[[SourceReport], None] | None = None,
    *,
    all_specs: Sequence[SourceSpec] | None = None,
    on_deferred: Callable[[str, Deferred], None] | None = None,
    states: Mapping[str, SourceState] | None = None,
) -> list[SourceReport]:
    """Fetch, parse and store every source in ``specs``; one report per source handled.

    A source whose host gives it no turn now (:class:`.fetch.Deferred`: a pause the host
    asked for, a Crawl-delay beyond the cycle's wait) is not asked and stays due; it gets
    no report but ``on_deferred(source id, why)``.

    Sources whose first request has not started when ``ctx.should_stop()`` turns true are
    skipped and stay due; a source whose requests are under way is finished and stored
    whole, or, if a later request of it (next page, article) is refused, not at all.
    Then the unplaced items of ``all_specs`` (default: ``specs``) are placed in stories:
    all of them, so items stored by a cycle that was cut short before placing are not
    left out of the feeds until their source delivers news again.
    """
    if states is None:
        states = ctx.storage.source_states(s.id for s in specs)
    # A source asked for the first time brings its whole listing: a cycle of many (a new
    # store, a batch of new sources) needs the worker processes from its first document.
    ctx.items.expect(sum(1 for s in specs if _never_read(states.get(s.id))))
    # Sources that answered 304 change only their schedule: their states are written
    # together at the end, in one transaction instead of one each.
    unchanged: list[SourceState] = []
    # Fetching outpaces parsing; without a bound every fetched body would wait in memory
    # for the ingest thread. A source holds a slot from its first request until stored, ...
    slots = asyncio.Semaphore(_IN_FLIGHT_PER_CONNECTION * ctx.fetcher.settings.max_concurrency)
    # ... and before it takes one, a place of its host (as many as the host's connections)
    # until its first request is answered: sources waiting for a busy or silent host's turn
    # held every slot, and the other hosts' sources waited for that host's timeouts.
    places: dict[str, asyncio.Semaphore] = {}
    prepared = PreparedFeatures()
    deferred: list[str] = []

    async def one(spec: SourceSpec) -> SourceReport | None:
        previous = current_state(spec, states.get(spec.id))
        host = host_name(previous.url or spec.url)
        place = places.setdefault(host, asyncio.Semaphore(ctx.fetcher.settings.max_per_host))
        waiting_since = time.monotonic()
        try:
            async with _HostPlace(place) as host_place:
                placed = time.monotonic()
                async with slots:
                    # The wait for an in-flight slot is the cycle's, not the host's: a
                    # Crawl-delay's turn does not count it.
                    report = await _collect_source(
                        spec,
                        previous,
                        ctx,
                        unchanged,
                        prepared,
                        stored=spec.id in states,
                        waiting_since=waiting_since + (time.monotonic() - placed),
                        answered=host_place.leave,
                    )
        except Cancelled as e:
            if isinstance(e, Deferred):
                deferred.append(spec.id)
                log.debug("source %s: %s", spec.id, e, extra={"event": "source_deferred"})
                if on_deferred is not None:
                    on_deferred(spec.id, e)
            return None
        _log(report)
        if on_report is not None:
            on_report(report)
        return report

    order = _by_host_in_turn(specs, states)
    tasks = [asyncio.ensure_future(one(spec)) for spec in order]
    try:
        reports = await asyncio.gather(*tasks)
    except BaseException:
        # The store failed (or the cycle was abandoned): the other sources must not go on
        # into the ingest thread the cycle shuts down, where each failed as if its own data
        # had broken a parser.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    if deferred:
        log.info(
            "%d sources left for a later cycle: their site's Crawl-delay or pause leaves them "
            "no turn in this one, or it let a request time out (first: %s)",
            len(deferred),
            deferred[0],
            extra={"event": "sources_deferred", "count": len(deferred)},
        )
    done = dict(zip((s.id for s in order), reports, strict=True))
    results = [done[spec.id] for spec in specs]
    if unchanged:
        await ctx.offload(ctx.storage.save_source_states, unchanged, ctx.now())
    # Only sources with items not yet in a story (new ones, or left by a cycle cut short)
    # need placing; a cycle of 304s has none, and skips the story index altogether.
    pending = set(await ctx.offload(ctx.storage.sources_with_unplaced_items))
    placeable = [s for s in (all_specs or specs) if s.id in pending]
    if placeable:
        # Every item is normalized: the normalizing workers' memory is placement's now.
        await ctx.offload(ctx.items.close)
        await ctx.offload(place_in_stories, placeable, ctx, prepared)
    return [r for r in results if r is not None]


class _HostPlace:
    """A source's place among those of its host in a cycle: taken before the source asks
    for anything, left when its first request has ended (:meth:`leave`) or with it."""

    def __init__(self, places: asyncio.Semaphore) -> None:
        self._places = places
        self._held = False

    async def __aenter__(self) -> Self:
        await self._places.acquire()
        self._held = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.leave()

    def leave(self) -> None:
        if self._held:
            self._held = False
            self._places.release()


def _never_read(state: SourceState | None) -> bool:
    """Whether a source has never been asked (a source that only ever failed is not
    counted: fifty dead sites must not start the workers every cycle)."""
    return state is None or state.last_attempt_at is None


def _by_host_in_turn(
    specs: Sequence[SourceSpec], states: Mapping[str, SourceState]
) -> list[SourceSpec]:
    """The sources reordered so that hosts take turns: slots go to sources in this order,
    and ten sources of one slow site at the front must not keep the others waiting. On
    each host the source due longest (never fetched: first) goes first, so that when its
    Crawl-delay leaves turns for only some of them, the others get theirs next cycle."""
    by_host: dict[str, list[SourceSpec]] = {}
    for spec in specs:
        by_host.setdefault((urlsplit(spec.url).hostname or "").lower(), []).append(spec)

    never = datetime.min.replace(tzinfo=UTC)

    def due_since(spec: SourceSpec) -> datetime:
        state = states.get(spec.id)
        return state.next_fetch_at if state and state.next_fetch_at else never

    queues = [sorted(queue, key=due_since) for queue in by_host.values()]
    return [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]


async def preview(spec: SourceSpec, ctx: IngestContext) -> Preview:
    """Fetch and parse ``spec`` as a cycle would, following pages and articles, but store
    nothing: for tuning selectors.

    Raises:
        SourceError: the source could not be fetched or parsed.
    """
    fetched = await ctx.fetcher.fetch(
        spec.id,
        spec.url,
        tls=spec.tls,
        auth=spec.auth,
        user_agent=spec.user_agent,
        accept=_accepted(spec),
    )
    assert isinstance(fetched, FetchResult)  # no validators were sent
    collected = await _collect_items(spec, fetched, ctx, stored_lookup=False, storing=False)
    return Preview(
        fetched=fetched,
        items=tuple(item for item, _ in collected.decisions),
        warnings=tuple(map(_one_line, collected.warnings)),
        excluded=tuple(collected.excluded),
        pages=collected.pages,
    )


#: What a json source asks for: APIs that choose by ``Accept`` (Django REST Framework,
#: API Platform) answer the browser's default with an HTML page of their own.
_JSON_ACCEPT = "application/json, application/*+json;q=0.9, */*;q=0.5"


def _accepted(spec: SourceSpec) -> str | None:
    """The ``Accept`` header of ``spec``'s requests, where not the fetcher's own."""
    if spec.json is not None and not spec.json.script:
        return _JSON_ACCEPT
    return None


def asks_whole(state: SourceState, now: datetime, revalidate_after: timedelta) -> bool:
    """Whether the source is asked without its validators: its server's "not modified"
    proved wrong, or its document has not come whole for ``revalidate_after`` (a server
    that answers 304 for good looks like a quiet site; asked whole, it shows its news)."""
    if not (state.etag or state.last_modified):
        return False  # nothing to leave out
    if state.validators_ignored is IgnoredValidators.ALL or state.fetched_whole_at is None:
        return True
    # Stored while the clock ran ahead (see fetch_due): not believed for as long.
    return not (now - revalidate_after < state.fetched_whole_at <= now + CLOCK_SLACK)


def _validators_lie(
    previous: SourceState, fetched: FetchResult, collected: _Collected, new: int
) -> IgnoredValidators:
    """Which validators a document asked without them proves wrong: it has new items
    under the very ETag (all of them: asked whole from now on) or Last-Modified (asked by
    the ETag alone, if it has one) the server last answered "not modified" to.

    Only a document of one page tells (the validators are the first page's; news on a
    later page says nothing of them), and only after a 304 (not after failures). Edits of
    items are no evidence (a date without a year read anew); new items are."""
    if not new or previous.http_status != 304 or len(collected.pages) != 1:
        return IgnoredValidators.NONE
    if previous.etag is not None and fetched.etag == previous.etag:
        return IgnoredValidators.ALL
    ims_sent = previous.validators_ignored is not IgnoredValidators.LAST_MODIFIED
    if ims_sent and previous.last_modified and fetched.last_modified == previous.last_modified:
        # A server reading only If-Modified-Since, or keeping a stale Last-Modified while
        # honouring If-None-Match (RFC 9110 13.2.2): either way the ETag alone is safe.
        return IgnoredValidators.LAST_MODIFIED if fetched.etag else IgnoredValidators.ALL
    return IgnoredValidators.NONE


def current_state(spec: SourceSpec, stored: SourceState | None) -> SourceState:
    """The stored state, minus what no longer applies because the admin changed the URL:
    a recorded redirect, the validators of the old resource, its failures and their
    backoff (the source is due at once), its health, a "gone" verdict. The new URL's first
    fetch is a first fetch: what it lists is stored as backlog, not announced as news. A
    wait planned under a longer ``max_interval`` than the source has now ends when the
    new one does."""
    if stored is None:
        return SourceState(source_id=spec.id, config_url=spec.url)
    return _within_longest_wait(spec, _for_configured_url(spec, stored))


#: Stored times may be rounded; a wait planned under today's configuration is never cut.
_ROUNDING = timedelta(seconds=1)


def _within_longest_wait(spec: SourceSpec, state: SourceState) -> SourceState:
    """``state`` with its next fetch no later than the longest wait the source's
    configuration allows after its last success (its longest interval and jitter): an
    admin who lowers ``max_interval`` (or ``interval``) expects a quiet source asked
    within the new one, not after the wait planned under the old one. Failing sources keep
    their backoff."""
    if state.error_count or state.next_fetch_at is None or state.last_success_at is None:
        return state
    # As current_interval bounds it (loading makes max_interval at least the interval).
    longest = spec.max_interval or spec.interval
    latest = state.last_success_at + longest * (1 + schedule.JITTER) + _ROUNDING
    return replace(state, next_fetch_at=latest) if state.next_fetch_at > latest else state


def _for_configured_url(spec: SourceSpec, stored: SourceState) -> SourceState:
    if stored.config_url not in (None, spec.url) and stored.url == spec.url:
        # The admin wrote in the address a permanent redirect moved the source to, as its
        # log line asks: the source goes on as it was (its validators, its backlog line,
        # its backoff).
        stored = replace(stored, config_url=spec.url, url=None)
    if stored.config_url == spec.url:
        if stored.reading not in (None, reading_of(spec)) and (
            stored.etag or stored.last_modified
        ):
            # Read anew: the page has not changed, but what is read from it has (a fixed
            # selector waited for the site's next change otherwise).
            return replace(stored, etag=None, last_modified=None)
        return stored
    if stored.config_url is None:
        # A row from before configured URLs were stored (migration 2): nothing changed.
        return replace(stored, config_url=spec.url)
    return replace(
        stored,
        config_url=spec.url,
        url=None,
        etag=None,
        last_modified=None,
        fetched_whole_at=None,
        validators_ignored=IgnoredValidators.NONE,
        status=SourceStatus.NEW,
        http_status=None,
        error_count=0,
        last_error_kind=None,
        last_error=None,
        last_success_at=None,
        next_fetch_at=None,
        items_last_fetch=None,
    )


@functools.lru_cache(maxsize=4096)
def reading_of(spec: SourceSpec) -> str:
    """A digest of what decides which items a source's documents yield: its kind, selectors,
    pages, followed articles and rules (settings left unset do not count, so a setting added
    in a later version changes no digest). Kept per spec: every cycle asks for each
    source's."""

    def unset_left_out(
        value: HtmlSelectors | JsonPaths | ItemRule | None,
    ) -> dict[str, object] | None:
        return {k: v for k, v in asdict(value).items() if v} if value is not None else None

    reading = {
        "kind": spec.kind.value,
        "selectors": unset_left_out(spec.selectors),
        "follow": spec.follow,
        "max_pages": spec.max_pages,
        "allow_hosts": spec.allow_hosts,
        "include": unset_left_out(spec.include),
        "exclude": unset_left_out(spec.exclude),
        "remove": spec.remove,
        # Sites answer other programs otherwise (a 403, a page without news); the ETag of
        # what the old one was sent is no validator of what this one is.
        "user_agent": spec.user_agent,
    }
    if spec.json is not None:  # not in the digests of earlier versions' kinds
        reading["json"] = unset_left_out(spec.json)
    reading = {k: v for k, v in reading.items() if v}
    text = json.dumps(reading, sort_keys=True, default=list)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def current_interval(spec: SourceSpec, rate: float | None) -> timedelta:
    """The source's adaptive interval for the observed new-item rate."""
    return schedule.adaptive_interval(
        rate,
        spec.interval,
        spec.min_interval or spec.interval,
        spec.max_interval or spec.interval,
    )


def is_gone(spec: SourceSpec, stored: SourceState | None) -> bool:
    """Whether the source answered 410 at its configured URL: not fetched again until the
    admin changes that URL."""
    return current_state(spec, stored).status is SourceStatus.GONE


async def _collect_source(
    spec: SourceSpec,
    previous: SourceState,
    ctx: IngestContext,
    unchanged: list[SourceState],
    prepared: PreparedFeatures,
    stored: bool,
    waiting_since: float,
    answered: Callable[[], None],
) -> SourceReport:
    """Fetch, parse and store one source; ``stored``: whether the store has a row for it;
    ``waiting_since``: when it began to wait for its host (monotonic; a turn further
    than the cycle's wait from then leaves the source for later); ``answered``: called
    when its first request has ended (before a retry's wait)."""
    started = time.monotonic()
    attempt_at = ctx.now()
    status: int | None = None  # the HTTP status of a document that then failed to read
    # The waits for the host's turns are the site's politeness, not its slowness: left out
    # of the fetch time (a site asking for a Crawl-delay looked slow in `sources`).
    waits: list[float] = []
    counting = TURN_WAITS.set(waits)

    def began() -> float:
        return started + sum(waits)

    whole = asks_whole(previous, attempt_at, ctx.revalidate_after)
    try:
        try:
            fetched = await ctx.fetcher.fetch(
                spec.id,
                previous.url or spec.url,
                etag=None if whole else previous.etag,
                last_modified=None
                if whole or previous.validators_ignored is IgnoredValidators.LAST_MODIFIED
                else previous.last_modified,
                may_defer=True,
                waiting_since=waiting_since,
                first_ended=answered,
                tls=spec.tls,
                auth=spec.auth,
                user_agent=spec.user_agent,
                accept=_accepted(spec),
                home=spec.url,
            )
        finally:
            answered()  # also when it ended before its first request (robots.txt)
        if isinstance(fetched, NotModified):
            state, report = _not_modified(spec, previous, fetched, attempt_at, ctx, began())
            unchanged.append(state)
            return report
        status = fetched.status_code
        # Items reference their source's row (a foreign key the store enforces), and
        # tombstones, boilerplate and placed items are of stored items: of a source without
        # a row nothing is stored, and its first fetch looks nothing up (5 queries each).
        collected = await _collect_items(
            spec, fetched, ctx, stored_lookup=stored, identity=previous.identity
        )
        await _prepare_features(spec, collected, ctx, prepared, stored)
        return await ctx.offload(
            _save_items, spec, previous, fetched, collected, attempt_at, ctx, began(), whole
        )
    except SourceError as error:
        return await ctx.offload(
            _save_failure, spec, previous, error, attempt_at, ctx, began(), status
        )
    except Exception as error:
        if not _is_source_bug(spec, error):
            raise
        # A parser (ours or a library's) choked on this source's data. The source is marked
        # failing with the reason; the traceback goes to the log for a bug report.
        log.exception(
            "source %s: unexpected error while reading it", spec.id, extra={"source_id": spec.id}
        )
        wrapped = ParseError(
            spec.id,
            kind=ErrorKind.PARSE,
            message=f"unexpected {type(error).__name__} while reading this source: {error} "
            "(a bug in revier-feed; the log has the details)",
        )
        return await ctx.offload(
            _save_failure, spec, previous, wrapped, attempt_at, ctx, began(), status
        )
    finally:
        TURN_WAITS.reset(counting)


#: Errors of the machine, not of a source's data, and what an admin can do about them.
_MACHINE_LIMITS = {
    errno.EMFILE: "raise the open-file limit (ulimit -n, LimitNOFILE=) or lower "
    "fetch.max_concurrency",
    errno.ENFILE: "the whole system is out of open files",
    errno.ENOMEM: "the machine is out of memory",
    errno.ENOSPC: "a disk is full",
}


def _is_source_bug(spec: SourceSpec, error: Exception) -> bool:
    """Whether ``error``, met while reading ``spec`` (or one of its pages), is blamed on the
    source's data.

    Raises:
        ResourceError: the machine ran out of something (``error`` is its cause).
    """
    if isinstance(error, OSError) and error.errno in _MACHINE_LIMITS:
        raise ResourceError(
            f"{error.strerror} while reading source {spec.id} (hint: "
            f"{_MACHINE_LIMITS[error.errno]}); the sources of the cycle stay due"
        ) from error
    # Our own infrastructure failing (the store, the output) is not the source's fault and
    # must surface; anything else raised while reading a source is blamed on its data, and
    # so is a write of its items that broke a rule of the store (rolled back; other sources
    # are stored as usual: a feed's crafted keys once ended every cycle there).
    return not isinstance(error, RevierError) or isinstance(error, StoredDataError)


async def _collect_items(
    spec: SourceSpec,
    fetched: FetchResult,
    ctx: IngestContext,
    *,
    stored_lookup: bool,
    storing: bool = True,
    identity: ItemIdentity = ItemIdentity.GUID,
) -> _Collected:
    from . import parse  # lxml and the parsers: a cycle of 304s never loads them

    now = ctx.now()
    features = None
    # One limit per cycle for the source's further pages and articles together.
    deadline = asyncio.get_running_loop().time() + ctx.fetcher.settings.follow_time_limit
    if not spec.follow and spec.max_pages <= 1:
        # Nothing but the items is needed of this document: a worker may parse it too, and
        # on a first fetch (nothing of the source stored, every item new) also compute
        # their story features.
        first = storing and not stored_lookup
        document, found, normalized, computed = await ctx.items.read(
            spec, fetched, now, ctx.tz, features=first
        )
        pages: tuple[str, ...] = (fetched.url,)
        if computed is not None:
            features = ([item.key for _, item in normalized[0]], computed)
    else:
        document = await ctx.offload(parse.parse, spec, fetched, now, ctx.tz)
        document, pages = await _further_pages(spec, document, fetched.url, ctx, deadline)
        found = len(document.items)
        normalized = await ctx.items.normalize(document.items, spec, now)
    decided = await ctx.offload(
        _decide, spec, document, normalized, ctx, stored_lookup, storing, identity
    )
    pairs, warnings = decided.triples, decided.warnings
    decisions = [(item, decision) for _, item, decision in pairs]
    if spec.follow:
        raws = document.items
        decisions = await _follow(
            spec,
            [(raws[i], item, d) for i, item, d in pairs],
            fetched.url,
            ctx,
            warnings,
            deadline,
        )
    return _Collected(
        features=features,
        decisions=decisions,
        found=found,
        warnings=warnings,
        excluded=normalized[2],
        identity=decided.identity,
        rekeyed=decided.rekeyed,
        pages=pages,
        retired=decided.retired,
        retired_rekeyed=decided.retired_rekeyed,
    )


async def _prepare_features(
    spec: SourceSpec,
    collected: _Collected,
    ctx: IngestContext,
    prepared: PreparedFeatures,
    stored: bool,
) -> None:
    """Compute the story features of the source's new items now, beside the other sources'
    fetching (see :class:`.placement.PreparedFeatures`); ``stored``: whether anything of the
    source may be stored (its known boilerplate, its placed items)."""
    new = [item for item, decision in collected.decisions if decision is ItemDecision.NEW]
    if not new:
        return
    keys = [item.key for item in new]
    if collected.features is not None and collected.features[0] == keys:
        # Computed with the items, as if every item were new and nothing of the source
        # known: so it is (``stored`` is False then).
        prepared.add(spec.id, keys, frozenset(), collected.features[1])
        return
    try:
        known: bytes = b""
        recent: list[bytes] = []
        if stored:
            known, recent = await ctx.offload(
                ctx.storage.story_context, spec.id, placement.RECENT_ITEMS
            )
        boilerplate = stories.unpack(known)
        result = await ctx.items.story_features(story_texts(new), boilerplate, recent)
    except Exception:
        # Not the source's fault, and nothing is lost: placing computes them after all.
        log.exception(
            "source %s: story features not prepared; they are computed when placing",
            spec.id,
            extra={"source_id": spec.id},
        )
        return
    prepared.add(spec.id, keys, boilerplate, result)


def _decide(
    spec: SourceSpec,
    document: ParsedDocument,
    normalized: Normalized,
    ctx: IngestContext,
    stored_lookup: bool,
    storing: bool,
    identity: ItemIdentity = ItemIdentity.GUID,
) -> _Decided:
    done, skipped, _ = normalized
    # Items followed to their article pages may get their date there (see _follow).
    undated = () if spec.follow else document.undated
    warnings = [*document.warnings, *undated, *skipped, *(() if storing else document.ahead)]
    items = list(done)
    pairs, shared = dedup.disambiguate(items)
    # Broken guids (repeated, or new on every fetch) would flood subscribers with
    # "new" items: such a source is keyed by link (or link and title) from now on.
    by_url: Mapping[str, list[tuple[str, str, str]]] = {}
    if stored_lookup and identity is ItemIdentity.GUID:
        by_url = ctx.storage.keys_by_url(spec.id, (i.url for _, i in pairs if i.url))
    now_identity = dedup.identify([i for _, i in pairs], identity, by_url, shared)
    if now_identity is not ItemIdentity.GUID:
        pairs, shared = dedup.disambiguate(dedup.rekey(items, now_identity))
    warnings.extend(dedup.told_apart(shared))
    rekeyed: dict[int, str] = {}
    retired_rekeyed: dict[str, str] = {}
    stored: Mapping[str, str] = {}
    if now_identity != identity:
        if storing:
            log.warning(
                "source %s: its guids are not stable; its items are identified by %s from now on",
                spec.id,
                now_identity.value,
                extra={"source_id": spec.id},
            )
        if stored_lookup:
            rekeyed, stored = dedup.rekey_stored(ctx.storage.stored_keys(spec.id), now_identity)
            # The items retention removed too: under their old keys, those the source
            # still lists would come back as new.
            retired_rekeyed = dedup.rekey_retired(
                ctx.storage.tombstone_keys(spec.id), now_identity
            )
    elif stored_lookup:
        stored = ctx.storage.item_fingerprints(spec.id, (item.key for _, item in pairs))
    positions = {item.key: i for i, item in pairs}
    decided = dedup.decide((item for _, item in pairs), stored)
    if stored_lookup:
        decided = _dates_ahead_of_sight(spec, decided, stored, ctx)
    retired: frozenset[str] = frozenset()
    new_keys = [item.key for item, decision in decided if decision is ItemDecision.NEW]
    if stored_lookup and new_keys:
        # Items retention removed stay removed, even while the source still lists them
        # (also those a drifted selector holds back below: they are listed).
        renamed = set(retired_rekeyed.values())
        retired = frozenset(
            {k for k in ctx.storage.retired_keys(spec.id, new_keys) if k not in retired_rekeyed}
            | {k for k in new_keys if k in renamed}
        )
        decided = [(i, d) for i, d in decided if d is not ItemDecision.NEW or i.key not in retired]
    if document.drifted_items:
        # A selector that found nothing on any item of a page (the site's layout changed)
        # must not wipe what it found before: those items stay as they are until it matches.
        held = set(document.drifted_items)
        decided = [
            (
                item,
                ItemDecision.UNCHANGED
                if decision is ItemDecision.UPDATED and positions[item.key] in held
                else decision,
            )
            for item, decision in decided
        ]
        if document.held_items:
            # Read with drifted selectors, a redesigned page's menu would be stored as
            # news: new items wait until the selectors match again.
            waiting = set(document.held_items)
            decided = [
                (item, decision)
                for item, decision in decided
                if not (decision is ItemDecision.NEW and positions[item.key] in waiting)
            ]
    return _Decided(
        [(positions[item.key], item, decision) for item, decision in decided],
        warnings,
        now_identity,
        rekeyed,
        retired,
        retired_rekeyed,
    )


def _dates_ahead_of_sight(
    spec: SourceSpec,
    decided: list[tuple[Item, ItemDecision]],
    stored: Mapping[str, str],
    ctx: IngestContext,
) -> list[tuple[Item, ItemDecision]]:
    """Items stored with the time they were first seen, their date then more than a day
    ahead (an event's day, an embargo), keep it when that date comes closer: published
    more than a day after it was seen, an item was not. (Re-dated, it was shown as updated
    and went to the top of the feeds and the news page under tomorrow's date.)"""
    dated = [i.key for i, d in decided if d is ItemDecision.UPDATED and not i.date_estimated]
    seen = ctx.storage.estimated_first_seen(spec.id, dated) if dated else {}
    if not seen:
        return decided
    from . import normalize

    kept: list[tuple[Item, ItemDecision]] = []
    for item, decision in decided:
        first = seen.get(item.key)
        if first is not None and item.published_at > first + FUTURE_TOLERANCE:
            item = replace(
                item,
                published_at=first,
                date_estimated=True,
                fingerprint=normalize.undated_fingerprint(item),
            )
            unchanged = item.fingerprint == stored.get(item.key)
            decision = ItemDecision.UNCHANGED if unchanged else ItemDecision.UPDATED
        kept.append((item, decision))
    return kept


def _page_bug(spec: SourceSpec, what: str, url: str, error: Exception) -> str:
    """Log a bug met on one further page or article of a source, with its traceback (call
    it in the ``except`` block); the warning that only that page is lost."""
    log.exception("source %s: unexpected error reading %s", spec.id, url)
    name = type(error).__name__
    return f"{what}: unexpected {name} (a bug in revier-feed; the log has the details)"


def _time_limit(ctx: IngestContext) -> str:
    """The follow time limit, as the admin configures it (for warnings)."""
    return f"fetch.follow_time_limit, {ctx.fetcher.settings.follow_time_limit:g}s"


async def _further_pages(
    spec: SourceSpec, document: ParsedDocument, url: str, ctx: IngestContext, deadline: float
) -> tuple[ParsedDocument, tuple[str, ...]]:
    """Follow the listing's "next" links up to ``spec.max_pages`` pages in all, until the
    loop's time ``deadline``: the pages' items in one document, and the pages' URLs."""
    from . import parse

    pages = [document]
    urls = [url]
    # What reading the further pages met (the pages' own warnings come with them).
    warnings: list[str] = []
    seen = {url}
    next_url = document.next_url
    for _ in range(spec.max_pages - 1):
        if not next_url or next_url in seen:
            break
        if not _may_follow(spec, url, next_url):
            warnings.append(
                f"listing page {next_url} not read: host not allowed (see allow_hosts)"
            )
            break
        seen.add(next_url)
        try:
            async with asyncio.timeout_at(deadline):
                page = await ctx.fetcher.fetch(
                    spec.id,
                    next_url,
                    may_go_to=functools.partial(_may_follow, spec, url),
                    tls=spec.tls,
                    auth=spec.auth,
                    user_agent=spec.user_agent,
                    home=spec.url,
                )
                assert isinstance(page, FetchResult)  # no validators, so never 304
                more = await ctx.offload(parse.parse, spec, page, ctx.now(), ctx.tz)
        except TimeoutError:
            warnings.append(
                f"listing page {next_url} and those after it not read: the time for further "
                f"pages and articles ({_time_limit(ctx)}) is spent"
            )
            break
        except EmptyListing:
            break  # a page without entries ("Keine weiteren Meldungen"): the listing's end
        except SourceError as e:
            warnings.append(f"listing page {next_url} skipped: {e}")
            break
        except Exception as e:
            if not _is_source_bug(spec, e):
                raise
            # The first page's items are read: a bug on a further page costs only its own.
            warnings.append(_page_bug(spec, f"listing page {next_url} skipped", next_url, e))
            break
        pages.append(more)
        urls.append(next_url)
        next_url = more.next_url
    combined = parse.listing_pages(pages) if len(pages) > 1 else document
    return replace(combined, warnings=(*combined.warnings, *warnings)), tuple(urls)


async def _follow(
    spec: SourceSpec,
    pairs: list[tuple[RawItem, Item, ItemDecision]],
    listing_url: str,
    ctx: IngestContext,
    warnings: list[str],
    deadline: float,
) -> list[tuple[Item, ItemDecision]]:
    """Fetch the article page of each new or changed item once, for full text and date,
    until the loop's time ``deadline``; items linking the same page share one request."""
    from . import parse

    late: list[str] = []

    def wanted(item: Item, decision: ItemDecision) -> bool:
        return decision is not ItemDecision.UNCHANGED and bool(item.url)

    # The pages to read, each with the titles of the items linking it (a listing may link
    # one article from two items, a teaser and its headline): an article page names its
    # item, a consent page does not.
    titles: dict[str, tuple[str, ...]] = {}
    for _, item, decision in pairs:
        if item.url and wanted(item, decision):
            titles[item.url] = (*titles.get(item.url, ()), item.title)

    async def read(url: str) -> Article | None:
        if site_of(url) is None:
            warnings.append(f"article {url} not read: not a valid URL (host or port)")
            return None
        if not _may_follow(spec, listing_url, url):
            warnings.append(f"not following {url}: host not allowed (see allow_hosts)")
            return None
        try:
            async with asyncio.timeout_at(deadline):
                page = await ctx.fetcher.fetch(
                    spec.id,
                    url,
                    may_go_to=functools.partial(_may_follow, spec, listing_url),
                    tls=spec.tls,
                    auth=spec.auth,
                    user_agent=spec.user_agent,
                    home=spec.url,
                )
                assert isinstance(page, FetchResult)
                article = await ctx.offload(
                    parse.article, spec, page, ctx.now(), ctx.tz, titles.get(url, ())
                )
            detour = _detour(url, page.url, listing_url)
            if detour is None and article.not_article:
                detour = f"{page.url} {article.not_article}"
            if detour is None:
                return article
            warnings.append(f"article {url} not read: {detour}; the item keeps its listing text")
        except TimeoutError:
            late.append(url)
        except (FetchError, ParseError) as e:
            warnings.append(f"article {url} not read: {e}")
        except Exception as e:
            if not _is_source_bug(spec, e):
                raise
            # The listing's item stands without its article, as when the page is missing.
            warnings.append(_page_bug(spec, f"article {url} not read", url, e))
        return None

    urls = list(titles)
    articles = dict(zip(urls, await asyncio.gather(*(read(url) for url in urls)), strict=True))

    async def enrich(
        raw: RawItem, item: Item, decision: ItemDecision
    ) -> tuple[Item, ItemDecision]:
        article = articles.get(item.url) if wanted(item, decision) and item.url else None
        if article is None:
            return item, decision
        enriched = replace(
            raw,
            content_html=article.content_html or raw.content_html,
            attachments=raw.attachments + article.files,
            published=parse.followed_date(
                raw.published, article.published, ctx.tz, raw.published_text
            ),
        )
        full = await ctx.offload(_normalize_and_tag, enriched, spec, ctx)
        if item.date_estimated and full.published_at > item.published_at + FUTURE_TOLERANCE:
            # Dated more than a day after the item was first seen (see _dates_ahead_of_sight).
            full = replace(full, published_at=item.published_at, date_estimated=True)
        # Key and fingerprint stay the listing's: the next cycle compares listing with
        # listing and must not see every followed item as changed.
        return replace(full, key=item.key, fingerprint=item.fingerprint), decision

    done = list(await asyncio.gather(*(enrich(r, i, d) for r, i, d in pairs)))
    # The listing's items without a date were not warned of yet: their article pages may
    # have given it (a stored item keeps the date its page gave when it was new).
    undated = [
        item
        for item, decision in done
        if decision is not ItemDecision.UNCHANGED and item.date_estimated
    ]
    date_at = (spec.selectors.date if spec.selectors else None) or (
        spec.json.date if spec.json else None
    )
    if undated and date_at:
        warnings.append(
            f"{len(undated)} item(s) without a readable date in the listing "
            f"({date_at!r}) or on their article page (first: {undated[0].title[:60]!r})"
        )
    if late:
        # One warning, not one per page: a slow site may leave hundreds.
        warnings.append(
            f"{len(late)} article pages not read (first: {late[0]}): the time for further "
            f"pages and articles ({_time_limit(ctx)}) is spent; their items keep the "
            "listing's text"
        )
    return done


def _normalize_and_tag(raw: RawItem, spec: SourceSpec, ctx: IngestContext) -> Item:
    from . import normalize  # nh3, ftfy: only for sources with news

    return ctx.tagger.tag(normalize.normalize(raw, spec, ctx.now()), spec)


#: Words of a path that lead to a login ("/login.html?redirect_url=…", "/anmelden/"), ...
_LOGIN_WORDS = frozenset({"login", "anmelden", "anmeldung", "signin", "sso", "auth"})
#: ... to a cookie consent page that asks to be sent back ("/cookie-hinweis.html?ziel=…";
#: an article's new address may name them too: "stadtrat-gibt-zustimmung"), ...
_CONSENT_WORDS = frozenset(
    {"consent", "cookie", "cookies", "datenschutzeinstellungen", "einwilligung", "zustimmung"}
)
#: Words of a path's last part that is a consent page and nothing else ("cookie-hinweis",
#: "cookie-consent"), besides those above.
_CONSENT_PAGE = frozenset({"hinweis", "einstellungen", "banner", "policy", "settings", "seite"})
#: ... or to an error page: its path's last part only says so ("/fehler/404.html",
#: "/seite-nicht-gefunden/", "/error-404/"; not "/4711-fehler-im-haushalt", "/b-404").
_ERROR_WORDS = frozenset({"404", "410", "error", "fehler", "fehlerseite", "notfound", "gefunden"})
_ERROR_PAGE = _ERROR_WORDS | {"not", "found", "page", "seite", "nicht", "http"}


def _detour(url: str, final: str, listing_url: str) -> str | None:
    """Why an article page that redirected from ``url`` to ``final`` is not the article, or
    None: a removed article sent to an error page, the listing, the start page or an
    overview above it, or one behind a login or a cookie consent page. Other redirects (to
    https, to or from a trailing slash, to a new address of the article) are followed as
    they come."""
    there, here, listing = urlsplit(final), urlsplit(url), urlsplit(listing_url)
    path, own, listed = there.path.rstrip("/"), here.path.rstrip("/"), listing.path.rstrip("/")
    if (there.netloc, path, there.query) == (here.netloc, own, here.query):
        return None  # the same page
    words = _path_words(there.path)
    # A login page, or one the article's own slug names as well ("anmeldung-zum-lauf")
    # but that asks to be sent back ("?redirect=…").
    if words & _LOGIN_WORDS and (
        not (words & _LOGIN_WORDS) <= _path_words(here.path) or _RETURN_TO.search(there.query)
    ):
        return f"it redirects to {final}, a login"
    last = _last_part_words(there.path)
    if words & _CONSENT_WORDS and (
        _RETURN_TO.search(there.query)
        or (last & _CONSENT_WORDS and last <= _CONSENT_WORDS | _CONSENT_PAGE)
    ):
        return f"it redirects to {final}, a cookie consent page"
    if last & _ERROR_WORDS and last <= _ERROR_PAGE and last != _last_part_words(here.path):
        return f"it redirects to {final}, an error page (a removed article?)"
    # The listing (with or without a parameter such as TYPO3's "L=0"); where articles are
    # addressed by query on the listing's own path, only the listing's query.
    if (there.netloc, path) == (listing.netloc, listed) and (
        own != listed or there.query == listing.query
    ):
        return f"it redirects to {final}, the listing (a removed article?)"
    if not path and own:
        return f"it redirects to {final}, the start page (a removed article?)"
    if path and there.netloc == here.netloc and here.path.startswith(path + "/"):
        return f"it redirects to {final}, an overview above it (a removed article?)"
    return None


#: Query parameters of a login page that say where to go afterwards.
_RETURN_TO = re.compile(
    r"(?:^|&)(?:redirect\w*|return\w*|back\w*|ref|next|goto|continue|target|ziel)=", re.I
)


def _last_part_words(path: str) -> set[str]:
    """The words of a path's last part, without a file's extension or a ``;jsessionid``."""
    parts = [p for p in path.split("/") if p]
    last = parts[-1].split(";", 1)[0].rsplit(".", 1)[0] if parts else ""
    return {w for w in re.split(r"[^a-z0-9]+", last.lower()) if w}


def _path_words(path: str) -> set[str]:
    return set(re.split(r"[^a-z0-9]+", path.lower()))


def _may_follow(spec: SourceSpec, listing_url: str, url: str) -> bool:
    """Whether a further page or article at ``url`` (also as a redirect's target) is on
    the source's own site or one its ``allow_hosts`` lists."""
    site = site_of(url)
    own = {site_of(u) for u in (spec.url, listing_url)}
    return site is not None and (site in own or site in spec.allow_hosts)


# --- writing the outcome (on the ingest thread) ------------------------------------------


def _save_items(
    spec: SourceSpec,
    previous: SourceState,
    fetched: FetchResult,
    collected: _Collected,
    attempt_at: datetime,
    ctx: IngestContext,
    started: float,
    asked_whole: bool = False,
) -> SourceReport:
    """Store what a fetch of ``spec`` found; ``asked_whole``: asked without the validators
    it has (:func:`asks_whole`)."""
    now = ctx.now()
    decisions = collected.decisions
    first_fetch = previous.last_success_at is None
    reading = reading_of(spec)
    reread = not first_fetch and previous.reading not in (None, reading)
    if first_fetch:
        decisions = [(_mark_backlog(item, spec, now), d) for item, d in decisions]
    elif reread and previous.last_success_at is not None:
        since = previous.last_success_at
        decisions = [
            (_mark_found_again(item, since) if d is ItemDecision.NEW else item, d)
            for item, d in decisions
        ]
        log.info(
            "source %s: read anew (its settings changed); what was there before is stored "
            "as backlog, not announced as news",
            spec.id,
            extra={"source_id": spec.id},
        )
    _note_move(spec, previous, fetched.permanent_url)
    counts = _count(d for _, d in decisions)
    seconds = time.monotonic() - started
    last_new = now if counts[ItemDecision.NEW] or first_fetch else previous.last_new_item_at
    # The first fetch brings the archive, not news: it tells nothing about the rate; nor
    # does a reading that finds more of what was there.
    new_items = None if first_fetch or reread else counts[ItemDecision.NEW]
    ignored = previous.validators_ignored
    news = counts[ItemDecision.NEW]
    found = IgnoredValidators.NONE
    # Asked whole to check its validators (not because they were dropped for good).
    if asked_whole and ignored is not IgnoredValidators.ALL and not first_fetch:
        found = _validators_lie(previous, fetched, collected, news)
    if found is not IgnoredValidators.NONE and found is not ignored:
        ignored = found
        which = (
            f"ETag {previous.etag}"
            if previous.etag and fetched.etag == previous.etag
            else f"Last-Modified {previous.last_modified}"
        )
        log.warning(
            "source %s: its server answered 'not modified' while the document had news (%s "
            "unchanged); it is asked %s from now on",
            spec.id,
            visible(which),
            "without validators" if found is IgnoredValidators.ALL else "by its ETag alone",
            extra={"source_id": spec.id},
        )
    state = replace(
        _success_state(
            spec,
            previous,
            collected.warnings,
            last_new,
            new_items,
            attempt_at,
            now,
            seconds,
            ctx,
            fetched.fresh_for,
        ),
        url=fetched.permanent_url or previous.url,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        http_status=fetched.status_code,
        items_last_fetch=collected.found,
        identity=collected.identity,
        reading=reading,
        fetched_whole_at=attempt_at,
        validators_ignored=ignored,
    )
    if not collected.found and state.status is not SourceStatus.DEGRADED:
        # A feed that listed items and now lists none (a listing whose selector finds none
        # fails as empty): the site's feed may have broken. It stays so until items come.
        had = previous.items_last_fetch
        if had or previous.status is SourceStatus.EMPTY:
            state = replace(
                state,
                status=SourceStatus.EMPTY,
                last_error_kind=ErrorKind.EMPTY.value,
                last_error=previous.last_error
                if previous.status is SourceStatus.EMPTY and previous.last_error
                else f"the feed lists no items (it listed {had} before)",
            )
    # Only a read without warnings (no page that failed, no item that could not be read)
    # and with items tells which removed items the source no longer lists.
    whole = state.status in (SourceStatus.OK, SourceStatus.STALE)
    ctx.storage.save_source_result(
        state,
        decisions,
        now,
        collected.rekeyed,
        retired_listed=collected.retired if whole else None,
        retired_rekeyed=collected.retired_rekeyed,
        # The files of a followed item's article page were read with it: the listing,
        # read again, has only its own.
        refresh_files=not spec.follow,
    )
    return SourceReport(
        source_id=spec.id,
        status=ReportStatus.OK,
        new=counts[ItemDecision.NEW],
        updated=counts[ItemDecision.UPDATED],
        unchanged=counts[ItemDecision.UNCHANGED],
        excluded=len(collected.excluded),
        warnings=tuple(map(_one_line, collected.warnings)),
        seconds=seconds,
    )


def _note_move(spec: SourceSpec, previous: SourceState, permanent_url: str | None) -> None:
    """Log, once, that the source moved permanently (the state keeps the new URL)."""
    if permanent_url and permanent_url != previous.url:
        log.warning(
            "source %s moved permanently to %s; now fetching there (update sources.yaml)",
            spec.id,
            permanent_url,
            extra={"source_id": spec.id},
        )


def _not_modified(
    spec: SourceSpec,
    previous: SourceState,
    fetched: NotModified,
    attempt_at: datetime,
    ctx: IngestContext,
    started: float,
) -> tuple[SourceState, SourceReport]:
    """The new state and the report of a source that answered 304 (nothing to parse)."""
    _note_move(spec, previous, fetched.permanent_url)
    now = ctx.now()
    seconds = time.monotonic() - started
    # The same document as last time has the same problems: a degraded verdict stays.
    warnings = [previous.last_error or ""] if previous.status is SourceStatus.DEGRADED else []
    state = replace(
        _success_state(
            spec,
            previous,
            warnings,
            previous.last_new_item_at,
            0,
            attempt_at,
            now,
            seconds,
            ctx,
            fetched.fresh_for,
        ),
        url=fetched.permanent_url or previous.url,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        http_status=304,
        # A store from before readings were kept learns it here too: a source answering
        # 304 for months would otherwise not know its first change of selectors.
        reading=previous.reading or reading_of(spec),
    )
    if previous.status is SourceStatus.EMPTY and not previous.error_count:
        # The same feed without items as last time (see _save_items).
        state = replace(
            state,
            status=SourceStatus.EMPTY,
            last_error_kind=previous.last_error_kind,
            last_error=previous.last_error,
        )
    return state, SourceReport(
        source_id=spec.id, status=ReportStatus.NOT_MODIFIED, seconds=seconds
    )


def place_in_stories(
    specs: Sequence[SourceSpec], ctx: IngestContext, prepared: PreparedFeatures | None = None
) -> None:
    """Put the new items of these sources into stories (see :mod:`.placement`)."""
    placement.place_in_stories(
        [spec.id for spec in specs],
        ctx.storage,
        ctx.story_window,
        ctx.now(),
        ctx.story_cache,
        prepared,
    )


def _success_state(
    spec: SourceSpec,
    previous: SourceState,
    warnings: list[str],
    last_new: datetime | None,
    new_items: int | None,
    attempt_at: datetime,
    now: datetime,
    seconds: float,
    ctx: IngestContext,
    fresh_for: float | None = None,
) -> SourceState:
    """The state after a successful fetch; ``new_items`` None: not a rate observation;
    ``fresh_for``: seconds the server said the document stays fresh."""
    if warnings:
        status = SourceStatus.DEGRADED
    elif last_new is not None and now - last_new > ctx.stale_after:
        status = SourceStatus.STALE
    else:
        status = SourceStatus.OK
    rate = previous.new_item_rate
    if new_items is not None and previous.last_success_at is not None:
        elapsed = now - previous.last_success_at
        rate = schedule.observe_rate(rate, spec.interval, new_items, elapsed)
    return replace(
        previous,
        status=status,
        new_item_rate=rate,
        error_count=0,
        last_error_kind=ErrorKind.PARSE.value if warnings else None,
        last_error=_one_line(warnings[0]) if warnings else None,
        last_attempt_at=attempt_at,
        last_success_at=now,
        next_fetch_at=_next_fetch_at(spec, rate, now, fresh_for, ctx),
        last_new_item_at=last_new,
        fetch_seconds=_average(previous.fetch_seconds, seconds),
    )


def _next_fetch_at(
    spec: SourceSpec,
    rate: float | None,
    now: datetime,
    fresh_for: float | None,
    ctx: IngestContext,
) -> datetime:
    """When a source that answered is due again: after its adaptive interval, but not
    before its document stops being fresh (Cache-Control max-age, Expires: asked sooner, a
    site answers from its cache, or counts us among the clients that ignore it), up to the
    longest interval the source may have."""
    interval = current_interval(spec, rate)
    if fresh_for:
        longest = max(interval, spec.max_interval or spec.interval)
        interval = max(interval, min(timedelta(seconds=fresh_for), longest))
    return schedule.next_fetch_at(now, interval, rng=ctx.rng)


#: Errors of a moved source's new address that send it back to its configured one: the
#: move may have been undone, and the site's own redirect would take it there again.
_MOVE_UNDONE = frozenset(
    {ErrorKind.HTTP_4XX.value, ErrorKind.GONE.value, ErrorKind.DNS.value, ErrorKind.CONNECT.value}
)


def _save_failure(
    spec: SourceSpec,
    previous: SourceState,
    error: SourceError,
    attempt_at: datetime,
    ctx: IngestContext,
    started: float,
    answered: int | None = None,
) -> SourceReport:
    """Store a failed fetch; ``answered``: the HTTP status of a document that came but
    could not be read."""
    now = ctx.now()
    seconds = time.monotonic() - started
    fetch_error = error if isinstance(error, FetchError) else None
    info = ErrorInfo(
        kind=str(error.kind),
        # Stored, and shown by `sources`, `status` and the admin's digest, not only logged.
        message=_one_line(mask_secrets(str(error))),
        status_code=fetch_error.status_code if fetch_error else None,
        retry_after=fetch_error.retry_after if fetch_error else None,
    )
    moved_back = previous.url is not None and info.kind in _MOVE_UNDONE
    if moved_back:
        log.warning(
            "source %s: its new address %s fails (%s); its configured URL %s is due again now",
            spec.id,
            previous.url,
            info.kind,
            spec.url,
            extra={"source_id": spec.id},
        )
    if error.kind == ErrorKind.GONE and not moved_back:
        status = SourceStatus.GONE
    elif error.kind == ErrorKind.EMPTY and isinstance(error, ParseError):
        status = SourceStatus.EMPTY
    else:
        status = SourceStatus.FAILING
    error_count = previous.error_count + 1
    # Validators stay as they were: a parse failure must be re-parsed next time, not
    # answered with 304. But a degraded document's must go: a 304 to it after this failure
    # would find the source failing, not degraded, and call it ok.
    degraded = previous.status is SourceStatus.DEGRADED
    state = replace(
        previous,
        status=status,
        url=None if moved_back else previous.url,
        etag=None if degraded or moved_back else previous.etag,
        last_modified=None if degraded or moved_back else previous.last_modified,
        http_status=info.status_code if fetch_error else answered,
        fetch_seconds=_average(previous.fetch_seconds, seconds),
        error_count=error_count,
        last_error_kind=info.kind,
        last_error=info.message,
        last_attempt_at=attempt_at,
        # Back at its configured URL, which has not failed, the source is asked at once.
        next_fetch_at=now
        if moved_back
        else schedule.next_fetch_at(
            now,
            current_interval(spec, previous.new_item_rate),
            error_count=error_count,
            retry_after=info.retry_after,
            max_backoff=ctx.max_backoff,
            rng=ctx.rng,
        ),
    )
    ctx.storage.save_source_result(state, (), now)
    return SourceReport(source_id=spec.id, status=ReportStatus.ERROR, error=info, seconds=seconds)


def _mark_backlog(item: Item, spec: SourceSpec, now: datetime) -> Item:
    """On a source's first fetch, only items inside its backfill window count as news."""
    recent = (
        spec.backfill is not None
        and not item.date_estimated
        and item.published_at >= now - spec.backfill
    )
    return item if recent else replace(item, backlog=True)


#: After a source's reading changed, what is dated this much before its last successful
#: fetch was there already (a feed's dates often precede an item's appearance by hours,
#: and a date without a time is its day's midnight: news of the last day stays news).
FOUND_AGAIN_BEFORE = timedelta(days=1)


def _mark_found_again(item: Item, last_success: datetime) -> Item:
    """After the admin changed how a source is read: an item dated well before its last
    successful fetch (or without a date) was there already, and is found only now.

    An undated item that came since is taken for one of those too: where it stands tells
    nothing (a widened selector finds a whole list above what the old one caught, a rule
    taken out lets in what it kept out), and announcing an archive is the worse mistake.
    """
    if item.date_estimated or item.published_at < last_success - FOUND_AGAIN_BEFORE:
        return replace(item, backlog=True)
    return item


def _count(decisions: Iterable[ItemDecision]) -> dict[ItemDecision, int]:
    counts = dict.fromkeys(ItemDecision, 0)
    for decision in decisions:
        counts[decision] += 1
    return counts


def _average(previous: float | None, seconds: float) -> float:
    if previous is None:
        return seconds
    return previous + _AVERAGE_WEIGHT * (seconds - previous)


def _one_line(text: str) -> str:
    """A message for the store and the log: one line of at most :data:`MAX_ERROR_CHARS`,
    and a site's control characters (an HTTP reason phrase with ESC sequences) shown, not
    acted on by a terminal."""
    line = " ".join(text.split())
    if len(line) > MAX_ERROR_CHARS:
        line = line[: MAX_ERROR_CHARS - 1] + "…"
    return visible(line)


#: The longest error message stored for a source (what a site can make of one, such as
#: a parser's quote of its feed, stays short in `sources` and the admin digest).
MAX_ERROR_CHARS = 1000


def _log(report: SourceReport) -> None:
    """One line per fetch; the same fields as JSON keys with ``--log-format json``."""
    extra: dict[str, object] = {
        "event": "fetch",
        "source_id": report.source_id,
        "status": report.status.value,
        "duration": round(report.seconds, 3),
        "new": report.new,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "excluded": report.excluded,
    }
    if report.error is not None:
        extra |= {"error_kind": report.error.kind, "error": report.error.message}
        if report.error.status_code is not None:
            extra["http_status"] = report.error.status_code
        log.warning(
            # The time before the message, whose hint ends the line ("…check the URL").
            "source %s: error (%s) after %.2fs: %s",
            report.source_id,
            report.error.kind,
            report.seconds,
            report.error.message,
            extra=extra,
        )
        return
    log.info(
        "source %s: %s, %d new, %d updated, %d unchanged%s in %.2fs",
        report.source_id,
        report.status.value,
        report.new,
        report.updated,
        report.unchanged,
        f", {report.excluded} left out by its rules" if report.excluded else "",
        report.seconds,
        extra=extra,
    )
    for warning in report.warnings:
        log.warning(
            "source %s: %s",
            report.source_id,
            warning,
            extra={"event": "source_warning", "source_id": report.source_id},
        )
