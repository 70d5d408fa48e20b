"""Pure: what a cycle adds to the worker's counters, and the health verdict of ``/healthz``.

The worker records its counters in the store; the server derives everything else from the
store at request time, so the worker and the server can be separate processes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from .models import (
    Health,
    HealthStatus,
    MetricKey,
    MetricSample,
    ReportStatus,
    SourceReport,
    SourceState,
    SourceStatus,
)

#: Upper bounds (seconds) of the fetch duration histogram; one fetch-to-store pass of a
#: source, including its article pages and retries.
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
#: A gauge: when the worker last finished a cycle (Unix time).
LAST_CYCLE = "revier_worker_last_cycle_timestamp_seconds"
#: Gauges: when the feeds were last published, and when an attempt last failed (Unix time).
LAST_PUBLISH = "revier_publish_last_success_timestamp_seconds"
LAST_PUBLISH_FAILURE = "revier_publish_last_failure_timestamp_seconds"
#: Source states that mean "no news from this source is coming in".
_BROKEN = (SourceStatus.FAILING, SourceStatus.GONE)


def fetch_metrics(reports: Sequence[SourceReport]) -> dict[MetricKey, float]:
    """The counter increments one collection contributes."""
    increments: dict[MetricKey, float] = {}
    for report in reports:
        if report.status is ReportStatus.ERROR and report.error is not None:
            outcome = report.error.kind
        else:
            outcome = report.status.value
        _add(increments, "revier_fetches_total", 1, source=report.source_id, outcome=outcome)
        _add(increments, "revier_items_stored_total", report.new, change="new")
        _add(increments, "revier_items_stored_total", report.updated, change="updated")
        _add(increments, "revier_fetch_duration_seconds_sum", report.seconds)
        _add(increments, "revier_fetch_duration_seconds_count", 1)
        for bound in DURATION_BUCKETS:
            if report.seconds <= bound:
                _add(increments, "revier_fetch_duration_seconds_bucket", 1, le=f"{bound:g}")
        _add(increments, "revier_fetch_duration_seconds_bucket", 1, le="+Inf")
    return increments


def cycle_finished(finished_at: datetime) -> tuple[dict[MetricKey, float], dict[MetricKey, float]]:
    """The counter increments and gauges of a finished collection cycle."""
    return {("revier_cycles_total", ()): 1.0}, {(LAST_CYCLE, ()): finished_at.timestamp()}


def publish_finished(
    at: datetime, failed: bool
) -> tuple[dict[MetricKey, float], dict[MetricKey, float]]:
    """The counter increments and gauges of one attempt to publish the feeds."""
    if failed:
        return {("revier_publish_failures_total", ()): 1.0}, {
            (LAST_PUBLISH_FAILURE, ()): at.timestamp()
        }
    return {}, {(LAST_PUBLISH, ()): at.timestamp()}


def last_cycle_at(samples: Iterable[MetricSample]) -> datetime | None:
    """When the worker last finished a cycle, from the stored gauges."""
    return _gauge_time(samples, LAST_CYCLE)


def publish_failed_at(samples: Iterable[MetricSample]) -> datetime | None:
    """When publishing last failed, if no attempt has succeeded since; from the stored gauges."""
    samples = list(samples)
    failed = _gauge_time(samples, LAST_PUBLISH_FAILURE)
    succeeded = _gauge_time(samples, LAST_PUBLISH)
    if failed is None or (succeeded is not None and succeeded >= failed):
        return None
    return failed


def _gauge_time(samples: Iterable[MetricSample], name: str) -> datetime | None:
    for sample in samples:
        if sample.name == name:
            return datetime.fromtimestamp(sample.value, UTC)
    return None


def judge(
    states: Mapping[str, SourceState | None],
    worker: str | None,
    last_cycle: datetime | None,
    now: datetime,
    max_cycle_age: timedelta,
    publish_failed: datetime | None = None,
    worker_note: str = "",
) -> Health:
    """The health verdict.

    Unhealthy (HTTP 503) when the feeds are not being updated: no worker holds the store's
    lock, its cycles fail as a whole, its last finished cycle is older than
    ``max_cycle_age``, every source that was fetched is failing or gone, or the last attempt
    to publish failed. Degraded (HTTP 200) when some sources have problems.

    Args:
        states: every configured source with its stored state (None: never fetched).
        worker: who holds the store's lock, if anyone.
        publish_failed: when publishing last failed, if nothing was published since.
        worker_note: what the worker noted in the lock: why its cycles fail ("" if they
            don't). The store may be what fails, so this cannot wait for a stored cycle
            to be missed (``max_cycle_age``).
    """
    by_status: dict[str, int] = {}
    for state in states.values():
        status = state.status.value if state else SourceStatus.NEW.value
        by_status[status] = by_status.get(status, 0) + 1
    failing = tuple(sorted(i for i, s in states.items() if s and s.status in _BROKEN))
    fetched = [s for s in states.values() if s and s.status is not SourceStatus.NEW]
    fatal: list[str] = []
    if worker is None:
        fatal.append("no worker is collecting for this store (`revier-feed run` is not running)")
    elif worker_note:
        fatal.append(f"the worker's cycles fail: {worker_note}")
    elif last_cycle is None:
        fatal.append("the worker has not finished a cycle yet")
    elif now - last_cycle > max_cycle_age:
        minutes = int((now - last_cycle).total_seconds() // 60)
        fatal.append(f"the worker's last cycle finished {minutes} minutes ago")
    elif last_cycle - now > max_cycle_age:
        # Finished under a clock that ran ahead: how long ago the last cycle really ran
        # cannot be told.
        minutes = int((last_cycle - now).total_seconds() // 60)
        fatal.append(
            f"the worker's last cycle is dated {minutes} minutes ahead of this machine's "
            "clock (was the clock set back?)"
        )
    if fetched and len(failing) == len(fetched):
        fatal.append(f"every source is failing ({len(failing)})")
    if publish_failed is not None:
        minutes = max(0, int((now - publish_failed).total_seconds() // 60))
        fatal.append(
            f"publishing the feeds failed {minutes} minutes ago and has not worked since "
            "(the worker's log says why)"
        )
    problems = [*fatal]
    if not fatal and failing:
        problems.append(f"{len(failing)} of {len(states)} sources failing: {', '.join(failing)}")
    others = sum(
        n for s, n in by_status.items() if s not in ("ok", "new", "failing", "gone") and n
    )
    if not fatal and others:
        problems.append(f"{others} sources degraded, stale or empty")
    status = (
        HealthStatus.UNHEALTHY if fatal else HealthStatus.DEGRADED if problems else HealthStatus.OK
    )
    return Health(
        status=status,
        problems=tuple(problems),
        worker=worker,
        last_cycle_at=last_cycle,
        sources_by_status=by_status,
        failing_sources=failing,
    )


def _add(into: dict[MetricKey, float], name: str, amount: float, **labels: str) -> None:
    if amount:
        key: MetricKey = (name, tuple(sorted(labels.items())))
        into[key] = into.get(key, 0.0) + amount
