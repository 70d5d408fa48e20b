"""The pure deciders: schedule and dedup, with injected time and randomness."""

from __future__ import annotations

import dataclasses
import itertools
import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from revier_feed.dedup import decide, disambiguate, rekey_stored, told_apart
from revier_feed.models import Item, ItemDecision, ItemIdentity, StoredKey
from revier_feed.schedule import (
    JITTER,
    MAX_RETRY_AFTER,
    RATE_WEIGHT,
    adaptive_interval,
    next_fetch_at,
    observe_rate,
    publish_due,
)

from .conftest import make_item

NOW = datetime(2021, 8, 2, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def wait(**kwargs: object) -> timedelta:
    return next_fetch_at(NOW, rng=random.Random(1), **kwargs) - NOW  # type: ignore[arg-type]


def test_healthy_source_waits_its_interval_plus_jitter() -> None:
    waits = {next_fetch_at(NOW, HOUR, rng=random.Random(seed)) - NOW for seed in range(20)}
    assert all(HOUR <= w <= HOUR * 1.1 for w in waits)
    assert len(waits) > 10  # spread out, not all sources at once


@pytest.mark.parametrize(("errors", "factor"), [(1, 1), (2, 2), (3, 4), (4, 8)])
def test_failing_source_backs_off_exponentially(errors: int, factor: int) -> None:
    assert HOUR * factor <= wait(interval=HOUR, error_count=errors) <= HOUR * factor * 1.1


def test_a_failing_source_is_retried_at_least_every_max_backoff() -> None:
    """The jitter came on top of the cap: "at least daily" meant up to 26.4 hours."""
    day = timedelta(days=1)
    waits = {
        next_fetch_at(NOW, HOUR, error_count=30, max_backoff=day, rng=random.Random(seed)) - NOW
        for seed in range(20)
    }
    assert all(day * (1 - JITTER) <= w <= day for w in waits)
    assert len(waits) > 10  # still spread out
    # A server's Retry-After near the cap is still waited for in full.
    asked = 23.5 * 3600
    for errors, seed in itertools.product((3, 8, 30), range(50)):
        at = next_fetch_at(
            NOW,
            HOUR,
            error_count=errors,
            retry_after=asked,
            max_backoff=day,
            rng=random.Random(seed),
        )
        assert at - NOW >= timedelta(seconds=asked)


def test_backoff_never_polls_more_often_than_the_interval() -> None:
    week = timedelta(weeks=1)
    assert wait(interval=week, error_count=3, max_backoff=timedelta(days=1)) >= week


def test_retry_after_is_honoured_beyond_the_backoff_cap_but_bounded() -> None:
    two_days = 2 * 86400.0
    assert wait(interval=HOUR, error_count=1, retry_after=two_days) >= timedelta(days=2)
    assert wait(interval=HOUR, error_count=1, retry_after=1e12) <= MAX_RETRY_AFTER * 1.1
    # Beyond what a timedelta holds (a server's "Retry-After: 100000000000000" once ended
    # every cycle), and what float() makes of more digits still.
    for huge in (1e14, 1e20, float("inf")):
        assert MAX_RETRY_AFTER <= wait(interval=HOUR, retry_after=huge) <= MAX_RETRY_AFTER * 1.1
    assert wait(interval=HOUR, retry_after=float("nan")) <= HOUR * 1.1


def item(key: str, title: str, fingerprint: str) -> Item:
    return make_item(key=key, title=title, fingerprint=fingerprint, published_at=NOW)


def test_repeated_keys_with_different_items_are_told_apart() -> None:
    pairs = [
        ("a", item("#", "Erste Meldung", "1:a")),
        ("b", item("#", "Zweite Meldung", "1:b")),
        ("c", item("#", "Erste Meldung", "1:a")),  # a true repeat: dropped
        ("d", item("guid-9", "Dritte Meldung", "1:d")),
    ]
    unique, shared = disambiguate(pairs)
    assert [payload for payload, _ in unique] == ["a", "b", "d"]
    keys = [i.key for _, i in unique]
    assert keys[0] == "#" and keys[1].startswith("#") and keys[1] != "#"
    assert len(set(keys)) == 3
    assert told_apart(shared) == ["several different items share the id '#'; told apart by title"]
    # The same document gives the same keys next time, so nothing is duplicated.
    assert [i.key for _, i in disambiguate(pairs)[0]] == keys


def test_an_entry_shown_twice_is_one_item_the_one_with_a_date() -> None:
    """A listing's "top" box repeats an entry: same link and title, a shorter teaser and no
    date. Told apart by title, it was stored twice under keys that grew each fetch."""
    top = dataclasses.replace(
        item("/a", "Innovationspreis verliehen", "1:top"), date_estimated=True
    )
    listed = item("/a", "Innovationspreis verliehen", "1:listed")
    other = item("/b", "Jury tagt", "1:b")
    unique, shared = disambiguate([("top", top), ("b", other), ("listed", listed)])
    assert [payload for payload, _ in unique] == ["listed", "b"]
    assert [i.key for _, i in unique] == ["/a", "/b"] and shared == []
    # Both undated, or both dated: the first stays.
    unique, _ = disambiguate(
        [("1", listed), ("2", dataclasses.replace(listed, fingerprint="1:x"))]
    )
    assert [payload for payload, _ in unique] == ["1"]


def test_decide() -> None:
    items = [item("a", "A", "1:a"), item("b", "B", "1:b"), item("c", "C", "1:c")]
    decided = decide(items, {"b": "1:b", "c": "1:old"})
    assert [d for _, d in decided] == [
        ItemDecision.NEW,
        ItemDecision.UNCHANGED,
        ItemDecision.UPDATED,
    ]
    assert dataclasses.replace(items[0]) == decided[0][0]


def test_stored_items_get_new_keys_without_collisions() -> None:
    stored = [
        StoredKey(id=1, key="g-1", url="https://k.example/a", title="A", fingerprint="1:a"),
        StoredKey(id=2, key="g-2", url="https://k.example/b", title="B", fingerprint="1:b"),
        # The same page under a second random guid: the newer one owns the link.
        StoredKey(id=3, key="g-3", url="https://k.example/a", title="A2", fingerprint="1:a2"),
        StoredKey(id=4, key="text:x", url=None, title="Ohne Link", fingerprint="1:x"),
    ]
    new_keys, fingerprints = rekey_stored(stored, ItemIdentity.LINK)
    assert new_keys == {
        1: "https://k.example/a#old-1",
        2: "https://k.example/b",
        3: "https://k.example/a",
    }
    assert fingerprints["https://k.example/a"] == "1:a2" and fingerprints["text:x"] == "1:x"
    by_title, _ = rekey_stored(stored, ItemIdentity.LINK_TITLE)
    assert len(set(by_title.values())) == 3 and 4 not in by_title
    # A link that is itself what a displaced item's key would be.
    taken = StoredKey(id=5, key="g-5", url="https://k.example/a#old-1", title="T", fingerprint="")
    new_keys, _ = rekey_stored([*stored, taken], ItemIdentity.LINK)
    assert new_keys[5] == "https://k.example/a#old-1"
    assert new_keys[1] == "https://k.example/a#old-1-"


# --- adaptive intervals (#7) ---------------------------------------------------------------

MIN, MAX = timedelta(minutes=10), timedelta(hours=6)


def test_jitter_stays_within_a_tenth_of_the_delay_for_any_interval() -> None:
    for interval in (timedelta(minutes=10), HOUR, timedelta(hours=6)):
        for seed in range(50):
            delay = next_fetch_at(NOW, interval, rng=random.Random(seed)) - NOW
            assert interval <= delay <= interval * (1 + JITTER)


def test_a_new_source_starts_at_its_configured_interval() -> None:
    assert adaptive_interval(None, HOUR, MIN, MAX) == HOUR
    # The first observation starts from "one item per interval": one item an hour keeps it.
    assert adaptive_interval(observe_rate(None, HOUR, 1, HOUR), HOUR, MIN, MAX) == HOUR


def test_a_quiet_source_is_polled_less_often_step_by_step_up_to_its_maximum() -> None:
    rate, intervals = None, []
    for _ in range(12):
        interval = adaptive_interval(rate, HOUR, MIN, MAX)
        intervals.append(interval)
        rate = observe_rate(rate, HOUR, 0, interval)
    assert intervals == sorted(intervals) and intervals[1] > HOUR
    # Gradual: one empty fetch never stretches the interval by more than 1/0.7.
    assert all(b <= a / (1 - RATE_WEIGHT) + timedelta(seconds=1) for a, b in pairwise(intervals))
    assert intervals[-1] == MAX
    assert adaptive_interval(0.0, HOUR, MIN, MAX) == MAX


def test_a_busy_source_is_polled_more_often_down_to_its_minimum() -> None:
    rate = observe_rate(None, HOUR, 4, HOUR)  # four new items in the last hour
    faster = adaptive_interval(rate, HOUR, MIN, MAX)
    assert timedelta(minutes=20) < faster < timedelta(minutes=40)
    for _ in range(10):
        rate = observe_rate(rate, HOUR, 20, timedelta(minutes=10))
    assert adaptive_interval(rate, HOUR, MIN, MAX) == MIN


def test_a_quiet_source_that_gets_busy_again_speeds_up() -> None:
    rate = 0.01  # one item in four days: at the maximum
    assert adaptive_interval(rate, HOUR, MIN, MAX) == MAX
    rate = observe_rate(rate, HOUR, 6, MAX)  # six new items since the last fetch
    first = adaptive_interval(rate, HOUR, MIN, MAX)
    assert first < MAX * 0.6
    rate = observe_rate(rate, HOUR, 6, first)  # and six more
    assert adaptive_interval(rate, HOUR, MIN, MAX) < first * 0.6


def test_bounds_equal_to_the_interval_keep_it_fixed() -> None:
    for rate in (None, 0.0, 0.5, 100.0):
        assert adaptive_interval(rate, HOUR, HOUR, HOUR) == HOUR


def test_two_fetches_a_moment_apart_cannot_produce_an_absurd_rate() -> None:
    rate = observe_rate(1.0, HOUR, 1, timedelta(seconds=1))
    assert rate <= 1.0 + RATE_WEIGHT * 60


def test_backoff_starts_from_the_adapted_interval_and_stays_capped() -> None:
    slow = adaptive_interval(0.0, HOUR, MIN, MAX)
    assert MAX <= wait(interval=slow, error_count=1) <= MAX * 1.1
    cap = timedelta(days=1)
    assert cap * 0.9 <= wait(interval=slow, error_count=10, max_backoff=cap) <= cap


# --- debounced publishing (#7) -------------------------------------------------------------

QUIET, MAX_WAIT = timedelta(seconds=30), timedelta(minutes=5)


def due(now: datetime, first: datetime | None, last: datetime | None) -> bool:
    return publish_due(now, first, last, quiet=QUIET, max_wait=MAX_WAIT)


def test_nothing_changed_nothing_to_publish() -> None:
    assert not due(NOW + timedelta(days=1), None, None)


def test_publishing_waits_for_a_burst_to_end() -> None:
    first = NOW
    assert not due(NOW + timedelta(seconds=10), first, first)
    # Another source delivered 20 s in: the quiet period starts again.
    last = NOW + timedelta(seconds=20)
    assert not due(NOW + timedelta(seconds=40), first, last)
    assert due(NOW + timedelta(seconds=50), first, last)


def test_a_steady_trickle_is_published_after_the_maximum_wait() -> None:
    last = NOW + MAX_WAIT - timedelta(seconds=1)
    assert not due(NOW + MAX_WAIT - timedelta(seconds=1), NOW, last)
    assert due(NOW + MAX_WAIT, NOW, last)
