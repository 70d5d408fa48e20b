"""The collection pipeline: the one module that puts the stages together.

For each due source, in this order::

    fetch (concurrent, bounded) | parse | normalize | dedup against the store | store

Only fetching runs concurrently; parsing, normalizing and storing run one source at a
time as fetches complete. Each source ends in exactly one :class:`SourceReport`. A
:class:`RevierError` about one source is a value in its report and never stops the others;
any other exception is a bug and propagates.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from . import dedup, normalize, parse, schedule
from .exceptions import FetchError, ParseError, SourceError
from .fetch import Fetcher
from .models import (
    ErrorInfo,
    ErrorKind,
    FetchResult,
    ItemDecision,
    NotModified,
    ReportStatus,
    SourceReport,
    SourceSpec,
    SourceState,
    SourceStatus,
)
from .storage import Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestContext:
    """Everything a cycle needs besides the sources; built by the app."""

    fetcher: Fetcher
    storage: Storage
    tz: ZoneInfo
    max_backoff: timedelta
    now: Callable[[], datetime]
    rng: random.Random
    should_stop: Callable[[], bool] = lambda: False


async def collect(
    specs: Sequence[SourceSpec],
    ctx: IngestContext,
    on_report: Callable[[SourceReport], None] | None = None,
) -> list[SourceReport]:
    """Fetch, parse and store every source in ``specs``; one report per source handled.

    Sources not yet started when ``ctx.should_stop()`` turns true are skipped (and stay due).
    """
    states = ctx.storage.source_states(s.id for s in specs)

    async def one(spec: SourceSpec) -> SourceReport | None:
        if ctx.should_stop():
            return None
        report = await _collect_source(spec, states.get(spec.id), ctx)
        _log(report)
        if on_report is not None:
            on_report(report)
        return report

    results = await asyncio.gather(*(one(spec) for spec in specs))
    return [r for r in results if r is not None]


async def _collect_source(
    spec: SourceSpec, state: SourceState | None, ctx: IngestContext
) -> SourceReport:
    started = time.monotonic()
    previous = state or SourceState(source_id=spec.id)
    attempt_at = ctx.now()
    try:
        # A stop request lets a started source finish (bounded by the fetch timeout):
        # it is stored whole or not at all.
        fetched = await ctx.fetcher.fetch(spec, state)
        if isinstance(fetched, NotModified):
            return _not_modified(spec, previous, fetched, attempt_at, ctx, started)
        return _store(spec, previous, fetched, attempt_at, ctx, started)
    except SourceError as error:
        return _failed(spec, previous, error, attempt_at, ctx, started)


def _store(
    spec: SourceSpec,
    previous: SourceState,
    fetched: FetchResult,
    attempt_at: datetime,
    ctx: IngestContext,
    started: float,
) -> SourceReport:
    now = ctx.now()
    document = parse.parse(spec, fetched, now, ctx.tz)
    items = [normalize.normalize(raw, spec, now) for raw in document.items]
    stored = ctx.storage.item_fingerprints(spec.id, (i.key for i in items))
    decisions = dedup.decide(items, stored)
    state = replace(
        previous,
        status=SourceStatus.OK,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        http_status=fetched.status_code,
        error_count=0,
        last_error_kind=None,
        last_error=None,
        last_attempt_at=attempt_at,
        last_success_at=now,
        next_fetch_at=schedule.next_fetch_at(now, spec.interval, rng=ctx.rng),
        items_last_fetch=len(items),
    )
    ctx.storage.save_source_result(state, decisions, now)
    counts = {d: 0 for d in ItemDecision}
    for _, decision in decisions:
        counts[decision] += 1
    return SourceReport(
        source_id=spec.id,
        status=ReportStatus.OK,
        new=counts[ItemDecision.NEW],
        updated=counts[ItemDecision.UPDATED],
        unchanged=counts[ItemDecision.UNCHANGED],
        warnings=document.warnings,
        seconds=time.monotonic() - started,
    )


def _not_modified(
    spec: SourceSpec,
    previous: SourceState,
    fetched: NotModified,
    attempt_at: datetime,
    ctx: IngestContext,
    started: float,
) -> SourceReport:
    now = ctx.now()
    state = replace(
        previous,
        status=SourceStatus.OK,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        http_status=304,
        error_count=0,
        last_error_kind=None,
        last_error=None,
        last_attempt_at=attempt_at,
        last_success_at=now,
        next_fetch_at=schedule.next_fetch_at(now, spec.interval, rng=ctx.rng),
    )
    ctx.storage.save_source_result(state, (), now)
    return SourceReport(
        source_id=spec.id, status=ReportStatus.NOT_MODIFIED, seconds=time.monotonic() - started
    )


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
