"""The pure deciders: schedule and dedup, with injected time and randomness."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import pytest

from revier_feed.dedup import decide, disambiguate, rekey_stored
from revier_feed.models import Item, ItemDecision, ItemIdentity, StoredKey
from revier_feed.schedule import MAX_RETRY_AFTER, next_fetch_at

from .conftest import make_item

NOW = datetime(2021, 8, 2, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def wait(**kwargs: object) -> timedelta:
    return next_fetch_at(NOW, rng=random.Random(1), **kwargs) - NOW  # type: ignore[arg-type]


def test_healthy_source_waits_its_interval_plus_jitter() -> None:
    waits = {next_fetch_at(NOW, HOUR, rng=random.Random(seed)) - NOW for seed in range(20)}
    assert all(HOUR <= w <= HOUR * 1.1 for w in waits)
    assert len(waits) > 10  # spread out, not all sources at once


@pytest.mark.parametrize(("errors", "factor"), [(1, 1), (2, 2), (3, 4), (4, 8), (30, 24)])
def test_failing_source_backs_off_exponentially_up_to_the_cap(errors: int, factor: int) -> None:
    assert HOUR * factor <= wait(interval=HOUR, error_count=errors) <= HOUR * factor * 1.1


def test_backoff_never_polls_more_often_than_the_interval() -> None:
    week = timedelta(weeks=1)
    assert wait(interval=week, error_count=3, max_backoff=timedelta(days=1)) >= week


def test_retry_after_is_honoured_beyond_the_backoff_cap_but_bounded() -> None:
    two_days = 2 * 86400.0
    assert wait(interval=HOUR, error_count=1, retry_after=two_days) >= timedelta(days=2)
    assert wait(interval=HOUR, error_count=1, retry_after=1e12) <= MAX_RETRY_AFTER * 1.1


def item(key: str, title: str, fingerprint: str) -> Item:
    return make_item(key=key, title=title, fingerprint=fingerprint, published_at=NOW)


def test_repeated_keys_with_different_items_are_told_apart() -> None:
    pairs = [
        ("a", item("#", "Erste Meldung", "1:a")),
        ("b", item("#", "Zweite Meldung", "1:b")),
        ("c", item("#", "Erste Meldung", "1:a")),  # a true repeat: dropped
        ("d", item("guid-9", "Dritte Meldung", "1:d")),
    ]
    unique, warnings = disambiguate(pairs)
    assert [payload for payload, _ in unique] == ["a", "b", "d"]
    keys = [i.key for _, i in unique]
    assert keys[0] == "#" and keys[1].startswith("#") and keys[1] != "#"
    assert len(set(keys)) == 3
    assert warnings == ["several different items share the id '#'; told apart by title"]
    # The same document gives the same keys next time, so nothing is duplicated.
    assert [i.key for _, i in disambiguate(pairs)[0]] == keys


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
