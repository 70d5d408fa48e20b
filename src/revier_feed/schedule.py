"""When to fetch a source next, and when to publish. Pure: ``now`` and the random source
are parameters, nothing here reads the clock, the store or the network.

Adaptive intervals (#7): each source carries an estimate of how many new items it
publishes per hour, an exponential moving average over its successful fetches. The
interval aims at about one new item per fetch (busy sources are polled more often, quiet
ones less) and is clamped to the source's ``min_interval``..``max_interval``. A source
starts at its configured interval, because the first estimate is "one item per interval".
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

#: Jitter spreads sources with the same interval over up to this share of the interval.
JITTER = 0.1
#: A Retry-After beyond this is treated as this: a misconfigured server must not silence a
#: source for years.
MAX_RETRY_AFTER = timedelta(days=30)
#: Weight of the newest observation in the new-item rate. 0.3 lets a quiet source's
#: interval grow by at most 1/0.7 ≈ 1.43x per empty fetch, so one quiet day does not
#: push a busy source to its maximum.
RATE_WEIGHT = 0.3
#: Observations over shorter spans than this are counted as this long, so two fetches a
#: second apart (a restart, a reload) cannot produce an absurd rate.
MIN_OBSERVATION = timedelta(minutes=1)


def next_fetch_at(
    now: datetime,
    interval: timedelta,
    *,
    error_count: int = 0,
    retry_after: float | None = None,
    max_backoff: timedelta = timedelta(days=1),
    rng: random.Random,
) -> datetime:
    """The time the source is due again.

    Args:
        now: the end of this fetch.
        interval: the source's current interval (see :func:`adaptive_interval`).
        error_count: consecutive failed cycles including this one (0 after a success).
        retry_after: seconds the server asked us to wait, if it did.
        max_backoff: a failing source is retried at least this often (but never more often
            than its interval), so it recovers.
        rng: random source for the jitter (seeded in tests).
    """
    cap = max(max_backoff, interval)
    delay = retry_delay(interval, error_count, cap) if error_count > 0 else interval
    asked = timedelta(0)
    if retry_after is not None:
        # Capped before it becomes a timedelta, which overflows beyond a billion days: a
        # server's "Retry-After: 100000000000000" ended every cycle. NaN asks for nothing.
        seconds = min(retry_after, MAX_RETRY_AFTER.total_seconds())
        if seconds > 0:
            asked = timedelta(seconds=seconds)
            delay = max(delay, asked)
    jitter: timedelta = delay * (JITTER * rng.random())
    if error_count > 0 and interval < max_backoff and delay <= cap < delay + jitter:
        # A failing source is retried at least every max_backoff: its spread goes below,
        # but never before the interval or what the server asked.
        return now + max(cap - jitter, interval, asked)
    return now + delay + jitter


def retry_delay(base: timedelta, failures: int, cap: timedelta) -> timedelta:
    """Exponential backoff: ``base`` after one failure, then 2x, 4x ... up to ``cap``."""
    return min(base * (1 << min(max(failures, 1) - 1, 20)), cap)


def observe_rate(
    rate: float | None, interval: timedelta, new_items: int, elapsed: timedelta
) -> float:
    """The source's new-item rate (items per hour) after a successful fetch.

    Args:
        rate: the estimate so far; None before the first observation, which then starts
            from "one new item per configured interval".
        interval: the source's configured interval.
        new_items: new items this fetch stored (0 for 304 Not Modified).
        elapsed: time since the previous successful fetch.
    """
    hours = max(elapsed, MIN_OBSERVATION) / timedelta(hours=1)
    previous = rate if rate is not None else timedelta(hours=1) / interval
    return previous + RATE_WEIGHT * (new_items / hours - previous)


def adaptive_interval(
    rate: float | None,
    interval: timedelta,
    min_interval: timedelta,
    max_interval: timedelta,
) -> timedelta:
    """The interval that expects about one new item per fetch, within the bounds.

    Args:
        rate: new items per hour (None: nothing observed yet, use ``interval``).
        interval: the configured interval, the starting point.
        min_interval: never poll more often than this.
        max_interval: never poll less often than this.
    """
    if rate is None:
        wanted = interval
    elif rate <= 0:
        wanted = max_interval
    else:
        # Beyond max_interval anyway; avoids overflowing timedelta for tiny rates.
        hours = min(1 / rate, max_interval / timedelta(hours=1))
        wanted = timedelta(hours=hours)
    return min(max(wanted, min_interval), max_interval)


def publish_due(
    now: datetime,
    pending_since: datetime | None,
    last_change: datetime | None,
    *,
    quiet: timedelta,
    max_wait: timedelta,
) -> bool:
    """Whether changed stories should be published now (a debounce).

    Publishing waits until no change has come in for ``quiet``, so a burst of sources
    delivering one after another is published once; but never longer than ``max_wait``
    after the first unpublished change, so a steady trickle is published too.

    Args:
        now: the current time.
        pending_since: the first change not published yet (None: nothing to publish).
        last_change: the newest change not published yet.
        quiet: how long the store must have been still.
        max_wait: the longest a change waits to be published.
    """
    if pending_since is None:
        return False
    latest = last_change or pending_since
    return now - latest >= quiet or now - pending_since >= max_wait
