"""When to fetch a source next. Pure: ``now`` and the random source are parameters."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

#: Jitter spreads sources with the same interval over up to this share of the interval.
JITTER = 0.1
#: A Retry-After beyond this is treated as this: a misconfigured server must not silence a
#: source for years.
MAX_RETRY_AFTER = timedelta(days=30)


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
        interval: the source's configured interval.
        error_count: consecutive failed cycles including this one (0 after a success).
        retry_after: seconds the server asked us to wait, if it did.
        max_backoff: a failing source is retried at least this often (but never more often
            than its interval), so it recovers.
        rng: random source for the jitter (seeded in tests).
    """
    if error_count > 0:
        # Exponential backoff: 1x, 2x, 4x ... the interval, capped.
        cap = max(max_backoff, interval)
        delay = min(interval * (1 << min(error_count - 1, 20)), cap)
    else:
        delay = interval
    if retry_after is not None:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    jitter: timedelta = delay * (JITTER * rng.random())
    return now + delay + jitter
