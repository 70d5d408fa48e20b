"""Decide what an item means for the store: new, updated or unchanged. Pure.

Like reader's update decider, this never touches the store: the orchestrator looks up the
stored fingerprints and applies the decisions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TypeVar

from .models import Item, ItemDecision

T = TypeVar("T")


def disambiguate(pairs: Iterable[tuple[T, Item]]) -> tuple[list[tuple[T, Item]], list[str]]:
    """Give items of one document that share a key but differ a key of their own.

    Some feeds repeat one guid for every item, some listings link every entry to the same
    page ("#"); keeping only the first would silently lose news. Following miniflux, the
    repeated key is combined with a hash of the title. True repeats (same key and same
    content) are dropped: the first occurrence, the publisher's newest, wins.

    Args:
        pairs: each item with something of the caller's that travels with it (its raw form).

    Returns:
        The pairs with unique item keys, and a warning per key that needed help.
    """
    result: list[tuple[T, Item]] = []
    fingerprints: dict[str, str] = {}
    repeated: set[str] = set()
    for payload, item in pairs:
        key = item.key
        if key in fingerprints:
            if fingerprints[key] == item.fingerprint:
                continue
            repeated.add(item.key)
            key = f"{item.key}#{hashlib.sha256(item.title.encode()).hexdigest()[:12]}"
            if key in fingerprints:
                continue
            item = replace(item, key=key)
        fingerprints[key] = item.fingerprint
        result.append((payload, item))
    warnings = [f"several different items share the id {k!r}; told apart by title"
                for k in sorted(repeated)]  # fmt: skip
    return result, warnings


def decide(items: Iterable[Item], stored: Mapping[str, str]) -> list[tuple[Item, ItemDecision]]:
    """Pair each item (keys unique, see :func:`disambiguate`) with its decision.

    Args:
        items: the normalized items of one source and one fetch.
        stored: fingerprint by item key, for the keys already in the store.
    """
    decisions: list[tuple[Item, ItemDecision]] = []
    for item in items:
        previous = stored.get(item.key)
        if previous is None:
            decision = ItemDecision.NEW
        elif previous != item.fingerprint:
            decision = ItemDecision.UPDATED
        else:
            decision = ItemDecision.UNCHANGED
        decisions.append((item, decision))
    return decisions
