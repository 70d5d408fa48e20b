"""The collection pipeline: the one module that puts the stages together.

For each due source, in this order::

    fetch (conditional) | parse | [fetch + parse further listing pages]
      | normalize | dedup against the store
      | [fetch + parse the article page of each new or changed item]  (follow: true)
      | mark backlog (first fetch) | store (one transaction)

Fetches run concurrently (bounded per host and overall by the fetcher); parsing,
normalizing and storing run one source at a time on the event loop as fetches complete.
Each source ends in exactly one :class:`SourceReport`. A :class:`RevierError` about one
source is a value in its report and never stops the others; any other exception is a bug
and propagates.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from . import dedup, normalize, parse, schedule
from .exceptions import FetchError, ParseError, SourceError
from .fetch import Fetcher
from .models import (
    ErrorInfo,
    ErrorKind,
    FetchResult,
    Item,
    ItemDecision,
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
from .storage import Storage

log = logging.getLogger(__name__)

#: Weight of the newest duration in the moving average of fetch times.
_AVERAGE_WEIGHT = 0.3


@dataclass(frozen=True, slots=True)
class IngestContext:
    """Everything a cycle needs besides the sources; built by the app."""

    fetcher: Fetcher
    storage: Storage
    tz: ZoneInfo
    max_backoff: timedelta
    stale_after: timedelta
    now: Callable[[], datetime]
    rng: random.Random
    should_stop: Callable[[], bool] = lambda: False


async def collect(
    specs: Sequence[SourceSpec],
    ctx: IngestContext,
    on_report: Callable[[SourceReport], None] | None = None,
) -> list[SourceReport]:
    """Fetch, parse and store every source in ``specs``; one report per source handled.

    Sources not yet started when ``ctx.should_stop()`` turns true are skipped (and stay
    due); sources already started finish and are stored whole.
    """
    states = ctx.storage.source_states(s.id for s in specs)

    async def one(spec: SourceSpec) -> SourceReport | None:
        if ctx.should_stop():
            return None
        report = await _collect_source(spec, current_state(spec, states.get(spec.id)), ctx)
        _log(report)
        if on_report is not None:
            on_report(report)
        return report

    results = await asyncio.gather(*(one(spec) for spec in specs))
    return [r for r in results if r is not None]


async def preview(spec: SourceSpec, ctx: IngestContext) -> Preview:
    """Fetch and parse ``spec`` as a cycle would, following pages and articles, but store
    nothing: for tuning selectors.

    Raises:
        SourceError: the source could not be fetched or parsed.
    """
    fetched = await ctx.fetcher.fetch(spec.id, spec.url)
    assert isinstance(fetched, FetchResult)  # no validators were sent
    now = ctx.now()
    document = await _further_pages(
        spec, parse.parse(spec, fetched, now, ctx.tz), fetched.url, ctx
    )
    warnings = list(document.warnings)
    pairs = [(raw, normalize.normalize(raw, spec, now)) for raw in document.items]
    decisions = dedup.decide((item for _, item in pairs), {})
    if spec.follow:
        raw_by_key: dict[str, RawItem] = {}
        for raw, item in pairs:
            raw_by_key.setdefault(item.key, raw)
        decisions = await _follow(spec, decisions, raw_by_key, fetched.url, ctx, warnings)
    return Preview(fetched=fetched, items=tuple(i for i, _ in decisions), warnings=tuple(warnings))


def current_state(spec: SourceSpec, stored: SourceState | None) -> SourceState:
    """The stored state, minus what no longer applies because the admin changed the URL:
    a recorded redirect, the validators of the old resource, a "gone" verdict."""
    if stored is None:
        return SourceState(source_id=spec.id, config_url=spec.url)
    if stored.config_url == spec.url:
        return stored
    return replace(
        stored,
        config_url=spec.url,
        url=None,
        etag=None,
        last_modified=None,
        status=SourceStatus.NEW if stored.status is SourceStatus.GONE else stored.status,
        error_count=0,
    )


def is_gone(spec: SourceSpec, stored: SourceState | None) -> bool:
    """Whether the source answered 410 at its configured URL: not fetched again until the
    admin changes that URL."""
    return current_state(spec, stored).status is SourceStatus.GONE


async def _collect_source(
    spec: SourceSpec, previous: SourceState, ctx: IngestContext
) -> SourceReport:
    started = time.monotonic()
    attempt_at = ctx.now()
    url = previous.url or spec.url
    try:
        # A stop request lets a started source finish (bounded by the fetch timeouts):
        # it is stored whole or not at all.
        fetched = await ctx.fetcher.fetch(
            spec.id, url, etag=previous.etag, last_modified=previous.last_modified
        )
        if isinstance(fetched, NotModified):
            return _not_modified(spec, previous, fetched, attempt_at, ctx, started)
        return await _store(spec, previous, fetched, attempt_at, ctx, started)
    except SourceError as error:
        return _failed(spec, previous, error, attempt_at, ctx, started)


async def _store(
    spec: SourceSpec,
    previous: SourceState,
    fetched: FetchResult,
    attempt_at: datetime,
    ctx: IngestContext,
    started: float,
) -> SourceReport:
    now = ctx.now()
    document = parse.parse(spec, fetched, now, ctx.tz)
    document = await _further_pages(spec, document, fetched.url, ctx)
    warnings = list(document.warnings)
    pairs = [(raw, normalize.normalize(raw, spec, now)) for raw in document.items]
    stored = ctx.storage.item_fingerprints(spec.id, (item.key for _, item in pairs))
    decisions = dedup.decide((item for _, item in pairs), stored)
    if spec.follow:
        raw_by_key: dict[str, RawItem] = {}
        for raw, item in pairs:
            raw_by_key.setdefault(item.key, raw)
        decisions = await _follow(spec, decisions, raw_by_key, fetched.url, ctx, warnings)
    first_fetch = previous.last_success_at is None
    if first_fetch:
        decisions = [(_mark_backlog(item, spec, now), d) for item, d in decisions]

    if fetched.permanent_url and fetched.permanent_url != previous.url:
        log.warning(
            "source %s moved permanently to %s; now fetching there (update sources.yaml)",
            spec.id,
            fetched.permanent_url,
            extra={"source_id": spec.id},
        )
    counts = {d: 0 for d in ItemDecision}
    for _, decision in decisions:
        counts[decision] += 1
    last_new = now if counts[ItemDecision.NEW] or first_fetch else previous.last_new_item_at
    seconds = time.monotonic() - started
    state = replace(
        previous,
        status=_health(warnings, last_new, now, ctx.stale_after),
        url=fetched.permanent_url or previous.url,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        http_status=fetched.status_code,
        error_count=0,
        last_error_kind=ErrorKind.PARSE.value if warnings else None,
        last_error=_one_line(warnings[0]) if warnings else None,
        last_attempt_at=attempt_at,
        last_success_at=now,
        next_fetch_at=schedule.next_fetch_at(now, spec.interval, rng=ctx.rng),
        items_last_fetch=len(document.items),
        last_new_item_at=last_new,
        fetch_seconds=_average(previous.fetch_seconds, seconds),
    )
    ctx.storage.save_source_result(state, decisions, now)
    return SourceReport(
        source_id=spec.id,
        status=ReportStatus.OK,
        new=counts[ItemDecision.NEW],
        updated=counts[ItemDecision.UPDATED],
        unchanged=counts[ItemDecision.UNCHANGED],
        warnings=tuple(warnings),
        seconds=seconds,
    )


async def _further_pages(
    spec: SourceSpec, document: ParsedDocument, url: str, ctx: IngestContext
) -> ParsedDocument:
    """Follow the listing's "next" links up to ``spec.max_pages`` pages in all."""
    items = list(document.items)
    warnings = list(document.warnings)
    seen = {url}
    next_url = document.next_url
    for _ in range(spec.max_pages - 1):
        if not next_url or next_url in seen or not _may_follow(spec, url, next_url):
            break
        seen.add(next_url)
        try:
            page = await ctx.fetcher.fetch(spec.id, next_url)
            assert isinstance(page, FetchResult)  # no validators, so never 304
            more = parse.parse(spec, page, ctx.now(), ctx.tz)
        except SourceError as e:
            warnings.append(f"listing page {next_url} skipped: {e}")
            break
        items.extend(more.items)
        warnings.extend(more.warnings)
        next_url = more.next_url
    return replace(document, items=tuple(items), warnings=tuple(warnings))


async def _follow(
    spec: SourceSpec,
    decisions: list[tuple[Item, ItemDecision]],
    raw_by_key: dict[str, RawItem],
    listing_url: str,
    ctx: IngestContext,
    warnings: list[str],
) -> list[tuple[Item, ItemDecision]]:
    """Fetch the article page of each new or changed item once, for full text and date."""

    async def enrich(item: Item, decision: ItemDecision) -> tuple[Item, ItemDecision]:
        if decision is ItemDecision.UNCHANGED or not item.url:
            return item, decision
        if not _may_follow(spec, listing_url, item.url):
            warnings.append(f"not following {item.url}: host not allowed (see allow_hosts)")
            return item, decision
        try:
            page = await ctx.fetcher.fetch(spec.id, item.url)
            assert isinstance(page, FetchResult)
            article = parse.article(spec, page, ctx.now(), ctx.tz)
        except (FetchError, ParseError) as e:
            warnings.append(f"article {item.url} not read: {e}")
            return item, decision
        raw = raw_by_key[item.key]
        enriched = replace(
            raw,
            content_html=article.content_html or raw.content_html,
            published=article.published or raw.published,
        )
        full = normalize.normalize(enriched, spec, ctx.now())
        # The fingerprint stays the listing's: the next cycle compares listing to listing
        # and must not see every followed item as changed.
        return replace(full, key=item.key, fingerprint=item.fingerprint), decision

    return list(await asyncio.gather(*(enrich(i, d) for i, d in decisions)))


def _may_follow(spec: SourceSpec, listing_url: str, url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    own = {(urlsplit(u).hostname or "").lower() for u in (spec.url, listing_url)}
    return host in own or host in spec.allow_hosts


def _mark_backlog(item: Item, spec: SourceSpec, now: datetime) -> Item:
    """On a source's first fetch, only items inside its backfill window count as news."""
    recent = (
        spec.backfill is not None
        and not item.date_estimated
        and item.published_at >= now - spec.backfill
    )
    return item if recent else replace(item, backlog=True)


def _health(
    warnings: list[str], last_new: datetime | None, now: datetime, stale_after: timedelta
) -> SourceStatus:
    if warnings:
        return SourceStatus.DEGRADED
    if last_new is not None and now - last_new > stale_after:
        return SourceStatus.STALE
    return SourceStatus.OK


def _average(previous: float | None, seconds: float) -> float:
    if previous is None:
        return seconds
    return previous + _AVERAGE_WEIGHT * (seconds - previous)


def _not_modified(
    spec: SourceSpec,
    previous: SourceState,
    fetched: NotModified,
    attempt_at: datetime,
    ctx: IngestContext,
    started: float,
) -> SourceReport:
    now = ctx.now()
    seconds = time.monotonic() - started
    status: SourceStatus
    if previous.status is SourceStatus.DEGRADED:
        # Same document as last time, so the same problems: keep the verdict and its reason.
        status, error_kind, error = previous.status, previous.last_error_kind, previous.last_error
    else:
        status = _health([], previous.last_new_item_at, now, ctx.stale_after)
        error_kind = error = None
    state = replace(
        previous,
        status=status,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        http_status=304,
        error_count=0,
        last_error_kind=error_kind,
        last_error=error,
        last_attempt_at=attempt_at,
        last_success_at=now,
        next_fetch_at=schedule.next_fetch_at(now, spec.interval, rng=ctx.rng),
        fetch_seconds=_average(previous.fetch_seconds, seconds),
    )
    ctx.storage.save_source_result(state, (), now)
    return SourceReport(source_id=spec.id, status=ReportStatus.NOT_MODIFIED, seconds=seconds)


def _failed(
    spec: SourceSpec,
    previous: SourceState,
    error: SourceError,
    attempt_at: datetime,
    ctx: IngestContext,
    started: float,
) -> SourceReport:
    now = ctx.now()
    kind = getattr(error, "kind", ErrorKind.PARSE)
    info = ErrorInfo(
        kind=str(kind),
        message=_one_line(str(error)),
        status_code=getattr(error, "status_code", None),
        retry_after=getattr(error, "retry_after", None),
    )
    if kind == ErrorKind.GONE:
        status = SourceStatus.GONE
    elif kind == ErrorKind.EMPTY and isinstance(error, ParseError):
        status = SourceStatus.EMPTY
    else:
        status = SourceStatus.FAILING
    error_count = previous.error_count + 1
    state = replace(
        previous,
        status=status,
        # Validators stay as they were: a parse failure must be re-parsed next time,
        # not answered with 304.
        http_status=info.status_code if isinstance(error, FetchError) else previous.http_status,
        error_count=error_count,
        last_error_kind=info.kind,
        last_error=info.message,
        last_attempt_at=attempt_at,
        next_fetch_at=schedule.next_fetch_at(
            now,
            spec.interval,
            error_count=error_count,
            retry_after=info.retry_after,
            max_backoff=ctx.max_backoff,
            rng=ctx.rng,
        ),
    )
    ctx.storage.save_source_result(state, (), now)
    return SourceReport(
        source_id=spec.id,
        status=ReportStatus.ERROR,
        error=info,
        seconds=time.monotonic() - started,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _log(report: SourceReport) -> None:
    extra = {"source_id": report.source_id, "status": report.status.value}
    if report.error is not None:
        log.warning(
            "source %s: error (%s) %s",
            report.source_id,
            report.error.kind,
            report.error.message,
            extra=extra,
        )
        return
    log.info(
        "source %s: %s, %d new, %d updated, %d unchanged in %.2fs",
        report.source_id,
        report.status.value,
        report.new,
        report.updated,
        report.unchanged,
        report.seconds,
        extra=extra,
    )
    for warning in report.warnings:
        log.warning("source %s: %s", report.source_id, warning, extra=extra)
